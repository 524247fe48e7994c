/* zip_read.c — finding and validating a zip central directory (ZIP64 too).
 *
 * The end record must end exactly at the end of the file (its comment
 * reaches the last byte): that is how an archive appended to an executable
 * is told apart from the bytes 'PK\5\6' occurring inside the executable.
 * Every count, size and offset is checked against the file before it is
 * used; entries must lie before the central directory, must not overlap,
 * and their local headers must agree with the central directory. Errors
 * read `NAME: offset N: what`. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "format/zip.h"

typedef struct parser {
    const lf_zip_src *src;
    const char *name;
    lf_error *err;
    lf_zip *z;
    uint64_t bias; /* bytes prepended to the archive after it was written */
} parser;

/* What the end records say. */
typedef struct end_info {
    uint64_t n, cd_size, cd_offset;
    uint64_t end_offset; /* first byte of the end records */
    uint16_t comment_len;
    bool zip64;
} end_info;

__attribute__((format(printf, 3, 4)))
static bool fail_at(parser *p, uint64_t at, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return lf_fail(p->err, "%s: offset %llu: %s", p->name, (unsigned long long)at, msg);
}

bool lf_zip_src_read(const lf_zip_src *s, uint64_t off, void *dst, size_t n,
                     const char *name, lf_error *err) {
    if (off > s->size || n > s->size - off)
        return lf_fail(err, "%s: offset %llu: read of %zu bytes runs past the end "
                       "of the file (%llu bytes)", name, (unsigned long long)off, n,
                       (unsigned long long)s->size);
    if (s->buf) {
        memcpy(dst, s->buf + off, n);
        return true;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(s->fd, (char *)dst + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return lf_fail(err, "%s: offset %llu: cannot read: %s", name,
                           (unsigned long long)(off + done),
                           r < 0 ? strerror(errno) : "file shrank while reading");
        done += (size_t)r;
    }
    return true;
}

static bool rd(parser *p, uint64_t off, void *dst, size_t n) {
    return lf_zip_src_read(p->src, off, dst, n, p->name, p->err);
}

const char *lf_zip_quote(const char *name, size_t len, char *buf, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
        if (i + 1 < len && o + 8 >= n) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
    }
    buf[o] = 0;
    return buf;
}

/* Finds the end record: 1 found, 0 not a zip, -1 on a read error. */
static int find_end(parser *p, uint64_t *pos, uint8_t rec[LF_ZIP_END_SIZE]) {
    uint64_t size = p->src->size;
    if (size < LF_ZIP_END_SIZE)
        return 0;
    size_t tail = (size_t)(size < LF_ZIP_END_SIZE + LF_ZIP_MAX_COMMENT
                               ? size : LF_ZIP_END_SIZE + LF_ZIP_MAX_COMMENT);
    uint8_t *buf = malloc(tail);
    if (!buf)
        return lf_fail(p->err, "%s: out of memory", p->name), -1;
    if (!rd(p, size - tail, buf, tail)) {
        free(buf);
        return -1;
    }
    int found = 0;
    for (size_t i = tail - LF_ZIP_END_SIZE + 1; i-- > 0;) {
        if (lf_get32(buf + i) == LF_ZIP_END_SIG &&
            lf_get16(buf + i + 20) == tail - i - LF_ZIP_END_SIZE) {
            *pos = size - tail + i;
            memcpy(rec, buf + i, LF_ZIP_END_SIZE);
            found = 1;
            break;
        }
    }
    free(buf);
    return found;
}

static bool multi_disk(parser *p, uint64_t at) {
    return fail_at(p, at, "multi-disk (split) archives are not supported");
}

/* Where the ZIP64 end record is: at the locator's offset, or right before
 * the locator when bytes were prepended to the archive. */
static bool find_zip64_end(parser *p, uint64_t loc_pos, uint64_t declared, uint64_t *pos) {
    uint8_t sig[4];
    if (declared <= loc_pos && loc_pos - declared >= LF_ZIP64_END_SIZE) {
        if (!rd(p, declared, sig, 4))
            return false;
        if (lf_get32(sig) == LF_ZIP64_END_SIG) {
            *pos = declared;
            return true;
        }
    }
    if (loc_pos >= LF_ZIP64_END_SIZE) {
        if (!rd(p, loc_pos - LF_ZIP64_END_SIZE, sig, 4))
            return false;
        if (lf_get32(sig) == LF_ZIP64_END_SIG) {
            *pos = loc_pos - LF_ZIP64_END_SIZE;
            return true;
        }
    }
    if (declared >= p->src->size)
        return fail_at(p, loc_pos, "ZIP64 locator: end record offset %llu is past the "
                       "end of the file (%llu bytes)", (unsigned long long)declared,
                       (unsigned long long)p->src->size);
    return fail_at(p, loc_pos, "ZIP64 locator: no ZIP64 end record at offset %llu",
                   (unsigned long long)declared);
}

/* A field of the end record that must agree with its ZIP64 counterpart
 * unless it holds the "see ZIP64" sentinel. */
static bool agree(parser *p, uint64_t at, const char *what, uint64_t v32, uint64_t sentinel,
                  uint64_t v64) {
    if (v32 == sentinel || v32 == v64)
        return true;
    return fail_at(p, at, "ZIP64 mismatch: the end record says %s is %llu, the ZIP64 "
                   "end record says %llu", what, (unsigned long long)v32,
                   (unsigned long long)v64);
}

static bool read_zip64_end(parser *p, uint64_t eocd_pos, const uint8_t *eocd, end_info *e) {
    uint64_t loc_pos = eocd_pos - LF_ZIP64_LOCATOR_SIZE;
    uint8_t loc[LF_ZIP64_LOCATOR_SIZE], r[LF_ZIP64_END_SIZE];
    if (!rd(p, loc_pos, loc, sizeof(loc)))
        return false;
    if (lf_get32(loc + 4) != 0 || lf_get32(loc + 16) > 1)
        return multi_disk(p, loc_pos);
    uint64_t pos = 0;
    if (!find_zip64_end(p, loc_pos, lf_get64(loc + 8), &pos) || !rd(p, pos, r, sizeof(r)))
        return false;
    uint64_t rsize = lf_get64(r + 4);
    if (rsize < LF_ZIP64_END_SIZE - 12 || rsize > loc_pos - pos - 12)
        return fail_at(p, pos, "ZIP64 end record size %llu does not fit between its "
                       "start and the locator at %llu", (unsigned long long)rsize,
                       (unsigned long long)loc_pos);
    if (lf_get32(r + 16) != 0 || lf_get32(r + 20) != 0)
        return multi_disk(p, pos);
    e->n = lf_get64(r + 32);
    e->cd_size = lf_get64(r + 40);
    e->cd_offset = lf_get64(r + 48);
    e->end_offset = pos;
    if (lf_get64(r + 24) != e->n)
        return fail_at(p, pos, "ZIP64 end record: %llu entries on this disk but %llu in "
                       "all", (unsigned long long)lf_get64(r + 24), (unsigned long long)e->n);
    return agree(p, eocd_pos, "the entry count", lf_get16(eocd + 10), 0xffff, e->n) &&
           agree(p, eocd_pos, "the central directory size", lf_get32(eocd + 12),
                 0xffffffff, e->cd_size) &&
           agree(p, eocd_pos, "the central directory offset", lf_get32(eocd + 16),
                 0xffffffff, e->cd_offset);
}

/* 1 with e filled, 0 when there is no end record, -1 on error. */
static int read_end(parser *p, end_info *e) {
    uint8_t r[LF_ZIP_END_SIZE];
    uint64_t pos;
    int found = find_end(p, &pos, r);
    if (found <= 0) {
        if (found == 0)
            lf_fail(p->err, "%s: not a zip archive (no end of central directory record)",
                    p->name);
        return found;
    }
    memset(e, 0, sizeof(*e));
    e->comment_len = lf_get16(r + 20);
    uint8_t loc[4];
    if (pos >= LF_ZIP64_LOCATOR_SIZE) {
        if (!rd(p, pos - LF_ZIP64_LOCATOR_SIZE, loc, 4))
            return -1;
        e->zip64 = lf_get32(loc) == LF_ZIP64_LOCATOR_SIG;
    }
    if (e->zip64)
        return read_zip64_end(p, pos, r, e) ? 1 : -1;
    if (lf_get16(r + 4) != 0 || lf_get16(r + 6) != 0)
        return multi_disk(p, pos), -1;
    e->n = lf_get16(r + 10);
    e->cd_size = lf_get32(r + 12);
    e->cd_offset = lf_get32(r + 16);
    e->end_offset = pos;
    if (lf_get16(r + 8) != e->n)
        return fail_at(p, pos, "end record: %u entries on this disk but %llu in all",
                       lf_get16(r + 8), (unsigned long long)e->n), -1;
    return 1;
}

/* Checks where the central directory lies and reads it into z->cd. */
static bool load_cd(parser *p, const end_info *e) {
    uint64_t at = e->end_offset;
    if (e->cd_size > e->end_offset)
        return fail_at(p, at, "central directory size %llu is larger than the %llu bytes "
                       "before the end record", (unsigned long long)e->cd_size,
                       (unsigned long long)e->end_offset);
    uint64_t start = e->end_offset - e->cd_size;
    if (e->cd_offset > p->src->size)
        return fail_at(p, at, "central directory offset %llu is past the end of the file "
                       "(%llu bytes)", (unsigned long long)e->cd_offset,
                       (unsigned long long)p->src->size);
    if (e->cd_offset > start)
        return fail_at(p, at, "central directory [%llu, +%llu) runs into the end record "
                       "at %llu (truncated or wrong size)", (unsigned long long)e->cd_offset,
                       (unsigned long long)e->cd_size, (unsigned long long)e->end_offset);
    if (e->cd_size > LF_ZIP_MAX_CD_SIZE)
        return fail_at(p, at, "central directory of %llu bytes is too large",
                       (unsigned long long)e->cd_size);
    if (e->n > e->cd_size / LF_ZIP_CENTRAL_SIZE)
        return fail_at(p, at, "%llu entries cannot fit in a central directory of %llu "
                       "bytes (truncated?)", (unsigned long long)e->n,
                       (unsigned long long)e->cd_size);
    p->bias = start - e->cd_offset;
    p->z->cd_offset = start;
    p->z->end_offset = e->end_offset;
    p->z->cd = malloc(e->cd_size ? e->cd_size : 1);
    if (!p->z->cd)
        return lf_fail(p->err, "%s: out of memory", p->name);
    if (!rd(p, start, p->z->cd, e->cd_size))
        return false;
    if (e->n && lf_get32(p->z->cd) != LF_ZIP_CENTRAL_SIG)
        return fail_at(p, start, "no central directory record here (the end record "
                       "says the directory starts at %llu)", (unsigned long long)e->cd_offset);
    return true;
}

/* The 32-bit fields of a central record, and their 64-bit values. */
typedef struct sizes {
    uint32_t csize, usize, lho;
    uint16_t disk;
} sizes;

/* Takes the values of the fields holding 0xffffffff from the ZIP64 extra
 * field, and removes that field from the extra data kept for rewriting. */
static bool zip64_fields(parser *p, uint64_t at, const char *who, uint8_t *x,
                         uint16_t *xlen, const sizes *s, lf_zip_rec *r, uint64_t *lho) {
    bool want[4] = {s->usize == 0xffffffffu, s->csize == 0xffffffffu,
                    s->lho == 0xffffffffu, s->disk == 0xffffu};
    unsigned need = want[0] * 8 + want[1] * 8 + want[2] * 8 + want[3] * 4;
    bool seen = false;
    unsigned i = 0, out = 0;
    while (i < *xlen) {
        unsigned len = *xlen - i >= 4 ? lf_get16(x + i + 2) : 0;
        if (*xlen - i < 4 || len > *xlen - i - 4u)
            return fail_at(p, at, "%s: extra field runs past its end", who);
        if (lf_get16(x + i) == LF_ZIP64_EXTRA_ID) {
            if (seen)
                return fail_at(p, at, "%s: two ZIP64 extra fields", who);
            seen = true;
            if (len < need)
                return fail_at(p, at, "%s: ZIP64 extra field holds %u bytes, fewer than "
                               "the %u its 0xffffffff fields need", who, len, need);
            const uint8_t *v = x + i + 4;
            if (want[0])
                r->e.size = lf_get64(v), v += 8;
            if (want[1])
                r->e.compressed_size = lf_get64(v), v += 8;
            if (want[2])
                *lho = lf_get64(v), v += 8;
            if (want[3] && lf_get32(v) != 0)
                return multi_disk(p, at);
        } else {
            memmove(x + out, x + i, 4 + len);
            out += 4 + len;
        }
        i += 4 + len;
    }
    if (need && !seen)
        return fail_at(p, at, "%s: a size or offset is 0xffffffff but there is no ZIP64 "
                       "extra field", who);
    if (!want[3] && s->disk != 0)
        return multi_disk(p, at);
    *xlen = (uint16_t)out;
    return true;
}

/* Parses central record i at cd[*off], advancing *off past it. */
static bool read_record(parser *p, int64_t i, uint64_t *off, uint64_t cd_size,
                        uint8_t **names) {
    lf_zip *z = p->z;
    uint8_t *c = z->cd + *off;
    uint64_t at = z->cd_offset + *off;
    if (cd_size - *off < LF_ZIP_CENTRAL_SIZE)
        return fail_at(p, at, "entry %lld: record runs past the end of the central "
                       "directory (truncated)", (long long)i);
    if (lf_get32(c) != LF_ZIP_CENTRAL_SIG)
        return fail_at(p, at, "entry %lld: bad central directory signature 0x%08x",
                       (long long)i, lf_get32(c));
    uint16_t nlen = lf_get16(c + 28), xlen = lf_get16(c + 30), clen = lf_get16(c + 32);
    uint64_t total = (uint64_t)LF_ZIP_CENTRAL_SIZE + nlen + xlen + clen;
    if (total > cd_size - *off)
        return fail_at(p, at, "entry %lld: name, extra field and comment run past the "
                       "end of the central directory (truncated)", (long long)i);
    const char *name = (const char *)c + LF_ZIP_CENTRAL_SIZE;
    if (nlen == 0)
        return fail_at(p, at, "entry %lld: empty name", (long long)i);
    if (memchr(name, 0, nlen))
        return fail_at(p, at, "entry %lld: name contains a NUL byte", (long long)i);
    char q[80], who[120];
    snprintf(who, sizeof(who), "entry %lld '%s'", (long long)i,
             lf_zip_quote(name, nlen, q, sizeof(q)));

    lf_zip_rec *r = &z->recs[i];
    memset(r, 0, sizeof(*r));
    sizes s = {lf_get32(c + 20), lf_get32(c + 24), lf_get32(c + 42), lf_get16(c + 34)};
    r->e.compressed_size = s.csize;
    r->e.size = s.usize;
    uint64_t lho = s.lho;
    uint8_t *x = c + LF_ZIP_CENTRAL_SIZE + nlen;
    r->extra_len = xlen;
    if (!zip64_fields(p, at, who, x, &r->extra_len, &s, r, &lho))
        return false;
    if (lho >= p->src->size)
        return fail_at(p, at, "%s: local header offset %llu is past the end of the file "
                       "(%llu bytes)", who, (unsigned long long)lho,
                       (unsigned long long)p->src->size);
    memcpy(*names, name, nlen);
    (*names)[nlen] = 0;
    r->e.name = (const char *)*names;
    r->e.name_len = nlen;
    *names += nlen + 1;
    r->made_by = lf_get16(c + 4);
    r->needed = lf_get16(c + 6);
    r->e.flags = lf_get16(c + 8);
    r->e.method = lf_get16(c + 10);
    r->mtime = lf_get16(c + 12);
    r->mdate = lf_get16(c + 14);
    r->e.crc32 = lf_get32(c + 16);
    r->iattr = lf_get16(c + 36);
    r->eattr = lf_get32(c + 38);
    r->e.mode = r->made_by >> 8 == 3 ? r->eattr >> 16 : 0;
    r->e.header_offset = lho + p->bias;
    r->extra = x;
    r->comment = x + xlen;
    r->comment_len = clen;
    *off += total;
    return true;
}

/* Checks record i's local header and data against the file and the
 * central directory, and finds where its data starts. */
static bool check_local(parser *p, int64_t i) {
    lf_zip_rec *r = &p->z->recs[i];
    uint64_t lho = r->e.header_offset, cd = p->z->cd_offset;
    char q[80];
    const char *qn = lf_zip_quote(r->e.name, r->e.name_len, q, sizeof(q));
    if (lho >= cd || cd - lho < LF_ZIP_LOCAL_SIZE)
        return fail_at(p, lho, "entry %lld '%s': local header lies in the central "
                       "directory (which starts at %llu)", (long long)i, qn,
                       (unsigned long long)cd);
    uint8_t h[LF_ZIP_LOCAL_SIZE];
    if (!rd(p, lho, h, sizeof(h)))
        return false;
    if (lf_get32(h) != LF_ZIP_LOCAL_SIG)
        return fail_at(p, lho, "entry %lld '%s': no local file header here (found "
                       "0x%08x)", (long long)i, qn, lf_get32(h));
    uint64_t data = lho + LF_ZIP_LOCAL_SIZE + lf_get16(h + 26) + lf_get16(h + 28);
    if (data > cd)
        return fail_at(p, lho, "entry %lld '%s': local header runs into the central "
                       "directory at %llu", (long long)i, qn, (unsigned long long)cd);
    if (lf_get16(h + 26) != r->e.name_len)
        return fail_at(p, lho, "entry %lld '%s': local header name length %u differs "
                       "from the central directory's %zu", (long long)i, qn,
                       lf_get16(h + 26), r->e.name_len);
    char name[256];
    for (size_t done = 0; done < r->e.name_len;) {
        size_t n = r->e.name_len - done < sizeof(name) ? r->e.name_len - done : sizeof(name);
        if (!rd(p, lho + LF_ZIP_LOCAL_SIZE + done, name, n))
            return false;
        if (memcmp(name, r->e.name + done, n))
            return fail_at(p, lho, "entry %lld '%s': local header name differs from "
                           "the central directory's", (long long)i, qn);
        done += n;
    }
    if (r->e.compressed_size > cd - data)
        return fail_at(p, lho, "entry %lld '%s': data [%llu, +%llu) runs past the start "
                       "of the central directory at %llu", (long long)i, qn,
                       (unsigned long long)data, (unsigned long long)r->e.compressed_size,
                       (unsigned long long)cd);
    if (r->e.method == 0 && !(r->e.flags & 1) && r->e.compressed_size != r->e.size)
        return fail_at(p, lho, "entry %lld '%s': stored, yet its compressed size %llu "
                       "differs from its size %llu", (long long)i, qn,
                       (unsigned long long)r->e.compressed_size,
                       (unsigned long long)r->e.size);
    r->e.data_offset = data;
    return true;
}

static int by_offset(const void *a, const void *b) {
    const lf_zip_rec *x = *(const lf_zip_rec *const *)a, *y = *(const lf_zip_rec *const *)b;
    return x->e.header_offset < y->e.header_offset ? -1 : x->e.header_offset > y->e.header_offset;
}

static int by_name(const void *a, const void *b) {
    const lf_zip_rec *x = *(const lf_zip_rec *const *)a, *y = *(const lf_zip_rec *const *)b;
    size_t n = x->e.name_len < y->e.name_len ? x->e.name_len : y->e.name_len;
    int c = memcmp(x->e.name, y->e.name, n);
    return c ? c : (x->e.name_len > y->e.name_len) - (x->e.name_len < y->e.name_len);
}

/* No two entries may share bytes or a name. */
static bool check_overlaps(parser *p) {
    lf_zip *z = p->z;
    if (z->n < 2)
        return true;
    lf_zip_rec **v = malloc((size_t)z->n * sizeof(*v));
    if (!v)
        return lf_fail(p->err, "%s: out of memory", p->name);
    for (int64_t i = 0; i < z->n; i++)
        v[i] = &z->recs[i];
    bool ok = true;
    char qa[80], qb[80];
    qsort(v, (size_t)z->n, sizeof(*v), by_offset);
    for (int64_t i = 0; ok && i + 1 < z->n; i++) {
        const lf_zip_entry *a = &v[i]->e, *b = &v[i + 1]->e;
        uint64_t end = a->data_offset + a->compressed_size;
        if (end > b->header_offset)
            ok = fail_at(p, b->header_offset, "entries '%s' and '%s' overlap ('%s' ends "
                         "at %llu)", lf_zip_quote(a->name, a->name_len, qa, sizeof(qa)),
                         lf_zip_quote(b->name, b->name_len, qb, sizeof(qb)), qa,
                         (unsigned long long)end);
    }
    qsort(v, (size_t)z->n, sizeof(*v), by_name);
    for (int64_t i = 0; ok && i + 1 < z->n; i++)
        if (by_name(&v[i], &v[i + 1]) == 0)
            ok = fail_at(p, z->cd_offset, "name '%s' appears twice in the central directory",
                         lf_zip_quote(v[i]->e.name, v[i]->e.name_len, qa, sizeof(qa)));
    free(v);
    return ok;
}

static bool read_records(parser *p, const end_info *e) {
    lf_zip *z = p->z;
    z->recs = calloc(e->n ? e->n : 1, sizeof(*z->recs));
    z->names = malloc(e->cd_size + 1);
    if (!z->recs || !z->names)
        return lf_fail(p->err, "%s: out of memory", p->name);
    uint8_t *names = z->names;
    uint64_t off = 0;
    for (z->n = 0; z->n < (int64_t)e->n; z->n++)
        if (!read_record(p, z->n, &off, e->cd_size, &names))
            return false;
    for (int64_t i = 0; i < z->n; i++)
        if (!check_local(p, i))
            return false;
    return check_overlaps(p);
}

int lf_zip_parse(const lf_zip_src *src, const char *name, lf_zip **out, lf_error *err) {
    *out = NULL;
    lf_zip *z = lf_zip_new_empty(name, err);
    if (!z)
        return -1;
    z->src = *src;
    parser p = {src, name, err, z, 0};
    end_info e;
    int found = read_end(&p, &e);
    if (found <= 0) {
        lf_zip_close(z);
        return found;
    }
    if (e.comment_len) {
        z->comment = malloc(e.comment_len);
        if (!z->comment || !rd(&p, src->size - e.comment_len, z->comment, e.comment_len)) {
            if (!z->comment)
                lf_fail(err, "%s: out of memory", name);
            lf_zip_close(z);
            return -1;
        }
        z->comment_len = e.comment_len;
    }
    if (!load_cd(&p, &e) || !read_records(&p, &e)) {
        lf_zip_close(z);
        return -1;
    }
    *out = z;
    return 1;
}
