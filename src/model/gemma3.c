/* gemma3.c — the gemma3 architecture (Gemma 3 text decoder): embeddings
 * scaled by sqrt(n_embd); sliding-window layers and global layers, each kind
 * with its own RoPE base (linear scaling on global layers only); per-head
 * QK norms; RMS norms before and after both attention and the GeGLU
 * feed-forward; tied output head with optional final soft-capping.
 * The converter stores Gemma's (1 + w) norm weights already offset, so
 * every norm is a plain rms_norm(x) * w. spec/archs.md §6.2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "tensor/activations.h"
#include "tensor/attention.h"

typedef struct gemma3_layer {
    bool swa;  /* sliding-window layer */
    const float *attn_norm, *q_norm, *k_norm, *post_attn_norm;
    const float *ffn_norm, *post_ffn_norm;
    const float *bqkv, *bq, *bk, *bv;
    lf_weight wqkv, wq, wk, wv, wo;
    lf_weight ffn_gate, ffn_up, ffn_down;
} gemma3_layer;

typedef struct gemma3_weights {
    lf_weight tok_embd, output;
    const float *output_norm;
    gemma3_layer *layers;
    bool any_fused;            /* some layer has a fused attn_qkv */
    int32_t n_swa;             /* sliding window (0: none) */
    lf_rope_params rope_swa;   /* RoPE of sliding-window layers */
    float q_scale;             /* applied to the queries; kq scale is 1 */
    float softcap;             /* final logit soft-capping (0: none) */
} gemma3_weights;

static void gemma3_free(lf_model *m) {
    gemma3_weights *w = m->weights;
    if (w)
        free(w->layers);
    free(w);
    m->weights = NULL;
}

/* Layer kinds: with a window, layer l is sliding iff l % p < p - 1 for the
 * scalar sliding_window_pattern p (default 6; 0: every layer; an array
 * value is ignored, as llama.cpp does). */
static bool read_swa(lf_model *m, gemma3_weights *w, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    int64_t n_swa, period = 6;
    double base_swa;
    if (!lf_model_int(m, "attention.sliding_window", false, 0, &n_swa, err))
        return false;
    if (n_swa < 0 || n_swa > (1 << 30))
        return lf_fail(err, "gemma3: sliding_window %lld is out of range", (long long)n_swa);
    w->n_swa = (int32_t)n_swa;
    if (!n_swa)
        return true;
    char key[160];
    snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", m->arch_name);
    int64_t id = lf_gguf_find_key(m->gguf, key);
    if (id >= 0 && lf_gguf_kv_value(m->gguf, id).type != LF_GGUF_ARRAY &&
        (!lf_gguf_get_int(m->gguf, key, &period) || period < 0 || period > (1 << 20)))
        return lf_fail(err, "metadata key '%s' is not a valid layer period", key);
    if (!lf_model_float(m, "rope.freq_base_swa", false, 10000.0, &base_swa, err))
        return false;
    for (int64_t l = 0; l < hp->n_layer; l++)
        w->layers[l].swa = period == 0 || l % period < period - 1;
    w->rope_swa = hp->rope;
    w->rope_swa.freq_base = (float)base_swa;
    w->rope_swa.freq_scale = 1.0f;
    return true;
}

/* Fused attn_qkv (with optional bias) if present, else attn_q/k/v. */
static bool load_qkv(const lf_model *m, gemma3_layer *L, long long i, int64_t E, int64_t Q,
                     int64_t K, lf_error *err) {
    if (!lf_model_weight(m, &L->wqkv, false, 2, (int64_t[]){E, Q + 2 * K}, err,
                         "blk.%lld.attn_qkv.weight", i))
        return false;
    if (L->wqkv.data)
        return lf_model_f32(m, &L->bqkv, false, Q + 2 * K, err, "blk.%lld.attn_qkv.bias", i);
    return lf_model_weight(m, &L->wq, true, 2, (int64_t[]){E, Q}, err, "blk.%lld.attn_q.weight", i) &&
           lf_model_weight(m, &L->wk, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_k.weight", i) &&
           lf_model_weight(m, &L->wv, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_v.weight", i) &&
           lf_model_f32(m, &L->bq, false, Q, err, "blk.%lld.attn_q.bias", i) &&
           lf_model_f32(m, &L->bk, false, K, err, "blk.%lld.attn_k.bias", i) &&
           lf_model_f32(m, &L->bv, false, K, err, "blk.%lld.attn_v.bias", i);
}

static bool gemma3_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    hp->rope.mode = LF_ROPE_NEOX;
    if (hp->head_dim_v != hp->head_dim_k)
        return lf_fail(err, "gemma3: key_length %lld and value_length %lld must be equal",
                       (long long)hp->head_dim_k, (long long)hp->head_dim_v);
    double eps, softcap;
    if (!lf_model_int(m, "feed_forward_length", true, 0, &hp->n_ff, err) ||
        !lf_model_float(m, "attention.layer_norm_rms_epsilon", true, 0, &eps, err) ||
        !lf_model_float(m, "final_logit_softcapping", false, 0, &softcap, err))
        return false;
    hp->eps = (float)eps;
    gemma3_weights *w = calloc(1, sizeof(*w));
    if (!w || !(w->layers = calloc((size_t)hp->n_layer, sizeof(gemma3_layer)))) {
        free(w);
        return lf_fail(err, "out of memory");
    }
    m->weights = w;
    if (softcap < 0)
        return lf_fail(err, "gemma3: final_logit_softcapping %g is negative", softcap);
    w->softcap = (float)softcap;
    /* Gemma 3 27B (62 layers) scales queries by 1/sqrt(n_embd / n_head). */
    w->q_scale = hp->n_layer == 62 ? 1.0f / sqrtf((float)(hp->n_embd / hp->n_head))
                                   : 1.0f / sqrtf((float)hp->head_dim_k);
    if (!read_swa(m, w, err))
        return false;

    int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff, d = hp->head_dim_k;
    int64_t Q = hp->n_head * d, K = hp->n_head_kv * d;
    if (!lf_model_weight(m, &w->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &w->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &w->output, false, 2, (int64_t[]){E, V}, err, "output.weight"))
        return false;
    if (!w->output.data)
        w->output = w->tok_embd; /* tied */

    for (int64_t i = 0; i < hp->n_layer; i++) {
        gemma3_layer *L = &w->layers[i];
        long long li = (long long)i;
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) ||
            !load_qkv(m, L, li, E, Q, K, err) ||
            !lf_model_weight(m, &L->wo, true, 2, (int64_t[]){Q, E}, err, "blk.%lld.attn_output.weight", li) ||
            !lf_model_f32(m, &L->post_attn_norm, true, E, err, "blk.%lld.post_attention_norm.weight", li) ||
            !lf_model_f32(m, &L->q_norm, true, d, err, "blk.%lld.attn_q_norm.weight", li) ||
            !lf_model_f32(m, &L->k_norm, true, d, err, "blk.%lld.attn_k_norm.weight", li) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", li) ||
            !lf_model_weight(m, &L->ffn_gate, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_gate.weight", li) ||
            !lf_model_weight(m, &L->ffn_up, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_up.weight", li) ||
            !lf_model_weight(m, &L->ffn_down, true, 2, (int64_t[]){F, E}, err, "blk.%lld.ffn_down.weight", li) ||
            !lf_model_f32(m, &L->post_ffn_norm, true, E, err, "blk.%lld.post_ffw_norm.weight", li))
            return false;
        w->any_fused |= L->wqkv.data != NULL;
    }
    return true;
}

/* Sliding-window layers keep only their window in the KV cache. */
static void gemma3_kv_window(const lf_model *m, int32_t *window) {
    const gemma3_weights *w = m->weights;
    for (int64_t l = 0; l < m->hp.n_layer; l++)
        window[l] = w->layers[l].swa ? w->n_swa : 0;
}

static void add_bias(float *x, const float *b, int64_t n_rows, int64_t n) {
    if (!b)
        return;
    for (int64_t t = 0; t < n_rows; t++)
        for (int64_t i = 0; i < n; i++)
            x[t * n + i] += b[i];
}

/* h += rms_norm(x) * w, row by row (x is overwritten). */
static void add_normed(float *h, float *x, const float *w, int64_t T, int64_t E, float eps) {
    for (int64_t t = 0; t < T; t++) {
        lf_rms_norm(x + t * E, x + t * E, w, E, eps);
        for (int64_t i = 0; i < E; i++)
            h[t * E + i] += x[t * E + i];
    }
}

/* q, k, v = the layer's projections of x (T rows); qkv: scratch for a fused one. */
static bool project_qkv(lf_context *c, const gemma3_layer *L, const float *x, int64_t T,
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

static bool gemma3_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const gemma3_weights *w = m->weights;
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

    float emb_scale = sqrtf((float)E);
    for (int64_t t = 0; t < T; t++) {
        if (!lf_weight_row(&w->tok_embd, b->token[t], h + t * E, err))
            return false;
        for (int64_t i = 0; i < E; i++)
            h[t * E + i] *= emb_scale;
    }

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const gemma3_layer *L = &w->layers[l];
        const lf_rope_params *rope = L->swa ? &w->rope_swa : &hp->rope;
        lf_attn_params ap = {
            .n_head = (int)H, .n_head_kv = (int)Hkv, .head_dim_k = (int)d, .head_dim_v = (int)d,
            .scale = 1.0f, .n_swa = L->swa ? w->n_swa : 0,
        };

        /* attention: per-head QK-norm, NEOX RoPE, queries pre-scaled */
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
            lf_rope(qt, (int)H, (int)d, b->pos[t], rope);
            lf_rope(kt, (int)Hkv, (int)d, b->pos[t], rope);
            for (int64_t i = 0; i < Q; i++)
                qt[i] *= w->q_scale;
            lf_kvcache_store(&c->kv, (int)l, lf_kvcache_cell(&c->kv, (int)l, b->cells, T, t), kt,
                             v + t * K);
        }
        lf_attn_kv kv = lf_kvcache_view(&c->kv, (int)l);
        lf_attention(pool, a, q, T, b->pos, b->seq, &kv, &ap);
        if (!lf_matmul(pool, &c->mm, x, &L->wo, 0, a, T, err))
            return false;
        add_normed(h, x, L->post_attn_norm, T, E, hp->eps);

        /* feed-forward: GeGLU between two norms */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->ffn_norm, E, hp->eps);
        if (!lf_matmul(pool, &c->mm, g, &L->ffn_gate, 0, x, T, err) ||
            !lf_matmul(pool, &c->mm, u, &L->ffn_up, 0, x, T, err))
            return false;
        lf_geglu(g, u, T * F);
        if (!lf_matmul(pool, &c->mm, x, &L->ffn_down, 0, g, T, err))
            return false;
        add_normed(h, x, L->post_ffn_norm, T, E, hp->eps);
    }

    /* output head, only for the tokens whose logits are wanted */
    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (b->want && b->want[t])
            lf_rms_norm(x + n_out++ * E, h + t * E, w->output_norm, E, hp->eps);
    if (n_out && !lf_matmul(pool, &c->mm, b->logits, &w->output, 0, x, n_out, err))
        return false;
    if (n_out && w->softcap > 0)
        lf_softcap(b->logits, n_out * hp->n_vocab, w->softcap);
    return true;
}

const struct lf_arch lf_arch_gemma3 = {
    .name = "gemma3",
    .load = gemma3_load,
    .forward = gemma3_forward,
    .free_weights = gemma3_free,
    .kv_window = gemma3_kv_window,
};
