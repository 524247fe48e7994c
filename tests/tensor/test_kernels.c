/* test_kernels.c — every SIMD kernel set this CPU runs (forced, so the
 * AVX2 and AVX-512 sets are tested on an AVX-512 VNNI machine too, and plain
 * NEON on a CPU with dotprod) against the generic set (the scalar reference
 * dot products), for every weight type, on seeded random data:
 * matrix-vector and matrix-matrix sizes, rows not a multiple of the tile,
 * activation rows not a multiple of 16, k not a multiple of the unroll. Also: results do not depend on the thread count. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "base/threadpool.h"
#include "llamafile.h"
#include "tensor/fp16.h"
#include "tensor/attention.h"
#include "tensor/matmul.h"
#include "tensor/types.h"

#define RAND_SEED 0x243f6a8885a308d3ull
#include "rand_util.h"

/* Where fp16 scales (and an E8M0 exponent) sit in each block type, so that
 * random bytes get sane scales. */
static const struct {
    int type;
    int half_at[2];
    int e8m0_at;
} k_fields[] = {
    {LF_TYPE_Q4_0, {0, -1}, -1},   {LF_TYPE_Q4_1, {0, 2}, -1},    {LF_TYPE_Q5_0, {0, -1}, -1},
    {LF_TYPE_Q5_1, {0, 2}, -1},    {LF_TYPE_Q8_0, {0, -1}, -1},   {LF_TYPE_Q2_K, {80, 82}, -1},
    {LF_TYPE_Q3_K, {108, -1}, -1}, {LF_TYPE_Q4_K, {0, 2}, -1},    {LF_TYPE_Q5_K, {0, 2}, -1},
    {LF_TYPE_Q6_K, {208, -1}, -1}, {LF_TYPE_IQ4_NL, {0, -1}, -1}, {LF_TYPE_IQ4_XS, {0, -1}, -1},
    {LF_TYPE_MXFP4, {-1, -1}, 0},
};

/* A random weight matrix of m rows of k elements. */
static void random_weights(int type, uint8_t *dst, int64_t m, int64_t k) {
    const lf_type_traits *t = lf_type_traits_of(type);
    int64_t nblk = m * k / t->blck, bs = t->type_size;
    int f = -1;
    for (size_t i = 0; i < sizeof k_fields / sizeof k_fields[0]; i++)
        if (k_fields[i].type == type)
            f = (int)i;
    if (f < 0 || (t->from_float && rnd() % 2)) {
        float *x = malloc(sizeof(float) * (size_t)(m * k));
        for (int64_t i = 0; i < m * k; i++)
            x[i] = normal() * 0.05f;
        for (int64_t r = 0; r < m; r++)
            t->from_float(x + r * k, dst + r * (k / t->blck) * bs, k);
        free(x);
        return;
    }
    for (int64_t b = 0; b < nblk; b++) {
        uint8_t *p = dst + b * bs;
        for (int64_t i = 0; i < bs; i++)
            p[i] = (uint8_t)rnd();
        for (int j = 0; j < 2; j++) {
            int at = k_fields[f].half_at[j];
            if (at < 0)
                continue;
            uint16_t h = lf_fp32_to_fp16((float)(0.001 + 0.05 * uniform()) * (rnd() & 1 ? -1.f : 1.f));
            p[at] = (uint8_t)h;
            p[at + 1] = (uint8_t)(h >> 8);
        }
        if (k_fields[f].e8m0_at >= 0)
            p[k_fields[f].e8m0_at] = (uint8_t)(118 + rnd() % 16);
    }
}

typedef struct shape {
    int64_t m, n, k;
} shape;

static double g_worst;

/* One product with set ks against the generic set; false on a mismatch. */
static bool check(const lf_kernel_set *ks, lf_pool *pool2, int type, shape s) {
    const lf_type_traits *t = lf_type_traits_of(type);
    size_t row = (size_t)lf_type_row_bytes(type, s.k);
    uint8_t *w = malloc(row * (size_t)s.m);
    float *x = malloc(sizeof(float) * (size_t)(s.n * s.k));
    float *wf = malloc(sizeof(float) * (size_t)s.k);
    float *ref = malloc(sizeof(float) * (size_t)(s.n * s.m));
    float *got = malloc(sizeof(float) * (size_t)(s.n * s.m));
    float *got2 = malloc(sizeof(float) * (size_t)(s.n * s.m));
    lf_scratch sc = {0};
    lf_error err;
    bool ok = w && x && wf && ref && got && got2;
    EXPECT(ok, "out of memory");
    if (!ok)
        goto done;
    random_weights(type, w, s.m, s.k);
    for (int64_t j = 0; j < s.n; j++) {
        int kind = (int)(rnd() % 8);
        for (int64_t i = 0; i < s.k; i++)
            x[j * s.k + i] = kind == 0 ? 0.0f : normal() * (rnd() % 61 == 0 ? 9.f : 1.f);
    }
    lf_weight W = {.type = type, .ne = {s.k, s.m, 1, 1}, .row_bytes = row, .data = w};
    ok = lf_matmul_with(lf_kernels_named("generic"), NULL, &sc, ref, &W, 0, x, s.n, &err) &&
         lf_matmul_with(ks, NULL, &sc, got, &W, 0, x, s.n, &err) &&
         lf_matmul_with(ks, pool2, &sc, got2, &W, 0, x, s.n, &err);
    EXPECT(ok, "%s", err.msg);
    if (!ok)
        goto done;
    int bad = 0;
    for (int64_t i = 0; i < s.m && bad < 1; i++) {
        t->to_float(w + row * (size_t)i, wf, s.k);
        for (int64_t j = 0; j < s.n && bad < 1; j++) {
            double mag = 0;
            for (int64_t e = 0; e < s.k; e++)
                mag += fabs((double)wf[e] * x[j * s.k + e]);
            double r = ref[j * s.m + i], g = got[j * s.m + i];
            double e = fabs(g - r);
            if (mag > 0 && e / mag > g_worst)
                g_worst = e / mag;
            if (!(e <= 3e-5 * mag + 1e-30)) {
                EXPECT(0, "%s %s m=%lld n=%lld k=%lld: out[%lld][%lld] = %.9g, reference %.9g (scale %.3g)",
                       ks->name, t->name, (long long)s.m, (long long)s.n, (long long)s.k,
                       (long long)j, (long long)i, g, r, mag);
                bad++;
            }
        }
    }
    bool same = memcmp(got, got2, sizeof(float) * (size_t)(s.n * s.m)) == 0;
    EXPECT(same, "%s %s m=%lld n=%lld k=%lld: 1 and 2 threads differ", ks->name, t->name,
           (long long)s.m, (long long)s.n, (long long)s.k);
    /* a row alone gives bit for bit what it gives in the batch */
    bool alone = true;
    for (int64_t j = 0; j < s.n && alone; j += s.n > 1 ? s.n - 1 : 1) {
        ok = lf_matmul_with(ks, pool2, &sc, got2, &W, 0, x + j * s.k, 1, &err);
        EXPECT(ok, "%s", err.msg);
        alone = ok && memcmp(got2, got + j * s.m, sizeof(float) * (size_t)s.m) == 0;
        EXPECT(alone, "%s %s m=%lld n=%lld k=%lld: row %lld alone differs from the batch", ks->name,
               t->name, (long long)s.m, (long long)s.n, (long long)s.k, (long long)j);
    }
    ok = bad == 0 && same && alone;
done:
    free(w);
    free(x);
    free(wf);
    free(ref);
    free(got);
    free(got2);
    lf_scratch_free(&sc);
    return ok;
}

/* Starts the test "WHAT SET" (SET "portable" when name is NULL), or says
 * why it is skipped: the CPU cannot run the set, or the set lacks the
 * helper under test (has). label must outlive the test. */
static bool begin_set_test(char *label, size_t size, const char *what, const char *name,
                           const lf_kernel_set *ks, bool has) {
    snprintf(label, size, "%s %s", what, name ? name : "portable");
    if (name && (!ks || !has)) {
        SKIP(label, "%s", ks ? "the set has none" : "this CPU cannot run the set");
        return false;
    }
    TEST_BEGIN(label);
    return true;
}

/* lf_matmul_many_with: products of one job (two of one type sharing the
 * converted activations, one of another, odd row counts) give bit for bit
 * what a job each gives, one row and batches, two threads; too many
 * products is an error. */
static void test_matmul_many(const char *name, lf_pool *pool2) {
    const lf_kernel_set *ks = lf_kernels_named(name);
    char label[64];
    if (!begin_set_test(label, sizeof label, "matmul many", name, ks, true))
        return;
    enum { K = 512, N = 40 };
    static const int types[3] = {LF_TYPE_Q4_0, LF_TYPE_Q6_K, LF_TYPE_Q4_0};
    static const int64_t rows[3] = {40, 33, 20};
    lf_weight W[3];
    const lf_weight *Wp[3];
    float *got[3], *want[3];
    static float x[N * K];
    for (int i = 0; i < N * K; i++)
        x[i] = normal();
    for (int p = 0; p < 3; p++) {
        size_t row = (size_t)lf_type_row_bytes(types[p], K);
        uint8_t *w = malloc(row * (size_t)rows[p]);
        random_weights(types[p], w, rows[p], K);
        W[p] = (lf_weight){.type = types[p], .ne = {K, rows[p], 1, 1}, .row_bytes = row, .data = w};
        Wp[p] = &W[p];
        got[p] = malloc(sizeof(float) * N * (size_t)rows[p]);
        want[p] = malloc(sizeof(float) * N * (size_t)rows[p]);
    }
    lf_scratch sc = {0};
    lf_error err;
    static const int ns[] = {1, 7, N};
    for (size_t z = 0; z < sizeof ns / sizeof ns[0]; z++) {
        bool ok = lf_matmul_many_with(ks, pool2, &sc, 3, got, Wp, NULL, x, ns[z], &err);
        for (int p = 0; p < 3 && ok; p++)
            ok = lf_matmul_with(ks, pool2, &sc, want[p], &W[p], 0, x, ns[z], &err);
        EXPECT(ok, "%s", err.msg);
        for (int p = 0; p < 3 && ok; p++)
            EXPECT(memcmp(got[p], want[p], sizeof(float) * (size_t)(ns[z] * rows[p])) == 0,
                   "n=%d: product %d differs from its own job's", ns[z], p);
    }
    float *five[5] = {got[0], got[1], got[2], got[0], got[1]};
    const lf_weight *W5[5] = {Wp[0], Wp[1], Wp[2], Wp[0], Wp[1]};
    EXPECT(!lf_matmul_many_with(ks, pool2, &sc, 5, five, W5, NULL, x, 1, &err) && strstr(err.msg, "products"),
           "five products were taken");
    lf_weight narrow = W[0];
    narrow.ne[0] = K / 2, narrow.row_bytes = (size_t)lf_type_row_bytes(narrow.type, K / 2);
    const lf_weight *mixed[2] = {Wp[0], &narrow};
    EXPECT(!lf_matmul_many_with(ks, pool2, &sc, 2, got, mixed, NULL, x, 1, &err) && strstr(err.msg, "width"),
           "products of two widths were taken");
    for (int p = 0; p < 3; p++)
        free((void *)W[p].data), free(got[p]), free(want[p]);
    lf_scratch_free(&sc);
    TEST_END();
}

static void test_set(const char *name, lf_pool *pool2) {
    const lf_kernel_set *ks = lf_kernels_named(name);
    if (!ks) {
        char label[64];
        snprintf(label, sizeof label, "kernels %s", name);
        SKIP(label, "this CPU cannot run the %s set", name);
        return;
    }
    static const int64_t ms[] = {1, 5, 17, 64};
    static const int64_t ns[] = {1, 3, 5, 15, 16, 17, 33};
    static const int64_t kb[] = {1, 3, 11, 20};  /* blocks per row */
    static const int64_t kf[] = {1, 7, 33, 100, 257};
    int covered = 0;
    for (int type = 0; type < LF_TYPE_COUNT; type++) {
        if (!ks->mm[type].act_bytes)
            continue;
        const lf_type_traits *t = lf_type_traits_of(type);
        char label[96];
        snprintf(label, sizeof label, "kernels %s %s", name, t->name);
        TEST_BEGIN(label);
        covered++;
        int fails = 0;
        for (size_t a = 0; a < sizeof ms / sizeof ms[0] && fails < 3; a++)
            for (size_t b = 0; b < sizeof ns / sizeof ns[0] && fails < 3; b++)
                for (size_t c = 0; c < 5 && fails < 3; c++) {
                    int64_t k = t->blck == 1 ? kf[c] : t->blck * kb[c % 4];
                    if ((c == 4 && t->blck > 1) || ms[a] * ns[b] * k > 300000)
                        continue;
                    fails += !check(ks, pool2, type, (shape){ms[a], ns[b], k});
                }
        /* Kernels group blocks (up to 16 per step): every tail length of
         * every group width, on the matrix-vector path (one column) and a
         * small matrix. */
        for (int64_t nb = 1; nb <= 33 && fails < 3 && t->blck > 1; nb++)
            for (int64_t n = 1; n <= 2 && fails < 3; n++)
                fails += !check(ks, pool2, type, (shape){5, n, t->blck * nb});
        /* Big enough for lf_matmul to use both threads (LF_POOL_MIN_WORK):
         * one activation row (each thread converts its own copy), two rows
         * (converted once, shared); 97 rows is six 16-row blocks and one. */
        int64_t kbig = (2816 + t->blck - 1) / t->blck * t->blck;
        for (int64_t n = 1; n <= 2 && fails < 3; n++)
            fails += !check(ks, pool2, type, (shape){97, n, kbig});
        TEST_END();
    }
    char label[64];
    snprintf(label, sizeof label, "kernels %s: types covered", name);
    TEST_BEGIN(label);
    EXPECT(covered >= 16, "%s covers only %d weight types", name, covered);
    TEST_END();
}

/* ------------------------------------------------------------ attention */

/* The set's attention helpers against plain loops. */
static void test_attn_helpers(const char *name) {
    const lf_kernel_set *ks = lf_kernels_named(name);
    char label[64];
    if (!begin_set_test(label, sizeof label, "attention helpers", name, ks, ks && ks->attn_qk))
        return;
    enum { CT = LF_ATTN_TILE, NR = 5, DK = 72, DV = 80 };
    static float q[NR * DK], kt[DK * CT], sc[NR * CT], p[NR * CT], v[CT * DV], o[NR * DV], o0[NR * DV];
    static float mask[3 * CT], rowmax[NR];
    static uint16_t kh[CT * (DK + 8)];
    for (int i = 0; i < NR * DK; i++)
        q[i] = normal();
    for (int i = 0; i < CT * (DK + 8); i++)
        kh[i] = lf_fp32_to_fp16(normal());
    ks->attn_kt(kh, DK + 8, CT - 3, DK, kt); /* rows DK + 8 apart, the last 3 cells empty */
    for (int d = 0; d < DK; d++)
        for (int c = 0; c < CT; c++) {
            float e = c < CT - 3 ? lf_fp16_to_fp32(kh[c * (DK + 8) + d]) : 0.0f;
            EXPECT(memcmp(&e, &kt[d * CT + c], 4) == 0, "kt[%d][%d] = %g, expected %g", d, c, kt[d * CT + c], e);
        }
    for (int i = 0; i < 3 * CT; i++)
        mask[i] = rnd() % 4 ? 0.0f : -INFINITY;
    ks->attn_qk(q, NR, DK, kt, 0.125f, mask, 2, sc, CT, rowmax);
    for (int r = 0; r < NR; r++) {
        double mx = -INFINITY;
        for (int c = 0; c < CT; c++) {
            double ref = 0, mag = 0;
            for (int d = 0; d < DK; d++)
                ref += (double)q[r * DK + d] * kt[d * CT + c], mag += fabs((double)q[r * DK + d] * kt[d * CT + c]);
            ref = ref * 0.125 + mask[(r / 2) * CT + c];
            mx = ref > mx ? ref : mx;
            EXPECT(ref == -INFINITY ? sc[r * CT + c] == -INFINITY : fabs(sc[r * CT + c] - ref) <= 1e-5 * mag,
                   "qk[%d][%d] = %g, expected %g", r, c, sc[r * CT + c], ref);
        }
        EXPECT(fabs(rowmax[r] - mx) <= 1e-5 * fabs(mx), "row max %g, expected %g", rowmax[r], mx);
    }
    for (int i = 0; i < NR * CT; i++)
        p[i] = rnd() % 5 == 0 ? 0.0f : (float)uniform();
    for (int i = 0; i < CT * DV; i++)
        v[i] = normal();
    for (int i = 0; i < NR * DV; i++)
        o[i] = o0[i] = normal();
    ks->attn_pv(p, NR, v, DV, o);
    for (int r = 0; r < NR; r++)
        for (int e = 0; e < DV; e++) {
            double ref = o0[r * DV + e], mag = fabs(ref);
            for (int c = 0; c < CT; c++)
                ref += (double)p[r * CT + c] * v[c * DV + e], mag += fabs((double)p[r * CT + c] * v[c * DV + e]);
            EXPECT(fabs(o[r * DV + e] - ref) <= 1e-5 * mag, "pv[%d][%d] = %g, expected %g", r, e, o[r * DV + e], ref);
        }
    float x[CT], x0[CT];
    for (int i = 0; i < CT; i++)
        x[i] = x0[i] = i % 9 == 0 ? -INFINITY : -(float)(uniform() * 100);
    float sum = ks->attn_exp(x, CT, -1.5f);
    double ref_sum = 0;
    for (int i = 0; i < CT; i++) {
        double e = x0[i] == -INFINITY ? 0 : exp((double)x0[i] + 1.5);
        ref_sum += e;
        EXPECT(fabs(x[i] - e) <= 1e-6 * e + 1e-37 /* tiny results flush to 0 */, "exp(%g) = %g, expected %g", x0[i] + 1.5, x[i], e);
    }
    EXPECT(fabs(sum - ref_sum) <= 1e-5 * ref_sum, "exp sum %g, expected %g", sum, ref_sum);
    uint16_t h[37];
    float f[37];
    for (int i = 0; i < 37; i++)
        h[i] = (uint16_t)rnd();
    h[3] = 0x7c00, h[4] = 0x0001, h[5] = 0x8000;
    ks->f16_to_f32(h, f, 37);
    for (int i = 0; i < 37; i++) {
        float e = lf_fp16_to_fp32(h[i]);
        EXPECT(memcmp(&e, &f[i], 4) == 0 || (e != e && f[i] != f[i]), "f16 %04x -> %g, expected %g", h[i], f[i], e);
    }
    float g[37];
    uint16_t hh[37];
    for (int i = 0; i < 37; i++)
        g[i] = (float)(normal() * (i % 3 == 0 ? 1e-5 : i % 3 == 1 ? 1 : 3e4));
    g[0] = 65520.0f, g[1] = -65519.0f, g[2] = NAN, g[3] = -INFINITY, g[4] = 1.0f + 0x1p-11f; /* a tie */
    g[5] = 0x1p-25f, g[6] = 0x1.8p-24f, g[7] = -0.0f;
    ks->f32_to_f16(g, hh, 37);
    for (int i = 0; i < 37; i++)
        EXPECT(hh[i] == lf_fp32_to_fp16(g[i]), "f32 %a -> %04x, expected %04x", g[i], hh[i], lf_fp32_to_fp16(g[i]));
    TEST_END();
}

/* The Mamba-2 state row: lf_ssm_row_c against the sum in double, and each
 * set's ssm_row against lf_ssm_row_c bit for bit (state and sum), whole
 * 16-lane steps and a tail. */
static void test_ssm_row(const char *name) {
    const lf_kernel_set *ks = name ? lf_kernels_named(name) : NULL;
    char label[64];
    if (!begin_set_test(label, sizeof label, "ssm row", name, ks, ks && ks->ssm_row))
        return;
    static const int sizes[] = {128, 45, 37, 16, 5};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        int n = sizes[z];
        float s0[128], s1[128], b[128], c[128], a = (float)uniform(), x = normal();
        for (int k = 0; k < n; k++)
            s0[k] = s1[k] = normal(), b[k] = normal(), c[k] = normal();
        if (!name) {
            double ref = 0, mag = 0;
            for (int k = 0; k < n; k++) {
                double v = (double)s0[k] * a + (double)b[k] * x;
                ref += v * c[k], mag += fabs(v * c[k]);
            }
            float got = lf_ssm_row_c(s1, b, c, a, x, n);
            EXPECT(fabs(got - ref) <= 1e-5 * mag, "n=%d: sum %g, expected %g", n, got, ref);
            for (int k = 0; k < n; k++)
                EXPECT(fabs(s1[k] - ((double)s0[k] * a + (double)b[k] * x)) <= 1e-6 * (fabs(s0[k]) + fabs(b[k] * x)),
                       "n=%d: state[%d] = %g", n, k, s1[k]);
            continue;
        }
        float want = lf_ssm_row_c(s0, b, c, a, x, n), got = ks->ssm_row(s1, b, c, a, x, n);
        EXPECT(memcmp(&want, &got, 4) == 0, "n=%d: sum %a, lf_ssm_row_c gives %a", n, got, want);
        EXPECT(memcmp(s0, s1, sizeof(float) * (size_t)n) == 0, "n=%d: the state differs from lf_ssm_row_c's", n);
    }
    TEST_END();
}

/* swiglu: lf_swiglu_c against double, and each set's swiglu against
 * double too (a few ulp: the sets use their own exp), over large and small
 * magnitudes, both signs, +-0, +-inf, and a tail shorter than a vector. */
static void test_swiglu(const char *name) {
    const lf_kernel_set *ks = name ? lf_kernels_named(name) : NULL;
    char label[64];
    if (!begin_set_test(label, sizeof label, "swiglu", name, ks, ks && ks->swiglu))
        return;
    enum { N = 203 };
    float g[N], g0[N], u[N];
    for (int i = 0; i < N; i++) {
        double scale = i % 4 == 0 ? 30 : i % 4 == 1 ? 3 : i % 4 == 2 ? 0.01 : 1;
        g[i] = g0[i] = (float)(normal() * scale), u[i] = (float)normal();
    }
    g[0] = g0[0] = 0.0f, g[1] = g0[1] = -0.0f, g[2] = g0[2] = -95.0f, g[3] = g0[3] = 95.0f;
    g[5] = g0[5] = INFINITY, g[6] = g0[6] = -20.0f, g[7] = g0[7] = 1e-30f;
    (name ? ks->swiglu : lf_swiglu_c)(g, u, N);
    for (int i = 0; i < N; i++) {
        double x = g0[i], want = x / (1 + exp(-x)) * u[i];
        EXPECT(g[i] == want || fabs(g[i] - want) <= 4e-7 * fabs(want) + 1e-37, "silu(%a)·%g = %a, expected %a", g0[i], u[i], g[i], want);
    }
    TEST_END();
}

/* lf_attention against a direct softmax in double: GQA, two sequences
 * interleaved in the cache, empty cells, a sliding window, sinks, F16 and
 * F32 caches; and a query alone gives what it gives in the batch. */
static void test_attention(int kv_type, int n_swa, bool sinks, lf_pool *pool) {
    enum { H = 4, HKV = 2, D = 72, CELLS = 150, NQ = 20 };
    char label[96];
    snprintf(label, sizeof label, "attention %s swa=%d%s", kv_type == LF_TYPE_F16 ? "F16" : "F32", n_swa,
             sinks ? " sinks" : "");
    TEST_BEGIN(label);
    size_t es = kv_type == LF_TYPE_F16 ? 2 : 4, row = (size_t)HKV * D * es;
    char *k = malloc(row * CELLS), *v = malloc(row * CELLS);
    int32_t cpos[CELLS], qpos[NQ], qseq[NQ];
    uint64_t cseqs[CELLS]; /* sequence sets: some cells shared by both */
    float *q = malloc(sizeof(float) * NQ * H * D), *out = malloc(sizeof(float) * NQ * H * D);
    float *one = malloc(sizeof(float) * H * D), snk[H];
    for (int c = 0; c < CELLS; c++) {
        bool s1 = c % 3 == 2;
        cseqs[c] = s1 ? 2 : c % 7 == 0 ? 3 : 1;
        cpos[c] = c % 17 == 5 ? -1 : (s1 ? c / 3 : c - c / 3);
        for (int i = 0; i < HKV * D; i++) {
            float kv0 = normal(), kv1 = normal();
            if (es == 2) {
                ((uint16_t *)(k + c * row))[i] = lf_fp32_to_fp16(kv0);
                ((uint16_t *)(v + c * row))[i] = lf_fp32_to_fp16(kv1);
            } else {
                ((float *)(k + c * row))[i] = kv0;
                ((float *)(v + c * row))[i] = kv1;
            }
        }
    }
    for (int t = 0; t < NQ; t++) {
        qseq[t] = t % 2;
        qpos[t] = (int32_t)(rnd() % 90);
        for (int i = 0; i < H * D; i++)
            q[t * H * D + i] = normal();
    }
    for (int h = 0; h < H; h++)
        snk[h] = normal();
    lf_attn_kv kv = {kv_type, k, v, row, row, cpos, cseqs, CELLS};
    lf_attn_params ap = {H, HKV, D, D, 1.0f / sqrtf((float)D), n_swa, sinks ? snk : NULL};
    lf_scratch sc = {0};
    lf_attention(pool, &sc, out, q, NQ, qpos, qseq, &kv, &ap, NULL);
    for (int t = 0; t < NQ; t++)
        for (int h = 0; h < H; h++) {
            int kvh = h / (H / HKV);
            double s[CELLS], m = sinks ? snk[h] : -INFINITY, l = 0;
            for (int c = 0; c < CELLS; c++) {
                bool vis = cpos[c] >= 0 && cpos[c] <= qpos[t] && ((cseqs[c] >> qseq[t]) & 1) &&
                           !(n_swa > 0 && qpos[t] - cpos[c] >= n_swa);
                s[c] = -INFINITY;
                if (!vis)
                    continue;
                double dot = 0;
                for (int d = 0; d < D; d++) {
                    float qv = q[(t * H + h) * D + d];
                    float kk = es == 2 ? lf_fp16_to_fp32(((uint16_t *)(k + c * row))[kvh * D + d])
                                       : ((float *)(k + c * row))[kvh * D + d];
                    if (es == 2)
                        qv = lf_fp16_to_fp32(lf_fp32_to_fp16(qv));
                    dot += (double)qv * kk;
                }
                s[c] = dot * ap.scale;
                m = s[c] > m ? s[c] : m;
            }
            if (sinks)
                l += exp(snk[h] - m);
            for (int c = 0; c < CELLS; c++)
                l += s[c] == -INFINITY ? 0 : exp(s[c] - m);
            for (int e = 0; e < D; e++) {
                double acc = 0, mag = 0;
                for (int c = 0; c < CELLS; c++) {
                    if (s[c] == -INFINITY)
                        continue;
                    float vv = es == 2 ? lf_fp16_to_fp32(((uint16_t *)(v + c * row))[kvh * D + e])
                                       : ((float *)(v + c * row))[kvh * D + e];
                    acc += exp(s[c] - m) * vv;
                    mag += exp(s[c] - m) * fabs(vv);
                }
                double ref = l > 0 ? acc / l : 0, got = out[(t * H + h) * D + e];
                EXPECT(fabs(got - ref) <= 1e-5 * (l > 0 ? mag / l : 0) + 1e-30,
                       "token %d head %d dim %d: %g, expected %g", t, h, e, got, ref);
            }
        }
    for (int t = 0; t < NQ; t += 7) {
        lf_attention(pool, &sc, one, q + t * H * D, 1, qpos + t, qseq + t, &kv, &ap, NULL);
        EXPECT(memcmp(one, out + t * H * D, sizeof(float) * H * D) == 0, "token %d alone differs from the batch", t);
    }
    TEST_END();
    free(k), free(v), free(q), free(out), free(one);
    lf_scratch_free(&sc);
}

int main(void) {
    lf_error err;
    lf_pool *pool2 = lf_pool_new(2, &err);
    TEST_BEGIN("kernel set chosen and named");
    const char *isa = lf_kernel_isa();
    EXPECT(isa && lf_kernels_named(isa) == lf_kernels(), "lf_kernel_isa() = %s", isa ? isa : "NULL");
    EXPECT(pool2 != NULL, "no thread pool: %s", err.msg);
    TEST_END();
    if (!pool2)
        return test_summary();
#if defined(__aarch64__)
    static const char *const sets[] = {"neon+dotprod", "neon"};
#else
    static const char *const sets[] = {"avx512vnni", "avx512", "avx2"};
#endif
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        test_set(sets[i], pool2);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        test_matmul_many(sets[i], pool2);
    printf("# worst |error| / scale: %.3g\n", g_worst);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        test_attn_helpers(sets[i]);
    test_ssm_row(NULL);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        test_ssm_row(sets[i]);
    test_swiglu(NULL);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        test_swiglu(sets[i]);
    test_attention(LF_TYPE_F16, 0, false, pool2);
    test_attention(LF_TYPE_F16, 7, true, pool2);
    test_attention(LF_TYPE_F32, 0, true, NULL);
    lf_pool_free(pool2);
    return test_summary();
}
