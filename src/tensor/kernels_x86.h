/* kernels_x86.h — the activation layouts shared by the x86 kernel sets,
 * and the per-type facts the kernels need. Include it after the file's
 * target pragma.
 *
 * Activations follow ggml's partner formats (same d, same integer codes,
 * spec/quants.md §2.0): Q8_0/Q8_1 per 32 elements, Q8_K per 256, F16 values
 * rounded to fp16, BF16; laid out for the kernels' loads. Weight codes are
 * made unsigned (u = w + o, o a power of two or zero) for the u8 x s8 dot
 * products; the activation layout carries -o·Σa so integer sums can start
 * from it. */
#ifndef LF_TENSOR_KERNELS_X86_H
#define LF_TENSOR_KERNELS_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llamafile.h"

#include "tensor/blocks.h"

/* From this many activation rows on, weights are decoded into panels
 * (matrix-matrix kernels); below, each weight row is decoded on the fly. */
enum { LF_GEMM_MIN_N = 16 };

/* A row of a 32-element block type: the codes q[k] (zero-padded to a
 * multiple of 64), then per block x = -o·Σq (int32; the float s = d·Σq of
 * Q8_1 for Q4_1/Q5_1 lives in s), the scale d and s, each array padded
 * with zeros to a multiple of 16 blocks. */
typedef struct lf_a0row {
    const int8_t *q;
    const int32_t *x;
    const float *d, *s;
} lf_a0row;

static inline int64_t lf_pad16(int64_t n) {
    return (n + 15) / 16 * 16;
}
static inline size_t lf_a0_row_bytes(int64_t k) {
    return (size_t)((k + 63) / 64 * 64) + 12 * (size_t)lf_pad16(k / 32);
}
static inline lf_a0row lf_a0_row(const char *row, int64_t k) {
    int64_t nbp = lf_pad16(k / 32);
    const char *t = row + (k + 63) / 64 * 64;
    return (lf_a0row){(const int8_t *)row, (const int32_t *)t, (const float *)(t + 4 * nbp),
                      (const float *)(t + 8 * nbp)};
}

/* natural, 256-element super-blocks */
typedef struct lf_akn {
    float d;
    int32_t pad[15];
    int8_t q[256];
    int16_t bs16[16];  /* Σq per 16 elements */
    int16_t bs32[16];  /* Σq per 32 elements (8), then zeros */
    int32_t init[16];  /* -o·Σq per sub-block of the weight type (16 or 8) */
} lf_akn;

/* Per weight type: code offset o (w = u - o), log2(o), sub-block length
 * for Q8_K types, and whether the type has a min term (Q4_1/Q5_1 with the
 * Q8_1 sum, K-quants with dmin). */
typedef struct lf_qinfo {
    int o, log2o;
    int sub;       /* 16 or 32 (K types), 32 (legacy) */
    int has_min;
    int is_k;
} lf_qinfo;

static inline lf_qinfo lf_qinfo_of(int type) {
    switch (type) {
    case LF_TYPE_Q4_0: return (lf_qinfo){8, 3, 32, 0, 0};
    case LF_TYPE_Q5_0: return (lf_qinfo){16, 4, 32, 0, 0};
    case LF_TYPE_Q8_0: return (lf_qinfo){128, 7, 32, 0, 0};
    case LF_TYPE_IQ4_NL: return (lf_qinfo){128, 7, 32, 0, 0};
    case LF_TYPE_MXFP4: return (lf_qinfo){16, 4, 32, 0, 0};
    case LF_TYPE_Q4_1: return (lf_qinfo){0, 0, 32, 1, 0};
    case LF_TYPE_Q5_1: return (lf_qinfo){0, 0, 32, 1, 0};
    case LF_TYPE_Q2_K: return (lf_qinfo){0, 0, 16, 1, 1};
    case LF_TYPE_Q3_K: return (lf_qinfo){4, 2, 16, 0, 1};
    case LF_TYPE_Q4_K: return (lf_qinfo){0, 0, 32, 1, 1};
    case LF_TYPE_Q5_K: return (lf_qinfo){0, 0, 32, 1, 1};
    case LF_TYPE_Q6_K: return (lf_qinfo){32, 5, 16, 0, 1};
    case LF_TYPE_IQ4_XS: return (lf_qinfo){128, 7, 32, 0, 1};
    default: return (lf_qinfo){0, 0, 0, 0, 0};
    }
}

/* kernels_act_x86.c: the layouts above for weight type `type` (the
 * lf_mm_kernel act_bytes / act of every x86 set). */
size_t lf_x86_act_bytes(int type, int64_t k, int64_t n);
void lf_x86_act(int type, const float *x, int64_t k, int64_t n, int64_t j0, int64_t j1,
                void *dst);

static inline int64_t lf_groups16(int64_t n) {
    return (n + 15) / 16;
}

#endif
