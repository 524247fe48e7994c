/* grammar_match.c — running the rules over text. A parse position is a
 * stack of element positions (the top one next to match, the others where
 * to continue after the rule they called). Stacks are hash-consed nodes
 * (top, parent), so equal stacks are one pointer, and what follows a node
 * is computed once and kept on it: `exp`, the stacks a rule-reference top
 * expands to (every one with a character or token on top, or `done`, the
 * empty stack), and `after`, the expanded stacks once the top matched. A
 * step over a code point is then a class test and a list append per
 * stack. A return position at the end of an alternative is never pushed
 * (a tail call), so right recursion does not grow the stack. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "sample/grammar.h"

enum {
    MAX_NODES = 1 << 20, /* ~64 MiB of stacks at most */
    MAX_EXPAND_DEPTH = 4000, /* recursion: a few MiB of stack at most, sanitizers too */
    BLOCK = 1 << 16, /* arena block, bytes */
};

struct gmatcher {
    gcompiled *g;
    gnode **table;
    uint32_t mask, count; /* table size - 1, nodes */
    char *block;          /* arena: blocks chained through their first word */
    size_t used, cap;
    gnode done;
    gnode *done_list[1];
    uint32_t stamp;
    gnode **tmp; /* expansion scratch */
    int32_t n_tmp, cap_tmp;
    int depth;
    bool failed;
};

static void *arena(gmatcher *mt, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (mt->used + n > mt->cap) {
        size_t cap = n + 16 > BLOCK ? n + 16 : BLOCK;
        char *b = lf_malloc(cap);
        if (!b) {
            mt->failed = true;
            return NULL;
        }
        *(char **)b = mt->block;
        mt->block = b, mt->used = 16, mt->cap = cap;
    }
    void *p = mt->block + mt->used;
    mt->used += n;
    return p;
}

gmatcher *lf_gmatcher_new(gcompiled *g, lf_error *err) {
    gmatcher *mt = lf_calloc(1, sizeof(*mt));
    if (mt)
        mt->table = lf_calloc(1024, sizeof(gnode *));
    if (!mt || !mt->table) {
        free(mt);
        lf_fail(err, "out of memory");
        return NULL;
    }
    mt->g = g;
    mt->mask = 1023;
    mt->done = (gnode){.pos = -1, .n_after = 0, .n_exp = 1};
    mt->done_list[0] = &mt->done;
    mt->done.exp = mt->done_list;
    return mt;
}

void lf_gmatcher_free(gmatcher *mt) {
    if (!mt)
        return;
    for (char *b = mt->block; b;) {
        char *next = *(char **)b;
        free(b);
        b = next;
    }
    free(mt->table);
    free(mt->tmp);
    free(mt);
}

const gcompiled *lf_gmatcher_grammar(const gmatcher *mt) { return mt->g; }

static uint32_t hash_node(int32_t pos, const gnode *parent) {
    uint64_t h = (uint64_t)(uint32_t)pos * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)parent;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static bool rehash(gmatcher *mt) {
    uint32_t size = (mt->mask + 1) * 2;
    gnode **t = lf_calloc(size, sizeof(gnode *));
    if (!t)
        return false;
    for (uint32_t i = 0; i <= mt->mask; i++) {
        for (gnode *n = mt->table[i], *next; n; n = next) {
            next = n->hnext;
            uint32_t h = hash_node(n->pos, n->parent) & (size - 1);
            n->hnext = t[h], t[h] = n;
        }
    }
    free(mt->table);
    mt->table = t, mt->mask = size - 1;
    return true;
}

static gnode *intern(gmatcher *mt, int32_t pos, gnode *parent) {
    uint32_t h = hash_node(pos, parent) & mt->mask;
    for (gnode *n = mt->table[h]; n; n = n->hnext)
        if (n->pos == pos && n->parent == parent)
            return n;
    if (mt->count >= MAX_NODES || (mt->count > mt->mask && !rehash(mt))) {
        mt->failed = true;
        return NULL;
    }
    gnode *n = arena(mt, sizeof(gnode));
    if (!n)
        return NULL;
    *n = (gnode){.pos = pos, .parent = parent, .n_after = -1, .n_exp = -1};
    h = hash_node(pos, parent) & mt->mask;
    n->hnext = mt->table[h], mt->table[h] = n;
    mt->count++;
    return n;
}

/* The stack with pos on top over parent; pos at the end of an alternative
 * returns to parent (NULL: the empty stack). *ok false on a limit. */
static gnode *mk(gmatcher *mt, int32_t pos, gnode *parent, bool *ok) {
    if (mt->g->elems[pos].type == G_END)
        return parent;
    gnode *n = intern(mt, pos, parent);
    *ok = n != NULL;
    return n;
}

static bool tmp_push(gmatcher *mt, gnode *n) {
    if (mt->n_tmp == mt->cap_tmp) {
        int32_t cap = mt->cap_tmp ? mt->cap_tmp * 2 : 256;
        gnode **t = lf_realloc(mt->tmp, sizeof(gnode *) * (size_t)cap);
        if (!t)
            return mt->failed = true, false;
        mt->tmp = t, mt->cap_tmp = cap;
    }
    mt->tmp[mt->n_tmp++] = n;
    return true;
}

static int by_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(gnode *const *)a, y = (uintptr_t)*(gnode *const *)b;
    return (x > y) - (x < y);
}

/* x's expansion (x NULL: the empty stack): computed once, kept on x. */
static bool expand(gmatcher *mt, gnode *x, gnode ***out, int32_t *n) {
    if (!x)
        x = &mt->done;
    if (x->n_exp >= 0) {
        *out = x->exp, *n = x->n_exp;
        return true;
    }
    const gcompiled *g = mt->g;
    gelem e = g->elems[x->pos];
    if (e.type != G_REF) { /* a character or token on top: itself */
        gnode **self = arena(mt, sizeof(gnode *));
        if (!self)
            return false;
        self[0] = x;
        x->exp = self, x->n_exp = 1;
        *out = x->exp, *n = 1;
        return true;
    }
    if (++mt->depth > MAX_EXPAND_DEPTH) {
        mt->depth--;
        return mt->failed = true, false;
    }
    bool ok = true;
    int32_t base = mt->n_tmp;
    gnode *ret = mk(mt, x->pos + 1, x->parent, &ok);
    const grule *r = &g->rules[e.v];
    for (int32_t a = 0; ok && a < r->n_alts; a++) {
        gnode *child = mk(mt, g->alts[r->first_alt + a], ret, &ok), **sub;
        int32_t ns;
        ok = ok && expand(mt, child, &sub, &ns);
        for (int32_t i = 0; ok && i < ns; i++)
            ok = tmp_push(mt, sub[i]);
    }
    mt->depth--;
    if (!ok) {
        mt->n_tmp = base;
        return false;
    }
    int32_t k = mt->n_tmp - base, m = 0;
    qsort(mt->tmp + base, (size_t)k, sizeof(gnode *), by_ptr);
    for (int32_t i = 0; i < k; i++)
        if (!m || mt->tmp[base + i] != mt->tmp[base + m - 1])
            mt->tmp[base + m++] = mt->tmp[base + i];
    gnode **list = arena(mt, sizeof(gnode *) * (size_t)(m ? m : 1));
    if (list)
        memcpy(list, mt->tmp + base, sizeof(gnode *) * (size_t)m);
    mt->n_tmp = base;
    if (!list)
        return false;
    x->exp = list, x->n_exp = m;
    *out = list, *n = m;
    return true;
}

static bool after(gmatcher *mt, gnode *x) {
    if (x->n_after >= 0)
        return true;
    bool ok = true;
    gnode *a = mk(mt, x->pos + 1, x->parent, &ok);
    return ok && expand(mt, a, &x->after, &x->n_after);
}

static bool push(gstate *s, gnode *n) {
    if (s->n == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 16;
        gnode **t = lf_realloc(s->set, sizeof(gnode *) * (size_t)cap);
        if (!t)
            return false;
        s->set = t, s->cap = cap;
    }
    s->set[s->n++] = n;
    return true;
}

/* Appends x's after-list to out, skipping stacks already there. */
static bool add_after(gmatcher *mt, gnode *x, gstate *out) {
    if (!after(mt, x))
        return false;
    for (int32_t i = 0; i < x->n_after; i++) {
        gnode *y = x->after[i];
        if (y->mark != mt->stamp) {
            y->mark = mt->stamp;
            if (!push(out, y))
                return mt->failed = true, false;
        }
    }
    return true;
}

bool lf_gmatcher_start(gmatcher *mt, gstate *out) {
    const gcompiled *g = mt->g;
    const grule *r = &g->rules[g->root];
    out->n = 0, out->val = 0, out->rem = 0;
    mt->stamp++;
    for (int32_t a = 0; a < r->n_alts; a++) {
        bool ok = true;
        gnode *child = mk(mt, g->alts[r->first_alt + a], NULL, &ok), **sub;
        int32_t ns;
        if (!ok || !expand(mt, child, &sub, &ns))
            return false;
        for (int32_t i = 0; i < ns; i++) {
            if (sub[i]->mark != mt->stamp) {
                sub[i]->mark = mt->stamp;
                if (!push(out, sub[i]))
                    return false;
            }
        }
    }
    return true;
}

/* Whether the element on top of a stack takes code point v (by_token:
 * token id v). */
static bool takes(const gcompiled *g, gelem e, bool by_token, uint32_t v) {
    if (by_token)
        return (e.type == G_TOKEN && e.v == (int32_t)v) ||
               (e.type == G_NOT_TOKEN && e.v != (int32_t)v);
    return e.type == G_CHAR && lf_gclass_match(g, &g->classes[e.v], v);
}

/* The stacks after each of in[] whose top takes v, expanded, into out. */
static bool advance(gmatcher *mt, const gnode *const *in, int32_t n, bool by_token, uint32_t v,
                    gstate *out) {
    out->n = 0;
    mt->stamp++;
    for (int32_t i = 0; i < n; i++) {
        gnode *x = (gnode *)in[i];
        if (x->pos >= 0 && takes(mt->g, mt->g->elems[x->pos], by_token, v) &&
            !add_after(mt, x, out))
            return false;
    }
    return true;
}

bool lf_gmatcher_advance(gmatcher *mt, const gnode *const *in, int32_t n, uint32_t cp,
                         gstate *out) {
    return advance(mt, in, n, false, cp, out);
}

bool lf_gmatcher_advance_token(gmatcher *mt, const gnode *const *in, int32_t n, int32_t id,
                               gstate *out) {
    return advance(mt, in, n, true, (uint32_t)id, out);
}

/* The code points a pending sequence can still become, or false when none
 * (overlong forms, surrogates and values past U+10FFFF are never valid). */
static bool pending_range(uint32_t val, int32_t rem, uint32_t *lo, uint32_t *hi) {
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t len = val >> 24, bits = val & 0xffffff;
    *lo = bits << (6 * rem), *hi = *lo | ((1u << (6 * rem)) - 1);
    if (*lo < min[len & 3 ? len : 4])
        *lo = min[len & 3 ? len : 4];
    if (*hi > 0x10ffff)
        *hi = 0x10ffff;
    if (*lo >= 0xd800 && *hi <= 0xdfff)
        return false;
    return *lo <= *hi;
}

bool lf_utf8_step(uint32_t *val, int32_t *rem, uint8_t b) {
    if (*rem == 0) {
        if (b < 0x80)
            *val = b, *rem = 0;
        else if (b >= 0xc2 && b < 0xe0)
            *val = 2u << 24 | (b & 31u), *rem = 1;
        else if (b >= 0xe0 && b < 0xf0)
            *val = 3u << 24 | (b & 15u), *rem = 2;
        else if (b >= 0xf0 && b < 0xf5)
            *val = 4u << 24 | (b & 7u), *rem = 3;
        else
            return false;
        return true;
    }
    if ((b & 0xc0) != 0x80)
        return false;
    uint32_t v = (*val & 0xff000000u) | ((*val & 0xffffff) << 6 | (b & 63u)), lo, hi;
    int32_t r = *rem - 1;
    if (!pending_range(v, r, &lo, &hi))
        return false;
    *val = r ? v : v & 0xffffff, *rem = r;
    return true;
}

bool lf_gmatcher_partial_ok(gmatcher *mt, const gnode *const *set, int32_t n, uint32_t val,
                            int32_t rem) {
    const gcompiled *g = mt->g;
    uint32_t lo, hi;
    if (!pending_range(val, rem, &lo, &hi))
        return false;
    for (int32_t i = 0; i < n; i++) {
        if (set[i]->pos < 0)
            continue;
        gelem e = g->elems[set[i]->pos];
        if (e.type == G_CHAR && lf_gclass_may_match(g, &g->classes[e.v], lo, hi))
            return true;
    }
    return false;
}

bool lf_gmatcher_byte(gmatcher *mt, gstate *st, uint8_t b, gstate *tmp, bool *ok) {
    *ok = true;
    uint32_t val = st->val;
    int32_t rem = st->rem;
    if (!lf_utf8_step(&val, &rem, b))
        return false;
    if (rem > 0) {
        if (!lf_gmatcher_partial_ok(mt, (const gnode *const *)st->set, st->n, val, rem))
            return false;
        st->val = val, st->rem = rem;
        return true;
    }
    if (!lf_gmatcher_advance(mt, (const gnode *const *)st->set, st->n, val, tmp)) {
        *ok = false;
        return false;
    }
    if (tmp->n == 0)
        return false;
    gstate t = *st;
    st->set = tmp->set, st->n = tmp->n, st->cap = tmp->cap;
    tmp->set = t.set, tmp->n = 0, tmp->cap = t.cap;
    st->val = 0, st->rem = 0;
    return true;
}

bool lf_gmatcher_done(const gmatcher *mt, const gnode *const *set, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (set[i] == &mt->done)
            return true;
    return false;
}

bool lf_gstate_copy(gstate *dst, const gstate *src) {
    if (dst->cap < src->n) {
        gnode **t = lf_realloc(dst->set, sizeof(gnode *) * (size_t)(src->n + 1));
        if (!t)
            return false;
        dst->set = t, dst->cap = src->n + 1;
    }
    if (src->n)
        memcpy(dst->set, src->set, sizeof(gnode *) * (size_t)src->n);
    dst->n = src->n, dst->val = src->val, dst->rem = src->rem;
    return true;
}

void lf_gstate_free(gstate *s) {
    free(s->set);
    memset(s, 0, sizeof(*s));
}
