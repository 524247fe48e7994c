/* kernels_neon.c — the neon kernel set: Advanced SIMD, which every aarch64
 * CPU has (kernels_neon_impl.h). */
#include "tensor/kernels.h"

#if defined(__aarch64__)
#define LF_NEON_INIT lf_kernels_init_neon
#include "tensor/kernels_neon_impl.h"
#else
void lf_kernels_init_neon(lf_kernel_set *ks) {
    (void)ks;
}
#endif
