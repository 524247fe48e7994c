/* quants_k235_quantize.c — reference quantizers for Q2_K, Q3_K and Q5_K
 * weights. They reproduce what llama-quantize writes without an importance
 * matrix (ggml's quantize_row_q{2,3,5}_K_ref) to the bit: the same searches,
 * the same float expression order, the same ties. Layouts: quants_k.c and
 * spec/quants.md §2.3. */
#include "tensor/blocks.h"

#include <math.h>

#include "tensor/quants.h"

#define GROUP_MAX_EPS 1e-15f

static inline int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* Packs 2-bit codes the Q2_K/Q3_K way: element 128h + 32k + l goes to bits
 * 2k of byte 32h + l. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *u = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(u[0] | u[32] << 2 | u[64] << 4 | u[96] << 6);
        }
}

/* ggml's make_qkx2_quants: fits x ≈ scale·L − the_min with L in [0, nmax]
 * under weights w, trying nstep+1 inverse scales (rmin + rdelta·is + nmax)
 * / (max − min) and a weighted least-squares (scale, min) for each; the
 * error is |diff| (mad) or diff². Returns the scale. */
static float fit_asym(int n, int nmax, const float *x, const float *w, uint8_t *L,
                      float *the_min, float rmin, float rdelta, int nstep, bool mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
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
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clamp_int(lf_nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * L[i] + min - x[i];
        diff = mad ? fabsf(diff) : diff * diff;
        best_error += w[i] * diff;
    }
    uint8_t Laux[32];
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(lf_nearest_int(iscale * (x[i] - min)), 0, nmax);
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
        for (int i = 0; i < n; i++) {
            float diff = this_scale * Laux[i] + this_min - x[i];
            diff = mad ? fabsf(diff) : diff * diff;
            cur_error += w[i] * diff;
        }
        if (cur_error < best_error) {
            memcpy(L, Laux, (size_t)n);
            best_error = cur_error;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* ----------------------------------------------------------------- Q2_K */

/* Layout: scales[16]@0 (low nibble scale, high nibble min), qs[64]@16,
 * d@80, dmin@82. */
static void quant_q2_k_block(const float *x, uint8_t *b) {
    uint8_t L[QK_K];
    float w[16], mins[16], scales[16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 16; j++) {
        for (int l = 0; l < 16; l++)
            w[l] = fabsf(x[16 * j + l]);
        scales[j] = fit_asym(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    uint8_t *sc = b;
    memset(sc, 0, 16);
    lf_wr_half(b + 80, 0.f);
    lf_wr_half(b + 82, 0.f);
    if (max_scale > 0) {
        const float iscale = 15.f / max_scale;
        for (int j = 0; j < 16; j++)
            sc[j] = (uint8_t)lf_nearest_int(iscale * scales[j]);
        lf_wr_half(b + 80, max_scale / 15.f);
    }
    if (max_min > 0) {
        const float iscale = 15.f / max_min;
        for (int j = 0; j < 16; j++)
            sc[j] = (uint8_t)(sc[j] | (unsigned)lf_nearest_int(iscale * mins[j]) << 4);
        lf_wr_half(b + 82, max_min / 15.f);
    }
    const float d_all = lf_rd_half(b + 80), dmin_all = lf_rd_half(b + 82);
    for (int j = 0; j < 16; j++) {
        const float d = d_all * (sc[j] & 15);
        if (!d)
            continue;
        const float dm = dmin_all * (sc[j] >> 4);
        for (int l = 16 * j; l < 16 * j + 16; l++)
            L[l] = (uint8_t)clamp_int(lf_nearest_int((x[l] + dm) / d), 0, 3);
    }
    pack_2bit(L, b + 16);
}

void lf_quant_q2_k(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q2_K_BYTES, src += QK_K)
        quant_q2_k_block(src, b);
}

/* ----------------------------------------------------------------- Q3_K */

/* ggml's make_q3_quants with do_rmse, nmax 4, 16 values: symmetric codes in
 * [-4, 3] from -nmax/max, then up to 5 passes that move single codes while
 * the weighted (x²) least-squares fit improves. Codes are stored + 4. */
static float fit_q3(const float *x, int8_t *L) {
    enum { N = 16, NMAX = 4 };
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
    const float iscale = -NMAX / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < N; i++) {
        int l = clamp_int(lf_nearest_int(iscale * x[i]), -NMAX, NMAX - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < N; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (!(slx > 0))
                continue;
            float sl2 = suml2 - w * L[i] * L[i];
            int new_l = clamp_int(lf_nearest_int(x[i] * sl2 / slx), -NMAX, NMAX - 1);
            if (new_l == L[i])
                continue;
            slx += w * x[i] * new_l;
            sl2 += w * new_l * new_l;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = (int8_t)new_l;
                sumlx = slx;
                suml2 = sl2;
                n_changed++;
            }
        }
        if (!n_changed)
            break;
    }
    for (int i = 0; i < N; i++)
        L[i] = (int8_t)(L[i] + NMAX);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* 6-bit scale j (stored + 32) of a Q3_K block: low nibble in byte j (j < 8)
 * or the high nibble of byte j-8, top two bits at bit 2(j/4) of byte
 * 8 + j%4. */
static int q3_scale(const uint8_t *s, int j) {
    int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    return (lo | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
}

/* Layout: hmask[32]@0, qs[64]@32, scales[12]@96, d@108. */
static void quant_q3_k_block(const float *x, uint8_t *b) {
    int8_t L[QK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = fit_q3(x + 16 * j, L + 16 * j);
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    uint8_t *s = b + 96;
    memset(s, 0, 12);
    if (max_scale != 0) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < 16; j++) {
            int l = clamp_int((int8_t)lf_nearest_int(iscale * scales[j]), -32, 31) + 32;
            if (j < 8)
                s[j] = (uint8_t)(l & 15);
            else
                s[j - 8] = (uint8_t)(s[j - 8] | (l & 15) << 4);
            s[8 + j % 4] = (uint8_t)(s[8 + j % 4] | (l >> 4) << (2 * (j / 4)));
        }
        lf_wr_half(b + 108, 1 / iscale);
    } else {
        lf_wr_half(b + 108, 0.f);
    }
    const float d_all = lf_rd_half(b + 108);
    for (int j = 0; j < 16; j++) {
        const float d = d_all * q3_scale(s, j);
        if (!d)
            continue;
        for (int l = 16 * j; l < 16 * j + 16; l++)
            L[l] = (int8_t)(clamp_int(lf_nearest_int(x[l] / d), -4, 3) + 4);
    }
    /* the high bit of element e is bit e/32 of hmask[e%32] */
    uint8_t *hmask = b;
    memset(hmask, 0, 32);
    for (int e = 0; e < QK_K; e++) {
        if (L[e] > 3) {
            hmask[e % 32] = (uint8_t)(hmask[e % 32] | 1 << (e / 32));
            L[e] = (int8_t)(L[e] - 4);
        }
    }
    pack_2bit((const uint8_t *)L, b + 32);
}

void lf_quant_q3_k(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q3_K_BYTES, src += QK_K)
        quant_q3_k_block(src, b);
}

/* ----------------------------------------------------------------- Q5_K */

/* Stores 6-bit scale ls and min lm of sub-block j the Q4_K/Q5_K way (the
 * inverse of lf_k4_scale_min); the 12 bytes must start zeroed. */
static void put_scale_min_k4(uint8_t *s, int j, int ls, int lm) {
    if (j < 4) {
        s[j] = (uint8_t)ls;
        s[j + 4] = (uint8_t)lm;
    } else {
        s[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
        s[j - 4] = (uint8_t)(s[j - 4] | (ls >> 4) << 6);
        s[j] = (uint8_t)(s[j] | (lm >> 4) << 6);
    }
}

/* Layout: d@0, dmin@2, scales[12]@4, qh[32]@16, qs[128]@48. */
static void quant_q5_k_block(const float *x, uint8_t *b) {
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
        scales[j] = fit_asym(32, 31, xj, w, L + 32 * j, &mins[j], -0.5f, 0.1f, 15, false);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(b, 0, LF_Q5_K_BYTES);
    for (int j = 0; j < 8; j++) {
        /* as in ggml, the codes pass through uint8_t before the clamp */
        uint8_t ls = (uint8_t)lf_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)lf_nearest_int(inv_min * mins[j]);
        put_scale_min_k4(b + 4, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    lf_wr_half(b, max_scale / 63.f);
    lf_wr_half(b + 2, max_min / 63.f);

    const float d_all = lf_rd_half(b), dmin_all = lf_rd_half(b + 2);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        lf_k4_scale_min(b + 4, j, &sc, &m);
        const float d = d_all * (float)sc;
        if (!d)
            continue;
        const float dm = dmin_all * (float)m;
        for (int l = 32 * j; l < 32 * j + 32; l++)
            L[l] = (uint8_t)clamp_int(lf_nearest_int((x[l] + dm) / d), 0, 31);
    }
    /* element 64c + l (l < 32): low nibble of qs[32c + l], bit 2c of qh[l];
     * element 64c + 32 + l: high nibble, bit 2c + 1 */
    uint8_t *qh = b + 16, *qs = b + 48;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
            qh[l] = (uint8_t)(qh[l] | (lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            qs[32 * c + l] = (uint8_t)((lo & 15) | (hi & 15) << 4);
        }
}

void lf_quant_q5_k(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++, b += LF_Q5_K_BYTES, src += QK_K)
        quant_q5_k_block(src, b);
}
