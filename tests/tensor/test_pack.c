/* test_pack.c — the packed weight layouts (tensor/pack.h): packing is a
 * permutation (every row reads back the same through lf_weight_row), and a
 * kernel set that reads a packed layout gives bit for bit what it gives on
 * the plain layout (which test_kernels checks against the scalar reference;
 * checked here too) for matrix-vector and matrix-matrix sizes, rows not a
 * multiple of 16 (a plain tail), stacked slices, 1 and 2 threads. Sets that
 * do not read the layout refuse it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "base/threadpool.h"
#include "llamafile.h"
#include "tensor/fp16.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "tensor/pack.h"
#include "tensor/types.h"

#include "rand_util.h"

/* Random rows: random codes and scale bytes, sane fp16 d (and dmin). */
static void random_rows(int type, uint8_t *dst, int64_t blocks) {
    if (type == LF_TYPE_F16 || type == LF_TYPE_BF16) { /* finite values: blocks are elements */
        for (int64_t e = 0; e < blocks; e++) {
            float v = (float)normal();
            uint16_t h = type == LF_TYPE_F16 ? lf_fp32_to_fp16(v) : lf_fp32_to_bf16(v);
            memcpy(dst + 2 * e, &h, 2);
        }
        return;
    }
    const int bs = (int)lf_type_traits_of(type)->type_size;
    static const int q4k[] = {0, 2}, q6k[] = {208, -1}, q2k[] = {80, 82}, q3k[] = {108, -1}, d0[] = {0, -1};
    const int *at = type == LF_TYPE_Q4_K || type == LF_TYPE_Q5_K ? q4k
                    : type == LF_TYPE_Q6_K                     ? q6k
                    : type == LF_TYPE_Q2_K                     ? q2k
                    : type == LF_TYPE_Q3_K                     ? q3k
                                                               : d0;
    for (int64_t b = 0; b < blocks; b++) {
        uint8_t *p = dst + b * bs;
        for (int i = 0; i < bs; i++)
            p[i] = (uint8_t)rnd();
        for (int f = 0; f < 2 && at[f] >= 0; f++) {
            uint16_t h = lf_fp32_to_fp16((float)(0.001 + 0.05 * uniform()) * (rnd() & 1 ? -1.f : 1.f));
            p[at[f]] = (uint8_t)h;
            p[at[f] + 1] = (uint8_t)(h >> 8);
        }
    }
}

/* A packed copy of plain weights: every whole group of every slice. */
static uint8_t *packed_copy(int type, const uint8_t *w, int64_t k, int64_t rows, int64_t slices, size_t row) {
    uint8_t *p = malloc(row * (size_t)(rows * slices)), *tmp = malloc(row * LF_PACK_ROWS);
    if (!p || !tmp) {
        free(p);
        free(tmp);
        return NULL;
    }
    memcpy(p, w, row * (size_t)(rows * slices));
    for (int64_t s = 0; s < slices; s++)
        for (int64_t g = 0; g < lf_pack_rows(rows); g += LF_PACK_ROWS)
            lf_pack_group(type, p + (size_t)(s * rows + g) * row, k, tmp);
    free(tmp);
    return p;
}

static void test_roundtrip(int type) {
    char label[96];
    snprintf(label, sizeof label, "pack %s: every row reads back, blocks unpack to the plain bytes",
             lf_type_name(type));
    TEST_BEGIN(label);
    const int64_t k = 768, rows = 37, slices = 2, nb = k / lf_type_traits_of(type)->blck;
    const size_t row = (size_t)lf_type_row_bytes(type, k), bs = row / (size_t)nb;
    uint8_t *w = malloc(row * (size_t)(rows * slices));
    float *a = malloc(sizeof(float) * (size_t)k), *b = malloc(sizeof(float) * (size_t)k);
    EXPECT(w && a && b, "out of memory");
    if (w && a && b) {
        random_rows(type, w, rows * slices * nb);
        uint8_t *p = packed_copy(type, w, k, rows, slices, row);
        EXPECT(p && memcmp(p, w, row * LF_PACK_ROWS) != 0, "packing changed nothing");
        lf_weight W = {.type = type, .ne = {k, rows, slices, 1}, .row_bytes = row, .data = w};
        lf_weight P = W;
        P.data = p, P.packed = lf_pack_rows(rows);
        lf_error err;
        for (int64_t r = 0; p && r < rows * slices; r++) {
            bool ok = lf_weight_row(&W, r, a, &err) && lf_weight_row(&P, r, b, &err);
            EXPECT(ok && memcmp(a, b, sizeof(float) * (size_t)k) == 0, "row %lld reads back differently",
                   (long long)r);
            int64_t in = r % rows;
            if (in >= P.packed)
                continue;
            for (int64_t blk = 0; blk < nb; blk++) {
                uint8_t out[256];
                lf_unpack_block(type, p + (size_t)(r - in % 16) * row, k, (int)(in % 16), blk, out);
                EXPECT(memcmp(out, w + (size_t)r * row + (size_t)blk * bs, bs) == 0,
                       "row %lld block %lld unpacks differently", (long long)r, (long long)blk);
            }
        }
        free(p);
    }
    free(w);
    free(a);
    free(b);
    TEST_END();
}

/* One product, plain and packed, with set ks (1 and 2 threads) and the
 * generic set on the plain weights. */
static bool check(const lf_kernel_set *ks, lf_pool *pool2, int type, int64_t m, int64_t n, int64_t k,
                  int64_t slices) {
    const size_t row = (size_t)lf_type_row_bytes(type, k);
    const size_t out = sizeof(float) * (size_t)(m * n);
    uint8_t *w = malloc(row * (size_t)(m * slices));
    float *x = malloc(sizeof(float) * (size_t)(n * k)), *ref = malloc(out), *plain = malloc(out),
          *got = malloc(out), *got2 = malloc(out), *wf = malloc(sizeof(float) * (size_t)k);
    lf_scratch sc = {0};
    bool ok = w && x && ref && plain && got && got2 && wf;
    EXPECT(ok, "out of memory");
    uint8_t *p = NULL;
    if (!ok)
        goto done;
    random_rows(type, w, m * slices * (k / lf_type_traits_of(type)->blck));
    for (int64_t i = 0; i < n * k; i++)
        x[i] = normal();
    p = packed_copy(type, w, k, m, slices, row);
    lf_weight W = {.type = type, .ne = {k, m, slices, 1}, .row_bytes = row, .data = w};
    lf_weight P = W;
    P.data = p, P.packed = lf_pack_rows(m);
    lf_error err;
    const int64_t s = slices - 1; /* the last slice: its groups start past a tail */
    ok = p && lf_matmul_with(lf_kernels_named("generic"), NULL, &sc, ref, &W, s, x, n, &err) &&
         lf_matmul_with(ks, NULL, &sc, plain, &W, s, x, n, &err) &&
         lf_matmul_with(ks, NULL, &sc, got, &P, s, x, n, &err) &&
         lf_matmul_with(ks, pool2, &sc, got2, &P, s, x, n, &err);
    EXPECT(ok, "%s", p ? err.msg : "out of memory");
    if (!ok)
        goto done;
    for (int64_t i = 0; i < m * n && ok; i++) {
        double mag = 0;
        ok = lf_weight_row(&W, s * m + i % m, wf, &err);
        for (int64_t e = 0; e < k && ok; e++)
            mag += fabs((double)wf[e] * x[(i / m) * k + e]);
        if (!(fabs((double)got[i] - ref[i]) <= 3e-5 * mag + 1e-30)) {
            EXPECT(0, "%s %s m=%lld n=%lld k=%lld: out %lld = %.9g, reference %.9g", ks->name, lf_type_name(type), (long long)m,
                   (long long)n, (long long)k, (long long)i, got[i], ref[i]);
            ok = false;
        }
    }
    bool same = memcmp(got, plain, out) == 0;
    EXPECT(same, "%s %s m=%lld n=%lld k=%lld: packed and plain layouts differ", ks->name, lf_type_name(type), (long long)m,
           (long long)n, (long long)k);
    bool same2 = memcmp(got, got2, out) == 0;
    EXPECT(same2, "%s %s m=%lld n=%lld k=%lld: 1 and 2 threads differ", ks->name, lf_type_name(type), (long long)m, (long long)n,
           (long long)k);
    ok = ok && same && same2;
done:
    free(p);
    free(w);
    free(x);
    free(ref);
    free(plain);
    free(got);
    free(got2);
    free(wf);
    lf_scratch_free(&sc);
    return ok;
}

static void test_kernels(const char *name, int type, lf_pool *pool2) {
    const lf_kernel_set *ks = lf_kernels_named(name);
    char label[96];
    snprintf(label, sizeof label, "pack %s: kernels %s, packed = plain = reference", lf_type_name(type), name);
    if (!ks || !lf_kernels_for(ks, type)->packed) {
        SKIP(label, "%s", ks ? "the set reads no packed layout of the type" : "this CPU cannot run the set");
        return;
    }
    TEST_BEGIN(label);
    static const int64_t ms[] = {16, 21, 48, 97};
    static const int64_t ns[] = {1, 2, 3, 4, 5, 15, 16, 17, 33};
    /* 32-element blocks: 3 and 25 blocks leave the last of four chains short */
    const bool k_quant = lf_type_traits_of(type)->blck == 256;
    const int64_t ks_[] = {k_quant ? 256 : 96, k_quant ? 768 : 800, 2816};
    int fails = 0;
    for (size_t a = 0; a < 4 && fails < 3; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0] && fails < 3; b++)
            for (size_t c = 0; c < 3 && fails < 3; c++)
                fails += !check(ks, pool2, type, ms[a], ns[b], ks_[c], 1 + (int64_t)((a + b + c) % 2));
    /* big enough for both threads: one and two activation rows */
    for (int64_t n = 1; n <= 2 && fails < 3; n++)
        fails += !check(ks, pool2, type, 357, n, 2048, 1);
    TEST_END();
}

static void test_refused(void) {
    TEST_BEGIN("pack: a set that does not read the layout refuses it");
    const int64_t k = 256, m = 16;
    static uint8_t w[16 * 144];
    float x[256] = {0}, out[16];
    lf_weight W = {.type = LF_TYPE_Q4_K, .ne = {k, m, 1, 1}, .row_bytes = 144, .data = w, .packed = 16};
    lf_scratch sc = {0};
    lf_error err;
    EXPECT(!lf_matmul_with(lf_kernels_named("generic"), NULL, &sc, out, &W, 0, x, 1, &err),
           "the generic set took packed weights");
    lf_scratch_free(&sc);
    TEST_END();
}

int main(void) {
    lf_error err;
    lf_pool *pool2 = lf_pool_new(2, &err);
    if (!pool2) {
        printf("FAIL pack: no thread pool: %s\n", err.msg);
        return 1;
    }
    static const int types[] = {LF_TYPE_Q2_K, LF_TYPE_Q3_K, LF_TYPE_Q4_K, LF_TYPE_Q5_K, LF_TYPE_Q6_K, LF_TYPE_Q4_0, LF_TYPE_IQ4_NL, LF_TYPE_Q8_0, LF_TYPE_F16, LF_TYPE_BF16};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        test_roundtrip(types[t]);
    test_refused();
#if defined(__aarch64__)
    static const char *const sets[] = {"neon+dotprod", "neon"};
#else
    static const char *const sets[] = {"avx512vnni", "avx512", "avx2"};
#endif
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            test_kernels(sets[i], types[t], pool2);
    lf_pool_free(pool2);
    return test_summary();
}
