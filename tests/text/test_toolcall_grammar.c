/* test_toolcall_grammar.c — lf_toolcall_grammar for every family: canned
 * calls in the family's syntax are accepted, wrong ones (another name, an
 * argument out of its schema, prose first, two calls without
 * parallel_tool_calls) rejected; and the key property, on random texts made
 * by walking each grammar (bytes; gpt-oss: tokens of its vocabulary with
 * random choices): every complete text lf_toolcall_parse reads back as
 * calls of the allowed tools, as many as allowed, no content, arguments
 * that match the tool's schema grammar. Lazy ("auto") grammars start with
 * the family's trigger and a text before it stays content. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

#define WEATHER                                                                              \
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"minLength\":1,"    \
    "\"maxLength\":12},\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7}},"        \
    "\"required\":[\"city\",\"days\"],\"additionalProperties\":false}"
/* Qwen3-Coder's raw string values are not held to minLength/maxLength */
#define WEATHER_QC                                                                           \
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":" \
    "\"integer\",\"minimum\":1,\"maximum\":7}},\"required\":[\"city\",\"days\"],"             \
    "\"additionalProperties\":false}"
#define TIME                                                                                 \
    "{\"type\":\"object\",\"properties\":{\"zone\":{\"enum\":[\"UTC\",\"CET\"]},\"exact\":{"  \
    "\"type\":\"boolean\"}},\"required\":[\"zone\"],\"additionalProperties\":false}"
#define TOOL(n, p) "{\"type\":\"function\",\"function\":{\"name\":\"" n "\",\"parameters\":" p "}}"
#define PING "{\"type\":\"function\",\"function\":{\"name\":\"ping\"}}"

static const char *const SCHEMAS[2][3][2] = {
    {{"get_weather", WEATHER}, {"get_time", TIME}, {"ping", "{\"type\":\"object\"}"}},
    {{"get_weather", WEATHER_QC}, {"get_time", TIME}, {"ping", "{\"type\":\"object\"}"}},
};

static const char ONE[] = "[" TOOL("get_weather", WEATHER) "]";
static const char TWO[] = "[" TOOL("get_weather", WEATHER) "," TOOL("get_time", TIME) "," PING "]";
static const char ONE_QC[] = "[" TOOL("get_weather", WEATHER_QC) "]";
static const char TWO_QC[] =
    "[" TOOL("get_weather", WEATHER_QC) "," TOOL("get_time", TIME) "," PING "]";

#define A "{\"city\": \"Paris\", \"days\": 3}"
#define DSB "<｜tool▁calls▁begin｜>"
#define DSE "<｜tool▁calls▁end｜>"
#define DCB "<｜tool▁call▁begin｜>"
#define DCE "<｜tool▁call▁end｜>"
#define DSEP "<｜tool▁sep｜>"
#define JC "{\"name\": \"get_weather\", \"arguments\": " A "}"
#define QC1                                                                                  \
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"            \
    "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"

/* A family (with a template that picks its variant) and canned texts: one
 * call of get_weather(city Paris, days 3), and two. */
typedef struct fam {
    lf_toolcall_format f;
    const char *tmpl;
    const char *label;
    const char *one, *two;
} fam;

static const fam FAMS[] = {
    {LF_TOOLCALL_HERMES, NULL, "hermes", "<tool_call>\n" JC "\n</tool_call>",
     "<tool_call>\n" JC "\n</tool_call>\n<tool_call>\n" JC "\n</tool_call>"},
    {LF_TOOLCALL_LLAMA3, NULL, "llama3", "{\"name\": \"get_weather\", \"parameters\": " A "}",
     "{\"name\": \"get_weather\", \"parameters\": " A "}; {\"name\": \"get_weather\", "
     "\"parameters\": " A "}"},
    {LF_TOOLCALL_GENERIC, NULL, "generic", "{\"tool_calls\": [" JC "]}",
     "{\"tool_calls\": [" JC ", " JC "]}"},
    {LF_TOOLCALL_MISTRAL, NULL, "mistral (Nemo)",
     "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " A ", \"id\": \"abc123XYZ\"}]",
     "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " A ", \"id\": \"abc123XYZ\"}, "
     "{\"name\": \"get_weather\", \"arguments\": " A ", \"id\": \"000000000\"}]"},
    {LF_TOOLCALL_MISTRAL, "{{ '[TOOL_CALLS]' + name + '[ARGS]' }}", "mistral ([ARGS])",
     "[TOOL_CALLS]get_weather[ARGS]" A, "[TOOL_CALLS]get_weather[ARGS]" A
     "[TOOL_CALLS]get_weather[ARGS]" A},
    {LF_TOOLCALL_GRANITE, NULL, "granite", "<|tool_call|>[" JC "]", "<|tool_call|>[" JC ", " JC "]"},
    {LF_TOOLCALL_DEEPSEEK, NULL, "deepseek (R1)",
     DSB DCB "function" DSEP "get_weather\n```json\n" A "\n```" DCE DSE,
     DSB DCB "function" DSEP "get_weather\n```json\n" A "\n```" DCE "\n" DCB "function" DSEP
     "get_weather\n```json\n" A "\n```" DCE DSE},
    {LF_TOOLCALL_DEEPSEEK, "V3.1", "deepseek (V3.1)", DSB DCB "get_weather" DSEP A DCE DSE,
     DSB DCB "get_weather" DSEP A DCE "\n" DCB "get_weather" DSEP A DCE DSE},
    {LF_TOOLCALL_FUNCTIONARY_V3_1, NULL, "functionary-v3.1", "<function=get_weather>" A "</function>",
     "<function=get_weather>" A "</function><function=get_weather>" A "</function>"},
    {LF_TOOLCALL_FUNCTIONARY_V3_2, NULL, "functionary-v3.2", "get_weather\n" A,
     "get_weather\n" A ">>>get_weather\n" A},
    {LF_TOOLCALL_FIREFUNCTION_V2, NULL, "firefunction-v2", "functools[" JC "]",
     "functools[" JC ", " JC "]"},
    {LF_TOOLCALL_COMMAND_R7B, NULL, "command-r7b",
     "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": " A
     "}]<|END_ACTION|>",
     "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": " A
     "}, {\"tool_call_id\": \"1\", \"tool_name\": \"get_weather\", \"parameters\": " A
     "}]<|END_ACTION|>"},
    {LF_TOOLCALL_QWEN3_CODER, NULL, "qwen3-coder", QC1, QC1 "\n" QC1},
    {LF_TOOLCALL_GPT_OSS, NULL, "gpt-oss",
     "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>" A "<|call|>",
     NULL},
};
#define N_FAMS (sizeof FAMS / sizeof *FAMS)

static const char *const TRIGGERS[LF_TOOLCALL_N_FORMATS] = {
    [LF_TOOLCALL_HERMES] = "<tool_call>",       [LF_TOOLCALL_QWEN3_CODER] = "<tool_call>",
    [LF_TOOLCALL_MISTRAL] = "[TOOL_CALLS]",      [LF_TOOLCALL_GRANITE] = "<|tool_call|>",
    [LF_TOOLCALL_DEEPSEEK] = DSB,                [LF_TOOLCALL_FUNCTIONARY_V3_1] = "<function=",
    [LF_TOOLCALL_FIREFUNCTION_V2] = "functools[", [LF_TOOLCALL_COMMAND_R7B] = "<|START_ACTION|>",
};

static lf_model *oss; /* the gpt-oss vocabulary (token references) */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static char *replace(const char *s, const char *from, const char *to) {
    const char *at = strstr(s, from);
    if (!at)
        return NULL;
    size_t n = strlen(s), a = (size_t)(at - s), k = strlen(from), t = strlen(to);
    char *r = malloc(n - k + t + 1);
    memcpy(r, s, a);
    memcpy(r + a, to, t);
    memcpy(r + a + t, at + k, n - a - k + 1);
    return r;
}

/* ---- matching a text (gpt-oss: as its tokens) ---- */

static lf_grammar *grammar_of(const lf_toolcall_gbnf *g) {
    lf_error err;
    lf_grammar *gr = lf_grammar_new(g->tokens ? oss : NULL, g->gbnf, g->root, &err);
    if (!gr)
        fprintf(stderr, "grammar: %s\n%s\n", err.msg, g->gbnf);
    return gr;
}

/* Whether the grammar lets token t come next, as the sampler sees it (the
 * whole vocabulary masked at once: a token reference to an
 * end-of-generation token such as <|call|> counts). */
static bool allowed(lf_grammar *gr, int32_t t) {
    static lf_candidate *d;
    int32_t nv = lf_model_n_vocab(oss);
    if (!d && !(d = malloc(sizeof *d * (size_t)nv)))
        return false;
    for (int32_t k = 0; k < nv; k++)
        d[k] = (lf_candidate){.id = k, .logit = 0};
    lf_candidates c = {d, nv, false, -1};
    lf_grammar_apply(gr, &c);
    for (int32_t k = 0; k < c.n; k++)
        if (c.data[k].id == t)
            return true;
    return false;
}

/* LF_GRAMMAR_REJECT / PREFIX / COMPLETE for text. */
static int check(const lf_toolcall_gbnf *g, const char *text) {
    lf_grammar *gr = grammar_of(g);
    if (!gr)
        return -1;
    int r = LF_GRAMMAR_PREFIX;
    if (!g->tokens) {
        r = lf_grammar_accept_text(gr, text, strlen(text)) ? LF_GRAMMAR_PREFIX : LF_GRAMMAR_REJECT;
    } else {
        int32_t *t;
        int64_t n = lf_tokenize_alloc(oss, text, strlen(text), &t, false, true);
        for (int64_t i = 0; i < n && r != LF_GRAMMAR_REJECT; i++) {
            if (!allowed(gr, t[i]))
                r = LF_GRAMMAR_REJECT;
            else if (lf_token_is_eog(oss, t[i])) /* (accepting it changes nothing) */
                r = i + 1 == n ? LF_GRAMMAR_COMPLETE : LF_GRAMMAR_REJECT;
            else if (!lf_grammar_accept_token(gr, t[i]))
                r = LF_GRAMMAR_REJECT;
        }
        free(t);
    }
    if (r == LF_GRAMMAR_PREFIX && lf_grammar_is_complete(gr))
        r = LF_GRAMMAR_COMPLETE;
    lf_grammar_free(gr);
    return r;
}

/* ---- the calls read back ---- */

/* Whether text parses as n_min..n_max calls of the allowed tools (only:
 * that one) with valid arguments and nothing else; why gets the reason. */
static bool calls_ok(lf_toolcall_format f, bool qc, const char *text, size_t n_min, size_t n_max,
                     const char *only, const char *content, char *why, size_t cap) {
    lf_oai_message m;
    lf_error err;
    uint64_t seed = 1;
    if (!lf_toolcall_parse(f, text, strlen(text), &seed, &m, &err)) {
        snprintf(why, cap, "parse: %.200s", err.msg);
        return false;
    }
    bool ok = m.n_tool_calls >= n_min && m.n_tool_calls <= n_max;
    if (!ok)
        snprintf(why, cap, "%zu calls, content %s", m.n_tool_calls,
                 m.content ? m.content : "(null)");
    if (ok && ((content == NULL) != (m.content == NULL) ||
               (content && strcmp(content, m.content)))) {
        snprintf(why, cap, "content %s", m.content ? m.content : "(null)");
        ok = false;
    }
    for (size_t i = 0; ok && i < m.n_tool_calls; i++) {
        const char *name = m.tool_calls[i].name, *schema = NULL;
        for (int k = 0; k < 3; k++)
            if (!strcmp(SCHEMAS[qc][k][0], name))
                schema = SCHEMAS[qc][k][1];
        if (!schema || (only && strcmp(only, name))) {
            snprintf(why, cap, "call of %s", name);
            ok = false;
            break;
        }
        char *gbnf = lf_json_schema_to_gbnf(schema, &err);
        const char *args = m.tool_calls[i].arguments;
        if (!gbnf || lf_grammar_check(gbnf, NULL, args, strlen(args), &err) != LF_GRAMMAR_COMPLETE) {
            snprintf(why, cap, "%s's arguments do not match its schema: %.200s", name, args);
            ok = false;
        }
        free(gbnf);
    }
    lf_oai_message_free(&m);
    return ok;
}

/* ---- random walks ---- */

/* Appends to *buf. */
static void append(char **buf, size_t *n, size_t *cap, const char *s, size_t k) {
    if (*n + k + 1 > *cap) {
        *cap = (*n + k + 1) * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *n, s, k);
    *n += k;
    (*buf)[*n] = 0;
}

static const char *const UNITS_EXTRA[] = {"\n", "\t", "é", "日本", "ü"};
static const char CLOSERS[] = "\"}]<>/\n,";

/* A random text of the grammar (bytes): NULL when it did not end in time;
 * *dead set when a point was reached that nothing continues. */
static char *walk_text(const lf_toolcall_gbnf *g, bool parallel, bool *dead) {
    lf_grammar *gr = grammar_of(g);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    append(&buf, &n, &cap, "", 0);
    for (int step = 0; gr && step < 4000; step++) {
        if (lf_grammar_is_complete(gr) && rnd() % 100 < (parallel ? 25u : 50u)) {
            lf_grammar_free(gr);
            return buf;
        }
        bool moved = false;
        if (n > 40 && rnd() % 100 < 60) /* lean towards closing */
            for (int t = 0; t < 3 && !moved; t++) {
                char c = CLOSERS[rnd() % (sizeof CLOSERS - 1)];
                if ((moved = lf_grammar_accept_text(gr, &c, 1)))
                    append(&buf, &n, &cap, &c, 1);
            }
        if (!moved && rnd() % 100 < 3) {
            const char *u = UNITS_EXTRA[rnd() % 5];
            if ((moved = lf_grammar_accept_text(gr, u, strlen(u))))
                append(&buf, &n, &cap, u, strlen(u));
        }
        unsigned start = rnd();
        for (unsigned k = 0; k < 95 && !moved; k++) { /* printable ASCII, from a random start */
            char c = (char)(0x20 + (start + k) % 95);
            if ((moved = lf_grammar_accept_text(gr, &c, 1)))
                append(&buf, &n, &cap, &c, 1);
        }
        for (unsigned k = 1; k < 256 && !moved; k++) { /* markers' bytes, control bytes */
            if (k >= 0x20 && k < 0x7f)
                continue;
            char c = (char)k;
            if ((moved = lf_grammar_accept_text(gr, &c, 1)))
                append(&buf, &n, &cap, &c, 1);
        }
        if (!moved) {
            if (lf_grammar_is_complete(gr)) {
                lf_grammar_free(gr);
                return buf;
            }
            *dead = true;
            fprintf(stderr, "dead end after: %s\n", buf);
            break;
        }
    }
    lf_grammar_free(gr);
    free(buf);
    return NULL;
}

/* The same over tokens (gpt-oss): random allowed tokens, leaning towards
 * quotes, closing brackets and special tokens as the text grows. */
static char *walk_tokens(const lf_toolcall_gbnf *g, bool *dead) {
    lf_grammar *gr = grammar_of(g);
    int32_t nv = lf_model_n_vocab(oss);
    lf_candidate *d = malloc(sizeof *d * (size_t)nv);
    static uint8_t *kind; /* 1: a piece starting with a quote or a closing bracket; 2: <|...|> */
    char *buf = NULL, piece[256];
    if (!kind && (kind = calloc((size_t)nv, 1)))
        for (int32_t t = 0; t < nv; t++) {
        int64_t k = lf_token_to_piece(oss, t, piece, sizeof piece, true);
        kind[t] = k > 2 && piece[0] == '<' && piece[1] == '|' ? 2
                  : k > 0 && strchr("\"}]", piece[0])    ? 1
                                                           : 0;
        }
    size_t n = 0, cap = 0;
    append(&buf, &n, &cap, "", 0);
    for (int step = 0; gr && d && kind && step < 400; step++) {
        for (int32_t t = 0; t < nv; t++)
            d[t] = (lf_candidate){.id = t, .logit = 0};
        lf_candidates c = {d, nv, false, -1};
        lf_grammar_apply(gr, &c);
        if (!c.n) {
            *dead = true;
            break;
        }
        int32_t pick = c.data[rnd() % (uint32_t)c.n].id, special = -1, closer = -1;
        for (int32_t i = 0, start = (int32_t)(rnd() % (uint32_t)c.n); i < c.n; i++) {
            int32_t t = c.data[(start + i) % c.n].id;
            if (kind[t] == 2 && special < 0)
                special = t;
            if (kind[t] == 1 && closer < 0)
                closer = t;
        }
        if (special >= 0 && rnd() % 100 < 30)
            pick = special; /* ends the analysis */
        else if (closer >= 0 && n > 30 && rnd() % 100 < 50)
            pick = closer;
        bool end = lf_token_is_eog(oss, pick);
        int64_t k = lf_token_to_piece(oss, pick, piece, sizeof piece, true);
        if (k > 0 && !(end && lf_grammar_is_complete(gr))) /* <|call|>, not a plain end */
            append(&buf, &n, &cap, piece, (size_t)k);
        if (end) {
            free(d);
            lf_grammar_free(gr);
            return buf;
        }
        lf_grammar_accept_token(gr, pick);
    }
    free(d);
    lf_grammar_free(gr);
    free(buf);
    return NULL;
}

/* ---- the tests ---- */

static bool build(const fam *fm, const char *tools, const char *only, unsigned flags,
                  lf_toolcall_gbnf *g) {
    lf_error err;
    bool ok = lf_toolcall_grammar(fm->f, fm->tmpl, tools, only, flags, g, &err);
    if (!ok)
        fprintf(stderr, "%s: %s\n", fm->label, err.msg);
    return ok;
}

static void test_canned(const fam *fm) {
    char name[128];
    snprintf(name, sizeof name, "%s: canned calls accepted, wrong ones rejected", fm->label);
    TEST_BEGIN(name);
    bool qc = fm->f == LF_TOOLCALL_QWEN3_CODER;
    lf_toolcall_gbnf one, par, named;
    bool ok = build(fm, qc ? ONE_QC : ONE, NULL, 0, &one) &&
              build(fm, qc ? TWO_QC : TWO, NULL, LF_TOOLCALL_GRAMMAR_PARALLEL, &par) &&
              build(fm, qc ? TWO_QC : TWO, "get_time", 0, &named);
    EXPECT(ok, "building the grammars failed");
    if (ok) {
        EXPECT(check(&one, fm->one) == LF_GRAMMAR_COMPLETE, "one call rejected: %s", fm->one);
        EXPECT(check(&par, fm->one) == LF_GRAMMAR_COMPLETE, "one call rejected (parallel)");
        char why[300] = "";
        EXPECT(calls_ok(fm->f, qc, fm->one, 1, 1, NULL, NULL, why, sizeof why),
               "one call does not parse back: %s", why);
        if (fm->two) {
            EXPECT(check(&par, fm->two) == LF_GRAMMAR_COMPLETE, "two calls rejected (parallel)");
            EXPECT(check(&one, fm->two) != LF_GRAMMAR_COMPLETE, "two calls accepted (not parallel)");
            EXPECT(calls_ok(fm->f, qc, fm->two, 2, 2, NULL, NULL, why, sizeof why),
                   "two calls do not parse back: %s", why);
        }
        EXPECT(check(&named, fm->one) == LF_GRAMMAR_REJECT, "a call of another tool than the named one accepted");
        char *prose = malloc(strlen(fm->one) + 8);
        sprintf(prose, "Hello %s", fm->one);
        EXPECT(check(&one, prose) == LF_GRAMMAR_REJECT, "prose before the call accepted");
        free(prose);
        char *s = replace(fm->one, "get_weather", "get_wether");
        EXPECT(s && check(&one, s) == LF_GRAMMAR_REJECT, "another name accepted");
        free(s);
        s = replace(fm->one, qc ? "\n3\n" : "\"days\": 3", qc ? "\n9\n" : "\"days\": 9");
        EXPECT(s && check(&one, s) == LF_GRAMMAR_REJECT, "days 9 (maximum 7) accepted");
        free(s);
        s = replace(fm->one, qc ? "<parameter=days>\n3\n</parameter>\n" : ", \"days\": 3", "");
        EXPECT(s && check(&one, s) != LF_GRAMMAR_COMPLETE, "a missing required argument accepted");
        free(s);
        if (!qc) {
            s = replace(fm->one, "\"Paris\"", "\"Paris is the capital\"");
            EXPECT(s && check(&one, s) == LF_GRAMMAR_REJECT, "city over maxLength accepted");
            free(s);
        } else {
            s = replace(fm->one, "\nParis\n", "\n42\n");
            EXPECT(s && check(&one, s) == LF_GRAMMAR_REJECT, "a string value that reads as JSON accepted");
            free(s);
            s = replace(fm->one, "\nParis\n", "\n42 rue de Rivoli\n");
            EXPECT(s && check(&one, s) == LF_GRAMMAR_COMPLETE, "a string value starting with a digit rejected");
            free(s);
            s = replace(fm->one, "\nParis\n", "\ntruely\n");
            EXPECT(s && check(&one, s) == LF_GRAMMAR_COMPLETE, "a string value starting with \"true\" rejected");
            free(s);
        }
    }
    if (ok) {
        lf_toolcall_gbnf_free(&one);
        lf_toolcall_gbnf_free(&par);
        lf_toolcall_gbnf_free(&named);
    }
    TEST_END();
}

static void test_walks(const fam *fm) {
    char name[128];
    snprintf(name, sizeof name, "%s: random texts of the grammar parse back as valid calls",
             fm->label);
    TEST_BEGIN(name);
    bool qc = fm->f == LF_TOOLCALL_QWEN3_CODER, tok = fm->f == LF_TOOLCALL_GPT_OSS;
    static const struct {
        int tools; /* 1: ONE, 2: TWO */
        const char *only;
        unsigned flags;
    } CFG[] = {{1, NULL, 0},
               {2, NULL, 0},
               {2, NULL, LF_TOOLCALL_GRAMMAR_PARALLEL},
               {2, "get_time", 0},
               {2, "ping", LF_TOOLCALL_GRAMMAR_PARALLEL},
               {2, NULL, LF_TOOLCALL_GRAMMAR_LAZY | LF_TOOLCALL_GRAMMAR_PARALLEL}};
    int complete = 0, tries = 0;
    for (size_t c = 0; c < sizeof CFG / sizeof *CFG; c++) {
        const char *tools = CFG[c].tools == 1 ? (qc ? ONE_QC : ONE) : (qc ? TWO_QC : TWO);
        bool parallel = CFG[c].flags & LF_TOOLCALL_GRAMMAR_PARALLEL;
        bool lazy = CFG[c].flags & LF_TOOLCALL_GRAMMAR_LAZY;
        lf_toolcall_gbnf g;
        if (!build(fm, tools, CFG[c].only, CFG[c].flags, &g)) {
            EXPECT(0, "config %zu: no grammar", c);
            continue;
        }
        if (lazy) {
            const char *t = TRIGGERS[fm->f];
            EXPECT((t == NULL) == (g.gbnf == NULL), "config %zu: a lazy grammar %s", c,
                   t ? "missing" : "where there is no marker");
            EXPECT(!t || (g.trigger && !strcmp(g.trigger, t)), "config %zu: trigger %s", c,
                   g.trigger ? g.trigger : "(null)");
            if (g.gbnf && t && !g.tokens)
                EXPECT(check(&g, t) == LF_GRAMMAR_PREFIX, "config %zu: does not start with %s", c, t);
            if (!g.gbnf)
                continue;
        } else {
            EXPECT(g.gbnf && !g.trigger, "config %zu: no grammar / a trigger", c);
        }
        for (int s = 0; s < (tok ? 3 : 6); s++) {
            bool dead = false;
            tries++;
            char *text = tok ? walk_tokens(&g, &dead) : walk_text(&g, parallel, &dead);
            EXPECT(!dead, "config %zu: the walk reached a dead end", c);
            if (!text)
                continue;
            complete++;
            char why[300] = "";
            EXPECT(calls_ok(fm->f, qc, text, 1, parallel ? 1000 : 1, CFG[c].only, NULL, why,
                            sizeof why),
                   "config %zu: %s: %.300s", c, why, text);
            if (lazy) { /* prose first is content; the calls the same */
                char *p = malloc(strlen(text) + 16);
                sprintf(p, "Sure thing. %s", text);
                EXPECT(calls_ok(fm->f, qc, p, 1, 1000, NULL, "Sure thing.", why, sizeof why),
                       "config %zu (after prose): %s: %.300s", c, why, p);
                free(p);
            }
            free(text);
        }
        lf_toolcall_gbnf_free(&g);
    }
    EXPECT(complete * 2 >= tries, "only %d of %d walks ended", complete, tries);
    TEST_END();
}

/* A prompt that opened <think>: reasoning and </think> first, and the
 * reasoning splitter leaves the calls as the content. */
static void test_think(const fam *fm) {
    char name[128];
    snprintf(name, sizeof name, "%s: after reasoning the prompt opened (THINK)", fm->label);
    TEST_BEGIN(name);
    lf_toolcall_gbnf g;
    EXPECT(build(fm, TWO, NULL, LF_TOOLCALL_GRAMMAR_THINK, &g), "no grammar");
    char *t = malloc(strlen(fm->one) + 64);
    sprintf(t, "Paris, so get_weather.</think>\n\n%s", fm->one);
    /* (models write "</think>\n\n") */
    EXPECT(g.gbnf && check(&g, t) == LF_GRAMMAR_COMPLETE, "reasoning then a call rejected");
    EXPECT(g.gbnf && check(&g, fm->one) != LF_GRAMMAR_COMPLETE, "a call without </think> accepted");
    free(t);
    for (int k = 0; g.gbnf && k < 6; k++) {
        bool dead = false;
        char *text = walk_text(&g, false, &dead), *r = NULL, *c = NULL, why[300] = "";
        EXPECT(!dead, "the walk reached a dead end");
        if (!text)
            continue;
        lf_error err;
        EXPECT(lf_reasoning_split(LF_REASONING_THINK, true, text, strlen(text), &r, &c, &err),
               "split: %s", err.msg);
        EXPECT(c && calls_ok(fm->f, false, c, 1, 1, NULL, NULL, why, sizeof why), "%s: %.300s",
               why, text);
        free(r), free(c), free(text);
    }
    lf_toolcall_gbnf_free(&g);
    EXPECT(build(fm, TWO, NULL, LF_TOOLCALL_GRAMMAR_THINK | LF_TOOLCALL_GRAMMAR_LAZY, &g) &&
               g.gbnf && check(&g, TRIGGERS[fm->f]) == LF_GRAMMAR_PREFIX,
           "lazy: from the trigger, no reasoning first");
    lf_toolcall_gbnf_free(&g);
    TEST_END();
}

static void test_errors(void) {
    TEST_BEGIN("tool grammar: unknown keyword, unwritable names, no tools left");
    lf_toolcall_gbnf g;
    lf_error err;
    const char *bad = "[" TOOL("f", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\","
                                    "\"uniqueItems\":true}}}") "]";
    EXPECT(!lf_toolcall_grammar(LF_TOOLCALL_HERMES, NULL, bad, NULL, 0, &g, &err) &&
               strstr(err.msg, "uniqueItems") && strstr(err.msg, "\"f\""),
           "unsupported keyword: %s", err.msg);
    const char *spaced = "[" TOOL("bad name", "{}") "," TOOL("good", "{}") "]";
    EXPECT(lf_toolcall_grammar(LF_TOOLCALL_MISTRAL, NULL, spaced, NULL, 0, &g, &err) && g.gbnf &&
               !strstr(g.gbnf, "bad name") && strstr(g.gbnf, "good"),
           "a name the family cannot write is left out");
    lf_toolcall_gbnf_free(&g);
    EXPECT(!lf_toolcall_grammar(LF_TOOLCALL_MISTRAL, NULL, spaced, "bad name", 0, &g, &err),
           "only an unwritable name: an error");
    EXPECT(!lf_toolcall_grammar(LF_TOOLCALL_HERMES, NULL, "{}", NULL, 0, &g, &err), "tools not an array");
    EXPECT(lf_toolcall_grammar(LF_TOOLCALL_FUNCTIONARY_V3_2, NULL, ONE, NULL, LF_TOOLCALL_GRAMMAR_LAZY,
                               &g, &err) && !g.gbnf,
           "auto without a marker: no grammar");
    TEST_END();
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf", test_shared_dir());
    lf_error err;
    oss = lf_model_load_vocab(path, &err);
    test_errors();
    for (size_t i = 0; i < N_FAMS; i++) {
        if (FAMS[i].f == LF_TOOLCALL_GPT_OSS && !oss) {
            SKIP("gpt-oss grammar", "no %s", path);
            continue;
        }
        test_canned(&FAMS[i]);
        test_walks(&FAMS[i]);
        if (FAMS[i].f == LF_TOOLCALL_DEEPSEEK || FAMS[i].f == LF_TOOLCALL_HERMES)
            test_think(&FAMS[i]);
    }
    lf_model_free(oss);
    return test_summary();
}
