/* alloc.h — the library's allocation calls on the model-load, context and
 * decode paths, with a test hook: lf_alloc_fail_after(n) makes the n-th
 * allocation from now (0: the next) return NULL, once, so a test can walk
 * every allocation of a load + decode and see each failure become an
 * "out of memory" error (SQLite's malloc-failure testing). */
#ifndef LF_BASE_ALLOC_H
#define LF_BASE_ALLOC_H

#include <stddef.h>

void *lf_malloc(size_t n);
void *lf_calloc(size_t n, size_t size);
void *lf_realloc(void *p, size_t n);
void *lf_aligned_alloc(size_t align, size_t n);
/* strdup / strndup through the same hook. */
char *lf_strdup(const char *s);
char *lf_strndup(const char *s, size_t n);

/* Test hook: fail the n-th allocation from now (n < 0: none). */
void lf_alloc_fail_after(long n);
/* Failures injected since the process started. */
long lf_alloc_failures(void);

#endif
