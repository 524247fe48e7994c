/* repack.c — the weight matrices held in anonymous memory, repacked for
 * the kernels (tensor/pack.h) where the kernel set reads a packed layout.
 *
 * Generation reads every weight once per token, so it runs at the memory
 * rate, and a file mapping of 4 KiB page-cache pages costs a TLB miss and
 * a prefetcher restart per page; anonymous memory on 2 MiB pages streams
 * at the full rate (gemma-3n tg: +26%, docs/performance.md). llama.cpp
 * does the same (its CPU_REPACK buffers). What stays mapped: embedding
 * tables that are only gathered a row at a time, everything past a memory
 * budget, and everything with LLAMAFILE_REPACK=0.
 *
 * lf_model_weight calls lf_model_pack_choose while an architecture binds
 * its tensors: it reserves the copy and points the lf_weight at it at once,
 * so copies of the lf_weight follow. The bytes are copied (and packed) by
 * lf_model_pack once the architecture is loaded, on a thread pool. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/error.h"
#include "base/threadpool.h"
#include "format/gguf.h"
#include "model/model.h"
#include "tensor/kernels.h"
#include "tensor/pack.h"
#include "tensor/types.h"

enum {
    HUGE_PAGE = 2 << 20,
    HELD_ALIGN = 4096,
};

/* The copies lie end to end (each at a 4 KiB boundary) in one reservation
 * of the budget's size on 2 MiB pages: only the pages written count, and
 * no copy leaves the rest of a huge page to itself (one region per matrix
 * cost TinyLlama Q4_K_M ~200 MB of peak RSS in partly used huge pages). */
struct lf_packs {
    struct held {
        const uint8_t *src; /* the tensor in the file's mapping */
        uint8_t *data;      /* its copy in the arena */
        size_t nbytes, row_bytes;
        int type;
        bool pack;
        int64_t k, rows; /* rows per slice */
        int64_t first_chunk;     /* index of its first copy chunk */
    } *v;
    int n, cap;
    size_t total;
    void *region;     /* the reservation */
    size_t region_len;
    uint8_t *arena;   /* its first 2 MiB boundary */
    size_t used;      /* bytes of the arena handed out */
};

static bool repack_enabled(void) {
    const char *e = getenv("LLAMAFILE_REPACK");
    return !e || strcmp(e, "0") != 0;
}

/* Copies stop at half the machine's memory: past that the model may not
 * fit twice (copy + page cache) and the rest is read from the mapping. */
static size_t memory_budget(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 2 : 0;
}

/* The page range holding [p, p + n). */
static void page_range(const void *p, size_t n, uint8_t **start, size_t *len) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + n + page - 1) & ~(page - 1);
    *start = (uint8_t *)a;
    *len = (size_t)(e - a);
}

/* Tables read a row per token: the input embeddings (unless the output
 * matrix is tied to them) and gemma-3n's per-layer embeddings. */
static bool gathered(const lf_model *m, const char *name) {
    if (strstr(name, "per_layer_token_embd"))
        return true;
    return strstr(name, "token_embd") && lf_gguf_find_tensor(m->gguf, "output.weight");
}

/* A MoE layer's experts and shared expert (model/moe_experts.c) call the
 * kernels on row ranges of their own and read the plain layout only. */
static bool packable(const lf_gguf_tensor *t, const char *name) {
    if (!lf_pack_fits(t->type, t->ne[0]) || t->ne[1] < LF_PACK_ROWS || strstr(name, "_exps") || strstr(name, "_shexp"))
        return false;
    const lf_mm_kernel *kr = lf_kernels_for(lf_kernels(), t->type);
    return kr && kr->packed;
}

/* Bytes from the arena's start to the reservation's end. */
static size_t arena_bytes(const struct lf_packs *pk) {
    return pk->region_len - (size_t)(pk->arena - (uint8_t *)pk->region);
}

/* Reserves the arena: address space only (MAP_NORESERVE), pages come as
 * the copies write them. Where the whole budget cannot be reserved (strict
 * overcommit, an address-space limit) half as much is tried, down to 64
 * MiB; what does not fit stays mapped. */
static void reserve_arena(struct lf_packs *pk, size_t budget) {
    size_t len = (budget + 2 * (size_t)HUGE_PAGE - 1) & ~((size_t)HUGE_PAGE - 1);
    void *r = MAP_FAILED;
    while (budget && len >= 32 * (size_t)HUGE_PAGE) {
        r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r != MAP_FAILED)
            break;
        len = len / 2 & ~((size_t)HUGE_PAGE - 1);
    }
    if (r == MAP_FAILED)
        return;
    pk->region = r;
    pk->region_len = len;
    pk->arena = (uint8_t *)(((uintptr_t)r + HUGE_PAGE - 1) & ~((uintptr_t)HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
    madvise(pk->arena, len - (size_t)(pk->arena - (uint8_t *)r), MADV_HUGEPAGE);
#endif
}

bool lf_model_pack_choose(lf_model *m, const lf_gguf_tensor *t, const char *name, lf_weight *W,
                          lf_error *err) {
    if (!repack_enabled() || !t->nbytes || gathered(m, name))
        return true;
    struct lf_packs *pk = m->packs;
    for (int i = 0; pk && i < pk->n; i++)
        if (pk->v[i].src == t->data) { /* bound twice: held once */
            W->data = pk->v[i].data;
            W->packed = pk->v[i].pack ? lf_pack_rows(t->ne[1]) : 0;
            return true;
        }
    if (!pk) {
        if (!(pk = m->packs = lf_calloc(1, sizeof *pk)))
            return lf_fail(err, "out of memory");
        reserve_arena(pk, memory_budget());
    }
    if (pk->n == pk->cap) {
        int cap = pk->cap ? 2 * pk->cap : 64;
        void *v = lf_realloc(pk->v, sizeof *pk->v * (size_t)cap);
        if (!v)
            return lf_fail(err, "out of memory");
        pk->v = v;
        pk->cap = cap;
    }
    /* the arena (the budget, or less where that could not be reserved)
     * decides what is held; past it a tensor stays mapped */
    size_t nb = (size_t)t->nbytes, at = (pk->used + HELD_ALIGN - 1) & ~(size_t)(HELD_ALIGN - 1);
    if (!pk->arena || at + nb > arena_bytes(pk))
        return true;
    uint8_t *data = pk->arena + at;
    pk->used = at + nb;
    bool pack = packable(t, name);
    pk->v[pk->n++] = (struct held){
        .src = t->data, .data = data, .nbytes = (size_t)t->nbytes,
        .row_bytes = W->row_bytes, .type = t->type, .pack = pack, .k = t->ne[0], .rows = t->ne[1],
    };
    pk->total += (size_t)t->nbytes;
    W->data = data;
    W->packed = pack ? lf_pack_rows(t->ne[1]) : 0;
    return true;
}

size_t lf_model_pack_unit = 4 << 20;

struct pack_job {
    struct lf_packs *pk;
    int64_t chunks_total;
    uint8_t *tmp; /* a group's plain rows, per thread */
    size_t tmp_bytes;
    lf_chunks chunks;
};

/* The rows of h (slice by slice) whose first byte lies in [off, off + n),
 * packed groups counted as a whole from their first row: [*r0, *r1). */
static void units_in(const struct held *h, size_t off, size_t n, int64_t *r0, int64_t *r1) {
    int64_t first = (int64_t)((off + h->row_bytes - 1) / h->row_bytes);
    int64_t end = (int64_t)((off + n + h->row_bytes - 1) / h->row_bytes);
    const int64_t packed = lf_pack_rows(h->rows);
    /* a group's rows after its first belong to the chunk of its first */
    int64_t in = first % h->rows;
    if (in < packed && in % LF_PACK_ROWS)
        first += LF_PACK_ROWS - in % LF_PACK_ROWS;
    /* and the unit reads (and drops the pages of) its last group whole */
    in = end % h->rows;
    if (in < packed && in % LF_PACK_ROWS)
        end += LF_PACK_ROWS - in % LF_PACK_ROWS;
    *r0 = first;
    *r1 = end > first ? end : first;
}

/* The copies, lf_model_pack_unit bytes a unit (a packed tensor: the rows and
 * groups that start in the chunk, packed on the way); the file's pages
 * are then dropped from this process's page tables (they stay in the page
 * cache), so RSS counts the weights once. */
static void copy_worker(void *arg, int ith, int nth) {
    (void)nth;
    struct pack_job *j = arg;
    uint8_t *tmp = j->tmp ? j->tmp + (size_t)ith * j->tmp_bytes : NULL;
    int at = 0;
    long c;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0) {
        while (at + 1 < j->pk->n && j->pk->v[at + 1].first_chunk <= c)
            at++;
        const struct held *h = &j->pk->v[at];
        const size_t unit = lf_model_pack_unit;
        size_t off = (size_t)(c - h->first_chunk) * unit;
        size_t n = h->nbytes - off < unit ? h->nbytes - off : unit;
        int64_t r0 = 0, r1 = 0;
        if (h->pack) {
            units_in(h, off, n, &r0, &r1);
            off = (size_t)r0 * h->row_bytes, n = (size_t)(r1 - r0) * h->row_bytes;
        }
        if (!n)
            continue;
        uint8_t *start;
        size_t len;
        page_range(h->src + off, n, &start, &len);
#ifdef MADV_POPULATE_READ
        madvise(start, len, MADV_POPULATE_READ); /* one call maps the chunk, not a fault per page */
#endif
        if (!h->pack) {
            memcpy(h->data + off, h->src + off, n);
        } else {
            const int64_t packed = lf_pack_rows(h->rows);
            for (int64_t r = r0; r < r1;) {
                size_t at_r = (size_t)r * h->row_bytes;
                if (r % h->rows < packed) { /* the rows' blocks are read across: from L2, not the mapping */
                    memcpy(tmp, h->src + at_r, LF_PACK_ROWS * h->row_bytes);
                    lf_pack_group_from(h->type, h->data + at_r, tmp, h->k);
                    r += LF_PACK_ROWS;
                } else {
                    memcpy(h->data + at_r, h->src + at_r, h->row_bytes);
                    r++;
                }
            }
        }
        madvise(start, len, MADV_DONTNEED);
    }
}

size_t lf_model_held_span(const lf_model *m) {
    const struct lf_packs *pk = m->packs;
    if (!pk || !pk->n)
        return 0;
    const struct held *last = &pk->v[pk->n - 1];
    return (size_t)(last->data + last->nbytes - pk->v[0].data);
}

void lf_model_pack_free(lf_model *m) {
    struct lf_packs *pk = m->packs;
    if (!pk)
        return;
    if (pk->region)
        munmap(pk->region, pk->region_len);
    free(pk->v);
    free(pk);
    m->packs = NULL;
}

bool lf_model_pack(lf_model *m, lf_error *err) {
    struct lf_packs *pk = m->packs;
    if (!pk || !pk->n)
        return true;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pack_job j = {.pk = pk};
    int n_packed = 0;
    for (int i = 0; i < pk->n; i++) {
        struct held *h = &pk->v[i];
        h->first_chunk = j.chunks_total;
        j.chunks_total += (int64_t)((h->nbytes + lf_model_pack_unit - 1) / lf_model_pack_unit);
        n_packed += h->pack;
        if (h->pack && LF_PACK_ROWS * h->row_bytes > j.tmp_bytes)
            j.tmp_bytes = LF_PACK_ROWS * h->row_bytes;
    }
    lf_pool *pool = lf_pool_new(lf_physical_cores(), err);
    if (!pool)
        return false;
    j.tmp_bytes = (j.tmp_bytes + 63) & ~(size_t)63;
    if (j.tmp_bytes && !(j.tmp = lf_malloc(j.tmp_bytes * (size_t)lf_pool_threads(pool)))) {
        lf_pool_free(pool);
        return lf_fail(err, "out of memory repacking weights");
    }
    lf_pool_chunks_init(&j.chunks, (long)j.chunks_total);
    lf_pool_run(pool, copy_worker, &j);
    free(j.tmp);
    lf_pool_free(pool);
    /* read-only from here on; the arena past the copies back to the system */
    size_t ro = (pk->used + HUGE_PAGE - 1) & ~((size_t)HUGE_PAGE - 1), all = arena_bytes(pk);
    if (ro > all) /* the reservation's end need not be a huge-page boundary */
        ro = all;
    mprotect(pk->arena, ro, PROT_READ);
    if (ro < all) {
        munmap(pk->arena + ro, all - ro);
        pk->region_len -= all - ro;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    m->n_packed = n_packed;
    m->n_held = pk->n;
    m->held_bytes = pk->total;
    m->pack_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
    return true;
}
