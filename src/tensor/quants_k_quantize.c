/* quants_k_quantize.c — reference quantizers for Q4_K, Q6_K (weights) and
 * Q8_K (activations). They reproduce ggml's quantize_row_*_ref (no
 * importance matrix) to the bit: same search, same float expression order,
 * same ties. Layouts: see quants_k.c. */
#include "tensor/blocks.h"

#include <math.h>

#include "tensor/quants.h"

#define GROUP_MAX_EPS 1e-15f

static inline int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* ----------------------------------------------------------------- Q8_K */

void lf_quant_q8_k(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q8_K_BYTES, src += QK_K) {
        float amax = 0, max = 0;
        for (int e = 0; e < QK_K; e++) {
            if (fabsf(src[e]) > amax) {
                amax = fabsf(src[e]);
                max = src[e];
            }
        }
        memset(b, 0, LF_Q8_K_BYTES);
        if (amax == 0)
            continue;
        /* -127, not -128: codes stay in [-127, 127] (SIMD relies on it);
         * d is negative when the extreme value is positive. */
        const float iscale = -127.f / max;
        for (int e = 0; e < QK_K; e++) {
            int v = lf_nearest_int(iscale * src[e]);
            b[4 + e] = (uint8_t)(int8_t)(v < 127 ? v : 127);
        }
        for (int k = 0; k < 16; k++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += (int8_t)b[4 + 16 * k + l];
            lf_wr_u16(b + 260 + 2 * k, (uint16_t)(int16_t)s);
        }
        lf_wr_f32(b, 1 / iscale);
    }
}

/* ----------------------------------------------------------------- Q4_K */

/* ggml's make_qkx2_quants for Q4_K (nmax 15, 32 values, squared error):
 * fits x ≈ scale·L − min with L in [0, nmax], trying 21 candidate inverse
 * scales and a weighted least-squares (scale, min) for each. Writes the
 * codes to L and min (≥ 0) to *the_min; returns the scale. */
static float fit_scale_min(const float *x, const float *w, uint8_t *L,
                           float *the_min) {
    enum { N = 32, NMAX = 15, NSTEP = 20 };
    const float rmin = -1.f, rdelta = 0.1f;
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < N; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(L, 0, N);
        *the_min = -min;
        return 0.f;
    }
    float iscale = NMAX / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < N; i++) {
        L[i] = (uint8_t)clamp_int(lf_nearest_int(iscale * (x[i] - min)), 0, NMAX);
        float diff = scale * L[i] + min - x[i];
        best_error += w[i] * (diff * diff);
    }
    uint8_t Laux[N];
    for (int is = 0; is <= NSTEP; is++) {
        iscale = (rmin + rdelta * is + NMAX) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < N; i++) {
            int l = clamp_int(lf_nearest_int(iscale * (x[i] - min)), 0, NMAX);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0))
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float cur_error = 0;
        for (int i = 0; i < N; i++) {
            float diff = this_scale * Laux[i] + this_min - x[i];
            cur_error += w[i] * (diff * diff);
        }
        if (cur_error < best_error) {
            memcpy(L, Laux, N);
            best_error = cur_error;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* Stores 6-bit scale ls and min lm of sub-block j (inverse of
 * lf_k4_scale_min); the 12 bytes must start zeroed. */
static void put_scale_min_k4(uint8_t *s, int j, int ls, int lm) {
    if (j < 4) {
        s[j] = (uint8_t)ls;
        s[j + 4] = (uint8_t)lm;
    } else {
        s[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
        s[j - 4] |= (uint8_t)(ls >> 4 << 6);
        s[j] |= (uint8_t)(lm >> 4 << 6);
    }
}

static void quant_q4_k_block(const float *x, uint8_t *b) {
    uint8_t L[QK_K];
    float w[32], mins[8], scales[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xj = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += xj[l] * xj[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            w[l] = av_x + fabsf(xj[l]);
        scales[j] = fit_scale_min(xj, w, L + 32 * j, &mins[j]);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(b, 0, LF_Q4_K_BYTES);
    for (int j = 0; j < 8; j++) {
        /* as in ggml, the codes pass through uint8_t before the clamp */
        uint8_t ls = (uint8_t)lf_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)lf_nearest_int(inv_min * mins[j]);
        put_scale_min_k4(b + 4, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    lf_wr_half(b, max_scale / 63.f);
    lf_wr_half(b + 2, max_min / 63.f);

    /* requantize every element with the rounded scales actually stored */
    const float d_all = lf_rd_half(b), dmin_all = lf_rd_half(b + 2);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        lf_k4_scale_min(b + 4, j, &sc, &m);
        const float d = d_all * (float)sc;
        if (d == 0)
            continue;
        const float dm = dmin_all * (float)m;
        for (int l = 32 * j; l < 32 * j + 32; l++)
            L[l] = (uint8_t)clamp_int(lf_nearest_int((x[l] + dm) / d), 0, 15);
    }
    uint8_t *qs = b + 16;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
            qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + l + 32] << 4);
}

void lf_quant_q4_k(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q4_K_BYTES, src += QK_K)
        quant_q4_k_block(src, b);
}

/* ----------------------------------------------------------------- Q6_K */

/* ggml's make_qx_quants for Q6_K (nmax 32, 16 values, weights x², no
 * importance): symmetric codes l in [-nmax, nmax-1] stored as l + nmax;
 * tries 19 inverse scales around -nmax/max and keeps the best
 * least-squares fit. Returns the scale (may be negative). */
static float fit_scale_sym(const float *x, int8_t *L) {
    enum { N = 16, NMAX = 32 };
    float amax = 0, max = 0;
    for (int i = 0; i < N; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, N);
        return 0.f;
    }
    float iscale = -NMAX / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < N; i++) {
        int l = clamp_int(lf_nearest_int(iscale * x[i]), -NMAX, NMAX - 1);
        L[i] = (int8_t)(l + NMAX);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -(NMAX + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < N; i++) {
            int l = clamp_int(lf_nearest_int(iscale * x[i]), -NMAX, NMAX - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < N; i++)
                L[i] = (int8_t)(NMAX + clamp_int(lf_nearest_int(iscale * x[i]),
                                                 -NMAX, NMAX - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static void quant_q6_k_block(const float *x, uint8_t *b) {
    int8_t L[QK_K];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int k = 0; k < 16; k++) {
        scales[k] = fit_scale_sym(x + 16 * k, L + 16 * k);
        if (fabsf(scales[k]) > max_abs_scale) {
            max_abs_scale = fabsf(scales[k]);
            max_scale = scales[k];
        }
    }
    memset(b, 0, LF_Q6_K_BYTES);
    if (max_abs_scale < GROUP_MAX_EPS)
        return;
    const float iscale = -128.f / max_scale;
    lf_wr_half(b + 208, 1 / iscale);
    int8_t *sc = (int8_t *)(b + 192);
    for (int k = 0; k < 16; k++) {
        int v = lf_nearest_int(iscale * scales[k]);
        sc[k] = (int8_t)(v < 127 ? v : 127);
    }
    const float d_all = lf_rd_half(b + 208);
    for (int k = 0; k < 16; k++) {
        const float d = d_all * (float)sc[k];
        if (d == 0)
            continue;
        for (int l = 16 * k; l < 16 * k + 16; l++)
            L[l] = (int8_t)(clamp_int(lf_nearest_int(x[l] / d), -32, 31) + 32);
    }
    /* element e = 128h + 32k + l: low nibble in ql[64h + l + 32(k&1)]
     * (high nibble when k >= 2), top 2 bits at bit 2k of qh[32h + l] */
    uint8_t *ql = b, *qh = b + 128;
    for (int h = 0; h < 2; h++) {
        const uint8_t *u = (const uint8_t *)L + 128 * h;
        for (int l = 0; l < 32; l++) {
            ql[64 * h + l] = (uint8_t)((u[l] & 15) | (u[l + 64] & 15) << 4);
            ql[64 * h + l + 32] = (uint8_t)((u[l + 32] & 15) | (u[l + 96] & 15) << 4);
            qh[32 * h + l] = (uint8_t)(u[l] >> 4 | (u[l + 32] >> 4) << 2 |
                                       (u[l + 64] >> 4) << 4 | (u[l + 96] >> 4) << 6);
        }
    }
}

void lf_quant_q6_k(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q6_K_BYTES, src += QK_K)
        quant_q6_k_block(src, b);
}
