/* vocab.c — lookups on a loaded vocab. */
#include <string.h>

#include "text/vocab_impl.h"

int lf_vocab_kind(const lf_vocab *v) { return v->kind; }
const char *lf_vocab_model_name(const lf_vocab *v) { return v->model; }
const char *lf_vocab_pre_name(const lf_vocab *v) { return v->pre; }
int32_t lf_vocab_n_tokens(const lf_vocab *v) { return v->n_tokens; }
int32_t lf_vocab_bos(const lf_vocab *v) { return v->bos; }
int32_t lf_vocab_eos(const lf_vocab *v) { return v->eos; }
int32_t lf_vocab_eot(const lf_vocab *v) { return v->eot; }
int32_t lf_vocab_eom(const lf_vocab *v) { return v->eom; }
int32_t lf_vocab_unk(const lf_vocab *v) { return v->unk; }
int32_t lf_vocab_sep(const lf_vocab *v) { return v->sep; }
int32_t lf_vocab_pad(const lf_vocab *v) { return v->pad; }
int32_t lf_vocab_nl(const lf_vocab *v) { return v->nl; }
bool lf_vocab_add_bos(const lf_vocab *v) { return v->add_bos; }
bool lf_vocab_add_eos(const lf_vocab *v) { return v->add_eos; }
bool lf_vocab_add_space_prefix(const lf_vocab *v) { return v->add_space_prefix; }
bool lf_vocab_clean_spaces(const lf_vocab *v) { return v->clean_spaces; }

bool lf_vocab_is_eog(const lf_vocab *v, int32_t id) {
    int32_t lo = 0, hi = v->n_eog;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v->eog[mid] == id)
            return true;
        if (v->eog[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

int32_t lf_vocab_eog_ids(const lf_vocab *v, int32_t *out, int32_t cap) {
    for (int32_t i = 0; i < v->n_eog && i < cap; i++)
        out[i] = v->eog[i];
    return v->n_eog;
}

bool lf_vocab_is_control(const lf_vocab *v, int32_t id) {
    return lf_vocab_valid_id(v, id) && (v->attrs[id] & LF_TOKEN_ATTR_CONTROL);
}

const char *lf_vocab_token_text(const lf_vocab *v, int32_t id, size_t *len) {
    if (!lf_vocab_valid_id(v, id)) {
        *len = 0;
        return NULL;
    }
    return lf_tok_text(v, id, len);
}

float lf_vocab_token_score(const lf_vocab *v, int32_t id) {
    return lf_vocab_valid_id(v, id) ? v->scores[id] : 0.0f;
}

uint32_t lf_vocab_token_attr(const lf_vocab *v, int32_t id) {
    return lf_vocab_valid_id(v, id) ? v->attrs[id] : 0;
}

int32_t lf_vocab_find(const lf_vocab *v, const char *s, size_t len) {
    return lf_textmap_find(&v->tok_map, s, len, 0);
}
