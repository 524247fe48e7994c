/* kernels_generic.c — the portable kernel set: the scalar reference dot
 * products of the type table (tensor/types.h) on ggml's activation
 * formats. The SIMD sets are tested against it. */
#include "tensor/kernels.h"

#include "tensor/types.h"

enum { ROW_BLOCK = 16 };

static size_t act_bytes(int type, int64_t k, int64_t n) {
    const lf_type_traits *t = lf_type_traits_of(type);
    return (size_t)lf_type_row_bytes(t->vec_dot_type, k) * (size_t)n;
}

static void act(int type, const float *x, int64_t k, int64_t n, int64_t j0, int64_t j1,
                void *dst) {
    const lf_type_traits *at = lf_type_traits_of(lf_type_traits_of(type)->vec_dot_type);
    size_t rb = (size_t)lf_type_row_bytes(lf_type_traits_of(type)->vec_dot_type, k);
    (void)n;
    for (int64_t j = j0; j < j1; j++)
        at->from_float(x + j * k, (char *)dst + (size_t)j * rb, k);
}

/* Blocks of 16 weight rows against every activation row. */
static void mm(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    const lf_type_traits *wt = lf_type_traits_of(c->type);
    size_t lda = (size_t)lf_type_row_bytes(wt->vec_dot_type, c->k);
    (void)tmp;
    for (int64_t b0 = i0; b0 < i1; b0 += ROW_BLOCK) {
        int64_t b1 = b0 + ROW_BLOCK < i1 ? b0 + ROW_BLOCK : i1;
        for (int64_t j = 0; j < c->n; j++)
            for (int64_t i = b0; i < b1; i++)
                c->c[(size_t)j * c->ldc + (size_t)i] =
                    wt->vec_dot(c->k, c->w + (size_t)i * c->ldw, c->a + (size_t)j * lda);
    }
}

void lf_kernels_init_generic(lf_kernel_set *ks) {
    for (int t = 0; t < LF_TYPE_COUNT; t++) {
        const lf_type_traits *wt = lf_type_traits_of(t);
        const lf_type_traits *at = wt ? lf_type_traits_of(wt->vec_dot_type) : NULL;
        if (!wt || !wt->vec_dot || !at || !at->from_float)
            continue;
        ks->mm[t] = (lf_mm_kernel){
            .act_bytes = act_bytes, .act = act, .mm = mm, .row_align = 1,
        };
    }
}
