#include "base/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/error.h"

/* Workers spin this long for the next job before sleeping, and the caller as
 * long for the last worker to finish: a forward pass runs hundreds of short
 * jobs per token, and a futex wake-up costs tens of microseconds.
 *
 * Spinning only pays while every thread has a CPU of its own. A spinning
 * thread that has to share one holds it while the thread it waits for is
 * queued behind it, and the scheduler, seeing a CPU hog, queues the spinner
 * itself behind others just when its job arrives: each job then costs
 * milliseconds. So a pool with more threads than CPUs never spins, and one
 * whose spinners find they were descheduled (a gap between two clock reads far
 * longer than the pauses between them: other processes want these CPUs) stops
 * spinning for BACKOFF_NS, then tries again. */
enum {
    SPIN_NS = 2000000,
    PREEMPTED_NS = 200000, /* 256 pauses take a few microseconds */
    BACKOFF_NS = 50000000,
};

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
    bool spin; /* n <= the CPUs available */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* workers: a job or stop */
    pthread_cond_t done;         /* the caller: pending reached 0 */
    atomic_uint generation;      /* bumped for each job */
    atomic_int pending;          /* workers still running the current job */
    atomic_int sleepers;         /* workers waiting on `wake` */
    atomic_bool caller_waits;    /* the caller waits on `done` */
    atomic_llong no_spin_before; /* now_ns() until which nobody spins */
    atomic_bool stop;
    lf_pool_fn fn;
    void *arg;
};

struct spin {
    unsigned n;
    int64_t until, last;
};

/* Whether to spin before sleeping; starts the budget. */
static bool spin_start(lf_pool *p, struct spin *s) {
    if (!p->spin)
        return false;
    int64_t t = now_ns();
    if (t < atomic_load_explicit(&p->no_spin_before, memory_order_relaxed))
        return false;
    *s = (struct spin){0, t + SPIN_NS, t};
    return true;
}

/* One pause; false when the budget is spent or the thread was descheduled. */
static bool spin_on(lf_pool *p, struct spin *s) {
    cpu_relax();
    if (++s->n % 256)
        return true;
    int64_t t = now_ns();
    if (t - s->last > PREEMPTED_NS) {
        atomic_store_explicit(&p->no_spin_before, t + BACKOFF_NS, memory_order_relaxed);
        return false;
    }
    s->last = t;
    return t < s->until;
}

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
        struct spin s = {0};
        bool spinning = spin_start(p, &s);
        unsigned gen;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
               !atomic_load(&p->stop)) {
            if (spinning && spin_on(p, &s))
                continue;
            /* sleep; lf_pool_run sees `sleepers` and signals (both sides
             * are sequentially consistent, so one sees the other) */
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = gen;
        p->fn(p->arg, ith, p->n);
        /* the last one out wakes a sleeping caller (as for `sleepers`) */
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_waits)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

lf_pool *lf_pool_new(int n_threads, lf_error *err) {
    lf_pool *p = lf_calloc(1, sizeof(*p));
    if (!p) {
        lf_fail(err, "out of memory creating a thread pool");
        return NULL;
    }
    p->n = n_threads < 1 ? 1 : n_threads;
    p->spin = p->n <= lf_available_cpus();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = lf_calloc((size_t)p->n, sizeof(pthread_t));
    if (!p->threads) {
        free(p);
        lf_fail(err, "out of memory creating a thread pool");
        return NULL;
    }
    for (int i = 1; i < p->n; i++) {
        struct worker_start *ws = lf_malloc(sizeof(*ws));
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
    pthread_cond_destroy(&p->done);
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
    struct spin s = {0};
    if (spin_start(p, &s))
        while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0 && spin_on(p, &s))
            ;
    if (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waits, true);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        atomic_store(&p->caller_waits, false);
        pthread_mutex_unlock(&p->mu);
    }
}

int lf_available_cpus(void) {
#ifdef __linux__
    /* the affinity mask: what taskset, cgroup cpusets and containers leave
     * to this process, not what the machine has */
    for (int ncpu = 1024; ncpu <= 1 << 16; ncpu *= 4) {
        cpu_set_t *set = CPU_ALLOC(ncpu);
        if (!set)
            break;
        size_t size = CPU_ALLOC_SIZE(ncpu);
        CPU_ZERO_S(size, set);
        int rc = sched_getaffinity(0, size, set);
        int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
        CPU_FREE(set);
        if (count > 0)
            return count;
    }
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
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
    int avail = lf_available_cpus();
    return cores <= 0 || cores > avail ? avail : cores;
}
