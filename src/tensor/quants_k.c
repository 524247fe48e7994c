/* quants_k.c — K-quants (256-element super-blocks): Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K dequantization and dot products against Q8_K, and Q8_K itself.
 *
 * Layouts (spec/quants.md §2.3, §2.4), byte offsets in a super-block:
 *   Q2_K  scales[16]@0 qs[64]@16 d@80 dmin@82          16 sub-blocks of 16
 *   Q3_K  hmask[32]@0 qs[64]@32 scales[12]@96 d@108   16 sub-blocks of 16
 *   Q4_K  d@0 dmin@2 scales[12]@4 qs[128]@16           8 sub-blocks of 32
 *   Q5_K  d@0 dmin@2 scales[12]@4 qh[32]@16 qs[128]@48 8 sub-blocks of 32
 *   Q6_K  ql[128]@0 qh[64]@128 scales[16]@192 d@208    16 sub-blocks of 16
 *   Q8_K  d(f32)@0 qs[256]@4 bsums[16](i16)@260
 *
 * Each type has an unpack step giving the integer code of every element and
 * the integer scale (and min) of every sub-block; dequantization then applies
 * ggml's float expression per element and the dot product works on integer
 * sums. */
#include "tensor/blocks.h"

#include "tensor/quants.h"

/* ------------------------------------------------------------- unpacking */

/* 2-bit fields shared by Q2_K and Q3_K's low bits: element e sits in
 * qs[32·(e/128) + e%32] at bit 2·((e%128)/32). */
static void unpack_2bit(const uint8_t *qs, int8_t q[QK_K]) {
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)(qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32)) & 3);
}

static void unpack_q2_k(const uint8_t *b, int8_t q[QK_K], int sc[16], int mn[16]) {
    unpack_2bit(b + 16, q);
    for (int k = 0; k < 16; k++) {
        sc[k] = b[k] & 15;
        mn[k] = b[k] >> 4;
    }
}

static void unpack_q3_k(const uint8_t *b, int8_t q[QK_K], int sc[16]) {
    const uint8_t *hmask = b, *s = b + 96;
    unpack_2bit(b + 32, q);
    for (int e = 0; e < QK_K; e++) /* a clear high bit means -4 */
        if (!(hmask[e % 32] >> (e / 32) & 1))
            q[e] -= 4;
    for (int k = 0; k < 16; k++) {
        int lo = k < 8 ? s[k] & 15 : s[k - 8] >> 4;
        int hi = s[8 + k % 4] >> (2 * (k / 4)) & 3;
        sc[k] = (lo | hi << 4) - 32;
    }
}

/* Q4_K and Q5_K share the nibble layout: element e is in qs[32·(e/64) +
 * e%32], low nibble for the first 32 of each 64. */
static void unpack_q4_k(const uint8_t *b, int8_t q[QK_K], int sc[8], int mn[8]) {
    const uint8_t *qs = b + 16;
    for (int e = 0; e < QK_K; e++) {
        uint8_t byte = qs[32 * (e / 64) + e % 32];
        q[e] = (int8_t)(e % 64 < 32 ? byte & 15 : byte >> 4);
    }
    for (int j = 0; j < 8; j++)
        lf_k4_scale_min(b + 4, j, &sc[j], &mn[j]);
}

static void unpack_q5_k(const uint8_t *b, int8_t q[QK_K], int sc[8], int mn[8]) {
    const uint8_t *qh = b + 16, *qs = b + 48;
    for (int e = 0; e < QK_K; e++) {
        uint8_t byte = qs[32 * (e / 64) + e % 32];
        int lo = e % 64 < 32 ? byte & 15 : byte >> 4;
        q[e] = (int8_t)(lo | (qh[e % 32] >> (e / 32) & 1) << 4);
    }
    for (int j = 0; j < 8; j++)
        lf_k4_scale_min(b + 4, j, &sc[j], &mn[j]);
}

static void unpack_q6_k(const uint8_t *b, int8_t q[QK_K], int sc[16]) {
    const uint8_t *ql = b, *qh = b + 128;
    for (int e = 0; e < QK_K; e++) {
        int h = e / 128, k = e % 128 / 32, l = e % 32;
        uint8_t byte = ql[64 * h + l + 32 * (k & 1)];
        int lo = k < 2 ? byte & 15 : byte >> 4;
        int hi = qh[32 * h + l] >> (2 * k) & 3;
        q[e] = (int8_t)((lo | hi << 4) - 32);
    }
    for (int k = 0; k < 16; k++)
        sc[k] = (int8_t)b[192 + k];
}

/* ----------------------------------------------------------- dequantize */

void lf_dequant_q2_k(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    int8_t q[QK_K];
    int sc[16], mn[16];
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q2_K_BYTES, dst += QK_K) {
        const float d = lf_rd_half(b + 80), dmin = lf_rd_half(b + 82);
        unpack_q2_k(b, q, sc, mn);
        for (int k = 0; k < 16; k++) {
            const float dl = d * (float)sc[k], ml = dmin * (float)mn[k];
            for (int l = 16 * k; l < 16 * k + 16; l++)
                dst[l] = dl * (float)q[l] - ml;
        }
    }
}

void lf_dequant_q3_k(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    int8_t q[QK_K];
    int sc[16];
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q3_K_BYTES, dst += QK_K) {
        const float d = lf_rd_half(b + 108);
        unpack_q3_k(b, q, sc);
        for (int k = 0; k < 16; k++) {
            const float dl = d * (float)sc[k];
            for (int l = 16 * k; l < 16 * k + 16; l++)
                dst[l] = dl * (float)q[l];
        }
    }
}

/* Q4_K and Q5_K: y = (d·sc)·q − dmin·m, per sub-block of 32. */
static void dequant_k32(const uint8_t *b, const int8_t *q, const int *sc,
                        const int *mn, float *dst) {
    const float d = lf_rd_half(b), dmin = lf_rd_half(b + 2);
    for (int j = 0; j < 8; j++) {
        const float dl = d * (float)sc[j], ml = dmin * (float)mn[j];
        for (int l = 32 * j; l < 32 * j + 32; l++)
            dst[l] = dl * (float)q[l] - ml;
    }
}

void lf_dequant_q4_k(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    int8_t q[QK_K];
    int sc[8], mn[8];
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q4_K_BYTES, dst += QK_K) {
        unpack_q4_k(b, q, sc, mn);
        dequant_k32(b, q, sc, mn, dst);
    }
}

void lf_dequant_q5_k(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    int8_t q[QK_K];
    int sc[8], mn[8];
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q5_K_BYTES, dst += QK_K) {
        unpack_q5_k(b, q, sc, mn);
        dequant_k32(b, q, sc, mn, dst);
    }
}

void lf_dequant_q6_k(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    int8_t q[QK_K];
    int sc[16];
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q6_K_BYTES, dst += QK_K) {
        const float d = lf_rd_half(b + 208);
        unpack_q6_k(b, q, sc);
        for (int e = 0; e < QK_K; e++) /* ggml: (d·sc)·q, no hoisting */
            dst[e] = d * (float)sc[e / 16] * (float)q[e];
    }
}

void lf_dequant_q8_k(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q8_K_BYTES, dst += QK_K) {
        const float d = lf_rd_f32(b);
        for (int e = 0; e < QK_K; e++)
            dst[e] = d * (float)(int8_t)b[4 + e];
    }
}

/* ---------------------------------------------------------- dot products */

/* Σ_k sc[k] · Σ_{i in sub-block k} q_i·a_i, sub-blocks of len elements. */
static int scaled_isum(const int8_t *q, const uint8_t *a8, const int *sc,
                       int nsub, int len) {
    const int8_t *a = (const int8_t *)a8;
    int isum = 0;
    for (int k = 0; k < nsub; k++) {
        int s = 0;
        for (int l = k * len; l < k * len + len; l++)
            s += q[l] * a[l];
        isum += sc[k] * s;
    }
    return isum;
}

static inline int bsum(const uint8_t *a, int k) {
    return lf_rd_i16(a + 260 + 2 * k);
}

/* The mins never enter the inner loop: Σ_i m·a_i over a sub-block is m times
 * the activation's stored block sums (16 elements each). */
float lf_dot_q2_k_q8_k(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    int8_t q[QK_K];
    int sc[16], mn[16];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++, x += LF_Q2_K_BYTES, y += LF_Q8_K_BYTES) {
        unpack_q2_k(x, q, sc, mn);
        int isum = scaled_isum(q, y + 4, sc, 16, 16);
        int msum = 0;
        for (int k = 0; k < 16; k++)
            msum += mn[k] * bsum(y, k);
        const float da = lf_rd_f32(y);
        sum += da * lf_rd_half(x + 80) * (float)isum -
               da * lf_rd_half(x + 82) * (float)msum;
    }
    return sum;
}

float lf_dot_q3_k_q8_k(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    int8_t q[QK_K];
    int sc[16];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++, x += LF_Q3_K_BYTES, y += LF_Q8_K_BYTES) {
        unpack_q3_k(x, q, sc);
        int isum = scaled_isum(q, y + 4, sc, 16, 16);
        sum += lf_rd_half(x + 108) * lf_rd_f32(y) * (float)isum;
    }
    return sum;
}

/* Q4_K / Q5_K: d_w·d_a·Σ sc_j·Σ q·a − dmin·d_a·Σ m_j·(bsums 2j and 2j+1). */
static float dot_k32(const uint8_t *x, const uint8_t *y, const int8_t *q,
                     const int *sc, const int *mn) {
    int isum = scaled_isum(q, y + 4, sc, 8, 32);
    int msum = 0;
    for (int j = 0; j < 8; j++)
        msum += mn[j] * (bsum(y, 2 * j) + bsum(y, 2 * j + 1));
    const float da = lf_rd_f32(y);
    return lf_rd_half(x) * da * (float)isum - lf_rd_half(x + 2) * da * (float)msum;
}

float lf_dot_q4_k_q8_k(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    int8_t q[QK_K];
    int sc[8], mn[8];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++, x += LF_Q4_K_BYTES, y += LF_Q8_K_BYTES) {
        unpack_q4_k(x, q, sc, mn);
        sum += dot_k32(x, y, q, sc, mn);
    }
    return sum;
}

float lf_dot_q5_k_q8_k(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    int8_t q[QK_K];
    int sc[8], mn[8];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++, x += LF_Q5_K_BYTES, y += LF_Q8_K_BYTES) {
        unpack_q5_k(x, q, sc, mn);
        sum += dot_k32(x, y, q, sc, mn);
    }
    return sum;
}

float lf_dot_q6_k_q8_k(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    int8_t q[QK_K];
    int sc[16];
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++, x += LF_Q6_K_BYTES, y += LF_Q8_K_BYTES) {
        unpack_q6_k(x, q, sc);
        int isum = scaled_isum(q, y + 4, sc, 16, 16);
        sum += lf_rd_half(x + 208) * lf_rd_f32(y) * (float)isum;
    }
    return sum;
}
