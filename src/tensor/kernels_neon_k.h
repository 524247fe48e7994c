/* kernels_neon_k.h — the 256-element super-block types (Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K, IQ4_XS) against Q8_K activations, for kernels_neon_impl.h
 * (included by it, after idot, RM and the activation layout).
 *
 * A super-block is walked in 8 steps of 32 elements: each step decodes 32
 * signed codes of every weight row of the tile, and the integer dot
 * products with the activation codes, times the sub-block scales, add up
 * in int32 lanes (at most 256·32·127·128 < 2^31 for Q6_K). At the end of
 * the super-block, d_w·d_a scales them into the float accumulator, and the
 * min term of Q2_K/Q4_K/Q5_K, dmin·d_a·Σ m·bsum, is taken off with the
 * activation's 16-element sums (ggml's dot products, spec/quants.md §2.3). */

/* Activation rows per tile: two int32 and two float accumulators per
 * output element leave room for fewer than RN. */
enum { RNK = 2 };

INL bool k_has_min(int type) {
    return type == LF_TYPE_Q2_K || type == LF_TYPE_Q4_K || type == LF_TYPE_Q5_K;
}

/* Sub-blocks of 16 elements (else 32). */
INL bool k_sub16(int type) {
    return type == LF_TYPE_Q2_K || type == LF_TYPE_Q3_K || type == LF_TYPE_Q6_K;
}

INL int kblock_bytes(int type) {
    return lf_block_bytes(type);
}

/* One weight row's super-block: sub-block scales, mins per 16 elements
 * (a Q4_K/Q5_K min twice), d and dmin. */
typedef struct kscales {
    int32_t sc[16];
    int16_t mn[16];
    float d, dmin;
} kscales;

INL void k_scales(int type, const uint8_t *b, kscales *s) {
    switch (type) {
    case LF_TYPE_Q2_K:
        for (int k = 0; k < 16; k++) {
            s->sc[k] = b[k] & 15;
            s->mn[k] = (int16_t)(b[k] >> 4);
        }
        s->d = h2f(b + 80);
        s->dmin = h2f(b + 82);
        return;
    case LF_TYPE_Q3_K:
        for (int k = 0; k < 16; k++) {
            int lo = k < 8 ? b[96 + k] & 15 : b[96 + k - 8] >> 4;
            int hi = b[104 + k % 4] >> (2 * (k / 4)) & 3;
            s->sc[k] = (lo | hi << 4) - 32;
        }
        s->d = h2f(b + 108);
        return;
    case LF_TYPE_Q4_K:
    case LF_TYPE_Q5_K:
        for (int k = 0; k < 8; k++) {
            int sc, m;
            lf_k4_scale_min(b + 4, k, &sc, &m);
            s->sc[k] = sc;
            s->mn[2 * k] = s->mn[2 * k + 1] = (int16_t)m;
        }
        s->d = h2f(b);
        s->dmin = h2f(b + 2);
        return;
    case LF_TYPE_Q6_K:
        for (int k = 0; k < 16; k++)
            s->sc[k] = (int8_t)b[192 + k];
        s->d = h2f(b + 208);
        return;
    default: /* IQ4_XS: 6-bit scales, offset 32 */
        for (int k = 0; k < 8; k++) {
            int lo = b[4 + k / 2] >> (4 * (k % 2)) & 15;
            int hi = lf_rd_u16(b + 2) >> (2 * k) & 3;
            s->sc[k] = (lo | hi << 4) - 32;
        }
        s->d = h2f(b);
        return;
    }
}

/* x >> n per byte, n a variable. */
INL uint8x16_t shr(uint8x16_t x, int n) {
    return vshlq_u8(x, vdupq_n_s8((int8_t)-n));
}

/* Codes of elements 32g .. 32g+31 of a super-block. */
INL void k_decode(int type, const uint8_t *b, int g, int8x16_t *w0, int8x16_t *w1) {
    static const int8_t k_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                       1,    13,   25,  38,  53,  69,  89,  113};
    const uint8x16_t m3 = vdupq_n_u8(3), m4 = vdupq_n_u8(15);
    uint8x16_t q0, q1, h0, h1;
    switch (type) {
    case LF_TYPE_Q2_K:
    case LF_TYPE_Q3_K: { /* 2 bits at 2·(g%4) of qs[32·(g/4) + l] */
        const uint8_t *qs = b + (type == LF_TYPE_Q2_K ? 16 : 32) + 32 * (g / 4);
        q0 = vandq_u8(shr(vld1q_u8(qs), 2 * (g % 4)), m3);
        q1 = vandq_u8(shr(vld1q_u8(qs + 16), 2 * (g % 4)), m3);
        if (type == LF_TYPE_Q3_K) { /* hmask bit g clear: -4 */
            const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << g)), four = vdupq_n_u8(4);
            q0 = vaddq_u8(q0, vandq_u8(vtstq_u8(vld1q_u8(b), bit), four));
            q1 = vaddq_u8(q1, vandq_u8(vtstq_u8(vld1q_u8(b + 16), bit), four));
            *w0 = vsubq_s8(vreinterpretq_s8_u8(q0), vdupq_n_s8(4));
            *w1 = vsubq_s8(vreinterpretq_s8_u8(q1), vdupq_n_s8(4));
            return;
        }
        break;
    }
    case LF_TYPE_Q4_K:
    case LF_TYPE_Q5_K: { /* nibble 4·(g%2) of qs[32·(g/2) + l] */
        const uint8_t *qs = b + (type == LF_TYPE_Q4_K ? 16 : 48) + 32 * (g / 2);
        q0 = vandq_u8(shr(vld1q_u8(qs), 4 * (g % 2)), m4);
        q1 = vandq_u8(shr(vld1q_u8(qs + 16), 4 * (g % 2)), m4);
        if (type == LF_TYPE_Q5_K) { /* fifth bit: bit g of qh[l] */
            const uint8x16_t one = vdupq_n_u8(1);
            h0 = vandq_u8(shr(vld1q_u8(b + 16), g), one);
            h1 = vandq_u8(shr(vld1q_u8(b + 32), g), one);
            q0 = vorrq_u8(q0, vshlq_n_u8(h0, 4));
            q1 = vorrq_u8(q1, vshlq_n_u8(h1, 4));
        }
        break;
    }
    case LF_TYPE_Q6_K: { /* low nibble from ql, 2 high bits from qh, - 32 */
        const int h = g / 4, k = g % 4;
        const uint8_t *ql = b + 64 * h + 32 * (k & 1), *qh = b + 128 + 32 * h;
        q0 = vandq_u8(shr(vld1q_u8(ql), 4 * (k >> 1)), m4);
        q1 = vandq_u8(shr(vld1q_u8(ql + 16), 4 * (k >> 1)), m4);
        h0 = vandq_u8(shr(vld1q_u8(qh), 2 * k), m3);
        h1 = vandq_u8(shr(vld1q_u8(qh + 16), 2 * k), m3);
        *w0 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(q0, vshlq_n_u8(h0, 4))), vdupq_n_s8(32));
        *w1 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(q1, vshlq_n_u8(h1, 4))), vdupq_n_s8(32));
        return;
    }
    default: { /* IQ4_XS: Q4_0 nibble order within the 32 */
        uint8x16_t q = vld1q_u8(b + 8 + 16 * g);
        *w0 = vqtbl1q_s8(vld1q_s8(k_iq4nl), vandq_u8(q, m4));
        *w1 = vqtbl1q_s8(vld1q_s8(k_iq4nl), vshrq_n_u8(q, 4));
        return;
    }
    }
    *w0 = vreinterpretq_s8_u8(q0);
    *w1 = vreinterpretq_s8_u8(q1);
}

/* Σ w·a over 16 int8 pairs in four int32 lanes. */
INL int32x4_t idot16(int8x16_t w, int8x16_t a) {
#if defined(LF_NEON_DOTPROD)
    return sdot(vdupq_n_s32(0), w, a);
#else
    return vpadalq_s16(vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(a))), vmull_high_s8(w, a));
#endif
}

/* Σ m·bsum over the 16 sub-sums of a super-block, in four int32 lanes. */
INL int32x4_t k_msum(const int16_t *mn, const int16_t *bsum) {
    int16x8_t m0 = vld1q_s16(mn), m1 = vld1q_s16(mn + 8);
    int16x8_t b0 = vld1q_s16(bsum), b1 = vld1q_s16(bsum + 8);
    int32x4_t s = vmull_s16(vget_low_s16(m0), vget_low_s16(b0));
    s = vmlal_high_s16(s, m0, b0);
    s = vmlal_s16(s, vget_low_s16(m1), vget_low_s16(b1));
    return vmlal_high_s16(s, m1, b1);
}

/* As tile_q, for a super-block type. */
INL void tile_k(int type, int rn, const lf_mm_call *c, int64_t i, int64_t i1, int64_t j) {
    const int64_t nbk = c->k / 256;
    const size_t rb = act_row_bytes(type, c->k);
    const int bs = kblock_bytes(type);
    const uint8_t *w[RM];
    const int8_t *aq[RN];
    const float *ad[RN];
    const int16_t *asum[RN];
    UNROLL
    for (int r = 0; r < RM; r++)
        w[r] = (const uint8_t *)c->w + (size_t)min64(i + r, i1 - 1) * c->ldw;
    UNROLL
    for (int t = 0; t < rn; t++) {
        aq[t] = (const int8_t *)(c->a + (size_t)min64(j + t, c->n - 1) * rb);
        ad[t] = (const float *)((const char *)aq[t] + c->k);
        asum[t] = (const int16_t *)(ad[t] + nbk);
    }
    float32x4_t acc[RM][RN];
    UNROLL
    for (int r = 0; r < RM; r++)
        UNROLL
        for (int t = 0; t < rn; t++)
            acc[r][t] = vdupq_n_f32(0);
    for (int64_t sb = 0; sb < nbk; sb++) {
        kscales s[RM];
        int32x4_t ia[RM][RN];
        UNROLL
        for (int r = 0; r < RM; r++) {
            k_scales(type, w[r] + sb * bs, &s[r]);
            UNROLL
            for (int t = 0; t < rn; t++)
                ia[r][t] = vdupq_n_s32(0);
        }
        for (int g = 0; g < 8; g++) {
            int8x16_t a0[RN], a1[RN];
            UNROLL
            for (int t = 0; t < rn; t++) {
                a0[t] = vld1q_s8(aq[t] + 256 * sb + 32 * g);
                a1[t] = vld1q_s8(aq[t] + 256 * sb + 32 * g + 16);
            }
            UNROLL
            for (int r = 0; r < RM; r++) {
                int8x16_t w0, w1;
                k_decode(type, w[r] + sb * bs, g, &w0, &w1);
                UNROLL
                for (int t = 0; t < rn; t++)
                    ia[r][t] = k_sub16(type)
                                   ? vmlaq_n_s32(vmlaq_n_s32(ia[r][t], idot16(w0, a0[t]),
                                                             s[r].sc[2 * g]),
                                                 idot16(w1, a1[t]), s[r].sc[2 * g + 1])
                                   : vmlaq_n_s32(ia[r][t], idot(w0, w1, a0[t], a1[t]), s[r].sc[g]);
            }
        }
        UNROLL
        for (int r = 0; r < RM; r++)
            UNROLL
            for (int t = 0; t < rn; t++) {
                const float da = ad[t][sb];
                acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(ia[r][t]), s[r].d * da);
                if (k_has_min(type))
                    acc[r][t] = vfmsq_n_f32(acc[r][t],
                                            vcvtq_f32_s32(k_msum(s[r].mn, asum[t] + 16 * sb)),
                                            s[r].dmin * da);
            }
    }
    UNROLL
    for (int r = 0; r < RM; r++)
        UNROLL
        for (int t = 0; t < rn; t++)
            if (i + r < i1 && j + t < c->n)
                c->c[(size_t)(j + t) * c->ldc + (size_t)(i + r)] = vaddvq_f32(acc[r][t]);
}

