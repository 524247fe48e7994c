/* quantize.c — lf_model_quantize: reads a GGUF, converts every tensor to the
 * type the plan (quantize_mix.c) gives it, writes a new GGUF with the same
 * metadata plus general.file_type and general.quantization_version.
 *
 * Memory stays small whatever the model size: the output's layout is
 * written first (metadata, tensor table, zeroed data), then each tensor is
 * converted a chunk of rows at a time, in parallel, and written in place;
 * all of it in a temporary file beside the output, renamed over it once
 * complete (platform/replace_file.h says what may be replaced). Termination
 * signals are held meanwhile and checked between tensors, so that an
 * interrupted run removes the temporary file before the signal acts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/error.h"
#include "base/threadpool.h"
#include "format/gguf.h"
#include "model/quantize.h"
#include "platform/replace_file.h"
#include "tensor/types.h"

/* ------------------------------------------------------------- metadata */

static bool copy_scalar(lf_gguf_writer *w, const char *key, const lf_gguf_value *v,
                        lf_error *err) {
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
        float f32;
        double f64;
        bool b;
    } x;
    switch (v->type) {
    case LF_GGUF_UINT8: x.u8 = (uint8_t)v->v.u; break;
    case LF_GGUF_INT8: x.i8 = (int8_t)v->v.i; break;
    case LF_GGUF_UINT16: x.u16 = (uint16_t)v->v.u; break;
    case LF_GGUF_INT16: x.i16 = (int16_t)v->v.i; break;
    case LF_GGUF_UINT32: x.u32 = (uint32_t)v->v.u; break;
    case LF_GGUF_INT32: x.i32 = (int32_t)v->v.i; break;
    case LF_GGUF_UINT64: x.u64 = v->v.u; break;
    case LF_GGUF_INT64: x.i64 = v->v.i; break;
    case LF_GGUF_FLOAT32: x.f32 = (float)v->v.f; break;
    case LF_GGUF_FLOAT64: x.f64 = v->v.f; break;
    case LF_GGUF_BOOL: x.b = v->v.b; break;
    case LF_GGUF_STRING: {
        char *s = lf_strndup(v->v.s.ptr, v->v.s.len);
        if (!s)
            return lf_fail(err, "out of memory");
        bool ok = lf_gguf_set_scalar(w, key, LF_GGUF_STRING, s, err);
        free(s);
        return ok;
    }
    default: return lf_fail(err, "metadata %s: unexpected value type %d", key, v->type);
    }
    return lf_gguf_set_scalar(w, key, v->type, &x, err);
}

static bool copy_string_array(lf_gguf_writer *w, const lf_gguf *g, int64_t i, const char *key,
                              uint64_t n, lf_error *err) {
    char **s = lf_calloc(n ? n : 1, sizeof *s);
    bool ok = s != NULL;
    for (uint64_t j = 0; ok && j < n; j++) {
        lf_gguf_value e;
        ok = lf_gguf_arr_get(g, i, j, &e) && (s[j] = lf_strndup(e.v.s.ptr, e.v.s.len));
    }
    ok = ok ? lf_gguf_set_arr_str(w, key, (const char *const *)s, n, err)
            : lf_fail(err, "out of memory");
    for (uint64_t j = 0; s && j < n; j++)
        free(s[j]);
    free(s);
    return ok;
}

static bool str_is(lf_str s, const char *z) {
    return s.len == strlen(z) && !memcmp(s.ptr, z, s.len);
}

/* Copies metadata pair i of g into w. */
static bool copy_kv(lf_gguf_writer *w, const lf_gguf *g, int64_t i, lf_error *err) {
    lf_str k = lf_gguf_kv_key(g, i);
    char *key = lf_strndup(k.ptr, k.len);
    if (!key)
        return lf_fail(err, "out of memory");
    lf_gguf_value v = lf_gguf_kv_value(g, i);
    bool ok;
    if (v.type != LF_GGUF_ARRAY)
        ok = copy_scalar(w, key, &v, err);
    else if (v.arr_type == LF_GGUF_STRING)
        ok = copy_string_array(w, g, i, key, v.arr_n, err);
    else /* fixed-size elements, little-endian in the file as in the writer */
        ok = lf_gguf_set_arr(w, key, v.arr_type, g->kv[i].arr, v.arr_n, err);
    free(key);
    return ok;
}

static bool build_writer(lf_gguf_writer *w, const lf_gguf *g, const lf_quantize_plan *plan,
                         int ftype, lf_error *err) {
    for (int64_t i = 0; i < lf_gguf_kv_count(g); i++) {
        lf_str k = lf_gguf_kv_key(g, i);
        if (k.len > 6 && !memcmp(k.ptr, "split.", 6))
            continue; /* the output is one file */
        /* set below: as in llama.cpp, they move to the end */
        if (str_is(k, "general.quantization_version") || str_is(k, "general.file_type"))
            continue;
        if (!copy_kv(w, g, i, err))
            return false;
    }
    if (!lf_gguf_set_u32(w, "general.quantization_version", 2, err) ||
        !lf_gguf_set_u32(w, "general.file_type", (uint32_t)ftype, err))
        return false;
    for (int64_t i = 0; i < plan->n; i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(g, plan->order[i]);
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        if (!lf_gguf_add_tensor(w, name, plan->type[i], t->n_dims, t->ne, NULL, err))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ conversion */

enum { CHUNK_ELEMENTS = 1 << 22, TASK_ELEMENTS = 32 * 512 };

typedef struct conv_job {
    const lf_type_traits *from, *to;
    const uint8_t *src;
    uint8_t *dst;
    size_t src_row, dst_row;
    int64_t ne0, n_rows, rows_per_task;
    float **scratch; /* one row of floats per thread */
    lf_chunks chunks;
} conv_job;

static void conv_run(void *arg, int ith, int nth) {
    conv_job *j = arg;
    float *buf = j->scratch[ith];
    for (long c; (c = lf_pool_chunk(&j->chunks)) >= 0;) {
        int64_t r0 = c * j->rows_per_task, r1 = r0 + j->rows_per_task;
        for (int64_t r = r0; r < r1 && r < j->n_rows; r++) {
            j->from->to_float(j->src + r * j->src_row, buf, j->ne0);
            j->to->from_float(buf, j->dst + r * j->dst_row, j->ne0);
        }
    }
}

static bool write_at(int fd, const void *p, uint64_t n, uint64_t off, const char *path,
                     lf_error *err) {
    const uint8_t *b = p;
    while (n) {
        ssize_t k = pwrite(fd, b, n < (1u << 30) ? (size_t)n : (1u << 30), (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return lf_fail(err, "%s: cannot write: %s", path, k < 0 ? strerror(errno) : "no space");
        b += k;
        off += (uint64_t)k;
        n -= (uint64_t)k;
    }
    return true;
}

typedef struct writer_state {
    lf_pool *pool;
    int fd;
    const char *path;
    float **scratch;
    uint8_t *out;     /* CHUNK_ELEMENTS elements of the widest type */
    size_t out_cap;
} writer_state;

/* Converts tensor t to type and writes it at file offset off. */
static bool convert_tensor(writer_state *s, const lf_gguf_tensor *t, int type, uint64_t off,
                           lf_error *err) {
    if (type == t->type)
        return write_at(s->fd, t->data, t->nbytes, off, s->path, err);
    conv_job j = {
        .from = lf_type_traits_of(t->type),
        .to = lf_type_traits_of(type),
        .src = t->data,
        .ne0 = t->ne[0],
        .scratch = s->scratch,
    };
    j.src_row = (size_t)lf_type_row_bytes(t->type, t->ne[0]);
    j.dst_row = (size_t)lf_type_row_bytes(type, t->ne[0]);
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    int64_t chunk_rows = CHUNK_ELEMENTS / t->ne[0];
    if (chunk_rows < 1)
        chunk_rows = 1;
    j.rows_per_task = (TASK_ELEMENTS + t->ne[0] - 1) / t->ne[0];
    size_t need = (size_t)chunk_rows * j.dst_row;
    if (need > s->out_cap) {
        free(s->out);
        s->out_cap = 0;
        if (!(s->out = lf_malloc(need)))
            return lf_fail(err, "out of memory");
        s->out_cap = need;
    }
    j.dst = s->out;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
        j.n_rows = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
        j.src = (const uint8_t *)t->data + (size_t)r0 * j.src_row;
        lf_pool_chunks_init(&j.chunks, (long)((j.n_rows + j.rows_per_task - 1) / j.rows_per_task));
        lf_pool_run(s->pool, conv_run, &j);
        if (!write_at(s->fd, s->out, (uint64_t)j.n_rows * j.dst_row, off, s->path, err))
            return false;
        off += (uint64_t)j.n_rows * j.dst_row;
    }
    return true;
}

/* The input is a shared read-only file mapping: once a tensor is done, its
 * pages can leave this process (they stay in the page cache), so the
 * resident size does not grow to the model's size. */
static void drop_pages(const lf_gguf_tensor *t) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)t->data + page - 1) & ~(page - 1);
    uintptr_t b = ((uintptr_t)t->data + t->nbytes) & ~(page - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Every conversion the plan asks for must be possible. */
static bool check_plan(const lf_gguf *g, const lf_quantize_plan *plan,
                       const lf_quantize_params *p, lf_error *err) {
    for (int64_t i = 0; i < plan->n; i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(g, plan->order[i]);
        int to = plan->type[i];
        if (to == t->type)
            continue;
        const lf_type_traits *a = lf_type_traits_of(t->type), *b = lf_type_traits_of(to);
        const char *name = lf_type_name(t->type) ? lf_type_name(t->type) : "?";
        if (!a || !a->to_float)
            return lf_fail(err, "tensor %.*s: cannot convert from type %s", (int)t->name.len,
                           t->name.ptr, name);
        if (!b || !b->from_float)
            return lf_fail(err, "tensor %.*s: no quantizer for type %s", (int)t->name.len,
                           t->name.ptr, lf_type_name(to) ? lf_type_name(to) : "?");
        bool is_float = t->type == LF_TYPE_F32 || t->type == LF_TYPE_F16 ||
                        t->type == LF_TYPE_BF16;
        if (!is_float && !p->allow_requantize)
            return lf_fail(err, "tensor %.*s: requantizing from type %s is disabled "
                           "(--allow-requantize)", (int)t->name.len, t->name.ptr, name);
    }
    return true;
}

/* SIGXFSZ last: held so that a file size limit fails a write (EFBIG)
 * instead of killing the process, but not a reason to stop. */
static const int k_held_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXFSZ};

/* True (with err set) when a termination signal that is not ignored is
 * waiting. */
static bool interrupted(lf_error *err) {
    sigset_t pending;
    if (sigpending(&pending) != 0)
        return false;
    struct sigaction sa;
    for (size_t i = 0; i + 1 < sizeof k_held_signals / sizeof *k_held_signals; i++)
        if (sigismember(&pending, k_held_signals[i]) &&
            !(sigaction(k_held_signals[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN))
            return lf_fail(err, "interrupted by signal %d", k_held_signals[i]), true;
    return false;
}

/* Fills the temporary file tmp (whose layout is written) with the tensors;
 * messages name out. */
static bool write_tensors(const lf_gguf *g, const lf_quantize_plan *plan,
                          const lf_quantize_params *p, const char *tmp, const char *out,
                          lf_error *err) {
    lf_gguf *layout = lf_gguf_open(tmp, err);
    if (!layout)
        return false;
    bool ok = lf_gguf_tensor_count(layout) == plan->n ||
              lf_fail(err, "%s: wrote %lld tensors, expected %lld", tmp,
                      (long long)lf_gguf_tensor_count(layout), (long long)plan->n);
    uint64_t *offsets = lf_calloc((size_t)plan->n + 1, sizeof *offsets);
    if (ok && !offsets)
        ok = lf_fail(err, "out of memory");
    for (int64_t i = 0; ok && i < plan->n; i++)
        offsets[i] = lf_gguf_tensor_at(layout, i)->file_offset;
    lf_gguf_close(layout);

    writer_state s = {.fd = -1, .path = out};
    int nth = p->n_threads > 0 ? p->n_threads : lf_physical_cores();
    int64_t max_ne0 = 1;
    for (int64_t i = 0; i < plan->n; i++) {
        int64_t ne0 = lf_gguf_tensor_at(g, i)->ne[0];
        max_ne0 = ne0 > max_ne0 ? ne0 : max_ne0;
    }
    if (ok && !(s.pool = lf_pool_new(nth, err)))
        ok = false;
    if (ok && !(s.scratch = lf_calloc((size_t)lf_pool_threads(s.pool), sizeof *s.scratch)))
        ok = lf_fail(err, "out of memory");
    for (int i = 0; ok && i < lf_pool_threads(s.pool); i++)
        if (!(s.scratch[i] = lf_malloc(sizeof(float) * (size_t)max_ne0)))
            ok = lf_fail(err, "out of memory");
    if (ok && (s.fd = open(tmp, O_RDWR | O_CLOEXEC)) < 0)
        ok = lf_fail(err, "%s: cannot open: %s", tmp, strerror(errno));
    for (int64_t i = 0; ok && i < plan->n; i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(g, plan->order[i]);
        if (interrupted(err)) {
            ok = false;
            break;
        }
        ok = convert_tensor(&s, t, plan->type[i], offsets[i], err);
        drop_pages(t);
        if (ok && p->progress) {
            lf_quantize_progress pr = {
                .i = i, .n = plan->n, .tensor = t, .type = plan->type[i],
                .wanted = plan->fallback[i],
                .bytes = (uint64_t)lf_type_row_bytes(plan->type[i], t->ne[0]) *
                         (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]),
            };
            p->progress(p->progress_ud, &pr);
        }
    }
    if (ok && fsync(s.fd) != 0)
        ok = lf_fail(err, "%s: cannot write: %s", out, strerror(errno));
    if (s.fd >= 0 && close(s.fd) != 0 && ok)
        ok = lf_fail(err, "%s: cannot write: %s", out, strerror(errno));
    for (int i = 0; s.scratch && s.pool && i < lf_pool_threads(s.pool); i++)
        free(s.scratch[i]);
    free(s.scratch);
    lf_pool_free(s.pool);
    free(s.out);
    free(offsets);
    return ok;
}

/* Writes the output through a temporary file; signals are held (see the
 * top of this file). */
static bool write_output(const lf_gguf *g, const lf_quantize_plan *plan,
                         const lf_quantize_params *p, lf_gguf_writer *w, const char *out,
                         lf_error *err) {
    sigset_t held, old;
    sigemptyset(&held);
    for (size_t i = 0; i < sizeof k_held_signals / sizeof *k_held_signals; i++)
        sigaddset(&held, k_held_signals[i]);
    pthread_sigmask(SIG_BLOCK, &held, &old);
    lf_replace r;
    bool ok = lf_replace_begin(&r, out, err);
    if (ok) {
        close(r.fd); /* the writer replaces the empty file; then written in place */
        r.fd = -1;
        /* the layout with zeroed data, then the data in place */
        ok = lf_gguf_writer_write(w, r.tmp, err) && write_tensors(g, plan, p, r.tmp, out, err);
        ok = ok ? lf_replace_commit(&r, err) : (lf_replace_abort(&r), false);
    }
    /* past a file size limit the write failed with EFBIG; the signal is
     * dropped rather than left to kill the process */
    lf_drop_pending_xfsz();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

bool lf_model_quantize(const char *in, const char *out, const lf_quantize_params *p,
                       lf_error *err) {
    lf_gguf *g = lf_gguf_open_any(in, err);
    if (!g)
        return false;
    lf_quantize_plan plan;
    lf_gguf_writer *w = NULL;
    bool ok = lf_quantize_plan_make(g, p, &plan, err);
    if (!ok) {
        lf_gguf_close(g);
        return false;
    }
    ok = check_plan(g, &plan, p, err);
    if (ok && !(w = lf_gguf_writer_new()))
        ok = lf_fail(err, "out of memory");
    ok = ok && build_writer(w, g, &plan, p->ftype, err) &&
         write_output(g, &plan, p, w, out, err);
    lf_gguf_writer_free(w);
    lf_quantize_plan_free(&plan);
    lf_gguf_close(g);
    return ok;
}

bool lf_type_from_float(int type, const float *src, void *dst, int64_t n_rows, int64_t ne0,
                        lf_error *err) {
    const lf_type_traits *t = lf_type_traits_of(type);
    int64_t row = lf_type_row_bytes(type, ne0);
    if (!t || !t->from_float)
        return lf_fail(err, "no quantizer for type %d", type);
    if (row <= 0 || n_rows < 0)
        return lf_fail(err, "type %s: rows of %lld elements are not whole blocks",
                       lf_type_name(type), (long long)ne0);
    for (int64_t r = 0; r < n_rows; r++)
        t->from_float(src + r * ne0, (uint8_t *)dst + r * row, ne0);
    return true;
}
