/* symbols.h — the symbol list and bigram queue shared by the SPM and BPE
 * merge loops (both are llama.cpp's: a doubly linked list of symbols over
 * the text, and a priority queue of adjacent pairs that may merge). */
#ifndef LF_TEXT_SYMBOLS_H
#define LF_TEXT_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "text/utf8.h"

typedef struct lf_sym {
    int32_t prev, next;
    uint32_t off, n; /* bytes of the text; n == 0 once merged away */
} lf_sym;

/* A candidate merge of symbol `left` with the one after it, which together
 * had `size` bytes when it was queued. order = key << 32 | left: lower key
 * first (SPM: the score, flipped; BPE: the rank), then the leftmost. */
typedef struct lf_bigram {
    uint64_t order;
    uint32_t size;
} lf_bigram;

typedef struct lf_heap {
    lf_bigram *v;
    size_t n, cap;
} lf_heap;

static inline uint64_t lf_bigram_order(uint32_t key, int32_t left) {
    return (uint64_t)key << 32 | (uint32_t)left;
}

static inline int32_t lf_bigram_left(const lf_bigram *b) {
    return (int32_t)(uint32_t)b->order;
}

/* Adds b without restoring the heap order (see lf_heap_build). */
static inline bool lf_heap_append(lf_heap *h, lf_bigram b) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        lf_bigram *p = (lf_bigram *)realloc(h->v, cap * sizeof *p);
        if (!p)
            return false;
        h->v = p, h->cap = cap;
    }
    h->v[h->n++] = b;
    return true;
}

/* A 4-ary heap: half the depth of a binary one, and the four children
 * of a node sit together in memory. */
static inline void lf_heap_sift_down(lf_heap *h, size_t i) {
    lf_bigram x = h->v[i];
    size_t n = h->n;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n)
            break;
        size_t end = c + 4 < n ? c + 4 : n, best = c;
        for (size_t k = c + 1; k < end; k++)
            if (h->v[k].order < h->v[best].order)
                best = k;
        if (h->v[best].order >= x.order)
            break;
        h->v[i] = h->v[best];
        i = best;
    }
    h->v[i] = x;
}

/* Orders everything appended so far, in linear time. */
static inline void lf_heap_build(lf_heap *h) {
    for (size_t i = h->n / 4 + 1; i-- > 0;)
        if (i < h->n)
            lf_heap_sift_down(h, i);
}

static inline bool lf_heap_push(lf_heap *h, lf_bigram b) {
    if (!lf_heap_append(h, b))
        return false;
    size_t i = h->n - 1;
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (h->v[parent].order <= b.order)
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = b;
    return true;
}

static inline lf_bigram lf_heap_pop(lf_heap *h) {
    lf_bigram top = h->v[0];
    h->v[0] = h->v[--h->n];
    if (h->n)
        lf_heap_sift_down(h, 0);
    return top;
}

typedef struct lf_symbuf {
    lf_sym *v;
    size_t n, cap;
} lf_symbuf;

/* Splits text[0..len) into one symbol per UTF-8 character (by lead byte
 * only, cut short at the end, as llama.cpp does). */
static inline bool lf_symbols_split(lf_symbuf *s, const char *text, size_t len) {
    if (len > s->cap) {
        lf_sym *p = (lf_sym *)realloc(s->v, len * sizeof *p);
        if (!p)
            return false;
        s->v = p, s->cap = len;
    }
    s->n = 0;
    for (size_t off = 0; off < len;) {
        size_t n = lf_utf8_lead_len((uint8_t)text[off]);
        if (n > len - off)
            n = len - off;
        int32_t i = (int32_t)s->n++;
        off += n;
        s->v[i] = (lf_sym){i - 1, off == len ? -1 : i + 1, (uint32_t)(off - n), (uint32_t)n};
    }
    return true;
}

/* The symbol after b's left one, if b is still current: neither side has
 * merged with anything since it was queued (a side only grows, and the
 * left one grows only by taking the right one). -1 if stale. */
static inline int32_t lf_bigram_right(const lf_symbuf *s, const lf_bigram *b) {
    const lf_sym *l = &s->v[lf_bigram_left(b)];
    if (l->n == 0 || l->next < 0)
        return -1;
    const lf_sym *r = &s->v[l->next];
    return r->n != 0 && l->n + r->n == b->size ? l->next : -1;
}

/* Merges symbol `right` into `left`. */
static inline void lf_symbols_merge(lf_symbuf *s, int32_t left, int32_t right) {
    lf_sym *l = &s->v[left], *r = &s->v[right];
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0)
        s->v[r->next].prev = left;
}

#endif
