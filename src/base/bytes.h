/* bytes.h — little-endian integers in byte buffers: put helpers that
 * return the next write position, and a bounds-checked reader that turns
 * every read past the end into a sticky failure instead of an overrun. */
#ifndef LF_BASE_BYTES_H
#define LF_BASE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint8_t *lf_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static inline uint8_t *lf_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static inline uint8_t *lf_put_bytes(uint8_t *p, const void *src, size_t n) {
    if (n)
        memcpy(p, src, n);
    return p + n;
}

typedef struct lf_reader {
    const uint8_t *p;
    size_t n, off;
    bool bad; /* a read went past the end: every later read fails too */
} lf_reader;

/* The next k bytes, or NULL (and r->bad) when fewer are left. */
static inline const uint8_t *lf_read_bytes(lf_reader *r, size_t k) {
    if (r->bad || k > r->n - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += k;
    return q;
}

static inline uint32_t lf_read_u32(lf_reader *r) {
    const uint8_t *q = lf_read_bytes(r, 4);
    uint32_t v = 0;
    for (int i = 0; q && i < 4; i++)
        v |= (uint32_t)q[i] << (8 * i);
    return v;
}

static inline uint64_t lf_read_u64(lf_reader *r) {
    const uint8_t *q = lf_read_bytes(r, 8);
    uint64_t v = 0;
    for (int i = 0; q && i < 8; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

#endif
