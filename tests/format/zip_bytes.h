/* zip_bytes.h — hand-made zip archives for tests: a valid archive of two
 * stored members whose layout is recorded, so that a test can patch any
 * field into a lie. */
#ifndef LF_TESTS_ZIP_BYTES_H
#define LF_TESTS_ZIP_BYTES_H

#include "gguf_bytes.h"

typedef struct zb_opts {
    size_t prefix;          /* bytes before the archive (offsets exclude them) */
    bool zip64_end;         /* ZIP64 end record and locator */
    bool zip64_extra;       /* sizes and offsets in ZIP64 extra fields */
    const char *names[2];   /* default "a.txt", "b.gguf" */
    uint16_t method[2];     /* default 0 (stored) */
    const char *comment;    /* archive comment */
} zb_opts;

/* Where each structure starts in the built bytes. */
typedef struct zb_layout {
    size_t lh[2], data[2], cd, cr[2], z64end, z64loc, end;
    size_t data_size[2];
} zb_layout;

static inline void zb_set16(gb *b, size_t at, uint16_t v) {
    b->p[at] = (uint8_t)v;
    b->p[at + 1] = (uint8_t)(v >> 8);
}
static inline void zb_set32(gb *b, size_t at, uint32_t v) {
    zb_set16(b, at, (uint16_t)v);
    zb_set16(b, at + 2, (uint16_t)(v >> 16));
}
static inline void zb_set64(gb *b, size_t at, uint64_t v) {
    zb_set32(b, at, (uint32_t)v);
    zb_set32(b, at + 4, (uint32_t)(v >> 32));
}

static inline void zb_build(gb *b, zb_layout *L, const zb_opts *o) {
    static const char *const k_data[2] = {"hello", "GGUFdata"};
    memset(L, 0, sizeof(*L));
    for (size_t i = 0; i < o->prefix; i++)
        gb_u8(b, (uint8_t)('A' + i % 26));
    size_t base = o->prefix;
    for (int i = 0; i < 2; i++) {
        const char *name = o->names[i] ? o->names[i] : i ? "b.gguf" : "a.txt";
        size_t n = strlen(k_data[i]);
        L->lh[i] = b->n;
        L->data_size[i] = n;
        gb_u32(b, 0x04034b50); gb_u16(b, 20); gb_u16(b, 0); gb_u16(b, o->method[i]);
        gb_u16(b, 0); gb_u16(b, 0x21); gb_u32(b, 0);
        gb_u32(b, (uint32_t)n); gb_u32(b, (uint32_t)n);
        gb_u16(b, (uint16_t)strlen(name)); gb_u16(b, 0);
        gb_bytes(b, name, strlen(name));
        L->data[i] = b->n;
        gb_bytes(b, k_data[i], n);
    }
    L->cd = b->n;
    for (int i = 0; i < 2; i++) {
        const char *name = o->names[i] ? o->names[i] : i ? "b.gguf" : "a.txt";
        uint64_t n = L->data_size[i], off = L->lh[i] - base;
        uint32_t s32 = o->zip64_extra ? 0xffffffffu : (uint32_t)n;
        L->cr[i] = b->n;
        gb_u32(b, 0x02014b50); gb_u16(b, 3 << 8 | 45); gb_u16(b, 20); gb_u16(b, 0);
        gb_u16(b, o->method[i]); gb_u16(b, 0); gb_u16(b, 0x21); gb_u32(b, 0);
        gb_u32(b, s32); gb_u32(b, s32);
        gb_u16(b, (uint16_t)strlen(name)); gb_u16(b, o->zip64_extra ? 28 : 0);
        gb_u16(b, 0); gb_u16(b, 0); gb_u16(b, 0); gb_u32(b, 0100644u << 16);
        gb_u32(b, o->zip64_extra ? 0xffffffffu : (uint32_t)off);
        gb_bytes(b, name, strlen(name));
        if (o->zip64_extra) {
            gb_u16(b, 1); gb_u16(b, 24); gb_u64(b, n); gb_u64(b, n); gb_u64(b, off);
        }
    }
    size_t cd_size = b->n - L->cd;
    if (o->zip64_end) {
        L->z64end = b->n;
        gb_u32(b, 0x06064b50); gb_u64(b, 44); gb_u16(b, 45); gb_u16(b, 45);
        gb_u32(b, 0); gb_u32(b, 0); gb_u64(b, 2); gb_u64(b, 2);
        gb_u64(b, cd_size); gb_u64(b, L->cd - base);
        L->z64loc = b->n;
        gb_u32(b, 0x07064b50); gb_u32(b, 0); gb_u64(b, L->z64end - base); gb_u32(b, 1);
    }
    L->end = b->n;
    const char *c = o->comment ? o->comment : "";
    gb_u32(b, 0x06054b50); gb_u16(b, 0); gb_u16(b, 0); gb_u16(b, 2); gb_u16(b, 2);
    gb_u32(b, o->zip64_end ? 0xffffffffu : (uint32_t)cd_size);
    gb_u32(b, o->zip64_end ? 0xffffffffu : (uint32_t)(L->cd - base));
    gb_u16(b, (uint16_t)strlen(c));
    gb_bytes(b, c, strlen(c));
}

#endif
