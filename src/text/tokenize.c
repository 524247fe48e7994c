/* tokenize.c — the tokenize entry point: special-token partitioning, then
 * SPM or BPE per raw fragment, with BOS/EOS as the vocab asks. */
#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "text/vocab_impl.h"

bool lf_bytebuf_reserve(lf_bytebuf *b, size_t cap) {
    if (cap <= b->cap)
        return true;
    size_t n = b->cap ? b->cap : 256;
    while (n < cap)
        n *= 2;
    char *p = lf_realloc(b->p, n);
    if (!p)
        return false;
    b->p = p, b->cap = n;
    return true;
}

static void scratch_free(lf_tok_scratch *s) {
    free(s->a.p);
    free(s->b.p);
    free(s->word.p);
    free(s->syms.v);
    free(s->heap.v);
    lf_pretok_state_free(s->pre);
}

static bool tokenize_fragments(const lf_vocab *v, lf_tok_scratch *s, const char *text,
                               const lf_fragments *frags, bool add_special, lf_tokbuf *out) {
    bool spm = v->kind == LF_VOCAB_SPM;
    bool prev_special = true; /* SPM: a space prefix goes before the first text */
    if (add_special && v->add_bos && v->bos >= 0)
        lf_tokbuf_push(out, v->bos);
    for (size_t i = 0; i < frags->n; i++) {
        const lf_fragment *f = &frags->v[i];
        if (f->token >= 0) {
            lf_tokbuf_push(out, f->token);
            prev_special = true;
            continue;
        }
        if (f->len > UINT32_MAX / 4)
            return false; /* symbol offsets are 32-bit */
        bool ok = spm ? lf_spm_tokenize(v, s, text + f->off, f->len,
                                        v->add_space_prefix && prev_special, out)
                      : lf_bpe_tokenize(v, s, text + f->off, f->len, out);
        if (!ok)
            return false;
        prev_special = false;
    }
    if (add_special && v->add_eos && v->eos >= 0)
        lf_tokbuf_push(out, v->eos);
    return !out->oom;
}

/* The tokenize calls' result: the count copied to out, -count when out
 * is too small, INT64_MIN on failure; frees toks. */
static int64_t hand_out(bool ok, lf_tokbuf *toks, int32_t *out, int64_t n_max) {
    int64_t n = (int64_t)toks->n;
    if (!ok)
        n = INT64_MIN;
    else if (n > n_max)
        n = -n;
    else if (n > 0)
        memcpy(out, toks->v, (size_t)n * sizeof *out);
    free(toks->v);
    return n;
}

int64_t lf_vocab_tokenize(const lf_vocab *v, const char *text, size_t len, bool add_special,
                          bool parse_special, int32_t *out, int64_t n_max) {
    if (!text)
        len = 0;
    lf_fragments frags = {0};
    lf_tokbuf toks = {0};
    lf_tok_scratch s = {0};
    bool ok = lf_vocab_partition(v, text, len, parse_special, &frags) &&
              tokenize_fragments(v, &s, text, &frags, add_special, &toks);
    scratch_free(&s);
    free(frags.v);
    return hand_out(ok, &toks, out, n_max);
}

int64_t lf_vocab_tokenize_plain(const lf_vocab *v, const char *text, size_t len, int32_t *out,
                                int64_t n_max) {
    if (!text)
        len = 0;
    lf_fragment one = {-1, 0, len};
    lf_fragments frags = {&one, len ? 1 : 0, 1};
    lf_tokbuf toks = {0};
    lf_tok_scratch s = {0};
    bool ok = tokenize_fragments(v, &s, text, &frags, false, &toks);
    scratch_free(&s);
    return hand_out(ok, &toks, out, n_max);
}
