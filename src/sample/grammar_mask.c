/* grammar_mask.c — the public lf_grammar: a matcher's current state, the
 * tokens it allows next, and accepting tokens and text.
 *
 * Which tokens may come next is one walk of the model's byte trie of the
 * vocabulary (grammar_vocab.c: built once per model and shared; nodes in
 * preorder with the index past each subtree, so a rejected prefix skips its
 * whole subtree) against the current set of
 * stacks, carrying a pending UTF-8 sequence between bytes. The result is a
 * bitset kept in a small cache keyed by the set of stacks (hash-consed, so
 * the key is a sorted list of pointers): JSON output revisits the same
 * states (inside a string, after a value) again and again. When few
 * candidates are left (the grammar stage after top-k) and the state is not
 * cached, each candidate's bytes are checked alone instead. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "sample/grammar.h"

enum {
    NCACHE = 32,
    SMALL = 512, /* candidates checked one by one below this, if not cached */
};

typedef struct centry {
    uint64_t hash;
    gnode **key;
    int32_t nkey, rem;
    uint32_t val;
    uint64_t *bits;
} centry;

struct lf_grammar {
    gcompiled g;
    gmatcher *mt;
    const lf_model *m;
    int32_t n_vocab;
    gstate cur, tmp, tmp2, walk;
    bool broken; /* a resource limit was hit: nothing is accepted any more */
    const lf_gvocab *v; /* the model's vocabulary trie, on first use */
    /* the walk's levels: level d's set is wbuf[woff[d] .. + wn[d]) */
    gnode **wbuf;
    int64_t wcap;
    int64_t *woff, *wtop;
    int32_t *wn;
    uint32_t *wval;
    int32_t *wrem;
    centry cache[NCACHE];
    int32_t evict;
    gnode **keybuf;
    int32_t keycap;
};

lf_grammar *lf_grammar_new(const lf_model *m, const char *gbnf, const char *root, lf_error *err) {
    lf_grammar *gr = lf_calloc(1, sizeof(*gr));
    if (!gr) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    gr->m = m;
    gr->n_vocab = m ? lf_model_n_vocab(m) : 0;
    if (!lf_gbnf_parse(&gr->g, m, gbnf, root, err)) {
        free(gr);
        return NULL;
    }
    gr->mt = lf_gmatcher_new(&gr->g, err);
    if (!gr->mt || !lf_gmatcher_start(gr->mt, &gr->cur)) {
        if (gr->mt)
            lf_fail(err, "gbnf: the grammar nests too deeply at its start");
        lf_grammar_free(gr);
        return NULL;
    }
    return gr;
}

void lf_grammar_free(lf_grammar *gr) {
    if (!gr)
        return;
    lf_gmatcher_free(gr->mt);
    lf_gbnf_free(&gr->g);
    lf_gstate_free(&gr->cur);
    lf_gstate_free(&gr->tmp);
    lf_gstate_free(&gr->tmp2);
    lf_gstate_free(&gr->walk);
    free(gr->wbuf);
    free(gr->woff);
    free(gr->wtop);
    free(gr->wn);
    free(gr->wval);
    free(gr->wrem);
    for (int i = 0; i < NCACHE; i++) {
        free(gr->cache[i].key);
        free(gr->cache[i].bits);
    }
    free(gr->keybuf);
    free(gr);
}

void lf_grammar_reset(lf_grammar *gr) {
    gr->broken = !lf_gmatcher_start(gr->mt, &gr->cur);
    if (gr->broken)
        gr->cur.n = 0, gr->cur.rem = 0;
}

/* A limit refuses what comes next, not what was accepted: cur is still the
 * state after the accepted text. */
bool lf_grammar_is_complete(const lf_grammar *gr) {
    return gr->cur.rem == 0 &&
           lf_gmatcher_done(gr->mt, (const gnode *const *)gr->cur.set, gr->cur.n);
}

/* The walk's per-level arrays, one level per byte of the longest piece. */
static bool alloc_walk(lf_grammar *gr, const lf_gvocab *v) {
    size_t levels = (size_t)v->max_depth + 1;
    gr->woff = lf_malloc(sizeof(int64_t) * levels);
    gr->wtop = lf_malloc(sizeof(int64_t) * levels);
    gr->wn = lf_malloc(sizeof(int32_t) * levels);
    gr->wval = lf_malloc(sizeof(uint32_t) * levels);
    gr->wrem = lf_malloc(sizeof(int32_t) * levels);
    return gr->woff && gr->wtop && gr->wn && gr->wval && gr->wrem;
}

static bool ensure_vocab(lf_grammar *gr) {
    if (gr->v)
        return true;
    lf_error err;
    const lf_gvocab *v = gr->m && gr->n_vocab > 0 ? lf_gvocab_of(gr->m, &err) : NULL;
    if (!v || !alloc_walk(gr, v))
        return gr->broken = true, false;
    gr->v = v;
    return true;
}

/* ---- the mask ---- */

static bool wreserve(lf_grammar *gr, int64_t n) {
    if (n <= gr->wcap)
        return true;
    int64_t cap = gr->wcap ? gr->wcap : 256;
    while (cap < n)
        cap *= 2;
    gnode **b = lf_realloc(gr->wbuf, sizeof(gnode *) * (size_t)cap);
    if (!b)
        return false;
    gr->wbuf = b, gr->wcap = cap;
    return true;
}

static void set_bit(uint64_t *bits, int32_t t) { bits[t >> 6] |= 1ull << (t & 63); }

/* Token-element stacks and end of generation. */
static void mask_special(lf_grammar *gr, const gstate *st, uint64_t *bits) {
    if (st->rem)
        return;
    const gcompiled *g = &gr->g;
    for (int32_t i = 0; i < st->n; i++) {
        const gnode *x = st->set[i];
        if (x->pos < 0) {
            for (int32_t t = 0; t < gr->n_vocab; t++)
                if (gr->v->eog[t])
                    set_bit(bits, t);
            continue;
        }
        gelem e = g->elems[x->pos];
        if (e.type == G_TOKEN) {
            set_bit(bits, e.v);
        } else if (e.type == G_NOT_TOKEN) {
            for (int32_t t = 0; t < gr->n_vocab; t++)
                if (t != e.v && !gr->v->eog[t])
                    set_bit(bits, t);
        }
    }
}

/* Every token whose bytes the state accepts, into bits (zeroed first). */
static bool walk(lf_grammar *gr, const gstate *st, uint64_t *bits) {
    memset(bits, 0, sizeof(uint64_t) * (((size_t)gr->n_vocab + 63) / 64));
    mask_special(gr, st, bits);
    if (!wreserve(gr, st->n + 1))
        return false;
    memcpy(gr->wbuf, st->set, sizeof(gnode *) * (size_t)st->n);
    gr->woff[0] = 0, gr->wn[0] = st->n, gr->wtop[0] = st->n;
    gr->wval[0] = st->val, gr->wrem[0] = st->rem;
    gstate *out = &gr->walk;
    for (int32_t i = 0; i < gr->v->n_nodes;) {
        int32_t d = gr->v->tdepth[i], p = d - 1;
        uint8_t b = gr->v->tbyte[i];
        const gnode *const *pset = (const gnode *const *)gr->wbuf + gr->woff[p];
        int32_t pn = gr->wn[p];
        uint32_t val = gr->wval[p];
        int32_t rem = gr->wrem[p];
        if (!lf_utf8_step(&val, &rem, b)) {
            i = gr->v->tskip[i];
            continue;
        }
        if (rem > 0) {
            if (!lf_gmatcher_partial_ok(gr->mt, pset, pn, val, rem)) {
                i = gr->v->tskip[i];
                continue;
            }
            gr->woff[d] = gr->woff[p], gr->wn[d] = pn, gr->wtop[d] = gr->wtop[p];
        } else {
            if (!lf_gmatcher_advance(gr->mt, pset, pn, val, out))
                return false;
            if (out->n == 0) {
                i = gr->v->tskip[i];
                continue;
            }
            int64_t off = gr->wtop[p];
            if (!wreserve(gr, off + out->n))
                return false;
            memcpy(gr->wbuf + off, out->set, sizeof(gnode *) * (size_t)out->n);
            gr->woff[d] = off, gr->wn[d] = out->n, gr->wtop[d] = off + out->n;
        }
        gr->wval[d] = rem ? val : 0, gr->wrem[d] = rem;
        for (int32_t k = 0; k < gr->v->ttok_n[i]; k++)
            set_bit(bits, gr->v->sorted[gr->v->ttok[i] + k]);
        i++;
    }
    return true;
}

static int by_addr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(gnode *const *)a, y = (uintptr_t)*(gnode *const *)b;
    return (x > y) - (x < y);
}

/* The cached mask of the current state, computing it on a miss when
 * compute is set; NULL when not cached (or on a limit: broken is set). */
static const uint64_t *cached_mask(lf_grammar *gr, bool compute) {
    const gstate *st = &gr->cur;
    if (gr->keycap < st->n) {
        gnode **k = lf_realloc(gr->keybuf, sizeof(gnode *) * (size_t)st->n);
        if (!k)
            return gr->broken = true, NULL;
        gr->keybuf = k, gr->keycap = st->n;
    }
    memcpy(gr->keybuf, st->set, sizeof(gnode *) * (size_t)st->n);
    qsort(gr->keybuf, (size_t)st->n, sizeof(gnode *), by_addr);
    uint64_t h = 1469598103934665603ull ^ st->val ^ ((uint64_t)st->rem << 32);
    for (int32_t i = 0; i < st->n; i++)
        h = (h ^ (uint64_t)(uintptr_t)gr->keybuf[i]) * 1099511628211ull;
    for (int i = 0; i < NCACHE; i++) {
        centry *c = &gr->cache[i];
        if (c->bits && c->hash == h && c->nkey == st->n && c->val == st->val &&
            c->rem == st->rem && !memcmp(c->key, gr->keybuf, sizeof(gnode *) * (size_t)st->n))
            return c->bits;
    }
    if (!compute)
        return NULL;
    centry *c = &gr->cache[gr->evict];
    gr->evict = (gr->evict + 1) % NCACHE;
    free(c->key);
    c->key = lf_malloc(sizeof(gnode *) * (size_t)(st->n ? st->n : 1));
    if (!c->bits)
        c->bits = lf_malloc(sizeof(uint64_t) * (((size_t)gr->n_vocab + 63) / 64));
    if (!c->key || !c->bits || !walk(gr, st, c->bits)) {
        free(c->key);
        free(c->bits);
        *c = (centry){0};
        return gr->broken = true, NULL;
    }
    memcpy(c->key, gr->keybuf, sizeof(gnode *) * (size_t)st->n);
    c->hash = h, c->nkey = st->n, c->val = st->val, c->rem = st->rem;
    return c->bits;
}

/* The state after token t's bytes from the current one, into out. */
static bool advance_bytes(lf_grammar *gr, int32_t t, gstate *out) {
    const char *s = gr->v->pieces + gr->v->poff[t];
    int64_t len = gr->v->poff[t + 1] - gr->v->poff[t];
    if (len == 0 || !lf_gstate_copy(out, &gr->cur))
        return false;
    for (int64_t i = 0; i < len; i++) {
        bool ok;
        if (!lf_gmatcher_byte(gr->mt, out, (uint8_t)s[i], &gr->tmp2, &ok)) {
            if (!ok)
                gr->broken = true;
            return false;
        }
    }
    return true;
}

static bool token_ok(lf_grammar *gr, int32_t t) {
    if (gr->v->eog[t])
        return lf_grammar_is_complete(gr);
    if (gr->cur.rem == 0) {
        if (!lf_gmatcher_advance_token(gr->mt, (const gnode *const *)gr->cur.set, gr->cur.n, t,
                                       &gr->tmp))
            return gr->broken = true, false;
        if (gr->tmp.n)
            return true;
    }
    return advance_bytes(gr, t, &gr->tmp);
}

void lf_grammar_apply(lf_grammar *gr, lf_candidates *c) {
    if (gr->broken || !ensure_vocab(gr)) {
        c->n = 0;
        return;
    }
    const uint64_t *bits = cached_mask(gr, c->n > SMALL);
    int32_t m = 0;
    if (bits) { /* every candidate written, kept ones counted: no branch */
        uint32_t nv = (uint32_t)gr->n_vocab;
        for (int32_t i = 0; i < c->n; i++) {
            uint32_t t = (uint32_t)c->data[i].id;
            c->data[m] = c->data[i];
            m += t < nv && (bits[t >> 6] >> (t & 63) & 1);
        }
        c->n = m;
        if (c->selected >= c->n)
            c->selected = -1;
        return;
    }
    for (int32_t i = 0; i < c->n && !gr->broken; i++) {
        int32_t t = c->data[i].id;
        bool ok = t >= 0 && t < gr->n_vocab &&
                  (bits ? (bits[t >> 6] >> (t & 63) & 1) : token_ok(gr, t));
        if (ok)
            c->data[m++] = c->data[i];
    }
    c->n = gr->broken ? 0 : m;
    if (c->selected >= c->n)
        c->selected = -1;
}

bool lf_grammar_accept_token(lf_grammar *gr, int32_t t) {
    if (gr->broken || t < 0 || t >= gr->n_vocab || !ensure_vocab(gr))
        return false;
    if (gr->v->eog[t])
        return lf_grammar_is_complete(gr);
    bool by_token = false;
    if (gr->cur.rem == 0) {
        if (!lf_gmatcher_advance_token(gr->mt, (const gnode *const *)gr->cur.set, gr->cur.n, t,
                                       &gr->tmp))
            return gr->broken = true, false;
        by_token = gr->tmp.n > 0;
    }
    if (by_token) { /* a token reference wins over the same text */
        gr->tmp.val = 0, gr->tmp.rem = 0;
    } else if (!advance_bytes(gr, t, &gr->tmp)) {
        return false;
    }
    gstate s = gr->cur;
    gr->cur = gr->tmp;
    gr->tmp = s;
    return true;
}

bool lf_grammar_accept_text(lf_grammar *gr, const char *text, size_t len) {
    if (gr->broken || !lf_gstate_copy(&gr->tmp, &gr->cur))
        return false;
    for (size_t i = 0; i < len; i++) {
        bool ok;
        if (!lf_gmatcher_byte(gr->mt, &gr->tmp, (uint8_t)text[i], &gr->tmp2, &ok)) {
            if (!ok)
                gr->broken = true;
            return false;
        }
    }
    gstate s = gr->cur;
    gr->cur = gr->tmp;
    gr->tmp = s;
    return true;
}

int lf_grammar_check(const char *gbnf, const char *root, const char *text, size_t len,
                     lf_error *err) {
    lf_grammar *gr = lf_grammar_new(NULL, gbnf, root, err);
    if (!gr)
        return -1;
    int r = LF_GRAMMAR_REJECT;
    if (lf_grammar_accept_text(gr, text, len))
        r = lf_grammar_is_complete(gr) ? LF_GRAMMAR_COMPLETE : LF_GRAMMAR_PREFIX;
    else if (gr->broken)
        r = lf_fail(err, "gbnf: the text nests too deeply") ? 0 : -1;
    lf_grammar_free(gr);
    return r;
}
