/* quants_iq_quantize.c — quantizers for the non-linear 4-bit types IQ4_NL
 * and IQ4_XS. They reproduce what llama-quantize writes without an
 * importance matrix (ggml's quantize_iq4_nl / quantize_iq4_xs: weights x²,
 * 7 extra scale trials each way) to the bit. Note that ggml's
 * quantize_row_iq4_nl_ref (used for activations, not for model files) skips
 * those trials; this file does not provide that variant. Layouts:
 * quants_iq.c and spec/quants.md §2.5. */
#include "tensor/blocks.h"

#include <math.h>

#include "tensor/quants.h"

#define GROUP_MAX_EPS 1e-15f
#define NTRY 7

static const int8_t k_values[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* Index of the table value nearest x; on a tie the upper one, as ggml. */
static int best_index(float x) {
    if (x <= k_values[0])
        return 0;
    if (x >= k_values[15])
        return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < k_values[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - k_values[hi - 1] < k_values[hi] - x ? hi - 1 : hi;
}

/* Best scale for 32 values under weights x²: starts from d = max/127 (the
 * extreme value maps to the table's end), refits by least squares, then
 * tries the inverse scales (t - 127)/max for t in [-7, 7]. The caller
 * recomputes the codes from the scale it stores. */
static float fit_block(const float *x) {
    float w[32];
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++) {
        w[j] = x[j] * x[j];
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    if (amax < GROUP_MAX_EPS)
        return 0;
    float d = -max / k_values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        float q = k_values[best_index(id * x[j])];
        sumqx += w[j] * q * x[j];
        sumq2 += w[j] * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -NTRY; itry <= NTRY; itry++) {
        id = (itry + k_values[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            float q = k_values[best_index(id * x[j])];
            sumqx += w[j] * q * x[j];
            sumq2 += w[j] * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* Byte j of a 32-element group holds element j (low) and j + 16 (high). */
static void pack_nibbles(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
}

/* ---------------------------------------------------------------- IQ4_NL */

void lf_quant_iq4_nl(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    uint8_t L[32];
    for (int64_t i = 0; i < n / QK32; i++, b += LF_IQ4_NL_BYTES, src += QK32) {
        float d = fit_block(src);
        lf_wr_half(b, d);
        float id = d ? 1 / d : 0;
        for (int j = 0; j < 32; j++)
            L[j] = (uint8_t)best_index(id * src[j]);
        pack_nibbles(L, b + 2);
    }
}

/* ---------------------------------------------------------------- IQ4_XS */

/* Layout: d@0, scales_h (u16)@2, scales_l[4]@4, qs[128]@8. Sub-block ib's
 * 6-bit scale (stored + 32): nibble ib%2 of scales_l[ib/2], two bits at
 * 2·ib of scales_h. */
static void quant_iq4_xs_block(const float *x, uint8_t *b) {
    uint8_t L[QK_K];
    float scales[8];
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < 8; ib++) {
        scales[ib] = fit_block(x + 32 * ib);
        if (fabsf(scales[ib]) > amax_scale) {
            amax_scale = fabsf(scales[ib]);
            max_scale = scales[ib];
        }
    }
    /* the super-block scale: unrounded d is used for the codes, as in ggml */
    const float d = -max_scale / 32;
    lf_wr_half(b, d);
    const float id = d ? 1 / d : 0.f;
    uint16_t scales_h = 0;
    uint8_t *scales_l = b + 4;
    for (int ib = 0; ib < 8; ib++) {
        int l = lf_nearest_int(id * scales[ib]);
        l = l < -32 ? -32 : l > 31 ? 31 : l;
        const float dl = d * l;
        const float idl = dl ? 1 / dl : 0.f;
        for (int j = 0; j < 32; j++)
            L[32 * ib + j] = (uint8_t)best_index(idl * x[32 * ib + j]);
        l += 32;
        if (ib % 2 == 0)
            scales_l[ib / 2] = (uint8_t)(l & 15);
        else
            scales_l[ib / 2] = (uint8_t)(scales_l[ib / 2] | (l & 15) << 4);
        scales_h = (uint16_t)(scales_h | (l >> 4) << (2 * ib));
    }
    lf_wr_u16(b + 2, scales_h);
    for (int ib = 0; ib < 8; ib++)
        pack_nibbles(L + 32 * ib, b + 8 + 16 * ib);
}

void lf_quant_iq4_xs(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_IQ4_XS_BYTES, src += QK_K)
        quant_iq4_xs_block(src, b);
}
