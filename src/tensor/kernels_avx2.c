/* kernels_avx2.c — the avx2 kernel set: AVX2 + FMA + F16C (Haswell and later, Zen 1-3). */
#include "tensor/kernels.h"

#if defined(__x86_64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,bmi2")
#endif

#define LF_INIT_NAME lf_kernels_init_avx2
#include "tensor/kernels_avx2_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
void lf_kernels_init_avx2(lf_kernel_set *ks) {
    (void)ks;
}
#endif
