/* stop_match.c — stop strings over streamed text: nothing that may still
 * turn out to be (part of) a stop string is emitted. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "llamafile.h"
#include "text/vocab_impl.h"

struct lf_stop_matcher {
    int n, found;
    char **stops;
    size_t *lens, maxlen;
    lf_bytebuf b; /* [0, done): returned by the last call; [done, len): held */
    size_t len, done;
};

lf_stop_matcher *lf_stop_matcher_new(const char *const *stops, int n, lf_error *err) {
    if (n < 0) {
        lf_fail(err, "negative count of stop strings");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!stops[i] || !stops[i][0]) {
            lf_fail(err, "stop string %d is empty", i + 1);
            return NULL;
        }
    lf_stop_matcher *s = lf_calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->found = -1;
    s->stops = lf_calloc((size_t)n + 1, sizeof *s->stops);
    s->lens = lf_calloc((size_t)n + 1, sizeof *s->lens);
    if (!s->stops || !s->lens || !lf_bytebuf_reserve(&s->b, 64))
        goto oom;
    for (; s->n < n; s->n++) {
        size_t len = strlen(stops[s->n]);
        if (!(s->stops[s->n] = lf_malloc(len)))
            goto oom;
        memcpy(s->stops[s->n], stops[s->n], len);
        s->lens[s->n] = len;
        if (len > s->maxlen)
            s->maxlen = len;
    }
    return s;
oom:
    lf_stop_matcher_free(s);
    lf_fail(err, "out of memory");
    return NULL;
}

void lf_stop_matcher_free(lf_stop_matcher *s) {
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free(s->stops[i]);
    free(s->stops);
    free(s->lens);
    free(s->b.p);
    free(s);
}

void lf_stop_matcher_reset(lf_stop_matcher *s) {
    s->len = s->done = 0;
    s->found = -1;
}

int lf_stop_matcher_found(const lf_stop_matcher *s) { return s->found; }

/* The stop string (longest first) that ends at byte e of the buffer, or -1. */
static int ends_at(const lf_stop_matcher *s, size_t e) {
    int best = -1;
    for (int i = 0; i < s->n; i++)
        if (s->lens[i] <= e && memcmp(s->b.p + e - s->lens[i], s->stops[i], s->lens[i]) == 0 &&
            (best < 0 || s->lens[i] > s->lens[best]))
            best = i;
    return best;
}

/* Length of the longest tail of the buffer that a stop string starts with. */
static size_t held_tail(const lf_stop_matcher *s) {
    size_t h = s->maxlen ? s->maxlen - 1 : 0;
    if (h > s->len)
        h = s->len;
    for (; h > 0; h--)
        for (int i = 0; i < s->n; i++)
            if (s->lens[i] > h && memcmp(s->b.p + s->len - h, s->stops[i], h) == 0)
                return h;
    return 0;
}

int64_t lf_stop_matcher_push(lf_stop_matcher *s, const char *text, size_t len,
                             const char **out, lf_error *err) {
    memmove(s->b.p, s->b.p + s->done, s->len - s->done);
    s->len -= s->done;
    s->done = 0;
    *out = s->b.p;
    if (s->found >= 0) {
        s->len = 0;
        return 0;
    }
    if (len > SIZE_MAX / 2 - s->len || !lf_bytebuf_reserve(&s->b, s->len + len)) {
        lf_fail(err, "out of memory");
        return -1;
    }
    *out = s->b.p;
    if (len)
        memcpy(s->b.p + s->len, text, len);
    size_t old = s->len;
    s->len += len;
    /* Ends at or before old were checked when those bytes came in. */
    for (size_t e = old + 1; e <= s->len; e++) {
        int i = ends_at(s, e);
        if (i >= 0) {
            s->found = i;
            s->done = s->len = e - s->lens[i];
            return (int64_t)s->done;
        }
    }
    s->done = s->len - held_tail(s);
    return (int64_t)s->done;
}

int64_t lf_stop_matcher_flush(lf_stop_matcher *s, const char **out) {
    *out = s->b.p + s->done;
    size_t n = s->len - s->done; /* 0 after a stop: nothing is held then */
    s->done = s->len;
    return (int64_t)n;
}
