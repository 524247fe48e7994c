/* grammar_vocab.c — the vocabulary as a byte trie for grammar masks: every
 * token's piece (end-of-generation tokens have none), sorted, as a trie whose
 * nodes are in preorder with the index past each subtree. Built on first use
 * and kept with the model, so every grammar on it (one per server request)
 * shares one: ~0.1-0.2 s for a 150-200k vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"
#include "sample/grammar.h"

typedef struct piece {
    const char *s;
    int64_t len;
    int32_t id;
} piece;

static int by_piece(const void *a, const void *b) {
    const piece *x = a, *y = b;
    int c = memcmp(x->s, y->s, (size_t)(x->len < y->len ? x->len : y->len));
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool load_pieces(lf_gvocab *v, const lf_model *m) {
    int32_t n = v->n_vocab;
    v->poff = lf_malloc(sizeof(int64_t) * ((size_t)n + 1));
    v->eog = lf_calloc((size_t)n, 1);
    int64_t cap = 1 << 20, len = 0;
    v->pieces = lf_malloc((size_t)cap);
    if (!v->poff || !v->eog || !v->pieces)
        return false;
    for (int32_t t = 0; t < n; t++) {
        v->poff[t] = len;
        v->eog[t] = lf_token_is_eog(m, t);
        int64_t k = lf_token_to_piece(m, t, v->pieces + len, (size_t)(cap - len), false);
        if (k < 0) {
            while (cap - len < -k)
                cap *= 2;
            char *p = lf_realloc(v->pieces, (size_t)cap);
            if (!p)
                return false;
            v->pieces = p;
            k = lf_token_to_piece(m, t, v->pieces + len, (size_t)(cap - len), false);
        }
        if (k > 0 && !v->eog[t])
            len += k;
    }
    v->poff[n] = len;
    return true;
}

static bool build_trie(lf_gvocab *v) {
    int32_t n = v->n_vocab, m = 0;
    v->sorted = lf_malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    piece *ps = lf_malloc(sizeof(piece) * (size_t)(n ? n : 1));
    if (!v->sorted || !ps) {
        free(ps);
        return false;
    }
    for (int32_t t = 0; t < n; t++)
        if (v->poff[t + 1] > v->poff[t])
            ps[m++] = (piece){v->pieces + v->poff[t], v->poff[t + 1] - v->poff[t], t};
    qsort(ps, (size_t)m, sizeof(piece), by_piece);
    for (int32_t i = 0; i < m; i++)
        v->sorted[i] = ps[i].id;
    free(ps);
    int64_t cap = 0, nodes = 0;
    for (int32_t i = 0; i < m; i++) /* an upper bound: no prefix shared */
        cap += v->poff[v->sorted[i] + 1] - v->poff[v->sorted[i]];
    if (cap > INT32_MAX / 2)
        return false;
    v->tbyte = lf_malloc((size_t)cap + 1);
    v->tdepth = lf_malloc(sizeof(uint16_t) * ((size_t)cap + 1));
    v->tskip = lf_malloc(sizeof(int32_t) * ((size_t)cap + 1));
    v->ttok = lf_malloc(sizeof(int32_t) * ((size_t)cap + 1));
    v->ttok_n = lf_calloc((size_t)cap + 1, sizeof(int32_t));
    int32_t *path = lf_malloc(sizeof(int32_t) * 65536); /* open node per depth */
    bool ok = v->tbyte && v->tdepth && v->tskip && v->ttok && v->ttok_n && path;
    int32_t depth = 0;
    const char *prev = NULL;
    int64_t prev_len = 0;
    for (int32_t i = 0; ok && i < m; i++) {
        int32_t t = v->sorted[i];
        const char *s = v->pieces + v->poff[t];
        int64_t len = v->poff[t + 1] - v->poff[t], common = 0;
        if (len > 65535)
            len = 65535; /* never in a real vocabulary */
        while (prev && common < len && common < prev_len && s[common] == prev[common])
            common++;
        while (depth > common) /* close the nodes past the shared prefix */
            v->tskip[path[--depth]] = (int32_t)nodes;
        for (; depth < len; depth++) {
            path[depth] = (int32_t)nodes;
            v->tbyte[nodes] = (uint8_t)s[depth];
            v->tdepth[nodes] = (uint16_t)(depth + 1);
            v->ttok[nodes] = -1;
            nodes++;
        }
        int32_t end = path[len - 1];
        if (v->ttok_n[end]++ == 0)
            v->ttok[end] = i;
        if (len > v->max_depth)
            v->max_depth = (int32_t)len;
        prev = s, prev_len = len;
    }
    while (ok && depth > 0)
        v->tskip[path[--depth]] = (int32_t)nodes;
    free(path);
    v->n_nodes = (int32_t)nodes;
    return ok;
}

void lf_gvocab_free(lf_gvocab *v) {
    if (!v)
        return;
    free(v->pieces);
    free(v->poff);
    free(v->eog);
    free(v->tbyte);
    free(v->tdepth);
    free(v->tskip);
    free(v->ttok);
    free(v->ttok_n);
    free(v->sorted);
    free(v);
}

const lf_gvocab *lf_gvocab_of(const lf_model *m, lf_error *err) {
    lf_gvocab **slot = &((lf_model *)m)->gvocab;
    lf_gvocab *v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (v)
        return v;
    v = lf_calloc(1, sizeof *v);
    if (!v || (v->n_vocab = lf_model_n_vocab(m), !load_pieces(v, m)) || !build_trie(v)) {
        lf_gvocab_free(v);
        lf_fail(err, "out of memory for the grammar's vocabulary trie");
        return NULL;
    }
    lf_gvocab *seen = NULL; /* two threads built it at once: keep the first */
    if (!__atomic_compare_exchange_n(slot, &seen, v, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        lf_gvocab_free(v);
        return seen;
    }
    return v;
}
