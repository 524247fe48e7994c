/* zip.h — internals shared by the zip reader, the member lookups and the
 * zipalign writer. The public API is the packaging section of llamafile.h. */
#ifndef LF_FORMAT_ZIP_H
#define LF_FORMAT_ZIP_H

#include "llamafile.h"

#define LF_ZIP_LOCAL_SIG 0x04034b50u
#define LF_ZIP_CENTRAL_SIG 0x02014b50u
#define LF_ZIP_END_SIG 0x06054b50u
#define LF_ZIP64_END_SIG 0x06064b50u
#define LF_ZIP64_LOCATOR_SIG 0x07064b50u
#define LF_ZIP_LOCAL_SIZE 30u
#define LF_ZIP_CENTRAL_SIZE 46u
#define LF_ZIP_END_SIZE 22u
#define LF_ZIP64_END_SIZE 56u
#define LF_ZIP64_LOCATOR_SIZE 20u
#define LF_ZIP64_EXTRA_ID 0x0001u
#define LF_ZIP_MAX_COMMENT 65535u
/* Central directories larger than this are refused (real ones are tiny). */
#define LF_ZIP_MAX_CD_SIZE (512ull << 20)

/* One central directory record: the public entry and the fields the writer
 * copies when it rewrites the directory. extra and comment point into
 * lf_zip.cd; extra has the ZIP64 field (0x0001) removed. */
typedef struct lf_zip_rec {
    lf_zip_entry e;
    uint16_t made_by, needed, mtime, mdate, iattr;
    uint32_t eattr;
    uint16_t extra_len, comment_len;
    const uint8_t *extra, *comment;
} lf_zip_rec;

/* Where the bytes come from: a buffer, or else a file read with pread. */
typedef struct lf_zip_src {
    const uint8_t *buf;
    int fd;
    uint64_t size;
} lf_zip_src;

struct lf_zip {
    char *name;
    lf_zip_src src;
    int own_fd;           /* fd to close, or -1 */
    uint64_t cd_offset;   /* where the central directory starts */
    uint64_t end_offset;  /* where the end records (ZIP64 or not) start */
    uint8_t *cd;          /* the central directory, copied */
    uint8_t *names;       /* NUL-terminated copies of the names */
    lf_zip_rec *recs;
    int64_t n;
    uint8_t *comment;     /* the archive comment (malloc'd), or NULL */
    uint16_t comment_len;
};

static inline uint16_t lf_get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t lf_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline uint64_t lf_get64(const uint8_t *p) {
    return (uint64_t)lf_get32(p) | (uint64_t)lf_get32(p + 4) << 32;
}
static inline uint8_t *lf_put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}
static inline uint8_t *lf_put32(uint8_t *p, uint32_t v) {
    return lf_put16(lf_put16(p, v & 0xffff), v >> 16);
}
static inline uint8_t *lf_put64(uint8_t *p, uint64_t v) {
    return lf_put32(lf_put32(p, (uint32_t)v), (uint32_t)(v >> 32));
}

/* Reads [off, off+n) of the source into dst. */
bool lf_zip_src_read(const lf_zip_src *s, uint64_t off, void *dst, size_t n,
                     const char *name, lf_error *err);

/* Parses the archive held by src. Returns 1 with *out set, 0 when there is
 * no end-of-central-directory record at the end (not a zip: *out is NULL,
 * err says so), -1 on a malformed archive. z takes no ownership of src. */
int lf_zip_parse(const lf_zip_src *src, const char *name, lf_zip **out, lf_error *err);

/* An empty archive handle (for an executable without a zip). */
lf_zip *lf_zip_new_empty(const char *name, lf_error *err);

/* Writes a printable, shortened form of a member name into buf, for
 * messages: control bytes become \xHH, long names end in "...". */
const char *lf_zip_quote(const char *name, size_t len, char *buf, size_t n);

/* Encoders (zip_write.c). Each put function writes exactly the matching
 * size function's bytes and returns the end. A record's ZIP64 extra field
 * is added when its sizes or offset need one. */
size_t lf_zip_local_size(const lf_zip_rec *r);
uint8_t *lf_zip_put_local(uint8_t *p, const lf_zip_rec *r);
size_t lf_zip_central_size(const lf_zip_rec *r); /* 0: extra field too long */
uint8_t *lf_zip_put_central(uint8_t *p, const lf_zip_rec *r);
size_t lf_zip_end_size(uint64_t n, uint64_t cd_offset, uint64_t cd_size,
                       uint16_t comment_len);
uint8_t *lf_zip_put_end(uint8_t *p, uint64_t n, uint64_t cd_offset, uint64_t cd_size,
                        const uint8_t *comment, uint16_t comment_len);

#endif
