/* kernels.c — picks the kernel set once: the best level the CPU runs, or
 * the one LLAMAFILE_KERNELS names. */
#include "tensor/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "platform/cpu.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

enum {
    NEEDS_AVX2 = LF_CPU_AVX | LF_CPU_AVX2 | LF_CPU_FMA | LF_CPU_F16C,
    NEEDS_AVX512 = NEEDS_AVX2 | LF_CPU_AVX512F | LF_CPU_AVX512BW | LF_CPU_AVX512DQ |
                   LF_CPU_AVX512VL,
    NEEDS_VNNI = NEEDS_AVX512 | LF_CPU_AVX512_VNNI | LF_CPU_AVX512_BF16 | LF_CPU_AVX512_VBMI,
    NEEDS_DOTPROD = LF_CPU_NEON | LF_CPU_DOTPROD,
};

/* Best first. */
static lf_kernel_set g_sets[] = {
    {.name = "avx512vnni", .needs = NEEDS_VNNI, .init = lf_kernels_init_avx512vnni},
    {.name = "avx512", .needs = NEEDS_AVX512, .init = lf_kernels_init_avx512},
    {.name = "avx2", .needs = NEEDS_AVX2, .init = lf_kernels_init_avx2},
    {.name = "neon+dotprod", .needs = NEEDS_DOTPROD, .init = lf_kernels_init_neon_dotprod},
    {.name = "neon", .needs = LF_CPU_NEON, .init = lf_kernels_init_neon},
    {.name = "generic", .needs = 0, .init = lf_kernels_init_generic},
};
enum { N_SETS = sizeof g_sets / sizeof g_sets[0] };

static const lf_kernel_set *g_chosen;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static bool runnable(const lf_kernel_set *ks) {
#if defined(__x86_64__) || defined(__aarch64__)
    return (lf_cpu_flags() & ks->needs) == ks->needs;
#else
    return ks->needs == 0;
#endif
}

static void init(void) {
    for (int i = 0; i < N_SETS; i++)
        g_sets[i].init(&g_sets[i]);
    const char *want = getenv("LLAMAFILE_KERNELS");
    for (int i = 0; i < N_SETS && !g_chosen; i++)
        if (runnable(&g_sets[i]) && (!want || !*want || !strcmp(want, g_sets[i].name)))
            g_chosen = &g_sets[i];
    if (!g_chosen) /* an unknown or unusable name: the best set */
        for (int i = 0; i < N_SETS && !g_chosen; i++)
            if (runnable(&g_sets[i]))
                g_chosen = &g_sets[i];
}

const lf_kernel_set *lf_kernels(void) {
    pthread_once(&g_once, init);
    return g_chosen;
}

const lf_kernel_set *lf_kernels_named(const char *name) {
    pthread_once(&g_once, init);
    for (int i = 0; i < N_SETS; i++)
        if (!strcmp(name, g_sets[i].name))
            return runnable(&g_sets[i]) ? &g_sets[i] : NULL;
    return NULL;
}

const lf_mm_kernel *lf_kernels_for(const lf_kernel_set *ks, int type) {
    if (type < 0 || type >= LF_TYPE_COUNT)
        return NULL;
    if (ks && ks->mm[type].act_bytes)
        return &ks->mm[type];
    const lf_kernel_set *gen = &g_sets[N_SETS - 1];
    pthread_once(&g_once, init);
    return gen->mm[type].act_bytes ? &gen->mm[type] : NULL;
}

const char *lf_kernel_isa(void) {
    return lf_kernels()->name;
}

float lf_ssm_row_c(float *s, const float *b, const float *c, float a, float x, int n) {
    float lane[16] = {0};
    for (int k = 0; k < n; k++) {
        float v = s[k] * a + b[k] * x;
        s[k] = v;
        lane[k % 16] += v * c[k];
    }
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            lane[l] += lane[l + w];
    return lane[0];
}

void lf_swiglu_c(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void lf_f32_to_f16_c(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        dst[i] = lf_fp32_to_fp16(src[i]);
}
