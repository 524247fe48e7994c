/* types.c — the type-traits table and the public type queries. */
#include "tensor/types.h"

#include <strings.h>

#include "tensor/quants.h"

#define ROW(id, nm, bs, sz, vdt, tf, ff, vd) \
    [id] = {.name = nm, .blck = bs, .type_size = sz, .vec_dot_type = vdt, \
            .to_float = tf, .from_float = ff, .vec_dot = vd}

static const lf_type_traits k_traits[LF_TYPE_COUNT] = {
    ROW(LF_TYPE_F32, "F32", 1, 4, LF_TYPE_F32, lf_dequant_f32, lf_quant_f32, lf_dot_f32_f32),
    ROW(LF_TYPE_F16, "F16", 1, 2, LF_TYPE_F16, lf_dequant_f16, lf_quant_f16, lf_dot_f16_f16),
    ROW(LF_TYPE_BF16, "BF16", 1, 2, LF_TYPE_BF16, lf_dequant_bf16, lf_quant_bf16, lf_dot_bf16_bf16),
    ROW(LF_TYPE_Q4_0, "Q4_0", 32, 18, LF_TYPE_Q8_0, lf_dequant_q4_0, lf_quant_q4_0, lf_dot_q4_0_q8_0),
    ROW(LF_TYPE_Q4_1, "Q4_1", 32, 20, LF_TYPE_Q8_1, lf_dequant_q4_1, lf_quant_q4_1, lf_dot_q4_1_q8_1),
    ROW(LF_TYPE_Q5_0, "Q5_0", 32, 22, LF_TYPE_Q8_0, lf_dequant_q5_0, lf_quant_q5_0, lf_dot_q5_0_q8_0),
    ROW(LF_TYPE_Q5_1, "Q5_1", 32, 24, LF_TYPE_Q8_1, lf_dequant_q5_1, lf_quant_q5_1, lf_dot_q5_1_q8_1),
    ROW(LF_TYPE_Q8_0, "Q8_0", 32, 34, LF_TYPE_Q8_0, lf_dequant_q8_0, lf_quant_q8_0, lf_dot_q8_0_q8_0),
    ROW(LF_TYPE_Q8_1, "Q8_1", 32, 36, LF_TYPE_Q8_1, lf_dequant_q8_1, lf_quant_q8_1, NULL),
    ROW(LF_TYPE_Q2_K, "Q2_K", 256, 84, LF_TYPE_Q8_K, lf_dequant_q2_k, lf_quant_q2_k, lf_dot_q2_k_q8_k),
    ROW(LF_TYPE_Q3_K, "Q3_K", 256, 110, LF_TYPE_Q8_K, lf_dequant_q3_k, lf_quant_q3_k, lf_dot_q3_k_q8_k),
    ROW(LF_TYPE_Q4_K, "Q4_K", 256, 144, LF_TYPE_Q8_K, lf_dequant_q4_k, lf_quant_q4_k, lf_dot_q4_k_q8_k),
    ROW(LF_TYPE_Q5_K, "Q5_K", 256, 176, LF_TYPE_Q8_K, lf_dequant_q5_k, lf_quant_q5_k, lf_dot_q5_k_q8_k),
    ROW(LF_TYPE_Q6_K, "Q6_K", 256, 210, LF_TYPE_Q8_K, lf_dequant_q6_k, lf_quant_q6_k, lf_dot_q6_k_q8_k),
    ROW(LF_TYPE_Q8_K, "Q8_K", 256, 292, LF_TYPE_Q8_K, lf_dequant_q8_k, lf_quant_q8_k, NULL),
    ROW(LF_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ2_XS, "IQ2_XS", 256, 74, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ1_S, "IQ1_S", 256, 50, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ4_NL, "IQ4_NL", 32, 18, LF_TYPE_Q8_0, lf_dequant_iq4_nl, lf_quant_iq4_nl, lf_dot_iq4_nl_q8_0),
    ROW(LF_TYPE_IQ3_S, "IQ3_S", 256, 110, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ2_S, "IQ2_S", 256, 82, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ4_XS, "IQ4_XS", 256, 136, LF_TYPE_Q8_K, lf_dequant_iq4_xs, lf_quant_iq4_xs, lf_dot_iq4_xs_q8_k),
    ROW(LF_TYPE_I8, "I8", 1, 1, LF_TYPE_I8, NULL, NULL, NULL),
    ROW(LF_TYPE_I16, "I16", 1, 2, LF_TYPE_I16, NULL, NULL, NULL),
    ROW(LF_TYPE_I32, "I32", 1, 4, LF_TYPE_I32, NULL, NULL, NULL),
    ROW(LF_TYPE_I64, "I64", 1, 8, LF_TYPE_I64, NULL, NULL, NULL),
    ROW(LF_TYPE_F64, "F64", 1, 8, LF_TYPE_F64, NULL, NULL, NULL),
    ROW(LF_TYPE_IQ1_M, "IQ1_M", 256, 56, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_TQ1_0, "TQ1_0", 256, 54, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_TQ2_0, "TQ2_0", 256, 66, LF_TYPE_Q8_K, NULL, NULL, NULL),
    ROW(LF_TYPE_MXFP4, "MXFP4", 32, 17, LF_TYPE_Q8_0, lf_dequant_mxfp4, lf_quant_mxfp4, lf_dot_mxfp4_q8_0),
    ROW(LF_TYPE_NVFP4, "NVFP4", 64, 36, LF_TYPE_Q8_0, NULL, NULL, NULL),
    ROW(LF_TYPE_Q1_0, "Q1_0", 128, 18, LF_TYPE_Q8_0, NULL, NULL, NULL),
    ROW(LF_TYPE_Q2_0, "Q2_0", 64, 18, LF_TYPE_Q8_0, NULL, NULL, NULL),
};

const lf_type_traits *lf_type_traits_of(int type) {
    if (type < 0 || type >= LF_TYPE_COUNT || !k_traits[type].name)
        return NULL;
    return &k_traits[type];
}

const char *lf_type_name(int type) {
    const lf_type_traits *t = lf_type_traits_of(type);
    return t ? t->name : NULL;
}

int lf_type_from_name(const char *name) {
    for (int i = 0; i < LF_TYPE_COUNT; i++)
        if (k_traits[i].name && !strcasecmp(k_traits[i].name, name))
            return i;
    return -1;
}

int64_t lf_type_block_size(int type) {
    const lf_type_traits *t = lf_type_traits_of(type);
    return t ? t->blck : 0;
}

int64_t lf_type_block_bytes(int type) {
    const lf_type_traits *t = lf_type_traits_of(type);
    return t ? t->type_size : 0;
}

bool lf_type_supported(int type) {
    const lf_type_traits *t = lf_type_traits_of(type);
    return t && t->to_float;
}

int64_t lf_type_row_bytes(int type, int64_t n) {
    const lf_type_traits *t = lf_type_traits_of(type);
    if (!t || n < 0 || n % t->blck)
        return -1;
    return n / t->blck * t->type_size;
}
