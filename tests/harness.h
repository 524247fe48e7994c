/* harness.h — the tiny test framework every C test uses.
 *
 *   TEST_BEGIN("name");  EXPECT(cond, "fmt", ...);  TEST_END();
 *   SKIP("name", "why");
 *   return test_summary();
 *
 * Each test prints one line: PASS name / FAIL name: first failure / SKIP
 * name: why. tests/run.sh adds them up. */
#ifndef LF_TESTS_HARNESS_H
#define LF_TESTS_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_skipped;
static int t_in_failed;
static const char *t_name;
static char t_first_failure[512];

#define TEST_BEGIN(name)                                                       \
    do {                                                                       \
        t_name = (name);                                                       \
        t_in_failed = 0;                                                       \
        t_first_failure[0] = 0;                                                \
    } while (0)

static void t_record_failure(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static void t_record_failure(const char *file, int line, const char *fmt, ...) {
    if (!t_in_failed) {
        int n = snprintf(t_first_failure, sizeof t_first_failure, "%s:%d: ", file, line);
        if (n > 0 && (size_t)n < sizeof t_first_failure) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(t_first_failure + n, sizeof t_first_failure - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    t_in_failed++;
}

#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            t_record_failure(__FILE__, __LINE__, __VA_ARGS__);                 \
    } while (0)

#define TEST_END()                                                             \
    do {                                                                       \
        if (t_in_failed) {                                                     \
            printf("FAIL %s: %s (%d failed checks)\n", t_name,                 \
                   t_first_failure, t_in_failed);                              \
            t_failed++;                                                        \
        } else {                                                               \
            printf("PASS %s\n", t_name);                                       \
            t_passed++;                                                        \
        }                                                                      \
        fflush(stdout);                                                        \
    } while (0)

#define SKIP(name, ...)                                                        \
    do {                                                                       \
        printf("SKIP %s: ", (name));                                           \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        t_skipped++;                                                           \
    } while (0)

/* Where ../shared is (the runner sets $SHARED). */
static inline const char *test_shared_dir(void) {
    const char *s = getenv("SHARED");
    return s && *s ? s : "../shared";
}

/* A whole file, NUL-terminated (malloc'd; *len its length if len); NULL if
 * it cannot be read. */
static inline char *test_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *p = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) &&
        fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return p;
}

static inline int test_summary(void) {
    printf("# %d passed, %d failed, %d skipped\n", t_passed, t_failed,
           t_skipped);
    return t_failed ? 1 : 0;
}

#endif
