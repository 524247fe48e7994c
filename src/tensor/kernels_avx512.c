/* kernels_avx512.c — the avx512 kernel set: AVX-512 F/BW/VL/DQ without VNNI (Skylake-X): the 256-bit kernels
 * of kernels_avx2_impl.h compiled with EVEX encodings and 32 registers. */
#include "tensor/kernels.h"

#if defined(__x86_64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,bmi2")
#endif

#define LF_INIT_NAME lf_kernels_init_avx512
#include "tensor/kernels_avx2_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
void lf_kernels_init_avx512(lf_kernel_set *ks) {
    (void)ks;
}
#endif
