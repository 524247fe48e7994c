/* kernels_avx512vnni_gemm.c — matrix-matrix kernels of the AVX-512 VNNI
 * set (LF_GEMM_MIN_N activation rows or more), and the matrix-vector
 * products of packed Q4_0 / IQ4_NL / Q8_0 groups, which are the same tile read
 * straight from the group (lf_vnni_gemv_packed0).
 *
 * Sixteen weight rows are decoded once per product into a panel: codes u
 * interleaved 4 bytes at a time ([k/4][16 rows][4]), so one zmm holds the
 * same 4 k of the 16 rows, and the scales as vectors over the rows. Every
 * activation row then sweeps the panel: vpdpbusd(acc, panel vector,
 * 4 activation bytes broadcast from memory) — one instruction per 64
 * multiply-adds, and the 16 lanes of every accumulator are 16 outputs (no
 * horizontal sums). Per block: int32 sums start at -o·Σa; one float FMA
 * (d_w·d_a) per 32-element block into chain b % 4, or per super-block
 * after the integer sub-block scale multiply for K-quants: the same order
 * as the matrix-vector kernels (kernels_avx512vnni.c), so a row's result
 * does not depend on the batch. */
#include "tensor/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,avx512vbmi,avx2,fma,f16c,bmi2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,avx512vbmi,avx2,fma,f16c,bmi2")
#endif

#include "tensor/kernels_avx512vnni_dec.h"

#ifndef J0X
#define J0X 6
#endif
enum { P = 16, J0 = J0X, JK = 6 }; /* panel rows; activation rows per tile */

LF_INLINE __m512 bcastf(const float *p) {
    return _mm512_set1_ps(*p);
}

/* Stores the 16 dwords of v[r] (elements e .. e+63 of panel row r, for
 * the 16 rows) at their places [e/4 + q][r]: a 16 x 16 dword transpose,
 * so each 64-byte store is one panel vector (a scatter is far slower). */
LF_INLINE void put64x16(uint8_t *panel, int64_t e, const __m512i v[16]) {
    __m512i t[16], x[16];
    LF_UNROLL
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    /* x[4g + w], lane L: dword 4L + w of rows 4g .. 4g+3 */
    LF_UNROLL
    for (int g = 0; g < 4; g++) {
        x[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        x[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        x[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        x[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    uint8_t *dst = panel + e / 4 * P * 4;
    LF_UNROLL
    for (int w = 0; w < 4; w++) { /* transpose the 4 x 4 lanes of x[w], x[4 + w], ... */
        __m512i y0 = _mm512_shuffle_i32x4(x[w], x[4 + w], 0x44);
        __m512i y1 = _mm512_shuffle_i32x4(x[w], x[4 + w], 0xee);
        __m512i y2 = _mm512_shuffle_i32x4(x[8 + w], x[12 + w], 0x44);
        __m512i y3 = _mm512_shuffle_i32x4(x[8 + w], x[12 + w], 0xee);
        _mm512_store_si512(dst + (size_t)(0 + w) * P * 4, _mm512_shuffle_i32x4(y0, y2, 0x88));
        _mm512_store_si512(dst + (size_t)(4 + w) * P * 4, _mm512_shuffle_i32x4(y0, y2, 0xdd));
        _mm512_store_si512(dst + (size_t)(8 + w) * P * 4, _mm512_shuffle_i32x4(y1, y3, 0x88));
        _mm512_store_si512(dst + (size_t)(12 + w) * P * 4, _mm512_shuffle_i32x4(y1, y3, 0xdd));
    }
}

/* Asks for the weight rows [i0, i0 + rows) ahead of the panel decode: it
 * reads them 16 rows abreast, a pattern the hardware prefetcher does not
 * follow, so without this it waits on memory for every line. */
LF_INLINE void prefetch_rows(const lf_mm_call *c, int64_t i0, int rows) {
    prefetch_l2(c->w + (size_t)i0 * c->ldw, c->w + (size_t)(i0 + rows) * c->ldw);
}

/* The rows of the next group of panels (from i, up to i1), into L2 while
 * this group's tiles compute. */
LF_INLINE void prefetch_next_group(const lf_mm_call *c, int64_t i, int pg, int64_t i1) {
    int64_t e = i + (int64_t)pg * P < i1 ? i + (int64_t)pg * P : i1;
    if (i < e)
        prefetch_rows(c, i, (int)(e - i));
}

/* Output rows [i0, i0 + rows) of activation row j: lanes of v. */
LF_INLINE void store16(const lf_mm_call *c, int64_t j, int64_t i0, int rows, __m512 v) {
    _mm512_mask_storeu_ps(c->c + (size_t)j * c->ldc + (size_t)i0, (__mmask16)((1u << rows) - 1), v);
}

/* ------------------------------------------------ 32-element block types */

/* Panel: codes [k/4][16][4], then d [nb][16], m [nb][16]. */
static void panel0(const lf_mm_call *c, int64_t i0, int rows, uint8_t *pu, float *pd, float *pm) {
    const int64_t k = c->k, nb = k / 32;
    const int type = c->type;
    prefetch_rows(c, i0, rows);
    for (int64_t b = 0; b < nb; b += 2) {
        const int two = b + 1 < nb;
        __m512i v[P];
        for (int r = 0; r < P; r++) {
            if (r >= rows) {
                v[r] = _mm512_setzero_si512();
                pd[b * P + r] = pm[b * P + r] = 0;
                if (two)
                    pd[(b + 1) * P + r] = pm[(b + 1) * P + r] = 0;
                continue;
            }
            const uint8_t *w = (const uint8_t *)c->w + (size_t)(i0 + r) * c->ldw;
            dec0 x;
            switch (type) { /* constant per case after inlining */
            case LF_TYPE_Q4_0: x = decode0(LF_TYPE_Q4_0, w + b * LF_Q4_0_BYTES, two); break;
            case LF_TYPE_Q4_1: x = decode0(LF_TYPE_Q4_1, w + b * LF_Q4_1_BYTES, two); break;
            case LF_TYPE_Q5_0: x = decode0(LF_TYPE_Q5_0, w + b * LF_Q5_0_BYTES, two); break;
            case LF_TYPE_Q5_1: x = decode0(LF_TYPE_Q5_1, w + b * LF_Q5_1_BYTES, two); break;
            case LF_TYPE_Q8_0: x = decode0(LF_TYPE_Q8_0, w + b * LF_Q8_0_BYTES, two); break;
            case LF_TYPE_IQ4_NL: x = decode0(LF_TYPE_IQ4_NL, w + b * LF_IQ4_NL_BYTES, two); break;
            default: x = decode0(LF_TYPE_MXFP4, w + b * LF_MXFP4_BYTES, two); break;
            }
            /* an odd last block's partner lands in the padding of the panel */
            v[r] = x.u;
            pd[b * P + r] = _mm512_cvtss_f32(x.d);
            pm[b * P + r] = _mm512_cvtss_f32(x.m);
            if (two) {
                pd[(b + 1) * P + r] = _mm256_cvtss_f32(_mm512_extractf32x8_ps(x.d, 1));
                pm[(b + 1) * P + r] = _mm256_cvtss_f32(_mm512_extractf32x8_ps(x.m, 1));
            }
        }
        put64x16(pu, 32 * b, v);
    }
}

/* The panel of a packed Q4_0 / IQ4_NL / Q8_0 group (tensor/pack.h): its
 * code vectors (Q4_0, IQ4_NL: split into nibbles) are the panel's. */
static void panel0_packed(const lf_mm_call *c, int64_t i0, uint8_t *pu, float *pd, float *pm) {
    const int64_t nb = c->k / 32;
    prefetch_rows(c, i0, P);
    const uint8_t *g = (const uint8_t *)c->w + (size_t)i0 * c->ldw;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = g + b * p0_blk(c->type);
        LF_UNROLL
        for (int t = 0; t < 8; t += 2) {
            __m512i lo, hi;
            p0_codes(c->type, p, t, &lo, &hi);
            _mm512_store_si512(pu + (size_t)(8 * b + t) * P * 4, lo);
            _mm512_store_si512(pu + (size_t)(8 * b + t + 1) * P * 4, hi);
        }
        _mm512_store_ps(pd + b * P, p0_d(c->type, p));
        _mm512_store_ps(pm + b * P, _mm512_setzero_ps());
    }
}

/* The panel against activation rows j0 .. j0+J-1; or, where grp is not
 * NULL, a packed Q4_0 / IQ4_NL / Q8_0 group of type ptype read directly
 * (its code vectors are the panel's vectors). */
LF_INLINE void tile0(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, int J, int has_min,
                     const uint8_t *pu, const float *pd, const float *pm, int ptype, const uint8_t *grp) {
    const int64_t k = c->k, nb = k / 32;
    const size_t arow = lf_a0_row_bytes(k);
    lf_a0row a[8];
    LF_UNROLL
    for (int j = 0; j < J; j++)
        a[j] = lf_a0_row(c->a + (size_t)(j0 + j) * arow, k);
    __m512 acc[4][8];
    LF_UNROLL
    for (int ch = 0; ch < 4; ch++)
        LF_UNROLL
        for (int j = 0; j < J; j++)
            acc[ch][j] = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < nb; b0 += 4) {
        LF_UNROLL
        for (int ch = 0; ch < 4; ch++) {
            const int64_t b = b0 + ch;
            if (b >= nb)
                break;
            const uint8_t *p = grp ? grp + b * p0_blk(ptype) : NULL;
            __m512i s[8];
            LF_UNROLL
            for (int j = 0; j < J; j++)
                s[j] = has_min ? _mm512_setzero_si512() : _mm512_set1_epi32(a[j].x[b]);
            LF_UNROLL
            for (int t = 0; t < 8; t += 2) {
                __m512i w0, w1;
                if (grp)
                    p0_codes(ptype, p, t, &w0, &w1);
                else {
                    w0 = _mm512_load_si512(pu + (size_t)(8 * b + t) * P * 4);
                    w1 = _mm512_load_si512(pu + (size_t)(8 * b + t + 1) * P * 4);
                }
                LF_UNROLL
                for (int j = 0; j < J; j++)
                    s[j] = dpbusd_b(s[j], w0, a[j].q + 32 * b + 4 * t);
                LF_UNROLL
                for (int j = 0; j < J; j++)
                    s[j] = dpbusd_b(s[j], w1, a[j].q + 32 * b + 4 * t + 4);
            }
            __m512 dw = grp ? p0_d(ptype, p) : _mm512_load_ps(pd + b * P);
            LF_UNROLL
            for (int j = 0; j < J; j++) {
                __m512 sc = _mm512_mul_ps(bcastf(a[j].d + b), dw);
                acc[ch][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[j]), sc, acc[ch][j]);
                if (has_min)
                    acc[ch][j] = _mm512_fmadd_ps(bcastf(a[j].s + b), _mm512_load_ps(pm + b * P),
                                                 acc[ch][j]);
            }
        }
    }
    LF_UNROLL
    for (int j = 0; j < J; j++)
        store16(c, j0 + j, i0, rows,
                _mm512_add_ps(_mm512_add_ps(acc[0][j], acc[1][j]), _mm512_add_ps(acc[2][j], acc[3][j])));
}

#define TILE0(J)                                                                                     \
    static void t0_##J(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, int has_min,           \
                       const uint8_t *pu, const float *pd, const float *pm) {                        \
        if (has_min)                                                                                 \
            tile0(c, i0, rows, j0, J, 1, pu, pd, pm, 0, NULL);                                       \
        else                                                                                         \
            tile0(c, i0, rows, j0, J, 0, pu, pd, pm, 0, NULL);                                       \
    }
TILE0(1)
TILE0(2)
TILE0(3)
TILE0(4)
TILE0(5)
TILE0(6)
TILE0(7)

typedef void (*tile0_fn)(const lf_mm_call *, int64_t, int, int64_t, int, const uint8_t *, const float *,
                         const float *);
static const tile0_fn k_tile0[8] = {NULL, t0_1, t0_2, t0_3, t0_4, t0_5, t0_6, t0_7};

/* Packed groups read directly, for up to NYP activation rows. */
enum { NYP = 4 };
#define TILE0P(T, J)                                                                     \
    static void tp_##T##_##J(const lf_mm_call *c, int64_t i0, int64_t j0) {              \
        tile0(c, i0, P, j0, J, 0, NULL, NULL, NULL, LF_TYPE_##T,                         \
              (const uint8_t *)c->w + (size_t)i0 * c->ldw);                              \
    }
TILE0P(Q4_0, 1)
TILE0P(Q4_0, 2)
TILE0P(Q4_0, 3)
TILE0P(Q4_0, 4)
TILE0P(IQ4_NL, 1)
TILE0P(IQ4_NL, 2)
TILE0P(IQ4_NL, 3)
TILE0P(IQ4_NL, 4)
TILE0P(Q8_0, 1)
TILE0P(Q8_0, 2)
TILE0P(Q8_0, 3)
TILE0P(Q8_0, 4)

typedef void (*tile0p_fn)(const lf_mm_call *, int64_t, int64_t);
static const tile0p_fn k_tp_q4_0[NYP + 1] = {NULL, tp_Q4_0_1, tp_Q4_0_2, tp_Q4_0_3, tp_Q4_0_4};
static const tile0p_fn k_tp_iq4_nl[NYP + 1] = {NULL, tp_IQ4_NL_1, tp_IQ4_NL_2, tp_IQ4_NL_3, tp_IQ4_NL_4};
static const tile0p_fn k_tp_q8_0[NYP + 1] = {NULL, tp_Q8_0_1, tp_Q8_0_2, tp_Q8_0_3, tp_Q8_0_4};

/* Fewer than LF_GEMM_MIN_N activation rows against the packed Q4_0 /
 * IQ4_NL / Q8_0 groups [i0, i1) (tensor/pack.h): the 16 rows of a group are
 * the lanes, no panel, no horizontal sum; the same chains as the plain
 * kernels, so the same bits. */
void lf_vnni_gemv_packed0(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    (void)tmp;
    const tile0p_fn *f = c->type == LF_TYPE_Q4_0 ? k_tp_q4_0 : c->type == LF_TYPE_Q8_0 ? k_tp_q8_0 : k_tp_iq4_nl;
    for (int64_t j = 0; j < c->n; j += NYP) {
        const int J = c->n - j < NYP ? (int)(c->n - j) : NYP;
        for (int64_t i = i0; i < i1; i += P)
            f[J](c, i, j);
    }
}

static size_t panel0_bytes(int64_t k) {
    int64_t nbp = (k / 32 + 1) / 2 * 2; /* room for an odd block's partner */
    return (size_t)(nbp * 32 * P) + 2 * sizeof(float) * (size_t)(nbp * P);
}

/* Cache blocking: up to PG panels are decoded, then swept by blocks of
 * activation rows small enough to stay in L2 with them. */
enum { PG_MAX = 8 };

static int panels_per_group(size_t panel_bytes) {
    size_t pg = (384u << 10) / panel_bytes;
    return pg < 1 ? 1 : pg > PG_MAX ? PG_MAX : (int)pg;
}

static int64_t act_block(size_t arow, int jmult) {
    int64_t jb = (int64_t)((192u << 10) / arow) / jmult * jmult;
    return jb < jmult ? jmult : jb;
}

static void gemm0(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    const int64_t k = c->k, nbp = (k / 32 + 1) / 2 * 2;
    const size_t pb = panel0_bytes(k);
    const int pg = panels_per_group(pb), has_min = lf_qinfo_of(c->type).has_min;
    const int64_t jb = act_block(lf_a0_row_bytes(k), J0);
    for (int64_t ig = i0; ig < i1; ig += (int64_t)pg * P) {
        int np = 0;
        for (int64_t i = ig; i < i1 && np < pg; i += P, np++) {
            uint8_t *pu = (uint8_t *)tmp + np * pb;
            float *pd = (float *)(pu + nbp * 32 * P);
            if (i + P <= c->packed)
                panel0_packed(c, i, pu, pd, pd + nbp * P);
            else
                panel0(c, i, i1 - i < P ? (int)(i1 - i) : P, pu, pd, pd + nbp * P);
        }
        prefetch_next_group(c, ig + (int64_t)np * P, pg, i1);
        for (int64_t jb0 = 0; jb0 < c->n; jb0 += jb) {
            int64_t jb1 = jb0 + jb < c->n ? jb0 + jb : c->n;
            for (int p = 0; p < np; p++) {
                int64_t i = ig + (int64_t)p * P;
                const uint8_t *pu = (const uint8_t *)tmp + p * pb;
                const float *pd = (const float *)(pu + nbp * 32 * P);
                for (int64_t j = jb0; j < jb1; j += J0) {
                    int J = jb1 - j < J0 ? (int)(jb1 - j) : J0;
                    k_tile0[J](c, i, i1 - i < P ? (int)(i1 - i) : P, j, has_min, pu, pd, pd + nbp * P);
                }
            }
        }
    }
}

/* ---------------------------------------------------- K-quant types */

/* Panel: codes [k/4][16][4]; per super-block the int32 sub-block scales
 * [16][16 rows], int16 min pairs [8][16 rows], d [16], -dmin [16]. */
typedef struct kpanel {
    int32_t sc[16][P];
    int32_t mp[8][P];
    float d[P], ndmin[P];
} kpanel;

static void panelk(const lf_mm_call *c, int64_t i0, int rows, uint8_t *pu, kpanel *pk) {
    const int64_t k = c->k, nb = k / 256;
    prefetch_rows(c, i0, rows);
    for (int64_t b = 0; b < nb; b++) {
        __m512i u[4][P];
        for (int r = 0; r < P; r++) {
            const uint8_t *w = (const uint8_t *)c->w + (size_t)(i0 + (r < rows ? r : 0)) * c->ldw;
            deck x;
            switch (c->type) {
            case LF_TYPE_Q2_K: x = decodek(LF_TYPE_Q2_K, w + b * LF_Q2_K_BYTES, 0); break;
            case LF_TYPE_Q3_K: x = decodek(LF_TYPE_Q3_K, w + b * LF_Q3_K_BYTES, 0); break;
            case LF_TYPE_Q4_K: x = decodek(LF_TYPE_Q4_K, w + b * LF_Q4_K_BYTES, 0); break;
            case LF_TYPE_Q5_K: x = decodek(LF_TYPE_Q5_K, w + b * LF_Q5_K_BYTES, 0); break;
            case LF_TYPE_Q6_K: x = decodek(LF_TYPE_Q6_K, w + b * LF_Q6_K_BYTES, 0); break;
            default: x = decodek(LF_TYPE_IQ4_XS, w + b * LF_IQ4_XS_BYTES, 0); break;
            }
            if (r >= rows) { /* a padding row: zero codes and scales */
                memset(&x, 0, sizeof x);
            }
            LF_UNROLL
            for (int g = 0; g < 4; g++)
                u[g][r] = x.u[g];
            int32_t sc[16], mp[8];
            _mm512_storeu_si512(sc, x.all);
            _mm256_storeu_si256((__m256i *)mp, x.m16);
            for (int q = 0; q < 16; q++)
                pk[b].sc[q][r] = sc[q];
            for (int q = 0; q < 8; q++)
                pk[b].mp[q][r] = mp[q];
            pk[b].d[r] = x.d;
            pk[b].ndmin[r] = -x.dmin;
        }
        for (int g = 0; g < 4; g++)
            put64x16(pu, 256 * b + 64 * g, u[g]);
    }
}

/* The panel of a packed Q4_K or Q5_K group (tensor/pack.h): the codes
 * split into elements, the scale words spread to lanes. */
LF_INLINE void panelk_kp(const lf_mm_call *c, int type, int64_t i0, uint8_t *pu, kpanel *pk) {
    const int64_t nb = c->k / 256;
    prefetch_rows(c, i0, P);
    const uint8_t *g = (const uint8_t *)c->w + (size_t)i0 * c->ldw;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = g + b * kp_sb(type), *tail = kp_tail(type, p);
        for (int t = 0; t < 32; t++) {
            __m512i lo, hi;
            kp_codes(type, p, t, &lo, &hi);
            _mm512_storeu_si512(pu + (size_t)(64 * b + 2 * t) * P * 4, lo);
            _mm512_storeu_si512(pu + (size_t)(64 * b + 2 * t + 1) * P * 4, hi);
        }
        kp_sc s = kp_words(tail);
        LF_UNROLL
        for (int q = 0; q < 8; q++)
            _mm512_storeu_si512(pk[b].sc[q], kp_scale(&s, q));
        LF_UNROLL
        for (int pp = 0; pp < 4; pp++)
            _mm512_storeu_si512(pk[b].mp[pp], kp_minpair(&s, pp));
        _mm512_storeu_ps(pk[b].d, kp_d(tail));
        _mm512_storeu_ps(pk[b].ndmin, kp_ndmin(tail));
    }
}

/* The panel of a packed Q2_K, Q3_K or Q6_K group. */
LF_INLINE void panelk_p16(const lf_mm_call *c, int type, int64_t i0, uint8_t *pu, kpanel *pk) {
    const int64_t nb = c->k / 256;
    prefetch_rows(c, i0, P);
    const uint8_t *g = (const uint8_t *)c->w + (size_t)i0 * c->ldw;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = g + b * p16_sb(type);
        const p16_sc ws = p16_words(type, p);
        for (int q = 0; q < 16; q++) {
            __m512i cv[4];
            p16_codes(type, p, q, cv);
            LF_UNROLL
            for (int t = 0; t < 4; t++)
                _mm512_storeu_si512(pu + (size_t)(64 * b + 4 * q + t) * P * 4, cv[t]);
            _mm512_storeu_si512(pk[b].sc[q], p16_scale(type, p, &ws, q));
        }
        if (type == LF_TYPE_Q2_K) {
            LF_UNROLL
            for (int pp = 0; pp < 8; pp++)
                _mm512_storeu_si512(pk[b].mp[pp], q2kp_minpair(p, pp));
        }
        _mm512_storeu_ps(pk[b].d, p16_d(type, p));
        _mm512_storeu_ps(pk[b].ndmin, type == LF_TYPE_Q2_K ? q2kp_ndmin(p) : _mm512_setzero_ps());
    }
}

/* The panel of a packed group of the call's type. */
static void panelk_packed(const lf_mm_call *c, int64_t i0, uint8_t *pu, kpanel *pk) {
    switch (c->type) {
    case LF_TYPE_Q2_K: panelk_p16(c, LF_TYPE_Q2_K, i0, pu, pk); break;
    case LF_TYPE_Q3_K: panelk_p16(c, LF_TYPE_Q3_K, i0, pu, pk); break;
    case LF_TYPE_Q6_K: panelk_p16(c, LF_TYPE_Q6_K, i0, pu, pk); break;
    case LF_TYPE_Q5_K: panelk_kp(c, LF_TYPE_Q5_K, i0, pu, pk); break;
    default: panelk_kp(c, LF_TYPE_Q4_K, i0, pu, pk); break;
    }
}

LF_INLINE void tilek(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, int J, int sub, int has_min,
                     const uint8_t *pu, const kpanel *pk) {
    const int64_t k = c->k, nb = k / 256;
    const int nsub = 256 / sub, steps = sub / 4;
    const lf_akn *a[JK];
    LF_UNROLL
    for (int j = 0; j < J; j++)
        a[j] = (const lf_akn *)(c->a + (size_t)(j0 + j) * (size_t)nb * sizeof(lf_akn));
    __m512 acc[JK];
    LF_UNROLL
    for (int j = 0; j < J; j++)
        acc[j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m512i s[JK];
        LF_UNROLL
        for (int j = 0; j < J; j++)
            s[j] = _mm512_setzero_si512();
        for (int q = 0; q < nsub; q++) {
            __m512i p[JK];
            LF_UNROLL
            for (int j = 0; j < J; j++)
                p[j] = has_min ? _mm512_setzero_si512() : _mm512_set1_epi32(a[j][b].init[q]);
            LF_UNROLL
            for (int t = 0; t < steps; t++) {
                __m512i wv = _mm512_load_si512(pu + (size_t)(64 * b + q * steps + t) * P * 4);
                LF_UNROLL
                for (int j = 0; j < J; j++)
                    p[j] = dpbusd_b(p[j], wv, a[j][b].q + sub * q + 4 * t);
            }
            __m512i sc = _mm512_load_si512(pk[b].sc[q]);
            LF_UNROLL
            for (int j = 0; j < J; j++)
                s[j] = _mm512_add_epi32(s[j], _mm512_mullo_epi32(p[j], sc));
        }
        __m512 dw = _mm512_load_ps(pk[b].d);
        LF_UNROLL
        for (int j = 0; j < J; j++) {
            __m512 da = bcastf(&a[j][b].d);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[j]), _mm512_mul_ps(da, dw), acc[j]);
            if (has_min) {
                __m512i mn = _mm512_setzero_si512();
                const int16_t *bs = sub == 16 ? a[j][b].bs16 : a[j][b].bs32;
                LF_UNROLL
                for (int pp = 0; pp < nsub / 2; pp++)
                    mn = _mm512_dpwssd_epi32(mn, _mm512_load_si512(pk[b].mp[pp]), bcast32(bs + 2 * pp));
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mn), _mm512_mul_ps(da, _mm512_load_ps(pk[b].ndmin)),
                                         acc[j]);
            }
        }
    }
    LF_UNROLL
    for (int j = 0; j < J; j++)
        store16(c, j0 + j, i0, rows, acc[j]);
}

#define TILEK(J)                                                                                     \
    static void tk_##J(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, const uint8_t *pu,     \
                       const kpanel *pk) {                                                           \
        lf_qinfo qi = lf_qinfo_of(c->type);                                                          \
        if (qi.sub == 16 && qi.has_min)                                                              \
            tilek(c, i0, rows, j0, J, 16, 1, pu, pk);                                                \
        else if (qi.sub == 16)                                                                       \
            tilek(c, i0, rows, j0, J, 16, 0, pu, pk);                                                \
        else if (qi.has_min)                                                                         \
            tilek(c, i0, rows, j0, J, 32, 1, pu, pk);                                                \
        else                                                                                         \
            tilek(c, i0, rows, j0, J, 32, 0, pu, pk);                                                \
    }
TILEK(1)
TILEK(2)
TILEK(3)
TILEK(4)
TILEK(5)
TILEK(6)

typedef void (*tilek_fn)(const lf_mm_call *, int64_t, int, int64_t, const uint8_t *, const kpanel *);
static const tilek_fn k_tilek[JK + 1] = {NULL, tk_1, tk_2, tk_3, tk_4, tk_5, tk_6};

static size_t panelk_bytes(int64_t k) {
    return (size_t)k * P + (size_t)(k / 256) * sizeof(kpanel);
}

static void gemmk(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    const int64_t k = c->k;
    const size_t pb = panelk_bytes(k);
    const int pg = panels_per_group(pb);
    const int64_t jb = act_block((size_t)(k / 256) * sizeof(lf_akn), JK);
    for (int64_t ig = i0; ig < i1; ig += (int64_t)pg * P) {
        int np = 0;
        for (int64_t i = ig; i < i1 && np < pg; i += P, np++) {
            uint8_t *pu = (uint8_t *)tmp + np * pb;
            if (i + P <= c->packed)
                panelk_packed(c, i, pu, (kpanel *)(pu + (size_t)k * P));
            else
                panelk(c, i, i1 - i < P ? (int)(i1 - i) : P, pu, (kpanel *)(pu + (size_t)k * P));
        }
        prefetch_next_group(c, ig + (int64_t)np * P, pg, i1);
        for (int64_t jb0 = 0; jb0 < c->n; jb0 += jb) {
            int64_t jb1 = jb0 + jb < c->n ? jb0 + jb : c->n;
            for (int p = 0; p < np; p++) {
                int64_t i = ig + (int64_t)p * P;
                const uint8_t *pu = (const uint8_t *)tmp + p * pb;
                for (int64_t j = jb0; j < jb1; j += JK) {
                    int J = jb1 - j < JK ? (int)(jb1 - j) : JK;
                    k_tilek[J](c, i, i1 - i < P ? (int)(i1 - i) : P, j, pu, (const kpanel *)(pu + (size_t)k * P));
                }
            }
        }
    }
}

/* ------------------------------------------------------------ entry */

size_t lf_vnni_gemm_tmp(const lf_mm_call *c) {
    size_t pb = lf_qinfo_of(c->type).is_k ? panelk_bytes(c->k) : panel0_bytes(c->k);
    return pb * (size_t)panels_per_group(pb);
}

void lf_vnni_gemm(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    if (lf_qinfo_of(c->type).is_k)
        gemmk(c, i0, i1, tmp);
    else
        gemm0(c, i0, i1, tmp);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif /* __x86_64__ */
