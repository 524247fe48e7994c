/* matmul.c — lf_matmul: one pool job per product. Every thread converts a
 * share of the activation rows to the kernel's layout, all meet at a
 * barrier, then they take chunks of output rows from an atomic counter.
 * One activation row (token generation) is converted by every thread into
 * its own copy instead: a few microseconds of duplicated work against a
 * barrier per product, where a thread that is late to the job (woken late,
 * or preempted on a busy machine) holds up the others. Several products
 * of the same activations (a layer's Q, K and V; gate and up) can share
 * one job: one conversion per weight type, one wake-up, one wait. */
#include "tensor/matmul.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "base/error.h"
#include "tensor/types.h"

enum { ACT_GROUP = 16 }; /* activation rows are handed out in groups of 16 */

/* One product of the job. Products of the same weight type and width
 * share one converted copy of the activations (act_of: the first such). */
struct mm_prod {
    const lf_mm_kernel *kr;
    lf_mm_call call;
    int act_of;
    size_t act_off;      /* its converted activations, from the job's act */
    int64_t chunk_rows;
    long chunk0;         /* its first chunk in the job's numbering */
};

struct mm_job {
    struct mm_prod prod[LF_MATMUL_MAX];
    int count;
    const float *x;
    char *act;           /* converted activations (per thread if private) */
    size_t act_bytes;    /* bytes apart, for private copies */
    bool private_act;
    char *tmp;           /* per-thread scratch, tmp_bytes apart */
    size_t tmp_bytes;
    lf_chunks chunks;
    atomic_int arrived;  /* threads done converting */
};

static void convert_share(const struct mm_prod *p, const float *x, char *act, int ith, int nth) {
    const lf_mm_call *c = &p->call;
    int64_t n = c->n, groups = (n + ACT_GROUP - 1) / ACT_GROUP;
    if (groups >= nth) {
        int64_t g0 = groups * ith / nth, g1 = groups * (ith + 1) / nth;
        int64_t r0 = g0 * ACT_GROUP, r1 = g1 * ACT_GROUP < n ? g1 * ACT_GROUP : n;
        if (r0 < r1)
            p->kr->act(c->type, x, c->k, n, r0, r1, act);
    } else if (ith < n && groups == 1 && n > 1) {
        /* one group: a row per thread; the last also pads the group */
        for (int64_t r = ith; r < n; r += nth)
            p->kr->act(c->type, x, c->k, n, r, r + 1, act);
    } else if (ith == 0) {
        p->kr->act(c->type, x, c->k, n, 0, n, act);
    }
}

static void wait_all(atomic_int *arrived, int nth) {
    atomic_fetch_add_explicit(arrived, 1, memory_order_acq_rel);
    for (int spins = 0; atomic_load_explicit(arrived, memory_order_acquire) < nth; spins++)
        if (spins > 4096)
            sched_yield();
}

static void mm_worker(void *arg, int ith, int nth) {
    struct mm_job *j = arg;
    lf_mm_call call[LF_MATMUL_MAX];
    char *act = j->private_act ? j->act + (size_t)ith * j->act_bytes : j->act;
    for (int i = 0; i < j->count; i++) {
        const struct mm_prod *p = &j->prod[i];
        call[i] = p->call;
        call[i].a = act + j->prod[p->act_of].act_off;
        if (p->act_of != i)
            continue;
        if (j->private_act)
            p->kr->act(p->call.type, j->x, p->call.k, p->call.n, 0, p->call.n, act + p->act_off);
        else
            convert_share(p, j->x, act + p->act_off, ith, nth);
    }
    if (!j->private_act && nth > 1)
        wait_all(&j->arrived, nth);
    void *tmp = j->tmp ? j->tmp + (size_t)ith * j->tmp_bytes : NULL;
    long c;
    int i = 0;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0) {
        while (i + 1 < j->count && c >= j->prod[i + 1].chunk0) /* chunks come in increasing order */
            i++;
        const struct mm_prod *p = &j->prod[i];
        int64_t i0 = (c - p->chunk0) * p->chunk_rows;
        int64_t i1 = i0 + p->chunk_rows < p->call.m ? i0 + p->chunk_rows : p->call.m;
        p->kr->mm(&call[i], i0, i1, tmp);
    }
}

/* Row chunks: about 8 per thread, a multiple of the kernel's alignment. */
static int64_t chunk_rows(int64_t m, int align, int nth) {
    int64_t want = (m + 8 * nth - 1) / (8 * nth);
    int64_t c = (want + align - 1) / align * align;
    return c < align ? align : c;
}

bool lf_matmul_many_with(const lf_kernel_set *ks, lf_pool *pool, lf_scratch *scratch, int count,
                         float *const *outs, const lf_weight *const *Ws, const int64_t *slices,
                         const float *x, int64_t n_rows, lf_error *err) {
    if (count < 1 || count > LF_MATMUL_MAX)
        return lf_fail(err, "%d products in one matrix job (1 to %d)", count, LF_MATMUL_MAX);
    struct mm_job j = {.count = count, .x = x};
    double work = 0;
    for (int i = 0; i < count; i++) {
        const lf_weight *W = Ws[i];
        const lf_mm_kernel *kr = lf_kernels_for(ks, W->type);
        if (!kr)
            return lf_fail(err, "type %s is not supported yet",
                           lf_type_name(W->type) ? lf_type_name(W->type) : "?");
        if (W->packed && !kr->packed)
            return lf_fail(err, "the %s kernels cannot read packed %s weights", ks->name,
                           lf_type_name(W->type));
        if (i > 0 && W->ne[0] != Ws[0]->ne[0])
            return lf_fail(err, "products of one job disagree on the width (%lld, %lld)",
                           (long long)Ws[0]->ne[0], (long long)W->ne[0]);
        int64_t slice = slices ? slices[i] : 0;
        j.prod[i] = (struct mm_prod){
            .kr = kr,
            .call = {
                .type = W->type, .k = W->ne[0],
                .w = (const char *)W->data + (size_t)slice * (size_t)W->ne[1] * W->row_bytes,
                .ldw = W->row_bytes, .m = W->ne[1], .n = n_rows, .c = outs[i], .ldc = (size_t)W->ne[1],
                .packed = W->packed,
            },
            .act_of = i,
        };
        for (int e = 0; e < i; e++)
            if (j.prod[e].act_of == e && Ws[e]->type == W->type) {
                j.prod[i].act_of = e;
                break;
            }
        work += (double)W->ne[0] * (double)W->ne[1] * (double)n_rows;
    }
    if (n_rows <= 0)
        return true;
    pool = lf_pool_for(pool, work);
    int nth = lf_pool_threads(pool);
    size_t act_bytes = 0, tmp_bytes = 0;
    long chunks = 0;
    for (int i = 0; i < count; i++) {
        struct mm_prod *p = &j.prod[i];
        if (p->act_of == i) {
            p->act_off = act_bytes;
            act_bytes += (p->kr->act_bytes(p->call.type, p->call.k, n_rows) + 63) & ~(size_t)63;
        }
        size_t tb = p->kr->tmp_bytes ? (p->kr->tmp_bytes(&p->call) + 63) & ~(size_t)63 : 0;
        tmp_bytes = tb > tmp_bytes ? tb : tmp_bytes;
        p->chunk_rows = chunk_rows(p->call.m, p->kr->row_align, nth);
        p->chunk0 = chunks;
        chunks += (long)((p->call.m + p->chunk_rows - 1) / p->chunk_rows);
    }
    j.private_act = n_rows == 1 && nth > 1;
    j.act_bytes = act_bytes;
    if (j.private_act)
        act_bytes *= (size_t)nth;
    j.tmp_bytes = tmp_bytes;
    char *buf = lf_scratch_get(scratch, act_bytes + j.tmp_bytes * (size_t)nth);
    if (!buf)
        return lf_fail(err, "out of memory for a %lld-row activation buffer", (long long)n_rows);
    j.act = buf;
    j.tmp = j.tmp_bytes ? buf + act_bytes : NULL;
    lf_pool_chunks_init(&j.chunks, chunks);
    atomic_init(&j.arrived, 0);
    lf_pool_run(pool, mm_worker, &j);
    return true;
}

bool lf_matmul_with(const lf_kernel_set *ks, lf_pool *pool, lf_scratch *scratch, float *out,
                    const lf_weight *W, int64_t slice, const float *x, int64_t n_rows,
                    lf_error *err) {
    return lf_matmul_many_with(ks, pool, scratch, 1, &out, &W, &slice, x, n_rows, err);
}

bool lf_matmul(lf_pool *pool, lf_scratch *scratch, float *out, const lf_weight *W, int64_t slice,
               const float *x, int64_t n_rows, lf_error *err) {
    return lf_matmul_with(lf_kernels(), pool, scratch, out, W, slice, x, n_rows, err);
}

bool lf_matmul_many(lf_pool *pool, lf_scratch *scratch, int count, float *const *outs,
                    const lf_weight *const *Ws, const float *x, int64_t n_rows, lf_error *err) {
    return lf_matmul_many_with(lf_kernels(), pool, scratch, count, outs, Ws, NULL, x, n_rows, err);
}
