/* test_toolcall.c — tool calls from canned model outputs, per family: good
 * outputs (parallel calls too), malformed ones (truncated, arguments that
 * are not JSON, a call inside reasoning) which must come back as content;
 * streaming in every chunking adds up to the one-shot parse; and each
 * $SHARED/templates/NAME.jinja detected as the family llama.cpp gives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

typedef struct tcase {
    lf_toolcall_format f;
    const char *text;
    const char *content;   /* NULL: none */
    const char *reasoning; /* NULL: none */
    const char *calls[3][2];
} tcase;

#define HERMES LF_TOOLCALL_HERMES
#define CODER LF_TOOLCALL_QWEN3_CODER
#define LLAMA LF_TOOLCALL_LLAMA3
#define MISTRAL LF_TOOLCALL_MISTRAL
#define GRANITE LF_TOOLCALL_GRANITE
#define DS LF_TOOLCALL_DEEPSEEK
#define FV31 LF_TOOLCALL_FUNCTIONARY_V3_1
#define FV32 LF_TOOLCALL_FUNCTIONARY_V3_2
#define FIRE LF_TOOLCALL_FIREFUNCTION_V2
#define R7B LF_TOOLCALL_COMMAND_R7B
#define OSS LF_TOOLCALL_GPT_OSS
#define GENERIC LF_TOOLCALL_GENERIC

#define PARIS "{\"location\": \"Paris\"}"
#define DSB "<｜tool▁calls▁begin｜>"
#define DSE "<｜tool▁calls▁end｜>"
#define DCB "<｜tool▁call▁begin｜>"
#define DCE "<｜tool▁call▁end｜>"
#define DSEP "<｜tool▁sep｜>"

static const tcase CASES[] = {
    /* ---- Hermes / Qwen 2.5 / Qwen3 */
    {HERMES, "I'll check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " PARIS "}\n</tool_call>",
     "I'll check.", NULL, {{"get_weather", PARIS}}},
    {HERMES, "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n"
             "{\"name\": \"b\", \"arguments\": {\"x\": [1, 2.5e3, null]}}\n</tool_call>",
     NULL, NULL, {{"a", "{}"}, {"b", "{\"x\": [1, 2.5e3, null]}"}}},
    {HERMES, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": \\\"\\u00e9\\\"}\"}</tool_call>",
     NULL, NULL, {{"f", "{\"a\": \"é\"}"}}},
    {HERMES, "<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", "
             "\"arguments\": " PARIS "}\n</tool_call>",
     "<think>\nThe user wants weather.\n</think>", NULL, {{"get_weather", PARIS}}},
    /* malformed: truncated, invalid JSON, inside reasoning, missing name */
    {HERMES, "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc",
     "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc", NULL, {{0}}},
    {HERMES, "<tool_call>{\"name\": \"f\", \"arguments\": {a: 1}}</tool_call>",
     "<tool_call>{\"name\": \"f\", \"arguments\": {a: 1}}</tool_call>", NULL, {{0}}},
    {HERMES, "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\n<tool_call>{\"name\": \"g\"",
     "<tool_call>{\"name\": \"g\"", NULL, {{"f", "{}"}}},
    {HERMES, "<think>maybe <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call></think>It is 4.",
     "<think>maybe <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call></think>It is 4.", NULL, {{0}}},
    {HERMES, "<think>unclosed <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
     "<think>unclosed <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>", NULL, {{0}}},
    {HERMES, "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>",
     NULL, {{0}}},
    {HERMES, "Plain answer, no calls.", "Plain answer, no calls.", NULL, {{0}}},

    /* ---- Qwen3-Coder */
    {CODER, "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n"
            "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
     NULL, NULL, {{"get_weather", "{\"location\": \"Paris\", \"days\": 3}"}}},
    {CODER, "Two calls.\n<tool_call>\n<function=a>\n</function>\n</tool_call>\n<tool_call>\n<function=b>\n"
            "<parameter=q>\n{\"k\": [true]}\n</parameter>\n<parameter=s>\nsay \"hi\"\nnow\n</parameter>\n"
            "</function>\n</tool_call>",
     "Two calls.", NULL, {{"a", "{}"}, {"b", "{\"q\": {\"k\": [true]}, \"s\": \"say \\\"hi\\\"\\nnow\"}"}}},
    {CODER, "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>\n",
     "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis\n</parameter>", NULL, {{0}}},
    {CODER, "<tool_call>\n<function=get_weather>\n<oops>\n</function>\n</tool_call>",
     "<tool_call>\n<function=get_weather>\n<oops>\n</function>\n</tool_call>", NULL, {{0}}},

    /* ---- Llama 3.1-3.3 */
    {LLAMA, "{\"name\": \"get_weather\", \"parameters\": " PARIS "}", NULL, NULL,
     {{"get_weather", PARIS}}},
    {LLAMA, "{\"type\": \"function\", \"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", "
            "\"parameters\": {\"x\": 1}}",
     NULL, NULL, {{"a", "{}"}, {"b", "{\"x\": 1}"}}},
    {LLAMA, "<|python_tag|>brave_search.call(query=\"weather in Paris\", n=3)", NULL, NULL,
     {{"brave_search", "{\"query\": \"weather in Paris\", \"n\": 3}"}}},
    {LLAMA, "<|python_tag|>print(6 * 7)", NULL, NULL, {{"python", "{\"code\": \"print(6 * 7)\"}"}}},
    {LLAMA, "Here is data: {\"a\": 1} and {braces}.", "Here is data: {\"a\": 1} and {braces}.", NULL,
     {{0}}},
    {LLAMA, "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Par",
     "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Par", NULL, {{0}}},
    {LLAMA, "{\"name\": \"f\", \"parameters\": [1]}", "{\"name\": \"f\", \"parameters\": [1]}", NULL,
     {{0}}},

    /* ---- Mistral Nemo / Small 3.2 / Devstral / Ministral */
    {MISTRAL, "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " PARIS ", \"id\": \"abc123def\"}]",
     NULL, NULL, {{"get_weather", PARIS}}},
    {MISTRAL, "Checking.[TOOL_CALLS]get_weather[ARGS]" PARIS "[TOOL_CALLS]get_time[ARGS]{}", "Checking.",
     NULL, {{"get_weather", PARIS}, {"get_time", "{}"}}},
    {MISTRAL, "[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]" PARIS, NULL, NULL,
     {{"get_weather", PARIS}}},
    {MISTRAL, "[TOOL_CALLS]get_weather[ARGS]{\"loc", "[TOOL_CALLS]get_weather[ARGS]{\"loc", NULL, {{0}}},
    {MISTRAL, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {,}}]",
     "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {,}}]", NULL, {{0}}},
    {MISTRAL, "[THINK]try [TOOL_CALLS]f[ARGS]{}[/THINK]Done.", "[THINK]try [TOOL_CALLS]f[ARGS]{}[/THINK]Done.",
     NULL, {{0}}},

    /* ---- Granite 3.x */
    {GRANITE, "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": " PARIS "}]", NULL, NULL,
     {{"get_weather", PARIS}}},
    {GRANITE, "<think>two</think><|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", "
              "\"arguments\": {\"y\": \"z\"}}]",
     "<think>two</think>", NULL, {{"a", "{}"}, {"b", "{\"y\": \"z\"}"}}},
    {GRANITE, "<|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\"",
     "<|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\"", NULL, {{0}}},
    {GRANITE, "<|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"nome\": \"b\"}]",
     "<|tool_call|>[{\"name\": \"a\", \"arguments\": {}}, {\"nome\": \"b\"}]", NULL, {{0}}},

    /* ---- DeepSeek R1 / V3 / V3.1 */
    {DS, DSB DCB "function" DSEP "get_weather\n```json\n" PARIS "\n```" DCE DSE, NULL, NULL,
     {{"get_weather", PARIS}}},
    {DS, "<think>\nneed weather\n</think>\n\n" DSB DCB "function" DSEP "a\n```json\n{}\n```" DCE "\n" DCB
         "function" DSEP "b\n```json\n{\"x\": 2}\n```" DCE DSE,
     "<think>\nneed weather\n</think>", NULL, {{"a", "{}"}, {"b", "{\"x\": 2}"}}},
    {DS, DSB DCB "get_weather" DSEP PARIS DCE DSE, NULL, NULL, {{"get_weather", PARIS}}},
    {DS, DSB DCB "get_weather" DSEP PARIS DCE, NULL, NULL, {{"get_weather", PARIS}}},
    {DS, DSB DCB "function" DSEP "get_weather\n```json\n{\"loc",
     DSB DCB "function" DSEP "get_weather\n```json\n{\"loc", NULL, {{0}}},
    {DS, "<think>" DSB DCB "f" DSEP "{}" DCE DSE "</think>ok", "<think>" DSB DCB "f" DSEP "{}" DCE DSE "</think>ok",
     NULL, {{0}}},

    /* ---- Functionary v3.1 (Llama 3.1) */
    {FV31, "<function=get_weather>" PARIS "</function>", NULL, NULL, {{"get_weather", PARIS}}},
    {FV31, "Both:<function=a>{}</function><function=b>{\"x\": 1}</function>", "Both:", NULL,
     {{"a", "{}"}, {"b", "{\"x\": 1}"}}},
    {FV31, "<|python_tag|>import math\nprint(math.pi)", NULL, NULL,
     {{"python", "{\"code\": \"import math\\nprint(math.pi)\"}"}}},
    {FV31, "<function=get_weather>{\"location\"", "<function=get_weather>{\"location\"", NULL, {{0}}},
    {FV31, "<function=get_weather>{\"location\": Paris}</function>",
     "<function=get_weather>{\"location\": Paris}</function>", NULL, {{0}}},

    /* ---- Functionary v3.2 (the prompt ended in ">>>") */
    {FV32, "get_weather\n" PARIS, NULL, NULL, {{"get_weather", PARIS}}},
    {FV32, "all\nLet me check.>>>get_weather\n" PARIS ">>>get_time\n{\"tz\": \"UTC\"}", "Let me check.",
     NULL, {{"get_weather", PARIS}, {"get_time", "{\"tz\": \"UTC\"}"}}},
    {FV32, "all\nHello there!", "Hello there!", NULL, {{0}}},
    {FV32, ">>>get_weather\n" PARIS, NULL, NULL, {{"get_weather", PARIS}}},
    {FV32, "Hello world, no recipient", "Hello world, no recipient", NULL, {{0}}},
    {FV32, "get_weather\n{\"loc", "get_weather\n{\"loc", NULL, {{0}}},
    {FV32, "get_weather\nParis", "get_weather\nParis", NULL, {{0}}},

    /* ---- FireFunction v2 */
    {FIRE, "functools[{\"name\": \"get_weather\", \"arguments\": " PARIS "}]", NULL, NULL,
     {{"get_weather", PARIS}}},
    {FIRE, " functools[{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {}}]", NULL,
     NULL, {{"a", "{}"}, {"b", "{}"}}},
    {FIRE, "functools[{\"name\": \"a\", \"arguments\": 7}]", "functools[{\"name\": \"a\", \"arguments\": 7}]",
     NULL, {{0}}},

    /* ---- Command R7B */
    {R7B, "<|START_THINKING|>I need the weather.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": "
          "\"0\", \"tool_name\": \"get_weather\", \"parameters\": " PARIS "}\n]<|END_ACTION|>",
     "<|START_THINKING|>I need the weather.<|END_THINKING|>", NULL, {{"get_weather", PARIS}}},
    {R7B, "<|START_RESPONSE|>It is sunny.<|END_RESPONSE|>", "It is sunny.", NULL, {{0}}},
    {R7B, "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"a\", \"parameters\": {}}, "
          "{\"tool_call_id\": \"1\", \"tool_name\": \"b\", \"parameters\": {\"q\": 1}}]<|END_ACTION|>",
     NULL, NULL, {{"a", "{}"}, {"b", "{\"q\": 1}"}}},
    {R7B, "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"a\", \"parameters\": {}}]",
     "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"a\", \"parameters\": {}}]", NULL, {{0}}},

    /* ---- gpt-oss (harmony text) */
    {OSS, "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary "
          "to=functions.get_weather <|constrain|>json<|message|>{\"location\":\"Paris\"}<|call|>",
     NULL, "Need weather.", {{"get_weather", "{\"location\":\"Paris\"}"}}},
    {OSS, "<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>4"
          "<|return|>",
     "4", "Simple.", {{0}}},
    {OSS, "<|channel|>commentary to=functions.a <|constrain|>json<|message|>{}<|call|><|start|>assistant"
          " to=functions.b<|channel|>commentary json<|message|>{\"x\": 1}<|call|>",
     NULL, NULL, {{"a", "{}"}, {"b", "{\"x\": 1}"}}},
    {OSS, "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\":\"Pa",
     "{\"location\":\"Pa", NULL, {{0}}},
    {OSS, "<|channel|>analysis to=python code<|message|>print(1)<|call|>", NULL, NULL, {{0}}},
    {OSS, "no harmony at all", "no harmony at all", NULL, {{0}}},

    /* ---- generic JSON */
    {GENERIC, "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": " PARIS "}]}", NULL, NULL,
     {{"get_weather", PARIS}}},
    {GENERIC, "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}, \"id\": \"1\"}, {\"name\": \"b\", "
              "\"arguments\": {}}]}",
     NULL, NULL, {{"a", "{}"}, {"b", "{}"}}},
    {GENERIC, "{\"tool_call\": {\"name\": \"f\", \"arguments\": {\"k\": \"v\"}}}", NULL, NULL,
     {{"f", "{\"k\": \"v\"}"}}},
    {GENERIC, "{\"response\": \"Hello!\"}", "Hello!", NULL, {{0}}},
    {GENERIC, "<think>hmm</think>\n{\"tool_call\": {\"name\": \"f\", \"arguments\": {}}}",
     "<think>hmm</think>", NULL, {{"f", "{}"}}},
    {GENERIC, "{\"tool_calls\": [{\"name\": \"get_weather\", \"argu",
     "{\"tool_calls\": [{\"name\": \"get_weather\", \"argu", NULL, {{0}}},
    {GENERIC, "Just text.", "Just text.", NULL, {{0}}},
};

static bool same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static int n_want(const tcase *c) {
    int k = 0;
    while (k < 3 && c->calls[k][0])
        k++;
    return k;
}

static void test_cases(void) {
    char name[64];
    int per[LF_TOOLCALL_N_FORMATS] = {0};
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        const tcase *c = &CASES[i];
        snprintf(name, sizeof name, "toolcall %s #%d", lf_toolcall_format_name(c->f), ++per[c->f]);
        TEST_BEGIN(name);
        lf_error err = {{0}};
        lf_oai_message m;
        uint64_t rng = 42;
        bool ok = lf_toolcall_parse(c->f, c->text, strlen(c->text), &rng, &m, &err);
        EXPECT(ok, "parse: %s", err.msg);
        if (ok) {
            EXPECT(same(m.content, c->content), "content [%s], want [%s]", m.content ? m.content : "(null)",
                   c->content ? c->content : "(null)");
            EXPECT(same(m.reasoning_content, c->reasoning), "reasoning [%s]",
                   m.reasoning_content ? m.reasoning_content : "(null)");
            int want = n_want(c);
            EXPECT((int)m.n_tool_calls == want, "%zu calls, want %d", m.n_tool_calls, want);
            for (int k = 0; k < want && k < (int)m.n_tool_calls; k++) {
                EXPECT(!strcmp(m.tool_calls[k].name, c->calls[k][0]), "call %d name %s", k,
                       m.tool_calls[k].name);
                EXPECT(!strcmp(m.tool_calls[k].arguments, c->calls[k][1]), "call %d args %s", k,
                       m.tool_calls[k].arguments);
                EXPECT(strlen(m.tool_calls[k].id) == 29, "id %s", m.tool_calls[k].id);
            }
            EXPECT(!strcmp(m.finish_reason, want ? "tool_calls" : "stop"), "finish %s", m.finish_reason);
        }
        lf_oai_message_free(&m);
        TEST_END();
    }
}

/* Appends to a growable string. */
static void cat(char **s, size_t *n, const char *p, size_t len) {
    *s = realloc(*s, *n + len + 1);
    memcpy(*s + *n, p, len);
    *n += len;
    (*s)[*n] = 0;
}

/* Streams text in chunks of `chunk` bytes (0: 1, 2, 3, ... growing) and
 * checks the deltas add up to the one-shot parse. */
static bool stream_matches(lf_toolcall_format f, const char *text, size_t chunk, char *why, size_t cap) {
    lf_error err = {{0}};
    uint64_t seed = 7, rng = 7;
    lf_oai_message one;
    size_t n = strlen(text);
    if (!lf_toolcall_parse(f, text, n, &rng, &one, &err)) {
        snprintf(why, cap, "parse: %.200s", err.msg);
        return false;
    }
    lf_toolcall_stream *s = lf_toolcall_stream_new(f, &seed, &err);
    char *content = NULL, *reasoning = NULL, *names[8] = {0}, *args[8] = {0}, *ids[8] = {0};
    size_t nc = 0, nr = 0, na[8] = {0}, n_calls = 0;
    bool ok = s != NULL, order = true;
    size_t step = chunk ? chunk : 1;
    for (size_t at = 0; ok && at <= n;) {
        size_t take = at + step > n ? n - at : step;
        bool end = at + take == n;
        const lf_toolcall_delta *d;
        int64_t k = lf_toolcall_stream_push(s, text + at, take, end, &d, &err);
        ok = k >= 0;
        for (int64_t j = 0; ok && j < k; j++) {
            if (d[j].kind == LF_TOOLCALL_DELTA_CONTENT)
                cat(&content, &nc, d[j].text, d[j].len);
            else if (d[j].kind == LF_TOOLCALL_DELTA_REASONING)
                cat(&reasoning, &nr, d[j].text, d[j].len);
            else if (d[j].index < 8 && d[j].kind == LF_TOOLCALL_DELTA_CALL) {
                order &= d[j].index == n_calls;
                names[d[j].index] = strdup(d[j].name);
                ids[d[j].index] = strdup(d[j].id);
                n_calls++;
            } else if (d[j].index < 8) {
                order &= d[j].index + 1 == n_calls; /* arguments after their name */
                cat(&args[d[j].index], &na[d[j].index], d[j].text, d[j].len);
            }
        }
        at += take;
        if (!chunk)
            step++;
        if (end)
            break;
    }
    if (!ok)
        snprintf(why, cap, "push: %.200s", err.msg);
    if (ok && !(ok = same(content, one.content)))
        snprintf(why, cap, "content [%s] vs [%s]", content ? content : "(null)",
                 one.content ? one.content : "(null)");
    if (ok && !(ok = same(reasoning, one.reasoning_content)))
        snprintf(why, cap, "reasoning differs");
    if (ok && !(ok = order && n_calls == one.n_tool_calls))
        snprintf(why, cap, "%zu calls streamed, %zu parsed (order %d)", n_calls, one.n_tool_calls, order);
    for (size_t k = 0; ok && k < n_calls && k < 8; k++)
        if (!(ok = same(names[k], one.tool_calls[k].name) && same(ids[k], one.tool_calls[k].id) &&
                   same(args[k] ? args[k] : "", one.tool_calls[k].arguments)))
            snprintf(why, cap, "call %zu differs: %s %s", k, names[k], args[k]);
    lf_oai_message res;
    if (ok && !(ok = lf_toolcall_stream_result(s, &res, &err)))
        snprintf(why, cap, "result: %.200s", err.msg);
    if (ok) {
        ok = same(res.content, one.content) && res.n_tool_calls == one.n_tool_calls &&
             (!res.n_tool_calls || !strcmp(res.tool_calls[0].id, one.tool_calls[0].id));
        if (!ok)
            snprintf(why, cap, "stream result differs from the one-shot parse");
        lf_oai_message_free(&res);
    }
    for (int k = 0; k < 8; k++)
        free(names[k]), free(args[k]), free(ids[k]);
    free(content), free(reasoning);
    lf_oai_message_free(&one);
    lf_toolcall_stream_free(s);
    return ok;
}

static void test_streaming(void) {
    TEST_BEGIN("toolcall streaming: deltas add up to the one-shot parse (chunks of 1..9, growing)");
    char why[512];
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++)
        for (size_t chunk = 0; chunk <= 9; chunk++)
            if (!stream_matches(CASES[i].f, CASES[i].text, chunk, why, sizeof why)) {
                EXPECT(false, "case %zu (%s) chunk %zu: %s", i, lf_toolcall_format_name(CASES[i].f),
                       chunk, why);
                break;
            }
    TEST_END();

    TEST_BEGIN("toolcall streaming: a call is sent whole, content before it at once");
    lf_error err = {{0}};
    uint64_t seed = 1;
    lf_toolcall_stream *s = lf_toolcall_stream_new(LF_TOOLCALL_HERMES, &seed, &err);
    const lf_toolcall_delta *d;
    int64_t k = lf_toolcall_stream_push(s, "Hi <tool_", 9, false, &d, &err);
    EXPECT(k == 1 && d[0].kind == LF_TOOLCALL_DELTA_CONTENT && d[0].len == 2 &&
               !memcmp(d[0].text, "Hi", 2),
           "content up to a possible marker, trailing space held: %lld", (long long)k);
    const char *mid = "call>{\"name\": \"f\", \"arguments\": {\"a\"", *tail = ": 1}}</tool_call>";
    k = lf_toolcall_stream_push(s, mid, strlen(mid), false, &d, &err);
    EXPECT(k == 0, "nothing while the call is open: %lld", (long long)k);
    k = lf_toolcall_stream_push(s, tail, strlen(tail), false, &d, &err);
    EXPECT(k == 2 && d[0].kind == LF_TOOLCALL_DELTA_CALL && !strcmp(d[0].name, "f") &&
               d[1].kind == LF_TOOLCALL_DELTA_ARGS && d[1].len == 8,
           "name then arguments: %lld", (long long)k);
    k = lf_toolcall_stream_push(s, "", 0, true, &d, &err);
    EXPECT(k == 0, "end: %lld", (long long)k);
    EXPECT(lf_toolcall_stream_push(s, "x", 1, false, &d, &err) < 0 && strstr(err.msg, "ended"),
           "push after end: %s", err.msg);
    lf_toolcall_stream_free(s);
    TEST_END();
}

static void test_openai_json(void) {
    TEST_BEGIN("toolcall: OpenAI message JSON");
    lf_error err = {{0}};
    uint64_t rng = 3;
    lf_oai_message m;
    const char *text = "Hmm \xff.<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": \"\\\"\"}}</tool_call>";
    EXPECT(lf_toolcall_parse(LF_TOOLCALL_HERMES, text, strlen(text), &rng, &m, &err), "%s", err.msg);
    char *j = lf_toolcall_to_openai_json(&m, NULL, &err);
    char want[512];
    snprintf(want, sizeof want,
             "{\"role\":\"assistant\",\"content\":\"Hmm \xef\xbf\xbd.\",\"tool_calls\":[{\"id\":\"%s\","
             "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": "
             "\\\"\\\\\\\"\\\"}\"}}]}",
             m.n_tool_calls ? m.tool_calls[0].id : "");
    EXPECT(j && !strcmp(j, want), "got %s\nwant %s", j, want);
    free(j);
    lf_oai_message_free(&m);
    lf_oai_message none = {0};
    j = lf_toolcall_to_openai_json(&none, NULL, &err);
    EXPECT(j && !strcmp(j, "{\"role\":\"assistant\",\"content\":null}"), "empty: %s", j);
    free(j);
    EXPECT(!lf_toolcall_parse((lf_toolcall_format)99, "x", 1, &rng, &m, &err) && strstr(err.msg, "unknown"),
           "bad format: %s", err.msg);
    TEST_END();
}

/* Every shared template, and the family llama.cpp's common/chat.cpp gives
 * it (first matching rule; see docs/tools.md). */
static const char *const DETECT[][2] = {
    {"Apriel-1.6-15b-Thinker-fixed", "generic"},
    {"Bielik-11B-v3.0-Instruct", "hermes"},
    {"ByteDance-Seed-OSS", "generic"},
    {"CohereForAI-c4ai-command-r-plus-tool_use", "generic"},
    {"CohereForAI-c4ai-command-r7b-12-2024-tool_use", "command-r7b"},
    {"GLM-4.6", "hermes"},
    {"GigaChat3-10B-A1.8B", "generic"},
    {"GigaChat3.1-10B-A1.8B", "generic"},
    {"Kimi-K2-Instruct", "generic"},
    {"LFM2-8B-A1B", "generic"},
    {"LFM2.5-Instruct", "generic"},
    {"MiMo-VL", "hermes"},
    {"MiniMax-M3", "hermes"},
    {"NVIDIA-Nemotron-Nano-v2", "generic"},
    {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", "hermes"},
    {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "hermes"},
    {"Qwen-QwQ-32B", "hermes"},
    {"Qwen-Qwen2.5-7B-Instruct", "hermes"},
    {"Qwen-Qwen3-0.6B", "hermes"},
    {"Qwen3-Coder", "qwen3-coder"},
    {"Reka-Edge", "hermes"},
    {"StepFun3.5-Flash", "qwen3-coder"},
    {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", "deepseek"},
    {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "deepseek"},
    {"deepseek-ai-DeepSeek-V3.2", "generic"},
    {"deepseek-ai-DeepSeek-V4-Flash-0731", "generic"},
    {"deepseek-ai-DeepSeek-V4", "generic"},
    {"fireworks-ai-llama-3-firefunction-v2", "firefunction-v2"},
    {"google-gemma-2-2b-it", "generic"},
    {"google-gemma-4-31B-it-interleaved", "generic"},
    {"ibm-granite-granite-3.3-2B-Instruct", "granite"},
    {"ibm-granite-granite-4.0", "hermes"},
    {"llama-cpp-deepseek-r1", "deepseek"},
    {"llama-cpp-rwkv-world", "generic"},
    {"meetkai-functionary-medium-v3.1", "functionary-v3.1"},
    {"meetkai-functionary-medium-v3.2", "functionary-v3.2"},
    {"meta-llama-Llama-3.1-8B-Instruct", "llama3"},
    {"meta-llama-Llama-3.2-3B-Instruct", "llama3"},
    {"microsoft-Phi-3.5-mini-instruct", "generic"},
    {"mistralai-Ministral-3-14B-Reasoning-2512", "mistral"},
    {"mistralai-Mistral-Nemo-Instruct-2407", "mistral"},
    {"moonshotai-Kimi-K2", "generic"},
    {"openai-gpt-oss-120b", "gpt-oss"},
    {"openbmb-MiniCPM5-1B", "generic"},
    {"poolside-Laguna-S-2.1", "hermes"},
    {"poolside-Laguna-XS-2.1", "hermes"},
    {"poolside-Laguna-XS.2", "hermes"},
    {"unsloth-Apriel-1.5", "hermes"},
    {"unsloth-mistral-Devstral-Small-2507", "mistral"},
    {"upstage-Solar-Open-100B", "generic"},
};

static void test_detect(void) {
    TEST_BEGIN("toolcall detect: every shared template maps to llama.cpp's family");
    int seen = 0;
    for (size_t i = 0; i < sizeof DETECT / sizeof *DETECT; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/templates/%s.jinja", test_shared_dir(), DETECT[i][0]);
        char *t = test_slurp(path, NULL);
        if (!t)
            continue;
        seen++;
        const char *got = lf_toolcall_format_name(lf_toolcall_detect(t));
        EXPECT(!strcmp(got, DETECT[i][1]), "%s: %s, want %s", DETECT[i][0], got, DETECT[i][1]);
        free(t);
    }
    EXPECT(seen == (int)(sizeof DETECT / sizeof *DETECT), "only %d templates found", seen);
    EXPECT(lf_toolcall_detect(NULL) == LF_TOOLCALL_GENERIC, "NULL");
    lf_toolcall_format f;
    for (int k = 0; k < LF_TOOLCALL_N_FORMATS; k++)
        EXPECT(lf_toolcall_format_from_name(lf_toolcall_format_name((lf_toolcall_format)k), &f) &&
                   (int)f == k,
               "name round trip %d", k);
    TEST_END();
}

int main(void) {
    test_cases();
    test_streaming();
    test_openai_json();
    test_detect();
    return test_summary();
}
