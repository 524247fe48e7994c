/* kernels_act_x86.c — activation conversion for the x86 kernel sets
 * (layouts in kernels_x86.h), with AVX2+FMA+F16C so every x86 set can use
 * it. The integer codes and scales are bit-identical to the reference
 * quantizers (quants_legacy.c, quants_k_quantize.c). */
#include "tensor/kernels_x86.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline float hmin8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline int hsum8i(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

static inline float round_half(float d) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(d), _MM_FROUND_TO_NEAREST_INT)));
}

/* roundf(v) (halves away from zero) as int32. */
static inline __m256i round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    __m256 up = _mm256_and_ps(_mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ), one);
    return _mm256_cvttps_epi32(_mm256_add_ps(t, up));
}

/* 32 int32 (four vectors) -> 32 int8 in order. */
static inline __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i abcd = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* ggml's quantize_row_q8_0 for one block: codes into q, returns d (before
 * its rounding to fp16) and Σq. */
static float q8_block(const float *x, int8_t *q, int *sum) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        amax = _mm256_max_ps(amax, _mm256_and_ps(v[i], abs));
    }
    const float d = hmax8(amax) / 127;
    const __m256 id = _mm256_set1_ps(d != 0 ? 1.0f / d : 0.0f);
    __m256i r[4];
    for (int i = 0; i < 4; i++)
        r[i] = round_away(_mm256_mul_ps(v[i], id));
    *sum = hsum8i(_mm256_add_epi32(_mm256_add_epi32(r[0], r[1]), _mm256_add_epi32(r[2], r[3])));
    _mm256_storeu_si256((__m256i *)q, pack32(r[0], r[1], r[2], r[3]));
    return d;
}

/* ggml's quantize_row_q8_K for one super-block. */
static float q8k_block(const float *x, int8_t *q, int16_t bs16[16]) {
    __m256 mx = _mm256_set1_ps(-INFINITY), mn = _mm256_set1_ps(INFINITY);
    for (int i = 0; i < 32; i++) {
        __m256 v = _mm256_loadu_ps(x + 8 * i);
        mx = _mm256_max_ps(mx, v);
        mn = _mm256_min_ps(mn, v);
    }
    float hi = hmax8(mx), lo = hmin8(mn);
    float max = hi >= -lo ? hi : lo;
    if (max == 0) {
        memset(q, 0, 256);
        memset(bs16, 0, 32);
        return 0;
    }
    /* the reference takes the first element of largest magnitude */
    if (hi == -lo)
        for (int e = 0; e < 256; e++)
            if (fabsf(x[e]) == hi) {
                max = x[e];
                break;
            }
    const float iscale = -127.f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    for (int b = 0; b < 8; b++) {
        __m256i r[4];
        for (int i = 0; i < 4; i++) {
            r[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * b + 8 * i), is));
            r[i] = _mm256_min_epi32(r[i], _mm256_set1_epi32(127));
        }
        bs16[2 * b] = (int16_t)hsum8i(_mm256_add_epi32(r[0], r[1]));
        bs16[2 * b + 1] = (int16_t)hsum8i(_mm256_add_epi32(r[2], r[3]));
        _mm256_storeu_si256((__m256i *)(q + 32 * b), pack32(r[0], r[1], r[2], r[3]));
    }
    return 1 / iscale;
}

/* ------------------------------------------------------------- layouts */

static int64_t padded(int64_t k, int64_t m) {
    return (k + m - 1) / m * m;
}

size_t lf_x86_act_bytes(int type, int64_t k, int64_t n) {
    lf_qinfo qi = lf_qinfo_of(type);
    if (qi.is_k)
        return (size_t)(n * (k / 256)) * sizeof(lf_akn);
    if (qi.sub)
        return (size_t)n * lf_a0_row_bytes(k);
    return type == LF_TYPE_BF16 ? (size_t)(n * padded(k, 32) * 2) : (size_t)(n * padded(k, 16) * 4);
}

static void a0_natural(lf_qinfo qi, const float *x, int64_t k, char *row) {
    const int64_t nb = k / 32, nbp = lf_pad16(nb);
    lf_a0row r = lf_a0_row(row, k);
    int8_t *q = (int8_t *)r.q;
    int32_t *xs = (int32_t *)r.x;
    float *d = (float *)r.d, *s = (float *)r.s;
    memset(q + k, 0, (size_t)((k + 63) / 64 * 64 - k));
    for (int64_t b = 0; b < nbp; b++) {
        if (b >= nb) {
            xs[b] = 0, d[b] = 0, s[b] = 0;
            continue;
        }
        int sum;
        float db = q8_block(x + 32 * b, q + 32 * b, &sum);
        d[b] = round_half(db);
        s[b] = qi.has_min ? round_half(db * (float)sum) : 0.0f;
        /* NaN activations make sum INT_MIN: widened, so the product is
         * garbage (the logits are NaN anyway) but never overflows */
        xs[b] = qi.has_min ? 0 : (int32_t)(-(int64_t)sum * qi.o);
    }
}

static void ak_natural(lf_qinfo qi, const float *x, int64_t k, lf_akn *p) {
    for (int64_t b = 0; b < k / 256; b++) {
        p[b].d = q8k_block(x + 256 * b, p[b].q, p[b].bs16);
        for (int j = 0; j < 8; j++)
            p[b].bs32[j] = (int16_t)(p[b].bs16[2 * j] + p[b].bs16[2 * j + 1]);
        memset(p[b].bs32 + 8, 0, 16);
        memset(p[b].pad, 0, sizeof p[b].pad);
        for (int s = 0; s < 16; s++)
            p[b].init[s] = s < 256 / qi.sub ? -(qi.sub == 16 ? p[b].bs16[s] : p[b].bs32[s]) * qi.o : 0;
    }
}

/* Floats: F16 weights meet their activations rounded to fp16, as ggml does. */
static inline float conv_float(int type, float v) {
    return type == LF_TYPE_F16 ? _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(v), 0))) : v;
}

static void float_row(int type, const float *x, int64_t k, char *dst) {
    if (type == LF_TYPE_BF16) {
        uint16_t *o = (uint16_t *)dst;
        for (int64_t i = 0; i < padded(k, 32); i++)
            o[i] = i < k ? lf_fp32_to_bf16(x[i]) : 0;
        return;
    }
    float *o = (float *)dst;
    int64_t i = 0;
    if (type == LF_TYPE_F16)
        for (; i + 8 <= k; i += 8)
            _mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0)));
    for (; i < padded(k, 16); i++)
        o[i] = i < k ? conv_float(type, x[i]) : 0;
}

void lf_x86_act(int type, const float *x, int64_t k, int64_t n, int64_t j0, int64_t j1,
                void *dst) {
    lf_qinfo qi = lf_qinfo_of(type);
    size_t row = lf_x86_act_bytes(type, k, 1);
    (void)n;
    for (int64_t j = j0; j < j1; j++) {
        char *o = (char *)dst + (size_t)j * row;
        if (qi.is_k)
            ak_natural(qi, x + j * k, k, (lf_akn *)o);
        else if (qi.sub)
            a0_natural(qi, x + j * k, k, o);
        else
            float_row(type, x + j * k, k, o);
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif /* __x86_64__ */
