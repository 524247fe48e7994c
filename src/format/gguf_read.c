/* gguf_read.c — parsing and validating one GGUF (v2/v3) held in memory.
 *
 * Nothing is copied: keys, strings and tensor data point into the buffer.
 * Every count, length and offset is checked against the bytes that remain
 * before it is used, so an allocation is never larger than a small multiple
 * of the input. Errors read `NAME: offset N: [key 'k': |tensor 't': ]what`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "format/gguf.h"

/* Smallest encodings, used to bound counts by the bytes remaining. */
#define MIN_KV_BYTES 14     /* u64 len, 1-byte key, u32 type, 1-byte value */
#define MIN_TENSOR_BYTES 25 /* u64 len, 1-byte name, u32 n_dims, u32 type, u64 offset */

typedef struct reader {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    const char *name;
    lf_error *err;
    char what[96]; /* "key 'k': " or "tensor 't': " while parsing one */
} reader;

__attribute__((format(printf, 3, 4)))
static bool fail_at(reader *r, uint64_t at, const char *fmt, ...) {
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return lf_fail(r->err, "%s: offset %llu: %s%s", r->name,
                   (unsigned long long)at, r->what, msg);
}

static uint64_t remaining(const reader *r) {
    return r->size - r->pos;
}

static bool need(reader *r, uint64_t n, const char *field) {
    if (n <= remaining(r))
        return true;
    return fail_at(r, r->pos, "%s runs past the end of the file (%llu bytes)",
                   field, (unsigned long long)r->size);
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static bool read_u32(reader *r, uint32_t *v, const char *field) {
    if (!need(r, 4, field))
        return false;
    *v = get_u32(r->p + r->pos);
    r->pos += 4;
    return true;
}

static bool read_u64(reader *r, uint64_t *v, const char *field) {
    if (!need(r, 8, field))
        return false;
    *v = get_u64(r->p + r->pos);
    r->pos += 8;
    return true;
}

static bool read_str(reader *r, lf_str *s, const char *field) {
    uint64_t at = r->pos;
    if (!read_u64(r, &s->len, field))
        return false;
    if (s->len > remaining(r))
        return fail_at(r, at, "%s of %llu bytes runs past the end of the file (%llu bytes)",
                       field, (unsigned long long)s->len, (unsigned long long)r->size);
    s->ptr = (const char *)r->p + r->pos;
    r->pos += s->len;
    return true;
}

lf_gguf_value lf_gguf_decode_scalar(int type, const uint8_t *p) {
    lf_gguf_value v;
    memset(&v, 0, sizeof(v));
    v.type = type;
    switch (type) {
    case LF_GGUF_UINT8: v.v.u = p[0]; break;
    case LF_GGUF_INT8: v.v.i = (int8_t)p[0]; break;
    case LF_GGUF_UINT16: v.v.u = (uint16_t)(p[0] | p[1] << 8); break;
    case LF_GGUF_INT16: v.v.i = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case LF_GGUF_UINT32: v.v.u = get_u32(p); break;
    case LF_GGUF_INT32: v.v.i = (int32_t)get_u32(p); break;
    case LF_GGUF_UINT64: v.v.u = get_u64(p); break;
    case LF_GGUF_INT64: v.v.i = (int64_t)get_u64(p); break;
    case LF_GGUF_BOOL: v.v.b = p[0] != 0; break;
    case LF_GGUF_FLOAT32: {
        uint32_t bits = get_u32(p);
        float f;
        memcpy(&f, &bits, 4);
        v.v.f = f;
        break;
    }
    case LF_GGUF_FLOAT64: {
        uint64_t bits = get_u64(p);
        memcpy(&v.v.f, &bits, 8);
        break;
    }
    default: break;
    }
    return v;
}

static bool check_bools(reader *r, const uint8_t *p, uint64_t n) {
    for (uint64_t j = 0; j < n; j++)
        if (p[j] > 1)
            return fail_at(r, (uint64_t)(p + j - r->p),
                           "bool value must be 0 or 1, got %u", p[j]);
    return true;
}

static bool parse_array(reader *r, lf_gguf_kv *kv) {
    uint32_t et;
    uint64_t at = r->pos;
    if (!read_u32(r, &et, "array element type"))
        return false;
    if (et == LF_GGUF_ARRAY)
        return fail_at(r, at, "nested array (array of arrays) is not supported");
    if (et >= LF_GGUF_TYPE_COUNT)
        return fail_at(r, at, "unknown array element type %u", et);
    uint64_t n;
    at = r->pos;
    if (!read_u64(r, &n, "array length"))
        return false;
    kv->value.arr_type = (int)et;
    kv->value.arr_n = n;
    kv->arr = r->p + r->pos;
    uint64_t esz = lf_gguf_scalar_size((int)et);
    if (esz) {
        if (n > remaining(r) / esz)
            return fail_at(r, at, "array of %llu %s values runs past the end of the file (%llu bytes)",
                           (unsigned long long)n, lf_gguf_type_name((int)et),
                           (unsigned long long)r->size);
        if (et == LF_GGUF_BOOL && !check_bools(r, kv->arr, n))
            return false;
        r->pos += n * esz;
        return true;
    }
    /* Strings: each takes at least its 8-byte length, which bounds the index. */
    if (n > remaining(r) / 8)
        return fail_at(r, at, "array of %llu strings runs past the end of the file (%llu bytes)",
                       (unsigned long long)n, (unsigned long long)r->size);
    kv->str_index = lf_malloc(n ? n * sizeof(uint64_t) : 1);
    if (!kv->str_index)
        return fail_at(r, at, "out of memory for an array of %llu strings",
                       (unsigned long long)n);
    uint64_t start = r->pos;
    for (uint64_t j = 0; j < n; j++) {
        lf_str s;
        kv->str_index[j] = r->pos - start;
        if (!read_str(r, &s, "array string"))
            return false;
    }
    return true;
}

static bool parse_value(reader *r, lf_gguf_kv *kv) {
    uint32_t type;
    uint64_t at = r->pos;
    if (!read_u32(r, &type, "value type"))
        return false;
    if (type >= LF_GGUF_TYPE_COUNT)
        return fail_at(r, at, "unknown value type %u", type);
    kv->value.type = (int)type;
    if (type == LF_GGUF_ARRAY)
        return parse_array(r, kv);
    if (type == LF_GGUF_STRING)
        return read_str(r, &kv->value.v.s, "string value");
    uint64_t esz = lf_gguf_scalar_size((int)type);
    if (!need(r, esz, "value"))
        return false;
    const uint8_t *p = r->p + r->pos;
    if (type == LF_GGUF_BOOL && !check_bools(r, p, 1))
        return false;
    kv->value = lf_gguf_decode_scalar((int)type, p);
    r->pos += esz;
    return true;
}

static const lf_str *kv_key_of(const void *ctx, int64_t i) {
    return &((const lf_gguf_kv *)ctx)[i].key;
}

static const lf_str *tensor_name_of(const void *ctx, int64_t i) {
    return &((const lf_gguf_tensor *)ctx)[i].name;
}

static void set_what(reader *r, const char *kind, const lf_str *s) {
    char q[80];
    if (kind)
        snprintf(r->what, sizeof(r->what), "%s '%s': ", kind,
                 lf_gguf_quote(q, sizeof(q), s->ptr, s->len));
    else
        r->what[0] = 0;
}

static bool parse_kvs(reader *r, lf_gguf *g, uint64_t count_at) {
    if ((uint64_t)g->n_kv > remaining(r) / MIN_KV_BYTES)
        return fail_at(r, count_at, "kv_count %lld: that many keys run past the end of the file (%llu bytes)",
                       (long long)g->n_kv, (unsigned long long)r->size);
    g->kv = lf_calloc((size_t)g->n_kv + 1, sizeof(lf_gguf_kv));
    if (!g->kv || !lf_gguf_index_init(&g->kv_index, g->n_kv, kv_key_of, g->kv))
        return fail_at(r, count_at, "out of memory for %lld keys", (long long)g->n_kv);
    for (int64_t i = 0; i < g->n_kv; i++) {
        lf_gguf_kv *kv = &g->kv[i];
        uint64_t at = r->pos;
        set_what(r, NULL, NULL);
        if (!read_str(r, &kv->key, "key"))
            return false;
        if (kv->key.len == 0)
            return fail_at(r, at, "empty key (key #%lld)", (long long)i);
        set_what(r, "key", &kv->key);
        if (kv->key.len > LF_GGUF_MAX_KEY)
            return fail_at(r, at, "key is %llu bytes, longer than %d",
                           (unsigned long long)kv->key.len, LF_GGUF_MAX_KEY);
        if (lf_gguf_index_add(&g->kv_index, i) >= 0)
            return fail_at(r, at, "duplicate key");
        if (!parse_value(r, kv))
            return false;
    }
    set_what(r, NULL, NULL);
    return true;
}

/* general.alignment: must be a u32 power of two (ggml rejects the rest). */
static bool parse_alignment(reader *r, lf_gguf *g) {
    g->alignment = LF_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = lf_gguf_find_key(g, "general.alignment");
    if (i < 0)
        return true;
    const lf_gguf_kv *kv = &g->kv[i];
    /* Report at the value: key length (8) + key + value type (4). */
    uint64_t at = (uint64_t)((const uint8_t *)kv->key.ptr - r->p) + kv->key.len + 4;
    set_what(r, "key", &kv->key);
    if (kv->value.type != LF_GGUF_UINT32)
        return fail_at(r, at, "must be of type uint32, got %s",
                       lf_gguf_type_name(kv->value.type));
    if (!lf_gguf_is_pow2(kv->value.v.u))
        return fail_at(r, at, "must be a power of two, got %llu",
                       (unsigned long long)kv->value.v.u);
    g->alignment = (uint32_t)kv->value.v.u;
    set_what(r, NULL, NULL);
    return true;
}

static bool is_removed_type(uint32_t t) {
    return t == 4 || t == 5 || (t >= 31 && t <= 33) || (t >= 36 && t <= 38);
}

static bool parse_shape(reader *r, lf_gguf_tensor *t) {
    uint32_t n_dims;
    uint64_t at = r->pos;
    if (!read_u32(r, &n_dims, "n_dims"))
        return false;
    if (n_dims > LF_GGUF_MAX_DIMS)
        return fail_at(r, at, "n_dims is %u, more than %d", n_dims, LF_GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    int64_t nelem = 1;
    for (int d = 0; d < LF_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->n_dims)
            continue;
        uint64_t u;
        at = r->pos;
        if (!read_u64(r, &u, "dimension"))
            return false;
        if ((int64_t)u <= 0)
            return fail_at(r, at, "dimension %d is %lld, must be positive", d,
                           (long long)(int64_t)u);
        t->ne[d] = (int64_t)u;
        if (__builtin_mul_overflow(nelem, t->ne[d], &nelem))
            return fail_at(r, at, "shape overflows 64 bits");
    }
    uint32_t type;
    at = r->pos;
    if (!read_u32(r, &type, "tensor type"))
        return false;
    if (is_removed_type(type))
        return fail_at(r, at, "tensor type %u was removed from ggml", type);
    int64_t blck = lf_type_block_size((int)type);
    int64_t bsz = lf_type_block_bytes((int)type);
    if (blck <= 0 || bsz <= 0)
        return fail_at(r, at, "unknown tensor type %u", type);
    t->type = (int)type;
    if (t->ne[0] % blck)
        return fail_at(r, at, "ne[0] = %lld is not a multiple of the %s block size %lld",
                       (long long)t->ne[0], lf_type_name(t->type), (long long)blck);
    uint64_t nbytes;
    if (__builtin_mul_overflow((uint64_t)(nelem / blck), (uint64_t)bsz, &nbytes) ||
        nbytes > INT64_MAX)
        return fail_at(r, at, "size of the data overflows 64 bits");
    t->nbytes = nbytes;
    return true;
}

static bool parse_tensor_infos(reader *r, lf_gguf *g, uint64_t *info_at) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        lf_gguf_tensor *t = &g->tensors[i];
        uint64_t at = r->pos;
        info_at[i] = at;
        set_what(r, NULL, NULL);
        if (!read_str(r, &t->name, "tensor name"))
            return false;
        if (t->name.len == 0)
            return fail_at(r, at, "empty tensor name (tensor #%lld)", (long long)i);
        set_what(r, "tensor", &t->name);
        if (t->name.len > LF_GGUF_MAX_NAME)
            return fail_at(r, at, "name is %llu bytes, longer than %d",
                           (unsigned long long)t->name.len, LF_GGUF_MAX_NAME);
        if (lf_gguf_index_add(&g->tensor_index, i) >= 0)
            return fail_at(r, at, "duplicate tensor name");
        if (!parse_shape(r, t))
            return false;
        at = r->pos;
        if (!read_u64(r, &t->offset, "tensor data offset"))
            return false;
        if (t->offset % g->alignment)
            return fail_at(r, at, "data offset %llu is not a multiple of the alignment %u",
                           (unsigned long long)t->offset, g->alignment);
    }
    set_what(r, NULL, NULL);
    return true;
}

typedef struct extent {
    uint64_t start, end;
    int64_t i;
} extent;

static int cmp_extent(const void *a, const void *b) {
    const extent *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Places the data section and checks every tensor lies inside the file,
 * without overlapping another. */
static bool check_tensor_data(reader *r, lf_gguf *g, const uint64_t *info_at) {
    extent *ex = lf_malloc((size_t)g->n_tensors * sizeof(extent) + 1);
    if (!ex)
        return fail_at(r, r->pos, "out of memory");
    bool ok = true;
    for (int64_t i = 0; ok && i < g->n_tensors; i++) {
        lf_gguf_tensor *t = &g->tensors[i];
        uint64_t start, end;
        set_what(r, "tensor", &t->name);
        if (__builtin_add_overflow(g->data_offset, t->offset, &start) ||
            __builtin_add_overflow(start, t->nbytes, &end) || end > r->size) {
            ok = fail_at(r, info_at[i], "data (%llu bytes at data offset %llu + %llu) runs past the end of the file (%llu bytes)",
                         (unsigned long long)t->nbytes, (unsigned long long)g->data_offset,
                         (unsigned long long)t->offset, (unsigned long long)r->size);
            break;
        }
        t->file_offset = start;
        t->data = r->p + start;
        ex[i] = (extent){start, end, i};
    }
    if (ok)
        qsort(ex, (size_t)g->n_tensors, sizeof(extent), cmp_extent);
    for (int64_t k = 1; ok && k < g->n_tensors; k++) {
        if (ex[k].start >= ex[k - 1].end)
            continue;
        /* Blame whichever of the two comes later in the tensor table. */
        int64_t a = ex[k - 1].i, b = ex[k].i;
        int64_t i = a > b ? a : b;
        const lf_gguf_tensor *o = &g->tensors[a > b ? b : a];
        char q[80];
        set_what(r, "tensor", &g->tensors[i].name);
        ok = fail_at(r, info_at[i], "data overlaps tensor '%s'",
                     lf_gguf_quote(q, sizeof(q), o->name.ptr, o->name.len));
    }
    free(ex);
    set_what(r, NULL, NULL);
    return ok;
}

static bool parse_header(reader *r, lf_gguf *g) {
    if (r->size < 4 || memcmp(r->p, LF_GGUF_MAGIC, 4))
        return fail_at(r, 0, "not a GGUF file (bad magic)");
    if (r->size < 24)
        return fail_at(r, r->size, "truncated header: file is %llu bytes, a GGUF header needs 24",
                       (unsigned long long)r->size);
    r->pos = 4;
    read_u32(r, &g->version, "version");
    if (g->version && !(g->version & 0xffff))
        return fail_at(r, 4, "byte-swapped (big-endian) GGUF is not supported (version reads as 0x%08x)",
                       g->version);
    if (g->version != 2 && g->version != 3)
        return fail_at(r, 4, "unsupported GGUF version %u (only 2 and 3 are)", g->version);
    uint64_t nt, nk;
    read_u64(r, &nt, "tensor_count");
    read_u64(r, &nk, "kv_count");
    if (nt > INT64_MAX)
        return fail_at(r, 8, "tensor_count %llu is negative", (unsigned long long)nt);
    if (nk > INT64_MAX)
        return fail_at(r, 16, "kv_count %llu is negative", (unsigned long long)nk);
    g->n_tensors = (int64_t)nt;
    g->n_kv = (int64_t)nk;
    return true;
}

static bool parse_all(reader *r, lf_gguf *g) {
    const uint64_t nt_at = 8, nk_at = 16; /* where the header keeps the counts */
    if (!parse_header(r, g) || !parse_kvs(r, g, nk_at) ||
        !parse_alignment(r, g))
        return false;
    if ((uint64_t)g->n_tensors > remaining(r) / MIN_TENSOR_BYTES)
        return fail_at(r, nt_at, "tensor_count %lld: that many tensors run past the end of the file (%llu bytes)",
                       (long long)g->n_tensors, (unsigned long long)r->size);
    size_t n = (size_t)g->n_tensors;
    g->tensors = lf_calloc(n + 1, sizeof(lf_gguf_tensor));
    uint64_t *info_at = lf_malloc((n + 1) * sizeof(uint64_t));
    bool ok = g->tensors && info_at &&
              lf_gguf_index_init(&g->tensor_index, g->n_tensors, tensor_name_of, g->tensors);
    if (!ok)
        ok = fail_at(r, nt_at, "out of memory for %lld tensors", (long long)g->n_tensors);
    ok = ok && parse_tensor_infos(r, g, info_at);
    if (ok) {
        /* Where the infos end is at most the file size, so this cannot wrap. */
        g->data_offset = lf_gguf_align_up(r->pos, g->alignment);
        if (g->n_tensors > 0 && g->data_offset > r->size)
            ok = fail_at(r, r->pos, "data section (aligned to %u) starts past the end of the file (%llu bytes)",
                         g->alignment, (unsigned long long)r->size);
    }
    ok = ok && check_tensor_data(r, g, info_at);
    free(info_at);
    return ok;
}

lf_gguf *lf_gguf_parse(const void *base, uint64_t size, const char *name,
                       lf_error *err) {
    lf_gguf *g = lf_calloc(1, sizeof(lf_gguf));
    if (!g) {
        lf_fail(err, "%s: out of memory", name);
        return NULL;
    }
    g->base = base;
    g->size = size;
    g->n_shards = 1;
    reader r = {.p = base, .size = size, .name = name, .err = err};
    if (!base && size) {
        lf_fail(err, "%s: no data", name);
        lf_gguf_close(g);
        return NULL;
    }
    if (!parse_all(&r, g)) {
        lf_gguf_close(g);
        return NULL;
    }
    return g;
}
