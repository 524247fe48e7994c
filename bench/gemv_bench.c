/* gemv_bench.c — the matrix-vector kernels (n activation rows, 1 by
 * default: token generation) of the AVX-512 VNNI set, each weight layout
 * the loader can leave: the plain rows of the file against the packed
 * groups (tensor/pack.h) for the types that have them (for the others both
 * sides read the plain rows), alternately in one process on
 * TinyLlama-shaped matrices, so that the ratio survives a loaded machine.
 * A benchmark, never run by `make check`; bench/gemv_bench.sh builds and
 * runs it.
 *
 *   gemv_bench [-t TYPE]... [-r ROUNDS] [-n ROWS] [-j THREADS] [-c COPIES]
 *
 * COPIES > 1 cycles through that many copies of each matrix (weights read
 * from memory rather than L3). Per shape and type: median µs per product,
 * plain and packed, packed/plain ratio of medians (< 1 is faster), the
 * median of the per-round ratios (both timed back to back) with their
 * spread, the ratio of the best times (what interference cannot inflate),
 * the packed side's GB/s of weights and TSC cycles per weight row (one
 * thread), and whether the outputs are bit-identical. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/threadpool.h"
#include "llamafile.h"
#include "tensor/fp16.h"
#include "tensor/matmul.h"
#include "tensor/pack.h"
#include "tensor/types.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return g_rng * 0x2545f4914f6cdd1dull;
}

/* Random blocks with sane fp16 scales (offsets of the fp16 fields). */
static void fill(int type, uint8_t *p, size_t bytes) {
    const lf_type_traits *t = lf_type_traits_of(type);
    int at[2] = {-1, -1};
    switch (type) {
    case LF_TYPE_Q4_0: case LF_TYPE_Q5_0: case LF_TYPE_Q8_0: case LF_TYPE_IQ4_NL: case LF_TYPE_IQ4_XS:
        at[0] = 0; break;
    case LF_TYPE_Q4_1: case LF_TYPE_Q5_1: case LF_TYPE_Q4_K: case LF_TYPE_Q5_K: at[0] = 0, at[1] = 2; break;
    case LF_TYPE_Q2_K: at[0] = 80, at[1] = 82; break;
    case LF_TYPE_Q3_K: at[0] = 108; break;
    case LF_TYPE_Q6_K: at[0] = 208; break;
    default: break;
    }
    for (size_t i = 0; i < bytes; i++)
        p[i] = (uint8_t)rnd();
    for (size_t b = 0; b + (size_t)t->type_size <= bytes; b += (size_t)t->type_size)
        for (int f = 0; f < 2; f++)
            if (at[f] >= 0) {
                uint16_t h = lf_fp32_to_fp16((float)(rnd() % 1000 + 1) * 1e-5f);
                memcpy(p + b + at[f], &h, 2);
            }
    if (t->blck == 1) /* float types: small finite values */
        for (size_t i = 0; i + 1 < bytes; i += 2)
            p[i + 1] &= 0x3b;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    int types[16], ntypes = 0, rounds = 15, nrows = 1, threads = 1, copies = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-t")) {
            int ty = lf_type_from_name(argv[i + 1]);
            if (ty < 0 || ntypes == 16) {
                fprintf(stderr, "unknown type %s\n", argv[i + 1]);
                return 1;
            }
            types[ntypes++] = ty;
        } else if (!strcmp(argv[i], "-r")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) nrows = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-j")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-c")) copies = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: %s [-t TYPE]... [-r ROUNDS] [-n ROWS] [-j THREADS] [-c COPIES]\n", argv[0]);
            return 1;
        }
    }
    if (!ntypes) {
        types[ntypes++] = LF_TYPE_Q4_K;
        types[ntypes++] = LF_TYPE_Q4_0;
        types[ntypes++] = LF_TYPE_Q2_K;
        types[ntypes++] = LF_TYPE_Q6_K;
    }
    rounds = rounds < 1 ? 1 : rounds > 99 ? 99 : rounds;
    copies = copies < 1 ? 1 : copies;
    const lf_kernel_set *cur = lf_kernels_named("avx512vnni");
    if (!cur) {
        fprintf(stderr, "this CPU has no AVX-512 VNNI\n");
        return 1;
    }
    lf_error err;
    lf_pool *pool = threads > 1 ? lf_pool_new(threads, &err) : NULL;
    static const struct { int64_t m, k; const char *what; } shapes[] = {
        {5632, 2048, "ffn gate/up"}, {2048, 5632, "ffn down"}, {2048, 2048, "attn q/o"},
        {32000, 2048, "output"},
    };
    printf("# rounds %d, activation rows %d, threads %d, copies %d\n", rounds, nrows, threads, copies);
    printf("| type | m x k | plain µs | packed µs | packed/plain medians | pair ratio median (min–max) | best/best | packed GB/s | packed TSC cyc/row | same |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (int ti = 0; ti < ntypes; ti++) {
        int type = types[ti];
        const lf_type_traits *t = lf_type_traits_of(type);
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            int64_t m = shapes[si].m, k = shapes[si].k;
            size_t row = (size_t)lf_type_row_bytes(type, k), bytes = row * (size_t)m;
            int nc = copies;
            if ((double)bytes * nc > 1.5e9)
                nc = (int)(1.5e9 / (double)bytes) + 1;
            uint8_t *w = aligned_alloc(64, (bytes * (size_t)nc + 63) / 64 * 64);
            float *x = malloc(sizeof(float) * (size_t)(k * nrows));
            float *o0 = malloc(sizeof(float) * (size_t)(m * nrows));
            float *o1 = malloc(sizeof(float) * (size_t)(m * nrows));
            if (!w || !x || !o0 || !o1)
                return 1;
            fill(type, w, bytes * (size_t)nc);
            /* the packed side's weights: packed copies, or the same bytes */
            const int64_t np = lf_pack_fits(type, k) ? lf_pack_rows(m) : 0;
            uint8_t *wn = w;
            if (np) {
                uint8_t *tmp = malloc(row * LF_PACK_ROWS);
                wn = aligned_alloc(64, (bytes * (size_t)nc + 63) / 64 * 64);
                if (!tmp || !wn)
                    return 1;
                memcpy(wn, w, bytes * (size_t)nc);
                for (int cc = 0; cc < nc; cc++)
                    for (int64_t g = 0; g < np; g += LF_PACK_ROWS)
                        lf_pack_group(type, wn + bytes * (size_t)cc + row * (size_t)g, k, tmp);
                free(tmp);
            }
            for (int64_t i = 0; i < k * nrows; i++)
                x[i] = (float)((double)(rnd() >> 11) * 0x1p-53 * 2 - 1);
            lf_scratch sc = {0};
            /* calls per timing: about 5 ms of work */
            int reps = (int)(5e6 / (double)bytes) + 1;
            double to[99], tn[99], ratio[99];
            uint64_t cyc[99];
            int cur_copy = 0;
            for (int r = 0; r < rounds; r++) {
                for (int side = 0; side < 2; side++) {
                    int packed_side = (side + r) % 2; /* alternate which goes first */
                    double t0 = now();
                    uint64_t c0 = __rdtsc();
                    for (int q = 0; q < reps; q++) {
                        lf_weight W = {.type = type, .ne = {k, m, 1, 1}, .row_bytes = row,
                                       .data = (packed_side ? wn : w) + bytes * (size_t)cur_copy,
                                       .packed = packed_side ? np : 0};
                        cur_copy = (cur_copy + 1) % nc;
                        if (!lf_matmul_with(cur, pool, &sc, packed_side ? o1 : o0, &W, 0, x, nrows, &err)) {
                            fprintf(stderr, "%s\n", err.msg);
                            return 1;
                        }
                    }
                    double dt = (now() - t0) / reps;
                    if (packed_side)
                        tn[r] = dt, cyc[r] = (__rdtsc() - c0) / (uint64_t)reps;
                    else
                        to[r] = dt;
                }
                ratio[r] = tn[r] / to[r];
            }
            /* the same weights for both sides, for the bit comparison */
            lf_weight W = {.type = type, .ne = {k, m, 1, 1}, .row_bytes = row, .data = w};
            lf_matmul_with(cur, pool, &sc, o0, &W, 0, x, nrows, &err);
            lf_weight Wn = W;
            Wn.data = wn, Wn.packed = np;
            lf_matmul_with(cur, pool, &sc, o1, &Wn, 0, x, nrows, &err);
            bool same = memcmp(o0, o1, sizeof(float) * (size_t)(m * nrows)) == 0;
            double cy[99];
            for (int r = 0; r < rounds; r++)
                cy[r] = (double)cyc[r];
            double mo = median(to, rounds), mn = median(tn, rounds), mc = median(cy, rounds);
            double rmed = median(ratio, rounds), bo = 1e9, bn = 1e9;
            for (int r = 0; r < rounds; r++)
                bo = to[r] < bo ? to[r] : bo, bn = tn[r] < bn ? tn[r] : bn;
            double rmin = 1e9, rmax = 0;
            for (int r = 0; r < rounds; r++)
                rmin = ratio[r] < rmin ? ratio[r] : rmin, rmax = ratio[r] > rmax ? ratio[r] : rmax;
            printf("| %s | %lldx%lld | %.1f | %.1f | %.3f | %.3f (%.3f–%.3f) | %.3f | %.1f | %.0f | %s |\n",
                   t->name, (long long)m, (long long)k, mo * 1e6, mn * 1e6, mn / mo, rmed, rmin, rmax, bn / bo,
                   (double)bytes / mn * 1e-9, mc / (double)m * (threads > 1 ? threads : 1),
                   same ? "yes" : "NO");
            fflush(stdout);
            lf_scratch_free(&sc);
            if (wn != w)
                free(wn);
            free(w), free(x), free(o0), free(o1);
        }
    }
    if (pool)
        lf_pool_free(pool);
    return 0;
}
