/* gguf_index.c — name → index hash tables for keys and tensors, and the
 * quoting of names in error messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "format/gguf.h"

static uint64_t hash_bytes(const char *s, uint64_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (uint64_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

bool lf_gguf_index_init(lf_gguf_index *ix, int64_t n,
                        const lf_str *(*key_of)(const void *, int64_t),
                        const void *ctx) {
    memset(ix, 0, sizeof(*ix));
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2) {
        if (cap > SIZE_MAX / sizeof(int64_t) / 2)
            return false;
        cap *= 2;
    }
    ix->slots = lf_malloc(cap * sizeof(int64_t));
    if (!ix->slots)
        return false;
    memset(ix->slots, 0xff, cap * sizeof(int64_t));
    ix->mask = cap - 1;
    ix->key_of = key_of;
    ix->ctx = ctx;
    return true;
}

static bool same(const lf_str *a, const char *s, uint64_t len) {
    return a->len == len && (len == 0 || !memcmp(a->ptr, s, len));
}

int64_t lf_gguf_index_add(lf_gguf_index *ix, int64_t i) {
    const lf_str *k = ix->key_of(ix->ctx, i);
    for (uint64_t h = hash_bytes(k->ptr, k->len);; h++) {
        int64_t *slot = &ix->slots[h & ix->mask];
        if (*slot < 0) {
            *slot = i;
            return -1;
        }
        if (same(ix->key_of(ix->ctx, *slot), k->ptr, k->len))
            return *slot;
    }
}

int64_t lf_gguf_index_find(const lf_gguf_index *ix, const char *s, uint64_t len) {
    if (!ix->slots)
        return -1;
    for (uint64_t h = hash_bytes(s, len);; h++) {
        int64_t i = ix->slots[h & ix->mask];
        if (i < 0 || same(ix->key_of(ix->ctx, i), s, len))
            return i;
    }
}

void lf_gguf_index_free(lf_gguf_index *ix) {
    free(ix->slots);
    memset(ix, 0, sizeof(*ix));
}

const char *lf_gguf_quote(char *buf, size_t n, const char *s, uint64_t len) {
    size_t o = 0;
    for (uint64_t i = 0; i < len && o + 8 < n; i++) {
        if (o >= 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
    }
    buf[o] = 0;
    return buf;
}
