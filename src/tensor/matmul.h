/* matmul.h — the matrix product of a weight matrix of any supported type
 * with a batch of float activation rows (lf_matmul is declared in ops.h),
 * and the same with an explicit kernel set, for tests and benchmarks. */
#ifndef LF_TENSOR_MATMUL_H
#define LF_TENSOR_MATMUL_H

#include "tensor/kernels.h"
#include "tensor/ops.h"

bool lf_matmul_with(const lf_kernel_set *ks, lf_pool *pool, lf_scratch *scratch, float *out,
                    const lf_weight *W, int64_t slice, const float *x, int64_t n_rows,
                    lf_error *err);
/* lf_matmul_many with a kernel set and a slice per product (NULL: 0). */
bool lf_matmul_many_with(const lf_kernel_set *ks, lf_pool *pool, lf_scratch *scratch, int count,
                         float *const *outs, const lf_weight *const *Ws, const int64_t *slices,
                         const float *x, int64_t n_rows, lf_error *err);

#endif
