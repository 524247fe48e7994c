/* chat_apply.c — the render context built as transformers'
 * apply_chat_template builds it, and the render. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/chat.h"

/* JSON text of the given kind, or NULL with err naming what. */
static json_t *parse(const char *text, const char *what, bool want_array, lf_error *err) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) {
        lf_chat_json_error(err, what, &je);
        return NULL;
    }
    if (want_array ? !(json_is_array(v) || json_is_null(v)) : !json_is_object(v)) {
        lf_fail(err, "%s: expected %s", what, want_array ? "an array or null" : "an object");
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *context(const lf_chat_template *t, const lf_chat_messages *ms,
                       const lf_chat_params *p, lf_error *err) {
    json_t *tools = p->tools ? parse(p->tools, "tools", true, err) : json_null();
    if (!tools)
        return NULL;
    json_t *kwargs = NULL;
    if (p->kwargs && !(kwargs = parse(p->kwargs, "template variables", false, err))) {
        json_decref(tools);
        return NULL;
    }
    json_t *ctx = json_pack("{s:O, s:o, s:n, s:b, s:s, s:s}", "messages",
                            lf_chat_messages_json(ms), "tools", tools, "documents",
                            "add_generation_prompt", p->add_generation_prompt, "bos_token",
                            p->bos_token ? p->bos_token : lf_chat_template_bos(t), "eos_token",
                            p->eos_token ? p->eos_token : lf_chat_template_eos(t));
    if (!ctx) {
        lf_fail(err, "bos_token / eos_token: not valid UTF-8");
    } else if (kwargs && json_object_update(ctx, kwargs)) {
        lf_fail(err, "out of memory");
        json_decref(ctx);
        ctx = NULL;
    }
    json_decref(kwargs);
    return ctx;
}

char *lf_chat_apply(const lf_chat_template *t, const lf_chat_messages *ms,
                    const lf_chat_params *p, size_t *len, bool *raised, lf_error *err) {
    static const lf_chat_params k_defaults = {.add_generation_prompt = true};
    bool raised_local = false;
    if (!raised)
        raised = &raised_local;
    *raised = false;
    if (!p)
        p = &k_defaults;
    json_t *ctx = context(t, ms, p, err);
    if (!ctx)
        return NULL;
    lf_jinja_opts o = {.now = p->pin_now ? p->now : INT64_MIN};
    size_t n = 0;
    char *out = lf_jinja_render(lf_chat_template_jinja(t), ctx, &o, &n, raised, err);
    json_decref(ctx);
    if (out && len)
        *len = n;
    return out;
}

/* Tools that are given and not an empty array choose the tool_use variant. */
static bool has_tools(const char *tools) {
    if (!tools)
        return false;
    json_t *v = json_loads(tools, JSON_DECODE_ANY, NULL);
    bool yes = json_is_array(v) && json_array_size(v) > 0;
    json_decref(v);
    return yes;
}

char *lf_chat_apply_model(const lf_model *m, const lf_chat_messages *ms,
                          const lf_chat_params *p, size_t *len, bool *raised,
                          const lf_chat_template **used, lf_error *err) {
    if (raised)
        *raised = false;
    if (used)
        *used = NULL;
    if (lf_chat_is_harmony(m))
        return lf_chat_apply_harmony(m, ms, p, len, err);
    const lf_chat_template *t = lf_chat_template_for_request(m, p && has_tools(p->tools), err);
    if (used)
        *used = t;
    return t ? lf_chat_apply(t, ms, p, len, raised, err) : NULL;
}
