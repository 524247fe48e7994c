/* moe_experts.c — the chosen experts of a MoE layer (and its shared expert)
 * as ONE pool job. Per product jobs cost a wake-up and a barrier each, and
 * one token's experts are small (Ring: 24 products of 512x2048 per layer),
 * so the threads spent a large part of generation waiting. Here the job
 * runs four phases with a barrier between them, each phase a list of units
 * that threads take from an atomic counter:
 *   0. convert the inputs: x once per weight type for the experts that take
 *      every token in order (the shared expert; all experts of a one-token
 *      batch), the gathered token rows of each other expert;
 *   1. gate and up rows of every expert, (expert, row chunk) units, with the
 *      biases and the activation applied to the chunk right away;
 *   2. convert each expert's hidden rows for its down product;
 *   3. down products by output row chunk, each unit looping over all experts
 *      in order and adding w * y into its columns of out.
 * Every number is computed by the same arithmetic as with one lf_matmul per
 * product (same activation rows per expert, same kernels, the weights summed
 * in expert order), so the results are those of the per-product code and do
 * not depend on the thread count. */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "base/error.h"
#include "model/moe.h"
#include "tensor/kernels.h"
#include "tensor/types.h"

enum {
    ACT_GROUP = 16,  /* activation rows converted per unit (as lf_matmul does) */
    MAX_CHUNK = 256, /* weight rows per unit */
    MAX_SLOTS = 4,   /* distinct input types of the in-order experts */
    FEW_FLOATS = 1 << 17, /* down outputs kept per expert up to this size */
};

typedef struct mx {          /* one expert at run time */
    const lf_moe_expert *d;
    const lf_mm_kernel *kg, *ku, *kd;
    const char *wg, *wu, *wd; /* its matrices */
    const char *ag, *au;     /* converted inputs of gate and up */
    char *ag_own, *au_own;   /* the same when gathered (NULL: shared slots) */
    char *ah;                /* converted hidden rows */
    float *h;                /* [n][F] */
    float *y;                /* [n][D] down outputs (few rows only) */
    int64_t F;
} mx;

typedef struct slot {        /* x converted once for the in-order experts */
    int type;
    const lf_mm_kernel *kr;
    char *buf;
} slot;

typedef struct cvt_unit {    /* phase 0 / 2 work */
    int kind;                /* CV_SLOT, CV_GATHER, CV_HIDDEN */
    int idx;                 /* slot or expert */
    int64_t j0, j1;
} cvt_unit;
enum { CV_SLOT, CV_GATHER, CV_HIDDEN };

typedef struct gu_unit {
    int ex;
    int64_t i0, i1;
} gu_unit;

struct mx_job {
    mx *ex;
    int n_ex;
    slot slots[MAX_SLOTS];
    int n_slots;
    const float *x;
    int64_t T, D;
    float *out;
    cvt_unit *cv0, *cv2;
    gu_unit *gu, *dn;        /* dn: (expert, row chunk) down units (few rows) */
    long n_cv0, n_cv2, n_gu, n_dn;
    bool few;                /* few rows: down by expert, the caller adds up */
    int64_t chunk_d;         /* output rows per phase-3 unit */
    lf_chunks c0, c1, c2, c3;
    char *thr;               /* per-thread memory, thr_bytes apart */
    size_t thr_bytes, gbuf_off, ubuf_off, ybuf_off, ktmp_off;
    bool phase0_done;        /* the caller converted the inputs already */
    atomic_int arrived;
};

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* The round-th barrier of the job (round 1, 2, ...). */
static void barrier(struct mx_job *j, int nth, int round) {
    if (nth == 1)
        return;
    atomic_fetch_add_explicit(&j->arrived, 1, memory_order_acq_rel);
    for (int spins = 0; atomic_load_explicit(&j->arrived, memory_order_acquire) < round * nth;
         spins++) {
        relax();
        if (spins > 4096)
            sched_yield();
    }
}

static void activate(int act, bool has_gate, float *g, const float *u, int64_t n) {
    if (!has_gate) { /* silu(up) alone */
        for (int64_t i = 0; i < n; i++)
            g[i] = u[i] / (1.0f + expf(-u[i]));
    } else if (act == LF_MOE_SWIGLU_OAI) {
        const float alpha = 1.702f, limit = 7.0f;
        for (int64_t i = 0; i < n; i++) {
            float x = fminf(g[i], limit);
            float y = fminf(fmaxf(u[i], -limit), limit);
            g[i] = x / (1.0f + expf(alpha * -x)) * (y + 1.0f);
        }
    } else {
        lf_swiglu(g, u, n);
    }
}

static void run_cvt(struct mx_job *j, const cvt_unit *u, char *thr) {
    if (u->kind == CV_SLOT) {
        const slot *s = &j->slots[u->idx];
        s->kr->act(s->type, j->x, j->D, j->T, u->j0, u->j1, s->buf);
    } else if (u->kind == CV_GATHER) {
        const mx *e = &j->ex[u->idx];
        const lf_moe_expert *d = e->d;
        float *g = (float *)(thr + j->gbuf_off);
        for (int32_t r = 0; r < d->n; r++)
            memcpy(g + (size_t)r * (size_t)j->D, j->x + (size_t)d->tok[r] * (size_t)j->D,
                   sizeof(float) * (size_t)j->D);
        e->kg->act(d->gate->type, g, j->D, d->n, 0, d->n, e->ag_own);
        if (e->au_own != e->ag_own)
            e->ku->act(d->up->type, g, j->D, d->n, 0, d->n, e->au_own);
    } else {
        const mx *e = &j->ex[u->idx];
        e->kd->act(e->d->down->type, e->h, e->F, e->d->n, u->j0, u->j1, e->ah);
    }
}

static lf_mm_call call_of(const lf_weight *W, const char *w, int64_t i0, int64_t i1,
                          const char *a, int64_t n, float *c, size_t ldc) {
    return (lf_mm_call){.type = W->type, .k = W->ne[0], .w = w + (size_t)i0 * W->row_bytes,
                        .ldw = W->row_bytes, .m = i1 - i0, .a = a, .n = n, .c = c, .ldc = ldc};
}

static void run_gu(struct mx_job *j, const gu_unit *gu, char *thr) {
    const mx *e = &j->ex[gu->ex];
    const lf_moe_expert *d = e->d;
    int64_t i0 = gu->i0, len = gu->i1 - gu->i0, F = e->F;
    float *ub = (float *)(thr + j->ubuf_off);
    void *ktmp = thr + j->ktmp_off;
    bool has_gate = d->gate->data != NULL;
    lf_mm_call cu = call_of(d->up, e->wu, i0, gu->i1, e->au, d->n, ub, (size_t)len);
    e->ku->mm(&cu, 0, len, ktmp);
    if (has_gate) {
        lf_mm_call cg = call_of(d->gate, e->wg, i0, gu->i1, e->ag, d->n, e->h + i0, (size_t)F);
        e->kg->mm(&cg, 0, len, ktmp);
    }
    for (int32_t r = 0; r < d->n; r++) {
        float *g = e->h + (size_t)r * (size_t)F + i0, *u = ub + (size_t)r * (size_t)len;
        if (d->up_b)
            for (int64_t i = 0; i < len; i++)
                u[i] += d->up_b[i0 + i];
        if (d->gate_b && has_gate)
            for (int64_t i = 0; i < len; i++)
                g[i] += d->gate_b[i0 + i];
        activate(d->act, has_gate, g, u, len);
    }
}

static void run_down(struct mx_job *j, int64_t j0, char *thr) {
    int64_t D = j->D, j1 = j0 + j->chunk_d < D ? j0 + j->chunk_d : D, len = j1 - j0;
    float *yb = (float *)(thr + j->ybuf_off);
    void *ktmp = thr + j->ktmp_off;
    for (int64_t t = 0; t < j->T; t++)
        memset(j->out + t * D + j0, 0, sizeof(float) * (size_t)len);
    for (int i = 0; i < j->n_ex; i++) {
        const mx *e = &j->ex[i];
        const lf_moe_expert *d = e->d;
        lf_mm_call cd = call_of(d->down, e->wd, j0, j1, e->ah, d->n, yb, (size_t)len);
        e->kd->mm(&cd, 0, len, ktmp);
        for (int32_t r = 0; r < d->n; r++) {
            float *y = yb + (size_t)r * (size_t)len;
            if (d->down_b)
                for (int64_t k = 0; k < len; k++)
                    y[k] += d->down_b[j0 + k];
            float wt = d->wt ? d->wt[r] : 1.0f;
            float *o = j->out + (size_t)(d->tok ? d->tok[r] : r) * (size_t)D + j0;
            for (int64_t k = 0; k < len; k++)
                o[k] += wt * y[k];
        }
    }
}

/* Few rows: a chunk of one expert's down rows (long contiguous reads, as one
 * lf_matmul per product has), into its y; the caller adds them up. */
static void run_down_few(struct mx_job *j, const gu_unit *du, char *thr) {
    const mx *e = &j->ex[du->ex];
    const lf_moe_expert *d = e->d;
    int64_t D = j->D, len = du->i1 - du->i0;
    lf_mm_call cd = call_of(d->down, e->wd, du->i0, du->i1, e->ah, d->n, e->y + du->i0, (size_t)D);
    e->kd->mm(&cd, 0, len, thr + j->ktmp_off);
}

static void mx_worker(void *arg, int ith, int nth) {
    struct mx_job *j = arg;
    char *thr = j->thr + (size_t)ith * j->thr_bytes;
    long u;
    int round = 0;
    if (!j->phase0_done) {
        while ((u = lf_pool_chunk(&j->c0)) >= 0)
            run_cvt(j, &j->cv0[u], thr);
        barrier(j, nth, ++round);
    }
    while ((u = lf_pool_chunk(&j->c1)) >= 0)
        run_gu(j, &j->gu[u], thr);
    barrier(j, nth, ++round);
    while ((u = lf_pool_chunk(&j->c2)) >= 0)
        run_cvt(j, &j->cv2[u], thr);
    barrier(j, nth, ++round);
    if (j->few)
        while ((u = lf_pool_chunk(&j->c3)) >= 0)
            run_down_few(j, &j->dn[u], thr);
    else
        while ((u = lf_pool_chunk(&j->c3)) >= 0)
            run_down(j, u * j->chunk_d, thr);
}

/* out = Σ over the experts in order of wt · (y + bias), after a few-row job */
static void add_up(const struct mx_job *j) {
    int64_t D = j->D;
    memset(j->out, 0, sizeof(float) * (size_t)(j->T * D));
    for (int i = 0; i < j->n_ex; i++) {
        const mx *e = &j->ex[i];
        const lf_moe_expert *d = e->d;
        for (int32_t r = 0; r < d->n; r++) {
            float *y = e->y + (size_t)r * (size_t)D;
            if (d->down_b)
                for (int64_t k = 0; k < D; k++)
                    y[k] += d->down_b[k];
            float wt = d->wt ? d->wt[r] : 1.0f;
            float *o = j->out + (size_t)(d->tok ? d->tok[r] : r) * (size_t)D;
            for (int64_t k = 0; k < D; k++)
                o[k] += wt * y[k];
        }
    }
}

/* ------------------------------------------------------------- set-up */

static size_t al64(size_t n) { return (n + 63) & ~(size_t)63; }

static int64_t lcm64(int64_t a, int64_t b) {
    a = a < 1 ? 1 : a, b = b < 1 ? 1 : b;
    int64_t x = a, y = b;
    while (y) {
        int64_t t = x % y;
        x = y, y = t;
    }
    return a / x * b;
}

static bool in_order(const lf_moe_expert *d, int64_t T) {
    if (d->n != T)
        return false;
    for (int32_t r = 0; d->tok && r < d->n; r++)
        if (d->tok[r] != r)
            return false;
    return true;
}

static const lf_mm_kernel *kernel_of(const lf_kernel_set *ks, const lf_weight *W, lf_error *err) {
    const lf_mm_kernel *k = lf_kernels_for(ks, W->type);
    if (!k)
        lf_fail(err, "type %s is not supported yet",
                lf_type_name(W->type) ? lf_type_name(W->type) : "?");
    return k;
}

static size_t tmp_of(const lf_mm_kernel *k, const lf_weight *W, int64_t n) {
    if (!k->tmp_bytes)
        return 0;
    lf_mm_call c = {.type = W->type, .k = W->ne[0], .ldw = W->row_bytes, .m = W->ne[1], .n = n};
    return k->tmp_bytes(&c);
}

bool lf_moe_experts_run(lf_context *c, const lf_moe_expert *ds, int n_ds, float *out,
                        const float *x, int64_t T, int64_t D, lf_error *err) {
    const lf_kernel_set *ks = lf_kernels();
    int n_ex = 0;
    double work = 0;
    int64_t align = 1, max_n = 0, max_gather = 0, rows_gu = 0, rows = 0;
    for (int i = 0; i < n_ds; i++) {
        const lf_moe_expert *d = &ds[i];
        if (d->n <= 0)
            continue;
        n_ex++;
        max_n = d->n > max_n ? d->n : max_n;
        rows_gu += d->up->ne[1];
        rows += d->n;
        work += 3.0 * (double)d->n * (double)d->up->ne[1] * (double)D;
    }
    if (!n_ex) {
        memset(out, 0, sizeof(float) * (size_t)(T * D));
        return true;
    }
    lf_pool *pool = lf_pool_for(c->pool, work);
    int nth = lf_pool_threads(pool);

    /* sizes: the job's arrays, then the buffers, then per-thread memory */
    struct mx_job j = {.n_ex = n_ex, .x = x, .T = T, .D = D, .out = out,
                       .few = rows * D <= FEW_FLOATS};
    size_t ktmp = 0, bytes = al64(sizeof(mx) * (size_t)n_ex);
    long n_cv0 = 0, n_cv2 = 0, n_gu = 0;
    int64_t cv0_rows = 0; /* activation rows phase 0 converts */
    for (int i = 0; i < n_ds; i++) {
        const lf_moe_expert *d = &ds[i];
        if (d->n <= 0)
            continue;
        const lf_weight *g = d->gate->data ? d->gate : d->up;
        const lf_mm_kernel *kg = kernel_of(ks, g, err), *ku = kernel_of(ks, d->up, err),
                           *kd = kernel_of(ks, d->down, err);
        if (!kg || !ku || !kd)
            return false;
        int64_t F = d->up->ne[1];
        if (d->up->ne[0] != D || g->ne[0] != D || g->ne[1] != F || d->down->ne[0] != F ||
            d->down->ne[1] != D)
            return lf_fail(err, "expert tensors do not match (%lld x %lld up, %lld x %lld down)",
                           (long long)d->up->ne[0], (long long)F, (long long)d->down->ne[0],
                           (long long)d->down->ne[1]);
        align = lcm64(align, lcm64(kg->row_align, lcm64(ku->row_align, kd->row_align)));
        size_t t3[3] = {tmp_of(kg, g, d->n), tmp_of(ku, d->up, d->n), tmp_of(kd, d->down, d->n)};
        for (int k = 0; k < 3; k++)
            ktmp = t3[k] > ktmp ? t3[k] : ktmp;
        if (!in_order(d, T)) {
            max_gather = d->n > max_gather ? d->n : max_gather;
            bytes += al64(kg->act_bytes(g->type, D, d->n));
            if (g->type != d->up->type)
                bytes += al64(ku->act_bytes(d->up->type, D, d->n));
            n_cv0++;
            cv0_rows += d->n;
        } else {
            const lf_weight *ws[2] = {g, d->up};
            const lf_mm_kernel *kk[2] = {kg, ku};
            for (int w = 0; w < 2; w++) {
                int s = 0;
                while (s < j.n_slots && j.slots[s].type != ws[w]->type)
                    s++;
                if (s == j.n_slots) {
                    if (s == MAX_SLOTS)
                        return lf_fail(err, "too many expert weight types");
                    j.slots[j.n_slots++] = (slot){ws[w]->type, kk[w], NULL};
                    bytes += al64(kk[w]->act_bytes(ws[w]->type, D, T));
                    n_cv0 += (long)((T + ACT_GROUP - 1) / ACT_GROUP);
                    cv0_rows += T;
                }
            }
        }
        bytes += al64(sizeof(float) * (size_t)(d->n * F)) + al64(kd->act_bytes(d->down->type, F, d->n));
        if (j.few)
            bytes += al64(sizeof(float) * (size_t)(d->n * D));
        n_cv2 += (long)((d->n + ACT_GROUP - 1) / ACT_GROUP);
    }
    /* row chunks: a multiple of every kernel's alignment, about 8 units
     * per thread (long runs of rows read the weights fastest), at most
     * MAX_CHUNK rows unless the alignment says more */
    int64_t cmax = (MAX_CHUNK + align - 1) / align * align;
    int64_t chunk_gu = (rows_gu + 8 * nth - 1) / (8 * nth);
    chunk_gu = (chunk_gu + align - 1) / align * align;
    chunk_gu = chunk_gu < align ? align : chunk_gu > cmax ? cmax : chunk_gu;
    int64_t chunk_d = (D + 16 * nth - 1) / (16 * nth);
    chunk_d = (chunk_d + align - 1) / align * align;
    chunk_d = chunk_d < align ? align : chunk_d > cmax ? cmax : chunk_d;
    int64_t chunk_dn = (n_ex * D + 8 * nth - 1) / (8 * nth);
    chunk_dn = (chunk_dn + align - 1) / align * align;
    chunk_dn = chunk_dn < align ? align : chunk_dn > cmax ? cmax : chunk_dn;
    long n_dn = j.few ? (long)n_ex * (long)((D + chunk_dn - 1) / chunk_dn) : 0;
    for (int i = 0; i < n_ds; i++)
        if (ds[i].n > 0)
            n_gu += (long)((ds[i].up->ne[1] + chunk_gu - 1) / chunk_gu);
    bytes += al64(sizeof(cvt_unit) * (size_t)(n_cv0 + n_cv2)) +
             al64(sizeof(gu_unit) * (size_t)(n_gu + n_dn));
    j.gbuf_off = 0;
    j.ubuf_off = al64(sizeof(float) * (size_t)(max_gather * D));
    j.ybuf_off = j.ubuf_off + al64(sizeof(float) * (size_t)(max_n * chunk_gu));
    j.ktmp_off = j.ybuf_off + al64(sizeof(float) * (size_t)(max_n * chunk_d));
    j.thr_bytes = j.ktmp_off + al64(ktmp);
    size_t total = bytes + j.thr_bytes * (size_t)nth;
    char *mem = lf_scratch_get(&c->mm, total);
    if (!mem)
        return lf_fail(err, "out of memory for the experts' work space (%zu MiB)", total >> 20);

    /* carve */
    char *p = mem;
    j.ex = (mx *)p, p += al64(sizeof(mx) * (size_t)n_ex);
    j.cv0 = (cvt_unit *)p, p += al64(sizeof(cvt_unit) * (size_t)(n_cv0 + n_cv2));
    j.cv2 = j.cv0 + n_cv0;
    j.gu = (gu_unit *)p, j.dn = j.gu + n_gu, p += al64(sizeof(gu_unit) * (size_t)(n_gu + n_dn));
    for (int s = 0; s < j.n_slots; s++) {
        j.slots[s].buf = p;
        p += al64(j.slots[s].kr->act_bytes(j.slots[s].type, D, T));
        for (int64_t r = 0; r < T; r += ACT_GROUP)
            j.cv0[j.n_cv0++] = (cvt_unit){CV_SLOT, s, r, r + ACT_GROUP < T ? r + ACT_GROUP : T};
    }
    int ie = 0;
    for (int i = 0; i < n_ds; i++) {
        const lf_moe_expert *d = &ds[i];
        if (d->n <= 0)
            continue;
        mx *e = &j.ex[ie];
        const lf_weight *g = d->gate->data ? d->gate : d->up;
        *e = (mx){.d = d, .kg = lf_kernels_for(ks, g->type), .ku = lf_kernels_for(ks, d->up->type),
                  .kd = lf_kernels_for(ks, d->down->type), .F = d->up->ne[1]};
        size_t sl = (size_t)d->slice;
        e->wg = (const char *)g->data + sl * (size_t)g->ne[1] * g->row_bytes;
        e->wu = (const char *)d->up->data + sl * (size_t)d->up->ne[1] * d->up->row_bytes;
        e->wd = (const char *)d->down->data + sl * (size_t)d->down->ne[1] * d->down->row_bytes;
        if (!in_order(d, T)) {
            e->ag_own = p, p += al64(e->kg->act_bytes(g->type, D, d->n));
            e->au_own = e->ag_own;
            if (g->type != d->up->type)
                e->au_own = p, p += al64(e->ku->act_bytes(d->up->type, D, d->n));
            e->ag = e->ag_own, e->au = e->au_own;
            j.cv0[j.n_cv0++] = (cvt_unit){CV_GATHER, ie, 0, d->n};
        } else {
            for (int s = 0; s < j.n_slots; s++) {
                if (j.slots[s].type == g->type)
                    e->ag = j.slots[s].buf;
                if (j.slots[s].type == d->up->type)
                    e->au = j.slots[s].buf;
            }
        }
        e->h = (float *)p, p += al64(sizeof(float) * (size_t)(d->n * e->F));
        e->ah = p, p += al64(e->kd->act_bytes(d->down->type, e->F, d->n));
        if (j.few) {
            e->y = (float *)p, p += al64(sizeof(float) * (size_t)(d->n * D));
            for (int64_t r = 0; r < D; r += chunk_dn)
                j.dn[j.n_dn++] = (gu_unit){ie, r, r + chunk_dn < D ? r + chunk_dn : D};
        }
        for (int64_t r = 0; r < d->n; r += ACT_GROUP)
            j.cv2[j.n_cv2++] = (cvt_unit){CV_HIDDEN, ie, r, r + ACT_GROUP < d->n ? r + ACT_GROUP : d->n};
        ie++;
    }
    /* the biggest experts' units first: the counter hands out the long ones
     * while the others still have work to even out */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n_ex; i++) {
            bool big = j.ex[i].d->n * 4 >= T && T > 1;
            if (big != (pass == 0))
                continue;
            for (int64_t r = 0; r < j.ex[i].F; r += chunk_gu)
                j.gu[j.n_gu++] = (gu_unit){i, r, r + chunk_gu < j.ex[i].F ? r + chunk_gu : j.ex[i].F};
        }
    j.thr = p;
    j.chunk_d = chunk_d;

    /* a few rows to convert: the caller does it, and the job skips a barrier */
    if (cv0_rows <= 4 || nth == 1) {
        for (long u = 0; u < j.n_cv0; u++)
            run_cvt(&j, &j.cv0[u], j.thr);
        j.phase0_done = true;
    }
    lf_pool_chunks_init(&j.c0, j.n_cv0);
    lf_pool_chunks_init(&j.c1, j.n_gu);
    lf_pool_chunks_init(&j.c2, j.n_cv2);
    lf_pool_chunks_init(&j.c3, j.few ? j.n_dn : (long)((D + chunk_d - 1) / chunk_d));
    atomic_init(&j.arrived, 0);
    lf_pool_run(pool, mx_worker, &j);
    if (j.few)
        add_up(&j);
    return true;
}
