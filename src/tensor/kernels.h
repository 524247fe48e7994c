/* kernels.h — the matrix-product kernels, one set per instruction-set level
 * (generic C, AVX2, AVX-512, AVX-512 VNNI/BF16; NEON, NEON with dotprod on
 * aarch64), picked once at start-up from cpuid (hwcaps on aarch64).
 * lf_matmul (matmul.c) converts the activations with the set's `act`
 * function for the weight type, then hands row ranges of the output to `mm`
 * on every thread.
 *
 * Each set owns the activation layout of each weight type (the generic set
 * uses ggml's partner formats: Q8_0, Q8_1, Q8_K, F16, BF16, F32); the SIMD
 * sets use the same numbers laid out for their loads (spec/quants.md §3).
 * Every output element is computed by the same arithmetic whatever the row
 * range, so results do not depend on the thread count. */
#ifndef LF_TENSOR_KERNELS_H
#define LF_TENSOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "llamafile.h"

/* One product: c[j*ldc + i] = dot(weight row i, activation row j). */
typedef struct lf_mm_call {
    int type;           /* the weight type */
    int64_t k;          /* elements per row */
    const char *w;      /* weight rows, ldw bytes apart */
    size_t ldw;
    int64_t m;          /* weight rows in the matrix */
    const char *a;      /* converted activations (the set's layout) */
    int64_t n;          /* activation rows */
    float *c;
    size_t ldc;         /* floats */
    int64_t packed;     /* rows [0, packed) are in 16-row packed groups (tensor/pack.h) */
} lf_mm_call;

/* Bytes of the n converted activation rows of k elements each (the layout
 * may interleave rows, so it can depend on n). */
typedef size_t (*lf_act_bytes_fn)(int type, int64_t k, int64_t n);
/* Converts float rows [j0, j1) of the n rows x (k floats apart) into dst. */
typedef void (*lf_act_fn)(int type, const float *x, int64_t k, int64_t n, int64_t j0,
                          int64_t j1, void *dst);
/* Output rows [i0, i1) for every activation row; tmp has tmp_bytes(k). */
typedef void (*lf_mm_fn)(const lf_mm_call *c, int64_t i0, int64_t i1, void *tmp);
typedef size_t (*lf_tmp_bytes_fn)(const lf_mm_call *c);

typedef struct lf_mm_kernel {
    lf_act_bytes_fn act_bytes; /* NULL: this set has no kernel for the type */
    lf_act_fn act;
    lf_mm_fn mm;
    lf_tmp_bytes_fn tmp_bytes; /* NULL: no scratch */
    int row_align;             /* row ranges start at multiples of this */
    int packed;                /* reads the packed layout of the type (tensor/pack.h) */
} lf_mm_kernel;

/* Attention works on tiles of LF_ATTN_TILE KV cells (attention.c). */
enum { LF_ATTN_TILE = 64 };

typedef struct lf_kernel_set {
    const char *name;
    uint32_t needs;            /* LF_CPU_* bits the set requires */
    void (*init)(struct lf_kernel_set *ks); /* fills mm[] and the rest */
    lf_mm_kernel mm[LF_TYPE_COUNT];
    /* Attention helpers; NULL: attention.c's portable C. With T =
     * LF_ATTN_TILE cells:
     * qk: s[r*lds + c] = (Σ_d q[r][d]·kt[d][c])·scale + mask[(r/group)*T + c]
     *     for r < nr, c < T, and rowmax[r] = max over c.
     * kt: kt[d][c] = K row c (F16, `stride` halves apart) element d, for
     *     d < dk, c < nc; zero for nc <= c < T.
     * pv: o[r][e] += Σ_c p[r][c]·v[c][e], e < dv, c in order.
     * exp: x[i] = exp(x[i] - m) (0 for -inf), returns Σ x[i].
     * f16: n halves to floats; f32_to_f16 the other way, rounded to
     * nearest even (lf_f32_to_f16_c's bits). */
    void (*attn_qk)(const float *q, int nr, int dk, const float *kt, float scale, const float *mask,
                    int group, float *s, size_t lds, float *rowmax);
    void (*attn_kt)(const uint16_t *k, size_t stride, int nc, int dk, float *kt);
    void (*attn_pv)(const float *p, int nr, const float *v, int dv, float *o);
    float (*attn_exp)(float *x, int n, float m);
    void (*f16_to_f32)(const uint16_t *src, float *dst, int64_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
    /* One row of a Mamba-2 state: s[k] = s[k]·a + b[k]·x, then Σ s[k]·c[k]
     * (products and sums rounded separately) as 16 partial sums, lane
     * k % 16 in order of k, folded lane l + l+8, then + l+4, + l+2, + l+1:
     * the order lf_ssm_row_c has, so every set gives the same bits. NULL:
     * lf_ssm_row_c. */
    float (*ssm_row)(float *s, const float *b, const float *c, float a, float x, int n);
    /* g[i] = silu(g[i])·u[i] = g[i] / (1 + e^-g[i]) · u[i], within a few
     * ulp of lf_swiglu_c. NULL: lf_swiglu_c. */
    void (*swiglu)(float *g, const float *u, int64_t n);
} lf_kernel_set;

float lf_ssm_row_c(float *s, const float *b, const float *c, float a, float x, int n);
void lf_swiglu_c(float *g, const float *u, int64_t n);
void lf_f32_to_f16_c(const float *src, uint16_t *dst, int64_t n);

/* The set in use: the best the CPU runs, or the one named by the
 * environment variable LLAMAFILE_KERNELS (generic, avx2, avx512,
 * avx512vnni; on aarch64 neon, neon+dotprod) when the CPU runs it. */
const lf_kernel_set *lf_kernels(void);
/* The named set if this CPU can run it (NULL otherwise); for tests. */
const lf_kernel_set *lf_kernels_named(const char *name);
/* The kernel for a weight type: the set's own, else the generic one; NULL if
 * the type has no dot product at all. */
const lf_mm_kernel *lf_kernels_for(const lf_kernel_set *ks, int type);

/* The sets' initialisers (kernels_*.c); a set not built for this
 * architecture leaves mm[] empty and is never chosen. */
void lf_kernels_init_generic(lf_kernel_set *ks);
void lf_kernels_init_avx2(lf_kernel_set *ks);
void lf_kernels_init_avx512(lf_kernel_set *ks);
void lf_kernels_init_avx512vnni(lf_kernel_set *ks);
void lf_kernels_init_neon(lf_kernel_set *ks);
void lf_kernels_init_neon_dotprod(lf_kernel_set *ks);

#endif
