/* gguf_write.c — building a GGUF v3 file: metadata in insertion order, then
 * tensor infos, then tensor data, each tensor padded with zeros to the
 * alignment (general.alignment if set, else 32), as ggml writes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/error.h"
#include "format/gguf.h"
#include "platform/replace_file.h"

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} wbuf;

typedef struct wkv {
    char *key;
    wbuf val; /* u32 type, then the encoded value */
} wkv;

typedef struct wtensor {
    char *name;
    int type;
    int n_dims;
    int64_t ne[LF_GGUF_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
} wtensor;

struct lf_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    uint32_t alignment;
};

static void put(wbuf *b, const void *p, size_t n) {
    if (b->oom)
        return;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 64;
        while (n > cap - b->n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *q = lf_realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u32(wbuf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(wbuf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(wbuf *b, const char *s, size_t len) {
    put_u64(b, len);
    put(b, s, len);
}

/* Appends n values of a fixed-size type from host memory, little-endian. */
static void put_scalars(wbuf *b, int type, const void *data, uint64_t n) {
    uint64_t esz = lf_gguf_scalar_size(type);
    const uint8_t *p = data;
    for (uint64_t j = 0; j < n && !b->oom; j++, p += esz) {
        uint64_t v = 0;
        switch (esz) {
        case 1: v = *p; break;
        case 2: { uint16_t x; memcpy(&x, p, 2); v = x; break; }
        case 4: { uint32_t x; memcpy(&x, p, 4); v = x; break; }
        default: memcpy(&v, p, 8); break;
        }
        if (type == LF_GGUF_BOOL)
            v = v != 0;
        uint8_t le[8];
        for (uint64_t k = 0; k < esz; k++)
            le[k] = (uint8_t)(v >> (8 * k));
        put(b, le, (size_t)esz);
    }
}

lf_gguf_writer *lf_gguf_writer_new(void) {
    lf_gguf_writer *w = lf_calloc(1, sizeof(lf_gguf_writer));
    if (w)
        w->alignment = LF_GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void lf_gguf_writer_free(lf_gguf_writer *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val.p);
    }
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

static bool grow(void **p, size_t *cap, size_t n, size_t elem) {
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 16;
    if (c > SIZE_MAX / elem)
        return false;
    void *q = lf_realloc(*p, c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* general.alignment also decides the layout, so it is checked here. */
static bool check_alignment_key(lf_gguf_writer *w, const wbuf *v, lf_error *err) {
    uint32_t a = 0, type = (uint32_t)lf_gguf_decode_scalar(LF_GGUF_UINT32, v->p).v.u;
    if (type == LF_GGUF_UINT32)
        a = (uint32_t)lf_gguf_decode_scalar(LF_GGUF_UINT32, v->p + 4).v.u;
    if (type != LF_GGUF_UINT32)
        return lf_fail(err, "gguf writer: key 'general.alignment': must be of type uint32, got %s",
                       lf_gguf_type_name((int)type));
    if (!lf_gguf_is_pow2(a))
        return lf_fail(err, "gguf writer: key 'general.alignment': must be a power of two, got %u", a);
    w->alignment = a;
    return true;
}

/* Takes ownership of v (freed on failure). */
static bool set_kv(lf_gguf_writer *w, const char *key, wbuf *v, lf_error *err) {
    size_t len = key ? strlen(key) : 0;
    bool ok = true;
    if (v->oom)
        ok = lf_fail(err, "gguf writer: key '%.80s': out of memory", key ? key : "");
    else if (len == 0)
        ok = lf_fail(err, "gguf writer: empty key");
    else if (len > LF_GGUF_MAX_KEY)
        ok = lf_fail(err, "gguf writer: key '%.60s...' is longer than %d bytes", key, LF_GGUF_MAX_KEY);
    else if (!strcmp(key, "general.alignment"))
        ok = check_alignment_key(w, v, err);
    if (!ok) {
        free(v->p);
        return false;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (!strcmp(w->kv[i].key, key)) {
            free(w->kv[i].val.p);
            w->kv[i].val = *v;
            return true;
        }
    }
    char *k = lf_strdup(key);
    if (!k || !grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof(wkv))) {
        free(k);
        free(v->p);
        return lf_fail(err, "gguf writer: key '%.80s': out of memory", key);
    }
    w->kv[w->n_kv++] = (wkv){k, *v};
    return true;
}

bool lf_gguf_set_scalar(lf_gguf_writer *w, const char *key, int type,
                        const void *value, lf_error *err) {
    wbuf v = {0};
    if (!value)
        return lf_fail(err, "gguf writer: key '%.80s': no value", key ? key : "");
    if (type == LF_GGUF_STRING) {
        const char *s = value;
        put_u32(&v, LF_GGUF_STRING);
        put_str(&v, s, strlen(s));
    } else if (lf_gguf_scalar_size(type)) {
        put_u32(&v, (uint32_t)type);
        put_scalars(&v, type, value, 1);
    } else {
        return lf_fail(err, "gguf writer: key '%.80s': %d is not a scalar value type",
                       key ? key : "", type);
    }
    return set_kv(w, key, &v, err);
}

bool lf_gguf_set_u32(lf_gguf_writer *w, const char *key, uint32_t v, lf_error *err) {
    return lf_gguf_set_scalar(w, key, LF_GGUF_UINT32, &v, err);
}

bool lf_gguf_set_f32(lf_gguf_writer *w, const char *key, float v, lf_error *err) {
    return lf_gguf_set_scalar(w, key, LF_GGUF_FLOAT32, &v, err);
}

bool lf_gguf_set_str(lf_gguf_writer *w, const char *key, const char *s, lf_error *err) {
    return lf_gguf_set_scalar(w, key, LF_GGUF_STRING, s, err);
}

bool lf_gguf_set_arr(lf_gguf_writer *w, const char *key, int elem_type,
                     const void *data, uint64_t n, lf_error *err) {
    if (!lf_gguf_scalar_size(elem_type))
        return lf_fail(err, "gguf writer: key '%.80s': arrays of %s need lf_gguf_set_arr_str or are not supported",
                       key ? key : "", lf_gguf_type_name(elem_type) ? lf_gguf_type_name(elem_type) : "unknown type");
    if ((n && !data) || n > SIZE_MAX / lf_gguf_scalar_size(elem_type))
        return lf_fail(err, "gguf writer: key '%.80s': bad array of %llu values",
                       key ? key : "", (unsigned long long)n);
    wbuf v = {0};
    put_u32(&v, LF_GGUF_ARRAY);
    put_u32(&v, (uint32_t)elem_type);
    put_u64(&v, n);
    put_scalars(&v, elem_type, data, n);
    return set_kv(w, key, &v, err);
}

bool lf_gguf_set_arr_str(lf_gguf_writer *w, const char *key,
                         const char *const *strs, uint64_t n, lf_error *err) {
    for (uint64_t j = 0; j < n; j++)
        if (!strs || !strs[j])
            return lf_fail(err, "gguf writer: key '%.80s': string %llu is NULL",
                           key ? key : "", (unsigned long long)j);
    wbuf v = {0};
    put_u32(&v, LF_GGUF_ARRAY);
    put_u32(&v, LF_GGUF_STRING);
    put_u64(&v, n);
    for (uint64_t j = 0; j < n && !v.oom; j++)
        put_str(&v, strs[j], strlen(strs[j]));
    return set_kv(w, key, &v, err);
}

static bool tensor_size(const char *name, int type, int n_dims, const int64_t *ne,
                        uint64_t *nbytes, lf_error *err) {
    int64_t blck = lf_type_block_size(type), bsz = lf_type_block_bytes(type);
    if (blck <= 0 || bsz <= 0)
        return lf_fail(err, "gguf writer: tensor '%s': unknown tensor type %d", name, type);
    if (n_dims < 1 || n_dims > LF_GGUF_MAX_DIMS || !ne)
        return lf_fail(err, "gguf writer: tensor '%s': n_dims is %d, must be 1 to %d",
                       name, n_dims, LF_GGUF_MAX_DIMS);
    int64_t nelem = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] <= 0)
            return lf_fail(err, "gguf writer: tensor '%s': dimension %d is %lld, must be positive",
                           name, d, (long long)ne[d]);
        if (__builtin_mul_overflow(nelem, ne[d], &nelem))
            return lf_fail(err, "gguf writer: tensor '%s': shape overflows 64 bits", name);
    }
    if (ne[0] % blck)
        return lf_fail(err, "gguf writer: tensor '%s': ne[0] = %lld is not a multiple of the %s block size %lld",
                       name, (long long)ne[0], lf_type_name(type), (long long)blck);
    if (__builtin_mul_overflow((uint64_t)(nelem / blck), (uint64_t)bsz, nbytes) ||
        *nbytes > INT64_MAX)
        return lf_fail(err, "gguf writer: tensor '%s': size of the data overflows 64 bits", name);
    return true;
}

bool lf_gguf_add_tensor(lf_gguf_writer *w, const char *name, int type,
                        int n_dims, const int64_t *ne, const void *data,
                        lf_error *err) {
    size_t len = name ? strlen(name) : 0;
    if (len == 0)
        return lf_fail(err, "gguf writer: empty tensor name");
    if (len > LF_GGUF_MAX_NAME)
        return lf_fail(err, "gguf writer: tensor '%.80s': name is %zu bytes, longer than %d",
                       name, len, LF_GGUF_MAX_NAME);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name))
            return lf_fail(err, "gguf writer: tensor '%s': duplicate tensor name", name);
    wtensor t = {.type = type, .n_dims = n_dims, .data = data};
    if (!tensor_size(name, type, n_dims, ne, &t.nbytes, err))
        return false;
    for (int d = 0; d < LF_GGUF_MAX_DIMS; d++)
        t.ne[d] = d < n_dims ? ne[d] : 1;
    t.name = lf_strdup(name);
    if (!t.name || !grow((void **)&w->t, &w->cap_t, w->n_t, sizeof(wtensor))) {
        free(t.name);
        return lf_fail(err, "gguf writer: tensor '%s': out of memory", name);
    }
    w->t[w->n_t++] = t;
    return true;
}

/* Everything before the data section, padded to the alignment. */
static bool build_head(const lf_gguf_writer *w, wbuf *h, lf_error *err) {
    put(h, LF_GGUF_MAGIC, 4);
    put_u32(h, 3);
    put_u64(h, w->n_t);
    put_u64(h, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(h, w->kv[i].key, strlen(w->kv[i].key));
        put(h, w->kv[i].val.p, w->kv[i].val.n);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_str(h, t->name, strlen(t->name));
        put_u32(h, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++)
            put_u64(h, (uint64_t)t->ne[d]);
        put_u32(h, (uint32_t)t->type);
        put_u64(h, offset);
        uint64_t padded = lf_gguf_align_up(t->nbytes, w->alignment);
        if (padded < t->nbytes || __builtin_add_overflow(offset, padded, &offset))
            return lf_fail(err, "gguf writer: tensor data overflows 64 bits");
    }
    static const uint8_t zeros[64];
    for (uint64_t pad = lf_gguf_align_up(h->n, w->alignment) - h->n; pad && !h->oom;) {
        size_t k = pad < sizeof(zeros) ? (size_t)pad : sizeof(zeros);
        put(h, zeros, k);
        pad -= k;
    }
    if (h->oom)
        return lf_fail(err, "gguf writer: out of memory");
    return true;
}

/* Where the file goes: a FILE or a memory block of known size. */
typedef struct sink {
    FILE *f;
    uint8_t *mem;
    uint64_t pos;
} sink;

static bool emit(sink *s, const void *p, uint64_t n) {
    if (s->f) {
        if (n && fwrite(p, 1, (size_t)n, s->f) != n)
            return false;
    } else if (n) {
        memcpy(s->mem + s->pos, p, (size_t)n);
    }
    s->pos += n;
    return true;
}

static bool emit_zeros(sink *s, uint64_t n) {
    static const uint8_t zeros[4096];
    /* in a file, a large run is a hole (it reads as zeros): a model's
     * layout written before its data costs no disk writes */
    if (s->f && n >= (1u << 20)) {
        if (fseeko(s->f, (off_t)n, SEEK_CUR) != 0)
            return false;
        s->pos += n;
        return true;
    }
    while (n) {
        uint64_t k = n < sizeof(zeros) ? n : sizeof(zeros);
        if (!emit(s, zeros, k))
            return false;
        n -= k;
    }
    return true;
}

static bool emit_all(const lf_gguf_writer *w, const wbuf *head, sink *s) {
    if (!emit(s, head->p, head->n))
        return false;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        bool ok = t->data ? emit(s, t->data, t->nbytes) : emit_zeros(s, t->nbytes);
        if (!ok || !emit_zeros(s, lf_gguf_align_up(t->nbytes, w->alignment) - t->nbytes))
            return false;
    }
    return true;
}

static uint64_t data_size(const lf_gguf_writer *w) {
    uint64_t n = 0;
    for (size_t i = 0; i < w->n_t; i++)
        n += lf_gguf_align_up(w->t[i].nbytes, w->alignment); /* build_head checked overflow */
    return n;
}

bool lf_gguf_writer_to_memory(lf_gguf_writer *w, void **out, size_t *out_size,
                              lf_error *err) {
    wbuf head = {0};
    if (!build_head(w, &head, err)) {
        free(head.p);
        return false;
    }
    uint64_t total = head.n + data_size(w);
    if (total < head.n || total > SIZE_MAX) {
        free(head.p);
        return lf_fail(err, "gguf writer: %llu bytes do not fit in memory", (unsigned long long)total);
    }
    sink s = {.mem = lf_malloc((size_t)total)};
    if (!s.mem) {
        free(head.p);
        return lf_fail(err, "gguf writer: out of memory for %llu bytes", (unsigned long long)total);
    }
    emit_all(w, &head, &s);
    free(head.p);
    *out = s.mem;
    *out_size = (size_t)total;
    return true;
}

bool lf_gguf_writer_write(lf_gguf_writer *w, const char *path, lf_error *err) {
    wbuf head = {0};
    if (!build_head(w, &head, err)) {
        free(head.p);
        return false;
    }
    lf_replace r;
    if (!lf_replace_begin(&r, path, err)) {
        free(head.p);
        return false;
    }
    sink s = {.f = fdopen(r.fd, "wb")};
    bool ok = s.f != NULL;
    if (!ok)
        lf_fail(err, "%s: cannot open: %s", r.tmp, strerror(errno));
    else
        r.fd = -1; /* s.f owns it now */
    if (ok) {
        ok = emit_all(w, &head, &s) && fflush(s.f) == 0 &&
             ftruncate(fileno(s.f), (off_t)s.pos) == 0 && fsync(fileno(s.f)) == 0;
        if (!ok)
            lf_fail(err, "%s: cannot write: %s", path, strerror(errno));
        if (fclose(s.f) != 0 && ok)
            ok = lf_fail(err, "%s: cannot write: %s", path, strerror(errno));
    }
    if (ok)
        ok = lf_replace_commit(&r, err);
    else
        lf_replace_abort(&r);
    free(head.p);
    return ok;
}
