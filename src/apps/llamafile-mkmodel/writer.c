/* writer.c — a made model to a GGUF file, streamed: the layout (metadata,
 * tensor infos, zeroed data) is written first, then each tensor a group of
 * rows at a time: random floats, quantized to the type llama-quantize would
 * give the tensor, written in place. Every element is a hash of (seed,
 * tensor name, index), so the file does not depend on the thread count. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mkmodel.h"

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t name_hash(uint64_t seed, const char *s) {
    uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15ull);
    for (; *s; s++)
        h = mix64(h ^ (unsigned char)*s);
    return h;
}

/* An approximately normal value (sum of four 16-bit uniforms, variance 1),
 * and a uniform one in [0, 1). */
static float gauss(uint64_t r) {
    double s = (double)(r & 0xffff) + (double)(r >> 16 & 0xffff) + (double)(r >> 32 & 0xffff) +
               (double)(r >> 48);
    return (float)((s / 65536.0 - 2.0) * 1.7320508075688772);
}

static void fill(const mk_tensor *t, uint64_t key, int64_t i0, int64_t n, float *out) {
    bool uni = t->lo < t->hi;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = mix64(key + (uint64_t)(i0 + i) * 0x9e3779b97f4a7c15ull);
        out[i] = uni ? t->lo + (t->hi - t->lo) * (float)((double)(r >> 11) * 0x1p-53)
                     : t->mean + t->std * gauss(r);
    }
}

/* ------------------------------------------------------------ threads */

typedef struct job {
    const mk_tensor *t;
    int type;
    uint64_t key;
    int64_t r0, n_rows; /* the rows of this group */
    size_t row_bytes;
    uint8_t *out;
    int ith, nth;
    float *buf; /* one row */
    bool ok;
    lf_error err;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    int64_t ne0 = j->t->ne[0];
    for (int64_t r = j->ith; r < j->n_rows && j->ok; r += j->nth) {
        fill(j->t, j->key, (j->r0 + r) * ne0, ne0, j->buf);
        j->ok = lf_type_from_float(j->type, j->buf, j->out + (size_t)r * j->row_bytes, 1, ne0,
                                   &j->err);
    }
    return NULL;
}

static bool write_at(int fd, const uint8_t *b, uint64_t n, uint64_t off, const char *path,
                     lf_error *err) {
    while (n) {
        ssize_t k = pwrite(fd, b, n < (1u << 30) ? (size_t)n : (1u << 30), (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(err->msg, sizeof err->msg, "%.400s: cannot write: %s", path,
                     k < 0 ? strerror(errno) : "no space");
            return false;
        }
        b += k;
        off += (uint64_t)k;
        n -= (uint64_t)k;
    }
    return true;
}

enum { GROUP_ELEMENTS = 1 << 23, MAX_THREADS = 64 };

/* Rows [r0, r0 + n) of t quantized into out, on nth threads. */
static bool quantize_rows(const mk_tensor *t, int type, uint64_t key, int64_t r0, int64_t n,
                          size_t row_bytes, uint8_t *out, int nth, float **bufs,
                          lf_error *err) {
    job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int k = n < nth ? (int)n : nth;
    for (int i = 0; i < k; i++)
        jobs[i] = (job){.t = t, .type = type, .key = key, .r0 = r0, .n_rows = n,
                        .row_bytes = row_bytes, .out = out, .ith = i, .nth = k,
                        .buf = bufs[i], .ok = true};
    int started = 1;
    for (int i = 1; i < k; i++, started++)
        if (pthread_create(&tid[i], NULL, run_job, &jobs[i]) != 0)
            break;
    for (int i = started; i < k; i++) /* no thread: run here */
        run_job(&jobs[i]);
    run_job(&jobs[0]);
    for (int i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
    for (int i = 0; i < k; i++)
        if (!jobs[i].ok) {
            *err = jobs[i].err;
            return false;
        }
    return true;
}

/* Writes tensor t at off. With a pool (pool_rows > 0, fewer rows than the
 * tensor), only the first pool_rows rows are generated and quantized; each
 * further row is a copy of one of them picked by a hash of its index. */
static bool write_tensor(int fd, const char *path, const mk_tensor *t, int type, uint64_t off,
                         uint64_t seed, int nth, float **bufs, uint8_t *out, int64_t pool_rows,
                         lf_error *err) {
    int64_t ne0 = t->ne[0], rows = t->ne[1] * t->ne[2];
    size_t row_bytes = (size_t)lf_type_row_bytes(type, ne0);
    int64_t group = GROUP_ELEMENTS / ne0 > 0 ? GROUP_ELEMENTS / ne0 : 1;
    uint64_t key = name_hash(seed, t->name);
    uint8_t *pool = NULL;
    if (pool_rows > 0 && rows > pool_rows) {
        if (!(pool = malloc((size_t)pool_rows * row_bytes)))
            return mk_fail(err, "out of memory for %lld pooled rows", (long long)pool_rows);
        if (!quantize_rows(t, type, key, 0, pool_rows, row_bytes, pool, nth, bufs, err)) {
            free(pool);
            return false;
        }
    }
    bool ok = true;
    for (int64_t r0 = 0; ok && r0 < rows; r0 += group) {
        int64_t n = rows - r0 < group ? rows - r0 : group;
        if (pool)
            for (int64_t r = r0; r < r0 + n; r++) {
                int64_t src = r < pool_rows ? r : (int64_t)(mix64(key ^ (uint64_t)r) % (uint64_t)pool_rows);
                memcpy(out + (size_t)(r - r0) * row_bytes, pool + (size_t)src * row_bytes, row_bytes);
            }
        else
            ok = quantize_rows(t, type, key, r0, n, row_bytes, out, nth, bufs, err);
        ok = ok && write_at(fd, out, (uint64_t)n * row_bytes, off + (uint64_t)r0 * row_bytes,
                            path, err);
    }
    free(pool);
    return ok;
}

/* ------------------------------------------------------------ the file */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The metadata as a GGUF in memory, to ask the library for the mix. */
static bool mix_types(mk_model *m, const lf_gguf_tensor *lt, int ftype, int64_t *order,
                      int *types, lf_error *err) {
    void *buf = NULL;
    size_t size = 0;
    if (!lf_gguf_writer_to_memory(m->w, &buf, &size, err))
        return false;
    lf_gguf *meta = lf_gguf_open_memory(buf, size, "metadata", err);
    lf_quantize_params p = {.ftype = ftype};
    bool ok = meta && lf_quantize_types(meta, lt, m->n, &p, order, types, err);
    lf_gguf_close(meta);
    free(buf);
    return ok;
}

/* Fills the layout file tmp: tensor i of the file is m->t[order[i]]. */
static bool write_data(mk_model *m, const char *tmp, const int64_t *order, const int *types,
                       uint64_t seed, int nth, int64_t pool_rows, bool quiet, lf_error *err) {
    lf_gguf *g = lf_gguf_open(tmp, err);
    if (!g)
        return false;
    uint64_t *off = malloc(sizeof *off * (size_t)m->n);
    for (int i = 0; off && i < m->n; i++)
        off[i] = lf_gguf_tensor_at(g, i)->file_offset;
    lf_gguf_close(g);
    int64_t max_ne0 = 1, max_bytes = 1;
    for (int i = 0; i < m->n; i++) {
        int64_t ne0 = m->t[i].ne[0], group = GROUP_ELEMENTS / ne0 > 0 ? GROUP_ELEMENTS / ne0 : 1;
        int64_t b = lf_type_row_bytes(types[i], ne0) * (group < m->t[i].ne[1] * m->t[i].ne[2]
                                                            ? group
                                                            : m->t[i].ne[1] * m->t[i].ne[2]);
        max_ne0 = ne0 > max_ne0 ? ne0 : max_ne0;
        max_bytes = b > max_bytes ? b : max_bytes;
    }
    float *bufs[MAX_THREADS] = {0};
    uint8_t *out = malloc((size_t)max_bytes);
    bool ok = off && out;
    for (int i = 0; ok && i < nth; i++)
        ok = (bufs[i] = malloc(sizeof(float) * (size_t)max_ne0)) != NULL;
    if (!ok)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    int fd = ok ? open(tmp, O_RDWR | O_CLOEXEC) : -1;
    if (ok && fd < 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: %s", tmp, strerror(errno));
        ok = false;
    }
    double t0 = now();
    for (int i = 0; ok && i < m->n; i++) {
        const mk_tensor *t = &m->t[order[i]];
        ok = write_tensor(fd, tmp, t, types[order[i]], off[i], seed, nth, bufs, out, pool_rows,
                          err);
        if (ok && !quiet)
            fprintf(stderr, "[%4d/%4d] %-36s %-6s %8.1f MB  %6.1f s\n", i + 1, m->n, t->name,
                    lf_type_name(types[order[i]]),
                    (double)lf_type_row_bytes(types[order[i]], t->ne[0]) * (double)t->ne[1] *
                        (double)t->ne[2] / 1e6,
                    now() - t0);
    }
    if (ok && fsync(fd) != 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: cannot write: %s", tmp, strerror(errno));
        ok = false;
    }
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < nth; i++)
        free(bufs[i]);
    free(out);
    free(off);
    return ok;
}

bool mk_write(mk_model *m, const char *out, int ftype, const char *vocab_path, const char *tmpl,
              uint64_t seed, int n_threads, int64_t pool_rows, bool quiet, lf_error *err) {
    int nth = n_threads < 1 ? 1 : n_threads > MAX_THREADS ? MAX_THREADS : n_threads;
    lf_gguf_tensor *lt = calloc((size_t)m->n + 1, sizeof *lt);
    int64_t *order = calloc((size_t)m->n + 1, sizeof *order);
    int *types = calloc((size_t)m->n + 1, sizeof *types);
    char *tmp = malloc(strlen(out) + 16);
    lf_gguf_writer *w = m->w;
    bool ok = lt && order && types && tmp && !m->oom;
    if (!ok)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    for (int i = 0; ok && i < m->n; i++) {
        lt[i].name = (lf_str){m->t[i].name, strlen(m->t[i].name)};
        lt[i].type = m->t[i].type;
        lt[i].n_dims = m->t[i].n_dims;
        lt[i].ne[0] = m->t[i].ne[0];
        lt[i].ne[1] = m->t[i].ne[1];
        lt[i].ne[2] = m->t[i].ne[2];
        lt[i].ne[3] = 1;
    }
    ok = ok && mk_u32(m, "vocab_size", (uint32_t)m->n_vocab, err) &&
         mix_types(m, lt, ftype, order, types, err);
    /* the file: general.* and ARCH.* keys, then the tokenizer, as in
     * llama.cpp's files; the quantization keys last, as llama-quantize
     * writes them */
    bool created = false;
    ok = ok && mk_copy_vocab(w, vocab_path, m->n_vocab, tmpl, err) &&
         lf_gguf_set_u32(w, "general.quantization_version", 2, err) &&
         lf_gguf_set_u32(w, "general.file_type", (uint32_t)ftype, err);
    for (int i = 0; ok && i < m->n; i++) {
        const mk_tensor *t = &m->t[order[i]];
        ok = lf_gguf_add_tensor(w, t->name, types[order[i]], t->n_dims, t->ne, NULL, err);
    }
    if (ok) {
        sprintf(tmp, "%s.partial", out);
        ok = created = lf_gguf_writer_write(w, tmp, err);
    }
    ok = ok && write_data(m, tmp, order, types, seed, nth, pool_rows, quiet, err);
    if (ok && rename(tmp, out) != 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: cannot rename into place: %s", out,
                 strerror(errno));
        ok = false;
    }
    if (!ok && created)
        unlink(tmp);
    free(tmp);
    free(types);
    free(order);
    free(lt);
    return ok;
}
