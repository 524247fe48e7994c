/* test_detok_stream.c — lf_detok: token pieces out as complete UTF-8, the
 * same bytes lf_detokenize gives for the whole sequence. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

static lf_model *load(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/%s", test_shared_dir(), name);
    lf_error err;
    return lf_model_load_vocab(path, &err);
}

/* Everything pushed out for tokens, then the flush, into out (cap 1<<16). */
static size_t stream(lf_detok *d, const int32_t *toks, int n, char *out, int64_t *per_push) {
    size_t len = 0;
    lf_error err;
    const char *t;
    for (int i = 0; i < n; i++) {
        int64_t k = lf_detok_push(d, toks[i], &t, &err);
        if (per_push)
            per_push[i] = k;
        if (k > 0 && len + (size_t)k < (1 << 16))
            memcpy(out + len, t, (size_t)k), len += (size_t)k;
    }
    int64_t k = lf_detok_flush(d, &t);
    if (per_push)
        per_push[n] = k;
    if (k > 0)
        memcpy(out + len, t, (size_t)k), len += (size_t)k;
    return len;
}

/* "€" (E2 82 AC) as three SPM byte tokens: nothing comes out until the
 * third; an incomplete one is flushed as U+FFFD. */
static void test_split_char(lf_model *m) {
    int32_t e2 = 3 + 0xE2, x82 = 3 + 0x82, xac = 3 + 0xAC; /* <0x00> is id 3 */
    char piece[16];
    TEST_BEGIN("detok: a character split over three byte tokens is held until whole");
    EXPECT(lf_token_to_piece(m, e2, piece, sizeof piece, false) == 1 &&
               (uint8_t)piece[0] == 0xE2, "id %d is not <0xE2>", e2);
    lf_error err;
    lf_detok *d = lf_detok_new(m, false, true, &err);
    char out[1 << 16];
    int64_t k[8];
    size_t n = stream(d, (int32_t[]){e2, x82, xac}, 3, out, k);
    EXPECT(k[0] == 0 && k[1] == 0 && k[2] == 3 && k[3] == 0, "pushes gave %lld %lld %lld %lld",
           (long long)k[0], (long long)k[1], (long long)k[2], (long long)k[3]);
    EXPECT(n == 3 && memcmp(out, "\xE2\x82\xAC", 3) == 0, "got %zu bytes", n);
    TEST_END();

    TEST_BEGIN("detok: two of three bytes then the end: U+FFFD");
    lf_detok_reset(d);
    n = stream(d, (int32_t[]){e2, x82}, 2, out, k);
    EXPECT(k[0] == 0 && k[1] == 0 && k[2] == 3, "pushes gave %lld %lld, flush %lld",
           (long long)k[0], (long long)k[1], (long long)k[2]);
    EXPECT(n == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0, "got %zu bytes", n);
    TEST_END();

    TEST_BEGIN("detok: bytes that can never complete pass through at once");
    lf_detok_reset(d);
    int32_t x = 3 + 'x';
    /* stray continuation; lead then non-continuation; E0 80 (overlong) */
    n = stream(d, (int32_t[]){x82, e2, x, 3 + 0xE0, x82, x}, 6, out, k);
    EXPECT(k[0] == 1 && k[1] == 0 && k[2] == 2 && k[3] == 0 && k[4] == 2 && k[5] == 1 &&
               k[6] == 0, "pushes gave %lld %lld %lld %lld %lld %lld %lld", (long long)k[0],
           (long long)k[1], (long long)k[2], (long long)k[3], (long long)k[4], (long long)k[5],
           (long long)k[6]);
    EXPECT(n == 6 && memcmp(out, "\x82\xE2x\xE0\x82x", 6) == 0, "got %zu bytes", n);
    TEST_END();
    lf_detok_free(d);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Whether s[0, n) is a lead byte and fewer continuation bytes than it needs. */
static bool incomplete_char(const uint8_t *s, size_t n) {
    if (n == 0 || n > 3)
        return false;
    size_t need = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return false;
    return n < need;
}

/* Whether s[0, n) ends with an unambiguous start of a character that is
 * not complete: C2..DF alone, or E1..EC / EE / EF with at most one
 * continuation byte; text ending so, with nothing after it, must be held. */
static bool ends_unfinished(const uint8_t *s, size_t n) {
    if (n >= 1 && s[n - 1] >= 0xC2 && s[n - 1] <= 0xEF && s[n - 1] != 0xE0 && s[n - 1] != 0xED)
        return true;
    return n >= 2 && (s[n - 1] & 0xC0) == 0x80 && s[n - 2] >= 0xE1 && s[n - 2] <= 0xEF &&
           s[n - 2] != 0xED;
}

/* Random sequences (many byte tokens among them): after every push, the
 * text so far is lf_detokenize of the tokens so far less an incomplete
 * character at most; push + flush gives all of it (that character as
 * U+FFFD). */
static void test_property(lf_model *m, const char *name, int32_t lo, int32_t hi) {
    char title[128];
    snprintf(title, sizeof title, "detok: %s, 3000 random sequences match lf_detokenize", name);
    TEST_BEGIN(title);
    lf_error err;
    lf_detok *d = lf_detok_new(m, false, true, &err);
    static char got[1 << 16], want[1 << 16];
    int32_t nv = lf_model_n_vocab(m);
    for (int iter = 0; iter < 3000 && !t_in_failed; iter++) {
        lf_detok_reset(d);
        int32_t toks[24];
        int n = 1 + (int)(rnd() % 24);
        for (int i = 0; i < n; i++)
            toks[i] = rnd() % 2 ? lo + (int32_t)(rnd() % (uint32_t)(hi - lo)) : (int32_t)(rnd() % (uint32_t)nv);
        size_t len = 0;
        for (int i = 0; i < n && !t_in_failed; i++) {
            const char *t;
            int64_t k = lf_detok_push(d, toks[i], &t, &err);
            memcpy(got + len, t, (size_t)k), len += (size_t)k;
            int64_t w = lf_detokenize(m, toks, i + 1, want, sizeof want, false, false);
            EXPECT(w >= (int64_t)len && memcmp(got, want, len) == 0 &&
                       (w == (int64_t)len ||
                        incomplete_char((const uint8_t *)want + len, (size_t)w - len)),
                   "iter %d token %d: %zu bytes out, %lld in lf_detokenize", iter, i, len,
                   (long long)w);
            EXPECT(w != (int64_t)len || !ends_unfinished((const uint8_t *)got, len),
                   "iter %d token %d: an unfinished character was emitted (%02x %02x %02x)", iter, i, len > 2 ? (uint8_t)got[len - 3] : 0, len > 1 ? (uint8_t)got[len - 2] : 0, len ? (uint8_t)got[len - 1] : 0);
        }
        int64_t w = lf_detokenize(m, toks, n, want, sizeof want, false, false);
        const char *t;
        int64_t k = lf_detok_flush(d, &t);
        EXPECT(k == (w == (int64_t)len ? 0 : 3) && (k == 0 || memcmp(t, "\xEF\xBF\xBD", 3) == 0),
               "iter %d: flush gave %lld", iter, (long long)k);
    }
    lf_detok_free(d);
    TEST_END();
}

/* The longest piece of the vocab (over 256 bytes) comes out whole. */
static void test_long_piece(lf_model *m) {
    TEST_BEGIN("detok: a 512-byte piece comes out whole");
    int32_t best = -1;
    int64_t best_len = 0;
    for (int32_t i = 0; i < lf_model_n_vocab(m); i++) {
        char c;
        int64_t n = lf_token_to_piece(m, i, &c, 0, false);
        if (-n > best_len)
            best_len = -n, best = i;
    }
    EXPECT(best_len > 256, "the longest piece is %lld bytes", (long long)best_len);
    char *want = malloc((size_t)best_len);
    lf_token_to_piece(m, best, want, (size_t)best_len, false);
    lf_error err;
    lf_detok *d = lf_detok_new(m, false, false, &err);
    const char *t;
    int64_t k = lf_detok_push(d, 0, &t, &err); /* some short piece first */
    int64_t k2 = lf_detok_push(d, best, &t, &err);
    EXPECT(k >= 0 && k2 == best_len && memcmp(t, want, (size_t)best_len) == 0,
           "token %d: %lld bytes out of %lld", best, (long long)k2, (long long)best_len);
    lf_detok_free(d);
    free(want);
    TEST_END();
}

/* strip_space drops the first piece's leading space only (SPM). */
static void test_space(lf_model *m) {
    TEST_BEGIN("detok: strip_space drops the first token's leading space, only it");
    int32_t *toks;
    int64_t n = lf_tokenize_alloc(m, "Hello world", 11, &toks, false, false);
    lf_error err;
    char out[1 << 16];
    lf_detok *d = lf_detok_new(m, false, true, &err);
    size_t len = stream(d, toks, (int)n, out, NULL);
    EXPECT(len == 11 && memcmp(out, "Hello world", 11) == 0, "got '%.*s'", (int)len, out);
    lf_detok_free(d);
    d = lf_detok_new(m, false, false, &err);
    len = stream(d, toks, (int)n, out, NULL);
    EXPECT(len == 12 && memcmp(out, " Hello world", 12) == 0, "kept: got '%.*s'", (int)len, out);
    lf_detok_free(d);
    free(toks);
    TEST_END();
}

int main(void) {
    lf_model *spm = load("ggml-vocab-llama-spm.gguf");
    lf_model *qwen = load("ggml-vocab-qwen2.gguf");
    lf_model *neox = load("ggml-vocab-gpt-neox.gguf");
    if (spm) {
        test_split_char(spm);
        test_space(spm);
        test_property(spm, "llama-spm", 3, 259);
    } else {
        SKIP("detok: SPM cases", "no ggml-vocab-llama-spm.gguf in %s/vocab", test_shared_dir());
    }
    if (qwen) /* byte-level BPE: the first 256 ids hold single-byte pieces */
        test_property(qwen, "qwen2", 0, 256);
    else
        SKIP("detok: qwen2", "no ggml-vocab-qwen2.gguf in %s/vocab", test_shared_dir());
    if (neox)
        test_long_piece(neox);
    else
        SKIP("detok: long piece", "no ggml-vocab-gpt-neox.gguf in %s/vocab", test_shared_dir());
    lf_model_free(spm);
    lf_model_free(qwen);
    lf_model_free(neox);
    return test_summary();
}
