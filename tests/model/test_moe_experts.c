/* lf_moe_forward runs all experts (and a shared one) in one pool job: with
 * quantized experts (Q4_K gate/up, Q8_0 down; a shared expert of another
 * width) its output must be bit for bit the per-product evaluation — one
 * lf_matmul per expert and product, the weighted outputs added in expert
 * order, then the shared expert — for one token (generation) and for
 * batches whose experts take few and many tokens (matrix-vector and
 * matrix-matrix kernels), at 1, 2 and 3 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "moe_per_product.h"
#include "model/moe.h"
#include "tensor/types.h"

enum { D = 512, F = 64, FS = 96, NE = 8, NK = 2, TMAX = 96 };

static float rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* n matrices of rows x cols, random, quantized to type row by row. */
static lf_weight qweight(int type, int64_t cols, int64_t rows, int64_t n, float scale, unsigned *s) {
    const lf_type_traits *tt = lf_type_traits_of(type);
    size_t rb = (size_t)(cols / tt->blck * tt->type_size);
    char *data = malloc(rb * (size_t)(rows * n));
    float row[D > FS ? D : FS];
    for (int64_t r = 0; data && r < rows * n; r++) {
        for (int64_t i = 0; i < cols; i++)
            row[i] = scale * rnd(s);
        tt->from_float(row, data + (size_t)r * rb, cols);
    }
    return (lf_weight){.type = type, .ne = {cols, rows, n, 1}, .row_bytes = rb, .data = data};
}

int main(void) {
    unsigned s = 4242u;
    static float router[NE * D], x[TMAX * D], want[TMAX * D], got[TMAX * D];
    for (int i = 0; i < NE * D; i++)
        router[i] = rnd(&s);
    for (int i = 0; i < TMAX * D; i++)
        x[i] = rnd(&s);
    lf_ffn_weights sh = {.gate = qweight(LF_TYPE_Q4_K, D, FS, 1, 0.2f, &s),
                         .up = qweight(LF_TYPE_Q4_K, D, FS, 1, 0.2f, &s),
                         .down = qweight(LF_TYPE_Q8_0, FS, D, 1, 0.2f, &s)};
    lf_moe_weights w = {
        .router = {.type = LF_TYPE_F32, .ne = {D, NE, 1, 1}, .row_bytes = sizeof(float) * D,
                   .data = router},
        .gate = qweight(LF_TYPE_Q4_K, D, F, NE, 0.2f, &s),
        .up = qweight(LF_TYPE_Q4_K, D, F, NE, 0.2f, &s),
        .down = qweight(LF_TYPE_Q8_0, F, D, NE, 0.2f, &s),
        .shared = &sh,
    };
    lf_moe_params p = {.n_expert = NE, .n_used = NK, .gating = LF_MOE_SOFTMAX, .norm_w = true,
                       .act = LF_MOE_SWIGLU};
    size_t wf = lf_moe_work_floats(&p, TMAX, D, F);
    float *work = malloc(sizeof(float) * wf);
    float *buf = malloc(sizeof(float) * moe_per_product_floats(&w, &p, TMAX));
    lf_error err;
    const int sizes[3] = {1, 5, TMAX};
    for (int nth = 1; nth <= 3; nth++) {
        lf_pool *pool = lf_pool_new(nth, &err);
        lf_context c = {.pool = pool};
        for (int k = 0; k < 3; k++) {
            int T = sizes[k];
            char name[96];
            snprintf(name, sizeof name, "one job = per product, bit for bit: %d tokens, %d threads",
                     T, nth);
            TEST_BEGIN(name);
            EXPECT(pool && work && buf && w.gate.data && w.up.data && w.down.data && sh.gate.data &&
                       sh.up.data && sh.down.data, "setup");
            bool ok = pool && work && buf && moe_per_product(&c, &w, &p, x, T, want, buf, &err);
            EXPECT(ok, "reference: %s", ok ? "" : err.msg);
            ok = ok && lf_moe_forward(&c, &w, &p, got, x, T, work, wf, &err);
            EXPECT(ok, "lf_moe_forward: %s", ok ? "" : err.msg);
            int bad = -1;
            for (int i = 0; ok && i < T * D && bad < 0; i++)
                if (memcmp(&got[i], &want[i], sizeof(float)) != 0 || !isfinite(got[i]))
                    bad = i;
            EXPECT(bad < 0, "token %d [%d]: %.9g, want %.9g", bad / D, bad % D,
                   bad >= 0 ? got[bad] : 0, bad >= 0 ? want[bad] : 0);
            TEST_END();
        }
        lf_scratch_free(&c.mm);
        lf_pool_free(pool);
    }
    free(work), free(buf);
    free((void *)w.gate.data), free((void *)w.up.data), free((void *)w.down.data);
    free((void *)sh.gate.data), free((void *)sh.up.data), free((void *)sh.down.data);
    return test_summary();
}
