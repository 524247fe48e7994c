/* gpt_oss.c — OpenAI gpt-oss (llama.cpp's OPENAI_MOE): biases on every
 * projection, attention sinks, sliding-window attention on even layers,
 * NEOX RoPE with YaRN on all layers, and a MoE feed-forward whose router
 * picks on raw logits, weighs by a softmax over the chosen ones and runs
 * swiglu_oai experts (usually MXFP4). spec/archs.md §5. */
#include "base/error.h"
#include "model/blocks.h"
#include "model/moe.h"

typedef struct oss_layer {
    const float *attn_norm, *post_norm, *sinks;
    lf_attn_weights attn;
    lf_moe_weights moe;
    bool swa;
} oss_layer;

typedef struct oss_weights {
    lf_io_weights io;
    oss_layer *layers;
    lf_moe_params moe;
    int64_t n_ff_exp, n_swa;
    lf_rope_params rope_swa;
} oss_weights;

static bool oss_load_layer(lf_model *m, oss_weights *w, int64_t i, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    oss_layer *L = &w->layers[i];
    long long li = (long long)i;
    int64_t E = hp->n_embd;
    return lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) &&
           lf_model_f32(m, &L->post_norm, true, E, err, "blk.%lld.post_attention_norm.weight", li) &&
           lf_model_f32(m, &L->sinks, true, hp->n_head, err, "blk.%lld.attn_sinks.weight", li) &&
           lf_attn_bind(m, &L->attn, i, hp->n_head, hp->n_head_kv,
                        LF_ATTN_QKV_BIAS | LF_ATTN_OUT_BIAS_REQ, err) &&
           lf_moe_bind(m, &L->moe, &w->moe, i, E, w->n_ff_exp, err);
}

static bool oss_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    hp->rope.mode = LF_ROPE_NEOX;
    if (hp->n_rot != hp->head_dim_k || hp->head_dim_k != hp->head_dim_v)
        return lf_fail(err, "gpt-oss: rope.dimension_count %lld, key_length %lld and value_length "
                       "%lld must be equal", (long long)hp->n_rot, (long long)hp->head_dim_k,
                       (long long)hp->head_dim_v);
    int64_t n_ff_exp, n_swa, pattern;
    double base_swa;
    if (!lf_model_int(m, "expert_feed_forward_length", true, 0, &n_ff_exp, err) ||
        !lf_model_int(m, "attention.sliding_window", true, 0, &n_swa, err) ||
        !lf_model_int(m, "attention.sliding_window_pattern", false, 2, &pattern, err) ||
        !lf_model_float(m, "rope.freq_base_swa", false, hp->rope.freq_base, &base_swa, err))
        return false;
    if (n_ff_exp <= 0 || n_ff_exp > (1 << 24))
        return lf_fail(err, "gpt-oss: expert_feed_forward_length is out of range");
    if (n_swa < 0 || n_swa > INT32_MAX || pattern < 0 || pattern > (1 << 20))
        return lf_fail(err, "gpt-oss: sliding_window %lld / pattern %lld out of range",
                       (long long)n_swa, (long long)pattern);

    void *layers;
    oss_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(oss_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;
    w->n_ff_exp = n_ff_exp;
    w->n_swa = n_swa;
    w->rope_swa = hp->rope;
    w->rope_swa.freq_base = (float)base_swa;

    /* llama.cpp hard-codes this routing for gpt-oss */
    if (!lf_moe_read_params(m, &w->moe, LF_MOE_SOFTMAX_WEIGHT, err))
        return false;
    w->moe.gating = LF_MOE_SOFTMAX_WEIGHT;
    w->moe.norm_w = false;
    w->moe.w_scale = 0;
    w->moe.act = LF_MOE_SWIGLU_OAI;

    if (!lf_io_bind(m, &w->io, true, err))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++) {
        /* pattern P: the first P-1 of every P layers slide (P = 0: all) */
        w->layers[i].swa = pattern == 0 || i % pattern < pattern - 1;
        if (!oss_load_layer(m, w, i, err))
            return false;
    }
    return true;
}

static bool oss_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const oss_weights *w = m->weights;
    int64_t T = b->n, E = hp->n_embd;
    lf_attn_opts ao = {.ap = lf_attn_heads(hp)};

    enum { H_, X_, O_, ATT_, MOE_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [O_] = T * E, [ATT_] = lf_attn_work_floats(&ao.ap, T, false),
        [MOE_] = lf_moe_work_floats(&w->moe, T, E, w->n_ff_exp),
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *o = buf[O_];

    if (!lf_embed(&w->io, b, E, 0, h, err))
        return false;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        if (lf_ctx_cancelled(c, err))
            return false;
        const oss_layer *L = &w->layers[l];
        ao.layer = (int)l;
        ao.rope = L->swa ? &w->rope_swa : &hp->rope;
        ao.ap.n_swa = L->swa ? (int)w->n_swa : 0;
        ao.ap.sinks = L->sinks;

        /* attention with sinks, sliding window on SWA layers */
        lf_rms_norm_rows(x, h, L->attn_norm, T, E, hp->eps);
        if (!lf_attn_block(c, b, &L->attn, &ao, x, x, buf[ATT_], sizes[ATT_], err))
            return false;
        lf_add(h, x, T * E);

        /* mixture of experts */
        lf_rms_norm_rows(x, h, L->post_norm, T, E, hp->eps);
        if (!lf_moe_forward(c, &L->moe, &w->moe, o, x, T, buf[MOE_], sizes[MOE_], err))
            return false;
        lf_add(h, o, T * E);
    }

    return lf_output(c, b, &w->io, h, x, NULL, err);
}

/* Sliding-window layers keep only their window in the KV cache. */
static void oss_kv_window(const lf_model *m, int32_t *window) {
    const oss_weights *w = m->weights;
    for (int64_t l = 0; l < m->hp.n_layer; l++)
        window[l] = w->layers[l].swa ? (int32_t)w->n_swa : 0;
}

static void oss_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    const oss_weights *w = m->weights;
    *out = (lf_kv_rope){w->layers[layer].swa ? &w->rope_swa : &m->hp.rope,
                        (int)m->hp.n_head_kv, (int)m->hp.head_dim_k};
}

const struct lf_arch lf_arch_gpt_oss = {
    .name = "gpt-oss",
    .load = oss_load,
    .forward = oss_forward,
    .free_weights = lf_weights_free,
    .kv_window = oss_kv_window,
    .kv_rope = oss_kv_rope,
};
