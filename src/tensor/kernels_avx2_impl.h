/* kernels_avx2_impl.h — the 256-bit kernels, written once and compiled
 * twice: by kernels_avx2.c for AVX2+FMA+F16C and by kernels_avx512.c with
 * AVX-512 F/BW/VL/DQ enabled (32 vector registers, EVEX encodings). The
 * includer defines LF_K(name) to prefix the entry points, and includes
 * this after its target pragma.
 *
 * Same activation layouts and structure as the VNNI set (kernels_x86.h,
 * kernels_avx512vnni.c), with vpmaddubsw + vpmaddwd for the u8 x s8 dot
 * products. vpmaddubsw saturates int16 pair sums, so the types whose codes
 * do not fit in 0..63 (Q8_0, IQ4_NL, IQ4_XS) keep signed codes and use the
 * sign trick (|w| x sign(a, w)); K-quant sub-block scales are applied by
 * the vpmaddwd that widens the pair sums. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "tensor/kernels_x86.h"

#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 16")
#endif
#define INL static inline __attribute__((always_inline))


/* Types whose codes stay signed here. */
INL int signed_w(int type) {
    return type == LF_TYPE_Q8_0 || type == LF_TYPE_IQ4_NL || type == LF_TYPE_IQ4_XS;
}

/* Σ of 4-byte groups of w·a into int32 lanes, scaled by the int16 pair
 * scales sc (ones for none). */
INL __m256i dot8(int sgn, __m256i w, __m256i a, __m256i sc) {
    __m256i p = sgn ? _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
                    : _mm256_maddubs_epi16(w, a);
    return _mm256_madd_epi16(p, sc);
}

INL int32_t rd32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

INL float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* An fp16 field as float (F16C; the same value as lf_fp16_to_fp32). */
INL float h2f(const uint8_t *p) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(lf_rd_u16(p))));
}

/* ----------------------------------------------------------- decoders */

INL int bytes0(int type) {
    return lf_block_bytes(type);
}

INL int bytesk(int type) {
    return lf_block_bytes(type);
}

/* 16 bytes of Q4_0-order nibbles: the 32 codes in element order. */
INL __m256i nib32(const uint8_t *q) {
    __m128i x = _mm_loadu_si128((const __m128i *)q);
    __m256i y = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
    return _mm256_and_si256(y, _mm256_set1_epi8(15));
}

/* Bit i of a 32-bit word -> byte i as 0xff / 0x00. */
INL __m256i bits32(uint32_t v) {
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v),
                                    _mm256_setr_epi64x(0, 0x0101010101010101ll, 0x0202020202020202ll,
                                                       0x0303030303030303ll));
    const __m256i m = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfell);
    return _mm256_cmpeq_epi8(_mm256_or_si256(b, m), _mm256_set1_epi64x(-1));
}

/* One 32-element block: codes (unsigned, or signed for signed_w types),
 * scale and min. */
INL __m256i decode1(int type, const uint8_t *p, float *d, float *m) {
    *m = 0;
    switch (type) {
    case LF_TYPE_Q8_0:
        *d = h2f(p);
        return _mm256_loadu_si256((const __m256i *)(p + 2));
    case LF_TYPE_Q4_0:
        *d = h2f(p);
        return nib32(p + 2);
    case LF_TYPE_Q4_1:
        *d = h2f(p);
        *m = h2f(p + 2);
        return nib32(p + 4);
    case LF_TYPE_Q5_0:
    case LF_TYPE_Q5_1: {
        const int off = type == LF_TYPE_Q5_0 ? 2 : 4;
        *d = h2f(p);
        if (type == LF_TYPE_Q5_1)
            *m = h2f(p + 2);
        __m256i hb = _mm256_and_si256(bits32(lf_rd_u32(p + off)), _mm256_set1_epi8(16));
        return _mm256_or_si256(nib32(p + off + 4), hb);
    }
    case LF_TYPE_IQ4_NL: {
        *d = h2f(p);
        const __m256i lut = _mm256_broadcastsi128_si256(_mm_setr_epi8(
            -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        return _mm256_shuffle_epi8(lut, nib32(p + 2));
    }
    default: {
        uint8_t e = p[0];
        *d = lf_f32_from_bits(e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23);
        const __m256i lut = _mm256_broadcastsi128_si256(
            _mm_setr_epi8(16, 17, 18, 19, 20, 22, 24, 28, 16, 15, 14, 13, 12, 10, 8, 4));
        return _mm256_shuffle_epi8(lut, nib32(p + 1));
    }
    }
}

typedef struct deck {
    __m256i u[8];       /* codes 32g .. 32g+31 */
    int8_t sc[16];      /* sub-block scales (8 used for 32-element sub-blocks) */
    __m256i m16;        /* int16 per sub-block: mins, or scales of offset types */
    float d, dmin;
} deck;

/* 32 bytes as [x & 3 after shift a | after shift b]... 2-bit codes of
 * elements 32g .. 32g+31 of Q2_K / Q3_K. */
INL __m256i crumbs(const uint8_t *qs, int g) {
    __m256i z = _mm256_loadu_si256((const __m256i *)(qs + 32 * (g / 4)));
    return _mm256_and_si256(_mm256_srli_epi16(z, 2 * (g % 4)), _mm256_set1_epi8(3));
}

/* Bit g of each of 32 bytes as 0xff / 0x00. */
INL __m256i bitg(const uint8_t *p, int g) {
    __m256i b = _mm256_set1_epi8((char)(1 << g));
    return _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)p), b), b);
}

INL deck decodek(int type, const uint8_t *p) {
    deck r;
    memset(r.sc, 0, sizeof r.sc);
    switch (type) {
    case LF_TYPE_Q4_K:
    case LF_TYPE_Q5_K: {
        const uint8_t *s = p + 4;
        uint32_t a = lf_rd_u32(s), b = lf_rd_u32(s + 4), c = lf_rd_u32(s + 8);
        uint64_t sc = (a & 0x3f3f3f3f) | (uint64_t)((c & 0x0f0f0f0f) | (a >> 2 & 0x30303030)) << 32;
        uint64_t mn = (b & 0x3f3f3f3f) | (uint64_t)((c >> 4 & 0x0f0f0f0f) | (b >> 2 & 0x30303030)) << 32;
        memcpy(r.sc, &sc, 8);
        r.m16 = _mm256_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
        r.d = h2f(p);
        r.dmin = h2f(p + 2);
        const uint8_t *qs = p + (type == LF_TYPE_Q4_K ? 16 : 48);
        UNROLL
        for (int g = 0; g < 4; g++) {
            __m256i y = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
            r.u[2 * g] = _mm256_and_si256(y, _mm256_set1_epi8(15));
            r.u[2 * g + 1] = _mm256_and_si256(_mm256_srli_epi16(y, 4), _mm256_set1_epi8(15));
        }
        if (type == LF_TYPE_Q5_K)
            UNROLL
            for (int g = 0; g < 8; g++)
                r.u[g] = _mm256_or_si256(r.u[g], _mm256_and_si256(bitg(p + 16, g), _mm256_set1_epi8(16)));
        break;
    }
    case LF_TYPE_Q6_K: {
        __m128i s8 = _mm_loadu_si128((const __m128i *)(p + 192));
        _mm_storeu_si128((__m128i *)r.sc, s8);
        r.m16 = _mm256_cvtepi8_epi16(s8);
        r.d = h2f(p + 208);
        r.dmin = 0;
        UNROLL
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(p + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32));
            __m256i q = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
            const __m256i lo4 = _mm256_set1_epi8(15), b45 = _mm256_set1_epi8(0x30);
            r.u[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_and_si256(_mm256_slli_epi16(q, 4), b45));
            r.u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, lo4), _mm256_and_si256(_mm256_slli_epi16(q, 2), b45));
            r.u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4), _mm256_and_si256(q, b45));
            r.u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                             _mm256_and_si256(_mm256_srli_epi16(q, 2), b45));
        }
        break;
    }
    case LF_TYPE_Q3_K: {
        const uint8_t *s = p + 96;
        uint64_t a = (uint64_t)lf_rd_u32(s) | (uint64_t)lf_rd_u32(s + 4) << 32;
        uint32_t c = lf_rd_u32(s + 8);
        uint64_t lo0 = a & 0x0f0f0f0f0f0f0f0full, lo1 = a >> 4 & 0x0f0f0f0f0f0f0f0full;
        uint64_t hi0 = (c & 0x03030303u) | (uint64_t)(c >> 2 & 0x03030303u) << 32;
        uint64_t hi1 = (c >> 4 & 0x03030303u) | (uint64_t)(c >> 6 & 0x03030303u) << 32;
        __m128i v = _mm_sub_epi8(_mm_set_epi64x((long long)(lo1 | hi1 << 4), (long long)(lo0 | hi0 << 4)),
                                 _mm_set1_epi8(32));
        _mm_storeu_si128((__m128i *)r.sc, v);
        r.m16 = _mm256_cvtepi8_epi16(v);
        r.d = h2f(p + 108);
        r.dmin = 0;
        UNROLL
        for (int g = 0; g < 8; g++)
            r.u[g] = _mm256_or_si256(crumbs(p + 32, g), _mm256_and_si256(bitg(p, g), _mm256_set1_epi8(4)));
        break;
    }
    case LF_TYPE_Q2_K: {
        __m128i s8 = _mm_loadu_si128((const __m128i *)p);
        _mm_storeu_si128((__m128i *)r.sc, _mm_and_si128(s8, _mm_set1_epi8(15)));
        r.m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(15)));
        r.d = h2f(p + 80);
        r.dmin = h2f(p + 82);
        UNROLL
        for (int g = 0; g < 8; g++)
            r.u[g] = crumbs(p + 16, g);
        break;
    }
    default: { /* IQ4_XS, signed codes */
        uint16_t sh = lf_rd_u16(p + 2);
        for (int ib = 0; ib < 8; ib++)
            r.sc[ib] = (int8_t)(((p[4 + ib / 2] >> (4 * (ib % 2)) & 15) | (sh >> (2 * ib) & 3) << 4) - 32);
        r.m16 = _mm256_setzero_si256();
        r.d = h2f(p);
        r.dmin = 0;
        const __m256i lut = _mm256_broadcastsi128_si256(_mm_setr_epi8(
            -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
        UNROLL
        for (int g = 0; g < 8; g++)
            r.u[g] = _mm256_shuffle_epi8(lut, nib32(p + 8 + 16 * g));
        break;
    }
    }
    return r;
}

/* int16 pair scales of the 32 codes of u[g]: pair l covers elements 2l,
 * 2l+1, so sub-blocks of 16 split the vector in 128-bit halves. */
INL __m256i pair_scales(const deck *w, int sub, int g) {
    if (sub == 32)
        return _mm256_set1_epi16(w->sc[g]);
    return _mm256_set_m128i(_mm_set1_epi16(w->sc[2 * g + 1]), _mm_set1_epi16(w->sc[2 * g]));
}

/* ---------------------------------------------------- matrix-vector */

/* Bit for bit the matrix-matrix results, in the order described in
 * kernels_avx512vnni.c: exact integer sums per block or super-block (lanes
 * along k), eight blocks reduced together (total8y), four float chains in
 * the lanes of an xmm; one row read front to back at a time. */
enum { NY = 4 };

/* Eight vectors (rows) -> the total of each, in lanes 0-7. */
INL __m256i total8y(const __m256i *v) {
    __m256i a[4], b[2];
    UNROLL
    for (int p = 0; p < 4; p++)
        a[p] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * p], v[2 * p + 1]),
                                _mm256_unpackhi_epi32(v[2 * p], v[2 * p + 1]));
    UNROLL
    for (int p = 0; p < 2; p++)
        b[p] = _mm256_add_epi32(_mm256_unpacklo_epi64(a[2 * p], a[2 * p + 1]),
                                _mm256_unpackhi_epi64(a[2 * p], a[2 * p + 1]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(b[0], b[1], 0x20),
                            _mm256_permute2x128_si256(b[0], b[1], 0x31));
}

/* Block scales of n (<= 8) consecutive blocks (zero past n). */
INL __m256 block_scales(int type, const uint8_t *w, int n, int field) {
    const int bs = bytes0(type);
    if (type == LF_TYPE_MXFP4) {
        float f[8] = {0};
        for (int t = 0; t < n; t++) {
            uint8_t e = w[t * bs];
            f[t] = lf_f32_from_bits(e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23);
        }
        return _mm256_loadu_ps(f);
    }
    if (n == 8) {
#define H(t) (short)lf_rd_u16(w + (t) * bs + field)
        __m128i h = _mm_setr_epi16(H(0), H(1), H(2), H(3), H(4), H(5), H(6), H(7));
#undef H
        return _mm256_cvtph_ps(h);
    }
    uint16_t h[8] = {0};
    for (int t = 0; t < n; t++)
        h[t] = lf_rd_u16(w + t * bs + field);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

/* Blocks [b, b + nblk) of one weight row: block b feeds chain b % 4 (the
 * lanes of acc), as the matrix-matrix tiles do. */
INL void gemv0_group(int type, const uint8_t *w, int64_t b, int nblk, int ny, const lf_a0row *a, __m128 *acc) {
    const int bs = bytes0(type);
    const int sgn = signed_w(type), has_min = lf_qinfo_of(type).has_min;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i v[NY][8];
    UNROLL
    for (int t = 0; t < 8; t++) {
        if (t >= nblk) {
            UNROLL
            for (int y = 0; y < ny; y++)
                v[y][t] = _mm256_setzero_si256();
            continue;
        }
        float dw, mw;
        __m256i u = decode1(type, w + (b + t) * bs, &dw, &mw);
        UNROLL
        for (int y = 0; y < ny; y++)
            v[y][t] = dot8(sgn, u, _mm256_load_si256((const __m256i *)(a[y].q + 32 * (b + t))), ones);
    }
    __m256 dw = block_scales(type, w + b * bs, nblk, 0);
    __m256 mw = has_min ? block_scales(type, w + b * bs, nblk, 2) : _mm256_setzero_ps();
    UNROLL
    for (int y = 0; y < ny; y++) {
        __m256i isum = total8y(v[y]);
        if (!sgn && !has_min)
            isum = _mm256_add_epi32(isum, _mm256_load_si256((const __m256i *)(a[y].x + b)));
        __m256 f = _mm256_cvtepi32_ps(isum);
        __m256 s = _mm256_mul_ps(_mm256_load_ps(a[y].d + b), dw);
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

INL void gemv0(const lf_mm_call *c, int64_t i0, int64_t i1, int type, int ny, int64_t j0) {
    const int64_t nb = c->k / 32;
    lf_a0row a[NY];
    for (int y = 0; y < ny; y++)
        a[y] = lf_a0_row(c->a + (size_t)(j0 + y) * lf_a0_row_bytes(c->k), c->k);
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *w = (const uint8_t *)c->w + (size_t)i * c->ldw;
        __m128 acc[NY];
        UNROLL
        for (int y = 0; y < ny; y++)
            acc[y] = _mm_setzero_ps();
        int64_t b = 0;
        for (; b + 8 <= nb; b += 8)
            gemv0_group(type, w, b, 8, ny, a, acc);
        if (b < nb)
            gemv0_group(type, w, b, (int)(nb - b), ny, a, acc);
        UNROLL
        for (int y = 0; y < ny; y++) {
            float l[4];
            _mm_storeu_ps(l, acc[y]);
            c->c[(size_t)(j0 + y) * c->ldc + (size_t)i] = (l[0] + l[1]) + (l[2] + l[3]);
        }
    }
}

/* Exact integer sums of a super-block (see ksum in kernels_avx512vnni.c). */
INL __m256i ksum(int type, const deck *w, const lf_akn *a, __m256i *mins) {
    lf_qinfo qi = lf_qinfo_of(type);
    const int sgn = signed_w(type);
    __m256i bs = _mm256_load_si256((const __m256i *)(qi.sub == 16 ? a->bs16 : a->bs32));
    __m256i md = _mm256_madd_epi16(w->m16, bs);
    __m256i s = _mm256_setzero_si256();
    if (qi.has_min)
        *mins = md;
    else if (!sgn)
        s = _mm256_sub_epi32(s, _mm256_slli_epi32(md, qi.log2o));
    UNROLL
    for (int g = 0; g < 8; g++)
        s = _mm256_add_epi32(s, dot8(sgn, w->u[g], _mm256_load_si256((const __m256i *)(a->q + 32 * g)),
                                     pair_scales(w, qi.sub, g)));
    return s;
}

/* a·b + c rounded once (a vfmadd: the target has FMA). */
INL float fma1(float a, float b, float c) {
    return __builtin_fmaf(a, b, c);
}

INL int32_t hsum8i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

INL void gemvk(const lf_mm_call *c, int64_t i0, int64_t i1, int type, int ny, int64_t j0) {
    const int64_t nb = c->k / 256;
    const int bs = bytesk(type);
    const int has_min = lf_qinfo_of(type).has_min;
    const lf_akn *a[NY];
    for (int y = 0; y < ny; y++)
        a[y] = (const lf_akn *)(c->a + (size_t)(j0 + y) * (size_t)nb * sizeof(lf_akn));
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *w = (const uint8_t *)c->w + (size_t)i * c->ldw;
        float acc[NY] = {0};
        for (int64_t b = 0; b < nb; b++) {
            deck x = decodek(type, w + b * bs);
            UNROLL
            for (int y = 0; y < ny; y++) {
                __m256i mn = _mm256_setzero_si256();
                int32_t s = hsum8i(ksum(type, &x, a[y] + b, &mn));
                float da = a[y][b].d;
                acc[y] = fma1((float)s, da * x.d, acc[y]);
                if (has_min)
                    acc[y] = fma1((float)hsum8i(mn), da * -x.dmin, acc[y]);
            }
        }
        for (int y = 0; y < ny; y++)
            c->c[(size_t)(j0 + y) * c->ldc + (size_t)i] = acc[y];
    }
}

/* --------------------------------------------------------- float types */

/* Lanes along k for every row count (as in the VNNI set): one accumulator
 * per output over k in steps of 8, tiles of RMF weight x RNF activation
 * rows, tails element by element. */
enum { RMF = 3, RNF = 4 };

/* 8 floats of a weight row from element e (F32, F16, or BF16). */
INL __m256 wload8(int type, const uint8_t *w, int64_t e) {
    if (type == LF_TYPE_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 2 * e)));
    if (type == LF_TYPE_BF16)
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + 2 * e))), 16));
    return _mm256_loadu_ps((const float *)(w + 4 * e));
}

/* Activation elements [e, e+8) as floats (BF16 rows are bf16). */
INL __m256 aload8(int type, const char *a, int64_t e) {
    if (type == LF_TYPE_BF16)
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_load_si128((const __m128i *)(a + 2 * e))), 16));
    return _mm256_load_ps((const float *)a + e);
}

INL float wscalar(int type, const uint8_t *w, int64_t e) {
    if (type == LF_TYPE_F16)
        return h2f(w + 2 * e);
    if (type == LF_TYPE_BF16)
        return lf_bf16_to_fp32(lf_rd_u16(w + 2 * e));
    return lf_rd_f32(w + 4 * e);
}

INL float ascalar(int type, const char *a, int64_t e) {
    return type == LF_TYPE_BF16 ? lf_bf16_to_fp32(((const uint16_t *)a)[e]) : ((const float *)a)[e];
}

INL void tilef(const lf_mm_call *c, int64_t i, int rm, int64_t j, int rn, int type) {
    const int64_t k = c->k, k8 = k / 8 * 8;
    const size_t arow = lf_x86_act_bytes(type, k, 1);
    const uint8_t *w[RMF];
    const char *a[RNF];
    for (int x = 0; x < rm; x++)
        w[x] = (const uint8_t *)c->w + (size_t)(i + x) * c->ldw;
    for (int y = 0; y < rn; y++)
        a[y] = c->a + (size_t)(j + y) * arow;
    __m256 acc[RMF][RNF];
    UNROLL
    for (int x = 0; x < rm; x++)
        UNROLL
        for (int y = 0; y < rn; y++)
            acc[x][y] = _mm256_setzero_ps();
    for (int64_t e = 0; e < k8; e += 8) {
        UNROLL
        for (int x = 0; x < rm; x++) {
            __m256 wv = wload8(type, w[x], e);
            UNROLL
            for (int y = 0; y < rn; y++)
                acc[x][y] = _mm256_fmadd_ps(wv, aload8(type, a[y], e), acc[x][y]);
        }
    }
    for (int x = 0; x < rm; x++)
        for (int y = 0; y < rn; y++) {
            float s = hsum8(acc[x][y]);
            for (int64_t e = k8; e < k; e++)
                s += wscalar(type, w[x], e) * ascalar(type, a[y], e);
            c->c[(size_t)(j + y) * c->ldc + (size_t)(i + x)] = s;
        }
}

#define TILEF_CASES(T)                                                                \
    static void tilef_##T(const lf_mm_call *c, int64_t i, int rm, int64_t j, int rn) { \
        switch (rm * 8 + rn) {                                                        \
        case 3 * 8 + 4: tilef(c, i, 3, j, 4, LF_TYPE_##T); break;                     \
        case 3 * 8 + 3: tilef(c, i, 3, j, 3, LF_TYPE_##T); break;                     \
        case 3 * 8 + 2: tilef(c, i, 3, j, 2, LF_TYPE_##T); break;                     \
        case 3 * 8 + 1: tilef(c, i, 3, j, 1, LF_TYPE_##T); break;                     \
        case 1 * 8 + 4: tilef(c, i, 1, j, 4, LF_TYPE_##T); break;                     \
        case 1 * 8 + 3: tilef(c, i, 1, j, 3, LF_TYPE_##T); break;                     \
        case 1 * 8 + 2: tilef(c, i, 1, j, 2, LF_TYPE_##T); break;                     \
        case 1 * 8 + 1: tilef(c, i, 1, j, 1, LF_TYPE_##T); break;                     \
        default:                                                                      \
            for (int x = 0; x < rm; x++)                                              \
                for (int y = 0; y < rn; y++)                                          \
                    tilef(c, i + x, 1, j + y, 1, LF_TYPE_##T);                        \
        }                                                                             \
    }
TILEF_CASES(F32)
TILEF_CASES(F16)
TILEF_CASES(BF16)

static void mmf(const lf_mm_call *c, int64_t i0, int64_t i1) {
    void (*tile)(const lf_mm_call *, int64_t, int, int64_t, int) =
        c->type == LF_TYPE_F32 ? tilef_F32 : c->type == LF_TYPE_F16 ? tilef_F16 : tilef_BF16;
    if (c->n <= RNF) { /* one weight row at a time: a single stream for the prefetcher */
        for (int64_t i = i0; i < i1; i++)
            tile(c, i, 1, 0, (int)c->n);
        return;
    }
    /* blocks of activation rows that stay in L2 while the weight rows
     * sweep them */
    const size_t arow = lf_x86_act_bytes(c->type, c->k, 1);
    int64_t jb = (int64_t)((256u << 10) / arow) / RNF * RNF;
    jb = jb < RNF ? RNF : jb;
    for (int64_t jb0 = 0; jb0 < c->n; jb0 += jb) {
        int64_t jb1 = jb0 + jb < c->n ? jb0 + jb : c->n;
        for (int64_t i = i0; i < i1; i += RMF) {
            int rm = i1 - i < RMF ? (int)(i1 - i) : RMF;
            for (int64_t j = jb0; j < jb1; j += RNF)
                tile(c, i, rm, j, jb1 - j < RNF ? (int)(jb1 - j) : RNF);
        }
    }
}

/* ------------------------------------------------------ matrix-matrix */

/* As in kernels_avx512vnni_gemm.c, with 8 weight rows per panel ([k/4][8
 * rows][4] codes, scales as vectors over the rows) and 4 activation bytes
 * broadcast against each panel vector; the same float order as gemv0 /
 * gemvk above. */
enum { P = 8, J0 = 2, JK = 3 };

/* The 8 dwords of v (elements e .. e+31 of panel row r) to [e/4 + q][r]. */
INL void put32(uint8_t *panel, int64_t e, int r, __m256i v) {
    int32_t d[8];
    _mm256_storeu_si256((__m256i *)d, v);
    for (int q = 0; q < 8; q++)
        memcpy(panel + ((e / 4 + q) * P + r) * 4, &d[q], 4);
}

INL void store8(const lf_mm_call *c, int64_t j, int64_t i0, int rows, __m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    float *o = c->c + (size_t)j * c->ldc + (size_t)i0;
    for (int r = 0; r < rows; r++)
        o[r] = t[r];
}

static void panel0(const lf_mm_call *c, int64_t i0, int rows, uint8_t *pu, float *pd, float *pm) {
    const int64_t nb = c->k / 32;
    const int bs = bytes0(c->type);
    for (int r = 0; r < P; r++) {
        const uint8_t *w = (const uint8_t *)c->w + (size_t)(i0 + (r < rows ? r : 0)) * c->ldw;
        for (int64_t b = 0; b < nb; b++) {
            __m256i x;
            float *db = pd + b * P + r, *mb = pm + b * P + r;
            switch (c->type) {
            case LF_TYPE_Q4_0: x = decode1(LF_TYPE_Q4_0, w + b * bs, db, mb); break;
            case LF_TYPE_Q4_1: x = decode1(LF_TYPE_Q4_1, w + b * bs, db, mb); break;
            case LF_TYPE_Q5_0: x = decode1(LF_TYPE_Q5_0, w + b * bs, db, mb); break;
            case LF_TYPE_Q5_1: x = decode1(LF_TYPE_Q5_1, w + b * bs, db, mb); break;
            case LF_TYPE_Q8_0: x = decode1(LF_TYPE_Q8_0, w + b * bs, db, mb); break;
            case LF_TYPE_IQ4_NL: x = decode1(LF_TYPE_IQ4_NL, w + b * bs, db, mb); break;
            default: x = decode1(LF_TYPE_MXFP4, w + b * bs, db, mb); break;
            }
            if (r >= rows) { /* padding row */
                x = _mm256_setzero_si256();
                *db = *mb = 0;
            }
            put32(pu, 32 * b, r, x);
        }
    }
}

/* kind: 0 offset codes, 1 signed codes, 2 min */
INL void tile0(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, int J, int kind, const uint8_t *pu,
               const float *pd, const float *pm) {
    const int64_t nb = c->k / 32;
    const size_t arow = lf_a0_row_bytes(c->k);
    const __m256i ones = _mm256_set1_epi16(1);
    lf_a0row a[J0];
    for (int j = 0; j < J; j++)
        a[j] = lf_a0_row(c->a + (size_t)(j0 + j) * arow, c->k);
    __m256 acc[4][J0];
    UNROLL
    for (int ch = 0; ch < 4; ch++)
        UNROLL
        for (int j = 0; j < J; j++)
            acc[ch][j] = _mm256_setzero_ps();
    for (int64_t b0 = 0; b0 < nb; b0 += 4) {
        UNROLL
        for (int ch = 0; ch < 4; ch++) {
            const int64_t b = b0 + ch;
            if (b >= nb)
                break;
            __m256i s[J0];
            UNROLL
            for (int j = 0; j < J; j++)
                s[j] = kind == 0 ? _mm256_set1_epi32(a[j].x[b]) : _mm256_setzero_si256();
            UNROLL
            for (int t = 0; t < 8; t++) {
                __m256i wv = _mm256_load_si256((const __m256i *)(pu + (size_t)(8 * b + t) * P * 4));
                UNROLL
                for (int j = 0; j < J; j++)
                    s[j] = _mm256_add_epi32(s[j], dot8(kind == 1, wv,
                                                       _mm256_set1_epi32(rd32((const uint8_t *)a[j].q + 32 * b + 4 * t)),
                                                       ones));
            }
            __m256 dw = _mm256_load_ps(pd + b * P);
            UNROLL
            for (int j = 0; j < J; j++) {
                __m256 sc = _mm256_mul_ps(_mm256_set1_ps(a[j].d[b]), dw);
                acc[ch][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[j]), sc, acc[ch][j]);
                if (kind == 2)
                    acc[ch][j] = _mm256_fmadd_ps(_mm256_set1_ps(a[j].s[b]), _mm256_load_ps(pm + b * P),
                                                 acc[ch][j]);
            }
        }
    }
    UNROLL
    for (int j = 0; j < J; j++)
        store8(c, j0 + j, i0, rows, _mm256_add_ps(_mm256_add_ps(acc[0][j], acc[1][j]), _mm256_add_ps(acc[2][j], acc[3][j])));
}

#define TILE0(J)                                                                                  \
    static void t0_##J(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, int kind,           \
                       const uint8_t *pu, const float *pd, const float *pm) {                     \
        if (kind == 0)                                                                            \
            tile0(c, i0, rows, j0, J, 0, pu, pd, pm);                                             \
        else if (kind == 1)                                                                       \
            tile0(c, i0, rows, j0, J, 1, pu, pd, pm);                                             \
        else                                                                                      \
            tile0(c, i0, rows, j0, J, 2, pu, pd, pm);                                             \
    }
TILE0(1)
TILE0(2)

static void gemm0(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    const int64_t nb = c->k / 32;
    uint8_t *pu = tmp;
    float *pd = (float *)(pu + nb * 32 * P), *pm = pd + nb * P;
    const int kind = signed_w(c->type) ? 1 : lf_qinfo_of(c->type).has_min ? 2 : 0;
    for (int64_t i = i0; i < i1; i += P) {
        int rows = i1 - i < P ? (int)(i1 - i) : P;
        panel0(c, i, rows, pu, pd, pm);
        int64_t j = 0;
        for (; j + 2 <= c->n; j += 2)
            t0_2(c, i, rows, j, kind, pu, pd, pm);
        if (j < c->n)
            t0_1(c, i, rows, j, kind, pu, pd, pm);
    }
}

/* K-quant panel per super-block: sub-block scales as int16 pairs (sc, sc)
 * and as int32, min pairs, d and -dmin, each over the 8 rows. */
typedef struct kpanel {
    int32_t sc2[16][P];
    int32_t sc[16][P];
    int32_t mp[8][P];
    float d[P], ndmin[P];
} kpanel;

static void panelk(const lf_mm_call *c, int64_t i0, int rows, uint8_t *pu, kpanel *pk) {
    const int64_t nb = c->k / 256;
    const int bs = bytesk(c->type);
    for (int r = 0; r < P; r++) {
        const uint8_t *w = (const uint8_t *)c->w + (size_t)(i0 + (r < rows ? r : 0)) * c->ldw;
        for (int64_t b = 0; b < nb; b++) {
            deck x;
            switch (c->type) {
            case LF_TYPE_Q2_K: x = decodek(LF_TYPE_Q2_K, w + b * bs); break;
            case LF_TYPE_Q3_K: x = decodek(LF_TYPE_Q3_K, w + b * bs); break;
            case LF_TYPE_Q4_K: x = decodek(LF_TYPE_Q4_K, w + b * bs); break;
            case LF_TYPE_Q5_K: x = decodek(LF_TYPE_Q5_K, w + b * bs); break;
            case LF_TYPE_Q6_K: x = decodek(LF_TYPE_Q6_K, w + b * bs); break;
            default: x = decodek(LF_TYPE_IQ4_XS, w + b * bs); break;
            }
            if (r >= rows)
                memset(&x, 0, sizeof x);
            for (int g = 0; g < 8; g++)
                put32(pu, 256 * b + 32 * g, r, x.u[g]);
            int32_t mp[8];
            _mm256_storeu_si256((__m256i *)mp, x.m16);
            for (int q = 0; q < 16; q++) {
                pk[b].sc[q][r] = x.sc[q];
                pk[b].sc2[q][r] = (int32_t)((uint32_t)(uint16_t)x.sc[q] * 0x10001u);
            }
            for (int q = 0; q < 8; q++)
                pk[b].mp[q][r] = mp[q];
            pk[b].d[r] = x.d;
            pk[b].ndmin[r] = -x.dmin;
        }
    }
}

/* kind: 0 offset codes, 1 signed codes, 2 mins */
INL void tilek(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, int J, int sub, int kind,
               const uint8_t *pu, const kpanel *pk) {
    const int64_t nb = c->k / 256;
    const int nsub = 256 / sub, steps = sub / 4;
    const lf_akn *a[JK];
    for (int j = 0; j < J; j++)
        a[j] = (const lf_akn *)(c->a + (size_t)(j0 + j) * (size_t)nb * sizeof(lf_akn));
    __m256 acc[JK];
    UNROLL
    for (int j = 0; j < J; j++)
        acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i s[JK];
        UNROLL
        for (int j = 0; j < J; j++)
            s[j] = _mm256_setzero_si256();
        for (int q = 0; q < nsub; q++) {
            __m256i sc2 = _mm256_load_si256((const __m256i *)pk[b].sc2[q]);
            if (kind == 0) {
                __m256i sc = _mm256_load_si256((const __m256i *)pk[b].sc[q]);
                UNROLL
                for (int j = 0; j < J; j++)
                    s[j] = _mm256_add_epi32(s[j], _mm256_mullo_epi32(_mm256_set1_epi32(a[j][b].init[q]), sc));
            }
            UNROLL
            for (int t = 0; t < steps; t++) {
                __m256i wv = _mm256_load_si256((const __m256i *)(pu + (size_t)(64 * b + q * steps + t) * P * 4));
                UNROLL
                for (int j = 0; j < J; j++)
                    s[j] = _mm256_add_epi32(s[j], dot8(kind == 1, wv,
                                                       _mm256_set1_epi32(rd32((const uint8_t *)a[j][b].q + sub * q + 4 * t)),
                                                       sc2));
            }
        }
        __m256 dw = _mm256_load_ps(pk[b].d);
        UNROLL
        for (int j = 0; j < J; j++) {
            __m256 da = _mm256_set1_ps(a[j][b].d);
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[j]), _mm256_mul_ps(da, dw), acc[j]);
            if (kind == 2) {
                __m256i mn = _mm256_setzero_si256();
                const int16_t *bsum = sub == 16 ? a[j][b].bs16 : a[j][b].bs32;
                UNROLL
                for (int pp = 0; pp < nsub / 2; pp++)
                    mn = _mm256_add_epi32(mn, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)pk[b].mp[pp]),
                                                                _mm256_set1_epi32(rd32((const uint8_t *)(bsum + 2 * pp)))));
                acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), _mm256_mul_ps(da, _mm256_load_ps(pk[b].ndmin)), acc[j]);
            }
        }
    }
    UNROLL
    for (int j = 0; j < J; j++)
        store8(c, j0 + j, i0, rows, acc[j]);
}

#define TILEK(J)                                                                                  \
    static void tk_##J(const lf_mm_call *c, int64_t i0, int rows, int64_t j0, const uint8_t *pu,  \
                       const kpanel *pk) {                                                        \
        lf_qinfo qi = lf_qinfo_of(c->type);                                                       \
        if (signed_w(c->type))                                                                    \
            tilek(c, i0, rows, j0, J, 32, 1, pu, pk);                                             \
        else if (qi.sub == 16 && qi.has_min)                                                      \
            tilek(c, i0, rows, j0, J, 16, 2, pu, pk);                                             \
        else if (qi.sub == 16)                                                                    \
            tilek(c, i0, rows, j0, J, 16, 0, pu, pk);                                             \
        else                                                                                      \
            tilek(c, i0, rows, j0, J, 32, 2, pu, pk);                                             \
    }
TILEK(1)
TILEK(2)
TILEK(3)

static void gemmk(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    uint8_t *pu = tmp;
    kpanel *pk = (kpanel *)(pu + (size_t)c->k * P);
    void (*const tiles[4])(const lf_mm_call *, int64_t, int, int64_t, const uint8_t *, const kpanel *) = {
        NULL, tk_1, tk_2, tk_3};
    for (int64_t i = i0; i < i1; i += P) {
        int rows = i1 - i < P ? (int)(i1 - i) : P;
        panelk(c, i, rows, pu, pk);
        for (int64_t j = 0; j < c->n; j += JK)
            tiles[c->n - j < JK ? c->n - j : JK](c, i, rows, j, pu, pk);
    }
}

/* ------------------------------------------------- attention helpers */

enum { CT = LF_ATTN_TILE };

INL float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

static void attn_qk(const float *q, int nr, int dk, const float *kt, float scale, const float *mask,
                    int group, float *s, size_t lds, float *rowmax) {
    const __m256 sv = _mm256_set1_ps(scale);
    for (int r0 = 0; r0 < nr; r0 += 2) {
        const int two = r0 + 1 < nr;
        __m256 mx[2] = {_mm256_set1_ps(-INFINITY), _mm256_set1_ps(-INFINITY)};
        for (int h = 0; h < CT; h += 32) {
            __m256 acc[2][4];
            UNROLL
            for (int v = 0; v < 4; v++)
                acc[0][v] = acc[1][v] = _mm256_setzero_ps();
            for (int d = 0; d < dk; d++) {
                __m256 q0 = _mm256_set1_ps(q[r0 * dk + d]);
                __m256 q1 = _mm256_set1_ps(two ? q[(r0 + 1) * dk + d] : 0.0f);
                UNROLL
                for (int v = 0; v < 4; v++) {
                    __m256 kv = _mm256_loadu_ps(kt + d * CT + h + 8 * v);
                    acc[0][v] = _mm256_fmadd_ps(q0, kv, acc[0][v]);
                    acc[1][v] = _mm256_fmadd_ps(q1, kv, acc[1][v]);
                }
            }
            UNROLL
            for (int x = 0; x < 2; x++) {
                if (x && !two)
                    break;
                const float *mr = mask + ((r0 + x) / group) * CT + h;
                UNROLL
                for (int v = 0; v < 4; v++) {
                    __m256 y = _mm256_add_ps(_mm256_mul_ps(acc[x][v], sv), _mm256_loadu_ps(mr + 8 * v));
                    _mm256_storeu_ps(s + (size_t)(r0 + x) * lds + h + 8 * v, y);
                    mx[x] = _mm256_max_ps(mx[x], y);
                }
            }
        }
        rowmax[r0] = hmax8(mx[0]);
        if (two)
            rowmax[r0 + 1] = hmax8(mx[1]);
    }
}

/* 8 x 8 floats: rows in, columns out. */
INL void transpose8(__m256 *r) {
    __m256 t[8], u[8];
    UNROLL
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    UNROLL
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    UNROLL
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

static void attn_kt(const uint16_t *k, size_t stride, int nc, int dk, float *kt) {
    int d0 = 0;
    for (; d0 + 8 <= dk; d0 += 8)
        for (int c0 = 0; c0 < CT; c0 += 8) {
            __m256 r[8];
            UNROLL
            for (int i = 0; i < 8; i++)
                r[i] = c0 + i < nc ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + (size_t)(c0 + i) * stride + d0)))
                                   : _mm256_setzero_ps();
            transpose8(r);
            UNROLL
            for (int i = 0; i < 8; i++)
                _mm256_storeu_ps(kt + (size_t)(d0 + i) * CT + c0, r[i]);
        }
    for (; d0 < dk; d0++)
        for (int c = 0; c < CT; c++)
            kt[(size_t)d0 * CT + c] = c < nc ? lf_fp16_to_fp32(k[(size_t)c * stride + d0]) : 0.0f;
}

/* Columns [e, dv) of one row of attn_pv. */
static void pv_row(const float *pr, const float *v, int dv, int e, float *orow) {
    for (; e + 32 <= dv; e += 32) {
        __m256 acc[4];
        UNROLL
        for (int x = 0; x < 4; x++)
            acc[x] = _mm256_loadu_ps(orow + e + 8 * x);
        for (int c = 0; c < CT; c++) {
            __m256 w = _mm256_set1_ps(pr[c]);
            UNROLL
            for (int x = 0; x < 4; x++)
                acc[x] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + c * dv + e + 8 * x), acc[x]);
        }
        UNROLL
        for (int x = 0; x < 4; x++)
            _mm256_storeu_ps(orow + e + 8 * x, acc[x]);
    }
    for (; e + 8 <= dv; e += 8) {
        __m256 acc = _mm256_loadu_ps(orow + e);
        for (int c = 0; c < CT; c++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(pr[c]), _mm256_loadu_ps(v + c * dv + e), acc);
        _mm256_storeu_ps(orow + e, acc);
    }
    for (; e < dv; e++) {
        float acc = orow[e];
        for (int c = 0; c < CT; c++)
            acc += pr[c] * v[c * dv + e];
        orow[e] = acc;
    }
}

/* Four rows at a time share each load of V (one row alone is bound by
 * the loads); every output still sums its cells in order, as one row. */
static void attn_pv(const float *p, int nr, const float *v, int dv, float *o) {
    enum { R = 4 };
    int r = 0;
    for (; r + R <= nr; r += R) {
        int e = 0;
        for (; e + 32 <= dv; e += 32) {
            __m256 acc[R][4];
            UNROLL
            for (int x = 0; x < R; x++)
                UNROLL
                for (int y = 0; y < 4; y++)
                    acc[x][y] = _mm256_loadu_ps(o + (r + x) * dv + e + 8 * y);
            for (int c = 0; c < CT; c++) {
                __m256 vv[4];
                UNROLL
                for (int y = 0; y < 4; y++)
                    vv[y] = _mm256_loadu_ps(v + c * dv + e + 8 * y);
                UNROLL
                for (int x = 0; x < R; x++) {
                    __m256 w = _mm256_set1_ps(p[(r + x) * CT + c]);
                    UNROLL
                    for (int y = 0; y < 4; y++)
                        acc[x][y] = _mm256_fmadd_ps(w, vv[y], acc[x][y]);
                }
            }
            UNROLL
            for (int x = 0; x < R; x++)
                UNROLL
                for (int y = 0; y < 4; y++)
                    _mm256_storeu_ps(o + (r + x) * dv + e + 8 * y, acc[x][y]);
        }
        for (int x = 0; x < R && e < dv; x++)
            pv_row(p + (r + x) * CT, v, dv, e, o + (r + x) * dv);
    }
    for (; r < nr; r++)
        pv_row(p + r * CT, v, dv, 0, o + r * dv);
}

/* exp(x) for x <= 0 (x < -87.3: 0): 2^n · e^r, |r| <= ln2/2, degree-6
 * polynomial (relative error ~1e-7). */
INL __m256 exp8(__m256 x) {
    const __m256 log2e = _mm256_set1_ps(1.44269504f);
    __m256 valid = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_GT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), valid);
}

static float attn_exp(float *x, int n, float m) {
    __m256 sum = _mm256_setzero_ps(), mv = _mm256_set1_ps(m);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 y = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, y);
        sum = _mm256_add_ps(sum, y);
    }
    float s = hsum8(sum);
    for (; i < n; i++) {
        float t[8] = {x[i] - m, 0, 0, 0, 0, 0, 0, 0};
        _mm256_storeu_ps(t, exp8(_mm256_loadu_ps(t)));
        x[i] = t[0];
        s += t[0];
    }
    return s;
}

/* kernels.h's swiglu. With t = e^-|x| (<= 1, so exp8 serves): silu(x) =
 * x / (1 + t) for x >= 0 and x·t / (1 + t) below. */
INL __m256 silu8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 t = exp8(_mm256_or_ps(x, sign));
    __m256 num = _mm256_blendv_ps(x, _mm256_mul_ps(x, t), x);
    return _mm256_div_ps(num, _mm256_add_ps(one, t));
}

static void swiglu(float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(g + i, _mm256_mul_ps(silu8(_mm256_loadu_ps(g + i)), _mm256_loadu_ps(u + i)));
    if (i < n) {
        float tg[8] = {0}, tu[8] = {0};
        memcpy(tg, g + i, sizeof(float) * (size_t)(n - i));
        memcpy(tu, u + i, sizeof(float) * (size_t)(n - i));
        _mm256_storeu_ps(tg, _mm256_mul_ps(silu8(_mm256_loadu_ps(tg)), _mm256_loadu_ps(tu)));
        memcpy(g + i, tg, sizeof(float) * (size_t)(n - i));
    }
}

static void f16_to_f32(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = lf_fp16_to_fp32(src[i]);
}

static void f32_to_f16(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = lf_fp32_to_fp16(src[i]);
}

/* kernels.h's ssm_row: lanes 0-7 of the 16 partial sums in s0, 8-15 in s1;
 * mul and add apart (no FMA), as lf_ssm_row_c rounds them. */
static float ssm_row(float *s, const float *b, const float *c, float a, float x, int n) {
    __m256 av = _mm256_set1_ps(a), xv = _mm256_set1_ps(x), s0 = _mm256_setzero_ps(), s1 = s0;
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        __m256 v0 = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(s + k), av), _mm256_mul_ps(_mm256_loadu_ps(b + k), xv));
        __m256 v1 = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(s + k + 8), av),
                                  _mm256_mul_ps(_mm256_loadu_ps(b + k + 8), xv));
        _mm256_storeu_ps(s + k, v0);
        _mm256_storeu_ps(s + k + 8, v1);
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(v0, _mm256_loadu_ps(c + k)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(v1, _mm256_loadu_ps(c + k + 8)));
    }
    float lane[16];
    _mm256_storeu_ps(lane, s0);
    _mm256_storeu_ps(lane + 8, s1);
    for (; k < n; k++) {
        float v = s[k] * a + b[k] * x;
        s[k] = v;
        lane[k % 16] += v * c[k];
    }
    __m256 t = _mm256_add_ps(_mm256_loadu_ps(lane), _mm256_loadu_ps(lane + 8));
    __m128 u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    u = _mm_add_ps(u, _mm_movehl_ps(u, u));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

/* ------------------------------------------------------------ dispatch */

#define GEMV_FN(fam, T)                                                 \
    static void gemv_##T(const lf_mm_call *c, int64_t i0, int64_t i1) { \
        int64_t j = 0;                                                  \
        for (; j + 4 <= c->n; j += 4)                                   \
            fam(c, i0, i1, LF_TYPE_##T, 4, j);                          \
        switch (c->n - j) {                                             \
        case 3: fam(c, i0, i1, LF_TYPE_##T, 3, j); break;               \
        case 2: fam(c, i0, i1, LF_TYPE_##T, 2, j); break;               \
        case 1: fam(c, i0, i1, LF_TYPE_##T, 1, j); break;               \
        default: break;                                                 \
        }                                                               \
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

typedef void (*gemv_fn)(const lf_mm_call *c, int64_t i0, int64_t i1);

static gemv_fn gemv_for(int type) {
    switch (type) {
    case LF_TYPE_Q4_0: return gemv_Q4_0;
    case LF_TYPE_Q4_1: return gemv_Q4_1;
    case LF_TYPE_Q5_0: return gemv_Q5_0;
    case LF_TYPE_Q5_1: return gemv_Q5_1;
    case LF_TYPE_Q8_0: return gemv_Q8_0;
    case LF_TYPE_IQ4_NL: return gemv_IQ4_NL;
    case LF_TYPE_MXFP4: return gemv_MXFP4;
    case LF_TYPE_Q2_K: return gemv_Q2_K;
    case LF_TYPE_Q3_K: return gemv_Q3_K;
    case LF_TYPE_Q4_K: return gemv_Q4_K;
    case LF_TYPE_Q5_K: return gemv_Q5_K;
    case LF_TYPE_Q6_K: return gemv_Q6_K;
    case LF_TYPE_IQ4_XS: return gemv_IQ4_XS;
    case LF_TYPE_F32:
    case LF_TYPE_F16:
    case LF_TYPE_BF16: return mmf;
    default: return NULL;
    }
}

static void mm(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp) {
    lf_qinfo qi = lf_qinfo_of(c->type);
    if (c->n < LF_GEMM_MIN_N || !qi.sub)
        gemv_for(c->type)(c, i0, i1);
    else if (qi.is_k)
        gemmk(c, i0, i1, tmp);
    else
        gemm0(c, i0, i1, tmp);
}

static size_t tmp_bytes(const lf_mm_call *c) {
    lf_qinfo qi = lf_qinfo_of(c->type);
    if (c->n < LF_GEMM_MIN_N || !qi.sub)
        return 0;
    size_t k = (size_t)c->k;
    if (qi.is_k)
        return P * k + (k / 256) * sizeof(kpanel);
    return P * k + 2 * P * (k / 32) * sizeof(float);
}

void LF_INIT_NAME(lf_kernel_set *ks) {
    ks->attn_qk = attn_qk;
    ks->attn_kt = attn_kt;
    ks->attn_pv = attn_pv;
    ks->attn_exp = attn_exp;
    ks->f16_to_f32 = f16_to_f32;
    ks->f32_to_f16 = f32_to_f16;
    ks->ssm_row = ssm_row;
    ks->swiglu = swiglu;
    for (int t = 0; t < LF_TYPE_COUNT; t++)
        if (gemv_for(t))
            ks->mm[t] = (lf_mm_kernel){
                .act_bytes = lf_x86_act_bytes, .act = lf_x86_act, .mm = mm,
                .tmp_bytes = tmp_bytes, .row_align = P,
            };
}
