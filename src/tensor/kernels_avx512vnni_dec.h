/* kernels_avx512vnni_dec.h — weight decoders for the AVX-512 VNNI set:
 * each turns a pair of 32-element blocks, or one 256-element super-block,
 * into unsigned 8-bit codes u (w = u - o, kernels_x86.h) in element order,
 * 64 per zmm, plus the scales. Shared by the matrix-vector kernels and the
 * panel decoding of the matrix-matrix kernels. Include after the target
 * pragma. */
#ifndef LF_TENSOR_KERNELS_AVX512VNNI_DEC_H
#define LF_TENSOR_KERNELS_AVX512VNNI_DEC_H

#include <immintrin.h>

#include "tensor/kernels_x86.h"
#include "tensor/pack.h"

#if defined(__clang__)
#define LF_UNROLL _Pragma("unroll")
#else
#define LF_UNROLL _Pragma("GCC unroll 16")
#endif
#define LF_INLINE static inline __attribute__((always_inline))

/* Asks for the bytes [p, end) to be brought into L2 (weight rows read
 * later, or in a pattern the hardware prefetcher does not follow). */
LF_INLINE void prefetch_l2(const char *p, const char *end) {
    for (; p < end; p += 64)
        _mm_prefetch(p, _MM_HINT_T1);
}

/* An fp16 field as float (F16C; the same value as lf_fp16_to_fp32). */
LF_INLINE float h2f(const uint8_t *p) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(lf_rd_u16(p))));
}

/* Sixteen fp16 values at p (a packed group's 16 d, or a run of F16) as
 * floats; negated by the sign bit, like a scalar -x (the 16 -dmin). */
LF_INLINE __m512 halves16(const uint8_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
LF_INLINE __m512 neg_halves16(const uint8_t *p) {
    return _mm512_xor_ps(halves16(p), _mm512_set1_ps(-0.0f));
}

/* ------------------------------------------------------ 32-element pairs */

typedef struct dec0 {
    __m512i u;   /* 64 codes: block b then block b+1 */
    __m512 d;    /* lanes 0-7: scale of b, 8-15: of b+1 */
    __m512 m;    /* the same for the min (Q4_1, Q5_1) */
} dec0;

/* Block size in bytes of the 32-element types. */
LF_INLINE int bytes0(int type) {
    return lf_block_bytes(type);
}

/* Two fp16 fields as lanes [a x8, b x8]. */
LF_INLINE __m512 halves2(const uint8_t *a, const uint8_t *b) {
    __m128i h = _mm_cvtsi32_si128((int)((uint32_t)lf_rd_u16(a) | (uint32_t)(b ? lf_rd_u16(b) : 0) << 16));
    __m512 f = _mm512_castps128_ps512(_mm_cvtph_ps(h));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), f);
}

LF_INLINE __m512 floats2(float a, float b) {
    return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(a), _mm512_set1_ps(b));
}

/* Sixteen quant bytes of each of two blocks (at qa, and at qa + gap if two)
 * as 128-bit lanes [qa, qa, qb, qb], split into low nibbles (lanes 0, 2)
 * and high nibbles (1, 3): the 64 4-bit codes in element order. Two plain
 * loads, nothing read past the blocks: a masked load here ran 5x slower
 * from memory on Zen 4 (gemv_bench -c 4, IQ4_XS). */
LF_INLINE __m512i nibbles2(const uint8_t *qa, int gap, int two) {
    __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qa));
    __m256i b = two ? _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(qa + gap))) : _mm256_setzero_si256();
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
    const __m512i sh = _mm512_setr_epi64(0, 0, 0x0004000400040004ll, 0x0004000400040004ll, 0, 0,
                                         0x0004000400040004ll, 0x0004000400040004ll);
    return _mm512_and_si512(_mm512_srlv_epi16(z, sh), _mm512_set1_epi8(15));
}

/* The IQ4_NL / IQ4_XS code table plus 128 (as unsigned bytes), in every
 * 128-bit lane for vpshufb. */
LF_INLINE __m512i iq4_lut(void) {
    return _mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115, -103, -90, -75,
                                                -59, -39, -15));
}

LF_INLINE float e8m0_half_f(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    return lf_f32_from_bits(bits);
}

/* Blocks at p and p + bytes0 (the second only if two). */
LF_INLINE dec0 decode0(int type, const uint8_t *p, int two) {
    const int bs = bytes0(type);
    const uint8_t *p1 = two ? p + bs : NULL;
    dec0 r;
    r.m = _mm512_setzero_ps();
    switch (type) {
    case LF_TYPE_Q8_0: {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + 2));
        __m256i b = two ? _mm256_loadu_si256((const __m256i *)(p1 + 2)) : _mm256_set1_epi8(-128);
        r.u = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1), _mm512_set1_epi8(-128));
        r.d = halves2(p, p1);
        break;
    }
    case LF_TYPE_Q4_0:
        r.u = nibbles2(p + 2, bs, two);
        r.d = halves2(p, p1);
        break;
    case LF_TYPE_Q4_1:
        r.u = nibbles2(p + 4, bs, two);
        r.d = halves2(p, p1);
        r.m = halves2(p + 2, two ? p1 + 2 : NULL);
        break;
    case LF_TYPE_Q5_0:
    case LF_TYPE_Q5_1: {
        const int off = type == LF_TYPE_Q5_0 ? 2 : 4;
        r.u = nibbles2(p + off + 4, bs, two);
        uint64_t hb = lf_rd_u32(p + off) | (two ? (uint64_t)lf_rd_u32(p1 + off) << 32 : 0);
        r.u = _mm512_mask_add_epi8(r.u, (__mmask64)hb, r.u, _mm512_set1_epi8(16));
        r.d = halves2(p, p1);
        if (type == LF_TYPE_Q5_1)
            r.m = halves2(p + 2, two ? p1 + 2 : NULL);
        break;
    }
    case LF_TYPE_IQ4_NL: {
        r.u = _mm512_shuffle_epi8(iq4_lut(), nibbles2(p + 2, bs, two));
        r.d = halves2(p, p1);
        break;
    }
    default: { /* MXFP4: table + 16 */
        const __m512i lut = _mm512_broadcast_i32x4(
            _mm_setr_epi8(16, 17, 18, 19, 20, 22, 24, 28, 16, 15, 14, 13, 12, 10, 8, 4));
        r.u = _mm512_shuffle_epi8(lut, nibbles2(p + 1, bs, two));
        r.d = floats2(e8m0_half_f(p[0]), two ? e8m0_half_f(p1[0]) : 0.0f);
        break;
    }
    }
    return r;
}

/* ---------------------------------------------------------- super-blocks */

typedef struct deck {
    __m512i u[4];   /* codes 64g .. 64g+63 */
    __m512i sc[4];  /* int32 scale of each lane's sub-block */
    __m512i all;    /* int32 scale of sub-block 0..15 (or 0..7) */
    __m256i m16;    /* int16 per sub-block: mins (Q2_K, Q4_K, Q5_K) or scales */
    float d, dmin;
} deck;

LF_INLINE int bytesk(int type) {
    return lf_block_bytes(type);
}

/* Lane scale vectors from the 16 (or 8) sub-block scales in `all`. */
LF_INLINE void lane_scales(__m512i all, int sub, __m512i sc[4]) {
    LF_UNROLL
    for (int g = 0; g < 4; g++) {
        __m512i idx;
        if (sub == 32)
            idx = _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(2 * g), _mm512_set1_epi32(2 * g + 1));
        else
            idx = _mm512_add_epi32(_mm512_set1_epi32(4 * g),
                                   _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
        sc[g] = _mm512_permutexvar_epi32(idx, all);
    }
}

/* 32 bytes at p in both 256-bit halves. */
LF_INLINE __m512i bcast256(const uint8_t *p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}

/* Per 16-bit word: shift by a in the low half of the zmm, by b in the high. */
LF_INLINE __m512i halves_shift(int a, int b) {
    return _mm512_mask_blend_epi64(0xf0, _mm512_set1_epi16((short)a), _mm512_set1_epi16((short)b));
}

/* 2-bit codes of Q2_K / Q3_K (element e: byte 32(e/128) + e%32, bits
 * 2((e%128)/32)). */
LF_INLINE __m512i crumbs(const uint8_t *qs, int g) {
    __m512i z = bcast256(qs + 32 * (g / 2));
    int s = 4 * (g % 2);
    return _mm512_and_si512(_mm512_srlv_epi16(z, halves_shift(s, s + 2)), _mm512_set1_epi8(3));
}

/* Bit (2g, 2g+1) of 32 bytes at p as a 64-lane mask (low half, high half). */
LF_INLINE __mmask64 bit_mask(const uint8_t *p, int g) {
    __m512i z = bcast256(p);
    __m512i t = _mm512_mask_blend_epi64(0xf0, _mm512_set1_epi8((char)(1 << (2 * g))),
                                        _mm512_set1_epi8((char)(1 << (2 * g + 1))));
    return _mm512_test_epi8_mask(z, t);
}

LF_INLINE void k4_scales(const uint8_t *s, uint64_t *sc, uint64_t *mn) {
    uint32_t a = lf_rd_u32(s), b = lf_rd_u32(s + 4), c = lf_rd_u32(s + 8);
    uint32_t sl = a & 0x3f3f3f3f, sh = (c & 0x0f0f0f0f) | (a >> 2 & 0x30303030);
    uint32_t ml = b & 0x3f3f3f3f, mh = (c >> 4 & 0x0f0f0f0f) | (b >> 2 & 0x30303030);
    *sc = sl | (uint64_t)sh << 32;
    *mn = ml | (uint64_t)mh << 32;
}

/* with_lanes: also the per-lane scale vectors sc[] (matrix-vector). */
LF_INLINE deck decodek(int type, const uint8_t *p, int with_lanes) {
    deck r;
    switch (type) {
    case LF_TYPE_Q4_K:
    case LF_TYPE_Q5_K: {
        uint64_t sc, mn;
        k4_scales(p + 4, &sc, &mn);
        r.all = _mm512_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc));
        r.m16 = _mm256_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn));
        r.d = h2f(p);
        r.dmin = h2f(p + 2);
        const uint8_t *qs = p + (type == LF_TYPE_Q4_K ? 16 : 48);
        LF_UNROLL
        for (int g = 0; g < 4; g++) {
            r.u[g] = _mm512_and_si512(_mm512_srlv_epi16(bcast256(qs + 32 * g), halves_shift(0, 4)),
                                      _mm512_set1_epi8(15));
            if (type == LF_TYPE_Q5_K)
                r.u[g] = _mm512_mask_add_epi8(r.u[g], bit_mask(p + 16, g), r.u[g], _mm512_set1_epi8(16));
        }
        break;
    }
    case LF_TYPE_Q6_K: {
        __m128i s8 = _mm_loadu_si128((const __m128i *)(p + 192));
        r.all = _mm512_cvtepi8_epi32(s8);
        r.m16 = _mm256_cvtepi8_epi16(s8);
        r.d = h2f(p + 208);
        r.dmin = 0;
        LF_UNROLL
        for (int h = 0; h < 2; h++) {
            __m512i l = _mm512_loadu_si512(p + 64 * h);
            __m512i q = bcast256(p + 128 + 32 * h);
            const __m512i lo4 = _mm512_set1_epi8(15), b45 = _mm512_set1_epi8(0x30);
            r.u[2 * h] = _mm512_or_si512(_mm512_and_si512(l, lo4),
                                         _mm512_and_si512(_mm512_sllv_epi16(q, halves_shift(4, 2)), b45));
            r.u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), lo4),
                                             _mm512_and_si512(_mm512_srlv_epi16(q, halves_shift(0, 2)), b45));
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
        __m128i v = _mm_set_epi64x((long long)(lo1 | hi1 << 4), (long long)(lo0 | hi0 << 4));
        v = _mm_sub_epi8(v, _mm_set1_epi8(32));
        r.all = _mm512_cvtepi8_epi32(v);
        r.m16 = _mm256_cvtepi8_epi16(v);
        r.d = h2f(p + 108);
        r.dmin = 0;
        LF_UNROLL
        for (int g = 0; g < 4; g++)
            r.u[g] = _mm512_mask_add_epi8(crumbs(p + 32, g), bit_mask(p, g), crumbs(p + 32, g),
                                          _mm512_set1_epi8(4));
        break;
    }
    case LF_TYPE_Q2_K: {
        __m128i s8 = _mm_loadu_si128((const __m128i *)p);
        __m128i lo = _mm_and_si128(s8, _mm_set1_epi8(15));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(s8, 4), _mm_set1_epi8(15));
        r.all = _mm512_cvtepu8_epi32(lo);
        r.m16 = _mm256_cvtepu8_epi16(hi);
        r.d = h2f(p + 80);
        r.dmin = h2f(p + 82);
        LF_UNROLL
        for (int g = 0; g < 4; g++)
            r.u[g] = crumbs(p + 16, g);
        break;
    }
    default: { /* IQ4_XS */
        /* sub-block ib: low 4 bits from nibble ib of p[4..7], high 2 bits
         * from bits 2ib..2ib+1 of the u16 at p + 2, less 32 */
        uint64_t ls = _pdep_u64(lf_rd_u32(p + 4), 0x0f0f0f0f0f0f0f0full) |
                      _pdep_u64(lf_rd_u16(p + 2), 0x3030303030303030ull);
        __m128i v = _mm_move_epi64(_mm_sub_epi8(_mm_cvtsi64_si128((long long)ls), _mm_set1_epi8(32)));
        r.all = _mm512_cvtepi8_epi32(v);
        r.m16 = _mm256_cvtepi8_epi16(v);
        r.d = h2f(p);
        r.dmin = 0;
        LF_UNROLL
        for (int g = 0; g < 4; g++)
            r.u[g] = _mm512_shuffle_epi8(iq4_lut(), nibbles2(p + 8 + 32 * g, 16, 1));
        break;
    }
    }
    if (with_lanes)
        lane_scales(r.all, lf_qinfo_of(type).sub, r.sc);
    return r;
}

/* acc += u8 lanes of w x the 4 signed bytes at p in every lane, with the
 * broadcast folded into the instruction (compilers load it separately). */
LF_INLINE __m512i dpbusd_b(__m512i acc, __m512i w, const void *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)p));
    return acc;
}

LF_INLINE __m512i bcast32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* ------------------------------- packed Q4_K / Q5_K groups (tensor/pack.h) */

/* A packed super-block: codes first, then the tail of both types (d, dmin,
 * the scale words); Q5_K's codes come as runs of a sub-block's four code
 * vectors and the vector of their fifth bits. */

LF_INLINE int kp_sb(int type) {
    return type == LF_TYPE_Q5_K ? LF_PK_Q5K_SB : LF_PK_Q4K_SB;
}
LF_INLINE const uint8_t *kp_tail(int type, const uint8_t *p) {
    return p + (type == LF_TYPE_Q5_K ? 8 * LF_PK_Q5K_RUN : 2048);
}

/* The scale words of one packed super-block (tail at t): per row lane, the
 * bytes of scales 0-3 (sl), 4-7 (sh), mins 0-3 (ml), 4-7 (mh); as k4_scales. */
typedef struct kp_sc {
    __m512i sl, sh, ml, mh;
} kp_sc;

LF_INLINE kp_sc kp_words(const uint8_t *t) {
    __m512i a = _mm512_loadu_si512(t + LF_PK_K_WORDS), b = _mm512_loadu_si512(t + LF_PK_K_WORDS + 64),
            c = _mm512_loadu_si512(t + LF_PK_K_WORDS + 128);
    const __m512i m6 = _mm512_set1_epi32(0x3f3f3f3f), m4 = _mm512_set1_epi32(0x0f0f0f0f),
                  h2 = _mm512_set1_epi32(0x30303030);
    kp_sc r;
    r.sl = _mm512_and_si512(a, m6);
    r.ml = _mm512_and_si512(b, m6);
    r.sh = _mm512_or_si512(_mm512_and_si512(c, m4), _mm512_and_si512(_mm512_srli_epi32(a, 2), h2));
    r.mh = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(c, 4), m4), _mm512_and_si512(_mm512_srli_epi32(b, 2), h2));
    return r;
}

/* Sub-block q's scale of the 16 rows as int32 lanes. */
LF_INLINE __m512i kp_scale(const kp_sc *s, int q) {
    const __m512i idx = _mm512_or_si512(_mm512_set1_epi32((int)0x80808000u),
                                        _mm512_set4_epi32(12 + q % 4, 8 + q % 4, 4 + q % 4, q % 4));
    return _mm512_shuffle_epi8(q < 4 ? s->sl : s->sh, idx);
}

/* Mins 2pp and 2pp + 1 of the 16 rows as int16 pairs (for vpdpwssd). */
LF_INLINE __m512i kp_minpair(const kp_sc *s, int pp) {
    const int o = 2 * (pp % 2);
#define PAIR(x) ((x + o) | (x + o + 1) << 16)
    const __m512i idx = _mm512_or_si512(_mm512_set1_epi32((int)0x80008000u),
                                        _mm512_set4_epi32(PAIR(12), PAIR(8), PAIR(4), PAIR(0)));
#undef PAIR
    return _mm512_shuffle_epi8(pp < 2 ? s->ml : s->mh, idx);
}

/* d and -dmin of the 16 rows (-dmin by the sign bit, like a scalar -x). */
LF_INLINE __m512 kp_d(const uint8_t *t) {
    return halves16(t + LF_PK_K_D);
}
LF_INLINE __m512 kp_ndmin(const uint8_t *t) {
    return neg_halves16(t + LF_PK_K_DMIN);
}

/* Codes of vector t: elements 8t .. 8t+3 (lo) and 8t+4 .. 8t+7 (hi), 4 per row lane. */
LF_INLINE void q4kp_codes(const uint8_t *p, int t, __m512i *lo, __m512i *hi) {
    __m512i v = _mm512_loadu_si512(p + 64 * t);
    *lo = _mm512_and_si512(v, _mm512_set1_epi8(15));
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(15));
}

/* The same for Q4_K or Q5_K: Q5_K's are vector s = t % 4 of run t / 4, the
 * fifth bits from the run's last vector (bit s of a byte for lo, bit 4 + s
 * for hi). */
LF_INLINE void kp_codes(int type, const uint8_t *p, int t, __m512i *lo, __m512i *hi) {
    if (type != LF_TYPE_Q5_K) {
        q4kp_codes(p, t, lo, hi);
        return;
    }
    const uint8_t *run = p + LF_PK_Q5K_RUN * (t / 4);
    const int s = t % 4;
    __m512i v = _mm512_loadu_si512(run + 64 * s), h = _mm512_loadu_si512(run + 256);
    const __m512i m4 = _mm512_set1_epi8(15), b4 = _mm512_set1_epi8(0x10);
    *lo = _mm512_or_si512(_mm512_and_si512(v, m4), _mm512_and_si512(_mm512_slli_epi16(h, 4 - s), b4));
    *hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), m4), _mm512_and_si512(_mm512_srli_epi16(h, s), b4));
}

/* ------------------------------------- packed Q6_K groups (tensor/pack.h) */

/* Codes (6 bits) of vector t: the low nibbles as Q4_K's, the high two bits
 * from crumb vector t/2 (bits 0-1 and 2-3 for even t, 4-5 and 6-7 for odd),
 * the three vectors of a pair t/2 side by side (192 bytes). */
LF_INLINE void q6kp_codes(const uint8_t *p, int t, __m512i *lo, __m512i *hi) {
    const uint8_t *pair = p + 192 * (t / 2);
    __m512i v = _mm512_loadu_si512(pair + 64 * (t % 2)), h = _mm512_loadu_si512(pair + 128);
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    __m512i hl = t % 2 ? h : _mm512_slli_epi16(h, 4);
    __m512i hh = t % 2 ? _mm512_srli_epi16(h, 2) : _mm512_slli_epi16(h, 2);
    *lo = _mm512_or_si512(_mm512_and_si512(v, m4), _mm512_and_si512(hl, m30));
    *hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), m4), _mm512_and_si512(hh, m30));
}

/* Sub-block q's (int8) scale of the 16 rows as int32 lanes; d as floats. */
LF_INLINE __m512i q6kp_scale(const uint8_t *p, int q) {
    return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + LF_PK_Q6K_SC + 16 * q)));
}
LF_INLINE __m512 q6kp_d(const uint8_t *p) {
    return halves16(p + LF_PK_Q6K_D);
}

/* -------------------------------- packed Q2_K / Q3_K groups (tensor/pack.h) */

/* Bytes of a packed super-block of the types with 16-element sub-blocks. */
LF_INLINE int p16_sb(int type) {
    return type == LF_TYPE_Q2_K ? LF_PK_Q2K_SB : type == LF_TYPE_Q3_K ? LF_PK_Q3K_SB : LF_PK_Q6K_SB;
}

/* The codes of sub-block q as four vectors: c[s] holds elements
 * 16q + 4s .. 16q + 4s + 3 of each row lane (Q3_K: u = w + 4). */
LF_INLINE void p16_codes(int type, const uint8_t *p, int q, __m512i c[4]) {
    if (type == LF_TYPE_Q6_K) {
        q6kp_codes(p, 2 * q, &c[0], &c[1]);
        q6kp_codes(p, 2 * q + 1, &c[2], &c[3]);
        return;
    }
    const uint8_t *run = type == LF_TYPE_Q3_K ? p + LF_PK_Q3K_RUN * (q / 2) : p + 64 * (q & ~1);
    const __m512i x = _mm512_loadu_si512(run + 64 * (q % 2)), m3 = _mm512_set1_epi8(3);
    LF_UNROLL
    for (int s = 0; s < 4; s++)
        c[s] = _mm512_and_si512(_mm512_srli_epi16(x, 2 * s), m3);
    if (type != LF_TYPE_Q3_K)
        return;
    /* the third bit of c[s] is bit b = 4(q%2) + s of the run's bit vector,
     * moved to bit 2 within its byte */
    const __m512i h = _mm512_loadu_si512(run + 128), b2 = _mm512_set1_epi8(4);
    LF_UNROLL
    for (int s = 0; s < 4; s++) {
        const int b = 4 * (q % 2) + s;
        __m512i t = b >= 2 ? _mm512_srli_epi16(h, b - 2) : _mm512_slli_epi16(h, 2 - b);
        c[s] = _mm512_or_si512(c[s], _mm512_and_si512(t, b2));
    }
}

/* Q3_K's sixteen 6-bit scales of each row lane, less 32, as int8: scales
 * 4i .. 4i + 3 in the bytes of w[i] (decodek's unpacking, on words). */
typedef struct p16_sc {
    __m512i w[4];
} p16_sc;

LF_INLINE p16_sc p16_words(int type, const uint8_t *p) {
    p16_sc r;
    if (type != LF_TYPE_Q3_K) {
        LF_UNROLL
        for (int i = 0; i < 4; i++)
            r.w[i] = _mm512_setzero_si512();
        return r;
    }
    const uint8_t *t = p + LF_PK_Q3K_WORDS;
    const __m512i a = _mm512_loadu_si512(t), b = _mm512_loadu_si512(t + 64), c = _mm512_loadu_si512(t + 128);
    const __m512i m4 = _mm512_set1_epi8(15), h2 = _mm512_set1_epi8(0x30), k32 = _mm512_set1_epi8(32);
    const __m512i lo[4] = {a, b, _mm512_srli_epi32(a, 4), _mm512_srli_epi32(b, 4)};
    const __m512i hi[4] = {_mm512_slli_epi32(c, 4), _mm512_slli_epi32(c, 2), c, _mm512_srli_epi32(c, 2)};
    LF_UNROLL
    for (int i = 0; i < 4; i++)
        r.w[i] = _mm512_sub_epi8(_mm512_or_si512(_mm512_and_si512(lo[i], m4), _mm512_and_si512(hi[i], h2)), k32);
    return r;
}

/* Sub-block q's scale of the 16 rows as int32 lanes. */
LF_INLINE __m512i p16_scale(int type, const uint8_t *p, const p16_sc *s, int q) {
    if (type == LF_TYPE_Q6_K)
        return q6kp_scale(p, q);
    if (type == LF_TYPE_Q3_K)
        return _mm512_srai_epi32(_mm512_slli_epi32(s->w[q / 4], 24 - 8 * (q % 4)), 24);
    __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(p + LF_PK_Q2K_SC + 32 * (q / 2))));
    return _mm512_and_si512(q % 2 ? _mm512_srli_epi32(x, 16) : x, _mm512_set1_epi32(15));
}

/* Q2_K: the mins of sub-blocks 2pp and 2pp + 1 of the 16 rows as int16
 * pairs (for vpdpwssd). */
LF_INLINE __m512i q2kp_minpair(const uint8_t *p, int pp) {
    __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(p + LF_PK_Q2K_SC + 32 * pp)));
    return _mm512_and_si512(_mm512_srli_epi16(x, 4), _mm512_set1_epi16(15));
}

/* d of the 16 rows; Q2_K's -dmin (by the sign bit, like a scalar -x). */
LF_INLINE __m512 p16_d(int type, const uint8_t *p) {
    if (type == LF_TYPE_Q6_K)
        return q6kp_d(p);
    return halves16(p + (type == LF_TYPE_Q2_K ? LF_PK_Q2K_D : LF_PK_Q3K_D));
}
LF_INLINE __m512 q2kp_ndmin(const uint8_t *p) {
    return neg_halves16(p + LF_PK_Q2K_DMIN);
}

/* ---------------------- packed Q4_0 / IQ4_NL / Q8_0 groups (tensor/pack.h) */

/* Bytes of a packed block of 16 rows, and where its 16 d start. */
LF_INLINE int p0_blk(int type) {
    return type == LF_TYPE_Q8_0 ? LF_PK_Q80_SB : LF_PK_Q40_SB;
}

/* Code vectors t and t + 1 of a packed block's 8 (elements 4t .. 4t+7 of
 * the 16 rows) as decode0's u (IQ4_NL: its table; Q8_0: stored as u). */
LF_INLINE void p0_codes(int type, const uint8_t *p, int t, __m512i *lo, __m512i *hi) {
    if (type == LF_TYPE_Q8_0) {
        *lo = _mm512_loadu_si512(p + 64 * t);
        *hi = _mm512_loadu_si512(p + 64 * (t + 1));
        return;
    }
    q4kp_codes(p, t / 2, lo, hi);
    if (type == LF_TYPE_IQ4_NL) {
        *lo = _mm512_shuffle_epi8(iq4_lut(), *lo);
        *hi = _mm512_shuffle_epi8(iq4_lut(), *hi);
    }
}

/* d of the 16 rows of a packed block. */
LF_INLINE __m512 p0_d(int type, const uint8_t *p) {
    return halves16(p + (type == LF_TYPE_Q8_0 ? LF_PK_Q80_D : LF_PK_Q40_D));
}

/* kernels_avx512vnni_gemm.c: the matrix-matrix kernels (x16 layouts), and
 * fewer rows against packed Q4_0 / IQ4_NL / Q8_0 groups. */
void lf_vnni_gemm(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp);
size_t lf_vnni_gemm_tmp(const lf_mm_call *c);
void lf_vnni_gemv_packed0(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp);
enum { LF_VNNI_PANEL = 16 }; /* weight rows per panel (the row alignment) */

#endif
