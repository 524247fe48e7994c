/* quants_iq.c — non-linear 4-bit types: IQ4_NL, IQ4_XS and MXFP4.
 *
 * Layouts (spec/quants.md §2.5, §2.8), byte offsets in a block:
 *   IQ4_NL  d@0 qs[16]@2                           32 elements
 *   IQ4_XS  d@0 scales_h(u16)@2 scales_l[4]@4 qs[128]@8   256 = 8 × 32
 *   MXFP4   e(E8M0)@0 qs[16]@1                     32 elements
 * All use the Q4_0 nibble order within 32 elements: byte j holds element j
 * (low nibble) and j+16 (high nibble); the nibble indexes a value table. */
#include "tensor/blocks.h"

#include <math.h>

#include "tensor/quants.h"

static const int8_t k_iq4nl[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* E2M1 values times two; codes 8-15 are the negatives of 0-7. */
static const int8_t k_fp4[16] = {
    0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
};

/* Half the E8M0 scale, 2^(e-128), because k_fp4 is doubled. e = 0 and 1 give
 * the subnormals 2^-128 and 2^-127; e = 255 (NaN in OCP) is not special. */
static inline float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    return lf_f32_from_bits(bits);
}

/* The table value of element j of a 32-element nibble block. */
static inline int nib_value(const int8_t *table, const uint8_t *qs, int j) {
    return table[j < 16 ? qs[j] & 15 : qs[j - 16] >> 4];
}

/* ------------------------------------------------------------- dequantize */

void lf_dequant_iq4_nl(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_IQ4_NL_BYTES, dst += QK32) {
        const float d = lf_rd_half(b);
        for (int j = 0; j < QK32; j++)
            dst[j] = d * (float)nib_value(k_iq4nl, b + 2, j);
    }
}

/* The 6-bit scale (offset 32) of IQ4_XS sub-block ib. */
static inline int iq4_xs_scale(const uint8_t *b, int ib) {
    int lo = b[4 + ib / 2] >> (4 * (ib % 2)) & 15;
    int hi = lf_rd_u16(b + 2) >> (2 * ib) & 3;
    return (lo | hi << 4) - 32;
}

void lf_dequant_iq4_xs(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_IQ4_XS_BYTES) {
        const float d = lf_rd_half(b);
        for (int ib = 0; ib < 8; ib++, dst += 32) {
            const float dl = d * (float)iq4_xs_scale(b, ib);
            for (int j = 0; j < 32; j++)
                dst[j] = dl * (float)nib_value(k_iq4nl, b + 8 + 16 * ib, j);
        }
    }
}

void lf_dequant_mxfp4(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_MXFP4_BYTES, dst += QK32) {
        const float d = e8m0_half(b[0]);
        for (int j = 0; j < QK32; j++)
            dst[j] = (float)nib_value(k_fp4, b + 1, j) * d;
    }
}

/* --------------------------------------------------------------- quantize */

/* ggml's quantize_row_mxfp4_ref: the shared exponent puts amax in the top
 * binade (floor(log2 amax) − 2), then each value takes the nearest table
 * entry (the first one on ties). */
void lf_quant_mxfp4(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_MXFP4_BYTES, src += QK32) {
        float amax = 0;
        for (int j = 0; j < QK32; j++)
            if (amax < fabsf(src[j]))
                amax = fabsf(src[j]);
        const uint8_t e =
            amax > 0 ? (uint8_t)lf_trunc_i32(floorf(log2f(amax)) - 2 + 127) : 0;
        const float d = e8m0_half(e);
        b[0] = e;
        uint8_t code[QK32];
        for (int j = 0; j < QK32; j++) {
            int best = 0;
            float best_err = fabsf((float)k_fp4[0] * d - src[j]);
            for (int c = 1; c < 16; c++) {
                float err = fabsf((float)k_fp4[c] * d - src[j]);
                if (err < best_err) {
                    best = c;
                    best_err = err;
                }
            }
            code[j] = (uint8_t)best;
        }
        for (int j = 0; j < 16; j++)
            b[1 + j] = (uint8_t)(code[j] | code[j + 16] << 4);
    }
}

/* ----------------------------------------------------------- dot products */

static int nib_dot(const int8_t *table, const uint8_t *qs, const int8_t *a) {
    int s = 0;
    for (int j = 0; j < 32; j++)
        s += nib_value(table, qs, j) * a[j];
    return s;
}

float lf_dot_iq4_nl_q8_0(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_IQ4_NL_BYTES, y += LF_Q8_0_BYTES) {
        int isum = nib_dot(k_iq4nl, x + 2, (const int8_t *)(y + 2));
        sum += lf_rd_half(x) * lf_rd_half(y) * (float)isum;
    }
    return sum;
}

float lf_dot_mxfp4_q8_0(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_MXFP4_BYTES, y += LF_Q8_0_BYTES) {
        int isum = nib_dot(k_fp4, x + 1, (const int8_t *)(y + 2));
        sum += e8m0_half(x[0]) * lf_rd_half(y) * (float)isum;
    }
    return sum;
}

float lf_dot_iq4_xs_q8_k(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++, x += LF_IQ4_XS_BYTES, y += LF_Q8_K_BYTES) {
        const int8_t *ya = (const int8_t *)(y + 4);
        int isum = 0;
        for (int ib = 0; ib < 8; ib++)
            isum += iq4_xs_scale(x, ib) * nib_dot(k_iq4nl, x + 8 + 16 * ib, ya + 32 * ib);
        sum += lf_rd_half(x) * lf_rd_f32(y) * (float)isum;
    }
    return sum;
}
