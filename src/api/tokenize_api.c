/* tokenize_api.c — the public tokenization API over the model's vocab. */
#include <stdlib.h>

#include "base/alloc.h"
#include "model/model.h"
#include "text/vocab.h"

int32_t lf_token_bos(const lf_model *m) { return lf_vocab_bos(m->vocab); }
int32_t lf_token_eos(const lf_model *m) { return lf_vocab_eos(m->vocab); }
bool lf_token_is_eog(const lf_model *m, int32_t token) { return lf_vocab_is_eog(m->vocab, token); }
bool lf_add_bos(const lf_model *m) { return lf_vocab_add_bos(m->vocab); }

int64_t lf_tokenize(const lf_model *m, const char *text, size_t len, int32_t *out,
                    int64_t n_max, bool add_special, bool parse_special) {
    return lf_vocab_tokenize(m->vocab, text, len, add_special, parse_special, out, n_max);
}

int64_t lf_tokenize_alloc(const lf_model *m, const char *text, size_t len, int32_t **out,
                          bool add_special, bool parse_special) {
    int64_t cap = (int64_t)len + 8;
    for (int tries = 0; tries < 2; tries++) {
        int32_t *t = lf_malloc(sizeof(int32_t) * (size_t)(cap + 1));
        if (!t)
            break;
        int64_t n = lf_tokenize(m, text, len, t, cap, add_special, parse_special);
        if (n >= 0) {
            *out = t;
            return n;
        }
        free(t);
        if (n == INT64_MIN)
            break;
        cap = -n; /* the exact count needed: the second try fits */
    }
    *out = NULL;
    return -1;
}

int64_t lf_token_to_piece(const lf_model *m, int32_t token, char *buf, size_t cap,
                          bool special) {
    return lf_vocab_token_to_piece(m->vocab, token, buf, cap, special);
}

int64_t lf_detokenize(const lf_model *m, const int32_t *tokens, int64_t n, char *buf,
                      size_t cap, bool remove_special, bool unparse_special) {
    return lf_vocab_detokenize(m->vocab, tokens, n, buf, cap, remove_special, unparse_special);
}
