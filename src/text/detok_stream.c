/* detok_stream.c — tokens to text one at a time, holding back a UTF-8
 * character until the token that completes it arrives. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"
#include "text/vocab.h"
#include "text/vocab_impl.h"

struct lf_detok {
    const lf_vocab *v;
    bool special, strip_space, first;
    lf_bytebuf b; /* [0, done): returned by the last call; [done, len): held */
    size_t len, done;
};

lf_detok *lf_detok_new(const lf_model *m, bool special, bool strip_space, lf_error *err) {
    lf_detok *d = lf_calloc(1, sizeof *d);
    if (!d || !lf_bytebuf_reserve(&d->b, 64)) {
        free(d);
        lf_fail(err, "out of memory");
        return NULL;
    }
    d->v = m->vocab;
    d->special = special;
    d->strip_space = strip_space && lf_vocab_add_space_prefix(m->vocab);
    d->first = true;
    return d;
}

void lf_detok_free(lf_detok *d) {
    if (d)
        free(d->b.p);
    free(d);
}

void lf_detok_reset(lf_detok *d) {
    d->len = d->done = 0;
    d->first = true;
}

static bool is_cont(uint8_t c) { return (c & 0xC0) == 0x80; }

/* Bytes of the character lead byte c starts; 0 if c cannot start one. */
static size_t char_len(uint8_t c) {
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

/* Whether c may follow lead byte lead (the ranges of RFC 3629 that exclude
 * overlong forms, surrogates and code points above U+10FFFF). */
static bool second_ok(uint8_t lead, uint8_t c) {
    switch (lead) {
    case 0xE0: return c >= 0xA0 && c <= 0xBF;
    case 0xED: return c >= 0x80 && c <= 0x9F;
    case 0xF0: return c >= 0x90 && c <= 0xBF;
    case 0xF4: return c >= 0x80 && c <= 0x8F;
    default: return is_cont(c);
    }
}

/* Length of the prefix of s[0, n) that is safe to emit: all of it unless
 * it ends with the start of a valid character that is not complete yet. */
static size_t safe_len(const char *s, size_t n) {
    const uint8_t *u = (const uint8_t *)s;
    size_t i = n;
    while (i > 0 && n - i < 3 && is_cont(u[i - 1]))
        i--;
    if (i == 0)
        return n;
    size_t lead = i - 1, need = char_len(u[lead]), have = n - lead;
    if (have >= need)
        return n;
    if (have >= 2 && !second_ok(u[lead], u[lead + 1]))
        return n;
    return lead;
}

int64_t lf_detok_push(lf_detok *d, int32_t token, const char **text, lf_error *err) {
    memmove(d->b.p, d->b.p + d->done, d->len - d->done);
    d->len -= d->done;
    d->done = 0;
    int64_t n = lf_vocab_token_to_piece(d->v, token, d->b.p + d->len, d->b.cap - d->len,
                                        d->special);
    if (n < 0) {
        if (!lf_bytebuf_reserve(&d->b, d->len + (size_t)-n)) {
            *text = d->b.p;
            lf_fail(err, "out of memory");
            return -1;
        }
        n = lf_vocab_token_to_piece(d->v, token, d->b.p + d->len, d->b.cap - d->len, d->special);
    }
    char *piece = d->b.p + d->len;
    if (d->first && d->strip_space && n > 0 && piece[0] == ' ')
        memmove(piece, piece + 1, (size_t)--n);
    d->first = false;
    d->len += (size_t)n;
    d->done = safe_len(d->b.p, d->len);
    *text = d->b.p;
    return (int64_t)d->done;
}

int64_t lf_detok_flush(lf_detok *d, const char **text) {
    size_t held = d->len - d->done;
    d->len = d->done = 0;
    *text = d->b.p;
    if (!held)
        return 0;
    memcpy(d->b.p, "\xEF\xBF\xBD", 3); /* cap >= 64 */
    d->done = d->len = 3;
    return 3;
}
