/* Harmony streaming parser: the parse fixtures of ../shared/harmony, the
 * inline cases of openai/harmony v0.0.8 (src/tests.rs, tests/test_harmony.py)
 * as tables, spec/harmony.md §5's bad model output, and the parser driven
 * over the synthetic gpt-oss model's output. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "text/utf8.h"

enum { ASSISTANT = LF_HARMONY_ROLE_ASSISTANT, TOOL = LF_HARMONY_ROLE_TOOL, NONE = -1 };

static lf_model *g_m;
static lf_harmony *g_h;

/* ----------------------------------------------------------------- helpers */

typedef struct toks {
    int32_t v[4096];
    int n;
} toks;

/* Appends text tokenized with special tokens parsed (tiktoken's
 * encode(text, allowed_special="all")). */
static void add_text(toks *t, const char *s) {
    int64_t n = lf_tokenize(g_m, s, strlen(s), t->v + t->n, 4096 - t->n, false, true);
    if (n > 0)
        t->n += (int)n;
}

static void add_ids(toks *t, const int32_t *ids, int n) {
    for (int i = 0; i < n && t->n < 4096; i++)
        t->v[t->n++] = ids[i];
}

/* A string or NULL, for messages. */
static bool same(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

typedef struct want {
    int role;
    const char *name, *channel, *recipient, *content_type, *text;
} want;

static bool msg_is(const lf_harmony_msg *m, const want *w, char *why, size_t cap) {
    const char *what = NULL;
    if ((int)m->role != w->role)
        what = "role";
    else if (!same(m->name, w->name))
        what = "name";
    else if (!same(m->channel, w->channel))
        what = "channel";
    else if (!same(m->recipient, w->recipient))
        what = "recipient";
    else if (!same(m->content_type, w->content_type))
        what = "content_type";
    else if (m->text_len != strlen(w->text) || memcmp(m->text, w->text, m->text_len))
        what = "text";
    if (what)
        snprintf(why, cap, "%s differs: role %d name %s channel %s recipient %s type %s text [%.*s]",
                 what, (int)m->role, m->name ? m->name : "-", m->channel ? m->channel : "-",
                 m->recipient ? m->recipient : "-", m->content_type ? m->content_type : "-",
                 (int)(m->text_len > 200 ? 200 : m->text_len), m->text);
    return !what;
}

/* Parses t as a completion and checks the messages against ws[0..nw). */
static void expect_parse(const toks *t, int role, bool strict, const want *ws, size_t nw) {
    lf_harmony_msg *msgs;
    size_t n;
    lf_error err;
    bool ok = lf_harmony_parse_completion(g_h, t->v, (size_t)t->n, role, strict, &msgs, &n, &err);
    EXPECT(ok, "parse failed: %s", err.msg);
    if (!ok)
        return;
    EXPECT(n == nw, "%zu messages, want %zu", n, nw);
    for (size_t i = 0; i < n && i < nw; i++) {
        char why[512];
        EXPECT(msg_is(&msgs[i], &ws[i], why, sizeof why), "message %zu: %s", i, why);
    }
    lf_harmony_msgs_free(msgs, n);
}

static bool parse_fails(const toks *t, int role, bool strict, const char *msg_part) {
    lf_harmony_msg *msgs;
    size_t n;
    lf_error err;
    if (lf_harmony_parse_completion(g_h, t->v, (size_t)t->n, role, strict, &msgs, &n, &err)) {
        lf_harmony_msgs_free(msgs, n);
        return false;
    }
    return !msg_part || strstr(err.msg, msg_part);
}

static char *read_file(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/harmony/%s", test_shared_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(1 << 16);
    size_t n = b ? fread(b, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (!b)
        return NULL;
    while (n && (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == '\t'))
        n--; /* the fixtures are compared after trimming trailing white space */
    b[n] = 0;
    *len = n;
    return b;
}

/* A fixture of token ids (numbers separated by white space). */
static void read_ids(const char *name, toks *t) {
    size_t len;
    char *s = read_file(name, &len);
    t->n = 0;
    for (char *p = s, *e; p && *p && t->n < 4096; p = e) {
        long v = strtol(p, &e, 10);
        if (e == p)
            break;
        t->v[t->n++] = (int32_t)v;
    }
    free(s);
}

/* Events of one stream, gathered. */
typedef struct run {
    char text[8192]; /* deltas of all messages, concatenated */
    size_t len;
    int headers, dones, errors;
    int32_t last_stop;
    char last_delta[64];
    size_t last_delta_len;
} run;

static void run_events(run *r, const lf_harmony_event *ev, int k) {
    r->last_delta_len = 0;
    for (int i = 0; i < k; i++) {
        if (ev[i].type == LF_HARMONY_EV_HEADER)
            r->headers++;
        if (ev[i].type == LF_HARMONY_EV_DONE)
            r->dones++, r->last_stop = ev[i].stop_token;
        if (ev[i].type == LF_HARMONY_EV_DELTA) {
            if (r->len + ev[i].len < sizeof r->text)
                memcpy(r->text + r->len, ev[i].text, ev[i].len), r->len += ev[i].len;
            if (ev[i].len < sizeof r->last_delta)
                memcpy(r->last_delta, ev[i].text, ev[i].len), r->last_delta_len = ev[i].len;
        }
    }
}

static void push_all(lf_harmony_parser *p, const toks *t, run *r) {
    for (int i = 0; i < t->n; i++) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        lf_error err;
        int k = lf_harmony_parser_push(p, t->v[i], ev, &err);
        if (k < 0)
            r->errors++;
        else
            run_events(r, ev, k);
    }
}

/* ---------------------------------------------------------------- fixtures */

static void test_fixtures(void) {
    toks t;
    TEST_BEGIN("harmony parse fixture: test_simple_reasoning_response");
    read_ids("test_simple_reasoning_response.txt", &t);
    EXPECT(t.n == 35, "%d ids", t.n);
    expect_parse(&t, ASSISTANT, true,
                 (want[]){{ASSISTANT, NULL, "analysis", NULL, NULL,
                           "User asks: \"What is 2 + 2?\" Simple arithmetic. Provide answer."},
                          {ASSISTANT, NULL, "final", NULL, NULL, "2 + 2 = 4."}},
                 2);
    TEST_END();

    TEST_BEGIN("harmony parse fixture: test_simple_tool_call (ends at EOS)");
    read_ids("test_simple_tool_call.txt", &t);
    EXPECT(t.n == 39, "%d ids", t.n);
    expect_parse(&t, ASSISTANT, true,
                 (want[]){{ASSISTANT, NULL, "analysis", NULL, NULL,
                           "User asks: \"What is the weather in Tokyo?\" We need to use "
                           "lookup_weather tool."},
                          {ASSISTANT, NULL, "analysis", "lookup_weather", "code",
                           "{\"location\": \"Tokyo\"}"}},
                 2);
    TEST_END();

    TEST_BEGIN("harmony parse: src/tests.rs's test_simple_tool_call (<|end|> variant)");
    t.n = 0;
    add_ids(&t,
            (int32_t[]){200005, 35644, 200008, 1844, 31064, 25, 392, 4827, 382, 290, 11122, 306,
                        40510, 16842, 1416, 1309, 316, 1199, 37342, 170154, 4584, 13, 200007,
                        200006, 173781, 200005, 35644, 316, 28, 29712, 170154, 3490, 200008,
                        10848, 7693, 1243, 392, 173844, 18583},
            39);
    expect_parse(&t, ASSISTANT, true,
                 (want[]){{ASSISTANT, NULL, "analysis", NULL, NULL,
                           "User asks: \"What is the weather in Tokyo?\" We need to use "
                           "lookup_weather tool."},
                          {ASSISTANT, NULL, "analysis", "lookup_weather", "code",
                           "{\"location\": \"Tokyo\"}"}},
                 2);
    TEST_END();

    size_t len;
    char *s = read_file("test_streamable_parser.txt", &len);
    TEST_BEGIN("harmony parse fixture: test_streamable_parser (3 messages, streamed)");
    EXPECT(s, "cannot read the fixture");
    if (s) {
        t.n = 0;
        add_text(&t, s);
        /* the analysis text as the fixture spells it */
        const char *a = strstr(s, "<|message|>") + 11, *b = strstr(s, "<|end|>");
        char analysis[2048];
        snprintf(analysis, sizeof analysis, "%.*s", (int)(b - a), a);
        lf_error err;
        lf_harmony_parser *p = lf_harmony_parser_new(g_h, ASSISTANT, true, &err);
        run r = {0};
        push_all(p, &t, &r);
        EXPECT(r.errors == 0 && r.dones == 3 && r.headers == 3, "errors %d, %d done, %d headers",
               r.errors, r.dones, r.headers);
        EXPECT(lf_harmony_parser_state(p) == LF_HARMONY_PS_EXPECT_START, "state %d",
               lf_harmony_parser_state(p));
        lf_harmony_parser_free(p);
        expect_parse(&t, ASSISTANT, true,
                     (want[]){{ASSISTANT, NULL, "analysis", NULL, NULL, analysis},
                              {ASSISTANT, NULL, "commentary", "browser.search", "code",
                               "{\"query\": \"current US president July 2025\", \"topn\": 10, "
                               "\"source\": \"news\"}"},
                              {TOOL, "browser.search", "commentary", "assistant", NULL,
                               "{\"result\": \"https://openai.com/\"}"}},
                     3);
    }
    TEST_END();
    free(s);

    s = read_file("test_tool_response_parsing.txt", &len);
    TEST_BEGIN("harmony parse fixture: test_tool_response_parsing (tool author, no role given)");
    EXPECT(s, "cannot read the fixture");
    if (s) {
        t.n = 0;
        add_text(&t, s);
        expect_parse(&t, NONE, true,
                     (want[]){{TOOL, "browser.search", "commentary", "assistant", NULL,
                               "{\"result\": \"https://openai.com/\"}"}},
                     1);
    }
    TEST_END();
    free(s);
}

/* Parsed messages rendered back (lf_harmony_render_msg) give the text they
 * were parsed from, when it is in the renderer's own form. */
static void test_round_trip(void) {
    static const char *const texts[] = {
        "<|start|>browser.search to=assistant<|channel|>commentary<|message|>{\"result\": "
        "\"https://openai.com/\"}<|end|>",
        "<|start|>assistant<|channel|>analysis<|message|>Think 💖.<|end|>",
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        "<|message|>{\"location\":\"SF\"}<|call|>",
        "<|start|>user<|message|>literal <|start|> text<|end|>",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char name[128];
        snprintf(name, sizeof name, "harmony parse: render(parse(x)) == x, case %zu", i);
        TEST_BEGIN(name);
        toks t = {.n = 0};
        add_text(&t, texts[i]);
        /* literal "<|start|>" inside user text: tokenize that part as text */
        if (i == 3) {
            t.n = 0;
            add_text(&t, "<|start|>user<|message|>");
            int64_t k = lf_tokenize(g_m, "literal <|start|> text", 22, t.v + t.n, 4096 - t.n,
                                    false, false);
            t.n += k > 0 ? (int)k : 0;
            add_text(&t, "<|end|>");
        }
        lf_harmony_msg *msgs;
        size_t n;
        lf_error err;
        bool ok = lf_harmony_parse_completion(g_h, t.v, (size_t)t.n, NONE, true, &msgs, &n, &err);
        EXPECT(ok && n == 1, "parse: %s", ok ? "not one message" : err.msg);
        if (ok && n == 1) {
            char *text = NULL;
            size_t len = 0;
            lf_harmony_tokens rt = {0};
            EXPECT(lf_harmony_render_msg(g_h, &msgs[0], &rt, &text, &len, &err), "render: %s",
                   err.msg);
            EXPECT(text && !strcmp(text, texts[i]), "rendered [%s]", text ? text : "(null)");
            /* (case 3's input is tokenized here by lf_tokenize, the renderer's
             * by its plain-text path: the text is the check there) */
            EXPECT(i == 3 || (rt.n == t.n && !memcmp(rt.v, t.v, sizeof *t.v * (size_t)t.n)),
                   "tokens differ (%lld vs %d)", (long long)rt.n, t.n);
            free(text);
            lf_harmony_tokens_free(&rt);
        }
        if (ok)
            lf_harmony_msgs_free(msgs, n);
        TEST_END();
    }
}

/* ------------------------------------------------------------ inline cases */

typedef struct text_case {
    const char *name;
    const char *text; /* special tokens parsed */
    int role;
    bool strict;
    const char *error; /* part of the error, or NULL when it parses */
    want ws[3];
    int nw;
} text_case;

#define FN_WEATHER "functions.get_weather"
static const text_case TEXT_CASES[] = {
    {"tests.rs: <|constrain|> right after the recipient (channel first)",
     "<|start|>assistant<|channel|>commentary to=" FN_WEATHER
     "<|constrain|>json<|message|>{\"latitude\":48.8566,\"longitude\":2.3522}<|call|>",
     NONE, true, NULL,
     {{ASSISTANT, NULL, "commentary", FN_WEATHER, "<|constrain|>json",
       "{\"latitude\":48.8566,\"longitude\":2.3522}"}}, 1},
    {"tests.rs: <|constrain|> right after the channel (recipient after the role)",
     "<|start|>assistant to=" FN_WEATHER
     "<|channel|>commentary<|constrain|>json<|message|>{\"location\": \"Tokyo\"}<|end|>",
     NONE, true, NULL,
     {{ASSISTANT, NULL, "commentary", FN_WEATHER, "<|constrain|>json",
       "{\"location\": \"Tokyo\"}"}}, 1},
    {"docs form: recipient after the channel, spaced <|constrain|>",
     "<|channel|>commentary to=" FN_WEATHER " <|constrain|>json<|message|>{\"a\":1}<|call|>",
     ASSISTANT, true, NULL,
     {{ASSISTANT, NULL, "commentary", FN_WEATHER, "<|constrain|>json", "{\"a\":1}"}}, 1},
    {"tests.rs: missing <|message|>, strict", "<|channel|>commentary Hello<|end|>", ASSISTANT,
     true, "EOS", {{0}}, 0},
    {"tests.rs: missing <|message|>, non-strict", "<|channel|>commentary Hello<|end|>",
     ASSISTANT, false, NULL, {{ASSISTANT, NULL, "commentary", NULL, NULL, "Hello"}}, 1},
    {"test_harmony.py: missing <|message|> first, strict",
     "I must refuse<|end|><|start|>assistant<|channel|>analysis<|message|>We must "
     "refuse<|end|><|start|>assistant<|channel|>final<|message|>I'm sorry.<|return|>",
     ASSISTANT, true, "unexpected tokens remaining in message header", {{0}}, 0},
    {"test_harmony.py: missing <|message|> first, non-strict",
     "I must refuse<|end|><|start|>assistant<|channel|>analysis<|message|>We must "
     "refuse<|end|><|start|>assistant<|channel|>final<|message|>I'm sorry.<|return|>",
     ASSISTANT, false, NULL,
     {{ASSISTANT, NULL, NULL, NULL, NULL, "I must refuse"},
      {ASSISTANT, NULL, "analysis", NULL, NULL, "We must refuse"},
      {ASSISTANT, NULL, "final", NULL, NULL, "I'm sorry."}}, 3},
    {"test_harmony.py: missing <|message|> with a channel, non-strict",
     "<|channel|>analysis I must refuse<|end|><|start|>assistant<|channel|>final<|message|>"
     "No.<|return|>",
     ASSISTANT, false, NULL,
     {{ASSISTANT, NULL, "analysis", NULL, NULL, "I must refuse"},
      {ASSISTANT, NULL, "final", NULL, NULL, "No."}}, 2},
    {"test_harmony.py: missing <|message|> before a tool call, non-strict",
     "... Let's use the tool.<|end|><|start|>assistant to=" FN_WEATHER
     "<|channel|>commentary json<|message|>{\"location\": \"Tokyo\"}<|call|>",
     ASSISTANT, false, NULL,
     {{ASSISTANT, NULL, NULL, NULL, NULL, "... Let's use the tool."},
      {ASSISTANT, NULL, "commentary", FN_WEATHER, "json", "{\"location\": \"Tokyo\"}"}}, 2},
    {"test_harmony.py: missing <|message|> before a tool call, strict",
     "... Let's use the tool.<|end|><|start|>assistant to=" FN_WEATHER
     "<|channel|>commentary json<|message|>{\"location\": \"Tokyo\"}<|call|>",
     ASSISTANT, true, "unexpected tokens remaining in message header", {{0}}, 0},
    {"tricky UTF-8 (test_harmony.py)",
     "<|start|>assistant<|message|>Hello Müller, Γειά σου, Привет, שלום, مرحبا, नमस्ते, "
     "こんにちは, 안녕하세요, 你好. naïve vs naïve. 😊👋🏾👨‍👩‍👧‍👦🇺🇸.<|end|>",
     NONE, true, NULL,
     {{ASSISTANT, NULL, NULL, NULL, NULL,
       "Hello Müller, Γειά σου, Привет, שלום, مرحبا, नमस्ते, こんにちは, 안녕하세요, 你好. naïve "
       "vs naïve. 😊👋🏾👨‍👩‍👧‍👦🇺🇸."}}, 1},
    {"literal special-token text inside content stays text",
     "<|start|>assistant<|channel|>final<|message|>say <|start|> and <|channel|><|return|>",
     NONE, true, NULL,
     {{ASSISTANT, NULL, "final", NULL, NULL, "say <|start|> and <|channel|>"}}, 1},
    {"unknown role with a recipient reads as a tool name (tiles#145)",
     "<|start|>bash to=assistant<|channel|>commentary<|message|>ok<|end|>", NONE, true, NULL,
     {{TOOL, "bash", "commentary", "assistant", NULL, "ok"}}, 1},
    {"unknown role alone is an error", "<|start|>bash<|message|>ok<|end|>", NONE, true,
     "unknown role: bash", {{0}}, 0},
    {"an empty channel name is an error", "<|channel|><|message|>hi<|end|>", ASSISTANT, true,
     "no channel value", {{0}}, 0},
    {"two channel markers: the first is the channel",
     "<|channel|>analysis<|channel|>final<|message|>hi<|end|>", ASSISTANT, true, NULL,
     {{ASSISTANT, NULL, "analysis", "<|channel|>final", NULL, "hi"}}, 1},
    {"a stray recipient before the real channel (#84) does not crash",
     "<|channel|>commentary to=assistant<|channel|>analysis<|message|>x<|end|>", ASSISTANT,
     true, NULL,
     {{ASSISTANT, NULL, "commentary", "assistant<|channel|>analysis", NULL, "x"}}, 1},
    {"missing <|start|>, strict (#60)",
     "<|channel|>final<|message|>a<|end|>assistant<|channel|>final<|message|>b<|end|>",
     ASSISTANT, true, "while expecting start token", {{0}}, 0},
    {"missing <|start|>, non-strict: stray tokens skipped",
     "<|channel|>final<|message|>a<|end|>assistant<|start|>assistant<|channel|>final"
     "<|message|>b<|end|>",
     ASSISTANT, false, NULL,
     {{ASSISTANT, NULL, "final", NULL, NULL, "a"}, {ASSISTANT, NULL, "final", NULL, NULL, "b"}},
     2},
    {"text after <|return|>, strict", "<|channel|>final<|message|>done<|return|> and more",
     ASSISTANT, true, "while expecting start token", {{0}}, 0},
    {"text after <|return|>, non-strict", "<|channel|>final<|message|>done<|return|> and more",
     ASSISTANT, false, NULL, {{ASSISTANT, NULL, "final", NULL, NULL, "done"}}, 1},
    {"content that never ends: EOS finishes it",
     "<|channel|>final<|message|>no end in sight", ASSISTANT, true, NULL,
     {{ASSISTANT, NULL, "final", NULL, NULL, "no end in sight"}}, 1},
    {"a stop token inside a later header, non-strict: dropped",
     "<|channel|>final<|message|>a<|end|><|start|>assistant<|channel|>final<|end|>"
     "<|start|>assistant<|message|>b<|end|>",
     ASSISTANT, false, NULL,
     {{ASSISTANT, NULL, "final", NULL, NULL, "a"}, {ASSISTANT, NULL, NULL, NULL, NULL, "b"}}, 2},
    {"a stop token inside a header, strict: header text (as the crate reads it)",
     "<|channel|>final<|end|><|message|>b<|end|>", ASSISTANT, true, NULL,
     {{ASSISTANT, NULL, "final", "<|end|>", NULL, "b"}}, 1},
    {"a stop token inside a header, strict: the header fails",
     "<|channel|>final a b<|end|> json<|message|>b<|end|>", ASSISTANT, true,
     "unexpected tokens remaining", {{0}}, 0},
    {"a header that never ends: EOS, strict", "<|start|>assistant<|channel|>final", NONE, true,
     "waiting for message header", {{0}}, 0},
    {"a header that never ends: EOS, non-strict", "<|start|>assistant<|channel|>final", NONE,
     false, NULL, {{0}}, 0},
    {"role repeated in the first header is dropped",
     "assistant<|channel|>final<|message|>x<|end|>", ASSISTANT, true, NULL,
     {{ASSISTANT, NULL, "final", NULL, NULL, "x"}}, 1},
};

static void test_text_cases(void) {
    for (size_t i = 0; i < sizeof TEXT_CASES / sizeof *TEXT_CASES; i++) {
        const text_case *c = &TEXT_CASES[i];
        char name[256];
        snprintf(name, sizeof name, "harmony parse: %s", c->name);
        TEST_BEGIN(name);
        toks t = {.n = 0};
        add_text(&t, c->text);
        if (c->error)
            EXPECT(parse_fails(&t, c->role, c->strict, c->error), "no error with \"%s\"",
                   c->error);
        else
            expect_parse(&t, c->role, c->strict, c->ws, (size_t)c->nw);
        TEST_END();
    }
}

/* Token-level cases: ids that do not decode on their own. 9552 is the
 * bytes 20 F0 9F (a space and an incomplete 4-byte character). */
static void test_utf8_cases(void) {
    toks t = {.n = 0};
    const char *pre = "<|start|>assistant<|message|>";

    TEST_BEGIN("test_harmony.py: [9552,9552] + \"worked\" -> \" \\uFFFD \\uFFFDworked\"");
    add_text(&t, pre);
    add_ids(&t, (int32_t[]){9552, 9552}, 2);
    add_text(&t, "worked<|end|>");
    expect_parse(&t, NONE, true,
                 (want[]){{ASSISTANT, NULL, NULL, NULL, NULL, " \xEF\xBF\xBD \xEF\xBF\xBDworked"}},
                 1);
    TEST_END();

    TEST_BEGIN("test_harmony.py: [9552] + \"XY\" -> \" \\uFFFDXY\"");
    t.n = 0;
    add_text(&t, pre);
    add_ids(&t, (int32_t[]){9552}, 1);
    add_text(&t, "XY<|end|>");
    expect_parse(&t, NONE, true, (want[]){{ASSISTANT, NULL, NULL, NULL, NULL, " \xEF\xBF\xBDXY"}},
                 1);
    TEST_END();

    TEST_BEGIN("tests.rs: bytes do not leak between messages ([9552,9552] then <|end|>)");
    t.n = 0;
    add_text(&t, pre);
    add_ids(&t, (int32_t[]){9552, 9552}, 2);
    add_text(&t, "<|end|>");
    add_text(&t, pre);
    add_text(&t, "Hi<|end|>");
    expect_parse(&t, NONE, true,
                 (want[]){{ASSISTANT, NULL, NULL, NULL, NULL, " \xEF\xBF\xBD \xEF\xBF\xBD"},
                          {ASSISTANT, NULL, NULL, NULL, NULL, "Hi"}},
                 2);
    TEST_END();

    TEST_BEGIN("tests.rs: EOS flushes held bytes: [9552] + \"Hi\" -> \" \\uFFFDHi\"");
    t.n = 0;
    add_text(&t, pre);
    add_ids(&t, (int32_t[]){9552}, 1);
    add_text(&t, "Hi");
    lf_error err;
    lf_harmony_parser *p = lf_harmony_parser_new(g_h, NONE, true, &err);
    run r = {0};
    push_all(p, &t, &r);
    lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
    int k = lf_harmony_parser_eos(p, ev, &err);
    EXPECT(k >= 1 && ev[k - 1].type == LF_HARMONY_EV_DONE && ev[k - 1].stop_token == -1,
           "eos gave %d events", k);
    if (k >= 1) {
        char why[512];
        want w = {ASSISTANT, NULL, NULL, NULL, NULL, " \xEF\xBF\xBDHi"};
        EXPECT(msg_is(ev[k - 1].msg, &w, why, sizeof why), "%s", why);
        run_events(&r, ev, k);
    }
    EXPECT(r.len == 6 && !memcmp(r.text, " \xEF\xBF\xBDHi", 6), "deltas [%.*s]", (int)r.len,
           r.text);
    EXPECT(!lf_harmony_parser_current(p), "a message is still open");
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("tests.rs: a 2-token emoji waits for its second token");
    t.n = 0;
    add_text(&t, pre);
    int32_t emoji[8];
    int64_t ne = lf_tokenize(g_m, "\xF0\x9F\x92\x96", 4, emoji, 8, false, false);
    EXPECT(ne >= 2, "the emoji is %lld tokens", (long long)ne);
    p = lf_harmony_parser_new(g_h, NONE, true, &err);
    memset(&r, 0, sizeof r);
    push_all(p, &t, &r);
    if (ne >= 2) {
        k = lf_harmony_parser_push(p, emoji[0], ev, &err);
        EXPECT(k == 0, "first half gave %d events", k);
        EXPECT(lf_harmony_parser_current(p)->text_len == 0, "content after the first half");
        k = lf_harmony_parser_push(p, emoji[1], ev, &err);
        EXPECT(k == 1 && ev[0].type == LF_HARMONY_EV_DELTA && ev[0].len == 4 &&
                   !memcmp(ev[0].text, "\xF0\x9F\x92\x96", 4),
               "second half gave %d events", k);
        k = lf_harmony_parser_push(p, lf_harmony_end(g_h), ev, &err);
        EXPECT(k == 1 && ev[0].type == LF_HARMONY_EV_DONE && ev[0].msg->text_len == 4 &&
                   ev[0].stop_token == lf_harmony_end(g_h),
               "<|end|> gave %d events", k);
    }
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("test_harmony.py: deltas concatenate to the content, no EOS");
    t.n = 0;
    add_text(&t, pre);
    add_ids(&t, (int32_t[]){9552}, 1);
    add_text(&t, " interesting story");
    p = lf_harmony_parser_new(g_h, NONE, true, &err);
    memset(&r, 0, sizeof r);
    push_all(p, &t, &r);
    const char *want_text = " \xEF\xBF\xBD interesting story";
    const lf_harmony_msg *cur = lf_harmony_parser_current(p);
    EXPECT(cur && cur->text_len == strlen(want_text) && !strcmp(cur->text, want_text),
           "current [%s]", cur ? cur->text : "(none)");
    EXPECT(r.len == strlen(want_text) && !memcmp(r.text, want_text, r.len), "deltas [%.*s]",
           (int)r.len, r.text);
    t.n = 0;
    add_text(&t, "Y");
    push_all(p, &t, &r);
    EXPECT(r.last_delta_len == 1 && r.last_delta[0] == 'Y', "last delta");
    cur = lf_harmony_parser_current(p);
    EXPECT(cur && cur->text_len == strlen(want_text) + 1, "current after Y");
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("tests.rs: an id outside the vocabulary in content: U+FFFD (non-strict)");
    t.n = 0;
    add_text(&t, "<|start|>assistant<|channel|>analysis<|message|>Practice invalid token handling.");
    add_ids(&t, (int32_t[]){(int32_t)UINT32_MAX}, 1);
    expect_parse(&t, NONE, false,
                 (want[]){{ASSISTANT, NULL, "analysis", NULL, NULL,
                           "Practice invalid token handling.\xEF\xBF\xBD"}},
                 1);
    EXPECT(parse_fails(&t, NONE, true, "outside the vocabulary"), "strict: no error");
    TEST_END();
}

/* ------------------------------------------------------- §5 bad output */

static void test_bad_output(void) {
    lf_error err;
    lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];

    TEST_BEGIN("harmony parse: a header that never gets <|message|> is capped");
    lf_harmony_parser *p = lf_harmony_parser_new(g_h, ASSISTANT, true, &err);
    int errors = 0, i;
    for (i = 0; i < 2000 && lf_harmony_parser_state(p) == LF_HARMONY_PS_HEADER; i++)
        if (lf_harmony_parser_push(p, 24912, ev, &err) < 0)
            errors++;
    EXPECT(errors == 1 && i == LF_HARMONY_MAX_HEADER_TOKENS + 1, "%d errors after %d tokens",
           errors, i);
    EXPECT(strstr(err.msg, "header longer"), "error: %s", err.msg);
    /* then the parser waits for the next message, which parses */
    toks t = {.n = 0};
    add_text(&t, "<|start|>assistant<|channel|>final<|message|>ok<|return|>");
    run r = {0};
    push_all(p, &t, &r);
    EXPECT(r.errors == 0 && r.dones == 1 && r.len == 2, "after the cap: %d errors %d done",
           r.errors, r.dones);
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("harmony parse: a header of huge tokens is capped by bytes");
    p = lf_harmony_parser_new(g_h, ASSISTANT, false, &err);
    int32_t big = 0;
    char piece[512];
    for (int32_t id = 1000; id < 200000 && !big; id++) /* a long piece: many spaces, say */
        if (lf_token_to_piece(g_m, id, piece, sizeof piece, true) >= 64)
            big = id;
    errors = 0;
    for (i = 0; big && i < 1000 && lf_harmony_parser_state(p) == LF_HARMONY_PS_HEADER; i++)
        if (lf_harmony_parser_push(p, big, ev, &err) < 0)
            errors++;
    EXPECT(big && errors == 1 && i < LF_HARMONY_MAX_HEADER_TOKENS, "%d errors after %d tokens",
           errors, i);
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("harmony parse: ids out of range or negative are errors, never a crash");
    int32_t bad[] = {-1, INT32_MIN, lf_model_n_vocab(g_m), INT32_MAX};
    for (int strict = 0; strict < 2; strict++) {
        p = lf_harmony_parser_new(g_h, NONE, strict, &err);
        t.n = 0;
        add_text(&t, "<|start|>assistant");
        for (int j = 0; j < 4; j++) { /* before a message, and in a header */
            int k0 = lf_harmony_parser_push(p, bad[j], ev, &err);
            EXPECT(strict ? k0 == -1 : k0 == 0, "strict %d: id %d gave %d", strict, bad[j], k0);
        }
        memset(&r, 0, sizeof r);
        push_all(p, &t, &r);
        for (int j = 0; j < 4; j++)
            lf_harmony_parser_push(p, bad[j], ev, &err);
        EXPECT(lf_harmony_parser_state(p) == LF_HARMONY_PS_HEADER, "state %d",
               lf_harmony_parser_state(p));
        t.n = 0;
        add_text(&t, "<|channel|>final<|message|>ok");
        push_all(p, &t, &r);
        int k = lf_harmony_parser_push(p, -5, ev, &err); /* in content */
        EXPECT(strict ? k == -1 : (k == 1 && ev[0].len == 3), "strict %d: in content %d", strict,
               k);
        k = lf_harmony_parser_eos(p, ev, &err);
        EXPECT(k >= 1 && ev[k - 1].type == LF_HARMONY_EV_DONE &&
                   ev[k - 1].msg->text_len == (strict ? 2u : 5u),
               "strict %d: eos %d", strict, k);
        EXPECT(lf_harmony_parser_n_skipped(p) == (strict ? 9 : 8), "strict %d: %lld skipped",
               strict, (long long)lf_harmony_parser_n_skipped(p));
        lf_harmony_parser_free(p);
    }
    TEST_END();

    TEST_BEGIN("harmony parse: a message ending in a partial character: U+FFFD, then clean");
    p = lf_harmony_parser_new(g_h, ASSISTANT, true, &err);
    t.n = 0;
    add_text(&t, "<|channel|>final<|message|>a");
    add_ids(&t, (int32_t[]){9552}, 1);
    memset(&r, 0, sizeof r);
    push_all(p, &t, &r);
    int k = lf_harmony_parser_push(p, lf_harmony_return(g_h), ev, &err);
    EXPECT(k == 2 && ev[0].type == LF_HARMONY_EV_DELTA && ev[0].len == 3 &&
               ev[1].type == LF_HARMONY_EV_DONE && ev[1].msg->text_len == 5 &&
               ev[1].stop_token == lf_harmony_return(g_h),
           "<|return|> gave %d events", k);
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("harmony parse: lenient stop in the first header: HEADER, one DELTA, DONE");
    p = lf_harmony_parser_new(g_h, ASSISTANT, false, &err);
    t.n = 0;
    add_text(&t, "<|channel|>commentary Hello  there");
    memset(&r, 0, sizeof r);
    push_all(p, &t, &r);
    k = lf_harmony_parser_push(p, lf_harmony_end(g_h), ev, &err);
    EXPECT(k == 3 && ev[0].type == LF_HARMONY_EV_HEADER && ev[1].type == LF_HARMONY_EV_DELTA &&
               ev[1].len == 11 && !memcmp(ev[1].text, "Hello there", 11) &&
               ev[2].type == LF_HARMONY_EV_DONE && ev[2].msg->text_len == 11 &&
               !strcmp(ev[2].msg->channel, "commentary"),
           "<|end|> gave %d events", k);
    lf_harmony_parser_free(p);
    TEST_END();

    TEST_BEGIN("harmony parse: bad constructor arguments are errors");
    EXPECT(!lf_harmony_parser_new(g_h, 99, true, &err), "role 99 accepted");
    EXPECT(!lf_harmony_parser_new(g_h, -2, true, &err), "role -2 accepted");
    TEST_END();
}

/* --------------------------------------------- the synthetic gpt-oss model */

/* Feeds tokens one by one and accounts for each: every token is an error,
 * skipped between messages (lenient only), or taken into a message; the
 * text of each message is the concatenation of its deltas and, when the
 * content tokens' bytes are UTF-8, exactly those bytes. */
static void account(const int32_t *ids, int n, int role, bool strict, const char *what) {
    lf_error err;
    lf_harmony_parser *p = lf_harmony_parser_new(g_h, role, strict, &err);
    int64_t taken = 0, errors = 0, skipped = 0, done = 0;
    static char text[1 << 15], raw[1 << 15];
    size_t len = 0, rlen = 0;
    bool deltas_match = true, raw_match = true;
    for (int i = 0; i <= n; i++) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        int before = lf_harmony_parser_state(p);
        int k = i < n ? lf_harmony_parser_push(p, ids[i], ev, &err)
                      : lf_harmony_parser_eos(p, ev, &err);
        if (k < 0) {
            errors += i < n;
            continue;
        }
        if (i < n) {
            if (before == LF_HARMONY_PS_EXPECT_START && ids[i] != lf_harmony_start(g_h))
                skipped++;
            else
                taken++;
            if (before == LF_HARMONY_PS_CONTENT && !lf_harmony_is_stop_token(g_h, ids[i])) {
                int64_t pn = lf_token_to_piece(g_m, ids[i], raw + rlen, sizeof raw - rlen, true);
                if (pn > 0)
                    rlen += (size_t)pn;
            }
        }
        for (int j = 0; j < k; j++) {
            if (ev[j].type == LF_HARMONY_EV_HEADER)
                rlen = 0; /* a lenient header-only message: its text is the header's */
            if (ev[j].type == LF_HARMONY_EV_DELTA && len + ev[j].len < sizeof text)
                memcpy(text + len, ev[j].text, ev[j].len), len += ev[j].len;
            if (ev[j].type == LF_HARMONY_EV_DONE) {
                done++;
                const lf_harmony_msg *m = ev[j].msg;
                if (m->text_len != len || memcmp(m->text, text, len))
                    deltas_match = false;
                if (!lf_utf8_valid(m->text, m->text_len) ||
                    (rlen && lf_utf8_valid(raw, rlen) &&
                     (rlen != m->text_len || memcmp(raw, m->text, rlen))))
                    raw_match = false;
                len = rlen = 0;
            }
        }
    }
    EXPECT(deltas_match, "%s: a message's deltas differ from its text", what);
    EXPECT(raw_match, "%s: a message's text is not its tokens' bytes", what);
    EXPECT(taken + errors + skipped == n && (!strict || skipped == 0) &&
               (strict || errors == 0 || lf_harmony_parser_n_skipped(p) >= skipped),
           "%s: %lld taken, %lld errors, %lld skipped of %d", what, (long long)taken,
           (long long)errors, (long long)skipped, n);
    printf("# %s: %d tokens, %lld messages, %lld errors, %lld skipped\n", what, n,
           (long long)done, (long long)errors, (long long)skipped);
    lf_harmony_parser_free(p);
}

static void test_model_output(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/gpt-oss-Q8_0.gguf", test_shared_dir());
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m) {
        SKIP("harmony parse: the synthetic gpt-oss model's output", "%s", err.msg);
        return;
    }
    TEST_BEGIN("harmony parse: the synthetic gpt-oss model's output, token by token");
    /* Its 512-token vocabulary has no harmony tokens: lf_harmony refuses it
     * cleanly, and its ids are parsed with the gpt-oss vocabulary's. */
    lf_harmony *hm = lf_harmony_new(m, &err);
    EXPECT(!hm, "lf_harmony_new accepted a vocabulary without harmony tokens");
    lf_harmony_free(hm);
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = 128;
    cp.n_threads = 2;
    lf_context *c = lf_context_new(m, &cp, &err);
    EXPECT(c, "context: %s", err.msg);
    lf_sampler_params sp = lf_sampler_default_params();
    sp.seed = 42;
    lf_sampler *s = lf_sampler_new(&sp, lf_model_n_vocab(m), &err);
    enum { N_GEN = 48 };
    int32_t gen[N_GEN];
    int ngen = 0;
    int32_t tok = lf_token_bos(m) >= 0 ? lf_token_bos(m) : 1;
    for (int pos = 0; c && s && ngen < N_GEN; pos++) {
        int8_t want_logits = 1;
        int32_t seq = 0;
        lf_batch b = {1, &tok, &pos, &seq, &want_logits};
        if (!lf_decode(c, &b, &err))
            break;
        tok = lf_sampler_sample(s, lf_get_logits_ith(c, -1));
        if (tok < 0)
            break;
        lf_sampler_accept(s, tok);
        gen[ngen++] = tok;
    }
    EXPECT(ngen == N_GEN, "generated %d tokens: %s", ngen, err.msg);
    account(gen, ngen, ASSISTANT, true, "raw output, strict, assistant");
    account(gen, ngen, ASSISTANT, false, "raw output, lenient, assistant");
    account(gen, ngen, NONE, true, "raw output, strict, no role");
    account(gen, ngen, NONE, false, "raw output, lenient, no role");

    /* The model's tokens framed as harmony: the content is its text. */
    toks t = {.n = 0};
    add_text(&t, "<|channel|>analysis<|message|>");
    add_ids(&t, gen, ngen / 2);
    add_text(&t, "<|end|><|start|>assistant<|channel|>final<|message|>");
    add_ids(&t, gen + ngen / 2, ngen - ngen / 2);
    add_text(&t, "<|return|>");
    account(t.v, t.n, ASSISTANT, true, "framed output");
    lf_harmony_msg *msgs;
    size_t nm;
    bool ok = lf_harmony_parse_completion(g_h, t.v, (size_t)t.n, ASSISTANT, true, &msgs, &nm, &err);
    EXPECT(ok && nm == 2, "framed output: %s, %zu messages", ok ? "parsed" : err.msg, ok ? nm : 0);
    if (ok && nm == 2) {
        size_t dn = 0;
        char *d = lf_harmony_decode(g_h, gen + ngen / 2, ngen - ngen / 2, &dn, &err);
        EXPECT(!strcmp(msgs[0].channel, "analysis") && !strcmp(msgs[1].channel, "final"),
               "channels");
        EXPECT(d && lf_utf8_valid(msgs[1].text, msgs[1].text_len) &&
                   (!lf_utf8_valid(d, dn) || (dn == msgs[1].text_len && !memcmp(d, msgs[1].text, dn))),
               "the final message is not the model's text");
        free(d);
    }
    if (ok)
        lf_harmony_msgs_free(msgs, nm);
    lf_sampler_free(s);
    lf_context_free(c);
    lf_model_free(m);
    TEST_END();
}

/* ------------------------------------------------- Chat Completions */

/* Parses text (a completion after "<|start|>assistant") and maps it. */
static bool to_oai(const char *text, const char *finish, uint64_t seed, lf_oai_message *o) {
    toks t = {.n = 0};
    add_text(&t, text);
    lf_harmony_msg *msgs;
    size_t n;
    lf_error err;
    if (!lf_harmony_parse_completion(g_h, t.v, (size_t)t.n, ASSISTANT, false, &msgs, &n, &err))
        return false;
    bool ok = lf_harmony_to_openai(msgs, n, finish, &seed, o, &err);
    lf_harmony_msgs_free(msgs, n);
    return ok;
}

static void test_openai(void) {
    lf_oai_message o;
    TEST_BEGIN("harmony to OpenAI: analysis -> reasoning_content, final -> content");
    EXPECT(to_oai("<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final"
                  "<|message|>Answer.<|return|>",
                  "stop", 1, &o),
           "failed");
    EXPECT(o.reasoning_content && !strcmp(o.reasoning_content, "Think."), "reasoning %s",
           o.reasoning_content ? o.reasoning_content : "(null)");
    EXPECT(o.content && !strcmp(o.content, "Answer."), "content");
    EXPECT(o.n_tool_calls == 0 && !strcmp(o.finish_reason, "stop"), "finish %s", o.finish_reason);
    lf_oai_message_free(&o);
    TEST_END();

    TEST_BEGIN("harmony to OpenAI: commentary to functions.NAME -> tool_calls, preamble -> content");
    EXPECT(to_oai("<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant"
                  "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant"
                  "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
                  "{\"location\":\"SF\"}<|call|>",
                  "stop", 7, &o),
           "failed");
    EXPECT(o.content && !strcmp(o.content, "Checking."), "content %s",
           o.content ? o.content : "(null)");
    EXPECT(o.n_tool_calls == 1 && !strcmp(o.finish_reason, "tool_calls"), "%zu calls, %s",
           o.n_tool_calls, o.finish_reason);
    if (o.n_tool_calls == 1) {
        lf_oai_tool_call *c = &o.tool_calls[0];
        EXPECT(!strcmp(c->name, "get_weather") && !strcmp(c->arguments, "{\"location\":\"SF\"}"),
               "call %s(%s)", c->name, c->arguments);
        EXPECT(strlen(c->id) == 29 && !strncmp(c->id, "call_", 5), "id %s", c->id);
        char id[32];
        uint64_t seed = 7;
        lf_harmony_tool_call_id(&seed, id);
        EXPECT(!strcmp(id, c->id), "the id does not follow the seed: %s vs %s", id, c->id);
        lf_harmony_tool_call_id(&seed, id);
        EXPECT(strcmp(id, c->id), "the next id repeats");
    }
    lf_oai_message_free(&o);
    TEST_END();

    TEST_BEGIN("harmony to OpenAI: recipient after the role, two calls, distinct ids");
    EXPECT(to_oai("<|channel|>commentary to=functions.a<|message|>{}<|call|><|start|>assistant to="
                  "functions.b<|channel|>commentary json<|message|>{\"x\":1}<|call|>",
                  NULL, 3, &o),
           "failed");
    EXPECT(o.n_tool_calls == 2 && !o.content && !o.reasoning_content, "%zu calls", o.n_tool_calls);
    if (o.n_tool_calls == 2)
        EXPECT(!strcmp(o.tool_calls[0].name, "a") && !strcmp(o.tool_calls[1].name, "b") &&
                   !strcmp(o.tool_calls[1].arguments, "{\"x\":1}") &&
                   strcmp(o.tool_calls[0].id, o.tool_calls[1].id),
               "calls");
    lf_oai_message_free(&o);
    TEST_END();

    TEST_BEGIN("harmony to OpenAI: built-in tool calls and other authors are left out");
    EXPECT(to_oai("<|channel|>analysis to=python code<|message|>print(1)<|call|><|start|>python "
                  "to=assistant<|channel|>analysis<|message|>1<|end|><|start|>assistant<|channel|>"
                  "commentary to=browser.search<|message|>{}<|call|><|start|>assistant<|channel|>"
                  "analysis to=functions.f<|message|>{}<|call|><|start|>assistant<|channel|>"
                  "commentary to=functions.<|message|>{}<|call|><|start|>assistant<|channel|>"
                  "final<|message|>Done.<|return|>",
                  "length", 5, &o),
           "failed");
    EXPECT(o.n_tool_calls == 0 && !o.reasoning_content && o.content && !strcmp(o.content, "Done.") &&
               !strcmp(o.finish_reason, "length"),
           "%zu calls, reasoning %s, content %s, finish %s", o.n_tool_calls,
           o.reasoning_content ? o.reasoning_content : "(null)", o.content ? o.content : "(null)",
           o.finish_reason);
    lf_oai_message_free(&o);
    TEST_END();

    TEST_BEGIN("harmony to OpenAI: routes for streaming, from a header alone");
    lf_harmony_msg m = {.role = LF_HARMONY_ROLE_ASSISTANT, .channel = "commentary",
                        .recipient = "functions.lookup"};
    const char *name;
    EXPECT(lf_harmony_route_of(&m, &name) == LF_HARMONY_ROUTE_TOOL_CALL && !strcmp(name, "lookup"),
           "tool call");
    m.recipient = NULL;
    EXPECT(lf_harmony_route_of(&m, &name) == LF_HARMONY_ROUTE_CONTENT && !name, "preamble");
    m.channel = "analysis";
    EXPECT(lf_harmony_route_of(&m, NULL) == LF_HARMONY_ROUTE_REASONING, "analysis");
    m.recipient = "all";
    EXPECT(lf_harmony_route_of(&m, NULL) == LF_HARMONY_ROUTE_REASONING, "recipient all");
    m.role = LF_HARMONY_ROLE_TOOL;
    EXPECT(lf_harmony_route_of(&m, NULL) == LF_HARMONY_ROUTE_NONE, "tool author");
    EXPECT(lf_harmony_route_of(NULL, NULL) == LF_HARMONY_ROUTE_NONE, "NULL");
    TEST_END();
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf", test_shared_dir());
    lf_error err;
    g_m = lf_model_load_vocab(path, &err);
    if (!g_m) {
        SKIP("harmony parse", "%s", err.msg);
        return test_summary();
    }
    g_h = lf_harmony_new(g_m, &err);
    if (!g_h) {
        TEST_BEGIN("harmony parse: lf_harmony_new on the gpt-oss vocabulary");
        EXPECT(false, "%s", err.msg);
        TEST_END();
        lf_model_free(g_m);
        return test_summary();
    }
    test_fixtures();
    test_round_trip();
    test_text_cases();
    test_utf8_cases();
    test_bad_output();
    test_model_output();
    test_openai();
    lf_harmony_free(g_h);
    lf_model_free(g_m);
    return test_summary();
}
