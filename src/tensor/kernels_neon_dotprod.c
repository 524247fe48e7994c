/* kernels_neon_dotprod.c — the neon+dotprod kernel set: the NEON kernels
 * with the Armv8.2 int8 dot product (sdot), for CPUs whose hwcaps report
 * ASIMDDP (kernels_neon_impl.h). */
#include "tensor/kernels.h"

#if defined(__aarch64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif

#define LF_NEON_INIT lf_kernels_init_neon_dotprod
#define LF_NEON_DOTPROD 1
#include "tensor/kernels_neon_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
void lf_kernels_init_neon_dotprod(lf_kernel_set *ks) {
    (void)ks;
}
#endif
