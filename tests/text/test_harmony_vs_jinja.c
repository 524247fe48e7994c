/* test_harmony_vs_jinja.c — the harmony renderer against gpt-oss's own
 * chat template. For every rendered case of
 * $SHARED/templates/openai-gpt-oss-120b.jinja.json, the same OpenAI
 * messages/tools/extra go through lf_harmony_from_openai + lf_harmony_render
 * (for completion when the case adds a generation prompt, else for
 * training: a last final answer ends in <|return|>, as the template's;
 * the system date pinned to the goldens' strftime_now) and through the
 * template with the Jinja engine. Both must give the same text, except for
 * the cases of known_diffs below, which must differ exactly as described
 * there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "text/jinja/jinja.h"
#include "llamafile.h"

#define PINNED_NOW 1721952000 /* 2024-07-26T00:00:00, as the goldens */
#define PINNED_DATE "2024-07-26"

static void show_diff(const char *name, const char *want, size_t wl, const char *got, size_t gl) {
    size_t i = 0;
    while (i < wl && i < gl && want[i] == got[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    printf("  %s: differ at byte %zu\n    jinja   \"", name, i);
    for (size_t k = from; k < wl && k < i + 60; k++) putchar(want[k] == '\n' ? '|' : want[k]);
    printf("\"\n    harmony \"");
    for (size_t k = from; k < gl && k < i + 60; k++) putchar(got[k] == '\n' ? '|' : got[k]);
    printf("\"\n");
}

/* Where the template and the harmony renderer legitimately differ. Each
 * entry: the case, why, and up to four edits (every occurrence of from,
 * which must occur, becomes to) that turn the harmony text into the
 * template's exactly. */
typedef struct { const char *from, *to; } edit;
typedef struct {
    const char *name, *why;
    edit e[4];
} known_diff;

#define INSTR {"You are a helpful assistant.<|end|>", "You are a helpful assistant.\n\n<|end|>"}
#define RESULT {"<|message|>{\"temperature\": 22, \"unit\": \"celsius\", \"condition\": \"sunny\"}<|end|>", \
                "<|message|>\"{\\\"temperature\\\": 22, \\\"unit\\\": \\\"celsius\\\", \\\"condition\\\": \\\"sunny\\\"}\"<|end|>"}
#define CONSTRAIN {"<|channel|>commentary <|constrain|>json<|message|>", "<|channel|>commentary json<|message|>"}
static const known_diff known_diffs[] = {
    {"system_user", "the template ends # Instructions with \"\\n\\n\" even with no tools", {INSTR}},
    {"multi_turn", "the same", {INSTR}},
    {"multi_turn_no_gen", "the same", {INSTR}},
    {"system_user_reasoning_effort_low", "the same", {INSTR}},
    {"system_user_builtin_tools", "the same", {INSTR}},
    {"tool_call_dict_args",
     "the template writes a past call's content type as \"json\", harmony as \"<|constrain|>json\" "
     "(what the model generates); dict arguments: json.dumps spacing vs harmony's compact JSON; "
     "the template passes a tool result through tojson (a quoted JSON string), harmony writes it as it is",
     {CONSTRAIN, RESULT,
      {"{\"location\":\"Paris, France\",\"unit\":\"celsius\"}",
       "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}"}}},
    {"tool_call_pending", "the same", {CONSTRAIN, RESULT,
      {"{\"location\":\"Paris, France\",\"unit\":\"celsius\"}",
       "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}"}}},
    {"unicode_tool_call", "the same", {CONSTRAIN,
      {"<|message|>{\"temperature\": 25, \"condition\": \"晴れ ☀️\"}<|end|>",
       "<|message|>\"{\\\"temperature\\\": 25, \\\"condition\\\": \\\"晴れ ☀️\\\"}\"<|end|>"},
      {"{\"location\":\"東京, 日本\",\"unit\":\"celsius\"}",
       "{\"location\": \"東京, 日本\", \"unit\": \"celsius\"}"}}},
    {"tool_call_json_args",
     "<|constrain|>json as above; the template passes string arguments through tojson, so the model "
     "would see a quoted JSON string; harmony writes the arguments as they are; the tool result the same",
     {CONSTRAIN, RESULT,
      {"<|message|>{\"location\": \"Paris, France\", \"unit\": \"celsius\"}<|call|>",
       "<|message|>\"{\\\"location\\\": \\\"Paris, France\\\", \\\"unit\\\": \\\"celsius\\\"}\"<|call|>"}}},
    {"reasoning_last_assistant",
     "the template reads reasoning only from \"thinking\" and drops reasoning_content; harmony maps "
     "reasoning_content to an analysis message",
     {{"<|start|>assistant<|channel|>analysis<|message|>The user asks for the capital of France. "
       "That is Paris.<|end|>", ""}}},
};

static const known_diff *find_known(const char *name) {
    for (size_t i = 0; i < sizeof known_diffs / sizeof *known_diffs; i++)
        if (!strcmp(known_diffs[i].name, name)) return &known_diffs[i];
    return NULL;
}

/* Applies d's edits to t (malloc'ed; returned, possibly moved); NULL if an
 * edit's from does not occur or on out-of-memory. */
static char *apply_edits(const known_diff *d, char *t, size_t *len) {
    for (int k = 0; k < 4 && d->e[k].from && t; k++) {
        const char *from = d->e[k].from, *to = d->e[k].to;
        size_t fl = strlen(from), tl = strlen(to), n = 0;
        for (const char *p = strstr(t, from); p; p = strstr(p + fl, from)) n++;
        char *o = n ? malloc(*len + n * tl + 1) : NULL;
        size_t ol = 0;
        const char *src = t;
        for (const char *p = o ? strstr(src, from) : NULL; p; p = strstr(src, from)) {
            memcpy(o + ol, src, (size_t)(p - src)), ol += (size_t)(p - src);
            memcpy(o + ol, to, tl), ol += tl;
            src = p + fl;
        }
        if (o) {
            size_t rest = strlen(src);
            memcpy(o + ol, src, rest + 1), ol += rest;
            *len = ol;
        }
        free(t);
        t = o;
    }
    return t;
}

/* The harmony text of a case, or NULL with err. */
static char *harmony_text(const json_t *c, size_t *len, lf_error *err) {
    const json_t *extra = json_object_get(c, "extra");
    json_t *req = json_object();
    json_object_set(req, "messages", json_object_get(c, "messages"));
    if (json_object_get(c, "tools")) json_object_set(req, "tools", json_object_get(c, "tools"));
    if (json_object_get(extra, "reasoning_effort"))
        json_object_set(req, "reasoning_effort", json_object_get(extra, "reasoning_effort"));
    char *js = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    lf_harmony_system sys;
    lf_harmony_system_init(&sys);
    sys.conversation_start_date = PINNED_DATE;
    const char *id = json_string_value(json_object_get(extra, "model_identity"));
    if (id) sys.model_identity = id;
    lf_harmony_namespace builtin[2];
    const json_t *bt = json_object_get(extra, "builtin_tools");
    for (size_t i = 0; i < json_array_size(bt) && i < 2; i++) {
        const char *n = json_string_value(json_array_get(bt, i));
        const lf_harmony_namespace *ns =
            n && !strcmp(n, "browser") ? lf_harmony_browser_tool() : lf_harmony_python_tool();
        builtin[sys.n_tools++] = *ns;
    }
    if (sys.n_tools) sys.tools = builtin;
    lf_harmony_convo *cv = js ? lf_harmony_from_openai(js, strlen(js), &sys, err) : NULL;
    free(js);
    if (!cv) return NULL;
    bool gen = json_is_true(json_object_get(c, "add_generation_prompt"));
    lf_harmony_render_opts o = {.mode = gen ? LF_HARMONY_FOR_COMPLETION : LF_HARMONY_FOR_TRAINING,
                                .next_role = LF_HARMONY_ROLE_ASSISTANT,
                                .drop = LF_HARMONY_DROP_PRIOR_TURNS};
    char *text = NULL;
    if (!lf_harmony_render(NULL, cv, &o, NULL, &text, len, err)) text = NULL;
    lf_harmony_convo_free(cv);
    return text;
}

/* What the chat layer renders for a case on the gpt-oss vocabulary
 * (lf_chat_apply_model picks harmony there), or NULL with err. */
static char *chat_layer_text(const lf_model *vm, const json_t *c, size_t *len, lf_error *err) {
    char *msgs = json_dumps(json_object_get(c, "messages"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    const json_t *tv = json_object_get(c, "tools");
    char *tools = tv && !json_is_null(tv) ? json_dumps(tv, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    const json_t *extra = json_object_get(c, "extra");
    char *kwargs = extra ? json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    lf_chat_messages *ms = msgs ? lf_chat_messages_from_json(msgs, strlen(msgs), err) : NULL;
    lf_chat_params p = {.tools = tools, .kwargs = kwargs, .pin_now = true, .now = PINNED_NOW,
                        .add_generation_prompt =
                            json_is_true(json_object_get(c, "add_generation_prompt"))};
    const lf_chat_template *used = (const lf_chat_template *)1;
    char *text = ms ? lf_chat_apply_model(vm, ms, &p, len, NULL, &used, err) : NULL;
    if (text && used) {
        snprintf(err->msg, sizeof err->msg, "the chat layer used a Jinja template, not harmony");
        free(text);
        text = NULL;
    }
    lf_chat_messages_free(ms);
    free(msgs);
    free(tools);
    free(kwargs);
    return text;
}

int main(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/templates/openai-gpt-oss-120b.jinja.json", test_shared_dir());
    json_error_t je;
    json_t *g = json_load_file(path, 0, &je);
    if (!g) {
        SKIP("harmony vs jinja", "no %s", path);
        return test_summary();
    }
    snprintf(path, sizeof path, "%s/templates/openai-gpt-oss-120b.jinja", test_shared_dir());
    size_t tlen = 0;
    char *ttext = test_slurp(path, &tlen);
    lf_error err = {{0}};
    lf_jinja *tpl = ttext ? lf_jinja_parse(ttext, tlen, &err) : NULL;
    TEST_BEGIN("gpt-oss template parses");
    EXPECT(tpl != NULL, "%s: %s", path, ttext ? err.msg : "cannot read");
    TEST_END();
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf", test_shared_dir());
    lf_model *vm = lf_model_load_vocab(path, &err);
    TEST_BEGIN("gpt-oss vocabulary loads; the chat layer sees harmony");
    EXPECT(vm && lf_chat_is_harmony(vm), "%s: %s", path, vm ? "not harmony" : err.msg);
    TEST_END();
    const json_t *cases = json_object_get(g, "cases");
    for (size_t i = 0; tpl && i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!json_object_get(c, "expected")) continue;
        json_t *ctx = json_object();
        json_object_set(ctx, "messages", json_object_get(c, "messages"));
        json_object_set(ctx, "tools", json_object_get(c, "tools") ? json_object_get(c, "tools") : json_null());
        json_object_set_new(ctx, "documents", json_null());
        json_object_set(ctx, "add_generation_prompt", json_object_get(c, "add_generation_prompt"));
        json_object_set(ctx, "bos_token", json_object_get(g, "bos_token"));
        json_object_set(ctx, "eos_token", json_object_get(g, "eos_token"));
        json_object_update(ctx, json_object_get(c, "extra"));
        lf_jinja_opts jo = {.now = PINNED_NOW};
        size_t jl = 0, hl = 0;
        bool raised = false;
        char *jt = lf_jinja_render(tpl, ctx, &jo, &jl, &raised, &err);
        json_decref(ctx);
        char *ht = jt ? harmony_text(c, &hl, &err) : NULL;
        if (vm && ht) {
            size_t cl = 0;
            char *ct = chat_layer_text(vm, c, &cl, &err);
            char cname[200];
            snprintf(cname, sizeof cname, "chat layer renders harmony: %s", name);
            TEST_BEGIN(cname);
            EXPECT(ct, "%s", err.msg);
            EXPECT(!ct || (cl == hl && !memcmp(ct, ht, hl)), "differs from the harmony render");
            TEST_END();
            free(ct);
        }
        char tname[200];
        snprintf(tname, sizeof tname, "harmony %s jinja: %s", find_known(name) ? "~" : "==", name);
        TEST_BEGIN(tname);
        EXPECT(jt && ht, "%s", err.msg);
        const known_diff *kd = find_known(name);
        if (jt && ht && kd) {
            EXPECT(jl != hl || memcmp(jt, ht, jl), "listed as differing (%s) but equal", kd->why);
            ht = apply_edits(kd, ht, &hl);
            EXPECT(ht, "an edit of the known difference does not apply");
        }
        if (jt && ht) {
            bool same = jl == hl && !memcmp(jt, ht, jl);
            if (!same) show_diff(name, jt, jl, ht, hl);
            EXPECT(same, kd ? "differ in more than the known way" : "differ");
        }
        TEST_END();
        free(jt);
        free(ht);
    }
    lf_model_free(vm);
    lf_jinja_free(tpl);
    free(ttext);
    json_decref(g);
    return test_summary();
}
