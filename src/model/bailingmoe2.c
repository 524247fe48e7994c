/* bailingmoe2.c — inclusionAI Ling/Ring 2.0: fused QKV, per-head Q/K
 * RMSNorm, partial NEOX RoPE, leading dense layers, then MoE layers with
 * sigmoid gating, a selection bias, grouped top-k, normalised and scaled
 * weights and one always-on shared expert. Trailing MTP (NextN) blocks are
 * skipped. spec/archs.md §2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "model/moe.h"
#include "tensor/attention.h"

typedef struct bm2_layer {
    const float *attn_norm, *ffn_norm, *q_norm, *k_norm;
    lf_weight wqkv, wo;
    lf_weight ffn_gate, ffn_up, ffn_down;    /* dense layers */
    lf_moe_weights moe;                      /* MoE layers */
    lf_weight sh_gate, sh_up, sh_down;       /* shared expert */
    bool is_moe;
} bm2_layer;

typedef struct bm2_weights {
    lf_weight tok_embd, output;
    const float *output_norm;
    bm2_layer *layers;
    lf_moe_params moe;
    int64_t n_ff_exp, n_ff_sh, n_dense;
} bm2_weights;

static void bm2_free(lf_model *m) {
    bm2_weights *w = m->weights;
    if (w)
        free(w->layers);
    free(w);
    m->weights = NULL;
}

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
    int64_t E = hp->n_embd, d = hp->head_dim_k;
    int64_t QKV = hp->n_head * d + 2 * hp->n_head_kv * d;
    if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) ||
        !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", li) ||
        !lf_model_f32(m, &L->q_norm, true, d, err, "blk.%lld.attn_q_norm.weight", li) ||
        !lf_model_f32(m, &L->k_norm, true, d, err, "blk.%lld.attn_k_norm.weight", li) ||
        !lf_model_weight(m, &L->wqkv, true, 2, (int64_t[]){E, QKV}, err, "blk.%lld.attn_qkv.weight", li) ||
        !lf_model_weight(m, &L->wo, true, 2, (int64_t[]){hp->n_head * d, E}, err, "blk.%lld.attn_output.weight", li))
        return false;
    L->is_moe = i >= w->n_dense;
    if (!L->is_moe) {
        int64_t F = hp->n_ff;
        return lf_model_weight(m, &L->ffn_gate, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_gate.weight", li) &&
               lf_model_weight(m, &L->ffn_up, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_up.weight", li) &&
               lf_model_weight(m, &L->ffn_down, true, 2, (int64_t[]){F, E}, err, "blk.%lld.ffn_down.weight", li);
    }
    int64_t S = w->n_ff_sh;
    return lf_moe_bind(m, &L->moe, &w->moe, i, E, w->n_ff_exp, err) &&
           lf_model_weight(m, &L->sh_gate, true, 2, (int64_t[]){E, S}, err, "blk.%lld.ffn_gate_shexp.weight", li) &&
           lf_model_weight(m, &L->sh_up, true, 2, (int64_t[]){E, S}, err, "blk.%lld.ffn_up_shexp.weight", li) &&
           lf_model_weight(m, &L->sh_down, true, 2, (int64_t[]){S, E}, err, "blk.%lld.ffn_down_shexp.weight", li);
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

    bm2_weights *w = calloc(1, sizeof(*w));
    if (!w || !(w->layers = calloc((size_t)hp->n_layer, sizeof(bm2_layer)))) {
        free(w);
        return lf_fail(err, "out of memory");
    }
    m->weights = w;
    w->n_dense = n_dense;
    w->n_ff_exp = n_ff_exp;
    if (n_dense < hp->n_layer &&
        (!lf_moe_read_params(m, &w->moe, LF_MOE_SOFTMAX, err) ||
         !shared_width(m, n_dense, &w->n_ff_sh, err)))
        return false;

    int64_t E = hp->n_embd, V = hp->n_vocab;
    if (!lf_model_weight(m, &w->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &w->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &w->output, true, 2, (int64_t[]){E, V}, err, "output.weight"))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++)
        if (!bm2_load_layer(m, w, i, err))
            return false;
    return true;
}

static void add_into(float *h, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        h[i] += x[i];
}

/* down(silu(gate x) * up x) for T rows of x into out; g, u hold T * F. */
static bool swiglu_ffn(lf_context *c, float *out, const float *x, int64_t T, const lf_weight *gate,
                       const lf_weight *up, const lf_weight *down, float *g, float *u,
                       lf_error *err) {
    if (!lf_matmul(c->pool, &c->mm, g, gate, 0, x, T, err) ||
        !lf_matmul(c->pool, &c->mm, u, up, 0, x, T, err))
        return false;
    lf_swiglu(g, u, T * gate->ne[1]);
    return lf_matmul(c->pool, &c->mm, out, down, 0, g, T, err);
}

static bool bm2_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const bm2_weights *w = m->weights;
    lf_pool *pool = c->pool;
    int64_t T = b->n, E = hp->n_embd, H = hp->n_head, Hkv = hp->n_head_kv, d = hp->head_dim_k;
    int64_t Q = H * d, K = Hkv * d, QKV = Q + 2 * K;
    int64_t F = hp->n_ff > w->n_ff_sh ? hp->n_ff : w->n_ff_sh;
    if (F < 1)
        F = 1;

    enum { H_, X_, QKV_, Q_, K_, V_, A_, G_, U_, S_, MOE_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [QKV_] = T * QKV, [Q_] = T * Q, [K_] = T * K,
        [V_] = T * K, [A_] = T * Q, [G_] = T * F, [U_] = T * F, [S_] = T * E,
        [MOE_] = w->n_dense < hp->n_layer ? lf_moe_work_floats(&w->moe, T, E, w->n_ff_exp) : 0,
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *qkv = buf[QKV_], *q = buf[Q_], *k = buf[K_], *v = buf[V_];
    float *a = buf[A_], *g = buf[G_], *u = buf[U_], *s = buf[S_];

    for (int64_t t = 0; t < T; t++)
        if (!lf_weight_row(&w->tok_embd, b->token[t], h + t * E, err))
            return false;

    lf_attn_params ap = {
        .n_head = (int)H, .n_head_kv = (int)Hkv, .head_dim_k = (int)d, .head_dim_v = (int)d,
        .scale = 1.0f / sqrtf((float)d),
    };
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const bm2_layer *L = &w->layers[l];

        /* attention: fused QKV, per-head norm, partial NEOX RoPE */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->attn_norm, E, hp->eps);
        if (!lf_matmul(pool, &c->mm, qkv, &L->wqkv, 0, x, T, err))
            return false;
        for (int64_t t = 0; t < T; t++) {
            float *qt = q + t * Q, *kt = k + t * K, *vt = v + t * K;
            memcpy(qt, qkv + t * QKV, sizeof(float) * (size_t)Q);
            memcpy(kt, qkv + t * QKV + Q, sizeof(float) * (size_t)K);
            memcpy(vt, qkv + t * QKV + Q + K, sizeof(float) * (size_t)K);
            for (int64_t i = 0; i < H; i++)
                lf_rms_norm(qt + i * d, qt + i * d, L->q_norm, d, hp->eps);
            for (int64_t i = 0; i < Hkv; i++)
                lf_rms_norm(kt + i * d, kt + i * d, L->k_norm, d, hp->eps);
            lf_rope(qt, (int)H, (int)d, b->pos[t], &hp->rope);
            lf_rope(kt, (int)Hkv, (int)d, b->pos[t], &hp->rope);
            lf_kvcache_store(&c->kv, (int)l, b->cells[t], kt, vt);
        }
        lf_attn_kv kv = {
            .type = c->kv.type, .k = c->kv.k[l], .v = c->kv.v[l],
            .k_row_bytes = c->kv.k_row_bytes, .v_row_bytes = c->kv.v_row_bytes,
            .pos = c->kv.pos, .seq = c->kv.seq, .n_cells = c->kv.n_cells,
        };
        lf_attention(pool, a, q, T, b->pos, b->seq, &kv, &ap);
        if (!lf_matmul(pool, &c->mm, x, &L->wo, 0, a, T, err))
            return false;
        add_into(h, x, T * E);

        /* feed-forward: dense, or routed experts + the shared expert */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->ffn_norm, E, hp->eps);
        if (!L->is_moe) {
            if (!swiglu_ffn(c, s, x, T, &L->ffn_gate, &L->ffn_up, &L->ffn_down, g, u, err))
                return false;
            add_into(h, s, T * E);
            continue;
        }
        if (!lf_moe_forward(c, &L->moe, &w->moe, s, x, T, buf[MOE_], err) ||
            !swiglu_ffn(c, x, x, T, &L->sh_gate, &L->sh_up, &L->sh_down, g, u, err))
            return false;
        add_into(s, x, T * E);
        add_into(h, s, T * E);
    }

    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (b->want && b->want[t])
            lf_rms_norm(x + n_out++ * E, h + t * E, w->output_norm, E, hp->eps);
    if (n_out && !lf_matmul(pool, &c->mm, b->logits, &w->output, 0, x, n_out, err))
        return false;
    return true;
}

const struct lf_arch lf_arch_bailingmoe2 = {
    .name = "bailingmoe2",
    .load = bm2_load,
    .forward = bm2_forward,
    .free_weights = bm2_free,
};
