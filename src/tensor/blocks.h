/* blocks.h — private helpers shared by the scalar kernels: block geometry,
 * little-endian field access at any alignment, and ggml's rounding helper.
 *
 * Blocks inside a tensor are only 1- or 2-byte aligned (18-, 17-, 34-byte
 * blocks), so no kernel ever casts block bytes to a struct or a wider type:
 * fields are assembled from bytes. */
#ifndef LF_TENSOR_BLOCKS_H
#define LF_TENSOR_BLOCKS_H

/* The reference kernels must round exactly like ggml's C code (compiled
 * without FMA): forbid the compiler from fusing a*b+c into one fma, which
 * it would otherwise do whenever the target has FMA (-march=native). This
 * header comes first in every kernel file so that everything after it,
 * inline helpers included, is compiled the same way. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <stdint.h>
#include <string.h>

#include "llamafile.h"
#include "tensor/fp16.h"

#define QK32 32  /* legacy blocks, IQ4_NL, MXFP4 */
#define QK_K 256 /* K-quant super-blocks, IQ4_XS, Q8_K */

/* Block sizes in bytes (spec/quants.md §2). */
enum {
    LF_Q4_0_BYTES = 18,
    LF_Q4_1_BYTES = 20,
    LF_Q5_0_BYTES = 22,
    LF_Q5_1_BYTES = 24,
    LF_Q8_0_BYTES = 34,
    LF_Q8_1_BYTES = 36,
    LF_Q2_K_BYTES = 84,
    LF_Q3_K_BYTES = 110,
    LF_Q4_K_BYTES = 144,
    LF_Q5_K_BYTES = 176,
    LF_Q6_K_BYTES = 210,
    LF_Q8_K_BYTES = 292,
    LF_IQ4_NL_BYTES = 18,
    LF_IQ4_XS_BYTES = 136,
    LF_MXFP4_BYTES = 17,
};

/* Bytes per block of a block-quantized weight type (0 for others); a
 * constant once inlined with a constant type. */
static inline int lf_block_bytes(int type) {
    switch (type) {
    case LF_TYPE_Q4_0: return LF_Q4_0_BYTES;
    case LF_TYPE_Q4_1: return LF_Q4_1_BYTES;
    case LF_TYPE_Q5_0: return LF_Q5_0_BYTES;
    case LF_TYPE_Q5_1: return LF_Q5_1_BYTES;
    case LF_TYPE_Q8_0: return LF_Q8_0_BYTES;
    case LF_TYPE_IQ4_NL: return LF_IQ4_NL_BYTES;
    case LF_TYPE_MXFP4: return LF_MXFP4_BYTES;
    case LF_TYPE_Q2_K: return LF_Q2_K_BYTES;
    case LF_TYPE_Q3_K: return LF_Q3_K_BYTES;
    case LF_TYPE_Q4_K: return LF_Q4_K_BYTES;
    case LF_TYPE_Q5_K: return LF_Q5_K_BYTES;
    case LF_TYPE_Q6_K: return LF_Q6_K_BYTES;
    case LF_TYPE_IQ4_XS: return LF_IQ4_XS_BYTES;
    default: return 0;
    }
}

static inline uint16_t lf_rd_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t lf_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline int16_t lf_rd_i16(const uint8_t *p) {
    return (int16_t)lf_rd_u16(p);
}

static inline float lf_rd_f32(const uint8_t *p) {
    return lf_f32_from_bits(lf_rd_u32(p));
}

/* An fp16 field, as float. */
static inline float lf_rd_half(const uint8_t *p) {
    return lf_fp16_to_fp32(lf_rd_u16(p));
}

static inline void lf_wr_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void lf_wr_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

static inline void lf_wr_f32(uint8_t *p, float f) {
    lf_wr_u32(p, lf_f32_bits(f));
}

static inline void lf_wr_half(uint8_t *p, float f) {
    lf_wr_u16(p, lf_fp32_to_fp16(f));
}

/* ggml's nearest_int: adding 1.5*2^23 leaves round-to-nearest-even(x) in the
 * low mantissa bits. Exact for |x| < 2^22; larger inputs give the same
 * (meaningless, but deterministic and UB-free) result as ggml's. */
static inline int lf_nearest_int(float x) {
    uint32_t u = lf_f32_bits(x + 12582912.0f);
    return (int)(u & 0x7fffff) - 0x400000;
}

/* float -> int the way ggml's casts behave on x86 (truncation through a
 * 32-bit cvttss2si; NaN and out-of-range give INT32_MIN) but without the
 * undefined behaviour of a C cast of an out-of-range float. Casting the
 * result to int8_t/uint8_t then keeps the low byte, as x86 code does. */
static inline int32_t lf_trunc_i32(float v) {
    if (!(v >= -2147483648.0f && v < 2147483648.0f))
        return INT32_MIN;
    return (int32_t)v;
}

/* The 6-bit scale j and 6-bit min j of a Q4_K/Q5_K super-block, packed in
 * 12 bytes: bytes 0-3 low 6 bits of scales 0-3, 4-7 of mins 0-3; the top two
 * bits of those bytes and the nibbles of bytes 8-11 hold scales/mins 4-7. */
static inline void lf_k4_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

#endif
