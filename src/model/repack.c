/* repack.c — weights put into a kernel set's packed layout at load
 * (tensor/pack.h), in place: the file is mapped MAP_PRIVATE, so the pages
 * of a repacked tensor become private copies that replace the file's pages
 * in this process (no second copy of the weights, RSS as before).
 *
 * lf_model_weight chooses (lf_model_pack_choose) while an architecture binds
 * its tensors and marks the lf_weight packed at once, so copies of it carry
 * the flag; the bytes are permuted after the architecture's load
 * (lf_model_pack), on a thread pool, once per tensor. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/error.h"
#include "base/threadpool.h"
#include "model/model.h"
#include "tensor/kernels.h"
#include "tensor/pack.h"
#include "tensor/types.h"

struct lf_packs {
    struct packed_tensor {
        uint8_t *data;
        size_t nbytes, row_bytes;
        int type;
        int64_t k, rows, slices; /* rows per slice */
        int64_t first;           /* index of its first group over all tensors */
    } *v;
    int n, cap;
};

/* Opt-in for now (LLAMAFILE_REPACK=1): the matrix-vector kernels are 1.1-4x
 * faster on packed weights, but the repacking adds to the load time
 * (docs/performance.md, issue 18) and the default waits for an idle
 * measurement of both. */
static bool repack_enabled(void) {
    const char *e = getenv("LLAMAFILE_REPACK");
    return e && strcmp(e, "0") != 0;
}

/* The page range holding [p, p + n). */
static void page_range(const void *p, size_t n, uint8_t **start, size_t *len) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + n + page - 1) & ~(page - 1);
    *start = (uint8_t *)a;
    *len = (size_t)(e - a);
}

bool lf_model_pack_choose(lf_model *m, const lf_gguf_tensor *t, const char *name, lf_weight *W,
                          lf_error *err) {
    /* embedding tables are read a row at a time (lf_weight_row): packing
     * them would only make all their pages private; a MoE layer's experts
     * and shared expert (model/moe_experts.c) call the kernels on row ranges of their own and
     * read the plain layout only */
    if (!lf_pack_has(t->type) || t->ne[1] < LF_PACK_ROWS || strstr(name, "token_embd") ||
        strstr(name, "_exps") || strstr(name, "_shexp") || !repack_enabled())
        return true;
    const lf_mm_kernel *kr = lf_kernels_for(lf_kernels(), t->type);
    if (!kr || !kr->packed)
        return true;
    struct lf_packs *pk = m->packs;
    for (int i = 0; pk && i < pk->n; i++)
        if (pk->v[i].data == t->data) { /* bound twice: packed once */
            W->packed = lf_pack_rows(t->ne[1]);
            return true;
        }
    if (!pk && !(pk = m->packs = lf_calloc(1, sizeof *pk)))
        return lf_fail(err, "out of memory");
    if (pk->n == pk->cap) {
        int cap = pk->cap ? 2 * pk->cap : 64;
        void *v = lf_realloc(pk->v, sizeof *pk->v * (size_t)cap);
        if (!v)
            return lf_fail(err, "out of memory");
        pk->v = v;
        pk->cap = cap;
    }
    uint8_t *start;
    size_t len;
    page_range(t->data, (size_t)t->nbytes, &start, &len);
    if (mprotect(start, len, PROT_READ | PROT_WRITE) != 0)
        return true; /* not a private mapping: stays plain */
    pk->v[pk->n++] = (struct packed_tensor){
        .data = (uint8_t *)t->data, .nbytes = (size_t)t->nbytes, .row_bytes = W->row_bytes,
        .type = t->type, .k = t->ne[0], .rows = t->ne[1], .slices = t->ne[2] * t->ne[3],
    };
    W->packed = lf_pack_rows(t->ne[1]);
    return true;
}

struct pack_job {
    struct lf_packs *pk;
    int64_t groups;
    uint8_t *tmp;
    size_t tmp_bytes;
    lf_chunks chunks;
};

enum { GROUPS_PER_CHUNK = 32 };

/* The group's pages made private and writable before they are read: a
 * write to a page already mapped from the file costs a copy-on-write fault
 * that flushes the other threads' TLBs (an interrupt per page, most of the
 * repacking time when measured); populating first maps the private copy
 * directly. Best effort (Linux 5.14+). */
static void populate(void *p, size_t n) {
#ifdef MADV_POPULATE_WRITE
    uint8_t *start;
    size_t len;
    page_range(p, n, &start, &len);
    madvise(start, len, MADV_POPULATE_WRITE);
#else
    (void)p, (void)n;
#endif
}

static void pack_worker(void *arg, int ith, int nth) {
    (void)nth;
    struct pack_job *j = arg;
    uint8_t *tmp = j->tmp + (size_t)ith * j->tmp_bytes;
    int at = 0; /* chunks come in increasing order: the tensor only moves forward */
    long c;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t g0 = (int64_t)c * GROUPS_PER_CHUNK, g1 = g0 + GROUPS_PER_CHUNK < j->groups ? g0 + GROUPS_PER_CHUNK : j->groups;
        for (int64_t g = g0; g < g1; g++) {
            while (at + 1 < j->pk->n && j->pk->v[at + 1].first <= g)
                at++;
            const struct packed_tensor *t = &j->pk->v[at];
            int64_t per = t->rows / LF_PACK_ROWS, in = g - t->first;
            int64_t row = in / per * t->rows + in % per * LF_PACK_ROWS;
            uint8_t *grp = t->data + (size_t)row * t->row_bytes;
            populate(grp, LF_PACK_ROWS * t->row_bytes);
            lf_pack_group(t->type, grp, t->k, tmp);
        }
    }
}

void lf_model_pack_free(lf_model *m) {
    if (m->packs)
        free(m->packs->v);
    free(m->packs);
    m->packs = NULL;
}

bool lf_model_pack(lf_model *m, lf_error *err) {
    struct lf_packs *pk = m->packs;
    if (!pk || !pk->n) {
        lf_model_pack_free(m);
        return true;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pack_job j = {.pk = pk};
    size_t row_max = 0;
    for (int i = 0; i < pk->n; i++) {
        pk->v[i].first = j.groups;
        j.groups += pk->v[i].slices * (pk->v[i].rows / LF_PACK_ROWS);
        if (pk->v[i].row_bytes > row_max)
            row_max = pk->v[i].row_bytes;
    }
    bool ok = false;
    lf_pool *pool = lf_pool_new(lf_physical_cores(), err);
    if (pool) {
        j.tmp_bytes = (LF_PACK_ROWS * row_max + 63) & ~(size_t)63;
        j.tmp = lf_malloc(j.tmp_bytes * (size_t)lf_pool_threads(pool));
        if (!j.tmp) {
            lf_fail(err, "out of memory repacking weights");
        } else {
            lf_pool_chunks_init(&j.chunks, (long)((j.groups + GROUPS_PER_CHUNK - 1) / GROUPS_PER_CHUNK));
            lf_pool_run(pool, pack_worker, &j);
            ok = true;
        }
        free(j.tmp);
        lf_pool_free(pool);
    }
    /* read-only again (a failed run leaves tensors half packed: the load fails) */
    for (int i = 0; i < pk->n; i++) {
        uint8_t *start;
        size_t len;
        page_range(pk->v[i].data, pk->v[i].nbytes, &start, &len);
        mprotect(start, len, PROT_READ);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    m->n_packed = ok ? pk->n : 0;
    m->pack_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
    lf_model_pack_free(m);
    return ok;
}
