/* gguf_bytes.h — a byte builder for hand-made (often malformed) GGUF files
 * in tests. Everything is little-endian; nothing is validated. */
#ifndef LF_TESTS_GGUF_BYTES_H
#define LF_TESTS_GGUF_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct gb {
    uint8_t *p;
    size_t n, cap;
} gb;

static inline void gb_bytes(gb *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static inline void gb_u8(gb *b, uint8_t v) { gb_bytes(b, &v, 1); }

static inline void gb_u16(gb *b, uint16_t v) {
    gb_u8(b, (uint8_t)v);
    gb_u8(b, (uint8_t)(v >> 8));
}

static inline void gb_u32(gb *b, uint32_t v) {
    gb_u16(b, (uint16_t)v);
    gb_u16(b, (uint16_t)(v >> 16));
}

static inline void gb_u64(gb *b, uint64_t v) {
    gb_u32(b, (uint32_t)v);
    gb_u32(b, (uint32_t)(v >> 32));
}

static inline void gb_str(gb *b, const char *s) {
    gb_u64(b, strlen(s));
    gb_bytes(b, s, strlen(s));
}

static inline void gb_zeros(gb *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        gb_u8(b, 0);
}

static inline void gb_pad(gb *b, size_t align) {
    while (b->n % align)
        gb_u8(b, 0);
}

/* Header: magic, version, tensor and kv counts. */
static inline void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

static inline void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    gb_str(b, key);
    gb_u32(b, 4); /* UINT32 */
    gb_u32(b, v);
}

static inline void gb_kv_str(gb *b, const char *key, const char *s) {
    gb_str(b, key);
    gb_u32(b, 8); /* STRING */
    gb_str(b, s);
}

/* A tensor info with up to 4 dims (ne past n_dims ignored). */
static inline void gb_tensor(gb *b, const char *name, uint32_t n_dims,
                             const int64_t ne[4], uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims && d < 4; d++)
        gb_u64(b, (uint64_t)ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

#endif
