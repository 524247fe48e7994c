/* quants_float.c — F32, F16 and BF16 rows: conversion and dot products. */
#include "tensor/blocks.h"

#include "tensor/quants.h"

void lf_dequant_f32(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = lf_rd_f32(p + 4 * i);
}

void lf_dequant_f16(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = lf_rd_half(p + 2 * i);
}

void lf_dequant_bf16(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = lf_bf16_to_fp32(lf_rd_u16(p + 2 * i));
}

void lf_quant_f32(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++)
        lf_wr_f32(p + 4 * i, src[i]);
}

void lf_quant_f16(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++)
        lf_wr_u16(p + 2 * i, lf_fp32_to_fp16(src[i]));
}

void lf_quant_bf16(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++)
        lf_wr_u16(p + 2 * i, lf_fp32_to_bf16(src[i]));
}

/* Float dot products: float products summed in double (as ggml's generic
 * ggml_vec_dot_f16/bf16 do). Products of two halves or two bf16 values are
 * exact in float. */

float lf_dot_f32_f32(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(lf_rd_f32(x + 4 * i) * lf_rd_f32(y + 4 * i));
    return (float)sum;
}

float lf_dot_f16_f16(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(lf_rd_half(x + 2 * i) * lf_rd_half(y + 2 * i));
    return (float)sum;
}

float lf_dot_bf16_bf16(int64_t n, const void *w, const void *a) {
    const uint8_t *x = w, *y = a;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(lf_bf16_to_fp32(lf_rd_u16(x + 2 * i)) *
                        lf_bf16_to_fp32(lf_rd_u16(y + 2 * i)));
    return (float)sum;
}
