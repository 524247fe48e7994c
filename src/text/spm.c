/* spm.c — llama.cpp's SentencePiece-style tokenizer: spaces become U+2581,
 * the text is split into UTF-8 characters, and the adjacent pair whose
 * concatenation is the highest-scoring token merges first (ties: the
 * leftmost), until no pair is a token. Symbols that are not tokens become
 * byte tokens <0xXX>. */
#include <string.h>

#include "text/vocab_impl.h"

static const char k_space[3] = {'\xE2', '\x96', '\x81'}; /* U+2581 */

/* The text with an optional leading space, every ' ' as U+2581. */
static bool escape(lf_bytebuf *b, const char *text, size_t len, bool prefix_space) {
    size_t spaces = prefix_space;
    for (size_t i = 0; i < len; i++)
        spaces += text[i] == ' ';
    if (!lf_bytebuf_reserve(b, len + prefix_space + 2 * spaces))
        return false;
    char *o = b->p;
    if (prefix_space)
        memcpy(o, k_space, 3), o += 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ')
            memcpy(o, k_space, 3), o += 3;
        else
            *o++ = text[i];
    }
    b->n = (size_t)(o - b->p);
    return true;
}

/* Scores as keys that sort ascending for descending scores (-0 == 0). */
static uint32_t score_key(float f) {
    uint32_t b;
    if (f == 0)
        f = 0;
    memcpy(&b, &f, 4);
    b = (b & 0x80000000u) ? ~b : b | 0x80000000u;
    return ~b;
}

/* Queues the pair (l, next of l) if its text is a token; with `now` false
 * it is only appended (the heap is built afterwards). */
static bool try_add(const lf_vocab *v, lf_tok_scratch *s, const char *text, int32_t l, bool now) {
    if (l < 0 || s->syms.v[l].next < 0)
        return true;
    const lf_sym *sl = &s->syms.v[l], *sr = &s->syms.v[sl->next];
    int32_t id = lf_textmap_find(&v->tok_map, text + sl->off, sl->n + sr->n, 0);
    if (id < 0)
        return true;
    lf_bigram b = {lf_bigram_order(score_key(v->scores[id]), l), sl->n + sr->n};
    return now ? lf_heap_push(&s->heap, b) : lf_heap_append(&s->heap, b);
}

static void emit(const lf_vocab *v, const char *text, const lf_sym *sym, lf_tokbuf *out) {
    int32_t id = lf_textmap_find(&v->tok_map, text + sym->off, sym->n, 0);
    if (id >= 0) {
        lf_tokbuf_push(out, id);
        return;
    }
    for (uint32_t i = 0; i < sym->n; i++) {
        /* llama.cpp throws when a byte has no token; we fall back to unk */
        id = v->byte_token[(uint8_t)text[sym->off + i]];
        if (id < 0)
            id = v->unk;
        if (id >= 0)
            lf_tokbuf_push(out, id);
    }
}

static bool is_space_sym(const char *text, const lf_sym *sym) {
    return sym->n == 3 && memcmp(text + sym->off, k_space, 3) == 0;
}

/* Runs the merge loop over symbols [a, b) alone and emits them. */
static bool merge_range(const lf_vocab *v, lf_tok_scratch *s, const char *text, int32_t a,
                        int32_t b, lf_tokbuf *out) {
    lf_symbuf *syms = &s->syms;
    syms->v[a].prev = -1;
    syms->v[b - 1].next = -1;
    s->heap.n = 0;
    for (int32_t i = a; i + 1 < b; i++)
        if (!try_add(v, s, text, i, false))
            return false;
    lf_heap_build(&s->heap);
    while (s->heap.n) {
        lf_bigram bg = lf_heap_pop(&s->heap);
        int32_t left = lf_bigram_left(&bg), right = lf_bigram_right(syms, &bg);
        if (right < 0)
            continue; /* stale: one side merged since */
        lf_symbols_merge(syms, left, right);
        if (!try_add(v, s, text, syms->v[left].prev, true) || !try_add(v, s, text, left, true))
            return false;
    }
    for (int32_t i = a; i != -1; i = syms->v[i].next)
        emit(v, text, &syms->v[i], out);
    return !out->oom;
}

bool lf_spm_tokenize(const lf_vocab *v, lf_tok_scratch *s, const char *raw, size_t len,
                     bool prefix_space, lf_tokbuf *out) {
    if (!escape(&s->a, raw, len, prefix_space) || !lf_symbols_split(&s->syms, s->a.p, s->a.n))
        return false;
    const char *text = s->a.p;
    int32_t n = (int32_t)s->syms.n, a = 0;
    if (v->spm_split_at_space) {
        /* No token has U+2581 after anything but U+2581, so no merge can
         * cross the start of a word: each word merges on its own, with
         * the same result and a small queue. */
        for (int32_t i = 1; i < n; i++) {
            if (is_space_sym(text, &s->syms.v[i]) && !is_space_sym(text, &s->syms.v[i - 1])) {
                if (!merge_range(v, s, text, a, i, out))
                    return false;
                a = i;
            }
        }
    }
    return n == a || merge_range(v, s, text, a, n, out);
}
