/* cpu.h — the CPU features kernels may dispatch on. */
#ifndef LF_PLATFORM_CPU_H
#define LF_PLATFORM_CPU_H

#include <stdint.h>

enum {
    LF_CPU_SSE3 = 1u << 0,
    LF_CPU_SSSE3 = 1u << 1,
    LF_CPU_SSE4_1 = 1u << 2,
    LF_CPU_SSE4_2 = 1u << 3,
    LF_CPU_AVX = 1u << 4,
    LF_CPU_AVX2 = 1u << 5,
    LF_CPU_FMA = 1u << 6,
    LF_CPU_F16C = 1u << 7,
    LF_CPU_AVX_VNNI = 1u << 8,
    LF_CPU_AVX512F = 1u << 9,
    LF_CPU_AVX512BW = 1u << 10,
    LF_CPU_AVX512DQ = 1u << 11,
    LF_CPU_AVX512VL = 1u << 12,
    LF_CPU_AVX512_VBMI = 1u << 13,
    LF_CPU_AVX512_VNNI = 1u << 14,
    LF_CPU_AVX512_BF16 = 1u << 15,
    LF_CPU_AVX512_FP16 = 1u << 16,
    LF_CPU_NEON = 1u << 17,
    LF_CPU_DOTPROD = 1u << 18,
};

/* The features the CPU has and the OS saves the registers of (AVX and
 * AVX-512 need both); computed once. */
uint32_t lf_cpu_flags(void);

#endif
