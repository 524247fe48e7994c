/* kernels_avx512vnni.c — the AVX-512 VNNI + BF16 kernel set (Ice Lake,
 * Sapphire Rapids, Zen 4/5): matrix-vector kernels for up to 15 activation
 * rows, and registration. Matrix-matrix kernels, and the matrix-vector
 * products of packed Q4_0 / IQ4_NL / Q8_0: kernels_avx512vnni_gemm.c.
 *
 * Matrix-vector: lanes walk along k. Each weight block is decoded once
 * (kernels_avx512vnni_dec.h) and dotted against up to four activation rows
 * with vpdpbusd (u8 codes x s8 activations, int32 sums started at -o·Σa),
 * one float FMA per block pair per row; one horizontal sum per output. */
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
#include "tensor/pack.h"

/* Matrix-vector products give bit for bit the results of the
 * matrix-matrix kernels (so a row's output never depends on how many rows
 * are in the batch): integer sums per block (or super-block) are exact and
 * the float accumulation follows one fixed order. For 32-element blocks:
 * four chains, block b feeding chain b % 4 with acc = fma(float(isum_b),
 * d_a·d_w, acc) (then acc = fma(s_a, m_w, acc) for Q4_1/Q5_1), summed as
 * (c0 + c1) + (c2 + c3) at the end; for super-blocks one chain. Here the
 * integer sums come from lanes along k, eight blocks are reduced at once
 * (tree4) and the four chains are the lanes of one xmm. Each weight row
 * is read once, front to back (interleaving nearby rows confuses the
 * hardware prefetcher), and serves up to NY activation rows. */

enum { NY = 4 };

/* Four vectors of two blocks each (lanes 0-7, 8-15) -> the eight block
 * sums in order. */
LF_INLINE __m256i tree4(const __m512i *v) {
    __m512i a0 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
    __m512i a1 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
    __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi64(a0, a1), _mm512_unpackhi_epi64(a0, a1));
    /* b quarters: [v0..v3 lanes 0-3, v0..v3 lanes 4-7, ... 8-11, ... 12-15] */
    __m512i x = _mm512_add_epi32(b, _mm512_shuffle_i32x4(b, b, 0xb1));
    /* x quarter 0: first blocks of v0..v3; quarter 2: second blocks */
    __m256i y = _mm512_castsi512_si256(_mm512_shuffle_i32x4(x, x, 0x08));
    return _mm256_permutevar8x32_epi32(y, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Scale fields of n (<= 8) consecutive blocks (fp16 at `field`, or E8M0),
 * zero past n. */
LF_INLINE __m256 block_scales(int type, const uint8_t *w, int n, int field) {
    const int bs = bytes0(type);
    if (type == LF_TYPE_MXFP4 && n == 8) {
        /* the eight E8M0 bytes (offsets 17t < 128) by one vpermt2b, then
         * e8m0_half_f on each lane: (e - 1) << 23, or a subnormal for e < 2 */
        static const uint8_t ix[64] = {0, 17, 34, 51, 68, 85, 102, 119};
        __m512i g = _mm512_permutex2var_epi8(_mm512_loadu_si512(w), _mm512_loadu_si512(ix),
                                             _mm512_loadu_si512(w + 64));
        __m256i e = _mm256_cvtepu8_epi32(_mm512_castsi512_si128(g));
        __m256i big = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
        __m256i small = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
        __mmask8 sub = _mm256_cmplt_epu32_mask(e, _mm256_set1_epi32(2));
        return _mm256_castsi256_ps(_mm256_mask_blend_epi32(sub, big, small));
    }
    if (type == LF_TYPE_MXFP4) {
        float f[8] = {0};
        for (int t = 0; t < n; t++)
            f[t] = e8m0_half_f(w[t * bs]);
        return _mm256_loadu_ps(f);
    }
    if (n == 8) {
        /* the eight fields lie within 8 * bs <= 272 bytes: words picked with
         * vpermt2w from two (or four) vectors; loads stop at the group's end */
        const int64_t end = 8 * bs;
        uint16_t ix[8];
        __mmask8 hi = 0;
        for (int t = 0; t < 8; t++) {
            int wd = (t * bs + field) / 2;
            ix[t] = (uint16_t)(wd & 63);
            hi |= (__mmask8)((wd >= 64) << t);
        }
        const __m512i idx = _mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)ix));
        __m512i z0 = _mm512_loadu_si512(w);
        __m512i z1 = _mm512_maskz_loadu_epi8(end >= 128 ? ~0ull : ~0ull >> (128 - end), w + 64);
        __m512i h = _mm512_permutex2var_epi16(z0, idx, z1);
        if (hi) {
            __m512i z2 = _mm512_maskz_loadu_epi8(end >= 192 ? ~0ull : ~0ull >> (192 - end), w + 128);
            __m512i z3 = end > 192 ? _mm512_maskz_loadu_epi8(~0ull >> (256 - (end < 256 ? end : 256)), w + 192)
                                   : _mm512_setzero_si512();
            h = _mm512_mask_mov_epi16(h, hi, _mm512_permutex2var_epi16(z2, idx, z3));
        }
        return _mm256_cvtph_ps(_mm512_castsi512_si128(h));
    }
    uint16_t h[8] = {0};
    for (int t = 0; t < n; t++)
        h[t] = lf_rd_u16(w + t * bs + field);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

/* Blocks [b, b + nblk) of one weight row against ny activation rows. */
LF_INLINE void gemv0_group(int type, const uint8_t *w, int64_t b, int nblk, int ny, const lf_a0row *a,
                           __m128 *acc) {
    const int bs = bytes0(type);
    const int has_min = lf_qinfo_of(type).has_min;
    __m512i v[NY][4];
    LF_UNROLL
    for (int p = 0; p < 4; p++) {
        if (2 * p >= nblk) {
            LF_UNROLL
            for (int y = 0; y < ny; y++)
                v[y][p] = _mm512_setzero_si512();
            continue;
        }
        __m512i u = 2 * p + 1 < nblk ? decode0(type, w + (b + 2 * p) * bs, 1).u
                                     : decode0(type, w + (b + 2 * p) * bs, 0).u;
        LF_UNROLL
        for (int y = 0; y < ny; y++)
            v[y][p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, _mm512_load_si512(a[y].q + 32 * (b + 2 * p)));
    }
    __m256 dw = block_scales(type, w + b * bs, nblk, 0);
    __m256 mw = has_min ? block_scales(type, w + b * bs, nblk, 2) : _mm256_setzero_ps();
    LF_UNROLL
    for (int y = 0; y < ny; y++) {
        __m256i isum = tree4(v[y]);
        if (!has_min) /* the offset: -o·Σa per block (zero past nb) */
            isum = _mm256_add_epi32(isum, _mm256_load_si256((const __m256i *)(a[y].x + b)));
        __m256 f = _mm256_cvtepi32_ps(isum);
        __m256 s = _mm256_mul_ps(_mm256_load_ps(a[y].d + b), dw);
        /* blocks past nb have f = 0, s = 0: they add exact zeros */
        acc[y] = _mm_fmadd_ps(_mm256_castps256_ps128(f), _mm256_castps256_ps128(s), acc[y]);
        if (has_min)
            acc[y] = _mm_fmadd_ps(_mm_load_ps(a[y].s + b), _mm256_castps256_ps128(mw), acc[y]);
        if (nblk > 4) {
            acc[y] = _mm_fmadd_ps(_mm256_extractf128_ps(f, 1), _mm256_extractf128_ps(s, 1), acc[y]);
            if (has_min)
                acc[y] = _mm_fmadd_ps(_mm_load_ps(a[y].s + b + 4), _mm256_extractf128_ps(mw, 1), acc[y]);
        }
    }
}

LF_INLINE void gemv0(const lf_mm_call *c, int64_t i0, int64_t i1, int type, int ny, int64_t j0, void *tmp) {
    (void)tmp;
    const int64_t nb = c->k / 32;
    lf_a0row a[NY];
    for (int y = 0; y < ny; y++)
        a[y] = lf_a0_row(c->a + (size_t)(j0 + y) * lf_a0_row_bytes(c->k), c->k);
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *w = (const uint8_t *)c->w + (size_t)i * c->ldw;
        __m128 acc[NY];
        LF_UNROLL
        for (int y = 0; y < ny; y++)
            acc[y] = _mm_setzero_ps();
        int64_t b = 0;
        for (; b + 8 <= nb; b += 8)
            gemv0_group(type, w, b, 8, ny, a, acc);
        if (b < nb)
            gemv0_group(type, w, b, (int)(nb - b), ny, a, acc);
        LF_UNROLL
        for (int y = 0; y < ny; y++) {
            float l[4];
            _mm_storeu_ps(l, acc[y]);
            c->c[(size_t)(j0 + y) * c->ldc + (size_t)i] = (l[0] + l[1]) + (l[2] + l[3]);
        }
    }
}

/* ---------------------------------------------------- K-quant types */

LF_INLINE int32_t hsum8i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1)));
}

/* The exact integer sums of one super-block against activation a, before
 * the horizontal sums: 16 lanes whose sum is Σ_k sc_k·Σ u·a (less
 * o·Σ_k sc_k·bs_k for offset types), and for types with mins the 8 lanes of
 * Σ_k m_k·bs_k. */
LF_INLINE __m512i ksumv(int type, const deck *w, const lf_akn *a, __m256i *mins) {
    lf_qinfo qi = lf_qinfo_of(type);
    __m256i bs = _mm256_load_si256((const __m256i *)(qi.sub == 16 ? a->bs16 : a->bs32));
    __m256i md = _mm256_madd_epi16(w->m16, bs);
    __m512i s = _mm512_setzero_si512();
    if (!qi.has_min)
        s = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(md, qi.log2o)));
    else
        *mins = md;
    LF_UNROLL
    for (int g = 0; g < 4; g++) {
        __m512i i = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w->u[g], _mm512_load_si512(a->q + 64 * g));
        s = _mm512_add_epi32(s, _mm512_mullo_epi32(i, w->sc[g]));
    }
    return s;
}

/* The same sums reduced: the integer sum, and *mins for types with mins. */
LF_INLINE int32_t ksum(int type, const deck *w, const lf_akn *a, int32_t *mins) {
    __m256i m;
    __m512i s = ksumv(type, w, a, &m);
    if (lf_qinfo_of(type).has_min)
        *mins = hsum8i(m);
    return _mm512_reduce_add_epi32(s);
}

/* Eight vectors -> their eight lane sums, in order. */
LF_INLINE __m256i red8(const __m512i *s) {
    __m512i a[4], b[2];
    LF_UNROLL
    for (int t = 0; t < 4; t++)
        a[t] = _mm512_add_epi32(_mm512_unpacklo_epi32(s[2 * t], s[2 * t + 1]),
                                _mm512_unpackhi_epi32(s[2 * t], s[2 * t + 1]));
    LF_UNROLL
    for (int u = 0; u < 2; u++)
        b[u] = _mm512_add_epi32(_mm512_unpacklo_epi64(a[2 * u], a[2 * u + 1]),
                                _mm512_unpackhi_epi64(a[2 * u], a[2 * u + 1]));
    /* b[u], 128-bit lane l: the lane-l partial sums of s[4u .. 4u+3] */
    __m512i c = _mm512_add_epi32(_mm512_shuffle_i32x4(b[0], b[1], 0x44), _mm512_shuffle_i32x4(b[0], b[1], 0xee));
    __m512i d = _mm512_add_epi32(_mm512_shuffle_i32x4(c, c, 0x88), _mm512_shuffle_i32x4(c, c, 0xdd));
    return _mm512_castsi512_si256(d);
}

LF_INLINE __m256i red8y(const __m256i *s) {
    __m256i a[4], b[2];
    LF_UNROLL
    for (int t = 0; t < 4; t++)
        a[t] = _mm256_add_epi32(_mm256_unpacklo_epi32(s[2 * t], s[2 * t + 1]),
                                _mm256_unpackhi_epi32(s[2 * t], s[2 * t + 1]));
    LF_UNROLL
    for (int u = 0; u < 2; u++)
        b[u] = _mm256_add_epi32(_mm256_unpacklo_epi64(a[2 * u], a[2 * u + 1]),
                                _mm256_unpackhi_epi64(a[2 * u], a[2 * u + 1]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(b[0], b[1], 0x20),
                            _mm256_permute2x128_si256(b[0], b[1], 0x31));
}

enum { KG = 8 }; /* super-blocks whose horizontal sums are done together */

/* Rows are taken RB at a time. Each row is read once, front to back, and
 * its exact integer sums per super-block (and the d_a·d_w, d_a·-dmin
 * factors) are parked in tmp, [y][b][row]; then the float chains of the RB
 * rows run as the lanes of one vector: the same operations in the same
 * order as one scalar chain per row, but the RB chains no longer wait on
 * each other (one row's chain, two dependent FMAs per super-block, was the
 * critical path). */
enum { RB = 16 };

typedef struct kpark {
    int32_t *s, *m;  /* [NY][nb][RB] */
    float *fd, *fm;
} kpark;

static size_t kpark_bytes(int64_t k) {
    return 4 * sizeof(float) * (size_t)NY * (size_t)(k / 256) * RB;
}

static kpark kpark_of(void *tmp, int64_t nb) {
    size_t n = (size_t)NY * (size_t)nb * RB;
    int32_t *p = tmp;
    return (kpark){p, p + n, (float *)(p + 2 * n), (float *)(p + 3 * n)};
}

LF_INLINE void gemvk(const lf_mm_call *c, int64_t i0, int64_t i1, int type, int ny, int64_t j0, void *tmp) {
    const int64_t nb = c->k / 256;
    const int bs = bytesk(type);
    const int has_min = lf_qinfo_of(type).has_min;
    const kpark pk = kpark_of(tmp, nb);
    const lf_akn *a[NY];
    for (int y = 0; y < ny; y++)
        a[y] = (const lf_akn *)(c->a + (size_t)(j0 + y) * (size_t)nb * sizeof(lf_akn));
    for (int64_t ib = i0; ib < i1; ib += RB) {
        const int rows = i1 - ib < RB ? (int)(i1 - ib) : RB;
        for (int r = 0; r < rows; r++) {
            const uint8_t *w = (const uint8_t *)c->w + (size_t)(ib + r) * c->ldw;
            if (ny == 1) { /* horizontal sums of eight super-blocks at once */
                for (int64_t b0 = 0; b0 < nb; b0 += KG) {
                    const int G = nb - b0 < KG ? (int)(nb - b0) : KG;
                    __m512i sv[KG];
                    __m256i mv[KG];
                    LF_UNROLL
                    for (int t = 0; t < KG; t++) {
                        if (t >= G) {
                            sv[t] = _mm512_setzero_si512();
                            mv[t] = _mm256_setzero_si256();
                            continue;
                        }
                        const int64_t b = b0 + t;
                        deck x = decodek(type, w + b * bs, 1);
                        sv[t] = ksumv(type, &x, a[0] + b, &mv[t]);
                        size_t at = (size_t)b * RB + (size_t)r;
                        float da = a[0][b].d;
                        pk.fd[at] = da * x.d;
                        if (has_min)
                            pk.fm[at] = da * -x.dmin;
                    }
                    int32_t ss[KG], ms[KG];
                    _mm256_storeu_si256((__m256i *)ss, red8(sv));
                    if (has_min)
                        _mm256_storeu_si256((__m256i *)ms, red8y(mv));
                    for (int t = 0; t < G; t++) {
                        pk.s[(size_t)(b0 + t) * RB + (size_t)r] = ss[t];
                        if (has_min)
                            pk.m[(size_t)(b0 + t) * RB + (size_t)r] = ms[t];
                    }
                }
                continue;
            }
            for (int64_t b = 0; b < nb; b++) {
                deck x = decodek(type, w + b * bs, 1);
                LF_UNROLL
                for (int y = 0; y < ny; y++) {
                    int32_t mn = 0;
                    size_t at = ((size_t)y * (size_t)nb + (size_t)b) * RB + (size_t)r;
                    pk.s[at] = ksum(type, &x, a[y] + b, &mn);
                    float da = a[y][b].d;
                    pk.fd[at] = da * x.d;
                    if (has_min) {
                        pk.m[at] = mn;
                        pk.fm[at] = da * -x.dmin;
                    }
                }
            }
        }
        /* lanes past `rows` hold stale values; they are never stored */
        for (int y = 0; y < ny; y++) {
            __m512 acc = _mm512_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                size_t at = ((size_t)y * (size_t)nb + (size_t)b) * RB;
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(pk.s + at)), _mm512_load_ps(pk.fd + at), acc);
                if (has_min)
                    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(pk.m + at)), _mm512_load_ps(pk.fm + at),
                                          acc);
            }
            _mm512_mask_storeu_ps(c->c + (size_t)(j0 + y) * c->ldc + (size_t)ib, (__mmask16)((1u << rows) - 1), acc);
        }
    }
}

/* ------------------------------- packed Q4_K / Q5_K groups (tensor/pack.h) */

/* Whole packed groups [i0, i1) against ny activation rows: the 16 rows of
 * a group are the lanes, so there is no horizontal sum and no scale
 * gather. The integer sums per super-block are the exact ones and each
 * row's float chain is gemvk's (acc = fma(S, d_a·d_w, acc), then
 * fma(M, d_a·-dmin, acc)): bit for bit the results of the plain layout. */
LF_INLINE void gemvp(const lf_mm_call *c, int64_t i0, int64_t i1, int type, int ny, int64_t j0, void *tmp) {
    (void)tmp;
    const int64_t nb = c->k / 256;
    const lf_akn *a[NY];
    for (int y = 0; y < ny; y++)
        a[y] = (const lf_akn *)(c->a + (size_t)(j0 + y) * (size_t)nb * sizeof(lf_akn));
    for (int64_t i = i0; i < i1; i += 16) {
        const uint8_t *g = (const uint8_t *)c->w + (size_t)i * c->ldw;
        __m512 acc[NY];
        LF_UNROLL
        for (int y = 0; y < ny; y++)
            acc[y] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *p = g + b * kp_sb(type), *tail = kp_tail(type, p);
            kp_sc s = kp_words(tail);
            __m512i S[NY];
            LF_UNROLL
            for (int y = 0; y < ny; y++)
                S[y] = _mm512_setzero_si512();
            LF_UNROLL
            for (int q = 0; q < 8; q++) {
                __m512i P[NY];
                LF_UNROLL
                for (int y = 0; y < ny; y++)
                    P[y] = _mm512_setzero_si512();
                LF_UNROLL
                for (int t = 0; t < 4; t++) {
                    __m512i lo, hi;
                    kp_codes(type, p, 4 * q + t, &lo, &hi);
                    LF_UNROLL
                    for (int y = 0; y < ny; y++) {
                        P[y] = dpbusd_b(P[y], lo, a[y][b].q + 32 * q + 8 * t);
                        P[y] = dpbusd_b(P[y], hi, a[y][b].q + 32 * q + 8 * t + 4);
                    }
                }
                __m512i sc = kp_scale(&s, q);
                LF_UNROLL
                for (int y = 0; y < ny; y++)
                    S[y] = _mm512_add_epi32(S[y], _mm512_mullo_epi32(P[y], sc));
            }
            __m512 dw = kp_d(tail), ndm = kp_ndmin(tail);
            __m512i mp[4];
            LF_UNROLL
            for (int pp = 0; pp < 4; pp++)
                mp[pp] = kp_minpair(&s, pp);
            LF_UNROLL
            for (int y = 0; y < ny; y++) {
                __m512 da = _mm512_set1_ps(a[y][b].d);
                acc[y] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[y]), _mm512_mul_ps(da, dw), acc[y]);
                __m512i mn = _mm512_setzero_si512();
                LF_UNROLL
                for (int pp = 0; pp < 4; pp++)
                    mn = _mm512_dpwssd_epi32(mn, mp[pp], bcast32(a[y][b].bs32 + 2 * pp));
                acc[y] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mn), _mm512_mul_ps(da, ndm), acc[y]);
            }
        }
        LF_UNROLL
        for (int y = 0; y < ny; y++)
            _mm512_storeu_ps(c->c + (size_t)(j0 + y) * c->ldc + (size_t)i, acc[y]);
    }
}

/* The same for packed Q2_K, Q3_K and Q6_K: 16-element sub-blocks, sums
 * started at -o·Σa (Q3_K, Q6_K), Q2_K's mins as gemvp's. */
LF_INLINE void gemvp16(const lf_mm_call *c, int64_t i0, int64_t i1, int type, int ny, int64_t j0, void *tmp) {
    (void)tmp;
    const int64_t nb = c->k / 256;
    const int has_min = type == LF_TYPE_Q2_K;
    const lf_akn *a[NY];
    for (int y = 0; y < ny; y++)
        a[y] = (const lf_akn *)(c->a + (size_t)(j0 + y) * (size_t)nb * sizeof(lf_akn));
    for (int64_t i = i0; i < i1; i += 16) {
        const uint8_t *g = (const uint8_t *)c->w + (size_t)i * c->ldw;
        __m512 acc[NY];
        LF_UNROLL
        for (int y = 0; y < ny; y++)
            acc[y] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            /* one stream (the layout is in reading order): the hardware
             * prefetcher follows it, and a software prefetch here cost 20% */
            const uint8_t *p = g + b * p16_sb(type);
            const p16_sc ws = p16_words(type, p);
            __m512i S[NY];
            LF_UNROLL
            for (int y = 0; y < ny; y++)
                S[y] = _mm512_setzero_si512();
            LF_UNROLL
            for (int q = 0; q < 16; q++) {
                __m512i P[NY], cv[4];
                LF_UNROLL
                for (int y = 0; y < ny; y++)
                    P[y] = has_min ? _mm512_setzero_si512() : _mm512_set1_epi32(a[y][b].init[q]);
                p16_codes(type, p, q, cv);
                LF_UNROLL
                for (int t = 0; t < 4; t++)
                    LF_UNROLL
                    for (int y = 0; y < ny; y++)
                        P[y] = dpbusd_b(P[y], cv[t], a[y][b].q + 16 * q + 4 * t);
                __m512i sc = p16_scale(type, p, &ws, q);
                LF_UNROLL
                for (int y = 0; y < ny; y++)
                    S[y] = _mm512_add_epi32(S[y], _mm512_mullo_epi32(P[y], sc));
            }
            __m512 dw = p16_d(type, p);
            LF_UNROLL
            for (int y = 0; y < ny; y++) {
                __m512 da = _mm512_set1_ps(a[y][b].d);
                acc[y] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[y]), _mm512_mul_ps(da, dw), acc[y]);
                if (!has_min)
                    continue;
                __m512i mn = _mm512_setzero_si512();
                LF_UNROLL
                for (int pp = 0; pp < 8; pp++)
                    mn = _mm512_dpwssd_epi32(mn, q2kp_minpair(p, pp), bcast32(a[y][b].bs16 + 2 * pp));
                acc[y] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mn), _mm512_mul_ps(da, q2kp_ndmin(p)), acc[y]);
            }
        }
        LF_UNROLL
        for (int y = 0; y < ny; y++)
            _mm512_storeu_ps(c->c + (size_t)(j0 + y) * c->ldc + (size_t)i, acc[y]);
    }
}

/* --------------------------------------------------------- float types */

/* Lanes along k for every row count: an output is one accumulator over k
 * in steps of 16 floats (F32, F16) or 32 bf16, then a fixed reduction; a
 * tile shares each weight vector among up to RNF activation rows and each
 * activation vector among up to RMF weight rows. */
enum { RMF = 4, RNF = 6 };

LF_INLINE __m512 wvec(int type, const uint8_t *w, int64_t e, __mmask16 m) {
    if (type == LF_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + 2 * e));
    return _mm512_maskz_loadu_ps(m, w + 4 * e);
}

/* acc[y] += w · av[y] for the rn activation rows. */
LF_INLINE void fma_rows(__m512 *acc, __m512 w, const __m512 *av, int rn) {
    LF_UNROLL
    for (int y = 0; y < rn; y++)
        acc[y] = _mm512_fmadd_ps(w, av[y], acc[y]);
}

/* Each output's lanes summed: c[j + y][i + x] = Σ acc[x][y]. */
LF_INLINE void store_sums(const lf_mm_call *c, int64_t i, int rm, int64_t j, int rn, __m512 (*acc)[RNF]) {
    LF_UNROLL
    for (int x = 0; x < rm; x++)
        LF_UNROLL
        for (int y = 0; y < rn; y++)
            c->c[(size_t)(j + y) * c->ldc + (size_t)(i + x)] = _mm512_reduce_add_ps(acc[x][y]);
}

/* pf, when not NULL, is the first of the bytes [pf, pf + rm·ldw) of the
 * next tile's rows: a line or more of them is prefetched per step, so they
 * arrive while this tile computes. Several rows read side by side are
 * several short streams, one page each at k = 2048, which the hardware
 * prefetcher does not follow in time (F16 from memory ran at half the
 * rate of one row read alone). */
LF_INLINE void tilef(const lf_mm_call *c, int64_t i, int rm, int64_t j, int rn, int type, const uint8_t *pf) {
    const int64_t k = c->k;
    const size_t pstep = (size_t)rm * (type == LF_TYPE_F16 ? 32 : 64); /* next-tile bytes per step */
    const size_t arow = lf_x86_act_bytes(type, k, 1);
    const uint8_t *w[RMF];
    for (int x = 0; x < rm; x++)
        w[x] = (const uint8_t *)c->w + (size_t)(i + x) * c->ldw;
    __m512 acc[RMF][RNF];
    LF_UNROLL
    for (int x = 0; x < rm; x++)
        LF_UNROLL
        for (int y = 0; y < rn; y++)
            acc[x][y] = _mm512_setzero_ps();
    if (type == LF_TYPE_BF16) {
        for (int64_t e = 0; e < k; e += 32) {
            __mmask32 m = k - e >= 32 ? 0xffffffffu : (__mmask32)((1u << (k - e)) - 1);
            __m512bh av[RNF];
            if (pf)
                for (size_t o = 0; o < pstep; o += 64)
                    _mm_prefetch((const char *)pf + (size_t)(e / 32) * pstep + o, _MM_HINT_T0);
            LF_UNROLL
            for (int y = 0; y < rn; y++)
                av[y] = (__m512bh)_mm512_load_si512((const uint16_t *)(c->a + (size_t)(j + y) * arow) + e);
            LF_UNROLL
            for (int x = 0; x < rm; x++) {
                __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, w[x] + 2 * e);
                LF_UNROLL
                for (int y = 0; y < rn; y++)
                    acc[x][y] = _mm512_dpbf16_ps(acc[x][y], wv, av[y]);
            }
        }
    } else {
        for (int64_t e = 0; e < k; e += 16) {
            __mmask16 m = k - e >= 16 ? 0xffff : (__mmask16)((1u << (k - e)) - 1);
            __m512 av[RNF];
            if (pf)
                for (size_t o = 0; o < pstep; o += 64)
                    _mm_prefetch((const char *)pf + (size_t)(e / 16) * pstep + o, _MM_HINT_T0);
            LF_UNROLL
            for (int y = 0; y < rn; y++)
                av[y] = _mm512_load_ps((const float *)(c->a + (size_t)(j + y) * arow) + e);
            LF_UNROLL
            for (int x = 0; x < rm; x++)
                fma_rows(acc[x], wvec(type, w[x], e, m), av, rn);
        }
    }
    store_sums(c, i, rm, j, rn, acc);
}

/* The shapes (rm, rn) of one type; odd ones fall back to 1 x 1. */
#define TILEF_RN(T, RM)                                                   \
    case RM * 8 + 6: tilef(c, i, RM, j, 6, LF_TYPE_##T, pf); break;       \
    case RM * 8 + 5: tilef(c, i, RM, j, 5, LF_TYPE_##T, pf); break;       \
    case RM * 8 + 4: tilef(c, i, RM, j, 4, LF_TYPE_##T, pf); break;       \
    case RM * 8 + 3: tilef(c, i, RM, j, 3, LF_TYPE_##T, pf); break;       \
    case RM * 8 + 2: tilef(c, i, RM, j, 2, LF_TYPE_##T, pf); break;       \
    case RM * 8 + 1: tilef(c, i, RM, j, 1, LF_TYPE_##T, pf); break;
#define TILEF_CASES(T)                                                                                     \
    static void tilef_##T(const lf_mm_call *c, int64_t i, int rm, int64_t j, int rn, const uint8_t *pf) { \
        switch (rm * 8 + rn) {                                                                             \
            TILEF_RN(T, 4)                                                                                 \
            TILEF_RN(T, 1)                                                                                 \
        default:                                                                                           \
            for (int x = 0; x < rm; x++)                                                                   \
                for (int y = 0; y < rn; y++)                                                               \
                    tilef(c, i + x, 1, j + y, 1, LF_TYPE_##T, NULL);                                       \
        }                                                                                                  \
    }
TILEF_CASES(F32)
TILEF_CASES(F16)
TILEF_CASES(BF16)

/* Packed F16 / BF16 (tensor/pack.h): rows r0 .. r0+rm-1 of the 16-row
 * group g (output rows i ..), chunk ch of row r at g + 1024 ch + 64 r.
 * Each output's sum is tilef's, step for step; only the reads differ. */
LF_INLINE void tilefp(const lf_mm_call *c, const uint8_t *g, int64_t i, int r0, int rm, int64_t j, int rn, int type) {
    const int64_t chunks = c->k / 32;
    const size_t arow = lf_x86_act_bytes(type, c->k, 1);
    const char *a = c->a + (size_t)j * arow;
    __m512 acc[16][RNF];
    LF_UNROLL
    for (int x = 0; x < rm; x++)
        LF_UNROLL
        for (int y = 0; y < rn; y++)
            acc[x][y] = _mm512_setzero_ps();
    for (int64_t ch = 0; ch < chunks; ch++) {
        const uint8_t *p = g + (size_t)ch * 1024 + 64 * (size_t)r0;
        if (type == LF_TYPE_BF16) {
            __m512bh av[RNF];
            LF_UNROLL
            for (int y = 0; y < rn; y++)
                av[y] = (__m512bh)_mm512_load_si512((const uint16_t *)(a + (size_t)y * arow) + 32 * ch);
            LF_UNROLL
            for (int x = 0; x < rm; x++) {
                __m512bh wv = (__m512bh)_mm512_loadu_si512(p + 64 * x);
                LF_UNROLL
                for (int y = 0; y < rn; y++)
                    acc[x][y] = _mm512_dpbf16_ps(acc[x][y], wv, av[y]);
            }
            continue;
        }
        LF_UNROLL
        for (int h = 0; h < 2; h++) {
            __m512 av[RNF];
            LF_UNROLL
            for (int y = 0; y < rn; y++)
                av[y] = _mm512_load_ps((const float *)(a + (size_t)y * arow) + 32 * ch + 16 * h);
            LF_UNROLL
            for (int x = 0; x < rm; x++)
                fma_rows(acc[x], halves16(p + 64 * x + 32 * h), av, rn);
        }
    }
    store_sums(c, i, rm, j, rn, acc);
}

/* Packed groups [i0, i1) for up to RNF activation rows: one vector a
 * group of 16 rows abreast, more 4 rows at a time. */
#define GEMVFP(T)                                                                        \
    static void gemvfp_##T(const lf_mm_call *c, int64_t i0, int64_t i1) {                \
        for (int64_t ig = i0; ig < i1; ig += LF_PACK_ROWS) {                              \
            const uint8_t *g = (const uint8_t *)c->w + (size_t)ig * c->ldw;               \
            for (int r0 = 0; r0 < LF_PACK_ROWS; r0 += c->n == 1 ? LF_PACK_ROWS : 4)       \
                switch (c->n) {                                                           \
                case 1: tilefp(c, g, ig, 0, 16, 0, 1, LF_TYPE_##T); break;                \
                case 2: tilefp(c, g, ig + r0, r0, 4, 0, 2, LF_TYPE_##T); break;           \
                case 3: tilefp(c, g, ig + r0, r0, 4, 0, 3, LF_TYPE_##T); break;           \
                case 4: tilefp(c, g, ig + r0, r0, 4, 0, 4, LF_TYPE_##T); break;           \
                case 5: tilefp(c, g, ig + r0, r0, 4, 0, 5, LF_TYPE_##T); break;           \
                default: tilefp(c, g, ig + r0, r0, 4, 0, 6, LF_TYPE_##T); break;          \
                }                                                                         \
        }                                                                                 \
    }
GEMVFP(F16)
GEMVFP(BF16)

/* Row r of a packed F16 / BF16 group as plain halves. */
static void unpack_float_row(const uint8_t *g, int64_t k, int r, uint16_t *out) {
    for (int64_t ch = 0; ch < k / 32; ch++)
        _mm512_storeu_si512(out + 32 * ch, _mm512_loadu_si512(g + (size_t)ch * 1024 + 64 * (size_t)r));
}

enum { GRF = 16 }; /* weight rows per group in the blocked loop */

static void mmf(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    void (*tile)(const lf_mm_call *, int64_t, int, int64_t, int, const uint8_t *) =
        c->type == LF_TYPE_F32 ? tilef_F32 : c->type == LF_TYPE_F16 ? tilef_F16 : tilef_BF16;
    if (c->n <= RNF) {
        int64_t pe = c->packed < i1 ? c->packed : i1; /* packed groups first, the plain tail after */
        if (i0 < pe) {
            (c->type == LF_TYPE_F16 ? gemvfp_F16 : gemvfp_BF16)(c, i0, pe);
            i0 = pe;
        }
        /* RMF weight rows at a time: one FMA chain per row would leave the
         * loads waiting on it (F16 from memory ran at 5.5 GB/s a core) */
        int64_t i = i0;
        for (; i + RMF <= i1; i += RMF)
            tile(c, i, RMF, 0, (int)c->n, i + 2 * RMF <= i1 ? (const uint8_t *)c->w + (size_t)(i + RMF) * c->ldw : NULL);
        for (; i < i1; i++)
            tile(c, i, 1, 0, (int)c->n, NULL);
        return;
    }
    /* Groups of GRF weight rows (F16 converted once to F32: the same
     * values, no conversion in the inner loop) sweep blocks of activation
     * rows that stay in L2. */
    const size_t arow = lf_x86_act_bytes(c->type, c->k, 1);
    int64_t jb = (int64_t)((256u << 10) / arow) / RNF * RNF;
    jb = jb < RNF ? RNF : jb;
    for (int64_t ig = i0; ig < i1; ig += GRF) {
        int64_t ie = ig + GRF < i1 ? ig + GRF : i1;
        /* the next group's rows, into L2 while this group computes (the
         * hardware prefetcher has stopped by the time they are read) */
        prefetch_l2(c->w + (size_t)ie * c->ldw, c->w + (size_t)(ie + GRF < i1 ? ie + GRF : i1) * c->ldw);
        lf_mm_call g = *c;
        void (*gtile)(const lf_mm_call *, int64_t, int, int64_t, int, const uint8_t *) = tile;
        int64_t base = 0;
        const bool packed = ig < c->packed;
        if (c->type == LF_TYPE_F16) {
            float *f = tmp;
            for (int64_t i = ig; i < ie; i++) {
                const uint8_t *w = (const uint8_t *)c->w + (size_t)i * c->ldw;
                float *o = f + (size_t)(i - ig) * (size_t)c->k;
                int64_t e = 0;
                /* a packed row's 16 halves at e lie at 1024 (e / 32) + 64 r + 2 (e % 32) */
                for (const uint8_t *gw = (const uint8_t *)c->w + (size_t)ig * c->ldw + 64 * (size_t)(i - ig);
                     packed && e < c->k; e += 16)
                    _mm512_storeu_ps(o + e, halves16(gw + (size_t)(e / 32) * 1024 + 2 * (size_t)(e % 32)));
                for (; e + 16 <= c->k; e += 16)
                    _mm512_storeu_ps(o + e, halves16(w + 2 * e));
                for (; e < c->k; e++)
                    o[e] = h2f(w + 2 * e);
            }
            g.type = LF_TYPE_F32, g.w = tmp, g.ldw = 4 * (size_t)c->k, g.c = c->c + ig;
            gtile = tilef_F32, base = ig;
        } else if (packed) { /* BF16: the group as plain rows */
            for (int r = 0; r < GRF; r++)
                unpack_float_row((const uint8_t *)c->w + (size_t)ig * c->ldw, c->k, r, (uint16_t *)tmp + (size_t)r * (size_t)c->k);
            g.w = tmp, g.ldw = 2 * (size_t)c->k, g.c = c->c + ig;
            base = ig;
        }
        for (int64_t jb0 = 0; jb0 < c->n; jb0 += jb) {
            int64_t jb1 = jb0 + jb < c->n ? jb0 + jb : c->n;
            for (int64_t i = ig; i < ie; i += RMF) {
                int rm = ie - i < RMF ? (int)(ie - i) : RMF;
                for (int64_t j = jb0; j < jb1; j += RNF)
                    gtile(&g, i - base, rm, j, jb1 - j < RNF ? (int)(jb1 - j) : RNF, NULL);
            }
        }
    }
}

/* ------------------------------------------------------------ dispatch */

#define GEMV_FN(fam, T)                                                            \
    static void fam##_##T(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) { \
        int64_t j = 0;                                                             \
        for (; j + 4 <= c->n; j += 4)                                              \
            fam(c, i0, i1, LF_TYPE_##T, 4, j, tmp);                                \
        switch (c->n - j) {                                                        \
        case 3: fam(c, i0, i1, LF_TYPE_##T, 3, j, tmp); break;                     \
        case 2: fam(c, i0, i1, LF_TYPE_##T, 2, j, tmp); break;                     \
        case 1: fam(c, i0, i1, LF_TYPE_##T, 1, j, tmp); break;                     \
        default: break;                                                            \
        }                                                                          \
    }

GEMV_FN(gemv0, Q4_0)
GEMV_FN(gemv0, Q4_1)
GEMV_FN(gemv0, Q5_0)
GEMV_FN(gemv0, Q5_1)
GEMV_FN(gemv0, Q8_0)
GEMV_FN(gemv0, IQ4_NL)
GEMV_FN(gemv0, MXFP4)
GEMV_FN(gemvk, Q2_K)
GEMV_FN(gemvk, Q3_K)
GEMV_FN(gemvk, Q4_K)
GEMV_FN(gemvk, Q5_K)
GEMV_FN(gemvk, Q6_K)
GEMV_FN(gemvk, IQ4_XS)
GEMV_FN(gemvp, Q4_K)
GEMV_FN(gemvp, Q5_K)
GEMV_FN(gemvp16, Q2_K)
GEMV_FN(gemvp16, Q3_K)
GEMV_FN(gemvp16, Q6_K)

typedef void (*gemv_fn)(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp);

static gemv_fn gemv_for(int type) {
    switch (type) {
    case LF_TYPE_Q4_0: return gemv0_Q4_0;
    case LF_TYPE_Q4_1: return gemv0_Q4_1;
    case LF_TYPE_Q5_0: return gemv0_Q5_0;
    case LF_TYPE_Q5_1: return gemv0_Q5_1;
    case LF_TYPE_Q8_0: return gemv0_Q8_0;
    case LF_TYPE_IQ4_NL: return gemv0_IQ4_NL;
    case LF_TYPE_MXFP4: return gemv0_MXFP4;
    case LF_TYPE_Q2_K: return gemvk_Q2_K;
    case LF_TYPE_Q3_K: return gemvk_Q3_K;
    case LF_TYPE_Q4_K: return gemvk_Q4_K;
    case LF_TYPE_Q5_K: return gemvk_Q5_K;
    case LF_TYPE_Q6_K: return gemvk_Q6_K;
    case LF_TYPE_IQ4_XS: return gemvk_IQ4_XS;
    default: return NULL;
    }
}

/* The matrix-vector kernel of the packed groups of a type (tensor/pack.h). */
static gemv_fn gemv_packed_for(int type) {
    switch (type) {
    case LF_TYPE_Q4_K: return gemvp_Q4_K;
    case LF_TYPE_Q5_K: return gemvp_Q5_K;
    case LF_TYPE_Q2_K: return gemvp16_Q2_K;
    case LF_TYPE_Q3_K: return gemvp16_Q3_K;
    case LF_TYPE_Q6_K: return gemvp16_Q6_K;
    default: return lf_vnni_gemv_packed0; /* Q4_0, IQ4_NL, Q8_0 */
    }
}

static void mm(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    if (!lf_qinfo_of(c->type).sub)
        mmf(c, i0, i1, tmp);
    else if (c->n >= LF_GEMM_MIN_N)
        lf_vnni_gemm(c, i0, i1, tmp);
    else {
        int64_t pe = c->packed < i1 ? c->packed : i1; /* packed groups first, the plain tail after */
        if (i0 < pe) {
            gemv_packed_for(c->type)(c, i0, pe, tmp);
            i0 = pe;
        }
        if (i0 < i1)
            gemv_for(c->type)(c, i0, i1, tmp);
    }
}

static size_t tmp_bytes(const lf_mm_call *c) {
    if (!lf_qinfo_of(c->type).sub)
        return (c->type == LF_TYPE_F16 || (c->type == LF_TYPE_BF16 && c->packed)) && c->n > RNF
                   ? (size_t)GRF * (size_t)c->k * 4
                   : 0;
    if (c->n >= LF_GEMM_MIN_N)
        return lf_vnni_gemm_tmp(c);
    return lf_qinfo_of(c->type).is_k ? kpark_bytes(c->k) : 0;
}

void lf_kernels_init_avx512vnni(lf_kernel_set *ks) {
    lf_kernels_init_avx512(ks); /* the attention helpers */
    for (int t = 0; t < LF_TYPE_COUNT; t++)
        if (gemv_for(t) || t == LF_TYPE_F32 || t == LF_TYPE_F16 || t == LF_TYPE_BF16)
            ks->mm[t] = (lf_mm_kernel){
                .act_bytes = lf_x86_act_bytes, .act = lf_x86_act, .mm = mm,
                .tmp_bytes = tmp_bytes, .row_align = LF_VNNI_PANEL, .packed = lf_pack_has(t),
            };
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
void lf_kernels_init_avx512vnni(lf_kernel_set *ks) {
    (void)ks;
}
#endif
