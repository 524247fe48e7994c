/* llama.c — the llama architecture (LLaMA 1/2/3, TinyLlama, Mistral-style):
 * RMSNorm, RoPE (NORM mode), grouped-query attention over the KV cache,
 * SwiGLU feed-forward, tied or separate output head. spec/archs.md §1. */
#include "base/error.h"
#include "model/blocks.h"

typedef struct llama_layer {
    const float *attn_norm, *ffn_norm;
    lf_attn_weights attn;
    lf_ffn_weights ffn;
} llama_layer;

typedef struct llama_weights {
    lf_io_weights io;
    llama_layer *layers;
} llama_weights;

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
    void *layers;
    llama_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(llama_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;

    int64_t E = hp->n_embd;
    if (!lf_io_bind(m, &w->io, false, err) ||
        !lf_model_f32(m, &hp->rope.freq_factors, false, hp->n_rot / 2, err, "rope_freqs.weight"))
        return false;

    for (int64_t i = 0; i < hp->n_layer; i++) {
        llama_layer *L = &w->layers[i];
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", (long long)i) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", (long long)i) ||
            !lf_attn_bind(m, &L->attn, i, hp->n_head, hp->n_head_kv,
                          LF_ATTN_QKV_BIAS | LF_ATTN_OUT_BIAS, err) ||
            !lf_ffn_bind(m, &L->ffn, i, "", hp->n_ff, false, err))
            return false;
    }
    return true;
}

static bool llama_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const llama_weights *w = m->weights;
    int64_t T = b->n, E = hp->n_embd;
    lf_attn_opts ao = {.ap = lf_attn_heads(hp), .rope = &hp->rope};

    enum { H_, X_, ATT_, FFN_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [ATT_] = lf_attn_work_floats(&ao.ap, T, false),
        [FFN_] = lf_ffn_work_floats(T, hp->n_ff),
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_];

    if (!lf_embed(&w->io, b, E, 0, h, err))
        return false;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        if (lf_ctx_cancelled(c, err))
            return false;
        const llama_layer *L = &w->layers[l];
        ao.layer = (int)l;

        /* attention: q, k, v (+ biases), RoPE, K/V into the cache, GQA, output */
        lf_rms_norm_rows(x, h, L->attn_norm, T, E, hp->eps);
        if (!lf_attn_block(c, b, &L->attn, &ao, x, x, buf[ATT_], sizes[ATT_], err))
            return false;
        lf_add(h, x, T * E);

        /* feed-forward: down(silu(gate x) * up x) */
        lf_rms_norm_rows(x, h, L->ffn_norm, T, E, hp->eps);
        if (!lf_ffn_block(c, &L->ffn, LF_SWIGLU, x, T, x, buf[FFN_], sizes[FFN_], err))
            return false;
        lf_add(h, x, T * E);
    }

    /* output head, only for the tokens whose logits are wanted */
    return lf_output(c, b, &w->io, h, x, NULL, err);
}

static void llama_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    *out = (lf_kv_rope){&m->hp.rope, (int)m->hp.n_head_kv, (int)m->hp.head_dim_k};
}

const struct lf_arch lf_arch_llama = {
    .name = "llama",
    .load = llama_load,
    .forward = llama_forward,
    .free_weights = lf_weights_free,
    .kv_rope = llama_kv_rope,
};
