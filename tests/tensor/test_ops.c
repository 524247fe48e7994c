/* test_ops.c — the float32 building blocks checked directly against their
 * formulas (a model test only sees them through a whole forward pass). */
#include <math.h>
#include <stdint.h>

#include "../harness.h"
#include "tensor/ops.h"

/* y = x / sqrt(mean(x²) + eps) * w, in double; a large eps makes moving it
 * (outside the root, or dropping it) visible far beyond rounding. */
static void check_rms_norm(int64_t n, float eps, bool weighted) {
    float x[67], w[67], y[67];
    double ss = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)sin(0.7 * (double)i + 0.3) * 3.0f;
        w[i] = 0.5f + (float)i / 64.0f;
        ss += (double)x[i] * x[i];
    }
    lf_rms_norm(y, x, weighted ? w : NULL, n, eps);
    double scale = 1.0 / sqrt(ss / (double)n + eps), worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double want = x[i] * scale * (weighted ? w[i] : 1.0);
        worst = fmax(worst, fabs(y[i] - want) / (fabs(want) + 1e-6));
    }
    EXPECT(worst < 1e-5, "n=%ld eps=%g weighted=%d: relative error %g", (long)n, eps, weighted,
           worst);
}

int main(void) {
    TEST_BEGIN("lf_rms_norm = x / sqrt(mean(x^2) + eps) * w, eps large and small");
    const float eps[] = {1e-6f, 0.5f, 4.0f};
    const int64_t ns[] = {1, 7, 64, 67};
    for (int e = 0; e < 3; e++)
        for (int k = 0; k < 4; k++)
            for (int wt = 0; wt < 2; wt++)
                check_rms_norm(ns[k], eps[e], wt);
    TEST_END();
    return test_summary();
}
