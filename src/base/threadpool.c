#include "base/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"

/* Workers spin this long for the next job before sleeping: a forward pass
 * runs hundreds of short jobs per token, and a futex wake-up costs tens of
 * microseconds. */
enum { SPIN_NS = 2000000 };

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct lf_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation; /* bumped for each job */
    atomic_int pending;     /* workers still running the current job */
    atomic_int sleepers;    /* workers waiting on `wake` */
    atomic_bool stop;
    lf_pool_fn fn;
    void *arg;
};

struct worker_start {
    lf_pool *p;
    int ith;
};

static void *worker_main(void *v) {
    struct worker_start *ws = v;
    lf_pool *p = ws->p;
    int ith = ws->ith;
    free(ws);
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int64_t spin_until = 0;
        for (unsigned spins = 0; (gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
                                 !atomic_load(&p->stop);
             spins++) {
            cpu_relax();
            if (spins % 256)
                continue;
            if (!spin_until) {
                spin_until = now_ns() + SPIN_NS;
                continue;
            }
            if (now_ns() < spin_until)
                continue;
            /* sleep; lf_pool_run sees `sleepers` and signals (both sides
             * are sequentially consistent, so one sees the other) */
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spin_until = 0;
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = gen;
        p->fn(p->arg, ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
}

lf_pool *lf_pool_new(int n_threads, lf_error *err) {
    lf_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        lf_fail(err, "out of memory creating a thread pool");
        return NULL;
    }
    p->n = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)p->n, sizeof(pthread_t));
    if (!p->threads) {
        free(p);
        lf_fail(err, "out of memory creating a thread pool");
        return NULL;
    }
    for (int i = 1; i < p->n; i++) {
        struct worker_start *ws = malloc(sizeof(*ws));
        if (ws)
            *ws = (struct worker_start){p, i};
        int rc = ws ? pthread_create(&p->threads[i], NULL, worker_main, ws) : -1;
        if (rc != 0) {
            free(ws);
            p->n = i; /* shut down the ones already started */
            lf_pool_free(p);
            lf_fail(err, "cannot start thread %d: %s", i, rc > 0 ? strerror(rc) : "out of memory");
            return NULL;
        }
    }
    return p;
}

void lf_pool_free(lf_pool *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p);
}

int lf_pool_threads(const lf_pool *p) { return p ? p->n : 1; }

void lf_pool_run(lf_pool *p, lf_pool_fn fn, void *arg) {
    if (!p || p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n);
    for (unsigned spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < 1u << 16)
            cpu_relax();
        else
            sched_yield();
    }
}

int lf_physical_cores(void) {
    /* Count distinct (physical id, core id) pairs in /proc/cpuinfo. */
    FILE *f = fopen("/proc/cpuinfo", "r");
    int cores = 0;
    if (f) {
        char line[256];
        int phys = 0, seen_n = 0;
        int seen[1024];
        while (fgets(line, sizeof line, f)) {
            int v;
            if (sscanf(line, "physical id : %d", &v) == 1)
                phys = v;
            else if (sscanf(line, "core id : %d", &v) == 1) {
                int key = phys * 4096 + v, dup = 0;
                for (int i = 0; i < seen_n; i++)
                    dup |= seen[i] == key;
                if (!dup && seen_n < 1024)
                    seen[seen_n++] = key;
            }
        }
        fclose(f);
        cores = seen_n;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores <= 0 || (online > 0 && cores > online))
        cores = online > 0 ? (int)online : 1;
    return cores;
}
