/* kernels_neon_impl.h — the aarch64 kernels, written once and compiled
 * twice: by kernels_neon.c for plain NEON (int8 products widened with
 * smull/sadalp) and by kernels_neon_dotprod.c for the Armv8.2 dot product
 * (sdot). The includer defines LF_NEON_INIT (the init function's name), and
 * LF_NEON_DOTPROD after its target pragma for the second.
 *
 * Weight types: F32, F16, BF16, the 32-element block types (Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4) and the super-block types of
 * kernels_neon_k.h (Q2_K .. Q6_K, IQ4_XS): every type the generic set has.
 * Activations carry ggml's partner numbers (the same d and integer codes,
 * spec/quants.md §2.0) laid out for the loads:
 *   32-element types: k int8 codes, then nb4 floats d, then nb4 floats s
 *     (the Q8_1 sum d·Σq, as ggml stores it in fp16), nb4 = k/32 rounded up
 *     to 4, padded with zeros;
 *   super-block types: k int8 codes (Q8_K), then k/256 floats d, then the
 *     16 int16 sums of each super-block;
 *   float types: k floats, already rounded to F16 / BF16 for those weights.
 * Output tiles are RM weight rows × RN (super-block types: RNK) or 1
 * activation rows; every output element gets the same operations in the
 * same order whatever the tile, so results do not depend on the batch or
 * the thread count. */
#include <arm_neon.h>
#include <string.h>

#include "tensor/blocks.h"
#include "tensor/kernels.h"
#include "tensor/types.h"

#define INL static inline __attribute__((always_inline))
#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 4")
#endif

enum {
    RM = 4,  /* weight rows per tile */
    RN = 3,  /* activation rows per tile */
    JB = 32, /* activation rows per pass over a chunk of weight rows */
};

INL bool is_float(int type) {
    return type == LF_TYPE_F32 || type == LF_TYPE_F16 || type == LF_TYPE_BF16;
}

/* 256-element super-blocks against Q8_K. */
INL bool is_k(int type) {
    return type == LF_TYPE_Q2_K || type == LF_TYPE_Q3_K || type == LF_TYPE_Q4_K ||
           type == LF_TYPE_Q5_K || type == LF_TYPE_Q6_K || type == LF_TYPE_IQ4_XS;
}

INL bool has_min(int type) {
    return type == LF_TYPE_Q4_1 || type == LF_TYPE_Q5_1;
}

INL int64_t nb4_of(int64_t k) {
    return (k / 32 + 3) / 4 * 4;
}

INL int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

/* An fp16 field as float (fcvt; the value of lf_fp16_to_fp32). */
INL float h2f(const uint8_t *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

/* ---------------------------------------------------------- activations */

static size_t act_row_bytes(int type, int64_t k) {
    if (is_float(type))
        return ((size_t)k * 4 + 15) / 16 * 16;
    if (is_k(type))
        return ((size_t)k + 36 * (size_t)(k / 256) + 15) / 16 * 16;
    return (size_t)k + 8 * (size_t)nb4_of(k);
}

static size_t act_bytes(int type, int64_t k, int64_t n) {
    return act_row_bytes(type, k) * (size_t)n;
}

static void act(int type, const float *x, int64_t k, int64_t n, int64_t j0, int64_t j1,
                void *dst) {
    size_t rb = act_row_bytes(type, k);
    const int partner = lf_type_traits_of(type)->vec_dot_type;
    const lf_type_traits *at = lf_type_traits_of(partner);
    (void)n;
    for (int64_t j = j0; j < j1; j++) {
        const float *xr = x + j * k;
        char *row = (char *)dst + (size_t)j * rb;
        if (is_float(type)) {
            float *o = (float *)row;
            for (int64_t e = 0; e < k; e++)
                o[e] = type == LF_TYPE_F32   ? xr[e]
                       : type == LF_TYPE_F16 ? lf_fp16_to_fp32(lf_fp32_to_fp16(xr[e]))
                                             : lf_bf16_to_fp32(lf_fp32_to_bf16(xr[e]));
            continue;
        }
        if (is_k(type)) { /* ggml's Q8_K quantizer, then split */
            const int64_t nbk = k / 256;
            float *d = (float *)(row + k);
            int16_t *bsum = (int16_t *)(d + nbk);
            uint8_t sb[LF_Q8_K_BYTES];
            for (int64_t b = 0; b < nbk; b++) {
                at->from_float(xr + 256 * b, sb, 256);
                memcpy(row + 256 * b, sb + 4, 256);
                d[b] = lf_rd_f32(sb);
                for (int e = 0; e < 16; e++)
                    bsum[16 * b + e] = lf_rd_i16(sb + 260 + 2 * e);
            }
            continue;
        }
        /* ggml's Q8_0 / Q8_1 quantizer block by block, then split. */
        const int64_t nb = k / 32, nb4 = nb4_of(k);
        const int off = partner == LF_TYPE_Q8_1 ? 4 : 2;
        float *d = (float *)(row + k), *s = d + nb4;
        uint8_t blk[LF_Q8_1_BYTES];
        for (int64_t b = 0; b < nb; b++) {
            at->from_float(xr + 32 * b, blk, 32);
            memcpy(row + 32 * b, blk + off, 32);
            d[b] = lf_rd_half(blk);
            s[b] = off == 4 ? lf_rd_half(blk + 2) : 0.0f;
        }
        for (int64_t b = nb; b < nb4; b++)
            d[b] = s[b] = 0.0f;
    }
}

/* ------------------------------------------------------ integer blocks */

#if defined(LF_NEON_DOTPROD)
#if defined(__clang__) && !defined(__ARM_FEATURE_DOTPROD)
/* clang before 16 declares vdotq_s32 only when the whole file targets
 * dotprod. */
INL int32x4_t sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
    return acc;
}
#else
#define sdot vdotq_s32
#endif
#endif

/* Σ w·a over 32 int8 pairs, spread over four int32 lanes. The widening
 * form never overflows int16: a pair sum is at most 2·128·127. */
INL int32x4_t idot(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1) {
#if defined(LF_NEON_DOTPROD)
    return sdot(sdot(vdupq_n_s32(0), w0, a0), w1, a1);
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(w0), vget_low_s8(a0));
    int16x8_t p1 = vmull_high_s8(w0, a0);
    p0 = vmlal_s8(p0, vget_low_s8(w1), vget_low_s8(a1));
    p1 = vmlal_high_s8(p1, w1, a1);
    return vpadalq_s16(vpaddlq_s16(p0), p1);
#endif
}

INL int block_bytes(int type) {
    return lf_block_bytes(type);
}

/* Bits 16h .. 16h+15 of a Q5 high-bit word as bytes 16 / 0. */
INL uint8x16_t q5_high(uint32_t qh, int h) {
    static const uint8_t k_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t v = vcombine_u8(vdup_n_u8((uint8_t)(qh >> 16 * h)),
                               vdup_n_u8((uint8_t)(qh >> (16 * h + 8))));
    return vandq_u8(vtstq_u8(v, vld1q_u8(k_bit)), vdupq_n_u8(16));
}

/* One weight block: signed codes of elements 0-15 (*w0) and 16-31 (*w1),
 * scale d and (Q4_1/Q5_1) min m. */
INL void decode(int type, const uint8_t *p, int8x16_t *w0, int8x16_t *w1, float *d, float *m) {
    static const int8_t k_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                       1,    13,   25,  38,  53,  69,  89,  113};
    static const int8_t k_fp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    const uint8x16_t m4 = vdupq_n_u8(15);
    uint8x16_t q, lo, hi;
    switch (type) {
    case LF_TYPE_Q8_0:
        *d = h2f(p);
        *w0 = vld1q_s8((const int8_t *)p + 2);
        *w1 = vld1q_s8((const int8_t *)p + 18);
        return;
    case LF_TYPE_Q4_0:
    case LF_TYPE_Q4_1: {
        const int off = type == LF_TYPE_Q4_0 ? 2 : 4;
        const int8x16_t o = vdupq_n_s8(type == LF_TYPE_Q4_0 ? 8 : 0);
        *d = h2f(p);
        if (type == LF_TYPE_Q4_1)
            *m = h2f(p + 2);
        q = vld1q_u8(p + off);
        *w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), o);
        *w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), o);
        return;
    }
    case LF_TYPE_Q5_0:
    case LF_TYPE_Q5_1: {
        const int off = type == LF_TYPE_Q5_0 ? 2 : 4;
        const int8x16_t o = vdupq_n_s8(type == LF_TYPE_Q5_0 ? 16 : 0);
        const uint32_t qh = lf_rd_u32(p + off);
        *d = h2f(p);
        if (type == LF_TYPE_Q5_1)
            *m = h2f(p + 2);
        q = vld1q_u8(p + off + 4);
        lo = vorrq_u8(vandq_u8(q, m4), q5_high(qh, 0));
        hi = vorrq_u8(vshrq_n_u8(q, 4), q5_high(qh, 1));
        *w0 = vsubq_s8(vreinterpretq_s8_u8(lo), o);
        *w1 = vsubq_s8(vreinterpretq_s8_u8(hi), o);
        return;
    }
    case LF_TYPE_IQ4_NL:
        *d = h2f(p);
        q = vld1q_u8(p + 2);
        *w0 = vqtbl1q_s8(vld1q_s8(k_iq4nl), vandq_u8(q, m4));
        *w1 = vqtbl1q_s8(vld1q_s8(k_iq4nl), vshrq_n_u8(q, 4));
        return;
    default: { /* MXFP4: doubled E2M1 values, half the E8M0 scale */
        uint8_t e = p[0];
        *d = lf_f32_from_bits(e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23);
        q = vld1q_u8(p + 1);
        *w0 = vqtbl1q_s8(vld1q_s8(k_fp4), vandq_u8(q, m4));
        *w1 = vqtbl1q_s8(vld1q_s8(k_fp4), vshrq_n_u8(q, 4));
        return;
    }
    }
}

/* Output rows w[0..RM) × activation rows j .. j+rn (rn = RN or 1); rows
 * past the range repeat the last one and are computed but not stored.
 * mins: the RM weight rows' mins (Q4_1/Q5_1), nb4 floats each. */
INL void tile_q(int type, int rn, const lf_mm_call *c, int64_t i, int64_t i1, int64_t j,
                const float *mins) {
    const int64_t nb = c->k / 32, nb4 = nb4_of(c->k);
    const size_t rb = act_row_bytes(type, c->k);
    const int bs = block_bytes(type);
    const uint8_t *w[RM];
    const int8_t *aq[RN];
    const float *ad[RN];
    UNROLL
    for (int r = 0; r < RM; r++)
        w[r] = (const uint8_t *)c->w + (size_t)min64(i + r, i1 - 1) * c->ldw;
    UNROLL
    for (int t = 0; t < rn; t++) {
        aq[t] = (const int8_t *)(c->a + (size_t)min64(j + t, c->n - 1) * rb);
        ad[t] = (const float *)((const char *)aq[t] + c->k);
    }
    float32x4_t acc[RM][RN];
    UNROLL
    for (int r = 0; r < RM; r++)
        UNROLL
        for (int t = 0; t < rn; t++)
            acc[r][t] = vdupq_n_f32(0);
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t a0[RN], a1[RN];
        float da[RN];
        UNROLL
        for (int t = 0; t < rn; t++) {
            a0[t] = vld1q_s8(aq[t] + 32 * b);
            a1[t] = vld1q_s8(aq[t] + 32 * b + 16);
            da[t] = ad[t][b];
        }
        UNROLL
        for (int r = 0; r < RM; r++) {
            int8x16_t w0, w1;
            float dw, mw;
            decode(type, w[r] + b * bs, &w0, &w1, &dw, &mw);
            UNROLL
            for (int t = 0; t < rn; t++)
                acc[r][t] = vfmaq_n_f32(acc[r][t], vcvtq_f32_s32(idot(w0, w1, a0[t], a1[t])),
                                        dw * da[t]);
        }
    }
    UNROLL
    for (int r = 0; r < RM; r++)
        UNROLL
        for (int t = 0; t < rn; t++) {
            if (i + r >= i1 || j + t >= c->n)
                continue;
            float v = vaddvq_f32(acc[r][t]);
            if (has_min(type)) {
                const float *s = ad[t] + nb4;
                float32x4_t ms = vdupq_n_f32(0);
                for (int64_t b = 0; b < nb4; b += 4)
                    ms = vfmaq_f32(ms, vld1q_f32(mins + r * nb4 + b), vld1q_f32(s + b));
                v += vaddvq_f32(ms);
            }
            c->c[(size_t)(j + t) * c->ldc + (size_t)(i + r)] = v;
        }
}

static size_t tmp_bytes_q(const lf_mm_call *c) {
    return sizeof(float) * RM * (size_t)nb4_of(c->k);
}

INL void mm_q(int type, const lf_mm_call *c, int64_t i0, int64_t i1, float *mins) {
    const int64_t nb = c->k / 32, nb4 = nb4_of(c->k);
    const int bs = block_bytes(type);
    for (int64_t jb = 0; jb < c->n; jb += JB) {
        const int64_t je = min64(jb + JB, c->n);
        for (int64_t i = i0; i < i1; i += RM) {
            if (has_min(type))
                for (int r = 0; r < RM; r++) {
                    const uint8_t *p = (const uint8_t *)c->w + (size_t)min64(i + r, i1 - 1) * c->ldw;
                    for (int64_t b = 0; b < nb4; b++)
                        mins[r * nb4 + b] = b < nb ? h2f(p + b * bs + 2) : 0.0f;
                }
            int64_t j = jb;
            for (; j + RN <= je; j += RN)
                tile_q(type, RN, c, i, i1, j, mins);
            for (; j < je; j++)
                tile_q(type, 1, c, i, i1, j, mins);
        }
    }
}

#define MM_Q(T, NAME)                                                                     \
    static void NAME(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {            \
        mm_q(T, c, i0, i1, tmp);                                                          \
    }
MM_Q(LF_TYPE_Q4_0, mm_q4_0)
MM_Q(LF_TYPE_Q4_1, mm_q4_1)
MM_Q(LF_TYPE_Q5_0, mm_q5_0)
MM_Q(LF_TYPE_Q5_1, mm_q5_1)
MM_Q(LF_TYPE_Q8_0, mm_q8_0)
MM_Q(LF_TYPE_IQ4_NL, mm_iq4_nl)
MM_Q(LF_TYPE_MXFP4, mm_mxfp4)

#include "tensor/kernels_neon_k.h"

/* --------------------------------------------------------- float types */

/* Eight weights from element e on, as floats. */
INL void load8(int type, const char *row, int64_t e, float32x4_t *lo, float32x4_t *hi) {
    if (type == LF_TYPE_F32) {
        *lo = vld1q_f32((const float *)row + e);
        *hi = vld1q_f32((const float *)row + e + 4);
    } else if (type == LF_TYPE_F16) {
        float16x8_t h = vld1q_f16((const float16_t *)row + e);
        *lo = vcvt_f32_f16(vget_low_f16(h));
        *hi = vcvt_high_f32_f16(h);
    } else {
        uint16x8_t h = vld1q_u16((const uint16_t *)row + e);
        *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
    }
}

INL float load1(int type, const char *row, int64_t e) {
    const uint8_t *p = (const uint8_t *)row;
    if (type == LF_TYPE_F32)
        return lf_rd_f32(p + 4 * e);
    if (type == LF_TYPE_F16)
        return h2f(p + 2 * e);
    return lf_bf16_to_fp32(lf_rd_u16(p + 2 * e));
}

INL void tile_f(int type, int rn, const lf_mm_call *c, int64_t i, int64_t i1, int64_t j) {
    const size_t rb = act_row_bytes(type, c->k);
    const int64_t k = c->k, k8 = k / 8 * 8;
    const char *w[RM];
    const float *a[RN];
    UNROLL
    for (int r = 0; r < RM; r++)
        w[r] = c->w + (size_t)min64(i + r, i1 - 1) * c->ldw;
    UNROLL
    for (int t = 0; t < rn; t++)
        a[t] = (const float *)(c->a + (size_t)min64(j + t, c->n - 1) * rb);
    float32x4_t acc[RM][RN];
    UNROLL
    for (int r = 0; r < RM; r++)
        UNROLL
        for (int t = 0; t < rn; t++)
            acc[r][t] = vdupq_n_f32(0);
    for (int64_t e = 0; e < k8; e += 8) {
        float32x4_t a0[RN], a1[RN];
        UNROLL
        for (int t = 0; t < rn; t++) {
            a0[t] = vld1q_f32(a[t] + e);
            a1[t] = vld1q_f32(a[t] + e + 4);
        }
        UNROLL
        for (int r = 0; r < RM; r++) {
            float32x4_t w0, w1;
            load8(type, w[r], e, &w0, &w1);
            UNROLL
            for (int t = 0; t < rn; t++)
                acc[r][t] = vfmaq_f32(vfmaq_f32(acc[r][t], w0, a0[t]), w1, a1[t]);
        }
    }
    UNROLL
    for (int r = 0; r < RM; r++)
        UNROLL
        for (int t = 0; t < rn; t++) {
            if (i + r >= i1 || j + t >= c->n)
                continue;
            float v = vaddvq_f32(acc[r][t]);
            for (int64_t e = k8; e < k; e++)
                v += load1(type, w[r], e) * a[t][e];
            c->c[(size_t)(j + t) * c->ldc + (size_t)(i + r)] = v;
        }
}

/* ------------------------------------------ float and super-block sweep */

/* One tile of RM weight rows x (wide ? RN or RNK : 1) activation rows. */
INL void tile_fk(int type, bool wide, const lf_mm_call *c, int64_t i, int64_t i1, int64_t j) {
    if (is_k(type) && wide)
        tile_k(type, RNK, c, i, i1, j);
    else if (is_k(type))
        tile_k(type, 1, c, i, i1, j);
    else if (wide)
        tile_f(type, RN, c, i, i1, j);
    else
        tile_f(type, 1, c, i, i1, j);
}

/* Row chunk [i0, i1) against every activation row, JB rows per pass. */
INL void mm_sweep(int type, const lf_mm_call *c, int64_t i0, int64_t i1) {
    const int rn = is_k(type) ? RNK : RN;
    for (int64_t jb = 0; jb < c->n; jb += JB) {
        const int64_t je = min64(jb + JB, c->n);
        for (int64_t i = i0; i < i1; i += RM) {
            int64_t j = jb;
            for (; j + rn <= je; j += rn)
                tile_fk(type, true, c, i, i1, j);
            for (; j < je; j++)
                tile_fk(type, false, c, i, i1, j);
        }
    }
}

#define MM_SWEEP(T, NAME)                                                                 \
    static void NAME(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {            \
        (void)tmp;                                                                        \
        mm_sweep(T, c, i0, i1);                                                           \
    }
MM_SWEEP(LF_TYPE_F32, mm_f32)
MM_SWEEP(LF_TYPE_F16, mm_f16)
MM_SWEEP(LF_TYPE_BF16, mm_bf16)
MM_SWEEP(LF_TYPE_Q2_K, mm_q2_k)
MM_SWEEP(LF_TYPE_Q3_K, mm_q3_k)
MM_SWEEP(LF_TYPE_Q4_K, mm_q4_k)
MM_SWEEP(LF_TYPE_Q5_K, mm_q5_k)
MM_SWEEP(LF_TYPE_Q6_K, mm_q6_k)
MM_SWEEP(LF_TYPE_IQ4_XS, mm_iq4_xs)

void LF_NEON_INIT(lf_kernel_set *ks) {
    static const struct {
        int type;
        lf_mm_fn mm;
    } k_mm[] = {
        {LF_TYPE_F32, mm_f32},     {LF_TYPE_F16, mm_f16},       {LF_TYPE_BF16, mm_bf16},
        {LF_TYPE_Q4_0, mm_q4_0},   {LF_TYPE_Q4_1, mm_q4_1},     {LF_TYPE_Q5_0, mm_q5_0},
        {LF_TYPE_Q5_1, mm_q5_1},   {LF_TYPE_Q8_0, mm_q8_0},     {LF_TYPE_IQ4_NL, mm_iq4_nl},
        {LF_TYPE_MXFP4, mm_mxfp4}, {LF_TYPE_Q2_K, mm_q2_k},     {LF_TYPE_Q3_K, mm_q3_k},
        {LF_TYPE_Q4_K, mm_q4_k},   {LF_TYPE_Q5_K, mm_q5_k},     {LF_TYPE_Q6_K, mm_q6_k},
        {LF_TYPE_IQ4_XS, mm_iq4_xs},
    };
    for (size_t i = 0; i < sizeof k_mm / sizeof k_mm[0]; i++) {
        int t = k_mm[i].type;
        ks->mm[t] = (lf_mm_kernel){
            .act_bytes = act_bytes,
            .act = act,
            .mm = k_mm[i].mm,
            .tmp_bytes = has_min(t) ? tmp_bytes_q : NULL,
            .row_align = RM,
        };
    }
}
