/* fp16.h — exact conversions between float32 and the 16-bit float formats
 * (IEEE binary16 "fp16" and bfloat16), done on bit patterns so the result
 * does not depend on the compiler, the FPU mode or the CPU's F16C support. */
#ifndef LF_TENSOR_FP16_H
#define LF_TENSOR_FP16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t lf_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float lf_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* binary16 -> binary32. Every half is exactly representable as a float. */
static inline float lf_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in float */
        float v = (float)mant * 0x1p-24f;
        return lf_f32_from_bits(sign | lf_f32_bits(v));
    }
    if (exp == 31) /* inf / nan (payload kept) */
        return lf_f32_from_bits(sign | 0x7f800000u | mant << 13);
    return lf_f32_from_bits(sign | (exp + 112) << 23 | mant << 13);
}

/* binary32 -> binary16, round to nearest even; overflow gives inf, NaN stays
 * a quiet NaN with the top of its payload (as x86's vcvtps2ph does). */
static inline uint16_t lf_fp32_to_fp16(float f) {
    uint32_t x = lf_f32_bits(f);
    uint16_t sign = (uint16_t)(x >> 16 & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00 | (ax >> 13 & 0x3ff));
    if (ax >= 0x477ff000u) /* >= 65520 rounds to inf (and inf itself) */
        return (uint16_t)(sign | 0x7c00);
    if (ax >= 0x38800000u) { /* normal half: >= 2^-14 */
        uint32_t r = ax - (112u << 23);
        r += 0xfff + (r >> 13 & 1); /* a carry may bump the exponent: fine */
        return (uint16_t)(sign | r >> 13);
    }
    uint32_t e = ax >> 23;
    if (e < 102) /* below 2^-25: rounds to zero */
        return sign;
    /* subnormal half: m = value / 2^-24 rounded to nearest even; m may
     * reach 1024, which is exactly the encoding of the smallest normal */
    uint32_t mant = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t m = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (m & 1)))
        m++;
    return (uint16_t)(sign | m);
}

static inline float lf_bf16_to_fp32(uint16_t h) {
    return lf_f32_from_bits((uint32_t)h << 16);
}

/* float32 -> bfloat16: round to nearest even, NaN forced quiet, subnormals
 * kept (spec/quants.md §2.1). */
static inline uint16_t lf_fp32_to_bf16(float f) {
    uint32_t u = lf_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(u >> 16 | 0x40);
    return (uint16_t)((u + 0x7fff + (u >> 16 & 1)) >> 16);
}

#endif
