/* fuzz_tokenizer.c — libFuzzer target: tokenizes any bytes with real
 * vocabs from $SHARED/vocab (or ../shared/vocab), with and without special
 * tokens, detokenizes the result, and checks what must hold: ids in range,
 * the "-needed" convention, and detokenize(tokenize(x)) == x where
 * llama.cpp guarantees it. The first input byte picks the vocab. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"
#include "text/utf8.h"
#include "text/vocab.h"

static const char *const k_names[] = {"llama-spm", "llama-bpe", "gpt-oss", "qwen2",
                                      "deepseek-llm", "falcon"};
enum { N_VOCABS = sizeof k_names / sizeof k_names[0] };
static lf_vocab *g_vocab[N_VOCABS];
static int g_n;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *shared = getenv("SHARED");
    if (!shared || !*shared)
        shared = "../shared";
    for (int i = 0; i < N_VOCABS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", shared, k_names[i]);
        lf_error err;
        lf_gguf *g = lf_gguf_open(path, &err);
        lf_vocab *v = g ? lf_vocab_load(g, &err) : NULL;
        if (g)
            lf_gguf_close(g);
        if (!v) {
            fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.msg);
            continue;
        }
        g_vocab[g_n++] = v;
    }
    if (!g_n) {
        fprintf(stderr, "fuzz_tokenizer: no vocab found (set SHARED)\n");
        exit(1);
    }
    return 0;
}

static bool contains(const char *s, size_t n, const char *sub) {
    return memmem(s, n, sub, strlen(sub)) != NULL;
}

/* Whether llama.cpp's tokenizer gives the text back for this input. */
static bool round_trips(const lf_vocab *v, const char *s, size_t n, const int32_t *ids,
                        int64_t n_ids) {
    for (int64_t i = 0; i < n_ids; i++)
        if (lf_vocab_token_attr(v, ids[i]) & ~(uint32_t)(LF_TOKEN_ATTR_NORMAL | LF_TOKEN_ATTR_BYTE))
            return false; /* a special token matched */
    /* SPM keeps bad bytes, but a bad lead byte can swallow the U+2581 of
     * a following space; BPE turns them into U+FFFD */
    if (!lf_utf8_valid(s, n))
        return false;
    if (lf_vocab_kind(v) == LF_VOCAB_SPM)
        return !contains(s, n, "\xE2\x96\x81");
    /* a byte whose GPT-2 character is not a token is dropped (falcon lacks some) */
    static lf_byte_char table[256];
    if (!table[0].len)
        lf_gpt2_byte_table(table);
    for (size_t i = 0; i < n; i++) {
        const lf_byte_char *c = &table[(uint8_t)s[i]];
        if (lf_vocab_find(v, c->s, c->len) < 0)
            return false;
    }
    if (lf_vocab_clean_spaces(v))
        return !contains(s, n, " ?") && !contains(s, n, " !") && !contains(s, n, " .") &&
               !contains(s, n, " ,") && !contains(s, n, " '");
    return true;
}

static void check(const lf_vocab *v, const char *s, size_t n, bool special) {
    int64_t cap = (int64_t)n + 8;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    int64_t n_ids = lf_vocab_tokenize(v, s, n, special, special, ids, cap);
    if (n_ids < 0 && n_ids != INT64_MIN) { /* bad bytes can give 3 tokens each */
        cap = -n_ids;
        free(ids);
        ids = malloc((size_t)cap * sizeof *ids);
        n_ids = lf_vocab_tokenize(v, s, n, special, special, ids, cap);
    }
    if (n_ids < 0)
        __builtin_trap();
    if (n_ids > 1) {
        int32_t few[1];
        if (lf_vocab_tokenize(v, s, n, special, special, few, 1) != -n_ids)
            __builtin_trap();
    }
    for (int64_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= lf_vocab_n_tokens(v))
            __builtin_trap();
    size_t dcap = 4 * n + 64;
    char *d = malloc(dcap);
    int64_t dn = lf_vocab_detokenize(v, ids, n_ids, d, dcap, special, special);
    if (dn < 0) {
        dcap = (size_t)-dn;
        free(d);
        d = malloc(dcap);
        dn = lf_vocab_detokenize(v, ids, n_ids, d, dcap, special, special);
        if (dn < 0)
            __builtin_trap();
    }
    if (!special && round_trips(v, s, n, ids, n_ids) && (dn != (int64_t)n || memcmp(d, s, n)))
        __builtin_trap();
    for (int64_t i = 0; i < n_ids && i < 16; i++) {
        char piece[8];
        lf_vocab_token_to_piece(v, ids[i], piece, sizeof piece, special);
    }
    free(d);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    const lf_vocab *v = g_vocab[data[0] % g_n];
    const char *s = (const char *)data + 1;
    check(v, s, size - 1, false);
    check(v, s, size - 1, true);
    return 0;
}
