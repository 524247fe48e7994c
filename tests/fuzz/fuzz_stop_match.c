/* fuzz_stop_match.c — libFuzzer target: stop strings and text from the
 * input, the text pushed in uneven chunks. What must hold: everything
 * emitted (pushes and the flush) is exactly the text before the first stop
 * string to end (the longest of those ending at the same byte), or the
 * whole text when none occurs, and found() names that stop string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

enum { MAX_STOPS = 4, MAX_STOP_LEN = 8 };

/* The oracle: the index of the stop string that ends first, its end in *end. */
static int first_stop(const uint8_t *t, size_t n, char stops[][MAX_STOP_LEN + 1], int ns,
                      size_t *end) {
    for (size_t e = 1; e <= n; e++) {
        int best = -1;
        for (int i = 0; i < ns; i++) {
            size_t l = strlen(stops[i]);
            if (l <= e && !memcmp(t + e - l, stops[i], l) &&
                (best < 0 || l > strlen(stops[best])))
                best = i;
        }
        if (best >= 0) {
            *end = e;
            return best;
        }
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const uint8_t *p = data, *end = data + size;
    int ns = *p++ % (MAX_STOPS + 1);
    char stops[MAX_STOPS][MAX_STOP_LEN + 1];
    const char *ptrs[MAX_STOPS];
    for (int i = 0; i < ns; i++) {
        size_t l = p < end ? *p++ % MAX_STOP_LEN + 1 : 1;
        size_t k = 0;
        for (; k < l && p < end; p++)
            if (*p) /* stop strings are C strings */
                stops[i][k++] = (char)*p;
        if (!k)
            stops[i][k++] = 'a';
        stops[i][k] = 0;
        ptrs[i] = stops[i];
    }
    const uint8_t *text = p;
    size_t n = (size_t)(end - p);
    lf_error err;
    lf_stop_matcher *s = lf_stop_matcher_new(ptrs, ns, &err);
    if (!s)
        __builtin_trap();
    char *got = malloc(n + 1);
    if (!got)
        __builtin_trap();
    size_t g = 0, off = 0;
    for (unsigned step = 0; off < n; step++) {
        size_t chunk = (text[off] + step) % 5; /* 0..4 bytes: empty pushes too */
        if (chunk > n - off)
            chunk = n - off;
        const char *out;
        int64_t k = lf_stop_matcher_push(s, (const char *)text + off, chunk, &out, &err);
        if (k < 0 || g + (size_t)k > n)
            __builtin_trap();
        memcpy(got + g, out, (size_t)k);
        g += (size_t)k;
        off += chunk;
    }
    const char *out;
    int64_t k = lf_stop_matcher_flush(s, &out);
    if (k < 0 || g + (size_t)k > n)
        __builtin_trap();
    memcpy(got + g, out, (size_t)k);
    g += (size_t)k;
    size_t stop_end = 0;
    int want = first_stop(text, n, stops, ns, &stop_end);
    size_t want_len = want < 0 ? n : stop_end - strlen(stops[want]);
    if (lf_stop_matcher_found(s) != want || g != want_len || memcmp(got, text, g))
        __builtin_trap();
    free(got);
    lf_stop_matcher_free(s);
    return 0;
}
