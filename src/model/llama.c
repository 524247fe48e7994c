/* llama.c — the llama architecture (LLaMA 1/2/3, TinyLlama, Mistral-style):
 * RMSNorm, RoPE (NORM mode), grouped-query attention over the KV cache,
 * SwiGLU feed-forward, tied or separate output head. spec/archs.md §1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "tensor/attention.h"

typedef struct llama_layer {
    const float *attn_norm, *ffn_norm;
    const float *bq, *bk, *bv, *bo;
    lf_weight wq, wk, wv, wo;
    lf_weight ffn_gate, ffn_up, ffn_down;
} llama_layer;

typedef struct llama_weights {
    lf_weight tok_embd, output;
    const float *output_norm;
    const float *rope_freqs;
    llama_layer *layers;
} llama_weights;

static void llama_free(lf_model *m) {
    llama_weights *w = m->weights;
    if (w)
        free(w->layers);
    free(w);
    m->weights = NULL;
}

static bool llama_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    hp->rope.mode = LF_ROPE_NORM;
    if (hp->n_rot != hp->head_dim_k)
        return lf_fail(err, "llama: rope.dimension_count %lld must equal the head dimension %lld",
                       (long long)hp->n_rot, (long long)hp->head_dim_k);
    if (!lf_model_int(m, "feed_forward_length", true, 0, &hp->n_ff, err))
        return false;
    llama_weights *w = calloc(1, sizeof(*w));
    if (!w || !(w->layers = calloc((size_t)hp->n_layer, sizeof(llama_layer)))) {
        free(w);
        return lf_fail(err, "out of memory");
    }
    m->weights = w;

    int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff;
    int64_t Q = hp->n_head * hp->head_dim_k, K = hp->n_head_kv * hp->head_dim_k,
            Vd = hp->n_head_kv * hp->head_dim_v, O = hp->n_head * hp->head_dim_v;
    if (!lf_model_weight(m, &w->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &w->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &w->output, false, 2, (int64_t[]){E, V}, err, "output.weight") ||
        !lf_model_f32(m, &w->rope_freqs, false, hp->n_rot / 2, err, "rope_freqs.weight"))
        return false;
    if (!w->output.data)
        w->output = w->tok_embd; /* tied */
    hp->rope.freq_factors = w->rope_freqs;

    for (int64_t i = 0; i < hp->n_layer; i++) {
        llama_layer *L = &w->layers[i];
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", (long long)i) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", (long long)i) ||
            !lf_model_weight(m, &L->wq, true, 2, (int64_t[]){E, Q}, err, "blk.%lld.attn_q.weight", (long long)i) ||
            !lf_model_weight(m, &L->wk, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_k.weight", (long long)i) ||
            !lf_model_weight(m, &L->wv, true, 2, (int64_t[]){E, Vd}, err, "blk.%lld.attn_v.weight", (long long)i) ||
            !lf_model_weight(m, &L->wo, true, 2, (int64_t[]){O, E}, err, "blk.%lld.attn_output.weight", (long long)i) ||
            !lf_model_f32(m, &L->bq, false, Q, err, "blk.%lld.attn_q.bias", (long long)i) ||
            !lf_model_f32(m, &L->bk, false, K, err, "blk.%lld.attn_k.bias", (long long)i) ||
            !lf_model_f32(m, &L->bv, false, Vd, err, "blk.%lld.attn_v.bias", (long long)i) ||
            !lf_model_f32(m, &L->bo, false, E, err, "blk.%lld.attn_output.bias", (long long)i) ||
            !lf_model_weight(m, &L->ffn_gate, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_gate.weight", (long long)i) ||
            !lf_model_weight(m, &L->ffn_up, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_up.weight", (long long)i) ||
            !lf_model_weight(m, &L->ffn_down, true, 2, (int64_t[]){F, E}, err, "blk.%lld.ffn_down.weight", (long long)i))
            return false;
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

static bool llama_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const llama_weights *w = m->weights;
    lf_pool *pool = c->pool;
    int64_t T = b->n, E = hp->n_embd, F = hp->n_ff;
    int64_t H = hp->n_head, Hkv = hp->n_head_kv, dk = hp->head_dim_k, dv = hp->head_dim_v;

    enum { H_, X_, Q_, K_, V_, A_, G_, U_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [Q_] = T * H * dk, [K_] = T * Hkv * dk,
        [V_] = T * Hkv * dv, [A_] = T * H * dv, [G_] = T * F, [U_] = T * F,
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *q = buf[Q_], *k = buf[K_], *v = buf[V_];
    float *a = buf[A_], *g = buf[G_], *u = buf[U_];

    for (int64_t t = 0; t < T; t++)
        if (!lf_weight_row(&w->tok_embd, b->token[t], h + t * E, err))
            return false;

    lf_attn_params ap = {
        .n_head = (int)H, .n_head_kv = (int)Hkv, .head_dim_k = (int)dk, .head_dim_v = (int)dv,
        .scale = 1.0f / sqrtf((float)dk),
    };
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const llama_layer *L = &w->layers[l];

        /* attention */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->attn_norm, E, hp->eps);
        if (!lf_matmul(pool, &c->mm, q, &L->wq, 0, x, T, err) ||
            !lf_matmul(pool, &c->mm, k, &L->wk, 0, x, T, err) ||
            !lf_matmul(pool, &c->mm, v, &L->wv, 0, x, T, err))
            return false;
        add_bias(q, L->bq, T, H * dk);
        add_bias(k, L->bk, T, Hkv * dk);
        add_bias(v, L->bv, T, Hkv * dv);
        for (int64_t t = 0; t < T; t++) {
            lf_rope(q + t * H * dk, (int)H, (int)dk, b->pos[t], &hp->rope);
            lf_rope(k + t * Hkv * dk, (int)Hkv, (int)dk, b->pos[t], &hp->rope);
            lf_kvcache_store(&c->kv, (int)l, b->cells[t], k + t * Hkv * dk, v + t * Hkv * dv);
        }
        lf_attn_kv kv = {
            .type = c->kv.type, .k = c->kv.k[l], .v = c->kv.v[l],
            .k_row_bytes = c->kv.k_row_bytes, .v_row_bytes = c->kv.v_row_bytes,
            .pos = c->kv.pos, .seq = c->kv.seq, .n_cells = c->kv.n_cells,
        };
        lf_attention(pool, a, q, T, b->pos, b->seq, &kv, &ap);
        if (!lf_matmul(pool, &c->mm, x, &L->wo, 0, a, T, err))
            return false;
        add_bias(x, L->bo, T, E);
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
    if (n_out && !lf_matmul(pool, &c->mm, b->logits, &w->output, 0, x, n_out, err))
        return false;
    return true;
}

const struct lf_arch lf_arch_llama = {
    .name = "llama",
    .load = llama_load,
    .forward = llama_forward,
    .free_weights = llama_free,
};
