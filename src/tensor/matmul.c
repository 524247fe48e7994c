/* matmul.c — lf_matmul: one pool job per product. Every thread converts a
 * share of the activation rows to the kernel's layout, all meet at a
 * barrier, then they take chunks of output rows from an atomic counter.
 * One activation row (token generation) is converted by every thread into
 * its own copy instead: a few microseconds of duplicated work against a
 * barrier per product, where a thread that is late to the job (woken late,
 * or preempted on a busy machine) holds up the others. */
#include "tensor/matmul.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "base/error.h"
#include "tensor/types.h"

enum { ACT_GROUP = 16 }; /* activation rows are handed out in groups of 16 */

struct mm_job {
    const lf_mm_kernel *kr;
    lf_mm_call call;
    const float *x;
    char *act;           /* converted activations (per thread if private) */
    size_t act_bytes;    /* bytes apart, for private copies */
    bool private_act;
    char *tmp;           /* per-thread scratch, tmp_bytes apart */
    size_t tmp_bytes;
    int64_t chunk_rows;
    lf_chunks chunks;
    atomic_int arrived;  /* threads done converting */
};

static void convert_share(struct mm_job *j, int ith, int nth) {
    int64_t n = j->call.n, groups = (n + ACT_GROUP - 1) / ACT_GROUP;
    if (groups >= nth) {
        int64_t g0 = groups * ith / nth, g1 = groups * (ith + 1) / nth;
        int64_t r0 = g0 * ACT_GROUP, r1 = g1 * ACT_GROUP < n ? g1 * ACT_GROUP : n;
        if (r0 < r1)
            j->kr->act(j->call.type, j->x, j->call.k, n, r0, r1, j->act);
    } else if (ith < n && groups == 1 && n > 1) {
        /* one group: a row per thread; the last also pads the group */
        for (int64_t r = ith; r < n; r += nth)
            j->kr->act(j->call.type, j->x, j->call.k, n, r, r + 1, j->act);
    } else if (ith == 0) {
        j->kr->act(j->call.type, j->x, j->call.k, n, 0, n, j->act);
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
    lf_mm_call call = j->call;
    if (j->private_act) {
        char *act = j->act + (size_t)ith * j->act_bytes;
        j->kr->act(call.type, j->x, call.k, call.n, 0, call.n, act);
        call.a = act;
    } else {
        convert_share(j, ith, nth);
        if (nth > 1)
            wait_all(&j->arrived, nth);
    }
    void *tmp = j->tmp ? j->tmp + (size_t)ith * j->tmp_bytes : NULL;
    long c;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t i0 = c * j->chunk_rows;
        int64_t i1 = i0 + j->chunk_rows < call.m ? i0 + j->chunk_rows : call.m;
        j->kr->mm(&call, i0, i1, tmp);
    }
}

/* Row chunks: about 8 per thread, a multiple of the kernel's alignment. */
static int64_t chunk_rows(int64_t m, int align, int nth) {
    int64_t want = (m + 8 * nth - 1) / (8 * nth);
    int64_t c = (want + align - 1) / align * align;
    return c < align ? align : c;
}

bool lf_matmul_with(const lf_kernel_set *ks, lf_pool *pool, lf_scratch *scratch, float *out,
                    const lf_weight *W, int64_t slice, const float *x, int64_t n_rows,
                    lf_error *err) {
    const lf_mm_kernel *kr = lf_kernels_for(ks, W->type);
    if (!kr)
        return lf_fail(err, "type %s is not supported yet",
                       lf_type_name(W->type) ? lf_type_name(W->type) : "?");
    if (W->packed && !kr->packed)
        return lf_fail(err, "the %s kernels cannot read packed %s weights", ks->name, lf_type_name(W->type));
    if (n_rows <= 0)
        return true;
    pool = lf_pool_for(pool, (double)W->ne[0] * (double)W->ne[1] * (double)n_rows);
    int nth = lf_pool_threads(pool);
    struct mm_job j = {
        .kr = kr,
        .call = {
            .type = W->type, .k = W->ne[0],
            .w = (const char *)W->data + (size_t)slice * (size_t)W->ne[1] * W->row_bytes,
            .ldw = W->row_bytes, .m = W->ne[1], .n = n_rows, .c = out, .ldc = (size_t)W->ne[1],
            .packed = W->packed,
        },
        .x = x,
    };
    size_t act_bytes = (kr->act_bytes(W->type, W->ne[0], n_rows) + 63) & ~(size_t)63;
    j.private_act = n_rows == 1 && nth > 1;
    j.act_bytes = act_bytes;
    if (j.private_act)
        act_bytes *= (size_t)nth;
    j.tmp_bytes = kr->tmp_bytes ? (kr->tmp_bytes(&j.call) + 63) & ~(size_t)63 : 0;
    char *buf = lf_scratch_get(scratch, act_bytes + j.tmp_bytes * (size_t)nth);
    if (!buf)
        return lf_fail(err, "out of memory for a %lld-row activation buffer", (long long)n_rows);
    j.act = buf;
    j.call.a = buf;
    j.tmp = j.tmp_bytes ? buf + act_bytes : NULL;
    j.chunk_rows = chunk_rows(j.call.m, kr->row_align, nth);
    lf_pool_chunks_init(&j.chunks, (long)((j.call.m + j.chunk_rows - 1) / j.chunk_rows));
    atomic_init(&j.arrived, 0);
    lf_pool_run(pool, mm_worker, &j);
    return true;
}

bool lf_matmul(lf_pool *pool, lf_scratch *scratch, float *out, const lf_weight *W, int64_t slice,
               const float *x, int64_t n_rows, lf_error *err) {
    return lf_matmul_with(lf_kernels(), pool, scratch, out, W, slice, x, n_rows, err);
}
