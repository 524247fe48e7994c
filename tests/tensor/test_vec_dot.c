/* test_vec_dot.c — every vec_dot in the type table against the dot product
 * of the dequantized rows (in double), on seeded random data of several
 * lengths, with weights made both by from_float and from random bytes, and
 * with unaligned buffers. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

#include "rand_util.h"

/* Where the fp16 scale fields (and an E8M0 exponent) sit in a block of
 * each type, so random bytes can be given sane scales. */
static const struct {
    int type;
    int half_at[2]; /* -1: none */
    int e8m0_at;    /* -1: none */
} k_fields[] = {
    {LF_TYPE_Q4_0, {0, -1}, -1},   {LF_TYPE_Q4_1, {0, 2}, -1},    {LF_TYPE_Q5_0, {0, -1}, -1},
    {LF_TYPE_Q5_1, {0, 2}, -1},    {LF_TYPE_Q8_0, {0, -1}, -1},   {LF_TYPE_Q2_K, {80, 82}, -1},
    {LF_TYPE_Q3_K, {108, -1}, -1}, {LF_TYPE_Q4_K, {0, 2}, -1},    {LF_TYPE_Q5_K, {0, 2}, -1},
    {LF_TYPE_Q6_K, {208, -1}, -1}, {LF_TYPE_IQ4_NL, {0, -1}, -1}, {LF_TYPE_IQ4_XS, {0, -1}, -1},
    {LF_TYPE_MXFP4, {-1, -1}, 0},
};

/* Random bytes with scales in a sane range; false for float types. */
static bool random_blocks(int type, uint8_t *dst, int64_t nblocks) {
    int f = -1;
    for (size_t i = 0; i < sizeof k_fields / sizeof k_fields[0]; i++)
        if (k_fields[i].type == type)
            f = (int)i;
    if (f < 0)
        return false;
    int64_t bs = lf_type_block_bytes(type);
    for (int64_t b = 0; b < nblocks; b++) {
        uint8_t *p = dst + b * bs;
        for (int64_t i = 0; i < bs; i++)
            p[i] = (uint8_t)rnd();
        for (int k = 0; k < 2; k++) {
            int at = k_fields[f].half_at[k];
            if (at < 0)
                continue;
            float v = (float)(0.001 + 0.05 * uniform()) * (rnd() & 1 ? -1.f : 1.f);
            uint16_t h = lf_fp32_to_fp16(v);
            p[at] = (uint8_t)h;
            p[at + 1] = (uint8_t)(h >> 8);
        }
        if (k_fields[f].e8m0_at >= 0)
            p[k_fields[f].e8m0_at] = (uint8_t)(118 + rnd() % 16);
    }
    return true;
}

/* Q4_1/Q5_1 against Q8_1: the kernel takes the activation block sum from
 * the fp16 field s = fp16(d·Σq) rather than from the codes, as ggml does;
 * the reference does the same so it measures only the kernel's rounding. */
static bool uses_q8_1_sum(int type) {
    return type == LF_TYPE_Q4_1 || type == LF_TYPE_Q5_1;
}

static double half_at(const uint8_t *p) {
    return lf_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
}

/* Reference dot product and the size of its terms (for the tolerance). */
static void reference_dot(int type, const float *w, const float *a, const uint8_t *wq,
                          const uint8_t *aq, int64_t n, double *dot, double *mag) {
    double s = 0, m = 0;
    if (!uses_q8_1_sum(type)) {
        for (int64_t i = 0; i < n; i++) {
            s += (double)w[i] * a[i];
            m += fabs((double)w[i] * a[i]);
        }
    } else {
        int64_t wb = lf_type_block_bytes(type);
        for (int64_t b = 0; b < n / 32; b++) {
            double mw = half_at(wq + b * wb + 2), sa = half_at(aq + b * 36 + 2);
            for (int64_t i = 32 * b; i < 32 * b + 32; i++) {
                s += ((double)w[i] - mw) * a[i];
                m += fabs((double)w[i] * a[i]);
            }
            s += mw * sa;
            m += fabs(mw * sa);
        }
    }
    *dot = s;
    *mag = m;
}

static double g_worst; /* largest |error| / magnitude seen */

/* One check: w and a are quantized rows of n elements. */
static void check_one(const lf_type_traits *wt, const lf_type_traits *at, int wtype,
                      const uint8_t *wq, const uint8_t *aq, int64_t n) {
    float *w = malloc(sizeof(float) * (size_t)n), *a = malloc(sizeof(float) * (size_t)n);
    int64_t wbytes = lf_type_row_bytes(wtype, n), abytes = lf_type_row_bytes(wt->vec_dot_type, n);
    /* unaligned copies: every kernel must cope with any address */
    uint8_t *wu = malloc((size_t)wbytes + 1), *au = malloc((size_t)abytes + 3);
    if (!w || !a || !wu || !au) {
        EXPECT(0, "out of memory");
    } else {
        memcpy(wu + 1, wq, (size_t)wbytes);
        memcpy(au + 3, aq, (size_t)abytes);
        wt->to_float(wq, w, n);
        at->to_float(aq, a, n);
        double ref, mag;
        reference_dot(wtype, w, a, wq, aq, n, &ref, &mag);
        float got = wt->vec_dot(n, wq, aq);
        float got_u = wt->vec_dot(n, wu + 1, au + 3);
        double err = fabs((double)got - ref);
        if (mag > 0 && err / mag > g_worst)
            g_worst = err / mag;
        EXPECT(err <= 1e-5 * mag + 1e-30, "%s n=%lld: vec_dot %.9g, reference %.9g (|err| %.3g, "
               "scale %.3g)", wt->name, (long long)n, got, ref, err, mag);
        EXPECT(memcmp(&got, &got_u, sizeof got) == 0, "%s n=%lld: unaligned result differs",
               wt->name, (long long)n);
    }
    free(w);
    free(a);
    free(wu);
    free(au);
}

static void test_type(int type) {
    const lf_type_traits *wt = lf_type_traits_of(type);
    const lf_type_traits *at = lf_type_traits_of(wt->vec_dot_type);
    char name[64];
    snprintf(name, sizeof name, "vec_dot %s x %s", wt->name, at ? at->name : "?");
    TEST_BEGIN(name);
    EXPECT(at && at->from_float && at->to_float && wt->to_float,
           "partner type cannot quantize/dequantize");
    if (!(at && at->from_float && at->to_float && wt->to_float)) {
        TEST_END();
        return;
    }
    int64_t blck = wt->blck > at->blck ? wt->blck : at->blck;
    static const int64_t float_sizes[] = {1, 7, 64, 1000, 4096};
    static const int64_t block_counts[] = {1, 2, 3, 8, 64};
    for (int s = 0; s < 5; s++) {
        int64_t n = blck == 1 ? float_sizes[s] : blck * block_counts[s];
        float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
        uint8_t *wq = malloc((size_t)lf_type_row_bytes(type, n));
        uint8_t *aq = malloc((size_t)lf_type_row_bytes(wt->vec_dot_type, n));
        if (!x || !y || !wq || !aq) {
            EXPECT(0, "out of memory");
        } else {
            /* activations with an outlier or two, weights of mixed scale */
            for (int64_t i = 0; i < n; i++) {
                y[i] = normal() * (rnd() % 97 == 0 ? 8.f : 1.f);
                x[i] = normal() * (float)(0.02 + 0.1 * uniform());
            }
            at->from_float(y, aq, n);
            if (wt->from_float) {
                wt->from_float(x, wq, n);
                check_one(wt, at, type, wq, aq, n);
            }
            if (random_blocks(type, wq, n / wt->blck))
                check_one(wt, at, type, wq, aq, n);
        }
        free(x);
        free(y);
        free(wq);
        free(aq);
    }
    TEST_END();
}

int main(void) {
    int tested = 0;
    for (int type = 0; type < LF_TYPE_COUNT; type++) {
        const lf_type_traits *t = lf_type_traits_of(type);
        if (t && t->vec_dot) {
            test_type(type);
            tested++;
        }
    }
    TEST_BEGIN("vec_dot: all 16 weight types covered");
    EXPECT(tested >= 16, "only %d types have vec_dot", tested);
    TEST_END();
    printf("# worst |error| / sum|w*a| = %.3g\n", g_worst);
    return test_summary();
}
