/* fuzz_reasoning.c — libFuzzer target: text through the <think> splitter
 * in uneven chunks and byte by byte. Byte 0: bit 0 starts in reasoning,
 * bit 1 the NONE format, the rest seeds the chunk sizes; in the text, byte
 * 1 stands for "<think>" and byte 2 for "</think>" so markers are common.
 * What must hold: both pushes give the same parts, reasoning never follows
 * content, no piece is empty, and the parts equal a plain whole-text
 * reading of the documented rule (and lf_reasoning_split). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

enum { MAX_TEXT = 1 << 16 };

typedef struct out {
    char part[3][MAX_TEXT];
    size_t n[3];
    int last;
} out;

static void on_part(void *ud, int part, const char *t, size_t len) {
    out *o = ud;
    if ((part != LF_PART_REASONING && part != LF_PART_CONTENT) || !len)
        __builtin_trap();
    if (part == LF_PART_REASONING && o->last == LF_PART_CONTENT)
        __builtin_trap();
    if (o->n[part] + len > MAX_TEXT)
        __builtin_trap();
    memcpy(o->part[part] + o->n[part], t, len);
    o->n[part] += len;
    o->last = part;
}

static bool space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static bool at(const char *t, size_t n, size_t i, const char *w) {
    size_t k = strlen(w);
    return i + k <= n && !memcmp(t + i, w, k);
}

/* The rule read on the whole text. */
static void oracle(bool none, bool starts, const char *t, size_t n, out *o) {
    memset(o->n, 0, sizeof o->n);
    size_t i = 0;
    if (none) {
        memcpy(o->part[2], t, n), o->n[2] = n;
        return;
    }
    if (!starts) {
        while (i < n && space(t[i]))
            i++;
        if (!at(t, n, i, "<think>")) {
            memcpy(o->part[2], t + i, n - i), o->n[2] = n - i;
            return;
        }
    }
    for (;;) { /* leading whitespace and repeated <think> */
        while (i < n && space(t[i]))
            i++;
        if (!at(t, n, i, "<think>"))
            break;
        i += 7;
    }
    size_t e = i;
    while (e < n && !at(t, n, e, "</think>"))
        e++;
    memcpy(o->part[1], t + i, e - i), o->n[1] = e - i;
    if (e == n)
        return;
    e += 8;
    while (e < n && space(t[e]))
        e++;
    memcpy(o->part[2], t + e, n - e), o->n[2] = n - e;
}

static out g_a, g_b, g_c;
static char g_text[MAX_TEXT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    bool starts = data[0] & 1, none = data[0] & 2;
    uint32_t seed = data[0] >> 2;
    size_t n = 0;
    for (size_t i = 1; i < size && n + 8 <= MAX_TEXT / 2; i++) {
        const char *w = data[i] == 1 ? "<think>" : data[i] == 2 ? "</think>" : NULL;
        if (w)
            memcpy(g_text + n, w, strlen(w)), n += strlen(w);
        else
            g_text[n++] = (char)data[i];
    }
    int format = none ? LF_REASONING_NONE : LF_REASONING_THINK;
    lf_error err;
    lf_reasoning *r = lf_reasoning_new(NULL, format, starts, &err);
    if (!r)
        __builtin_trap();
    memset(g_a.n, 0, sizeof g_a.n), g_a.last = 0;
    for (size_t i = 0; i < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 16) % 11;
        if (k > n - i)
            k = n - i;
        if (!lf_reasoning_push(r, g_text + i, k, on_part, &g_a, &err))
            __builtin_trap();
        i += k;
    }
    if (!lf_reasoning_finish(r, on_part, &g_a, &err) || !lf_reasoning_reset(r, starts, &err))
        __builtin_trap();
    memset(g_b.n, 0, sizeof g_b.n), g_b.last = 0;
    for (size_t i = 0; i < n; i++)
        if (!lf_reasoning_push(r, g_text + i, 1, on_part, &g_b, &err))
            __builtin_trap();
    if (!lf_reasoning_finish(r, on_part, &g_b, &err))
        __builtin_trap();
    lf_reasoning_free(r);
    oracle(none, starts, g_text, n, &g_c);
    for (int p = 1; p < 3; p++)
        if (g_a.n[p] != g_c.n[p] || g_b.n[p] != g_c.n[p] ||
            memcmp(g_a.part[p], g_c.part[p], g_c.n[p]) ||
            memcmp(g_b.part[p], g_c.part[p], g_c.n[p]))
            __builtin_trap();
    char *rs, *cs;
    if (!lf_reasoning_split(format, starts, g_text, n, &rs, &cs, &err))
        __builtin_trap();
    if (strlen(rs) > g_c.n[1] || memcmp(rs, g_c.part[1], strlen(rs)) ||
        strlen(cs) > g_c.n[2] || memcmp(cs, g_c.part[2], strlen(cs)))
        __builtin_trap(); /* (a NUL in the text ends the C strings early) */
    free(rs);
    free(cs);
    return 0;
}
