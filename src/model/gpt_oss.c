/* gpt_oss.c — OpenAI gpt-oss (llama.cpp's OPENAI_MOE): biases on every
 * projection, attention sinks, sliding-window attention on even layers,
 * NEOX RoPE with YaRN on all layers, and a MoE feed-forward whose router
 * picks on raw logits, weighs by a softmax over the chosen ones and runs
 * swiglu_oai experts (usually MXFP4). spec/archs.md §5. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "model/moe.h"
#include "tensor/attention.h"

typedef struct oss_layer {
    const float *attn_norm, *post_norm, *sinks;
    const float *bq, *bk, *bv, *bo;
    lf_weight wq, wk, wv, wo;
    lf_moe_weights moe;
    bool swa;
} oss_layer;

typedef struct oss_weights {
    lf_weight tok_embd, output;
    const float *output_norm;
    oss_layer *layers;
    lf_moe_params moe;
    int64_t n_ff_exp, n_swa;
    lf_rope_params rope_swa;
} oss_weights;

static void oss_free(lf_model *m) {
    oss_weights *w = m->weights;
    if (w)
        free(w->layers);
    free(w);
    m->weights = NULL;
}

static bool oss_load_layer(lf_model *m, oss_weights *w, int64_t i, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    oss_layer *L = &w->layers[i];
    long long li = (long long)i;
    int64_t E = hp->n_embd, Q = hp->n_head * hp->head_dim_k, K = hp->n_head_kv * hp->head_dim_k;
    return lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) &&
           lf_model_f32(m, &L->post_norm, true, E, err, "blk.%lld.post_attention_norm.weight", li) &&
           lf_model_f32(m, &L->sinks, true, hp->n_head, err, "blk.%lld.attn_sinks.weight", li) &&
           lf_model_weight(m, &L->wq, true, 2, (int64_t[]){E, Q}, err, "blk.%lld.attn_q.weight", li) &&
           lf_model_weight(m, &L->wk, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_k.weight", li) &&
           lf_model_weight(m, &L->wv, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_v.weight", li) &&
           lf_model_weight(m, &L->wo, true, 2, (int64_t[]){Q, E}, err, "blk.%lld.attn_output.weight", li) &&
           lf_model_f32(m, &L->bq, false, Q, err, "blk.%lld.attn_q.bias", li) &&
           lf_model_f32(m, &L->bk, false, K, err, "blk.%lld.attn_k.bias", li) &&
           lf_model_f32(m, &L->bv, false, K, err, "blk.%lld.attn_v.bias", li) &&
           lf_model_f32(m, &L->bo, true, E, err, "blk.%lld.attn_output.bias", li) &&
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

    oss_weights *w = calloc(1, sizeof(*w));
    if (!w || !(w->layers = calloc((size_t)hp->n_layer, sizeof(oss_layer)))) {
        free(w);
        return lf_fail(err, "out of memory");
    }
    m->weights = w;
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

    int64_t E = hp->n_embd, V = hp->n_vocab;
    if (!lf_model_weight(m, &w->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &w->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &w->output, true, 2, (int64_t[]){E, V}, err, "output.weight"))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++) {
        /* pattern P: the first P-1 of every P layers slide (P = 0: all) */
        w->layers[i].swa = pattern == 0 || i % pattern < pattern - 1;
        if (!oss_load_layer(m, w, i, err))
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

static bool oss_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const oss_weights *w = m->weights;
    lf_pool *pool = c->pool;
    int64_t T = b->n, E = hp->n_embd, H = hp->n_head, Hkv = hp->n_head_kv, d = hp->head_dim_k;

    enum { H_, X_, Q_, K_, V_, A_, O_, MOE_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [Q_] = T * H * d, [K_] = T * Hkv * d, [V_] = T * Hkv * d,
        [A_] = T * H * d, [O_] = T * E, [MOE_] = lf_moe_work_floats(&w->moe, T, E, w->n_ff_exp),
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *q = buf[Q_], *k = buf[K_], *v = buf[V_], *a = buf[A_], *o = buf[O_];

    for (int64_t t = 0; t < T; t++)
        if (!lf_weight_row(&w->tok_embd, b->token[t], h + t * E, err))
            return false;

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const oss_layer *L = &w->layers[l];
        const lf_rope_params *rope = L->swa ? &w->rope_swa : &hp->rope;
        lf_attn_params ap = {
            .n_head = (int)H, .n_head_kv = (int)Hkv, .head_dim_k = (int)d, .head_dim_v = (int)d,
            .scale = 1.0f / sqrtf((float)d), .n_swa = L->swa ? (int)w->n_swa : 0,
            .sinks = L->sinks,
        };

        /* attention with sinks, sliding window on SWA layers */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->attn_norm, E, hp->eps);
        if (!lf_matmul(pool, &c->mm, q, &L->wq, 0, x, T, err) ||
            !lf_matmul(pool, &c->mm, k, &L->wk, 0, x, T, err) ||
            !lf_matmul(pool, &c->mm, v, &L->wv, 0, x, T, err))
            return false;
        add_bias(q, L->bq, T, H * d);
        add_bias(k, L->bk, T, Hkv * d);
        add_bias(v, L->bv, T, Hkv * d);
        for (int64_t t = 0; t < T; t++) {
            lf_rope(q + t * H * d, (int)H, (int)d, b->pos[t], rope);
            lf_rope(k + t * Hkv * d, (int)Hkv, (int)d, b->pos[t], rope);
            lf_kvcache_store(&c->kv, (int)l, lf_kvcache_cell(&c->kv, (int)l, b->cells, T, t),
                             k + t * Hkv * d, v + t * Hkv * d);
        }
        lf_attn_kv kv = lf_kvcache_view(&c->kv, (int)l);
        lf_attention(pool, a, q, T, b->pos, b->seq, &kv, &ap);
        if (!lf_matmul(pool, &c->mm, x, &L->wo, 0, a, T, err))
            return false;
        add_bias(x, L->bo, T, E);
        add_into(h, x, T * E);

        /* mixture of experts */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->post_norm, E, hp->eps);
        if (!lf_moe_forward(c, &L->moe, &w->moe, o, x, T, buf[MOE_], err))
            return false;
        add_into(h, o, T * E);
    }

    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (b->want && b->want[t])
            lf_rms_norm(x + n_out++ * E, h + t * E, w->output_norm, E, hp->eps);
    if (n_out && !lf_matmul(pool, &c->mm, b->logits, &w->output, 0, x, n_out, err))
        return false;
    return true;
}

/* Sliding-window layers keep only their window in the KV cache. */
static void oss_kv_window(const lf_model *m, int32_t *window) {
    const oss_weights *w = m->weights;
    for (int64_t l = 0; l < m->hp.n_layer; l++)
        window[l] = w->layers[l].swa ? (int32_t)w->n_swa : 0;
}

const struct lf_arch lf_arch_gpt_oss = {
    .name = "gpt-oss",
    .load = oss_load,
    .forward = oss_forward,
    .free_weights = oss_free,
    .kv_window = oss_kv_window,
};
