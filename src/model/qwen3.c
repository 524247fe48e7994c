/* qwen3.c — the qwen3 architecture (Qwen3 dense models): a llama block with
 * per-head RMS norms on the queries and keys before RoPE (NEOX layout), a
 * head dimension that need not be n_embd / n_head, SwiGLU feed-forward and
 * an output head that may be tied to the embeddings. spec/archs.md §6.1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "tensor/attention.h"

typedef struct qwen3_layer {
    const float *attn_norm, *ffn_norm, *q_norm, *k_norm;
    const float *bqkv, *bq, *bk, *bv;
    lf_weight wqkv, wq, wk, wv, wo;
    lf_weight ffn_gate, ffn_up, ffn_down;
} qwen3_layer;

typedef struct qwen3_weights {
    lf_weight tok_embd, output;
    const float *output_norm;
    qwen3_layer *layers;
    bool any_fused; /* some layer has a fused attn_qkv */
} qwen3_weights;

static void qwen3_free(lf_model *m) {
    qwen3_weights *w = m->weights;
    if (w)
        free(w->layers);
    free(w);
    m->weights = NULL;
}

/* Fused attn_qkv (with optional bias) if present, else attn_q/k/v. */
static bool load_qkv(const lf_model *m, qwen3_layer *L, long long i, int64_t E, int64_t Q,
                     int64_t K, int64_t V, lf_error *err) {
    if (!lf_model_weight(m, &L->wqkv, false, 2, (int64_t[]){E, Q + K + V}, err,
                         "blk.%lld.attn_qkv.weight", i))
        return false;
    if (L->wqkv.data)
        return lf_model_f32(m, &L->bqkv, false, Q + K + V, err, "blk.%lld.attn_qkv.bias", i);
    return lf_model_weight(m, &L->wq, true, 2, (int64_t[]){E, Q}, err, "blk.%lld.attn_q.weight", i) &&
           lf_model_weight(m, &L->wk, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_k.weight", i) &&
           lf_model_weight(m, &L->wv, true, 2, (int64_t[]){E, V}, err, "blk.%lld.attn_v.weight", i) &&
           lf_model_f32(m, &L->bq, false, Q, err, "blk.%lld.attn_q.bias", i) &&
           lf_model_f32(m, &L->bk, false, K, err, "blk.%lld.attn_k.bias", i) &&
           lf_model_f32(m, &L->bv, false, V, err, "blk.%lld.attn_v.bias", i);
}

static bool qwen3_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    hp->rope.mode = LF_ROPE_NEOX;
    if (hp->head_dim_v != hp->head_dim_k || hp->n_rot != hp->head_dim_k)
        return lf_fail(err, "qwen3: key_length %lld, value_length %lld and rope.dimension_count "
                       "%lld must be equal", (long long)hp->head_dim_k,
                       (long long)hp->head_dim_v, (long long)hp->n_rot);
    double eps;
    if (!lf_model_int(m, "feed_forward_length", true, 0, &hp->n_ff, err) ||
        !lf_model_float(m, "attention.layer_norm_rms_epsilon", true, 0, &eps, err))
        return false;
    hp->eps = (float)eps;
    qwen3_weights *w = calloc(1, sizeof(*w));
    if (!w || !(w->layers = calloc((size_t)hp->n_layer, sizeof(qwen3_layer)))) {
        free(w);
        return lf_fail(err, "out of memory");
    }
    m->weights = w;

    int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff, d = hp->head_dim_k;
    int64_t Q = hp->n_head * d, K = hp->n_head_kv * d;
    if (!lf_model_weight(m, &w->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &w->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &w->output, false, 2, (int64_t[]){E, V}, err, "output.weight"))
        return false;
    if (!w->output.data)
        w->output = w->tok_embd; /* tied */

    for (int64_t i = 0; i < hp->n_layer; i++) {
        qwen3_layer *L = &w->layers[i];
        long long li = (long long)i;
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) ||
            !load_qkv(m, L, li, E, Q, K, K, err) ||
            !lf_model_weight(m, &L->wo, true, 2, (int64_t[]){Q, E}, err, "blk.%lld.attn_output.weight", li) ||
            !lf_model_f32(m, &L->q_norm, true, d, err, "blk.%lld.attn_q_norm.weight", li) ||
            !lf_model_f32(m, &L->k_norm, true, d, err, "blk.%lld.attn_k_norm.weight", li) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", li) ||
            !lf_model_weight(m, &L->ffn_gate, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_gate.weight", li) ||
            !lf_model_weight(m, &L->ffn_up, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_up.weight", li) ||
            !lf_model_weight(m, &L->ffn_down, true, 2, (int64_t[]){F, E}, err, "blk.%lld.ffn_down.weight", li))
            return false;
        w->any_fused |= L->wqkv.data != NULL;
    }
    return true;
}

static void add_bias(float *x, const float *b, int64_t n_rows, int64_t n) {
    if (!b)
        return;
    for (int64_t t = 0; t < n_rows; t++)
        for (int64_t i = 0; i < n; i++)
            x[t * n + i] += b[i];
}

static void add_into(float *h, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        h[i] += x[i];
}

/* q, k, v = the layer's projections of x (T rows); qkv: scratch for a fused one. */
static bool project_qkv(lf_context *c, const qwen3_layer *L, const float *x, int64_t T,
                        int64_t Q, int64_t K, float *qkv, float *q, float *k, float *v,
                        lf_error *err) {
    if (!L->wqkv.data)
        return lf_matmul(c->pool, &c->mm, q, &L->wq, 0, x, T, err) &&
               lf_matmul(c->pool, &c->mm, k, &L->wk, 0, x, T, err) &&
               lf_matmul(c->pool, &c->mm, v, &L->wv, 0, x, T, err) &&
               (add_bias(q, L->bq, T, Q), add_bias(k, L->bk, T, K), add_bias(v, L->bv, T, K), true);
    if (!lf_matmul(c->pool, &c->mm, qkv, &L->wqkv, 0, x, T, err))
        return false;
    add_bias(qkv, L->bqkv, T, Q + 2 * K);
    for (int64_t t = 0; t < T; t++) {
        const float *r = qkv + t * (Q + 2 * K);
        memcpy(q + t * Q, r, sizeof(float) * (size_t)Q);
        memcpy(k + t * K, r + Q, sizeof(float) * (size_t)K);
        memcpy(v + t * K, r + Q + K, sizeof(float) * (size_t)K);
    }
    return true;
}

static bool qwen3_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const qwen3_weights *w = m->weights;
    lf_pool *pool = c->pool;
    int64_t T = b->n, E = hp->n_embd, F = hp->n_ff;
    int64_t H = hp->n_head, Hkv = hp->n_head_kv, d = hp->head_dim_k;
    int64_t Q = H * d, K = Hkv * d;

    enum { H_, X_, QKV_, Q_, K_, V_, A_, G_, U_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [QKV_] = w->any_fused ? T * (Q + 2 * K) : 0,
        [Q_] = T * Q, [K_] = T * K, [V_] = T * K, [A_] = T * Q, [G_] = T * F, [U_] = T * F,
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *q = buf[Q_], *k = buf[K_], *v = buf[V_];
    float *a = buf[A_], *g = buf[G_], *u = buf[U_];

    for (int64_t t = 0; t < T; t++)
        if (!lf_weight_row(&w->tok_embd, b->token[t], h + t * E, err))
            return false;

    lf_attn_params ap = {
        .n_head = (int)H, .n_head_kv = (int)Hkv, .head_dim_k = (int)d, .head_dim_v = (int)d,
        .scale = 1.0f / sqrtf((float)d),
    };
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const qwen3_layer *L = &w->layers[l];

        /* attention: per-head QK-norm, then NEOX RoPE */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->attn_norm, E, hp->eps);
        if (!project_qkv(c, L, x, T, Q, K, buf[QKV_], q, k, v, err))
            return false;
        for (int64_t t = 0; t < T; t++) {
            float *qt = q + t * Q, *kt = k + t * K;
            for (int64_t i = 0; i < H; i++)
                lf_rms_norm(qt + i * d, qt + i * d, L->q_norm, d, hp->eps);
            for (int64_t i = 0; i < Hkv; i++)
                lf_rms_norm(kt + i * d, kt + i * d, L->k_norm, d, hp->eps);
            lf_rope(qt, (int)H, (int)d, b->pos[t], &hp->rope);
            lf_rope(kt, (int)Hkv, (int)d, b->pos[t], &hp->rope);
            lf_kvcache_store(&c->kv, (int)l, lf_kvcache_cell(&c->kv, (int)l, b->cells, T, t), kt,
                             v + t * K);
        }
        lf_attn_kv kv = lf_kvcache_view(&c->kv, (int)l);
        lf_attention(pool, a, q, T, b->pos, b->seq, &kv, &ap);
        if (!lf_matmul(pool, &c->mm, x, &L->wo, 0, a, T, err))
            return false;
        add_into(h, x, T * E);

        /* feed-forward */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->ffn_norm, E, hp->eps);
        if (!lf_matmul(pool, &c->mm, g, &L->ffn_gate, 0, x, T, err) ||
            !lf_matmul(pool, &c->mm, u, &L->ffn_up, 0, x, T, err))
            return false;
        lf_swiglu(g, u, T * F);
        if (!lf_matmul(pool, &c->mm, x, &L->ffn_down, 0, g, T, err))
            return false;
        add_into(h, x, T * E);
    }

    /* output head, only for the tokens whose logits are wanted */
    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (b->want && b->want[t])
            lf_rms_norm(x + n_out++ * E, h + t * E, w->output_norm, E, hp->eps);
    return !n_out || lf_matmul(pool, &c->mm, b->logits, &w->output, 0, x, n_out, err);
}

const struct lf_arch lf_arch_qwen3 = {
    .name = "qwen3",
    .load = qwen3_load,
    .forward = qwen3_forward,
    .free_weights = qwen3_free,
};
