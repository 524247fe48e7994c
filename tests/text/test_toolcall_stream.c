/* test_toolcall_stream.c — eager tool-call streaming
 * (lf_toolcall_stream_set_eager): for well-formed outputs of every family,
 * pushed in every chunking (byte by byte, fixed sizes, random sizes), the
 * deltas reassemble into exactly lf_toolcall_parse's message (content,
 * reasoning, each call's id, name and concatenated arguments), a call's
 * arguments come in several deltas where the family copies the model's
 * JSON text (whole where it builds them), and an output cut off anywhere
 * streams without failing and ends with the final parse's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

#define PARIS "{\"location\": \"Paris\"}"
#define DSB "<｜tool▁calls▁begin｜>"
#define DSE "<｜tool▁calls▁end｜>"
#define DCB "<｜tool▁call▁begin｜>"
#define DCE "<｜tool▁call▁end｜>"
#define DSEP "<｜tool▁sep｜>"

typedef struct wcase {
    lf_toolcall_format f;
    const char *text;
    bool streams; /* each call's arguments in more than one delta, byte by byte (else in one) */
} wcase;

/* Well-formed outputs, at least one call each. */
static const wcase WELL[] = {
    {LF_TOOLCALL_HERMES, "I'll check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " PARIS
                         "}\n</tool_call>", true},
    {LF_TOOLCALL_HERMES, "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n"
                         "{\"name\": \"b\", \"arguments\": {\"x\": [1, 2.5e3, null]}}\n</tool_call>", true},
    {LF_TOOLCALL_HERMES, "<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", "
                         "\"arguments\": {\"city\": \"Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac\", \"n\": true}}"
                         "\n</tool_call>\nDone.", true},
    {LF_TOOLCALL_HERMES, "<tool_call>{\"arguments\": {\"k\": \"v\"}, \"name\": \"late\"}</tool_call>", false},
    {LF_TOOLCALL_HERMES, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>", false},
    {LF_TOOLCALL_HERMES, "<tool_call>{\"name\": \"f\", \"parameters\": {\"a\": 1}}</tool_call>", false},
    {LF_TOOLCALL_LLAMA3, "{\"name\": \"get_weather\", \"parameters\": " PARIS "}", true},
    {LF_TOOLCALL_LLAMA3, "{\"type\": \"function\", \"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", "
                         "\"parameters\": {\"x\": 1}}", true},
    {LF_TOOLCALL_LLAMA3, "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"q\": \"x y\"}}", true},
    {LF_TOOLCALL_LLAMA3, "<|python_tag|>print(6 * 7)", false},
    {LF_TOOLCALL_MISTRAL, "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " PARIS
                          ", \"id\": \"abc123def\"}]", true},
    {LF_TOOLCALL_MISTRAL, "Checking.[TOOL_CALLS]get_weather[ARGS]" PARIS "[TOOL_CALLS]get_time[ARGS]{}", true},
    {LF_TOOLCALL_MISTRAL, "[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]" PARIS, true},
    {LF_TOOLCALL_GRANITE, "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": " PARIS "}]", true},
    {LF_TOOLCALL_GRANITE, "<think>two</think><|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"name\": "
                          "\"b\", \"arguments\": {\"y\": \"z\"}}]", true},
    {LF_TOOLCALL_DEEPSEEK, DSB DCB "function" DSEP "get_weather\n```json\n" PARIS "\n```" DCE DSE, true},
    {LF_TOOLCALL_DEEPSEEK, "<think>\nneed weather\n</think>\n\n" DSB DCB "function" DSEP "a\n```json\n{}\n```"
                           DCE "\n" DCB "function" DSEP "b\n```json\n{\"x\": 2}\n```" DCE DSE, true},
    {LF_TOOLCALL_DEEPSEEK, DSB DCB "get_weather" DSEP PARIS DCE DSE, true},
    {LF_TOOLCALL_DEEPSEEK, DSB DCB "get_weather" DSEP PARIS DCE, true},
    {LF_TOOLCALL_FUNCTIONARY_V3_1, "<function=get_weather>" PARIS "</function>", true},
    {LF_TOOLCALL_FUNCTIONARY_V3_1, "Both:<function=a>{}</function><function=b>{\"x\": 1}</function>", true},
    {LF_TOOLCALL_FUNCTIONARY_V3_2, "get_weather\n" PARIS, true},
    {LF_TOOLCALL_FUNCTIONARY_V3_2, "all\nLet me check.>>>get_weather\n" PARIS ">>>get_time\n{\"tz\": \"UTC\"}",
     true},
    {LF_TOOLCALL_FUNCTIONARY_V3_2, ">>>get_weather\n" PARIS, true},
    {LF_TOOLCALL_FIREFUNCTION_V2, "functools[{\"name\": \"get_weather\", \"arguments\": " PARIS "}]", true},
    {LF_TOOLCALL_FIREFUNCTION_V2, " functools[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", "
                                  "\"arguments\": {}}]", true},
    {LF_TOOLCALL_COMMAND_R7B, "<|START_THINKING|>I need the weather.<|END_THINKING|><|START_ACTION|>[\n    "
                              "{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": " PARIS
                              "}\n]<|END_ACTION|>", true},
    {LF_TOOLCALL_COMMAND_R7B, "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"a\", \"parameters\": "
                              "{}}, {\"tool_call_id\": \"1\", \"tool_name\": \"b\", \"parameters\": {\"q\": 1}}]"
                              "<|END_ACTION|>", true},
    {LF_TOOLCALL_GPT_OSS, "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
                          "commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\":\"Paris\"}"
                          "<|call|>", true},
    {LF_TOOLCALL_GPT_OSS, "<|channel|>commentary to=functions.a <|constrain|>json<|message|> {}\n<|call|>"
                          "<|start|>assistant to=functions.b<|channel|>commentary json<|message|>{\"x\": 1}"
                          "<|call|>", true},
    {LF_TOOLCALL_GENERIC, "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": " PARIS "}]}", true},
    {LF_TOOLCALL_GENERIC, "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}, \"id\": \"1\"}, {\"name\": "
                          "\"b\", \"arguments\": {\"k\": [1, {\"z\": null}]}}]}", true},
    {LF_TOOLCALL_GENERIC, "{\"tool_call\": {\"name\": \"f\", \"arguments\": {\"k\": \"v\"}}}", true},
    {LF_TOOLCALL_GENERIC, "<think>hmm</think>\n{\"tool_call\": {\"name\": \"f\", \"arguments\": {}}}", true},
    {LF_TOOLCALL_QWEN3_CODER, "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n"
                              "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>", false},
};

#define MAXC 8

static bool same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static void cat(char **s, size_t *n, const char *p, size_t len) {
    *s = realloc(*s, *n + len + 1);
    memcpy(*s + *n, p, len);
    *n += len;
    (*s)[*n] = 0;
}

/* What a stream sent, reassembled. */
typedef struct got {
    char *content, *reasoning, *names[MAXC], *ids[MAXC], *args[MAXC];
    size_t nc, nr, na[MAXC], n_args_deltas[MAXC], n_calls;
    char bad[256]; /* the first malformed delta */
    lf_oai_message res;
    bool have_res;
} got;

static void got_free(got *g) {
    for (int k = 0; k < MAXC; k++)
        free(g->names[k]), free(g->ids[k]), free(g->args[k]);
    free(g->content), free(g->reasoning);
    if (g->have_res)
        lf_oai_message_free(&g->res);
}

static uint64_t lcg(uint64_t *x) {
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* Pushes text in chunks (chunk > 0: that size; 0: random sizes 1..16 from
 * *rnd) in eager mode (or not) and reassembles the deltas into g. */
static bool push_all(lf_toolcall_format f, const char *text, size_t n, size_t chunk, uint64_t *rnd,
                     bool eager, got *g, char *why, size_t cap) {
    memset(g, 0, sizeof *g);
    lf_error err = {{0}};
    uint64_t seed = 7;
    lf_toolcall_stream *s = lf_toolcall_stream_new(f, &seed, &err);
    if (!s) {
        snprintf(why, cap, "new: %.200s", err.msg);
        return false;
    }
    if (eager)
        lf_toolcall_stream_set_eager(s, true);
    bool ok = true;
    for (size_t at = 0; ok;) {
        size_t step = chunk ? chunk : 1 + lcg(rnd) % 16;
        size_t take = step > n - at ? n - at : step;
        bool end = at + take == n;
        const lf_toolcall_delta *d;
        int64_t k = lf_toolcall_stream_push(s, text + at, take, end, &d, &err);
        if (k < 0) {
            snprintf(why, cap, "push: %.200s", err.msg);
            ok = false;
        }
        for (int64_t j = 0; ok && j < k; j++) {
            const lf_toolcall_delta *x = &d[j];
            if (x->kind == LF_TOOLCALL_DELTA_CONTENT || x->kind == LF_TOOLCALL_DELTA_REASONING) {
                if (!x->text || !x->len || x->len > n)
                    snprintf(g->bad, sizeof g->bad, "text delta of %zu bytes", x->len);
                else if (x->kind == LF_TOOLCALL_DELTA_CONTENT)
                    cat(&g->content, &g->nc, x->text, x->len);
                else
                    cat(&g->reasoning, &g->nr, x->text, x->len);
            } else if (x->kind == LF_TOOLCALL_DELTA_CALL) {
                if (x->index != g->n_calls || x->index >= MAXC || !x->name || !x->id)
                    snprintf(g->bad, sizeof g->bad, "CALL %zu after %zu calls", x->index, g->n_calls);
                else {
                    g->names[x->index] = strdup(x->name);
                    g->ids[x->index] = strdup(x->id);
                    g->n_calls++;
                }
            } else if (x->kind == LF_TOOLCALL_DELTA_ARGS) {
                /* arguments of the latest call announced, never empty in eager mode */
                if (x->index + 1 != g->n_calls || !x->text || (eager && !x->len) || x->len > n)
                    snprintf(g->bad, sizeof g->bad, "ARGS %zu (%zu bytes) after %zu calls", x->index,
                             x->len, g->n_calls);
                else {
                    cat(&g->args[x->index], &g->na[x->index], x->text, x->len);
                    g->n_args_deltas[x->index]++;
                }
            } else {
                snprintf(g->bad, sizeof g->bad, "delta kind %d", x->kind);
            }
        }
        at += take;
        if (end)
            break;
    }
    if (ok && !(ok = !g->bad[0]))
        snprintf(why, cap, "%s", g->bad);
    if (ok && !(ok = g->have_res = lf_toolcall_stream_result(s, &g->res, &err)))
        snprintf(why, cap, "result: %.200s", err.msg);
    lf_toolcall_stream_free(s);
    return ok;
}

/* g against the one-shot parse m: the same message, field by field. */
static bool matches(const got *g, const lf_oai_message *m, char *why, size_t cap) {
    if (!same(g->content, m->content)) {
        snprintf(why, cap, "content [%s] vs [%s]", g->content ? g->content : "(null)",
                 m->content ? m->content : "(null)");
        return false;
    }
    if (!same(g->reasoning, m->reasoning_content)) {
        snprintf(why, cap, "reasoning [%s]", g->reasoning ? g->reasoning : "(null)");
        return false;
    }
    if (g->n_calls != m->n_tool_calls) {
        snprintf(why, cap, "%zu calls streamed, %zu parsed", g->n_calls, m->n_tool_calls);
        return false;
    }
    for (size_t k = 0; k < g->n_calls; k++)
        if (!same(g->names[k], m->tool_calls[k].name) || !same(g->ids[k], m->tool_calls[k].id) ||
            !same(g->args[k] ? g->args[k] : "", m->tool_calls[k].arguments)) {
            snprintf(why, cap, "call %zu: %s %s [%s], parsed %s %s [%s]", k, g->names[k], g->ids[k],
                     g->args[k] ? g->args[k] : "", m->tool_calls[k].name, m->tool_calls[k].id,
                     m->tool_calls[k].arguments);
            return false;
        }
    const lf_oai_message *r = &g->res;
    bool ok = same(r->content, m->content) && same(r->reasoning_content, m->reasoning_content) &&
              r->n_tool_calls == m->n_tool_calls;
    for (size_t k = 0; ok && k < r->n_tool_calls; k++)
        ok = same(r->tool_calls[k].id, m->tool_calls[k].id) &&
             same(r->tool_calls[k].name, m->tool_calls[k].name) &&
             same(r->tool_calls[k].arguments, m->tool_calls[k].arguments);
    if (!ok)
        snprintf(why, cap, "lf_toolcall_stream_result differs from the one-shot parse");
    return ok;
}

static bool parse(lf_toolcall_format f, const char *text, size_t n, lf_oai_message *m) {
    lf_error err = {{0}};
    uint64_t rng = 7;
    return lf_toolcall_parse(f, text, n, &rng, m, &err);
}

static void test_reassembles(void) {
    TEST_BEGIN("toolcall eager: deltas reassemble into the one-shot parse (chunks of 1..9, 20 random "
               "chunkings)");
    char why[512];
    uint64_t rnd = 12345;
    for (size_t i = 0; i < sizeof WELL / sizeof *WELL; i++) {
        const wcase *c = &WELL[i];
        size_t n = strlen(c->text);
        lf_oai_message m;
        bool parsed = parse(c->f, c->text, n, &m), ok = parsed && m.n_tool_calls > 0;
        EXPECT(ok, "case %zu: not a call", i);
        for (size_t run = 0; ok && run < 29; run++) {
            got g;
            size_t chunk = run < 9 ? run + 1 : 0;
            ok = push_all(c->f, c->text, n, chunk, &rnd, true, &g, why, sizeof why) &&
                 matches(&g, &m, why, sizeof why);
            EXPECT(ok, "case %zu (%s) chunk %zu: %s", i, lf_toolcall_format_name(c->f), chunk, why);
            got_free(&g);
        }
        if (parsed)
            lf_oai_message_free(&m);
    }
    TEST_END();
}

static void test_args_in_pieces(void) {
    TEST_BEGIN("toolcall eager: byte by byte, a call's arguments come in several deltas (whole where "
               "they are built)");
    char why[512];
    for (size_t i = 0; i < sizeof WELL / sizeof *WELL; i++) {
        const wcase *c = &WELL[i];
        got g;
        if (!push_all(c->f, c->text, strlen(c->text), 1, NULL, true, &g, why, sizeof why)) {
            EXPECT(false, "case %zu: %s", i, why);
        } else {
            for (size_t k = 0; k < g.n_calls; k++)
                EXPECT(c->streams ? g.n_args_deltas[k] > 1 : g.n_args_deltas[k] == 1,
                       "case %zu (%s) call %zu: %zu ARGS deltas", i, lf_toolcall_format_name(c->f), k,
                       g.n_args_deltas[k]);
        }
        got_free(&g);
    }
    TEST_END();
}

static void test_default_whole(void) {
    TEST_BEGIN("toolcall stream without eager: each call's arguments in one delta, as before");
    char why[512];
    for (size_t i = 0; i < sizeof WELL / sizeof *WELL; i++) {
        const wcase *c = &WELL[i];
        size_t n = strlen(c->text);
        lf_oai_message m;
        got g;
        if (!parse(c->f, c->text, n, &m))
            continue;
        bool ok = push_all(c->f, c->text, n, 1, NULL, false, &g, why, sizeof why) &&
                  matches(&g, &m, why, sizeof why);
        EXPECT(ok, "case %zu: %s", i, why);
        for (size_t k = 0; ok && k < g.n_calls; k++)
            EXPECT(g.n_args_deltas[k] == 1, "case %zu call %zu: %zu ARGS deltas", i, k,
                   g.n_args_deltas[k]);
        got_free(&g);
        lf_oai_message_free(&m);
    }
    TEST_END();
}

static void test_cut_off(void) {
    TEST_BEGIN("toolcall eager: output cut off anywhere streams, and ends with the final parse");
    char why[512];
    for (size_t i = 0; i < sizeof WELL / sizeof *WELL; i++) {
        const wcase *c = &WELL[i];
        size_t full = strlen(c->text);
        bool ok = true;
        for (size_t n = 0; ok && n < full; n++) {
            lf_oai_message m;
            got g;
            if (!parse(c->f, c->text, n, &m)) {
                EXPECT(false, "parse failed");
                break;
            }
            ok = push_all(c->f, c->text, n, 3, NULL, true, &g, why, sizeof why);
            EXPECT(ok, "case %zu cut at %zu: %s", i, n, why);
            /* the result is the final parse; a call it has came out whole, one
             * it dropped came out as text copied from the output */
            if (ok) {
                const lf_oai_message *r = &g.res;
                ok = same(r->content, m.content) && r->n_tool_calls == m.n_tool_calls &&
                     g.n_calls >= m.n_tool_calls;
                EXPECT(ok, "case %zu cut at %zu: result differs from the parse", i, n);
            }
            for (size_t k = 0; ok && k < g.n_calls; k++) {
                const char *a = g.args[k] ? g.args[k] : "";
                if (k < m.n_tool_calls)
                    ok = same(a, m.tool_calls[k].arguments) && same(g.ids[k], m.tool_calls[k].id) &&
                         same(g.res.tool_calls[k].id, m.tool_calls[k].id);
                else
                    ok = c->streams ? strstr(c->text, a) != NULL : true;
                EXPECT(ok, "case %zu cut at %zu: call %zu [%s]", i, n, k, a);
            }
            got_free(&g);
            lf_oai_message_free(&m);
        }
    }
    TEST_END();
}

/* Deltas of one push, as "KIND:text" joined by '|' (CALL: "CALL:name"). */
static void show(lf_toolcall_stream *s, const char *piece, bool end, char *out, size_t cap) {
    lf_error err = {{0}};
    const lf_toolcall_delta *d;
    int64_t k = lf_toolcall_stream_push(s, piece, strlen(piece), end, &d, &err);
    size_t used = 0;
    out[0] = 0;
    for (int64_t j = 0; j < k && used < cap; j++) {
        static const char *const KIND[] = {"CONTENT", "REASONING", "CALL", "ARGS"};
        int w = d[j].kind == LF_TOOLCALL_DELTA_CALL
                    ? snprintf(out + used, cap - used, "%s%s:%s", j ? "|" : "", KIND[d[j].kind], d[j].name)
                    : snprintf(out + used, cap - used, "%s%s:%.*s", j ? "|" : "", KIND[d[j].kind],
                               (int)d[j].len, d[j].text);
        used += w > 0 ? (size_t)w : 0;
    }
    if (k < 0)
        snprintf(out, cap, "error %.200s", err.msg);
}

static void test_sequence(void) {
    TEST_BEGIN("toolcall eager: the name as soon as it is known, then the arguments, a split "
               "UTF-8 character held back");
    lf_error err = {{0}};
    uint64_t seed = 1;
    lf_toolcall_stream *s = lf_toolcall_stream_new(LF_TOOLCALL_HERMES, &seed, &err);
    lf_toolcall_stream_set_eager(s, true);
    char out[512];
    show(s, "Hi <tool_call>\n{\"name\": \"f", false, out, sizeof out);
    EXPECT(!strcmp(out, "CONTENT:Hi"), "[%s]", out);
    show(s, "\", ", false, out, sizeof out);
    EXPECT(!strcmp(out, "CALL:f"), "[%s]", out);
    show(s, "\"arguments\": {\"a\": \"\xc3", false, out, sizeof out);
    EXPECT(!strcmp(out, "ARGS:{\"a\": \""), "[%s]", out);
    show(s, "\xa9\"", false, out, sizeof out);
    EXPECT(!strcmp(out, "ARGS:\xc3\xa9\""), "[%s]", out);
    show(s, " }}\n</tool_", false, out, sizeof out);
    EXPECT(!strcmp(out, "ARGS: }"), "[%s]", out);
    show(s, "call>", false, out, sizeof out);
    EXPECT(!strcmp(out, ""), "[%s]", out);
    show(s, "", true, out, sizeof out);
    EXPECT(!strcmp(out, ""), "[%s]", out);
    lf_oai_message m;
    EXPECT(lf_toolcall_stream_result(s, &m, &err) && m.n_tool_calls == 1 &&
               !strcmp(m.tool_calls[0].arguments, "{\"a\": \"\xc3\xa9\" }"),
           "result");
    lf_oai_message_free(&m);
    lf_toolcall_stream_free(s);
    TEST_END();
}

int main(void) {
    test_reassembles();
    test_args_in_pieces();
    test_default_whole();
    test_cut_off();
    test_sequence();
    return test_summary();
}
