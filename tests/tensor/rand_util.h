/* rand_util.h — the tensor tests' seeded random numbers (xorshift64*),
 * one generator per test program. Define RAND_SEED before including it to
 * start another sequence. */
#ifndef TESTS_TENSOR_RAND_UTIL_H
#define TESTS_TENSOR_RAND_UTIL_H

#include <math.h>
#include <stdint.h>

#ifndef RAND_SEED
#define RAND_SEED 0x9e3779b97f4a7c15ull
#endif

static uint64_t g_rng = RAND_SEED;

static inline uint64_t rnd(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1dull;
}

static inline double uniform(void) { /* [0, 1) */
    return (double)(rnd() >> 11) * 0x1p-53;
}

static inline float normal(void) {
    double u = uniform() + 0x1p-60, v = uniform();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

#endif
