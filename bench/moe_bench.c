/* moe_bench.c — one Ring-mini-2.0-shaped MoE layer (2048 wide, 256 experts
 * of 512, 8 used, a shared expert of 512; Q2_K gate/up, Q3_K down, F32
 * router) evaluated the per-product way (one lf_matmul per expert and
 * product, as moe.c did before issue 19) and by lf_moe_forward (one pool
 * job), alternately in one process, plus the cost of an empty pool job.
 * A benchmark, never run by `make check`; bench/moe_bench.sh builds it.
 *
 *   moe_bench [-j THREADS] [-T TOKENS] [-r ROUNDS] [-n BATCHES]
 *
 * Each round times n batches of T tokens (random inputs, so random experts;
 * the 280 MB of experts come from memory as in a real model) with each
 * code; prints the median µs per batch of each, their ratio and whether
 * the outputs are bit-identical. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/threadpool.h"
#include "model/moe.h"
#include "tensor/types.h"
#include "../tests/model/moe_per_product.h"

enum { D = 2048, F = 512, NE = 256, NK = 8 };

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1dull;
}
static float frnd(void) { return (float)(rnd() >> 40) / (float)(1 << 24) * 2 - 1; }

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* rows x n matrices of cols: 64 distinct quantized rows repeated (the
 * numbers do not matter for the speed, the bytes read do) */
static lf_weight qweight(int type, int64_t cols, int64_t rows, int64_t n) {
    const lf_type_traits *tt = lf_type_traits_of(type);
    size_t rb = (size_t)(cols / tt->blck * tt->type_size);
    char *data = malloc(rb * (size_t)(rows * n)), *proto = malloc(rb * 64);
    float *row = malloc(sizeof(float) * (size_t)cols);
    for (int r = 0; r < 64; r++) {
        for (int64_t i = 0; i < cols; i++)
            row[i] = 0.05f * frnd();
        tt->from_float(row, proto + (size_t)r * rb, cols);
    }
    for (int64_t r = 0; r < rows * n; r++)
        memcpy(data + (size_t)r * rb, proto + (size_t)(rnd() % 64) * rb, rb);
    free(row), free(proto);
    return (lf_weight){.type = type, .ne = {cols, rows, n, 1}, .row_bytes = rb, .data = data};
}

static void nop(void *arg, int ith, int nth) { (void)arg, (void)ith, (void)nth; }

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int nth = 2, T = 1, rounds = 7, nb = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-j")) nth = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-T")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-r")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) nb = atoi(argv[i + 1]);
    }
    if (T < 1 || nth < 1 || rounds < 1 || nb < 1 || rounds > 99)
        return 2;
    lf_error err;
    lf_pool *pool = lf_pool_new(nth, &err);
    if (!pool)
        return fprintf(stderr, "%s\n", err.msg), 1;

    /* an empty job: the wake-up and the barrier */
    double t0 = now_us();
    for (int i = 0; i < 20000; i++)
        lf_pool_run(pool, nop, NULL);
    printf("empty pool job: %.2f us (%d threads)\n", (now_us() - t0) / 20000, nth);

    float *router = malloc(sizeof(float) * NE * D);
    for (int i = 0; i < NE * D; i++)
        router[i] = frnd();
    lf_ffn_weights sh = {.gate = qweight(LF_TYPE_Q2_K, D, F, 1), .up = qweight(LF_TYPE_Q2_K, D, F, 1),
                         .down = qweight(LF_TYPE_Q3_K, F, D, 1)};
    lf_moe_weights w = {
        .router = {.type = LF_TYPE_F32, .ne = {D, NE, 1, 1}, .row_bytes = sizeof(float) * D,
                   .data = router},
        .gate = qweight(LF_TYPE_Q2_K, D, F, NE), .up = qweight(LF_TYPE_Q2_K, D, F, NE),
        .down = qweight(LF_TYPE_Q3_K, F, D, NE), .shared = &sh,
    };
    lf_moe_params p = {.n_expert = NE, .n_used = NK, .gating = LF_MOE_SIGMOID, .norm_w = true,
                       .w_scale = 2.5f, .act = LF_MOE_SWIGLU};
    size_t wf = lf_moe_work_floats(&p, T, D, F);
    float *work = malloc(sizeof(float) * wf), *x = malloc(sizeof(float) * (size_t)T * D * nb);
    float *o1 = malloc(sizeof(float) * (size_t)T * D), *o2 = malloc(sizeof(float) * (size_t)T * D);
    float *buf = malloc(sizeof(float) * moe_per_product_floats(&w, &p, T));
    for (size_t i = 0; i < (size_t)T * D * nb; i++)
        x[i] = frnd();
    lf_context c = {.pool = pool};
    double old_t[100], new_t[100];
    bool same = true;
    for (int r = 0; r < rounds; r++) {
        for (int mode = 0; mode < 2; mode++) {
            double s = now_us();
            for (int b = 0; b < nb; b++) {
                const float *xb = x + (size_t)b * T * D;
                bool ok = mode ? lf_moe_forward(&c, &w, &p, o2, xb, T, work, wf, &err)
                               : moe_per_product(&c, &w, &p, xb, T, o1, buf, &err);
                if (!ok)
                    return fprintf(stderr, "%s\n", err.msg), 1;
            }
            (mode ? new_t : old_t)[r] = (now_us() - s) / nb;
        }
        same &= memcmp(o1, o2, sizeof(float) * (size_t)T * D) == 0;
    }
    qsort(old_t, (size_t)rounds, sizeof(double), cmp);
    qsort(new_t, (size_t)rounds, sizeof(double), cmp);
    double mo = old_t[rounds / 2], mn = new_t[rounds / 2];
    printf("T=%d threads=%d: per-product %.1f us, one job %.1f us per layer (median of %d x %d); "
           "new/old %.3f; best %.1f / %.1f; outputs %s\n",
           T, nth, mo, mn, rounds, nb, mn / mo, old_t[0], new_t[0],
           same ? "bit-identical" : "DIFFER");
    return same ? 0 : 1;
}
