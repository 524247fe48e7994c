/* moe_per_product.h — an MoE layer evaluated the way moe.c did before
 * lf_moe_forward ran it as one pool job: one lf_matmul per expert and
 * product, each expert's weighted outputs added in expert order, then the
 * shared expert (w->shared, swiglu, weight 1). test_moe_experts.c checks
 * lf_moe_forward against it bit for bit; bench/moe_bench.c times the two
 * (header-only, so that the bench builds it without the tests). */
#ifndef LF_TESTS_MOE_PER_PRODUCT_H
#define LF_TESTS_MOE_PER_PRODUCT_H

#include <string.h>

#include "model/moe.h"

/* Floats of work space for T tokens. */
static inline size_t moe_per_product_floats(const lf_moe_weights *w, const lf_moe_params *p, int T) {
    size_t d = (size_t)w->router.ne[0], f = (size_t)w->up.ne[1], fs = (size_t)w->shared->up.ne[1];
    size_t fm = f > fs ? f : fs, n_e = (size_t)p->n_expert, n_k = (size_t)p->n_used;
    return (size_t)T * (n_e + 3 * n_k + 2 * d + 2 * fm) + 16; /* slots and ids are int32 */
}

/* out[T][d] for x[T][d]; buf holds moe_per_product_floats floats. */
static inline bool moe_per_product(lf_context *c, const lf_moe_weights *w, const lf_moe_params *p,
                                   const float *x, int T, float *out, float *buf, lf_error *err) {
    const size_t d = (size_t)w->router.ne[0], f = (size_t)w->up.ne[1], fs = (size_t)w->shared->up.ne[1];
    const size_t fm = f > fs ? f : fs;
    const int n_e = p->n_expert, n_k = p->n_used;
    float *lg = buf, *wt = lg + (size_t)T * (size_t)n_e, *xg = wt + (size_t)T * (size_t)n_k;
    float *g = xg + (size_t)T * d, *u = g + (size_t)T * fm, *y = u + (size_t)T * fm;
    int32_t *slot = (int32_t *)(y + (size_t)T * d), *ids = slot + (size_t)T * (size_t)n_k;
    if (!lf_matmul(c->pool, &c->mm, lg, &w->router, 0, x, T, err))
        return false;
    lf_moe_route(p, lg, w->select_b, T, ids, wt);
    memset(out, 0, sizeof(float) * (size_t)T * d);
    for (int e = 0; e < n_e; e++) {
        int n = 0;
        for (int s = 0; s < T * n_k; s++)
            if (ids[s] == e)
                slot[n++] = s;
        if (!n)
            continue;
        for (int i = 0; i < n; i++)
            memcpy(xg + (size_t)i * d, x + (size_t)(slot[i] / n_k) * d, sizeof(float) * d);
        if (!lf_matmul(c->pool, &c->mm, u, &w->up, e, xg, n, err) ||
            !lf_matmul(c->pool, &c->mm, g, &w->gate, e, xg, n, err))
            return false;
        lf_swiglu(g, u, (int64_t)n * (int64_t)f);
        if (!lf_matmul(c->pool, &c->mm, y, &w->down, e, g, n, err))
            return false;
        for (int i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                out[(size_t)(slot[i] / n_k) * d + j] += wt[slot[i]] * y[(size_t)i * d + j];
    }
    const lf_ffn_weights *sh = w->shared;
    if (!lf_matmul(c->pool, &c->mm, g, &sh->gate, 0, x, T, err) ||
        !lf_matmul(c->pool, &c->mm, u, &sh->up, 0, x, T, err))
        return false;
    lf_swiglu(g, u, (int64_t)T * (int64_t)fs);
    if (!lf_matmul(c->pool, &c->mm, y, &sh->down, 0, g, T, err))
        return false;
    for (size_t i = 0; i < (size_t)T * d; i++)
        out[i] += y[i];
    return true;
}

#endif
