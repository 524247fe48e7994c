/* Tokenizer unit tests: special-token parsing, BOS/EOS per metadata, SPM
 * byte fallback, stories260K, detokenization rules, the special-token
 * partition order, and malformed vocab metadata (built in memory). */
#include <pthread.h>

#include "../harness.h"
#include "text_util.h"

static char g_path[1024];

static const char *vocab_path(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/vocab/ggml-vocab-%s.gguf", test_shared_dir(), name);
    return g_path;
}

static bool ids_equal(const int32_t *a, int64_t na, const int32_t *b, int64_t nb) {
    return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

#define IDS(...) ((const int32_t[]){__VA_ARGS__}), (int64_t)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

/* Tokenizes s and checks the result; returns the ids formatted on failure. */
static void expect_tokens(const lf_vocab *v, const char *s, bool add, bool parse,
                          const int32_t *want, int64_t nwant) {
    int64_t n;
    int32_t *ids = tu_tokenize(v, s, strlen(s), add, parse, &n);
    char got[256];
    tu_fmt_ids(got, sizeof got, ids, n, 20);
    EXPECT(n == nwant && (n == 0 || ids_equal(ids, n, want, nwant)), "\"%s\" add=%d parse=%d: got [%s]", s, add, parse, got);
    free(ids);
}

static void test_special_tokens(void) {
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(vocab_path("qwen2"), &g, &err);
    if (!v) {
        SKIP("special tokens (qwen2)", "%s", err.msg);
        return;
    }
    const char *chat = "<|im_start|>user\nhi<think><|im_end|>";
    TEST_BEGIN("parse_special splits <|im_start|> etc. out as single ids (qwen2)");
    expect_tokens(v, chat, false, true, IDS(151644, 872, 198, 6023, 151667, 151645));
    TEST_END();

    TEST_BEGIN("without parse_special CONTROL text is text, USER_DEFINED still matched");
    expect_tokens(v, chat, false, false,
                  IDS(27, 91, 318, 4906, 91, 29, 872, 198, 6023, 151667, 27, 91, 318, 6213, 91, 29));
    TEST_END();

    TEST_BEGIN("qwen2: add_bos_token=false, EOG ids");
    EXPECT(!lf_vocab_add_bos(v) && !lf_vocab_add_eos(v), "add_bos/add_eos set");
    expect_tokens(v, "hi", true, false, IDS(6023));
    EXPECT(lf_vocab_is_eog(v, 151645) && lf_vocab_is_eog(v, 151643), "im_end/endoftext not EOG");
    EXPECT(!lf_vocab_is_eog(v, 151644) && !lf_vocab_is_eog(v, 6023), "im_start or hi is EOG");
    TEST_END();

    TEST_BEGIN("token_to_piece: CONTROL only with special, short buffer");
    char buf[32];
    EXPECT(lf_vocab_token_to_piece(v, 151644, buf, sizeof buf, false) == 0, "control shown");
    EXPECT(lf_vocab_token_to_piece(v, 151644, buf, sizeof buf, true) == 12 &&
               !memcmp(buf, "<|im_start|>", 12), "control not shown with special");
    EXPECT(lf_vocab_token_to_piece(v, 151644, buf, 5, true) == -12, "no -needed");
    EXPECT(lf_vocab_token_to_piece(v, 151667, buf, sizeof buf, false) == 7, "user-defined hidden");
    EXPECT(lf_vocab_token_to_piece(v, 198, buf, sizeof buf, false) == 1 && buf[0] == '\n',
           "byte-level decode of \\u010a");
    EXPECT(lf_vocab_token_to_piece(v, -1, buf, sizeof buf, true) == 0 &&
               lf_vocab_token_to_piece(v, 1 << 30, buf, sizeof buf, true) == 0, "bad id");
    TEST_END();

    TEST_BEGIN("tokenize: -needed when out is too small, nothing written past it");
    int32_t out[4] = {-7, -7, -7, -7};
    EXPECT(lf_vocab_tokenize(v, chat, strlen(chat), false, true, out, 3) == -6, "not -6");
    EXPECT(out[3] == -7, "wrote past n_max");
    EXPECT(lf_vocab_tokenize(v, "", 0, true, true, out, 0) == 0, "empty text");
    TEST_END();
    lf_vocab_free(v);
    lf_gguf_close(g);
}

static void test_bos_rules(void) {
    static const struct {
        const char *name;
        bool add_bos;
        int32_t bos;
    } k[] = {
        {"llama-bpe", true, 128000}, /* no key: llama-bpe pre defaults to true */
        {"gpt-oss", false, 199998},  /* no key: gpt-4o defaults to false */
        {"llama-spm", true, 1},      /* SPM default, and the key says so */
        {"deepseek-llm", true, 100000},
        {"gpt-2", false, 50256},
    };
    TEST_BEGIN("add_bos per metadata and pre-tokenizer defaults");
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        lf_error err = {{0}};
        lf_gguf *g;
        lf_vocab *v = tu_load_vocab(vocab_path(k[i].name), &g, &err);
        EXPECT(v, "%s: %s", k[i].name, err.msg);
        if (!v)
            continue;
        EXPECT(lf_vocab_add_bos(v) == k[i].add_bos && lf_vocab_bos(v) == k[i].bos,
               "%s: add_bos %d bos %d", k[i].name, lf_vocab_add_bos(v), lf_vocab_bos(v));
        int64_t n;
        int32_t *ids = tu_tokenize(v, "hi", 2, true, false, &n);
        EXPECT(n > 0 && (ids[0] == k[i].bos) == k[i].add_bos, "%s: first id %d", k[i].name,
               n > 0 ? ids[0] : -1);
        free(ids);
        ids = tu_tokenize(v, "hi", 2, false, false, &n);
        EXPECT(n > 0 && ids[0] != k[i].bos, "%s: BOS without add_special", k[i].name);
        free(ids);
        lf_vocab_free(v);
        lf_gguf_close(g);
    }
    TEST_END();
}

static void test_spm(void) {
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(vocab_path("llama-spm"), &g, &err);
    if (!v) {
        SKIP("SPM byte fallback", "%s", err.msg);
        return;
    }
    TEST_BEGIN("SPM byte fallback for characters not in the vocab, and for bad UTF-8");
    /* U+1D538 is not a token: its four bytes become <0xF0> <0x9D> <0x94> <0xB8> */
    expect_tokens(v, "\xF0\x9D\x94\xB8 \xFF", true, false,
                  IDS(1, 29871, 0xF0 + 3, 0x9D + 3, 0x94 + 3, 0xB8 + 3, 29871, 0xFF + 3));
    int64_t n, dn;
    int32_t *ids = tu_tokenize(v, "\xF0\x9D\x94\xB8 \xFF", 6, false, false, &n);
    char *d = tu_detokenize(v, ids, n, false, false, &dn);
    EXPECT(dn == 6 && !memcmp(d, "\xF0\x9D\x94\xB8 \xFF", 6), "byte tokens do not round-trip");
    free(ids);
    free(d);
    TEST_END();

    TEST_BEGIN("SPM detokenize: leading space dropped; kept after a removed BOS (as llama.cpp)");
    ids = tu_tokenize(v, "Hello world", 11, true, false, &n);
    d = tu_detokenize(v, ids + 1, n - 1, false, false, &dn);
    EXPECT(!strcmp(d, "Hello world"), "got \"%s\"", d);
    free(d);
    d = tu_detokenize(v, ids, n, true, false, &dn);
    EXPECT(!strcmp(d, " Hello world"), "remove_special got \"%s\"", d);
    free(d);
    d = tu_detokenize(v, ids, n, false, true, &dn);
    EXPECT(!strcmp(d, "<s> Hello world"), "unparse_special got \"%s\"", d);
    free(d);
    free(ids);
    TEST_END();

    TEST_BEGIN("token_to_piece: UNKNOWN (<unk>) hidden unless special, as llama.cpp");
    char buf[16];
    EXPECT(lf_vocab_token_to_piece(v, 0, buf, sizeof buf, false) == 0, "<unk> shown");
    EXPECT(lf_vocab_token_to_piece(v, 0, buf, sizeof buf, true) == 5 && !memcmp(buf, "<unk>", 5),
           "<unk> not shown with special");
    TEST_END();
    lf_vocab_free(v);
    lf_gguf_close(g);
}

static void test_phi3_rstrip(void) {
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(vocab_path("phi-3"), &g, &err);
    if (!v) {
        SKIP("phi-3 RSTRIP", "%s", err.msg);
        return;
    }
    TEST_BEGIN("phi-3: special tokens eat the white space after them (llama.cpp's RSTRIP)");
    int64_t n1, n2, n3, n4;
    const char *spaced = "a<|assistant|> \n b";
    int32_t *a = tu_tokenize(v, spaced, strlen(spaced), false, true, &n1);
    int32_t *b = tu_tokenize(v, "a<|assistant|>b", 15, false, true, &n2);
    EXPECT(ids_equal(a, n1, b, n2) && n2 == 3 && b[1] == 32001, "white space kept");
    /* <|endoftext|> is the exception */
    int32_t *c = tu_tokenize(v, "a<|endoftext|> b", 16, false, true, &n3);
    int32_t *d = tu_tokenize(v, "a<|endoftext|>b", 15, false, true, &n4);
    EXPECT(n3 > n4 && c[1] == 32000, "white space after <|endoftext|> eaten");
    free(a), free(b), free(c), free(d);
    TEST_END();
    lf_vocab_free(v);
    lf_gguf_close(g);
}

static void test_stories(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", test_shared_dir());
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(path, &g, &err);
    if (!v) {
        SKIP("stories260K", "%s", err.msg);
        return;
    }
    TEST_BEGIN("stories260K: \"Once upon a time\"");
    EXPECT(lf_vocab_kind(v) == LF_VOCAB_SPM && lf_vocab_n_tokens(v) == 512, "kind/size");
    /* <s> ▁Once ▁upon ▁a ▁time */
    expect_tokens(v, "Once upon a time", true, false, IDS(1, 403, 407, 261, 378));
    size_t len;
    const char *t = lf_vocab_token_text(v, 403, &len);
    EXPECT(t && len == 7 && !memcmp(t, "\xE2\x96\x81Once", 7), "403 is not ▁Once");
    EXPECT(lf_vocab_eos(v) == 2 && lf_vocab_is_eog(v, 2) && lf_vocab_sep(v) == -1 &&
               lf_vocab_nl(v) == 13, "eos/sep/nl");
    TEST_END();
    lf_vocab_free(v);
    lf_gguf_close(g);
}

static void test_bpe_rules(void) {
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(vocab_path("gpt-2"), &g, &err);
    if (v) {
        TEST_BEGIN("BPE detokenize cleans up spaces (gpt-2) and decodes bad UTF-8 as U+FFFD");
        int64_t n, dn;
        int32_t *ids = tu_tokenize(v, "Hello , world 's", 16, false, false, &n);
        char *d = tu_detokenize(v, ids, n, false, false, &dn);
        EXPECT(!strcmp(d, "Hello, world's"), "got \"%s\"", d);
        free(ids);
        free(d);
        ids = tu_tokenize(v, "a\xFF\xC3", 3, false, false, &n);
        d = tu_detokenize(v, ids, n, false, false, &dn);
        EXPECT(!strcmp(d, "a\xEF\xBF\xBD\xEF\xBF\xBD"), "got \"%s\"", d);
        free(ids);
        free(d);
        TEST_END();
        lf_vocab_free(v);
        lf_gguf_close(g);
    }
    v = tu_load_vocab(vocab_path("gpt-oss"), &g, &err);
    if (v) {
        TEST_BEGIN("gpt-oss: EOG set and harmony tokens");
        int32_t eog[8];
        int32_t n = lf_vocab_eog_ids(v, eog, 8);
        EXPECT(n == 3 && eog[0] == 199999 && eog[1] == 200002 && eog[2] == 200012,
               "eog set has %d ids", n);
        expect_tokens(v, "<|start|>assistant<|channel|>final<|message|>hi<|end|>", false, false,
                      IDS(200006, 173781, 200005, 17196, 200008, 3686, 200007));
        expect_tokens(v, "hello world", false, false, IDS(24912, 2375));
        TEST_END();
        lf_vocab_free(v);
        lf_gguf_close(g);
    }
}

/* ------------------------------------------------ vocabs built in memory */

typedef struct mk {
    const char *model, *pre;
    const char *const *tokens;
    int n_tokens;
    const int32_t *types;
    const char *const *merges;
    int n_merges;
    bool scores_short;
    bool tokens_as_u32;
    int64_t bos;
} mk;

static lf_vocab *build(const mk *m, lf_error *err, void **mem, lf_gguf **g) {
    lf_gguf_writer *w = lf_gguf_writer_new();
    lf_error werr;
    if (m->model)
        lf_gguf_set_str(w, "tokenizer.ggml.model", m->model, &werr);
    if (m->pre)
        lf_gguf_set_str(w, "tokenizer.ggml.pre", m->pre, &werr);
    if (m->tokens_as_u32) {
        uint32_t x[3] = {1, 2, 3};
        lf_gguf_set_arr(w, "tokenizer.ggml.tokens", LF_GGUF_UINT32, x, 3, &werr);
    } else if (m->tokens) {
        lf_gguf_set_arr_str(w, "tokenizer.ggml.tokens", m->tokens, (uint64_t)m->n_tokens, &werr);
    }
    if (m->types)
        lf_gguf_set_arr(w, "tokenizer.ggml.token_type", LF_GGUF_INT32, m->types,
                        (uint64_t)m->n_tokens, &werr);
    if (m->scores_short) {
        float s[1] = {0};
        lf_gguf_set_arr(w, "tokenizer.ggml.scores", LF_GGUF_FLOAT32, s, 1, &werr);
    }
    if (m->merges)
        lf_gguf_set_arr_str(w, "tokenizer.ggml.merges", m->merges, (uint64_t)m->n_merges, &werr);
    if (m->bos)
        lf_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)m->bos, &werr);
    size_t size = 0;
    *mem = NULL;
    lf_gguf_writer_to_memory(w, mem, &size, &werr);
    lf_gguf_writer_free(w);
    *g = lf_gguf_open_memory(*mem, size, "mem", err);
    return *g ? lf_vocab_load(*g, err) : NULL;
}

static const char *const k_bytes_and_specials[] = {
    "a", "b", "_", "c", "ab", "b_c", "x", "Ġ", "<|s|>",
};
static const int32_t k_types[] = {1, 1, 1, 1, 4, 4, 1, 1, 3};

static void test_built(void) {
    static const char *const merges[] = {"a b"};
    mk base = {.model = "gpt2", .pre = "gpt-2", .tokens = k_bytes_and_specials, .n_tokens = 9,
               .types = k_types, .merges = merges, .n_merges = 1};
    lf_error err = {{0}};
    void *mem;
    lf_gguf *g;
    lf_vocab *v = build(&base, &err, &mem, &g);
    TEST_BEGIN("special tokens are cut longest first, not leftmost (llama.cpp order)");
    EXPECT(v, "load: %s", err.msg);
    if (v) {
        /* "b_c" (longer) is taken before "ab": a | b_c */
        expect_tokens(v, "ab_c", false, false, IDS(0, 5));
        expect_tokens(v, "ab", false, false, IDS(4));
        expect_tokens(v, "x<|s|>", false, true, IDS(6, 8));
        /* CONTROL text without parse_special: bytes; '|' and 's' are not tokens, so
         * llama.cpp drops them */
        expect_tokens(v, "<|s|>", false, false, NULL, 0);
        EXPECT(lf_vocab_bos(v) == -1 && lf_vocab_eos(v) == -1, "default BOS 11 out of range");
    }
    TEST_END();
    lf_vocab_free(v);
    lf_gguf_close(g);
    free(mem);

    static const char *const no_space[] = {"ab"};
    static const struct {
        const char *what, *msg;
        mk m;
    } bad[] = {
#define T .tokens = k_bytes_and_specials, .n_tokens = 9
        {"no tokenizer.ggml.model", "missing", {T}},
        {"unknown model", "not supported", {.model = "wordpiece2", T}},
        {"unknown pre", "not supported", {.model = "gpt2", .pre = "nope", T, .merges = merges, .n_merges = 1}},
        {"no tokens", "tokens", {.model = "llama"}},
        {"tokens not strings", "strings", {.model = "llama", .tokens_as_u32 = true}},
        {"scores too short", "scores", {.model = "llama", T, .scores_short = true}},
        {"gpt2 without merges", "merges", {.model = "gpt2", .pre = "gpt-2", T}},
        {"merge without a space", "merges",
         {.model = "gpt2", .pre = "gpt-2", T, .merges = no_space, .n_merges = 1}},
#undef T
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "malformed vocab is an error: %s", bad[i].what);
        TEST_BEGIN(name);
        err.msg[0] = 0;
        v = build(&bad[i].m, &err, &mem, &g);
        EXPECT(!v, "loaded");
        EXPECT(strstr(err.msg, bad[i].msg), "message: %s", err.msg);
        TEST_END();
        lf_vocab_free(v);
        lf_gguf_close(g);
        free(mem);
    }

    TEST_BEGIN("out-of-range special ids keep the default");
    mk m = {.model = "llama", .tokens = k_bytes_and_specials, .n_tokens = 9, .bos = 99};
    v = build(&m, &err, &mem, &g);
    EXPECT(v && lf_vocab_bos(v) == 1 && lf_vocab_eos(v) == 2, "load: %s", err.msg);
    lf_vocab_free(v);
    lf_gguf_close(g);
    free(mem);
    TEST_END();
}

typedef struct worker {
    const lf_vocab *v;
    const char *text;
    size_t len;
    const int32_t *want;
    int64_t n_want;
    bool ok;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    w->ok = true;
    for (int r = 0; r < 20 && w->ok; r++) {
        int64_t n;
        int32_t *ids = tu_tokenize(w->v, w->text, w->len, true, r & 1, &n);
        w->ok = ids_equal(ids, n, w->want, w->n_want) || (r & 1);
        free(ids);
    }
    return NULL;
}

static void test_threads(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf.inp", test_shared_dir());
    size_t len;
    char *text = tu_read_file(path, &len);
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = text ? tu_load_vocab(vocab_path("gpt-oss"), &g, &err) : NULL;
    if (!v) {
        SKIP("tokenize from several threads", "no gpt-oss vocab or .inp");
        free(text);
        return;
    }
    TEST_BEGIN("tokenize from several threads at once gives the same ids");
    int64_t n;
    int32_t *want = tu_tokenize(v, text, len, true, false, &n);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){v, text, len, want, n, false};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        EXPECT(w[i].ok, "thread %d got other ids", i);
    }
    TEST_END();
    free(want);
    free(text);
    lf_vocab_free(v);
    lf_gguf_close(g);
}

int main(void) {
    test_special_tokens();
    test_bos_rules();
    test_spm();
    test_phi3_rstrip();
    test_stories();
    test_bpe_rules();
    test_built();
    test_threads();
    return test_summary();
}
