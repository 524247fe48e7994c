#include "base/alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static atomic_long countdown = -1; /* allocations left before the failure; -1: off */
static atomic_long failures;

/* True when this allocation is the one to fail. */
static bool inject(void) {
    if (atomic_load_explicit(&countdown, memory_order_relaxed) < 0)
        return false;
    if (atomic_fetch_sub(&countdown, 1) != 0)
        return false;
    atomic_fetch_add(&failures, 1);
    return true;
}

void *lf_malloc(size_t n) { return inject() ? NULL : malloc(n); }
void *lf_calloc(size_t n, size_t size) { return inject() ? NULL : calloc(n, size); }
void *lf_realloc(void *p, size_t n) { return inject() ? NULL : realloc(p, n); }
void *lf_aligned_alloc(size_t align, size_t n) { return inject() ? NULL : aligned_alloc(align, n); }

char *lf_strdup(const char *s) { return inject() ? NULL : strdup(s); }
char *lf_strndup(const char *s, size_t n) { return inject() ? NULL : strndup(s, n); }

void lf_alloc_fail_after(long n) { atomic_store(&countdown, n < 0 ? -1 : n); }
long lf_alloc_failures(void) { return atomic_load(&failures); }
