/* test_quantize.c — the quantizers (from_float).
 *
 *  - Quantizing llama-F32.gguf (the master the shared llama-*.gguf files were
 *    made from by llama-quantize, no imatrix) reproduces llama.cpp's bytes.
 *  - Dequantize -> quantize of llama.cpp's Q4_0/Q8_0 tensors gives the
 *    original bytes back; the same is measured for Q4_K/Q6_K.
 *  - Activation formats (Q8_0, Q8_1, Q8_K): error bounds and side fields.
 *  - Q4_K/Q6_K error on random normal data; all-zero blocks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

#define RAND_SEED 0x243f6a8885a308d3ull
#include "rand_util.h"

static int64_t n_elements(const lf_gguf_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static lf_gguf *open_vector(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/%s", test_shared_dir(), file);
    lf_error err = {{0}};
    return lf_gguf_open(path, &err);
}

/* Number of blocks that differ between two quantized rows. */
static int64_t blocks_differ(int type, const uint8_t *a, const uint8_t *b, int64_t n) {
    int64_t bs = lf_type_block_bytes(type), nb = n / lf_type_block_size(type), bad = 0;
    for (int64_t i = 0; i < nb; i++)
        bad += memcmp(a + i * bs, b + i * bs, (size_t)bs) != 0;
    return bad;
}

/* ------------------------------------- quantize the F32 master = llama.cpp */

static void test_master(lf_gguf *master, const char *file) {
    lf_gguf *g = open_vector(file);
    if (!g || !master) {
        SKIP(file, "cannot open %s or llama-F32.gguf", file);
        if (g)
            lf_gguf_close(g);
        return;
    }
    /* one line per weight type in the file that we can quantize */
    for (int type = 1; type < LF_TYPE_COUNT; type++) {
        const lf_type_traits *tr = lf_type_traits_of(type);
        if (!tr || !tr->from_float)
            continue;
        int64_t ntensors = 0, nblocks = 0, bad = 0;
        char name[160];
        snprintf(name, sizeof name, "quantize llama-F32 -> %s equals %s", tr->name, file);
        for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++) {
            const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
            if (t->type != type)
                continue;
            if (!ntensors++)
                TEST_BEGIN(name);
            char tname[256];
            snprintf(tname, sizeof tname, "%.*s", (int)t->name.len, t->name.ptr);
            const lf_gguf_tensor *m = lf_gguf_find_tensor(master, tname);
            EXPECT(m && m->type == LF_TYPE_F32 && n_elements(m) == n_elements(t),
                   "%s: no matching F32 tensor", tname);
            if (!m || m->type != LF_TYPE_F32 || n_elements(m) != n_elements(t))
                continue;
            int64_t n = n_elements(t);
            float *x = malloc(sizeof(float) * (size_t)n);
            uint8_t *q = malloc(t->nbytes);
            if (x && q) {
                lf_type_traits_of(LF_TYPE_F32)->to_float(m->data, x, n);
                tr->from_float(x, q, n);
                int64_t b = blocks_differ(type, q, t->data, n);
                nblocks += n / tr->blck;
                bad += b;
                EXPECT(b == 0, "%s: %lld of %lld blocks differ", tname, (long long)b,
                       (long long)(n / tr->blck));
            }
            free(x);
            free(q);
        }
        if (ntensors) {
            printf("# %s: %lld tensors, %lld blocks, %lld differ\n", name, (long long)ntensors,
                   (long long)nblocks, (long long)bad);
            TEST_END();
        }
    }
    lf_gguf_close(g);
}

/* -------------------------------------------- dequantize -> requantize */

/* Requantizes every tensor of the type in the file; returns the fraction of
 * blocks that came back identical (-1 if none). */
static double requant_file(const char *file, int type, int64_t *n_blocks, int64_t *n_bad,
                           double *max_rel_change) {
    const lf_type_traits *tr = lf_type_traits_of(type);
    lf_gguf *g = open_vector(file);
    *n_blocks = *n_bad = 0;
    *max_rel_change = 0;
    if (!g)
        return -1;
    for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
        if (t->type != type)
            continue;
        int64_t n = n_elements(t);
        float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
        uint8_t *q = malloc(t->nbytes);
        if (x && y && q) {
            tr->to_float(t->data, x, n);
            tr->from_float(x, q, n);
            tr->to_float(q, y, n);
            *n_blocks += n / tr->blck;
            *n_bad += blocks_differ(type, q, t->data, n);
            /* how far the values moved, relative to the tensor's rms */
            double ss = 0, dmax = 0;
            for (int64_t k = 0; k < n; k++) {
                ss += (double)x[k] * x[k];
                dmax = fmax(dmax, fabs((double)y[k] - x[k]));
            }
            double rms = sqrt(ss / (double)n);
            if (rms > 0 && dmax / rms > *max_rel_change)
                *max_rel_change = dmax / rms;
        }
        free(x);
        free(y);
        free(q);
    }
    lf_gguf_close(g);
    return *n_blocks ? 1.0 - (double)*n_bad / (double)*n_blocks : -1;
}

/* How close a dequantize -> quantize round trip must come back. */
enum requant_expect {
    SAME_BYTES,  /* every block identical */
    SAME_VALUES, /* blocks may differ, but dequantize to the same values */
    NEAR,        /* at least 99% of the blocks identical */
};

static void test_requant(const char *file, int type, enum requant_expect expect) {
    char name[160];
    snprintf(name, sizeof name, "requantize dequantized %s tensors of %s", lf_type_name(type),
             file);
    int64_t nb, bad;
    double moved;
    double same = requant_file(file, type, &nb, &bad, &moved);
    if (same < 0) {
        SKIP(name, "no %s tensors (or no file)", lf_type_name(type));
        return;
    }
    printf("# %s: %lld of %lld blocks identical (%.2f%%); max value change %.3g x rms\n", name,
           (long long)(nb - bad), (long long)nb, 100 * same, moved);
    TEST_BEGIN(name);
    if (expect == SAME_BYTES)
        EXPECT(bad == 0, "%lld of %lld blocks differ", (long long)bad, (long long)nb);
    else if (expect == SAME_VALUES)
        EXPECT(moved == 0, "values moved by up to %.3g x rms", moved);
    else
        EXPECT(same >= 0.99 && moved < 0.5, "only %.2f%% identical, max change %.3g x rms",
               100 * same, moved);
    TEST_END();
}

/* ------------------------------------------------------ activation formats */

/* Bound on the error of rounding a float to the fp16 value h: half an ulp
 * of h, which is 2^-25 for subnormal halves. */
static float fp16_err(float h) {
    return fmaxf(fabsf(h) * 0x1p-11f, 0x1p-25f);
}

static void test_q8_activations(void) {
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N / 256 * 292];
    for (int i = 0; i < N; i++)
        x[i] = normal() * (i % 300 == 7 ? 20.f : 1.f) * (i < 512 ? 1e-3f : 1.f);

    TEST_BEGIN("Q8_0 quantize: |x - deq| <= d/2, |q| <= 127");
    lf_type_traits_of(LF_TYPE_Q8_0)->from_float(x, q, N);
    lf_type_traits_of(LF_TYPE_Q8_0)->to_float(q, y, N);
    for (int b = 0; b < N / 32; b++) {
        const uint8_t *p = q + 34 * b;
        float d = lf_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
        for (int j = 0; j < 32; j++) {
            int i = 32 * b + j, c = (int8_t)p[2 + j];
            EXPECT(c >= -127 && c <= 127, "block %d: code %d", b, c);
            /* the codes were made with d before its rounding to fp16 */
            float tol = (d + fp16_err(d)) * 0.5f + (float)abs(c) * fp16_err(d);
            EXPECT(fabsf(x[i] - y[i]) <= tol * 1.0001f,
                   "x[%d] = %g -> %g (d %g)", i, x[i], y[i], d);
        }
    }
    TEST_END();

    TEST_BEGIN("Q8_1 quantize: codes as Q8_0, s = d * sum q");
    static uint8_t q0[N / 32 * 34];
    lf_type_traits_of(LF_TYPE_Q8_0)->from_float(x, q0, N);
    lf_type_traits_of(LF_TYPE_Q8_1)->from_float(x, q, N);
    for (int b = 0; b < N / 32; b++) {
        const uint8_t *p = q + 36 * b, *p0 = q0 + 34 * b;
        EXPECT(!memcmp(p, p0, 2) && !memcmp(p + 4, p0 + 2, 32), "block %d differs from Q8_0",
               b);
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += (int8_t)p[4 + j];
        float d = lf_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
        /* s is made from the unrounded d: equal up to the two fp16 roundings */
        float s = lf_fp16_to_fp32((uint16_t)(p[2] | p[3] << 8)), want = (float)sum * d;
        float tol = (float)abs(sum) * fp16_err(d) + fp16_err(s);
        EXPECT(fabsf(s - want) <= tol * 1.0001f, "block %d: s %g, want %g", b, s, want);
    }
    TEST_END();

    TEST_BEGIN("Q8_K quantize: |x - deq| <= |d|/2, bsums, |q| <= 127");
    lf_type_traits_of(LF_TYPE_Q8_K)->from_float(x, q, N);
    lf_type_traits_of(LF_TYPE_Q8_K)->to_float(q, y, N);
    for (int b = 0; b < N / 256; b++) {
        const uint8_t *p = q + 292 * b;
        float d = lf_f32_from_bits((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                                   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        int maxc = 0;
        for (int k = 0; k < 16; k++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) {
                int c = (int8_t)p[4 + 16 * k + l];
                sum += c;
                maxc = abs(c) > maxc ? abs(c) : maxc;
            }
            int16_t bs = (int16_t)(p[260 + 2 * k] | p[261 + 2 * k] << 8);
            EXPECT(bs == sum, "block %d: bsums[%d] = %d, want %d", b, k, bs, sum);
        }
        EXPECT(maxc == 127, "block %d: largest |code| %d", b, maxc);
        for (int j = 0; j < 256; j++) {
            int i = 256 * b + j;
            EXPECT(fabsf(x[i] - y[i]) <= fabsf(d) * 0.5001f, "x[%d] = %g -> %g (d %g)", i, x[i],
                   y[i], d);
        }
    }
    TEST_END();
}

/* ------------------------------------------- weight formats: error levels */

static void test_weight_rmse(int type, double max_ratio) {
    enum { N = 256 * 64 };
    static float x[N], y[N];
    static uint8_t q[N / 32 * 40];
    const lf_type_traits *tr = lf_type_traits_of(type);
    char name[96];
    snprintf(name, sizeof name, "%s quantize: rmse/std on normal data < %g", tr->name,
             max_ratio);
    TEST_BEGIN(name);
    double ss = 0, se = 0;
    for (int i = 0; i < N; i++) {
        x[i] = normal() * 0.02f;
        ss += (double)x[i] * x[i];
    }
    tr->from_float(x, q, N);
    tr->to_float(q, y, N);
    for (int i = 0; i < N; i++)
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    double ratio = sqrt(se / ss);
    printf("# %s: rmse/std = %.4f\n", tr->name, ratio);
    EXPECT(ratio < max_ratio, "rmse/std = %.4f", ratio);
    TEST_END();
}

static void test_zero_blocks(void) {
    TEST_BEGIN("all quantizers: a zero block stays zero");
    static const float zero[256];
    uint8_t q[400];
    float y[256];
    for (int type = 0; type < LF_TYPE_COUNT; type++) {
        const lf_type_traits *tr = lf_type_traits_of(type);
        if (!tr || !tr->from_float)
            continue;
        int64_t n = tr->blck == 1 ? 64 : tr->blck;
        memset(q, 0xAB, sizeof q);
        memset(y, 0xAB, sizeof y);
        tr->from_float(zero, q, n);
        tr->to_float(q, y, n);
        for (int64_t i = 0; i < n; i++)
            EXPECT(y[i] == 0, "%s: element %lld = %g", tr->name, (long long)i, y[i]);
    }
    TEST_END();
}

int main(void) {
    static const char *const masters_of[] = {
        "llama-F16.gguf",  "llama-BF16.gguf", "llama-Q8_0.gguf",    "llama-Q4_0.gguf",
        "llama-Q4_1.gguf", "llama-Q5_0.gguf", "llama-Q5_1.gguf",    "llama-Q4_K_M.gguf",
        "llama-Q6_K.gguf", "llama-Q2_K.gguf", "llama-IQ4_XS.gguf",
    };
    lf_gguf *master = open_vector("llama-F32.gguf");
    for (size_t i = 0; i < sizeof masters_of / sizeof masters_of[0]; i++)
        test_master(master, masters_of[i]);
    if (master)
        lf_gguf_close(master);

    test_requant("llama-Q4_0.gguf", LF_TYPE_Q4_0, SAME_BYTES);
    test_requant("llama-Q8_0.gguf", LF_TYPE_Q8_0, SAME_BYTES);
    test_requant("gpt-oss-Q8_0.gguf", LF_TYPE_Q8_0, SAME_BYTES);
    test_requant("gpt-oss-MXFP4_MOE.gguf", LF_TYPE_MXFP4, SAME_BYTES);
    test_requant("llama-Q4_1.gguf", LF_TYPE_Q4_1, NEAR);
    test_requant("llama-Q5_0.gguf", LF_TYPE_Q5_0, NEAR);
    test_requant("llama-Q5_1.gguf", LF_TYPE_Q5_1, NEAR);
    /* the K-quant searches are not idempotent: a dequantized Q6_K block can
     * come back with another (d, scales) pair of the same products, and a
     * few Q4_K blocks settle elsewhere */
    test_requant("llama-Q6_K.gguf", LF_TYPE_Q6_K, SAME_VALUES);
    test_requant("qwen3-Q4_K_M.gguf", LF_TYPE_Q6_K, SAME_VALUES);
    test_requant("llama-Q4_K_M.gguf", LF_TYPE_Q4_K, NEAR);
    test_requant("qwen3-Q4_K_M.gguf", LF_TYPE_Q4_K, NEAR);

    test_q8_activations();
    test_weight_rmse(LF_TYPE_Q4_0, 0.15);
    test_weight_rmse(LF_TYPE_Q4_K, 0.1);
    test_weight_rmse(LF_TYPE_Q6_K, 0.03);
    test_weight_rmse(LF_TYPE_Q8_0, 0.01);
    test_zero_blocks();
    return test_summary();
}
