/* qwen3.c — the qwen3 architecture (Qwen3 dense models): a llama block with
 * per-head RMS norms on the queries and keys before RoPE (NEOX layout), a
 * head dimension that need not be n_embd / n_head, SwiGLU feed-forward and
 * an output head that may be tied to the embeddings. spec/archs.md §6.1. */
#include "base/error.h"
#include "model/blocks.h"

typedef struct qwen3_layer {
    const float *attn_norm, *ffn_norm;
    lf_attn_weights attn; /* fused attn_qkv or attn_q/k/v, with q/k norms */
    lf_ffn_weights ffn;
} qwen3_layer;

typedef struct qwen3_weights {
    lf_io_weights io;
    qwen3_layer *layers;
    bool any_fused; /* some layer has a fused attn_qkv */
} qwen3_weights;

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
    void *layers;
    qwen3_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(qwen3_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;

    int64_t E = hp->n_embd;
    if (!lf_io_bind(m, &w->io, false, err))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++) {
        qwen3_layer *L = &w->layers[i];
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", (long long)i) ||
            !lf_attn_bind(m, &L->attn, i, hp->n_head, hp->n_head_kv,
                          LF_ATTN_MAYBE_FUSED | LF_ATTN_QKV_BIAS | LF_ATTN_QK_NORM, err) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", (long long)i) ||
            !lf_ffn_bind(m, &L->ffn, i, "", hp->n_ff, false, err))
            return false;
        w->any_fused |= L->attn.wqkv.data != NULL;
    }
    return true;
}

static bool qwen3_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const qwen3_weights *w = m->weights;
    int64_t T = b->n, E = hp->n_embd;
    lf_attn_opts ao = {.ap = lf_attn_heads(hp), .rope = &hp->rope};

    enum { H_, X_, ATT_, FFN_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [ATT_] = lf_attn_work_floats(&ao.ap, T, w->any_fused),
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
        const qwen3_layer *L = &w->layers[l];
        ao.layer = (int)l;

        /* attention: per-head QK-norm, then NEOX RoPE */
        lf_rms_norm_rows(x, h, L->attn_norm, T, E, hp->eps);
        if (!lf_attn_block(c, b, &L->attn, &ao, x, x, buf[ATT_], sizes[ATT_], err))
            return false;
        lf_add(h, x, T * E);

        /* feed-forward */
        lf_rms_norm_rows(x, h, L->ffn_norm, T, E, hp->eps);
        if (!lf_ffn_block(c, &L->ffn, LF_SWIGLU, x, T, x, buf[FFN_], sizes[FFN_], err))
            return false;
        lf_add(h, x, T * E);
    }

    /* output head, only for the tokens whose logits are wanted */
    return lf_output(c, b, &w->io, h, x, NULL, err);
}

static void qwen3_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    *out = (lf_kv_rope){&m->hp.rope, (int)m->hp.n_head_kv, (int)m->hp.head_dim_k};
}

const struct lf_arch lf_arch_qwen3 = {
    .name = "qwen3",
    .load = qwen3_load,
    .forward = qwen3_forward,
    .free_weights = lf_weights_free,
    .kv_rope = qwen3_kv_rope,
};
