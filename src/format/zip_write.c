/* zip_write.c — encoding local headers, central records and end records.
 * ZIP64 fields are written only where a value does not fit in 32 bits
 * (16 for the entry count). */
#include <string.h>

#include "format/zip.h"

#define VERSION_ZIP64 45
#define MADE_BY_UNIX (3u << 8 | VERSION_ZIP64)

static bool big(uint64_t v) {
    return v >= 0xffffffffu;
}

static uint32_t field32(uint64_t v) {
    return big(v) ? 0xffffffffu : (uint32_t)v;
}

static bool sizes_need_zip64(const lf_zip_entry *e) {
    return big(e->size) || big(e->compressed_size);
}

size_t lf_zip_local_size(const lf_zip_rec *r) {
    return LF_ZIP_LOCAL_SIZE + r->e.name_len + (sizes_need_zip64(&r->e) ? 20 : 0);
}

uint8_t *lf_zip_put_local(uint8_t *p, const lf_zip_rec *r) {
    bool z64 = sizes_need_zip64(&r->e);
    p = lf_put32(p, LF_ZIP_LOCAL_SIG);
    p = lf_put16(p, z64 && r->needed < VERSION_ZIP64 ? VERSION_ZIP64 : r->needed);
    p = lf_put16(p, r->e.flags);
    p = lf_put16(p, (uint32_t)r->e.method);
    p = lf_put16(p, r->mtime);
    p = lf_put16(p, r->mdate);
    p = lf_put32(p, r->e.crc32);
    p = lf_put32(p, z64 ? 0xffffffffu : (uint32_t)r->e.compressed_size);
    p = lf_put32(p, z64 ? 0xffffffffu : (uint32_t)r->e.size);
    p = lf_put16(p, (uint32_t)r->e.name_len);
    p = lf_put16(p, z64 ? 20 : 0);
    memcpy(p, r->e.name, r->e.name_len);
    p += r->e.name_len;
    if (z64) {
        p = lf_put16(p, LF_ZIP64_EXTRA_ID);
        p = lf_put16(p, 16);
        p = lf_put64(p, r->e.size);
        p = lf_put64(p, r->e.compressed_size);
    }
    return p;
}

static unsigned zip64_extra_len(const lf_zip_entry *e) {
    unsigned n = 8u * big(e->size) + 8u * big(e->compressed_size) + 8u * big(e->header_offset);
    return n ? n + 4 : 0;
}

/* 0 when the record does not fit the 16-bit extra field length. */
size_t lf_zip_central_size(const lf_zip_rec *r) {
    size_t x = r->extra_len + zip64_extra_len(&r->e);
    if (x > 0xffff)
        return 0;
    return LF_ZIP_CENTRAL_SIZE + r->e.name_len + x + r->comment_len;
}

uint8_t *lf_zip_put_central(uint8_t *p, const lf_zip_rec *r) {
    const lf_zip_entry *e = &r->e;
    unsigned z64 = zip64_extra_len(e);
    p = lf_put32(p, LF_ZIP_CENTRAL_SIG);
    p = lf_put16(p, r->made_by);
    p = lf_put16(p, z64 && r->needed < VERSION_ZIP64 ? VERSION_ZIP64 : r->needed);
    p = lf_put16(p, e->flags);
    p = lf_put16(p, (uint32_t)e->method);
    p = lf_put16(p, r->mtime);
    p = lf_put16(p, r->mdate);
    p = lf_put32(p, e->crc32);
    p = lf_put32(p, field32(e->compressed_size));
    p = lf_put32(p, field32(e->size));
    p = lf_put16(p, (uint32_t)e->name_len);
    p = lf_put16(p, r->extra_len + z64);
    p = lf_put16(p, r->comment_len);
    p = lf_put16(p, 0); /* disk */
    p = lf_put16(p, r->iattr);
    p = lf_put32(p, r->eattr);
    p = lf_put32(p, field32(e->header_offset));
    memcpy(p, e->name, e->name_len);
    p += e->name_len;
    if (z64) {
        p = lf_put16(p, LF_ZIP64_EXTRA_ID);
        p = lf_put16(p, z64 - 4);
        if (big(e->size))
            p = lf_put64(p, e->size);
        if (big(e->compressed_size))
            p = lf_put64(p, e->compressed_size);
        if (big(e->header_offset))
            p = lf_put64(p, e->header_offset);
    }
    if (r->extra_len)
        memcpy(p, r->extra, r->extra_len);
    p += r->extra_len;
    if (r->comment_len)
        memcpy(p, r->comment, r->comment_len);
    return p + r->comment_len;
}

static bool end_needs_zip64(uint64_t n, uint64_t cd_offset, uint64_t cd_size) {
    return n >= 0xffff || big(cd_offset) || big(cd_size);
}

size_t lf_zip_end_size(uint64_t n, uint64_t cd_offset, uint64_t cd_size,
                       uint16_t comment_len) {
    size_t z64 = end_needs_zip64(n, cd_offset, cd_size)
                     ? LF_ZIP64_END_SIZE + LF_ZIP64_LOCATOR_SIZE : 0;
    return z64 + LF_ZIP_END_SIZE + comment_len;
}

uint8_t *lf_zip_put_end(uint8_t *p, uint64_t n, uint64_t cd_offset, uint64_t cd_size,
                        const uint8_t *comment, uint16_t comment_len) {
    if (end_needs_zip64(n, cd_offset, cd_size)) {
        uint64_t at = cd_offset + cd_size;
        p = lf_put32(p, LF_ZIP64_END_SIG);
        p = lf_put64(p, LF_ZIP64_END_SIZE - 12);
        p = lf_put16(p, MADE_BY_UNIX);
        p = lf_put16(p, VERSION_ZIP64);
        p = lf_put32(p, 0);
        p = lf_put32(p, 0);
        p = lf_put64(p, n);
        p = lf_put64(p, n);
        p = lf_put64(p, cd_size);
        p = lf_put64(p, cd_offset);
        p = lf_put32(p, LF_ZIP64_LOCATOR_SIG);
        p = lf_put32(p, 0);
        p = lf_put64(p, at);
        p = lf_put32(p, 1);
    }
    uint32_t n16 = n >= 0xffff ? 0xffff : (uint32_t)n;
    p = lf_put32(p, LF_ZIP_END_SIG);
    p = lf_put16(p, 0);
    p = lf_put16(p, 0);
    p = lf_put16(p, n16);
    p = lf_put16(p, n16);
    p = lf_put32(p, field32(cd_size));
    p = lf_put32(p, field32(cd_offset));
    p = lf_put16(p, comment_len);
    if (comment_len)
        memcpy(p, comment, comment_len);
    return p + comment_len;
}
