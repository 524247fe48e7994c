/* bailingmoe2.c — inclusionAI Ling/Ring 2.0: fused QKV, per-head Q/K
 * RMSNorm, partial NEOX RoPE, leading dense layers, then MoE layers with
 * sigmoid gating, a selection bias, grouped top-k, normalised and scaled
 * weights and one always-on shared expert. Trailing MTP (NextN) blocks are
 * skipped. spec/archs.md §2. */
#include <stdio.h>

#include "base/error.h"
#include "model/blocks.h"
#include "model/moe.h"

typedef struct bm2_layer {
    const float *attn_norm, *ffn_norm;
    lf_attn_weights attn;                    /* fused attn_qkv, q/k norms */
    lf_ffn_weights ffn;                      /* dense layers */
    lf_moe_weights moe;                      /* MoE layers */
    lf_ffn_weights shexp;                    /* their shared expert */
    bool is_moe;
} bm2_layer;

typedef struct bm2_weights {
    lf_io_weights io;
    bm2_layer *layers;
    lf_moe_params moe;
    int64_t n_ff_exp, n_ff_sh, n_dense;
} bm2_weights;

/* The shared expert's width, from its tensor (the metadata can double count). */
static bool shared_width(const lf_model *m, int64_t layer, int64_t *n_ff_sh, lf_error *err) {
    char name[96];
    snprintf(name, sizeof name, "blk.%lld.ffn_gate_shexp.weight", (long long)layer);
    const lf_gguf_tensor *t = lf_gguf_find_tensor(m->gguf, name);
    if (!t)
        return lf_fail(err, "tensor '%s' is missing", name);
    *n_ff_sh = t->ne[1];
    if (*n_ff_sh <= 0 || *n_ff_sh > (1 << 24))
        return lf_fail(err, "tensor '%s' has a bad width", name);
    return true;
}

static bool bm2_load_layer(lf_model *m, bm2_weights *w, int64_t i, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    bm2_layer *L = &w->layers[i];
    long long li = (long long)i;
    int64_t E = hp->n_embd;
    if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) ||
        !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", li) ||
        !lf_attn_bind(m, &L->attn, i, hp->n_head, hp->n_head_kv, LF_ATTN_FUSED | LF_ATTN_QK_NORM,
                      err))
        return false;
    L->is_moe = i >= w->n_dense;
    if (!L->is_moe)
        return lf_ffn_bind(m, &L->ffn, i, "", hp->n_ff, false, err);
    if (!lf_moe_bind(m, &L->moe, &w->moe, i, E, w->n_ff_exp, err) ||
        !lf_ffn_bind(m, &L->shexp, i, "_shexp", w->n_ff_sh, false, err))
        return false;
    L->moe.shared = &L->shexp; /* run with the routed experts */
    return true;
}

static bool bm2_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    hp->rope.mode = LF_ROPE_NEOX;
    int64_t nextn, n_dense, n_ff_exp;
    if (!lf_model_int(m, "nextn_predict_layers", false, 0, &nextn, err) ||
        !lf_model_int(m, "leading_dense_block_count", false, 0, &n_dense, err) ||
        !lf_model_int(m, "expert_feed_forward_length", true, 0, &n_ff_exp, err))
        return false;
    if (nextn < 0 || nextn >= hp->n_layer)
        return lf_fail(err, "bailingmoe2: nextn_predict_layers %lld must be below block_count %lld",
                       (long long)nextn, (long long)hp->n_layer);
    hp->n_layer -= nextn; /* the MTP blocks at the end are not run */
    if (n_dense < 0 || n_dense > hp->n_layer)
        return lf_fail(err, "bailingmoe2: leading_dense_block_count %lld is out of range",
                       (long long)n_dense);
    if (n_ff_exp <= 0 || n_ff_exp > (1 << 24))
        return lf_fail(err, "bailingmoe2: expert_feed_forward_length is out of range");
    if (hp->head_dim_k != hp->head_dim_v)
        return lf_fail(err, "bailingmoe2: key and value head dimensions differ");
    if (n_dense > 0 && (hp->n_ff <= 0 || hp->n_ff > (1 << 24)))
        return lf_fail(err, "bailingmoe2: feed_forward_length is missing or out of range");

    void *layers;
    bm2_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(bm2_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;
    w->n_dense = n_dense;
    w->n_ff_exp = n_ff_exp;
    if (n_dense < hp->n_layer &&
        (!lf_moe_read_params(m, &w->moe, LF_MOE_SOFTMAX, err) ||
         !shared_width(m, n_dense, &w->n_ff_sh, err)))
        return false;

    if (!lf_io_bind(m, &w->io, true, err))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++)
        if (!bm2_load_layer(m, w, i, err))
            return false;
    return true;
}

static bool bm2_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const bm2_weights *w = m->weights;
    int64_t T = b->n, E = hp->n_embd;
    lf_attn_opts ao = {.ap = lf_attn_heads(hp), .rope = &hp->rope};

    enum { H_, X_, S_, ATT_, FFN_, MOE_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [S_] = T * E, [ATT_] = lf_attn_work_floats(&ao.ap, T, true),
        [FFN_] = w->n_dense ? lf_ffn_work_floats(T, hp->n_ff) : 0,
        [MOE_] = w->n_dense < hp->n_layer ? lf_moe_work_floats(&w->moe, T, E, w->n_ff_exp) : 0,
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *s = buf[S_];

    if (!lf_embed(&w->io, b, E, 0, h, err))
        return false;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        if (lf_ctx_cancelled(c, err))
            return false;
        const bm2_layer *L = &w->layers[l];
        ao.layer = (int)l;

        /* attention: fused QKV, per-head norm, partial NEOX RoPE */
        lf_rms_norm_rows(x, h, L->attn_norm, T, E, hp->eps);
        if (!lf_attn_block(c, b, &L->attn, &ao, x, x, buf[ATT_], sizes[ATT_], err))
            return false;
        lf_add(h, x, T * E);

        /* feed-forward: dense, or routed experts + the shared expert */
        lf_rms_norm_rows(x, h, L->ffn_norm, T, E, hp->eps);
        if (!L->is_moe) {
            if (!lf_ffn_block(c, &L->ffn, LF_SWIGLU, x, T, s, buf[FFN_], sizes[FFN_], err))
                return false;
            lf_add(h, s, T * E);
            continue;
        }
        if (!lf_moe_forward(c, &L->moe, &w->moe, s, x, T, buf[MOE_], sizes[MOE_], err))
            return false; /* routed experts + the shared one */
        lf_add(h, s, T * E);
    }

    return lf_output(c, b, &w->io, h, x, NULL, err);
}

static void bailing_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    *out = (lf_kv_rope){&m->hp.rope, (int)m->hp.n_head_kv, (int)m->hp.head_dim_k};
}

const struct lf_arch lf_arch_bailingmoe2 = {
    .name = "bailingmoe2",
    .load = bm2_load,
    .forward = bm2_forward,
    .free_weights = lf_weights_free,
    .kv_rope = bailing_kv_rope,
};
