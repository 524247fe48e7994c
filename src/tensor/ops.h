/* ops.h — the float32 building blocks of a forward pass (norms, RoPE,
 * activations, softmax) and the matrix product of a weight tensor of any
 * supported type with a batch of activation rows. */
#ifndef LF_TENSOR_OPS_H
#define LF_TENSOR_OPS_H

#include "base/threadpool.h"
#include "llamafile.h"

/* A weight matrix (or a stack of them): rows of ne[0] elements of `type`. */
typedef struct lf_weight {
    int type;
    int64_t ne[4];
    size_t row_bytes;
    const void *data;
    int64_t packed;     /* rows of each slice stored packed (tensor/pack.h); 0: plain */
} lf_weight;

/* Growable scratch memory owned by a context (no per-token allocation). */
typedef struct lf_scratch {
    void *p;
    size_t cap;
} lf_scratch;
void *lf_scratch_get(lf_scratch *s, size_t bytes);
void lf_scratch_free(lf_scratch *s);

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * (w ? w[i] : 1), for n elements. */
void lf_rms_norm(float *out, const float *x, const float *w, int64_t n, float eps);

enum lf_rope_mode { LF_ROPE_NORM = 0, LF_ROPE_NEOX = 2 };

typedef struct lf_rope_params {
    int mode;            /* LF_ROPE_NORM / LF_ROPE_NEOX */
    int n_rot;           /* rotated dims per head (even) */
    float freq_base;
    float freq_scale;    /* 1/linear factor */
    float ext_factor;    /* YaRN: 1 on, 0 off */
    float attn_factor;
    float beta_fast, beta_slow;
    int n_ctx_orig;
    const float *freq_factors; /* n_rot/2 divisors of theta, or NULL */
} lf_rope_params;

/* Rotates each of n_heads heads (head_dim apart) of x at position pos. */
void lf_rope(float *x, int n_heads, int head_dim, int64_t pos, const lf_rope_params *rp);

/* silu(g) * u, elementwise into g. */
void lf_swiglu(float *g, const float *u, int64_t n);
void lf_softmax(float *x, int64_t n);

/* out[t][r] = sum_k W[r][k] * x[t][k] for t < n_rows, r < W->ne[1]; W is
 * matrix `slice` of a 3-D stack (0 for plain matrices). x is converted once
 * to W's activation type; scratch holds that copy. */
bool lf_matmul(lf_pool *pool, lf_scratch *scratch, float *out, const lf_weight *W, int64_t slice,
               const float *x, int64_t n_rows, lf_error *err);

/* outs[i] = Ws[i]·x for i < count (at most LF_MATMUL_MAX plain matrices of
 * one width) as one job: the threads convert x once per weight type and
 * share out the rows of all the products. The same numbers as a
 * lf_matmul each. */
enum { LF_MATMUL_MAX = 4 };
bool lf_matmul_many(lf_pool *pool, lf_scratch *scratch, int count, float *const *outs,
                    const lf_weight *const *Ws, const float *x, int64_t n_rows, lf_error *err);

/* Dequantizes row r of W (e.g. a token embedding) into out[W->ne[0]]. */
bool lf_weight_row(const lf_weight *W, int64_t r, float *out, lf_error *err);

#endif
