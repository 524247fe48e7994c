/* repack.c — the weight matrices held in anonymous memory, repacked for
 * the kernels (tensor/pack.h) where the kernel set reads a packed layout.
 *
 * Generation reads every weight once per token, so it runs at the memory
 * rate, and a file mapping of 4 KiB page-cache pages costs a TLB miss and
 * a prefetcher restart per page; anonymous memory on 2 MiB pages streams
 * at the full rate (gemma-3n tg: +26%, docs/performance.md). llama.cpp
 * does the same (its CPU_REPACK buffers). What stays mapped: embedding
 * tables that are only gathered a row at a time, everything past a memory
 * budget, and everything with LLAMAFILE_REPACK=0 (LF_REPACK_OFF).
 *
 * lf_model_weight calls lf_model_pack_choose while an architecture binds
 * its tensors: it reserves the copy and records where the lf_weight lies in
 * the model's weight block. The lf_weight reads the file's mapping until
 * its copy is made. lf_model_pack, at the end of the load, copies (and
 * packs) every tensor on a thread pool and switches each lf_weight to its
 * copy (LF_REPACK_AT_LOAD), or leaves that to the decodes after the first
 * (LF_REPACK_BACKGROUND): each copies for a while on its context's pool
 * before its forward passes, and switches the tensors done. The first
 * token then does not wait for the copy, which on a fresh process costs a
 * fault per page of new memory (docs/performance.md). A thread of its own
 * would fight the context's pool for the cores: on 2 cores, 64 tokens took
 * 1.7 times as long. Switches take a lock that forward passes hold for
 * reading until every tensor is switched. */
#include <pthread.h>
#include <stdatomic.h>
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
    MAX_BINDINGS = 4, /* one lf_weight and a tied copy of it, in practice */
};

/* The copies lie end to end (each at a 4 KiB boundary) in one reservation
 * of the budget's size on 2 MiB pages: only the pages written count, and
 * no copy leaves the rest of a huge page to itself (one region per matrix
 * cost TinyLlama Q4_K_M ~200 MB of peak RSS in partly used huge pages). */
struct lf_packs {
    struct held {
        const uint8_t *src; /* the tensor in the file's mapping */
        uint8_t *data;      /* its copy in the arena (placed by keep_bound) */
        size_t nbytes, row_bytes;
        int type;
        bool pack;
        int64_t k, rows; /* rows per slice */
        int64_t first_chunk;     /* index of its first copy chunk */
        lf_weight *bind[MAX_BINDINGS]; /* the lf_weights to switch to the copy */
        int n_bind;
    } *v;
    int n, cap;
    void *region;     /* the reservation */
    size_t region_len;
    uint8_t *arena;   /* its first 2 MiB boundary */
    size_t used;      /* bytes of the arena handed out */
    int64_t chunks_total;
    size_t unit;      /* bytes per chunk (lf_model_pack_unit at the load) */
    size_t tmp_bytes; /* a packed group's plain rows */
    /* LF_REPACK_BACKGROUND */
    bool want_background;    /* the mode when the load began */
    bool background;         /* copies to come, the locks ready */
    pthread_rwlock_t lock;   /* forward passes read, switches write */
    pthread_mutex_t step;    /* one decode copies at a time; guards: */
    int64_t next_chunk;      /* the first chunk not copied */
    int n_done;              /* tensors copied whole (in order) */
    uint8_t *tmp;            /* tmp_bytes per thread, */
    int tmp_threads;         /* for this many */
    int n_switched;          /* tensors whose lf_weights read their copy */
    atomic_bool settled;     /* all switched: no lock needed any more */
};

static atomic_int repack_mode = LF_REPACK_AT_LOAD;

void lf_set_repack(enum lf_repack mode) { atomic_store(&repack_mode, (int)mode); }

size_t lf_model_pack_step_cap = SIZE_MAX;
void (*lf_model_pack_switch_hook)(void);

/* LLAMAFILE_REPACK=0 / load / background overrides lf_set_repack. */
static enum lf_repack mode_now(void) {
    const char *e = getenv("LLAMAFILE_REPACK");
    if (e && !strcmp(e, "0"))
        return LF_REPACK_OFF;
    if (e && !strcmp(e, "load"))
        return LF_REPACK_AT_LOAD;
    if (e && !strcmp(e, "background"))
        return LF_REPACK_BACKGROUND;
    return (enum lf_repack)atomic_load(&repack_mode);
}

static bool repack_enabled(void) { return mode_now() != LF_REPACK_OFF; }

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

/* The most the copies can take: every tensor's bytes with an alignment gap
 * each. Under strict overcommit MAP_NORESERVE is ignored and the whole
 * reservation is charged until the copy ends, so it asks for no more. */
static size_t copies_bound(const lf_model *m) {
    size_t n = 0;
    for (int64_t i = 0; m->gguf && i < m->gguf->n_tensors; i++)
        n += (size_t)m->gguf->tensors[i].nbytes + HELD_ALIGN;
    return n;
}

/* Reserves the arena: address space only (MAP_NORESERVE), pages come as
 * the copies write them. Where the whole budget cannot be reserved (strict
 * overcommit, an address-space limit) half as much is tried, down to 64
 * MiB; what does not fit stays mapped. */
static void reserve_arena(struct lf_packs *pk, size_t budget) {
    size_t len = (budget + 2 * (size_t)HUGE_PAGE - 1) & ~((size_t)HUGE_PAGE - 1);
    size_t least = len < 32 * (size_t)HUGE_PAGE ? len : 32 * (size_t)HUGE_PAGE;
    void *r = MAP_FAILED;
    while (budget && len >= least) {
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

/* Records W as a binding of h when it lies in the model's weight block
 * (a binding elsewhere, a caller's local, reads the mapping for good). */
static void bind(const lf_model *m, struct held *h, lf_weight *W) {
    const char *w = (const char *)W, *block = m->weights;
    if (block && w >= block && w + sizeof *W <= block + m->weights_size && h->n_bind < MAX_BINDINGS)
        h->bind[h->n_bind++] = W;
}

bool lf_model_pack_choose(lf_model *m, const lf_gguf_tensor *t, const char *name, lf_weight *W,
                          lf_error *err) {
    if (!repack_enabled() || !t->nbytes || gathered(m, name))
        return true;
    struct lf_packs *pk = m->packs;
    for (int i = 0; pk && i < pk->n; i++)
        if (pk->v[i].src == t->data) { /* bound twice: held once */
            bind(m, &pk->v[i], W);
            return true;
        }
    if (!pk) {
        if (!(pk = m->packs = lf_calloc(1, sizeof *pk)))
            return lf_fail(err, "out of memory");
        pk->want_background = mode_now() == LF_REPACK_BACKGROUND;
        size_t budget = memory_budget(), bound = copies_bound(m);
        reserve_arena(pk, bound < budget ? bound : budget);
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
    struct held *h = &pk->v[pk->n];
    *h = (struct held){
        .src = t->data, .nbytes = nb, .row_bytes = W->row_bytes,
        .type = t->type, .pack = packable(t, name), .k = t->ne[0], .rows = t->ne[1],
    };
    bind(m, h, W);
    pk->used = at + nb;
    pk->n++;
    return true;
}

void lf_model_weight_tie(lf_model *m, lf_weight *dst, const lf_weight *src) {
    *dst = *src;
    struct lf_packs *pk = m->packs;
    for (int i = 0; pk && i < pk->n; i++)
        for (int b = 0; b < pk->v[i].n_bind; b++)
            if (pk->v[i].bind[b] == src) {
                bind(m, &pk->v[i], dst);
                return;
            }
}

size_t lf_model_pack_unit = 4 << 20;

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

/* Copies chunk c of h (lf_model_pack_unit bytes; of a packed tensor, the
 * rows and groups that start in the chunk, packed on the way). With drop,
 * the file's pages are then dropped from this process's page tables (they
 * stay in the page cache), so RSS counts the weights once. */
static void copy_chunk(const struct held *h, int64_t c, size_t unit, uint8_t *tmp, bool drop) {
    size_t off = (size_t)(c - h->first_chunk) * unit;
    size_t n = h->nbytes - off < unit ? h->nbytes - off : unit;
    int64_t r0 = 0, r1 = 0;
    if (h->pack) {
        units_in(h, off, n, &r0, &r1);
        off = (size_t)r0 * h->row_bytes, n = (size_t)(r1 - r0) * h->row_bytes;
    }
    if (!n)
        return;
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
    if (drop)
        madvise(start, len, MADV_DONTNEED);
}

/* Chunks [first, first + chunks.n) copied by every thread of a pool. */
struct pack_job {
    struct lf_packs *pk;
    uint8_t *tmp; /* tmp_bytes per thread */
    int64_t first;
    int at;       /* the tensor holding chunk `first` */
    bool drop;
    const struct timespec *t0; /* no chunk taken budget_ms after it (NULL: none) */
    double budget_ms;
    lf_chunks chunks;
};

static double ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-6;
}

static void copy_worker(void *arg, int ith, int nth) {
    (void)nth;
    struct pack_job *j = arg;
    uint8_t *tmp = j->tmp ? j->tmp + (size_t)ith * j->pk->tmp_bytes : NULL;
    int at = j->at;
    long c;
    while ((!j->t0 || ms_since(j->t0) < j->budget_ms) && (c = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t chunk = j->first + c;
        while (at + 1 < j->pk->n && j->pk->v[at + 1].first_chunk <= chunk)
            at++;
        copy_chunk(&j->pk->v[at], chunk, j->pk->unit, tmp, j->drop);
    }
}

/* Points the lf_weights of tensors [n_switched, upto) at their copies. */
static void switch_weights(struct lf_packs *pk, int upto) {
    for (int i = pk->n_switched; i < upto; i++) {
        const struct held *h = &pk->v[i];
        for (int b = 0; b < h->n_bind; b++) {
            h->bind[b]->data = h->data;
            if (lf_model_pack_switch_hook)
                lf_model_pack_switch_hook();
            h->bind[b]->packed = h->pack ? lf_pack_rows(h->rows) : 0;
        }
    }
    pk->n_switched = upto;
}

/* The mapped pages of tensors [from, upto), dropped from the page tables. */
static void drop_mapped(struct lf_packs *pk, int from, int upto) {
    for (int i = from; i < upto; i++) {
        uint8_t *start;
        size_t len;
        page_range(pk->v[i].src, pk->v[i].nbytes, &start, &len);
        madvise(start, len, MADV_DONTNEED);
    }
}

/* The arena read-only, and its part past the copies back to the system. */
static void seal_arena(struct lf_packs *pk) {
    size_t ro = (pk->used + HUGE_PAGE - 1) & ~((size_t)HUGE_PAGE - 1), all = arena_bytes(pk);
    if (ro > all) /* the reservation's end need not be a huge-page boundary */
        ro = all;
    mprotect(pk->arena, ro, PROT_READ);
    if (ro < all) {
        munmap(pk->arena + ro, all - ro);
        pk->region_len -= all - ro;
    }
}

/* Copies chunks [first, first + n) on the pool (the caller's thread alone
 * if NULL), or where budget_ms after t0 passes, the chunks taken before: returns
 * how many, a prefix of them. One job, the chunks handed out one at a time
 * (a job per pair of chunks left a thread idle behind a longer one: half
 * the rate). */
static int64_t copy_chunks(struct lf_packs *pk, lf_pool *pool, uint8_t *tmp, int64_t first, int64_t n,
                           bool drop, const struct timespec *t0, double budget_ms) {
    struct pack_job j = {.pk = pk, .tmp = tmp, .first = first, .drop = drop, .t0 = t0, .budget_ms = budget_ms};
    while (j.at + 1 < pk->n && pk->v[j.at + 1].first_chunk <= first)
        j.at++;
    lf_pool_chunks_init(&j.chunks, (long)n);
    if (pool)
        lf_pool_run(pool, copy_worker, &j);
    else
        copy_worker(&j, 0, 1);
    long taken = atomic_load(&j.chunks.next);
    return taken < n ? taken : n;
}

bool lf_model_pack_step(lf_model *m, lf_pool *pool, double budget_ms) {
    struct lf_packs *pk = m->packs;
    if (!pk || !pk->background || atomic_load_explicit(&pk->settled, memory_order_acquire) ||
        budget_ms <= 0 || pthread_mutex_trylock(&pk->step) != 0)
        return false;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int threads = lf_pool_threads(pool);
    if (pk->tmp_bytes && threads > pk->tmp_threads) {
        free(pk->tmp);
        pk->tmp_threads = (pk->tmp = lf_malloc(pk->tmp_bytes * (size_t)threads)) ? threads : 0;
    }
    if (pk->tmp_bytes && !pk->tmp) {
        pthread_mutex_unlock(&pk->step);
        return false; /* no work space now; the weights stay mapped until a later step */
    }
    int64_t n = pk->chunks_total - pk->next_chunk;
    if (lf_model_pack_step_cap != SIZE_MAX) {
        int64_t cap = (int64_t)((lf_model_pack_step_cap + pk->unit - 1) / pk->unit);
        n = cap < 1 ? 1 : cap < n ? cap : n;
    }
    /* the mapped pages go as soon as copied: a forward pass reading a tensor
     * not yet switched maps them again from the page cache, and RSS stays
     * near the file's size rather than a step's copies above it */
    pk->next_chunk += copy_chunks(pk, pool, pk->tmp, pk->next_chunk, n, true, &t0, budget_ms);
    while (pk->n_done < pk->n && (pk->n_done + 1 == pk->n ? pk->chunks_total : pk->v[pk->n_done + 1].first_chunk) <=
                                     pk->next_chunk)
        pk->n_done++;
    int from = pk->n_switched;
    bool all = pk->n_done == pk->n;
    if (pk->n_done > from || all) { /* else nothing to switch: no wait for other contexts */
        pthread_rwlock_wrlock(&pk->lock); /* no forward pass reads a weight now */
        switch_weights(pk, pk->n_done);
        if (all)
            seal_arena(pk);
        pthread_rwlock_unlock(&pk->lock);
    }
    drop_mapped(pk, from, pk->n_switched);
    m->pack_ms += ms_since(&t0);
    if (all) {
        free(pk->tmp);
        pk->tmp = NULL;
        atomic_store_explicit(&pk->settled, true, memory_order_release);
    }
    pthread_mutex_unlock(&pk->step);
    return true;
}

bool lf_model_weights_enter(lf_model *m) {
    struct lf_packs *pk = m->packs;
    if (!pk || !pk->background || atomic_load_explicit(&pk->settled, memory_order_acquire))
        return false;
    pthread_rwlock_rdlock(&pk->lock);
    return true;
}

void lf_model_weights_leave(lf_model *m, bool entered) {
    if (entered)
        pthread_rwlock_unlock(&m->packs->lock);
}

bool lf_model_pack_settled(const lf_model *m) {
    const struct lf_packs *pk = m->packs;
    return !pk || !pk->background || atomic_load_explicit(&pk->settled, memory_order_acquire);
}

int lf_model_pack_switched(const lf_model *m) { return m->packs ? m->packs->n_switched : 0; }

int lf_model_pack_stale(const lf_model *m) {
    const struct lf_packs *pk = m->packs;
    int stale = 0;
    for (size_t at = 0; pk && at + sizeof(void *) <= m->weights_size; at += sizeof(void *)) {
        const void *p;
        memcpy(&p, (const char *)m->weights + at, sizeof p);
        for (int i = 0; i < pk->n; i++)
            stale += p == (const void *)pk->v[i].src;
    }
    return stale;
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
    if (pk->background) {
        pthread_rwlock_destroy(&pk->lock);
        pthread_mutex_destroy(&pk->step);
    }
    free(pk->tmp);
    if (pk->region)
        munmap(pk->region, pk->region_len);
    free(pk->v);
    free(pk);
    m->packs = NULL;
}

/* Forgets the tensors nothing in the weight block reads (bound only to a
 * caller's local, as the small tensors read as floats are) and places the
 * rest end to end in the arena. */
static void keep_bound(struct lf_packs *pk) {
    int n = 0;
    pk->used = 0;
    for (int i = 0; i < pk->n; i++) {
        if (!pk->v[i].n_bind)
            continue;
        size_t at = (pk->used + HELD_ALIGN - 1) & ~(size_t)(HELD_ALIGN - 1);
        pk->v[n] = pk->v[i];
        pk->v[n++].data = pk->arena + at;
        pk->used = at + pk->v[i].nbytes;
    }
    pk->n = n;
}

bool lf_model_pack(lf_model *m, lf_error *err) {
    struct lf_packs *pk = m->packs;
    if (pk)
        keep_bound(pk);
    if (!pk || !pk->n)
        return true;
    m->n_packed = 0;
    m->held_bytes = 0;
    pk->unit = lf_model_pack_unit;
    for (int i = 0; i < pk->n; i++) {
        struct held *h = &pk->v[i];
        h->first_chunk = pk->chunks_total;
        pk->chunks_total += (int64_t)((h->nbytes + pk->unit - 1) / pk->unit);
        m->n_packed += h->pack;
        m->held_bytes += h->nbytes;
        if (h->pack && LF_PACK_ROWS * h->row_bytes > pk->tmp_bytes)
            pk->tmp_bytes = LF_PACK_ROWS * h->row_bytes;
    }
    pk->tmp_bytes = (pk->tmp_bytes + 63) & ~(size_t)63;
    m->n_held = pk->n;
    if (pk->want_background) {
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        /* a switch waits for the forward passes under way, not for a stream of them */
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        bool lock = pthread_rwlock_init(&pk->lock, &attr) == 0;
        pthread_rwlockattr_destroy(&attr);
        if (lock && pthread_mutex_init(&pk->step, NULL) == 0)
            return pk->background = true;
        if (lock) /* else: copied now */
            pthread_rwlock_destroy(&pk->lock);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lf_pool *pool = lf_pool_new(lf_physical_cores(), err);
    if (!pool)
        return false;
    uint8_t *tmp = NULL;
    if (pk->tmp_bytes && !(tmp = lf_malloc(pk->tmp_bytes * (size_t)lf_pool_threads(pool)))) {
        lf_pool_free(pool);
        return lf_fail(err, "out of memory repacking weights");
    }
    copy_chunks(pk, pool, tmp, 0, pk->chunks_total, true, NULL, 0);
    free(tmp);
    lf_pool_free(pool);
    switch_weights(pk, pk->n);
    seal_arena(pk);
    m->pack_ms = ms_since(&t0);
    return true;
}
