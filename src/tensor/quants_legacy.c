/* quants_legacy.c — 32-element blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
 *
 * Layouts (spec/quants.md §2.2), byte offsets in a block:
 *   Q4_0  d@0 qs[16]@2          Q4_1  d@0 m@2 qs[16]@4
 *   Q5_0  d@0 qh[4]@2 qs[16]@6  Q5_1  d@0 m@2 qh[4]@4 qs[16]@8
 *   Q8_0  d@0 qs[32]@2          Q8_1  d@0 s@2 qs[32]@4
 * 4-bit byte qs[j] holds element j (low nibble) and j+16 (high nibble); bit
 * j of qh is the fifth bit of element j.
 *
 * Dequantizers use ggml's float expressions (q*d, q*d + m) so results are
 * bit-identical; quantizers follow quantize_row_*_ref. */
#include "tensor/blocks.h"

#include <float.h>
#include <math.h>

#include "tensor/quants.h"

/* ----------------------------------------------------------- dequantize */

void lf_dequant_q4_0(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q4_0_BYTES, dst += QK32) {
        const float d = lf_rd_half(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)((qs[j] & 15) - 8) * d;
            dst[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

void lf_dequant_q4_1(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q4_1_BYTES, dst += QK32) {
        const float d = lf_rd_half(b), m = lf_rd_half(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(qs[j] & 15) * d + m;
            dst[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

/* The 5-bit code of element j (0..31) of a Q5 block. */
static inline int q5_code(const uint8_t *qs, uint32_t qh, int j) {
    int lo = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
    return lo | (int)(qh >> j & 1) << 4;
}

void lf_dequant_q5_0(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q5_0_BYTES, dst += QK32) {
        const float d = lf_rd_half(b);
        const uint32_t qh = lf_rd_u32(b + 2);
        for (int j = 0; j < QK32; j++)
            dst[j] = (float)(q5_code(b + 6, qh, j) - 16) * d;
    }
}

void lf_dequant_q5_1(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q5_1_BYTES, dst += QK32) {
        const float d = lf_rd_half(b), m = lf_rd_half(b + 2);
        const uint32_t qh = lf_rd_u32(b + 4);
        for (int j = 0; j < QK32; j++)
            dst[j] = (float)q5_code(b + 8, qh, j) * d + m;
    }
}

void lf_dequant_q8_0(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q8_0_BYTES, dst += QK32) {
        const float d = lf_rd_half(b);
        for (int j = 0; j < QK32; j++)
            dst[j] = (float)(int8_t)b[2 + j] * d;
    }
}

void lf_dequant_q8_1(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q8_1_BYTES, dst += QK32) {
        const float d = lf_rd_half(b);
        for (int j = 0; j < QK32; j++)
            dst[j] = (float)(int8_t)b[4 + j] * d;
    }
}

/* ------------------------------------------------------------- quantize */

/* The value of largest magnitude (the first one on ties), with its sign. */
static float signed_absmax(const float *x, int n) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo)
            lo = x[j];
        if (x[j] > hi)
            hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

static inline int min_int(int a, int b) {
    return a < b ? a : b;
}

void lf_quant_q4_0(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q4_0_BYTES, src += QK32) {
        const float d = signed_absmax(src, QK32) / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        lf_wr_half(b, d);
        for (int j = 0; j < 16; j++) {
            uint8_t lo = (uint8_t)min_int(15, (int8_t)lf_trunc_i32(src[j] * id + 8.5f));
            uint8_t hi = (uint8_t)min_int(15, (int8_t)lf_trunc_i32(src[j + 16] * id + 8.5f));
            b[2 + j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void lf_quant_q4_1(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q4_1_BYTES, src += QK32) {
        float mn, mx;
        min_max(src, QK32, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        lf_wr_half(b, d);
        lf_wr_half(b + 2, mn);
        for (int j = 0; j < 16; j++) {
            uint8_t lo = (uint8_t)min_int(15, (int8_t)lf_trunc_i32((src[j] - mn) * id + 0.5f));
            uint8_t hi = (uint8_t)min_int(15, (int8_t)lf_trunc_i32((src[j + 16] - mn) * id + 0.5f));
            b[4 + j] = (uint8_t)(lo | hi << 4);
        }
    }
}

/* Packs 32 five-bit codes into qh (LE u32) and qs[16]. */
static void pack_q5(const int *q, uint8_t *qh, uint8_t *qs) {
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4);
        h |= (uint32_t)(q[j] >> 4 & 1) << j;
        h |= (uint32_t)(q[j + 16] >> 4 & 1) << (j + 16);
    }
    lf_wr_u32(qh, h);
}

void lf_quant_q5_0(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q5_0_BYTES, src += QK32) {
        const float d = signed_absmax(src, QK32) / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        int q[QK32];
        for (int j = 0; j < QK32; j++)
            q[j] = (uint8_t)min_int(31, (int8_t)lf_trunc_i32(src[j] * id + 16.5f));
        lf_wr_half(b, d);
        pack_q5(q, b + 2, b + 6);
    }
}

void lf_quant_q5_1(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q5_1_BYTES, src += QK32) {
        float mn, mx;
        min_max(src, QK32, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        int q[QK32];
        for (int j = 0; j < QK32; j++) /* the reference does not clamp here */
            q[j] = (uint8_t)lf_trunc_i32((src[j] - mn) * id + 0.5f);
        lf_wr_half(b, d);
        lf_wr_half(b + 2, mn);
        pack_q5(q, b + 4, b + 8);
    }
}

/* Q8_0 and Q8_1 share d = amax/127 and q = roundf(x/d) (half away from 0);
 * returns d and the sum of the codes. */
static float quant_q8_block(const float *x, uint8_t *qs, int *sum) {
    float amax = 0;
    for (int j = 0; j < QK32; j++)
        amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    int s = 0;
    for (int j = 0; j < QK32; j++) {
        int8_t q = (int8_t)lf_trunc_i32(roundf(x[j] * id));
        qs[j] = (uint8_t)q;
        s += q;
    }
    *sum = s;
    return d;
}

void lf_quant_q8_0(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q8_0_BYTES, src += QK32) {
        int sum;
        lf_wr_half(b, quant_q8_block(src, b + 2, &sum));
    }
}

void lf_quant_q8_1(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, b += LF_Q8_1_BYTES, src += QK32) {
        int sum;
        const float d = quant_q8_block(src, b + 4, &sum);
        lf_wr_half(b, d);
        lf_wr_half(b + 2, (float)sum * d);
    }
}

/* ---------------------------------------------------------- dot products */

/* Σ_b (d_w·d_a)·Σ_i w_i·a_i with exact integer inner sums. */

float lf_dot_q4_0_q8_0(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_Q4_0_BYTES, y += LF_Q8_0_BYTES) {
        const int8_t *ya = (const int8_t *)(y + 2);
        int isum = 0;
        for (int j = 0; j < 16; j++)
            isum += ((x[2 + j] & 15) - 8) * ya[j] + ((x[2 + j] >> 4) - 8) * ya[j + 16];
        sum += lf_rd_half(x) * lf_rd_half(y) * (float)isum;
    }
    return sum;
}

float lf_dot_q4_1_q8_1(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_Q4_1_BYTES, y += LF_Q8_1_BYTES) {
        const int8_t *ya = (const int8_t *)(y + 4);
        int isum = 0;
        for (int j = 0; j < 16; j++)
            isum += (x[4 + j] & 15) * ya[j] + (x[4 + j] >> 4) * ya[j + 16];
        /* the min term: m_w · (d_a·Σa), the latter stored in the Q8_1 block */
        sum += lf_rd_half(x) * lf_rd_half(y) * (float)isum +
               lf_rd_half(x + 2) * lf_rd_half(y + 2);
    }
    return sum;
}

float lf_dot_q5_0_q8_0(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_Q5_0_BYTES, y += LF_Q8_0_BYTES) {
        const int8_t *ya = (const int8_t *)(y + 2);
        const uint32_t qh = lf_rd_u32(x + 2);
        int isum = 0;
        for (int j = 0; j < QK32; j++)
            isum += (q5_code(x + 6, qh, j) - 16) * ya[j];
        sum += lf_rd_half(x) * lf_rd_half(y) * (float)isum;
    }
    return sum;
}

float lf_dot_q5_1_q8_1(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_Q5_1_BYTES, y += LF_Q8_1_BYTES) {
        const int8_t *ya = (const int8_t *)(y + 4);
        const uint32_t qh = lf_rd_u32(x + 4);
        int isum = 0;
        for (int j = 0; j < QK32; j++)
            isum += q5_code(x + 8, qh, j) * ya[j];
        sum += lf_rd_half(x) * lf_rd_half(y) * (float)isum +
               lf_rd_half(x + 2) * lf_rd_half(y + 2);
    }
    return sum;
}

float lf_dot_q8_0_q8_0(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, x += LF_Q8_0_BYTES, y += LF_Q8_0_BYTES) {
        int isum = 0;
        for (int j = 0; j < QK32; j++)
            isum += (int8_t)x[2 + j] * (int8_t)y[2 + j];
        sum += lf_rd_half(x) * lf_rd_half(y) * (float)isum;
    }
    return sum;
}
