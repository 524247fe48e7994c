/* threadpool.h — persistent workers that run one parallel job at a time.
 *
 * lf_pool_run(pool, fn, arg) calls fn(arg, ith, nth) on every thread (the
 * caller is thread 0) and returns when all have finished: a barrier per job.
 * Workers spin briefly waiting for the next job, then sleep. Waits never spin
 * in a pool with more threads than CPUs available (lf_available_cpus), nor
 * for a while after a spinner finds it was descheduled (other processes busy
 * on these CPUs). Jobs split their work with lf_pool_chunk, an atomic
 * counter, so faster threads take more. */
#ifndef LF_BASE_THREADPOOL_H
#define LF_BASE_THREADPOOL_H

#include <stdatomic.h>

#include "llamafile.h"

typedef struct lf_pool lf_pool;
typedef void (*lf_pool_fn)(void *arg, int ith, int nth);

/* A pool of n_threads (including the caller); n_threads <= 1 runs inline. */
lf_pool *lf_pool_new(int n_threads, lf_error *err);
void lf_pool_free(lf_pool *p);
int lf_pool_threads(const lf_pool *p);
void lf_pool_run(lf_pool *p, lf_pool_fn fn, void *arg);

/* Hands out chunk indices 0, 1, ... n-1 to whoever asks first. Reset before
 * the job starts (lf_pool_chunks_init), then each thread loops on next. */
typedef struct lf_chunks {
    atomic_long next;
    long n;
} lf_chunks;

static inline void lf_pool_chunks_init(lf_chunks *c, long n) {
    atomic_store_explicit(&c->next, 0, memory_order_relaxed);
    c->n = n;
}
/* Next chunk index, or -1 when none are left. */
static inline long lf_pool_chunk(lf_chunks *c) {
    long i = atomic_fetch_add_explicit(&c->next, 1, memory_order_relaxed);
    return i < c->n ? i : -1;
}

/* The pool, or NULL (run on the calling thread) for a job of `work`
 * multiply-adds or so: below LF_POOL_MIN_WORK waking the workers costs more
 * than it saves. */
enum { LF_POOL_MIN_WORK = 1 << 18 };
static inline lf_pool *lf_pool_for(lf_pool *p, double work) {
    return work < LF_POOL_MIN_WORK ? NULL : p;
}

/* CPUs this process may run on (its affinity mask, so `taskset` counts). */
int lf_available_cpus(void);
/* Number of physical cores (falls back to logical CPUs), at most
 * lf_available_cpus(). */
int lf_physical_cores(void);

#endif
