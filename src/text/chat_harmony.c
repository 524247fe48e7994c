/* chat_harmony.c — the chat API's render for models that speak harmony
 * (gpt-oss): the OpenAI-shaped messages become a harmony conversation and
 * are rendered by the harmony renderer, not by the GGUF's Jinja template
 * (docs/api.md, "Harmony and the GGUF template", says where they differ). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "text/chat.h"

bool lf_chat_is_harmony(const lf_model *m) {
    lf_error ignored = {{0}};
    lf_harmony *h = lf_harmony_new(m, &ignored);
    lf_harmony_free(h);
    return h != NULL;
}

/* The request object from_openai reads: the kwargs first (reasoning_effort
 * among them), then messages and tools. */
static char *request_json(const lf_chat_messages *ms, const lf_chat_params *p, json_t *kwargs,
                          lf_error *err) {
    json_t *req = kwargs ? json_deep_copy(kwargs) : json_object();
    json_t *tools = NULL;
    if (p->tools) {
        json_error_t je;
        if (!(tools = json_loads(p->tools, JSON_DECODE_ANY, &je))) {
            json_decref(req);
            lf_chat_json_error(err, "tools", &je);
            return NULL;
        }
    }
    char *js = NULL;
    if (req && !json_object_set(req, "messages", lf_chat_messages_json(ms)) &&
        (!tools || !json_object_set_new(req, "tools", tools)))
        js = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    else if (tools && req)
        json_decref(tools);
    json_decref(req);
    if (!js)
        lf_fail(err, "out of memory");
    return js;
}

char *lf_chat_apply_harmony(const lf_model *m, const lf_chat_messages *ms,
                            const lf_chat_params *p, size_t *len, lf_error *err) {
    static const lf_chat_params k_defaults = {.add_generation_prompt = true};
    if (!p)
        p = &k_defaults;
    lf_harmony *h = lf_harmony_new(m, err);
    if (!h)
        return NULL;
    json_t *kwargs = NULL;
    if (p->kwargs) {
        json_error_t je;
        kwargs = json_loads(p->kwargs, 0, &je);
        if (!json_is_object(kwargs)) {
            json_decref(kwargs);
            lf_harmony_free(h);
            if (!kwargs)
                lf_chat_json_error(err, "template variables", &je);
            else
                lf_fail(err, "template variables: expected an object");
            return NULL;
        }
    }
    lf_harmony_system sys;
    lf_harmony_system_init(&sys);
    char date[16];
    time_t now = p->pin_now ? (time_t)p->now : time(NULL);
    struct tm tm;
    if ((p->pin_now ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)) &&
        strftime(date, sizeof date, "%Y-%m-%d", &tm))
        sys.conversation_start_date = date;
    const char *id = json_string_value(json_object_get(kwargs, "model_identity"));
    if (id)
        sys.model_identity = id;
    lf_harmony_namespace builtin[2];
    const json_t *bt = json_object_get(kwargs, "builtin_tools");
    for (size_t i = 0; i < json_array_size(bt) && sys.n_tools < 2; i++) {
        const char *n = json_string_value(json_array_get(bt, i));
        if (n && !strcmp(n, "browser"))
            builtin[sys.n_tools++] = *lf_harmony_browser_tool();
        else if (n && !strcmp(n, "python"))
            builtin[sys.n_tools++] = *lf_harmony_python_tool();
    }
    if (sys.n_tools)
        sys.tools = builtin;
    char *js = request_json(ms, p, kwargs, err);
    lf_harmony_convo *cv = js ? lf_harmony_from_openai(js, strlen(js), &sys, err) : NULL;
    free(js);
    json_decref(kwargs);
    char *text = NULL;
    size_t n = 0;
    lf_harmony_render_opts o = {
        .mode = p->add_generation_prompt ? LF_HARMONY_FOR_COMPLETION : LF_HARMONY_FOR_TRAINING,
        .next_role = LF_HARMONY_ROLE_ASSISTANT,
        .drop = LF_HARMONY_DROP_PRIOR_TURNS,
    };
    if (cv && !lf_harmony_render(h, cv, &o, NULL, &text, &n, err))
        text = NULL;
    lf_harmony_convo_free(cv);
    lf_harmony_free(h);
    if (text && len)
        *len = n;
    return text;
}
