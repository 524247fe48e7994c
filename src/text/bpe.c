/* bpe.c — byte-level BPE as llama.cpp runs it: each word from the
 * pre-tokenizer is mapped byte by byte through the GPT-2 table, split into
 * those characters, and the adjacent pair with the lowest merge rank (ties:
 * the leftmost) merges until no pair has a rank. Each final symbol becomes
 * its token; a symbol with no token becomes the tokens of its single
 * bytes, if any (llama.cpp drops the rest silently). */
#include <string.h>

#include "text/vocab_impl.h"

/* Queues the pair (l, next of l) if it has a merge rank; with `now`
 * false it is only appended (the heap is built afterwards). */
static bool try_add(const lf_vocab *v, lf_tok_scratch *s, const char *word, int32_t l, bool now) {
    if (l < 0 || s->syms.v[l].next < 0)
        return true;
    const lf_sym *sl = &s->syms.v[l], *sr = &s->syms.v[sl->next];
    int32_t rank = lf_textmap_find(&v->merge_map, word + sl->off, sl->n + sr->n, sl->n);
    if (rank < 0)
        return true;
    lf_bigram b = {lf_bigram_order((uint32_t)rank, l), sl->n + sr->n};
    return now ? lf_heap_push(&s->heap, b) : lf_heap_append(&s->heap, b);
}

static void emit(const lf_vocab *v, const char *word, const lf_sym *sym, lf_tokbuf *out) {
    int32_t id = lf_textmap_find(&v->tok_map, word + sym->off, sym->n, 0);
    if (id >= 0) {
        lf_tokbuf_push(out, id);
        return;
    }
    for (uint32_t i = 0; i < sym->n; i++) {
        id = v->char_token[(uint8_t)word[sym->off + i]];
        if (id >= 0)
            lf_tokbuf_push(out, id);
    }
}

/* Tokenizes one byte-encoded word. */
static bool bpe_word(const lf_vocab *v, lf_tok_scratch *s, const char *word, size_t len,
                     lf_tokbuf *out) {
    if (v->ignore_merges) {
        int32_t id = lf_textmap_find(&v->tok_map, word, len, 0);
        if (id >= 0) {
            lf_tokbuf_push(out, id);
            return !out->oom;
        }
    }
    if (!lf_symbols_split(&s->syms, word, len))
        return false;
    lf_symbuf *syms = &s->syms;
    s->heap.n = 0;
    for (size_t i = 0; i + 1 < syms->n; i++)
        if (!try_add(v, s, word, (int32_t)i, false))
            return false;
    lf_heap_build(&s->heap);
    while (s->heap.n) {
        lf_bigram b = lf_heap_pop(&s->heap);
        int32_t left = lf_bigram_left(&b), right = lf_bigram_right(syms, &b);
        if (right < 0)
            continue; /* stale: one side merged since */
        lf_symbols_merge(syms, left, right);
        if (!try_add(v, s, word, syms->v[left].prev, true) || !try_add(v, s, word, left, true))
            return false;
    }
    for (size_t i = 0; i < syms->n; i++)
        if (syms->v[i].n)
            emit(v, word, &syms->v[i], out);
    return !out->oom;
}

/* Re-encodes text the way llama.cpp does before splitting (each decoded
 * code point, invalid bytes as U+FFFD) into s->a; s->b gets the same with
 * surrogates replaced by U+E000 (same length, and like a surrogate it is
 * neither letter, number, mark, punctuation, symbol nor space) so that
 * PCRE2 sees valid UTF-8. */
static bool sanitize(lf_tok_scratch *s, const char *text, size_t len, const char **orig,
                     const char **match, size_t *out_len) {
    if (lf_utf8_valid(text, len)) {
        *orig = *match = text;
        *out_len = len;
        return true;
    }
    /* every input byte yields at most 3 output bytes (U+FFFD) */
    if (!lf_bytebuf_reserve(&s->a, 3 * len + 4) || !lf_bytebuf_reserve(&s->b, 3 * len + 4))
        return false;
    size_t o = 0;
    for (size_t off = 0; off < len;) {
        uint32_t cp = lf_utf8_decode(text, len, &off);
        int n = lf_utf8_encode(cp, s->a.p + o);
        if (cp >= 0xD800 && cp <= 0xDFFF)
            lf_utf8_encode(0xE000, s->b.p + o);
        else
            memcpy(s->b.p + o, s->a.p + o, (size_t)n);
        o += (size_t)n;
    }
    *orig = s->a.p;
    *match = s->b.p;
    *out_len = o;
    return true;
}

bool lf_bpe_tokenize(const lf_vocab *v, lf_tok_scratch *s, const char *text, size_t len,
                     lf_tokbuf *out) {
    const char *orig, *match;
    size_t n;
    if (!sanitize(s, text, len, &orig, &match, &n))
        return false;
    if (!s->pre && !(s->pre = lf_pretok_state_new(v->pretok)))
        return false;
    const lf_pieces *ps = lf_pretok_split(v->pretok, s->pre, match, n);
    if (!ps)
        return false;
    for (size_t i = 0; i < ps->n; i++) {
        const unsigned char *p = (const unsigned char *)orig + ps->v[i].off;
        size_t plen = ps->v[i].len;
        if (!lf_bytebuf_reserve(&s->word, 2 * plen))
            return false;
        char *w = s->word.p;
        for (size_t k = 0; k < plen; k++) {
            const lf_byte_char *bc = &v->gpt2[p[k]];
            w[0] = bc->s[0];
            w[1] = bc->s[1];
            w += bc->len;
        }
        if (!bpe_word(v, s, s->word.p, (size_t)(w - s->word.p), out))
            return false;
    }
    return true;
}
