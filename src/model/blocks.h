/* blocks.h — the steps transformer architecture files share: the weight
 * block's allocation, token embedding and output head, the attention block
 * (projections, per-head norms, RoPE, KV cache, lf_attention, output
 * projection) and the gated feed-forward block, with their tensor binding.
 * Each step does its arithmetic in the order the architectures need, so an
 * arch file that calls them computes exactly what it did inline. */
#ifndef LF_MODEL_BLOCKS_H
#define LF_MODEL_BLOCKS_H

#include "model/model.h"
#include "tensor/attention.h"

/* ---- small float helpers ---- */

/* h[i] += x[i] for n elements. */
void lf_add(float *h, const float *x, int64_t n);
/* Adds b[n] to each of n_rows rows of x (b NULL: nothing). */
void lf_add_rows(float *x, const float *b, int64_t n_rows, int64_t n);
/* y[r] = rms_norm(x[r]) * w for n_rows rows of n (y may be x; w NULL: 1). */
void lf_rms_norm_rows(float *y, const float *x, const float *w, int64_t n_rows, int64_t n,
                      float eps);

/* ---- the weight block ---- */

/* Sets m->weights to a zeroed struct of `size` bytes followed by
 * m->hp.n_layer zeroed layer structs of `layer_size` bytes (*layers), one
 * allocation that lf_weights_free (an arch's free_weights) releases. */
void *lf_weights_alloc(lf_model *m, size_t size, size_t layer_size, void **layers,
                       lf_error *err);
void lf_weights_free(lf_model *m);

/* A small F32 tensor of any shape (n_dims entries of ne) as a float
 * pointer, converted once into m->owned when stored in another type. */
bool lf_model_f32_nd(lf_model *m, const float **out, bool required, int n_dims,
                     const int64_t *ne, lf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* ---- embeddings and output head ---- */

typedef struct lf_io_weights {
    lf_weight tok_embd;       /* token_embd {n_embd, n_vocab} */
    const float *output_norm; /* output_norm [n_embd] */
    lf_weight output;         /* output {n_embd, n_vocab}; tied to tok_embd if absent */
} lf_io_weights;

/* Binds token_embd, output_norm and output (required, or else tied). */
bool lf_io_bind(const lf_model *m, lf_io_weights *io, bool output_required, lf_error *err);
/* h[t] = embedding of b->token[t], times scale unless scale is 0. */
bool lf_embed(const lf_io_weights *io, const lf_ubatch *b, int64_t n_embd, float scale, float *h,
              lf_error *err);
/* b->logits = output(rms_norm(h[t]) * output_norm) for the tokens whose
 * logits are wanted; x: T * n_embd scratch; *n_out (if n_out): the rows.
 * With b->embd (an embeddings context) the normed rows go there instead,
 * no logits are computed and *n_out is 0, so an arch's logit-only steps
 * after it (soft-capping, logit scale) do nothing. */
bool lf_output(lf_context *c, const lf_ubatch *b, const lf_io_weights *io, const float *h,
               float *x, int64_t *n_out, lf_error *err);

/* ---- attention ---- */

/* One layer's attention tensors; members not bound are zero / NULL. */
typedef struct lf_attn_weights {
    lf_weight wq, wk, wv;   /* attn_q/k/v {n_embd, heads * head_dim} */
    lf_weight wqkv;         /* attn_qkv: Q, K and V fused (then wq/wk/wv are unbound) */
    lf_weight wo;           /* attn_output {n_head * head_dim_v, n_embd} */
    const float *bq, *bk, *bv, *bqkv, *bo;
    const float *q_norm, *k_norm; /* per-head RMS norm weights [head_dim] */
} lf_attn_weights;

enum lf_attn_bind_flags {
    LF_ATTN_QKV_BIAS = 1 << 0,     /* optional attn_q/k/v.bias (attn_qkv.bias if fused) */
    LF_ATTN_OUT_BIAS = 1 << 1,     /* optional attn_output.bias */
    LF_ATTN_OUT_BIAS_REQ = 1 << 2, /* required attn_output.bias */
    LF_ATTN_MAYBE_FUSED = 1 << 3,  /* attn_qkv when present, else attn_q/k/v */
    LF_ATTN_FUSED = 1 << 4,        /* attn_qkv only */
    LF_ATTN_QK_NORM = 1 << 5,      /* required attn_q_norm and attn_k_norm */
    LF_ATTN_NO_KV = 1 << 6,        /* no attn_k/v: the layer reads another's cache */
};

/* Binds blk.<layer>.attn_* for n_head query and n_head_kv KV heads of
 * m->hp's head dimensions; flags: enum lf_attn_bind_flags. */
bool lf_attn_bind(const lf_model *m, lf_attn_weights *A, int64_t layer, int64_t n_head,
                  int64_t n_head_kv, unsigned flags, lf_error *err);

typedef struct lf_attn_opts {
    int layer;                  /* its KV cache layer */
    int kv_layer;               /* the cache it reads when it has no K/V weights */
    lf_attn_params ap;          /* heads, head dims, kq scale, window, sinks */
    const lf_rope_params *rope; /* NULL: no RoPE */
    float q_scale;              /* 0: none; else queries scaled after RoPE */
    bool v_norm;                /* unweighted per-head RMS norm of V */
} lf_attn_opts;

/* ap for m's head counts and dimensions, kq scale 1/sqrt(head_dim_k). */
lf_attn_params lf_attn_heads(const lf_hparams *hp);
/* Work floats lf_attn_block needs for T tokens with ap's (largest) head
 * counts; fused: some layer has attn_qkv (every arch whose load accepts
 * attn_qkv passes whether it bound one). lf_attn_block checks the weights'
 * shapes against its heads and its needs against work_floats: a mismatch
 * is an error, not an overflow. */
size_t lf_attn_work_floats(const lf_attn_params *ap, int64_t T, bool fused);
/* out = Wo · attention(x) + bo for the T normed rows x (out may be x):
 *   q, k, v = Wq x + bq, Wk x + bk, Wv x + bv   (or split from Wqkv x + bqkv)
 *   per-head RMS norms of q and k (q_norm, k_norm; V unweighted if v_norm)
 *   RoPE of q and k, q *= q_scale, k and v stored in the KV cache
 *   lf_attention over the cache of the layer's sequences. */
bool lf_attn_block(lf_context *c, const lf_ubatch *b, const lf_attn_weights *A,
                   const lf_attn_opts *o, const float *x, float *out, float *work,
                   size_t work_floats, lf_error *err);

/* ---- gated feed-forward ---- */

typedef struct lf_ffn_weights {
    lf_weight gate, up, down;            /* {n_embd, n_ff}, {n_embd, n_ff}, {n_ff, n_embd} */
    const float *gate_b, *up_b, *down_b; /* optional biases */
} lf_ffn_weights;

enum lf_glu { LF_SWIGLU, LF_GEGLU };

/* Binds blk.<layer>.ffn_{gate,up,down}<suffix>.weight (suffix "" or e.g.
 * "_shexp") and, if biases, the optional ffn_{gate,up,down}.bias. */
bool lf_ffn_bind(const lf_model *m, lf_ffn_weights *F, int64_t layer, const char *suffix,
                 int64_t n_ff, bool biases, lf_error *err);
/* Work floats lf_ffn_block needs for T tokens and a width up to n_ff
 * (checked by lf_ffn_block against the work_floats it is given). */
size_t lf_ffn_work_floats(int64_t T, int64_t n_ff);
/* out = down(act(gate x + bg, up x + bu)) + bd for T rows of x (out may be
 * x); act: enum lf_glu (SiLU or GELU of the gate, times up). */
bool lf_ffn_block(lf_context *c, const lf_ffn_weights *F, int act, const float *x, int64_t T,
                  float *out, float *work, size_t work_floats, lf_error *err);

#endif
