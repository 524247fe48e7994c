/* test_types.c — the type-traits table: names, sizes (spec/quants.md §2.0),
 * removed ids, row sizes, partner types and which kernels exist. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

static const struct {
    int id;
    const char *name;
    int64_t blck, bytes;
    int vec_dot_type;
} k_spec[] = {
    {0, "F32", 1, 4, LF_TYPE_F32},           {1, "F16", 1, 2, LF_TYPE_F16},
    {2, "Q4_0", 32, 18, LF_TYPE_Q8_0},       {3, "Q4_1", 32, 20, LF_TYPE_Q8_1},
    {6, "Q5_0", 32, 22, LF_TYPE_Q8_0},       {7, "Q5_1", 32, 24, LF_TYPE_Q8_1},
    {8, "Q8_0", 32, 34, LF_TYPE_Q8_0},       {9, "Q8_1", 32, 36, LF_TYPE_Q8_1},
    {10, "Q2_K", 256, 84, LF_TYPE_Q8_K},     {11, "Q3_K", 256, 110, LF_TYPE_Q8_K},
    {12, "Q4_K", 256, 144, LF_TYPE_Q8_K},    {13, "Q5_K", 256, 176, LF_TYPE_Q8_K},
    {14, "Q6_K", 256, 210, LF_TYPE_Q8_K},    {15, "Q8_K", 256, 292, LF_TYPE_Q8_K},
    {16, "IQ2_XXS", 256, 66, LF_TYPE_Q8_K},  {17, "IQ2_XS", 256, 74, LF_TYPE_Q8_K},
    {18, "IQ3_XXS", 256, 98, LF_TYPE_Q8_K},  {19, "IQ1_S", 256, 50, LF_TYPE_Q8_K},
    {20, "IQ4_NL", 32, 18, LF_TYPE_Q8_0},    {21, "IQ3_S", 256, 110, LF_TYPE_Q8_K},
    {22, "IQ2_S", 256, 82, LF_TYPE_Q8_K},    {23, "IQ4_XS", 256, 136, LF_TYPE_Q8_K},
    {24, "I8", 1, 1, -1},                    {25, "I16", 1, 2, -1},
    {26, "I32", 1, 4, -1},                   {27, "I64", 1, 8, -1},
    {28, "F64", 1, 8, -1},                   {29, "IQ1_M", 256, 56, LF_TYPE_Q8_K},
    {30, "BF16", 1, 2, LF_TYPE_BF16},        {34, "TQ1_0", 256, 54, LF_TYPE_Q8_K},
    {35, "TQ2_0", 256, 66, LF_TYPE_Q8_K},    {39, "MXFP4", 32, 17, LF_TYPE_Q8_0},
    {40, "NVFP4", 64, 36, LF_TYPE_Q8_0},     {41, "Q1_0", 128, 18, LF_TYPE_Q8_0},
    {42, "Q2_0", 64, 18, LF_TYPE_Q8_0},
};
#define N_SPEC (int)(sizeof k_spec / sizeof k_spec[0])

/* Types that must have each kernel (the task's list). */
static const int k_need_to_float[] = {
    LF_TYPE_F32,  LF_TYPE_F16,  LF_TYPE_BF16,   LF_TYPE_Q4_0,   LF_TYPE_Q4_1, LF_TYPE_Q5_0,
    LF_TYPE_Q5_1, LF_TYPE_Q8_0, LF_TYPE_Q8_1,   LF_TYPE_Q2_K,   LF_TYPE_Q3_K, LF_TYPE_Q4_K,
    LF_TYPE_Q5_K, LF_TYPE_Q6_K, LF_TYPE_Q8_K,   LF_TYPE_IQ4_NL, LF_TYPE_IQ4_XS, LF_TYPE_MXFP4,
};
static const int k_need_from_float[] = {
    LF_TYPE_F32,  LF_TYPE_F16,  LF_TYPE_BF16, LF_TYPE_Q4_0, LF_TYPE_Q8_0,
    LF_TYPE_Q8_1, LF_TYPE_Q8_K, LF_TYPE_Q4_K, LF_TYPE_Q6_K,
};

static void test_sizes(void) {
    TEST_BEGIN("types: ids, names and sizes match spec §2.0");
    int listed = 0;
    for (int i = 0; i < N_SPEC; i++) {
        const lf_type_traits *t = lf_type_traits_of(k_spec[i].id);
        EXPECT(t != NULL, "id %d has no row", k_spec[i].id);
        if (!t)
            continue;
        listed++;
        EXPECT(!strcmp(t->name, k_spec[i].name), "id %d: name %s, want %s",
               k_spec[i].id, t->name, k_spec[i].name);
        EXPECT(lf_type_block_size(k_spec[i].id) == k_spec[i].blck, "%s: block %lld",
               t->name, (long long)lf_type_block_size(k_spec[i].id));
        EXPECT(lf_type_block_bytes(k_spec[i].id) == k_spec[i].bytes, "%s: bytes %lld",
               t->name, (long long)lf_type_block_bytes(k_spec[i].id));
        if (k_spec[i].vec_dot_type >= 0)
            EXPECT(t->vec_dot_type == k_spec[i].vec_dot_type, "%s: vec_dot_type %d",
                   t->name, t->vec_dot_type);
    }
    int rows = 0;
    for (int id = -5; id < LF_TYPE_COUNT + 5; id++)
        rows += lf_type_traits_of(id) != NULL;
    EXPECT(rows == listed && listed == N_SPEC, "%d rows in the table, %d in the spec", rows,
           N_SPEC);
    TEST_END();
}

static void test_removed(void) {
    static const int removed[] = {4, 5, 31, 32, 33, 36, 37, 38, -1, LF_TYPE_COUNT, 1000};
    TEST_BEGIN("types: removed and unknown ids give NULL/0/-1");
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        int id = removed[i];
        EXPECT(lf_type_traits_of(id) == NULL, "id %d has a row", id);
        EXPECT(lf_type_name(id) == NULL, "id %d has a name", id);
        EXPECT(lf_type_block_size(id) == 0 && lf_type_block_bytes(id) == 0,
               "id %d has a size", id);
        EXPECT(!lf_type_supported(id), "id %d supported", id);
        EXPECT(lf_type_row_bytes(id, 256) == -1, "id %d has row bytes", id);
    }
    TEST_END();
}

static void test_names(void) {
    TEST_BEGIN("types: names unique, lf_type_from_name round trip");
    for (int a = 0; a < LF_TYPE_COUNT; a++) {
        const char *na = lf_type_name(a);
        if (!na)
            continue;
        EXPECT(lf_type_from_name(na) == a, "%s -> %d", na, lf_type_from_name(na));
        for (int b = a + 1; b < LF_TYPE_COUNT; b++)
            EXPECT(!lf_type_name(b) || strcmp(na, lf_type_name(b)), "%s twice", na);
    }
    EXPECT(lf_type_from_name("q4_k") == LF_TYPE_Q4_K, "case-insensitive lookup");
    EXPECT(lf_type_from_name("Iq4_Xs") == LF_TYPE_IQ4_XS, "case-insensitive lookup");
    EXPECT(lf_type_from_name("Q4_2") == -1, "removed name found");
    EXPECT(lf_type_from_name("") == -1, "empty name found");
    EXPECT(lf_type_from_name("Q4_0 ") == -1, "name with a space found");
    TEST_END();
}

static void test_row_bytes(void) {
    TEST_BEGIN("types: lf_type_row_bytes");
    EXPECT(lf_type_row_bytes(LF_TYPE_F32, 7) == 28, "F32");
    EXPECT(lf_type_row_bytes(LF_TYPE_BF16, 0) == 0, "BF16 empty");
    EXPECT(lf_type_row_bytes(LF_TYPE_Q4_0, 4096) == 4096 / 32 * 18, "Q4_0");
    EXPECT(lf_type_row_bytes(LF_TYPE_Q4_0, 48) == -1, "Q4_0 partial block");
    EXPECT(lf_type_row_bytes(LF_TYPE_Q4_K, 4096) == 16 * 144, "Q4_K");
    EXPECT(lf_type_row_bytes(LF_TYPE_Q4_K, 128) == -1, "Q4_K partial block");
    EXPECT(lf_type_row_bytes(LF_TYPE_MXFP4, 2880) == 90 * 17, "MXFP4");
    EXPECT(lf_type_row_bytes(LF_TYPE_Q8_K, 512) == 2 * 292, "Q8_K");
    EXPECT(lf_type_row_bytes(LF_TYPE_F16, -2) == -1, "negative n");
    TEST_END();
}

static void test_kernels(void) {
    TEST_BEGIN("types: required kernels are present");
    for (size_t i = 0; i < sizeof k_need_to_float / sizeof(int); i++) {
        int id = k_need_to_float[i];
        const lf_type_traits *t = lf_type_traits_of(id);
        EXPECT(t && t->to_float && lf_type_supported(id), "%s: no to_float", lf_type_name(id));
        if (!t || id == LF_TYPE_Q8_1 || id == LF_TYPE_Q8_K)
            continue;
        EXPECT(t->vec_dot, "%s: no vec_dot", t->name);
        /* the partner format must be able to quantize activations */
        const lf_type_traits *p = lf_type_traits_of(t->vec_dot_type);
        EXPECT(p && p->from_float, "%s: partner %d cannot quantize", t->name,
               t->vec_dot_type);
    }
    for (size_t i = 0; i < sizeof k_need_from_float / sizeof(int); i++) {
        const lf_type_traits *t = lf_type_traits_of(k_need_from_float[i]);
        EXPECT(t && t->from_float, "%s: no from_float", lf_type_name(k_need_from_float[i]));
    }
    for (int id = 0; id < LF_TYPE_COUNT; id++) {
        const lf_type_traits *t = lf_type_traits_of(id);
        if (t && (t->vec_dot || t->from_float))
            EXPECT(t->to_float, "%s: kernels without to_float", t->name);
    }
    TEST_END();
}

/* fp16/bf16 conversions against exhaustive and hand-picked cases. */
static void test_fp16(void) {
    TEST_BEGIN("fp16: every half round-trips through float");
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = lf_fp16_to_fp32((uint16_t)h);
        bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (nan)
            EXPECT(f != f && lf_fp32_to_fp16(f) == (h | 0x200), "nan %04x", h);
        else
            EXPECT(lf_fp32_to_fp16(f) == h, "%04x -> %g -> %04x", h, f, lf_fp32_to_fp16(f));
    }
    TEST_END();

    TEST_BEGIN("fp16: rounding, subnormals, overflow");
    EXPECT(lf_fp32_to_fp16(1.0f) == 0x3c00, "1");
    EXPECT(lf_fp32_to_fp16(-2.0f) == 0xc000, "-2");
    EXPECT(lf_fp32_to_fp16(65504.0f) == 0x7bff, "max");
    EXPECT(lf_fp32_to_fp16(65519.99f) == 0x7bff, "just below the rounding edge");
    EXPECT(lf_fp32_to_fp16(65520.0f) == 0x7c00, "rounds to inf");
    EXPECT(lf_fp32_to_fp16(1e30f) == 0x7c00, "huge");
    EXPECT(lf_fp32_to_fp16(-1.0f / 0.0f) == 0xfc00, "-inf");
    EXPECT(lf_fp32_to_fp16(1.0f + 0x1p-11f) == 0x3c00, "tie to even (down)");
    EXPECT(lf_fp32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3c02, "tie to even (up)");
    EXPECT(lf_fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01, "above tie");
    EXPECT(lf_fp32_to_fp16(0x1p-24f) == 0x0001, "smallest subnormal");
    EXPECT(lf_fp32_to_fp16(0x1p-25f) == 0x0000, "half of it: tie to even zero");
    EXPECT(lf_fp32_to_fp16(0x1.8p-25f) == 0x0001, "3/4 of it rounds up");
    EXPECT(lf_fp32_to_fp16(3 * 0x1p-25f) == 0x0002, "1.5 subnormal steps: tie to even");
    EXPECT(lf_fp32_to_fp16(0x1p-14f - 0x1p-26f) == 0x0400, "rounds up to min normal");
    EXPECT(lf_fp32_to_fp16(-0.0f) == 0x8000, "-0");
    EXPECT(lf_fp32_to_fp16(1e-30f) == 0x0000, "underflow");
    EXPECT(lf_fp16_to_fp32(0x0001) == 0x1p-24f, "subnormal value");
    EXPECT(lf_fp16_to_fp32(0x7c00) == 1.0f / 0.0f, "inf value");
    TEST_END();

    TEST_BEGIN("bf16: rounding and NaN");
    EXPECT(lf_fp32_to_bf16(1.0f) == 0x3f80, "1");
    EXPECT(lf_fp32_to_bf16(lf_f32_from_bits(0x3f808000)) == 0x3f80, "tie to even (down)");
    EXPECT(lf_fp32_to_bf16(lf_f32_from_bits(0x3f818000)) == 0x3f82, "tie to even (up)");
    EXPECT(lf_fp32_to_bf16(lf_f32_from_bits(0x3f808001)) == 0x3f81, "above tie");
    EXPECT(lf_fp32_to_bf16(lf_f32_from_bits(0x7f800001)) == 0x7fc0, "signalling NaN quieted");
    EXPECT(lf_fp32_to_bf16(lf_f32_from_bits(0x00000001)) == 0x0000, "tiny subnormal");
    EXPECT(lf_fp32_to_bf16(lf_f32_from_bits(0x7f7fffff)) == 0x7f80, "max rounds to inf");
    EXPECT(lf_bf16_to_fp32(0xc040) == -3.0f, "-3");
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f))
            continue;
        EXPECT(lf_fp32_to_bf16(lf_bf16_to_fp32((uint16_t)h)) == h, "bf16 %04x", h);
    }
    TEST_END();
}

/* An independent fp16 rounding oracle in double arithmetic: scale to the
 * binade's quantum (a power of two, so exact), round to nearest even, and
 * rebuild the bits; a carry into the next binade falls out of the sum. */
static uint16_t oracle_fp16(float f) {
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double x = fabs((double)f);
    if (x >= 65520.0)
        return sign | 0x7c00;
    int e = 0;
    frexp(x, &e);
    int binade = x == 0 || e - 1 < -14 ? -14 : e - 1;
    double m = nearbyint(x / ldexp(1.0, binade - 10));
    return (uint16_t)(sign | (uint16_t)(((binade + 14) << 10) + (int)m));
}

static void test_fp16_sweep(void) {
    TEST_BEGIN("fp16: float -> half matches a double-precision oracle");
    for (uint64_t k = 0; k < (1ull << 32); k += 997) {
        uint32_t x = (uint32_t)k;
        if ((x & 0x7fffffffu) > 0x7f800000u)
            continue;
        float f = lf_f32_from_bits(x);
        uint16_t got = lf_fp32_to_fp16(f), want = oracle_fp16(f);
        EXPECT(got == want, "%08x: %04x, want %04x", x, got, want);
#if defined(__FLT16_MAX__)
        _Float16 h = (_Float16)f;
        memcpy(&want, &h, 2);
        EXPECT(got == want, "%08x: %04x, compiler's _Float16 gives %04x", x, got, want);
#endif
    }
    TEST_END();
}

int main(void) {
    test_sizes();
    test_removed();
    test_names();
    test_row_bytes();
    test_kernels();
    test_fp16();
    test_fp16_sweep();
    return test_summary();
}
