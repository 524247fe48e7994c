/* quants.h — scalar reference kernels for every supported tensor type
 * (dequantize, quantize, dot product). Block layouts: spec/quants.md §2.
 *
 * Naming: lf_dequant_T (T -> float), lf_quant_T (float -> T, the rounding of
 * ggml's quantize_row_T_ref), lf_dot_T_A (weight row of type T against an
 * activation row of type A). n counts elements and is a multiple of the
 * block size; pointers need no alignment. Reach them through the traits
 * table (tensor/types.h) rather than by name. */
#ifndef LF_TENSOR_QUANTS_H
#define LF_TENSOR_QUANTS_H

#include "llamafile.h"

/* float formats (quants_float.c) */
void lf_dequant_f32(const void *src, float *dst, int64_t n);
void lf_dequant_f16(const void *src, float *dst, int64_t n);
void lf_dequant_bf16(const void *src, float *dst, int64_t n);
void lf_quant_f32(const float *src, void *dst, int64_t n);
void lf_quant_f16(const float *src, void *dst, int64_t n);
void lf_quant_bf16(const float *src, void *dst, int64_t n);
float lf_dot_f32_f32(int64_t n, const void *w, const void *a);
float lf_dot_f16_f16(int64_t n, const void *w, const void *a);
float lf_dot_bf16_bf16(int64_t n, const void *w, const void *a);

/* 32-element blocks (quants_legacy.c) */
void lf_dequant_q4_0(const void *src, float *dst, int64_t n);
void lf_dequant_q4_1(const void *src, float *dst, int64_t n);
void lf_dequant_q5_0(const void *src, float *dst, int64_t n);
void lf_dequant_q5_1(const void *src, float *dst, int64_t n);
void lf_dequant_q8_0(const void *src, float *dst, int64_t n);
void lf_dequant_q8_1(const void *src, float *dst, int64_t n);
void lf_quant_q4_0(const float *src, void *dst, int64_t n);
void lf_quant_q4_1(const float *src, void *dst, int64_t n);
void lf_quant_q5_0(const float *src, void *dst, int64_t n);
void lf_quant_q5_1(const float *src, void *dst, int64_t n);
void lf_quant_q8_0(const float *src, void *dst, int64_t n);
void lf_quant_q8_1(const float *src, void *dst, int64_t n);
float lf_dot_q4_0_q8_0(int64_t n, const void *w, const void *a);
float lf_dot_q4_1_q8_1(int64_t n, const void *w, const void *a);
float lf_dot_q5_0_q8_0(int64_t n, const void *w, const void *a);
float lf_dot_q5_1_q8_1(int64_t n, const void *w, const void *a);
float lf_dot_q8_0_q8_0(int64_t n, const void *w, const void *a);

/* K-quants (quants_k.c; quantizers in quants_k_quantize.c) */
void lf_dequant_q2_k(const void *src, float *dst, int64_t n);
void lf_dequant_q3_k(const void *src, float *dst, int64_t n);
void lf_dequant_q4_k(const void *src, float *dst, int64_t n);
void lf_dequant_q5_k(const void *src, float *dst, int64_t n);
void lf_dequant_q6_k(const void *src, float *dst, int64_t n);
void lf_dequant_q8_k(const void *src, float *dst, int64_t n);
void lf_quant_q4_k(const float *src, void *dst, int64_t n);
void lf_quant_q6_k(const float *src, void *dst, int64_t n);
void lf_quant_q8_k(const float *src, void *dst, int64_t n);
/* Q2_K, Q3_K, Q5_K weights (quants_k235_quantize.c) */
void lf_quant_q2_k(const float *src, void *dst, int64_t n);
void lf_quant_q3_k(const float *src, void *dst, int64_t n);
void lf_quant_q5_k(const float *src, void *dst, int64_t n);
float lf_dot_q2_k_q8_k(int64_t n, const void *w, const void *a);
float lf_dot_q3_k_q8_k(int64_t n, const void *w, const void *a);
float lf_dot_q4_k_q8_k(int64_t n, const void *w, const void *a);
float lf_dot_q5_k_q8_k(int64_t n, const void *w, const void *a);
float lf_dot_q6_k_q8_k(int64_t n, const void *w, const void *a);

/* non-linear 4-bit (quants_iq.c) */
void lf_dequant_iq4_nl(const void *src, float *dst, int64_t n);
void lf_dequant_iq4_xs(const void *src, float *dst, int64_t n);
void lf_dequant_mxfp4(const void *src, float *dst, int64_t n);
void lf_quant_mxfp4(const float *src, void *dst, int64_t n);
/* IQ4_NL, IQ4_XS weights as llama-quantize makes them (quants_iq_quantize.c) */
void lf_quant_iq4_nl(const float *src, void *dst, int64_t n);
void lf_quant_iq4_xs(const float *src, void *dst, int64_t n);
float lf_dot_iq4_nl_q8_0(int64_t n, const void *w, const void *a);
float lf_dot_iq4_xs_q8_k(int64_t n, const void *w, const void *a);
float lf_dot_mxfp4_q8_0(int64_t n, const void *w, const void *a);

#endif
