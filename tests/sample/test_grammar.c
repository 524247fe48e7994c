/* test_grammar.c — the GBNF engine: strings each grammar must accept,
 * accept as a prefix only, or reject; every parse error with its
 * line:column; the token mask against checking each token's text alone
 * (stories260K's vocabulary); the grammar stage in a sampler chain; and
 * generation with stories260K under tests/sample/json.gbnf, every output a
 * prefix of a match (or a whole one when generation ended).
 *
 *   test_grammar --check GBNF_FILE TEXT_FILE  prints complete/prefix/reject
 * (tests/sample/test_grammar_cli.sh checks the CLI's output with it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "../harness.h"
#include "llamafile.h"
#include "model/model.h"
#include "sample/grammar.h"

static const char *shared(void) {
    const char *s = getenv("SHARED");
    return s ? s : "../shared";
}

static char json_gbnf[8192];

static int check(const char *gbnf, const char *text) {
    lf_error err = {{0}};
    int r = lf_grammar_check(gbnf, NULL, text, strlen(text), &err);
    if (r < 0)
        printf("# %s\n", err.msg);
    return r;
}

#define C LF_GRAMMAR_COMPLETE
#define P LF_GRAMMAR_PREFIX
#define R LF_GRAMMAR_REJECT

typedef struct { const char *text; int want; } case_t;

static void run_cases(const char *name, const char *gbnf, const case_t *cs, int n) {
    TEST_BEGIN(name);
    for (int i = 0; i < n; i++) {
        int got = check(gbnf, cs[i].text);
        EXPECT(got == cs[i].want, "'%s': got %d, want %d", cs[i].text, got, cs[i].want);
    }
    TEST_END();
}

static void test_matching(void) {
    static const case_t arith[] = {
        {"1+2*3", C}, {"(1+2)*3", C}, {"((7))", C}, {"1+", P}, {"(1", P}, {"", P},
        {"1++2", R}, {")", R}, {"12*(3-40)/5", C}, {"1 + 2", R},
    };
    run_cases("arithmetic", "root ::= expr\n"
                            "expr ::= term (([-+]) term)*\n"
                            "term ::= factor ([*/] factor)*\n"
                            "factor ::= [0-9]+ | \"(\" expr \")\"\n",
              arith, sizeof arith / sizeof *arith);
    static const case_t rep[] = {
        {"ab", P}, {"abb", C}, {"abbb", C}, {"abbbb", C}, {"abbbbb", R}, {"a", P},
        {"abbx", R},
    };
    run_cases("repetition {m,n}", "root ::= \"a\" \"b\"{2,4}", rep, sizeof rep / sizeof *rep);
    static const case_t rep2[] = {{"xxx", C}, {"xx", P}, {"xxxx", R}, {"", P}};
    run_cases("repetition {m}", "root ::= \"x\"{3}", rep2, 4);
    static const case_t rep3[] = {{"xx", C}, {"x", P}, {"xxxxxxxxxxxxxxx", C}, {"xy", R}};
    run_cases("repetition {m,}", "root ::= \"x\"{2,}", rep3, 4);
    static const case_t rep4[] = {{"", C}, {"ab", C}, {"abab", C}, {"aba", P}, {"abb", R},
                                  {"ababab", R}};
    run_cases("group {0,2}", "root ::= (\"a\" \"b\"){0,2}", rep4, 6);
    static const case_t ops[] = {{"", P}, {"a", C}, {"ab", C}, {"abbb", C}, {"ac", C},
                                 {"abc", C}, {"acc", R}, {"b", R}};
    run_cases("* + ?", "root ::= \"a\"+ \"b\"* \"c\"?", ops, 8);
    static const case_t cls[] = {{"a", C}, {"z", C}, {"Q", C}, {"-", C}, {"5", R},
                                 {"\t", C}, {"]", C}, {"é", R}};
    run_cases("class ranges and escapes", "root ::= [a-zA-Z\\t\\]-]", cls, 8);
    static const case_t neg[] = {{"x", C}, {"é", C}, {"\n", R}, {"\"", R}, {"\\", R},
                                 {"世", C}, {"😀", C}};
    run_cases("negated class", "root ::= [^\\n\"\\\\]", neg, 7);
    static const case_t esc[] = {{"A\xc3\xa9\xe4\xb8\x96\xf0\x9f\x98\x80\n\r\t\\\"[]", C},
                                 {"A", P}, {"B", R}};
    run_cases("literal escapes \\x \\u \\U",
              "root ::= \"\\x41\\u00e9\\u4e16\\U0001F600\\n\\r\\t\\\\\\\"\\[\\]\"", esc, 3);
    static const case_t utf[] = {{"ж", C}, {"я", C}, {"ё", R}, {"a", R},
                                 {"\xd0", P}, /* the first byte of ж..я */
                                 {"\xd1\x8f", C}, {"\xe4", R}, {"\xff", R}};
    run_cases("UTF-8 ranges, partial bytes", "root ::= [а-я]", utf, 8);
    static const case_t bad[] = {{"\xe0\x81\xbb", R}, {"\xc1\xbb", R}, {"\xf0\x80\x81\xbb", R},
                                 {"\xed\xa0\x80", R}, {"\xf4\x90\x80\x80", R},
                                 {"\xe0\xa0\x80", C}, {"\xf4\x8f\xbf\xbf", C}, {"{", C}};
    run_cases("overlong, surrogate, too large UTF-8", "root ::= .", bad, 8);
    static const case_t dot[] = {{"aé", C}, {"a", P}, {"abc", R}, {"\n\n", C}};
    run_cases("any char", "root ::= . .", dot, 4);
    static const case_t alt[] = {{"cat", C}, {"car", C}, {"dog", C}, {"ca", P}, {"cow", R},
                                 {"", P}};
    run_cases("alternatives, comments, newlines",
              "# animals\nroot ::= \"ca\" (\"t\" | # a cat\n   \"r\") |\n  \"dog\" # or a dog\n",
              alt, 6);
    static const case_t nul[] = {{"", C}, {" ", C}, {"x", C}, {" x", C}, {"xx", R}};
    run_cases("nullable rules", "root ::= ws x?\nws ::= \" \"?\nx ::= \"x\"", nul, 5);
    static const case_t json[] = {
        {"{}", C}, {"{\"a\": 1}", C}, {"{\"a\":[1, 2.5e3, -0.5, true, null, \"x\\n\\u00e9\"]}", C},
        {"{\"a\": {\"b\": {\"c\": []}}}\n", C}, {"{\"a\"", P}, {"{\"a\": tru", P},
        {"{'a': 1}", R}, {"{\"a\": 01}", R}, {"{\"a\": \"\n\"}", R}, {"[1]", R},
        {"{\"é😀\": \"ok\"}", C}, {"{\"a\": \"\\x\"}", R}, {"{\"a\":1,}", R},
    };
    run_cases("json grammar", json_gbnf, json, sizeof json / sizeof *json);
    /* a deep right recursion and a long repetition stay linear */
    char *deep = malloc(200001);
    memset(deep, 'a', 200000);
    deep[200000] = 0;
    static const case_t none[] = {{"", P}};
    (void)none;
    TEST_BEGIN("long input, right recursion");
    EXPECT(check("root ::= \"a\" root | \"a\"", deep) == C, "200000 a's");
    EXPECT(check("root ::= [a]*", deep) == C, "200000 a's with *");
    free(deep);
    TEST_END();
    lf_error err;
    TEST_BEGIN("a limit keeps what was accepted");
    {
        /* '(' is a digit, an operator and an opening parenthesis: the
         * parses multiply until the matcher's node limit refuses a byte */
        const char *g = "root ::= expr\nexpr ::= term ([-+/] term)*\n"
                        "term ::= factor ([(/] factor)*\nfactor ::= [(-9]+ | \"(\" expr \")\"";
        char text[64] = "(1+";
        memset(text + 3, '(', 40);
        lf_grammar *gr = lf_grammar_new(NULL, g, NULL, &err);
        size_t n = 0;
        while (gr && n < 43 && lf_grammar_accept_text(gr, text + n, 1))
            n++;
        EXPECT(gr && n > 3 && n < 43, "the limit refuses a byte: %zu accepted", n);
        EXPECT(gr && lf_grammar_check(g, NULL, text, n, &err) == C, "the accepted text is whole");
        EXPECT(gr && lf_grammar_is_complete(gr), "is_complete says so after the refusal");
        EXPECT(gr && !lf_grammar_accept_text(gr, "1", 1), "nothing is accepted after the limit");
        lf_grammar_free(gr);
    }
    TEST_END();
    TEST_BEGIN("other root rule");
    EXPECT(lf_grammar_check("root ::= \"a\"\nother ::= \"b\"", "other", "b", 1, &err) == C,
           "root 'other'");
    TEST_END();
}

static void test_errors(void) {
    static const struct { const char *gbnf, *msg; } cs[] = {
        {"", "gbnf: empty grammar"},
        {"  # only a comment\n\n", "gbnf: empty grammar"},
        {"foo ::= \"a\"", "gbnf: no rule named 'root'"},
        {"root ::= foo", "gbnf:1:10: undefined rule 'foo'"},
        {"root ::= \"a\"\n  bar", "gbnf:2:6: expecting '::='"},
        {"root ::= \"abc", "gbnf:1:10: unterminated string literal"},
        {"root ::= [a-", "gbnf:1:10: unterminated character class"},
        {"root ::= \"\\q\"", "gbnf:1:11: unknown escape '\\q'"},
        {"root ::= \"\\x4\"", "gbnf:1:11: expecting 2 hex digits after \\x"},
        {"root ::= \"\\U00110000\"", "gbnf:1:11: code point U+110000 is out of range"},
        {"root ::= [z-a]", "gbnf:1:11: empty range U+7A-U+61"},
        {"root ::= (\"a\"", "gbnf:1:14: expecting ')'"},
        {"root ::= \"a\")", "gbnf:1:13: unbalanced ')'"},
        {"root ::= * \"a\"", "gbnf:1:10: '*' with nothing before it to repeat"},
        {"root ::= \"a\"{3,2}", "gbnf:1:13: repetition {3,2}: the maximum is below the minimum"},
        {"root ::= \"a\"{x}", "gbnf:1:14: expecting a number"},
        {"root ::= \"a\"{2", "gbnf:1:15: expecting '}'"},
        {"root ::= \"a\"{99999}", "gbnf:1:19: repetition count over 65536"},
        {"root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"", "gbnf:2:1: rule 'expr' is left-recursive"},
        {"root ::= a\na ::= b? a \"x\"\nb ::= \"b\"", "gbnf:2:1: rule 'a' is left-recursive"},
        {"root ::= \"a\"\nroot ::= \"b\"", "gbnf:2:1: rule 'root' is defined twice (first at 1:1)"},
        {"root ::= \"é\" $", "gbnf:1:14: unexpected '$'"},
        {"root ::= <[12]>", "gbnf:1:10: a token reference needs a model's vocabulary"},
        {"root ::= !x", "gbnf:1:10: expecting '<' after '!'"},
        {"::= \"a\"", "gbnf:1:1: expecting a rule name"},
        {"root ::= \"\xff\"", "gbnf:1:11: invalid UTF-8"},
    };
    TEST_BEGIN("parse errors with line:column");
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        lf_error err = {{0}};
        lf_grammar *g = lf_grammar_new(NULL, cs[i].gbnf, NULL, &err);
        EXPECT(!g && !strcmp(err.msg, cs[i].msg), "'%s': got '%s', want '%s'", cs[i].gbnf,
               g ? "(no error)" : err.msg, cs[i].msg);
        lf_grammar_free(g);
    }
    TEST_END();
}

/* The mask of the grammar after text, compared with each token alone. */
static void mask_vs_single(lf_model *m, const char *gbnf, const char *text, int32_t keep) {
    int32_t nv = lf_model_n_vocab(m);
    lf_error err;
    lf_grammar *g = lf_grammar_new(m, gbnf, NULL, &err);
    EXPECT(g, "%s", err.msg);
    if (!g)
        return;
    EXPECT(lf_grammar_accept_text(g, text, strlen(text)), "prefix '%s'", text);
    lf_candidate *cd = malloc(sizeof(lf_candidate) * (size_t)nv);
    for (int32_t i = 0; i < nv; i++)
        cd[i] = (lf_candidate){i, (float)(i % 7), 0};
    lf_candidates c = {cd, keep, false, -1};
    lf_grammar_apply(g, &c); /* keep > 512: the trie walk; else one by one */
    int32_t k = 0, allowed = 0;
    for (int32_t t = 0; t < keep; t++) {
        char piece[256], buf[512];
        int64_t n = lf_token_to_piece(m, t, piece, sizeof piece, false);
        bool want;
        if (lf_token_is_eog(m, t)) {
            lf_error e2;
            want = lf_grammar_check(gbnf, NULL, text, strlen(text), &e2) == C;
        } else if (n <= 0) {
            want = false;
        } else {
            size_t tl = strlen(text);
            memcpy(buf, text, tl);
            memcpy(buf + tl, piece, (size_t)n);
            lf_error e2;
            want = lf_grammar_check(gbnf, NULL, buf, tl + (size_t)n, &e2) > 0;
        }
        bool got = k < c.n && c.data[k].id == t;
        k += got;
        allowed += got;
        EXPECT(got == want, "after '%s', token %d '%.*s': got %d, want %d", text, t,
               (int)(n > 0 ? n : 0), piece, got, want);
    }
    EXPECT(k == c.n, "candidates out of order");
    printf("# after '%s': %d of %d tokens allowed\n", text, allowed, keep);
    free(cd);
    lf_grammar_free(g);
}

static void test_mask(lf_model *m) {
    TEST_BEGIN("mask equals each token checked alone (stories260K)");
    int32_t nv = lf_model_n_vocab(m);
    mask_vs_single(m, json_gbnf, "", nv);
    mask_vs_single(m, json_gbnf, "{\"na", nv);
    mask_vs_single(m, json_gbnf, "{\"a\": 1", nv);
    mask_vs_single(m, json_gbnf, "{\"a\": 1", 300);
    mask_vs_single(m, json_gbnf, "{}", nv);
    mask_vs_single(m, "root ::= [а-я]+ \"!\"", "", nv);
    mask_vs_single(m, "root ::= \" Once upon a time\" .*", " Once up", nv);
    TEST_END();
}

/* The CLI's chain: the grammar, then the default stages. */
static lf_sampler *grammar_chain(lf_model *m, const char *gbnf, uint64_t seed, lf_error *err) {
    lf_sampler_params p = lf_sampler_default_params();
    p.temp = 1.0f, p.seed = seed;
    lf_sampler *s = lf_sampler_chain_new(lf_model_n_vocab(m), err);
    if (s && (!lf_sampler_add_grammar(s, m, gbnf, NULL, err) || !lf_sampler_add_params(s, &p, err))) {
        lf_sampler_free(s);
        s = NULL;
    }
    return s;
}

static void test_generate(lf_model *m) {
    lf_error err;
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = 256;
    lf_context *ctx = lf_context_new(m, &cp, &err);
    TEST_BEGIN("generation under json.gbnf, 100 tokens x 6 seeds");
    EXPECT(ctx, "%s", err.msg);
    for (uint64_t seed = 1; ctx && seed <= 6; seed++) {
        lf_sampler *s = grammar_chain(m, json_gbnf, seed, &err);
        EXPECT(s, "%s", err.msg);
        if (!s)
            break;
        lf_kv_remove(ctx, -1, 0, -1);
        int32_t toks[2] = {lf_token_bos(m), 0}, pos = 0, seq = 0;
        int8_t want = 1;
        lf_sampler_accept(s, toks[0]); /* the prompt: not the grammar's */
        lf_batch b = {1, toks, &pos, &seq, &want};
        char out[4096];
        size_t len = 0;
        bool ended = false;
        for (int i = 0; i < 100 && lf_decode(ctx, &b, &err); i++) {
            int32_t t = lf_sampler_sample(s, lf_get_logits_ith(ctx, -1));
            EXPECT(t >= 0, "seed %d step %d: no token (%d)", (int)seed, i, t);
            if (t < 0 || lf_token_is_eog(m, t)) {
                ended = t >= 0;
                break;
            }
            int64_t k = lf_token_to_piece(m, t, out + len, sizeof out - len - 1, false);
            len += k > 0 ? (size_t)k : 0;
            lf_sampler_accept(s, t);
            toks[0] = t, pos++;
        }
        out[len] = 0;
        int r = lf_grammar_check(json_gbnf, NULL, out, len, &err);
        EXPECT(ended ? r == C : r >= P, "seed %d: %s output '%s' is %d", (int)seed,
               ended ? "ended" : "cut", out, r);
        printf("# seed %d%s: %s\n#", (int)seed, ended ? " (ended)" : "", out);
        for (int i = 0; i < 8 && out[i]; i++)
            printf(" %02x", (unsigned char)out[i]);
        printf("\n");
        lf_sampler_free(s);
    }
    TEST_END();
    TEST_BEGIN("sampler: prompt tokens ignored, reset, vocabulary check");
    lf_sampler *s = grammar_chain(m, "root ::= \" yes\" | \" no\"", 3, &err);
    EXPECT(s, "%s", err.msg);
    if (s) {
        float *logits = calloc((size_t)lf_model_n_vocab(m), sizeof(float));
        int32_t prompt[8]; /* " yes" as the prompt: the grammar must not see it */
        int64_t np = lf_tokenize(m, " yes", 4, prompt, 8, false, false);
        EXPECT(np >= 1, "tokenize");
        for (int round = 0; round < 2 && np >= 1; round++) {
            lf_sampler_accept(s, prompt[0]);
            char text[64] = "";
            for (int i = 0; i < 8; i++) {
                int32_t t = lf_sampler_sample(s, logits);
                EXPECT(t >= 0, "round %d step %d: %d", round, i, t);
                if (t < 0 || lf_token_is_eog(m, t))
                    break;
                char piece[64];
                int64_t k = lf_token_to_piece(m, t, piece, sizeof piece - 1, false);
                strncat(text, piece, (size_t)(k > 0 ? k : 0));
                lf_sampler_accept(s, t);
            }
            EXPECT(!strcmp(text, " yes") || !strcmp(text, " no"), "round %d: '%s'", round, text);
            lf_sampler_reset(s);
        }
        free(logits);
        lf_sampler_free(s);
    }
    lf_sampler *s2 = lf_sampler_chain_new(10, &err);
    EXPECT(s2 && !lf_sampler_add_grammar(s2, m, "root ::= \"a\"", NULL, &err) &&
               strstr(err.msg, "vocabulary"), "vocabulary size mismatch: %s", err.msg);
    lf_sampler_free(s2);
    TEST_END();
    lf_context_free(ctx);
}

static void test_tokens(lf_model *m) {
    TEST_BEGIN("token references");
    lf_error err;
    lf_grammar *g = lf_grammar_new(m, "root ::= <[5]> !<[5]> \"x\"?", NULL, &err);
    EXPECT(g, "%s", err.msg);
    if (g) {
        EXPECT(!lf_grammar_accept_token(g, 6), "token 6 first");
        EXPECT(lf_grammar_accept_token(g, 5), "token 5 first");
        EXPECT(!lf_grammar_accept_token(g, 5), "not 5 second");
        EXPECT(lf_grammar_accept_token(g, 7), "7 second");
        EXPECT(lf_grammar_is_complete(g), "complete");
        lf_grammar_free(g);
    }
    g = lf_grammar_new(m, "root ::= <[999999]>", NULL, &err);
    EXPECT(!g && !strcmp(err.msg, "gbnf:1:10: token 999999 is not in the vocabulary"), "%s",
           err.msg);
    g = lf_grammar_new(m, "root ::= <not a token>", NULL, &err);
    EXPECT(!g && strstr(err.msg, "is not a single token"), "%s", err.msg);
    TEST_END();
}

static int check_files(const char *gbnf_path, const char *text_path) {
    size_t n;
    char *gbnf = test_slurp(gbnf_path, NULL), *text = test_slurp(text_path, &n);
    lf_error err;
    int r = gbnf && text ? lf_grammar_check(gbnf, NULL, text, n, &err) : -1;
    puts(r == C ? "complete" : r == P ? "prefix" : r == R ? "reject" : "error");
    if (r < 0)
        fprintf(stderr, "%s\n", gbnf && text ? err.msg : "cannot read the files");
    free(gbnf);
    free(text);
    return r < 0;
}

static void *trie_of(void *m) {
    lf_error err;
    return (void *)lf_gvocab_of(m, &err);
}

/* Every grammar on a model uses the model's one trie: built once, even when
 * threads ask for it at the same moment. */
static void test_shared_trie(lf_model *m) {
    TEST_BEGIN("grammars on one model share its vocabulary trie");
    pthread_t th[4];
    void *got[4] = {0};
    for (int i = 0; i < 4; i++)
        EXPECT(pthread_create(&th[i], NULL, trie_of, m) == 0, "thread %d", i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], &got[i]);
    EXPECT(got[0] && got[0] == got[1] && got[0] == got[2] && got[0] == got[3],
           "threads got different tries");
    lf_error err;
    for (int k = 0; k < 2; k++) {
        lf_grammar *g = lf_grammar_new(m, json_gbnf, NULL, &err);
        EXPECT(g, "grammar: %s", err.msg);
        int32_t nv = lf_model_n_vocab(m);
        lf_candidate *cd = malloc(sizeof(*cd) * (size_t)nv);
        for (int32_t t = 0; cd && t < nv; t++)
            cd[t] = (lf_candidate){t, 0.0f, 0.0f};
        lf_candidates c = {cd, nv, false, -1};
        if (g && cd)
            lf_grammar_apply(g, &c);
        EXPECT(c.n > 0 && c.n < nv, "%d of %d tokens allowed", c.n, nv);
        EXPECT(m->gvocab == got[0], "grammar %d built its own trie", k);
        free(cd);
        lf_grammar_free(g);
    }
    TEST_END();
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--check"))
        return check_files(argv[2], argv[3]);
    char path[1024];
    const char *dir = getenv("TESTS");
    snprintf(path, sizeof path, "%s/sample/json.gbnf", dir ? dir : "tests");
    char *j = test_slurp(path, NULL);
    if (!j || strlen(j) >= sizeof json_gbnf) {
        printf("FAIL json.gbnf: cannot read %s\n", path);
        return 1;
    }
    strcpy(json_gbnf, j);
    free(j);
    test_matching();
    test_errors();
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", shared());
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m) {
        SKIP("grammar with a vocabulary", "%s", err.msg);
    } else {
        test_tokens(m);
        test_mask(m);
        test_generate(m);
        lf_model_free(m);
    }
    /* a vocabulary with multi-byte tokens (stories260K has none) */
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-llama-spm.gguf", shared());
    m = lf_model_load_vocab(path, &err);
    if (!m) {
        SKIP("mask on llama-spm", "%s", err.msg);
    } else {
        TEST_BEGIN("mask equals each token checked alone (llama-spm, 32k)");
        int32_t nv = lf_model_n_vocab(m);
        mask_vs_single(m, "root ::= [а-я]+ \"!\"", "", nv);
        mask_vs_single(m, "root ::= [а-я]+ \"!\"", "\xd0", nv);
        mask_vs_single(m, json_gbnf, "{\"na", nv);
        mask_vs_single(m, "root ::= \"日本\" [^a-z]*", "日", nv);
        TEST_END();
        lf_model_free(m);
    }
    m = lf_model_load_vocab(path, &err);
    if (m) {
        test_shared_trie(m);
        lf_model_free(m);
    }
    return test_summary();
}
