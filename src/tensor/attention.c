/* attention.c — flash-style attention over the KV cache.
 *
 * Work is split into tasks of (KV head, block of query tokens): all query
 * heads that share the KV head (GQA), for a few consecutive tokens, form
 * the rows of one task, so each KV tile is converted to float once and
 * used by every row. The cells are walked in tiles of LF_ATTN_TILE, twice:
 * first S = Q·Kᵀ (K tile transposed to floats), scaled and masked, kept for
 * the whole row, and its max; then P = exp(S - max), the sum of P in cell
 * order and O += P·V. Two passes rather than a running rescale make a
 * query's result independent of which other cells (other sequences of the
 * batch) sit between its own: masked cells only ever add exact zeros. A task
 * holds tokens of one sequence only, and skips whole tiles that hold none of
 * its sequence's cells (the cache keeps each sequence in tiles of its own),
 * so a batch of many sequences' next tokens, as a server decodes it, costs
 * what each sequence would alone. F32
 * accumulation; a query meets an F16 cache rounded to F16, as in
 * llama.cpp. The inner products run in the kernel set's SIMD helpers when
 * it has them; a task computes the same way whichever thread takes it. */
#include "tensor/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tensor/fp16.h"
#include "tensor/kernels.h"

enum { CT = LF_ATTN_TILE, MAX_ROWS = 32 };

struct attn_job {
    float *out;
    const float *q;
    int64_t n;
    const int32_t *pos, *seq;
    const lf_attn_kv *kv;
    const lf_attn_params *ap;
    const lf_kernel_set *ks;
    int group;          /* query heads per KV head */
    int64_t cells;      /* n_cells rounded up to whole tiles */
    int64_t qb;         /* query tokens per task, at most */
    int64_t n_tiles;    /* tiles up to the last occupied cell */
    uint64_t *tile_seqs; /* per tile: the sequences of its cells */
    int32_t *tile_pos0;  /* per tile: the least position of its cells */
    int64_t *task0;     /* task i: tokens task0[i] .. task0[i+1]-1, one sequence */
    int64_t n_tasks;
    char *scratch;      /* per thread */
    size_t scratch_bytes;
    lf_chunks chunks;
};

/* ------------------------------------------------ portable inner loops */

static void qk_c(const float *q, int nr, int dk, const float *kt, float scale, const float *mask,
                 int group, float *s, size_t lds, float *rowmax) {
    for (int r = 0; r < nr; r++) {
        float acc[CT] = {0}, mx = -INFINITY;
        for (int d = 0; d < dk; d++) {
            float qv = q[r * dk + d];
            for (int c = 0; c < CT; c++)
                acc[c] += qv * kt[d * CT + c];
        }
        for (int c = 0; c < CT; c++) {
            float y = acc[c] * scale + mask[(r / group) * CT + c];
            s[(size_t)r * lds + c] = y;
            mx = y > mx ? y : mx;
        }
        rowmax[r] = mx;
    }
}

static void kt_c(const uint16_t *k, size_t stride, int nc, int dk, float *kt) {
    for (int d = 0; d < dk; d++)
        for (int c = 0; c < CT; c++)
            kt[d * CT + c] = c < nc ? lf_fp16_to_fp32(k[(size_t)c * stride + d]) : 0.0f;
}

static void pv_c(const float *p, int nr, const float *v, int dv, float *o) {
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < CT; c++) {
            float w = p[r * CT + c];
            if (w == 0)
                continue;
            for (int e = 0; e < dv; e++)
                o[r * dv + e] += w * v[c * dv + e];
        }
}

static float exp_c(float *x, int n, float m) {
    float sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = x[i] == -INFINITY ? 0.0f : expf(x[i] - m);
        sum += x[i];
    }
    return sum;
}

static void f16_c(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        dst[i] = lf_fp16_to_fp32(src[i]);
}

/* ------------------------------------------------------------- a task */

struct scratch {
    float *qf, *o, *s, *p, *kt, *vt, *m, *l, *krow, *tmax;
    float *mask;   /* [token][CT]: 0 visible, -inf not */
    uint8_t *live; /* per tile: some cell visible */
};

static struct scratch carve(const struct attn_job *j, char *p) {
    const lf_attn_params *ap = j->ap;
    int rows = (int)j->qb * j->group;
    struct scratch s;
    s.qf = (float *)p, p += sizeof(float) * (size_t)(rows * ap->head_dim_k);
    s.o = (float *)p, p += sizeof(float) * (size_t)(rows * ap->head_dim_v);
    s.s = (float *)p, p += sizeof(float) * (size_t)rows * (size_t)j->cells;
    s.p = (float *)p, p += sizeof(float) * (size_t)rows * CT;
    s.kt = (float *)p, p += sizeof(float) * (size_t)(CT * ap->head_dim_k);
    s.vt = (float *)p, p += sizeof(float) * (size_t)(CT * ap->head_dim_v);
    s.m = (float *)p, p += sizeof(float) * (size_t)rows;
    s.l = (float *)p, p += sizeof(float) * (size_t)rows;
    s.krow = (float *)p, p += sizeof(float) * (size_t)ap->head_dim_k;
    s.tmax = (float *)p, p += sizeof(float) * (size_t)rows;
    s.mask = (float *)p, p += sizeof(float) * (size_t)j->qb * CT;
    s.live = (uint8_t *)p;
    return s;
}

static size_t scratch_bytes(const lf_attn_params *ap, int64_t qb, int group, int64_t cells) {
    size_t rows = (size_t)(qb * group);
    return sizeof(float) * (rows * (size_t)(ap->head_dim_k + ap->head_dim_v + 3 + CT) + rows * (size_t)cells +
                            (size_t)(CT + 1) * (size_t)ap->head_dim_k + (size_t)CT * (size_t)ap->head_dim_v +
                            (size_t)qb * CT) +
           (size_t)cells / CT + 64;
}

/* Row `c0 + c` of K or V (head kvh, dim d) as floats into dst. */
static void load_row(const struct attn_job *j, const void *base, size_t row_bytes, int kvh, int d,
                     int64_t cell, float *dst) {
    size_t es = j->kv->type == LF_TYPE_F16 ? 2 : 4;
    const char *p = (const char *)base + (size_t)cell * row_bytes + (size_t)kvh * (size_t)d * es;
    if (j->kv->type == LF_TYPE_F16)
        j->ks->f16_to_f32((const uint16_t *)p, dst, d);
    else
        memcpy(dst, p, sizeof(float) * (size_t)d);
}

/* The K tile [c0, c0+CT) transposed ([d][c]); cells past the end are 0. */
static void load_k(const struct attn_job *j, int kvh, int64_t c0, int nc, struct scratch *s) {
    int dk = j->ap->head_dim_k;
    if (j->kv->type == LF_TYPE_F16) {
        const uint16_t *k = (const uint16_t *)((const char *)j->kv->k + (size_t)c0 * j->kv->k_row_bytes) +
                            (size_t)kvh * (size_t)dk;
        j->ks->attn_kt(k, j->kv->k_row_bytes / 2, nc, dk, s->kt);
        return;
    }
    for (int c = 0; c < CT; c++) {
        if (c < nc)
            load_row(j, j->kv->k, j->kv->k_row_bytes, kvh, dk, c0 + c, s->krow);
        else
            memset(s->krow, 0, sizeof(float) * (size_t)dk);
        for (int d = 0; d < dk; d++)
            s->kt[d * CT + c] = s->krow[d];
    }
}

/* The V tile as rows ([c][e]). */
static void load_v(const struct attn_job *j, int kvh, int64_t c0, int nc, struct scratch *s) {
    int dv = j->ap->head_dim_v;
    for (int c = 0; c < CT; c++) {
        if (c < nc)
            load_row(j, j->kv->v, j->kv->v_row_bytes, kvh, dv, c0 + c, s->vt + (size_t)c * dv);
        else
            memset(s->vt + (size_t)c * dv, 0, sizeof(float) * (size_t)dv);
    }
}

/* Which cells of the tile each token of the task sees (mask 0, else
 * -inf); false if none. */
static bool visibility(const struct attn_job *j, int64_t t0, int nt, int64_t c0, int nc, float *mask) {
    const lf_attn_kv *kv = j->kv;
    int n_swa = j->ap->n_swa;
    bool any = false;
    for (int t = 0; t < nt; t++) {
        int32_t p = j->pos[t0 + t], sq = j->seq[t0 + t];
        uint64_t bit = sq >= 0 && sq < 64 ? 1ull << sq : 0;
        float *v = mask + t * CT;
        for (int c = 0; c < CT; c++) {
            bool ok = false;
            if (c < nc) {
                int32_t pc = kv->pos[c0 + c];
                ok = pc >= 0 && pc <= p && (kv->seqs[c0 + c] & bit) && !(n_swa > 0 && p - pc >= n_swa);
            }
            v[c] = ok ? 0.0f : -INFINITY;
            any |= ok;
        }
    }
    return any;
}

/* l[r] += Σ_c p[r][c], each row in cell order; eight rows side by side so
 * that their additions overlap instead of waiting on one another. */
static void sum_rows(const float *p, int rows, float *l) {
    int r = 0;
    for (; r + 8 <= rows; r += 8) {
        float a[8];
        for (int i = 0; i < 8; i++)
            a[i] = l[r + i];
        for (int c = 0; c < CT; c++)
            for (int i = 0; i < 8; i++)
                a[i] += p[(r + i) * CT + c];
        for (int i = 0; i < 8; i++)
            l[r + i] = a[i];
    }
    for (; r < rows; r++)
        for (int c = 0; c < CT; c++)
            l[r] += p[r * CT + c];
}

/* out[e] = o[e]·inv, eight at a time (GNU C vectors: any target). */
static void scale_row(float *out, const float *o, float inv, int n) {
    typedef float v8 __attribute__((vector_size(32)));
    int e = 0;
    for (; e + 8 <= n; e += 8) {
        v8 x;
        memcpy(&x, o + e, sizeof x);
        x *= inv;
        memcpy(out + e, &x, sizeof x);
    }
    for (; e < n; e++)
        out[e] = o[e] * inv;
}

static void attend_task(const struct attn_job *j, int kvh, int64_t t0, int nt, char *mem) {
    const lf_attn_params *ap = j->ap;
    const lf_attn_kv *kv = j->kv;
    const lf_kernel_set *ks = j->ks;
    int dk = ap->head_dim_k, dv = ap->head_dim_v, G = j->group, rows = nt * G;
    struct scratch s = carve(j, mem);
    int32_t sq = j->seq[t0], last = j->pos[t0];
    for (int t = 1; t < nt; t++)
        last = j->pos[t0 + t] > last ? j->pos[t0 + t] : last;
    uint64_t bit = sq >= 0 && sq < 64 ? 1ull << sq : 0;
    for (int t = 0; t < nt; t++)
        for (int g = 0; g < G; g++) {
            int r = t * G + g, h = kvh * G + g;
            const float *qs = j->q + ((t0 + t) * ap->n_head + h) * dk;
            if (kv->type == LF_TYPE_F16) { /* krow holds dk floats, room for dk halves */
                ks->f32_to_f16(qs, (uint16_t *)s.krow, dk);
                ks->f16_to_f32((const uint16_t *)s.krow, s.qf + r * dk, dk);
            } else {
                memcpy(s.qf + r * dk, qs, sizeof(float) * (size_t)dk);
            }
            s.m[r] = -INFINITY;
            s.l[r] = 0;
        }
    memset(s.o, 0, sizeof(float) * (size_t)(rows * dv));
    const int64_t ntiles = j->n_tiles;
    const size_t ld = (size_t)j->cells; /* row stride of the kept scores */
    for (int64_t tile = 0; tile < ntiles; tile++) { /* pass 1: scores and max */
        int64_t c0 = tile * CT;
        int nc = (int)(kv->n_cells - c0 < CT ? kv->n_cells - c0 : CT);
        s.live[tile] = (j->tile_seqs[tile] & bit) && j->tile_pos0[tile] <= last &&
                       visibility(j, t0, nt, c0, nc, s.mask);
        if (!s.live[tile])
            continue;
        load_k(j, kvh, c0, nc, &s);
        ks->attn_qk(s.qf, rows, dk, s.kt, ap->scale, s.mask, G, s.s + c0, ld, s.tmax);
        for (int r = 0; r < rows; r++)
            s.m[r] = s.tmax[r] > s.m[r] ? s.tmax[r] : s.m[r];
    }
    for (int64_t tile = 0; tile < ntiles; tile++) { /* pass 2: P, its sum, P·V */
        if (!s.live[tile])
            continue;
        int64_t c0 = tile * CT;
        int nc = (int)(kv->n_cells - c0 < CT ? kv->n_cells - c0 : CT);
        float *p = s.p;
        for (int r = 0; r < rows; r++) {
            float *pr = p + r * CT;
            if (s.m[r] == -INFINITY) {
                memset(pr, 0, sizeof(float) * CT);
                continue;
            }
            memcpy(pr, s.s + (size_t)r * ld + c0, sizeof(float) * CT);
            ks->attn_exp(pr, CT, s.m[r]);
        }
        sum_rows(p, rows, s.l);
        load_v(j, kvh, c0, nc, &s);
        ks->attn_pv(p, rows, s.vt, dv, s.o);
    }
    for (int t = 0; t < nt; t++)
        for (int g = 0; g < G; g++) {
            int r = t * G + g, h = kvh * G + g;
            float *o = s.o + r * dv, m = s.m[r], l = s.l[r];
            if (ap->sinks) {
                float sink = ap->sinks[h];
                if (sink > m) {
                    float sc = m == -INFINITY ? 0.0f : expf(m - sink);
                    for (int e = 0; e < dv; e++)
                        o[e] *= sc;
                    l *= sc;
                    m = sink;
                }
                l += expf(sink - m);
            }
            scale_row(j->out + ((t0 + t) * ap->n_head + h) * dv, o, l > 0 ? 1.0f / l : 0.0f, dv);
        }
}

static void attention_worker(void *arg, int ith, int nth) {
    struct attn_job *j = arg;
    (void)nth;
    char *mem = j->scratch + (size_t)ith * j->scratch_bytes;
    long c;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t task = c / j->ap->n_head_kv;
        attend_task(j, (int)(c % j->ap->n_head_kv), j->task0[task],
                    (int)(j->task0[task + 1] - j->task0[task]), mem);
    }
}

bool lf_attention(lf_pool *pool, lf_scratch *scratch, float *out, const float *q, int64_t n, const int32_t *pos,
                  const int32_t *seq, const lf_attn_kv *kv, const lf_attn_params *ap, lf_error *err) {
    static lf_kernel_set portable = {
        .name = "portable", .attn_qk = qk_c, .attn_kt = kt_c, .attn_pv = pv_c, .attn_exp = exp_c,
        .f16_to_f32 = f16_c, .f32_to_f16 = lf_f32_to_f16_c,
    };
    const lf_kernel_set *ks = lf_kernels();
    if (!ks->attn_qk || !ks->attn_kt || !ks->attn_pv || !ks->attn_exp || !ks->f16_to_f32 ||
        !ks->f32_to_f16)
        ks = &portable;
    int group = ap->n_head / ap->n_head_kv;
    int64_t qb = MAX_ROWS / group > 0 ? MAX_ROWS / group : 1;
    if (qb > n)
        qb = n;
    struct attn_job j = {.out = out, .q = q, .n = n, .pos = pos, .seq = seq, .kv = kv, .ap = ap,
                         .ks = ks, .group = group, .qb = qb};
    pool = lf_pool_for(pool, (double)n * ap->n_head * (double)kv->n_cells * (ap->head_dim_k + ap->head_dim_v));
    int nth = lf_pool_threads(pool);
    j.cells = (kv->n_cells + CT - 1) / CT * CT;
    size_t shared = ((sizeof(uint64_t) + sizeof(int32_t)) * (size_t)(j.cells / CT) +
                     sizeof(int64_t) * (size_t)(n + 1) + 63) & ~(size_t)63;
    j.scratch_bytes = (scratch_bytes(ap, qb, group, j.cells) + 63) & ~(size_t)63;
    char *mem = lf_scratch_get(scratch, shared + j.scratch_bytes * (size_t)nth);
    if (!mem)
        return lf_fail(err, "out of memory in attention (%zu bytes of work space for %d threads)",
                       shared + j.scratch_bytes * (size_t)nth, nth);
    j.tile_seqs = (uint64_t *)mem;
    j.task0 = (int64_t *)(mem + sizeof(uint64_t) * (size_t)(j.cells / CT));
    j.tile_pos0 = (int32_t *)(j.task0 + n + 1);
    j.scratch = mem + shared;
    for (int64_t c = 0; c < kv->n_cells; c++) {
        if (kv->pos[c] < 0)
            continue;
        int64_t tile = c / CT;
        for (; j.n_tiles <= tile; j.n_tiles++)
            j.tile_seqs[j.n_tiles] = 0, j.tile_pos0[j.n_tiles] = INT32_MAX;
        j.tile_seqs[tile] |= kv->seqs[c];
        if (kv->pos[c] < j.tile_pos0[tile])
            j.tile_pos0[tile] = kv->pos[c];
    }
    /* tasks: runs of one sequence's consecutive tokens, qb at most */
    for (int64_t t = 0; t < n; t++)
        if (t == 0 || seq[t] != seq[t - 1] || t - j.task0[j.n_tasks - 1] == qb)
            j.task0[j.n_tasks++] = t;
    j.task0[j.n_tasks] = n;
    lf_pool_chunks_init(&j.chunks, (long)(j.n_tasks * ap->n_head_kv));
    lf_pool_run(pool, attention_worker, &j);
    return true;
}
