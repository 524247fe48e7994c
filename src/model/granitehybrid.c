/* granitehybrid.c — IBM Granite 4.0-H: a stack of Mamba-2 layers and a few
 * attention layers (head_count_kv 0 marks a Mamba-2 layer), each followed
 * by a mixture of experts (softmax top-k, renormalised) plus a shared
 * expert, with Granite's scalar multipliers on the embeddings, the
 * residual branches, the attention scores and the logits. Attention has no
 * RoPE when rope.scaling.finetuned is false (Granite 4.0-H). spec archs.md §3.
 *
 * Each sequence's recurrent state lives in the context (c->arch_state). A
 * recurrent state cannot be cut back to an earlier position: removing a
 * sequence's tail from position p0 > 0 clears the whole sequence, so
 * lf_kv_seq_pos_max then reports -1 and the caller decodes it again from
 * the start (llama.cpp without state snapshots refuses such a removal; its
 * server then does the same). A removal that leaves the last position in
 * place keeps the state; one from position 0 resets it. A decode that fails
 * part-way (out of memory) may leave its sequences' states advanced while
 * lf_decode takes their new cells back: clear such sequences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/mamba2.h"
#include "model/model.h"
#include "model/moe.h"
#include "tensor/attention.h"

typedef struct granite_layer {
    bool recurrent;
    int64_t n_head, n_head_kv; /* attention layers */
    const float *attn_norm, *ffn_norm;
    lf_mamba2_layer ssm;
    lf_weight wq, wk, wv, wo;
    const float *bq, *bk, *bv, *bo;
    lf_moe_weights moe;
    lf_weight sh_gate, sh_up, sh_down;  /* shared expert (n_ff_sh > 0) */
    lf_weight ffn_gate, ffn_up, ffn_down; /* dense variant (no experts) */
    const float *ffn_gate_b, *ffn_up_b, *ffn_down_b;
} granite_layer;

typedef struct granite_weights {
    lf_weight tok_embd, output;
    const float *output_norm, *rope_freqs;
    float embedding_scale, residual_scale, attention_scale, logit_scale; /* 0: absent */
    bool use_rope;
    lf_mamba2_hparams ssm;
    int64_t n_expert, n_ff_sh;
    lf_moe_params moe;
    granite_layer *layers;
} granite_weights;

static void granite_free(lf_model *m) {
    granite_weights *w = m->weights;
    if (w)
        free(w->layers);
    free(w);
    m->weights = NULL;
}

static bool read_scale(const lf_model *m, const char *key, float *out, lf_error *err) {
    double v;
    if (!lf_model_float(m, key, false, 0, &v, err))
        return false;
    if (!isfinite(v))
        return lf_fail(err, "granitehybrid: %s is not finite", key);
    *out = (float)v;
    return true;
}

/* Per-layer head counts; a recurrent layer is one with no KV heads. */
static bool read_layer_heads(lf_model *m, granite_weights *w, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    int64_t *h = malloc(sizeof(int64_t) * 2 * (size_t)hp->n_layer);
    if (!h)
        return lf_fail(err, "out of memory");
    bool ok = lf_model_layer_ints(m, "attention.head_count", false, hp->n_head, h, err) &&
              lf_model_layer_ints(m, "attention.head_count_kv", false, hp->n_head,
                                  h + hp->n_layer, err);
    for (int64_t i = 0; ok && i < hp->n_layer; i++) {
        granite_layer *L = &w->layers[i];
        L->n_head = h[i];
        L->n_head_kv = h[hp->n_layer + i];
        L->recurrent = L->n_head_kv == 0;
        if (!L->recurrent && (L->n_head <= 0 || L->n_head > 4096 || L->n_head_kv < 0 ||
                              L->n_head % L->n_head_kv))
            ok = lf_fail(err, "granitehybrid: layer %lld has %lld heads and %lld KV heads",
                         (long long)i, (long long)L->n_head, (long long)L->n_head_kv);
    }
    free(h);
    return ok;
}

static bool load_attention(lf_model *m, granite_layer *L, int64_t i, lf_error *err) {
    int64_t E = m->hp.n_embd, d = m->hp.head_dim_k;
    int64_t Q = L->n_head * d, K = L->n_head_kv * d;
    long long li = (long long)i;
    return lf_model_weight(m, &L->wq, true, 2, (int64_t[]){E, Q}, err, "blk.%lld.attn_q.weight", li) &&
           lf_model_weight(m, &L->wk, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_k.weight", li) &&
           lf_model_weight(m, &L->wv, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_v.weight", li) &&
           lf_model_weight(m, &L->wo, true, 2, (int64_t[]){Q, E}, err, "blk.%lld.attn_output.weight", li) &&
           lf_model_f32(m, &L->bq, false, Q, err, "blk.%lld.attn_q.bias", li) &&
           lf_model_f32(m, &L->bk, false, K, err, "blk.%lld.attn_k.bias", li) &&
           lf_model_f32(m, &L->bv, false, K, err, "blk.%lld.attn_v.bias", li) &&
           lf_model_f32(m, &L->bo, false, E, err, "blk.%lld.attn_output.bias", li);
}

static bool load_ffn(lf_model *m, granite_weights *w, granite_layer *L, int64_t i, lf_error *err) {
    int64_t E = m->hp.n_embd, F = m->hp.n_ff, S = w->n_ff_sh;
    long long li = (long long)i;
    if (w->n_expert == 0)
        return lf_model_weight(m, &L->ffn_gate, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_gate.weight", li) &&
               lf_model_weight(m, &L->ffn_up, true, 2, (int64_t[]){E, F}, err, "blk.%lld.ffn_up.weight", li) &&
               lf_model_weight(m, &L->ffn_down, true, 2, (int64_t[]){F, E}, err, "blk.%lld.ffn_down.weight", li) &&
               lf_model_f32(m, &L->ffn_gate_b, false, F, err, "blk.%lld.ffn_gate.bias", li) &&
               lf_model_f32(m, &L->ffn_up_b, false, F, err, "blk.%lld.ffn_up.bias", li) &&
               lf_model_f32(m, &L->ffn_down_b, false, E, err, "blk.%lld.ffn_down.bias", li);
    if (!lf_moe_bind(m, &L->moe, &w->moe, i, E, F, err))
        return false;
    if (S == 0)
        return true;
    return lf_model_weight(m, &L->sh_gate, true, 2, (int64_t[]){E, S}, err, "blk.%lld.ffn_gate_shexp.weight", li) &&
           lf_model_weight(m, &L->sh_up, true, 2, (int64_t[]){E, S}, err, "blk.%lld.ffn_up_shexp.weight", li) &&
           lf_model_weight(m, &L->sh_down, true, 2, (int64_t[]){S, E}, err, "blk.%lld.ffn_down_shexp.weight", li);
}

static bool granite_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    granite_weights *w = calloc(1, sizeof(*w));
    if (!w || !(w->layers = calloc((size_t)hp->n_layer, sizeof(granite_layer)))) {
        free(w);
        return lf_fail(err, "out of memory");
    }
    m->weights = w;
    bool rope = true;
    lf_gguf_get_bool(m->gguf, "granitehybrid.rope.scaling.finetuned", &rope);
    w->use_rope = rope;
    hp->rope.mode = LF_ROPE_NORM;
    if (!read_layer_heads(m, w, err) || !lf_mamba2_read_hparams(m, &w->ssm, err) ||
        !read_scale(m, "embedding_scale", &w->embedding_scale, err) ||
        !read_scale(m, "residual_scale", &w->residual_scale, err) ||
        !read_scale(m, "attention.scale", &w->attention_scale, err) ||
        !read_scale(m, "logit_scale", &w->logit_scale, err) ||
        !lf_model_int(m, "feed_forward_length", true, 0, &hp->n_ff, err) ||
        !lf_model_int(m, "expert_count", false, 0, &w->n_expert, err) ||
        !lf_model_int(m, "expert_shared_feed_forward_length", false, 0, &w->n_ff_sh, err))
        return false;
    if (hp->head_dim_k != hp->head_dim_v)
        return lf_fail(err, "granitehybrid: key and value head dimensions differ");
    if (w->ssm.d_inner != 2 * hp->n_embd)
        return lf_fail(err, "granitehybrid: ssm.inner_size %lld is not twice embedding_length",
                       (long long)w->ssm.d_inner);
    if (hp->n_ff <= 0 || hp->n_ff > (1 << 24) || w->n_ff_sh < 0 || w->n_ff_sh > (1 << 24))
        return lf_fail(err, "granitehybrid: feed-forward width out of range");
    if (w->n_expert > 0) {
        /* llama.cpp hard-codes the routing: softmax, renormalised, unscaled */
        if (!lf_moe_read_params(m, &w->moe, LF_MOE_SOFTMAX, err))
            return false;
        w->moe.gating = LF_MOE_SOFTMAX;
        w->moe.norm_w = true;
        w->moe.w_scale = 0;
        if (!lf_moe_check(&w->moe, err))
            return false;
    } else {
        w->n_ff_sh = 0;
    }

    int64_t E = hp->n_embd, V = hp->n_vocab;
    if (!lf_model_weight(m, &w->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &w->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &w->output, false, 2, (int64_t[]){E, V}, err, "output.weight") ||
        !lf_model_f32(m, &w->rope_freqs, false, hp->n_rot / 2, err, "rope_freqs.weight"))
        return false;
    if (!w->output.data)
        w->output = w->tok_embd; /* tied */
    hp->rope.freq_factors = w->rope_freqs;

    for (int64_t i = 0; i < hp->n_layer; i++) {
        granite_layer *L = &w->layers[i];
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", (long long)i) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", (long long)i) ||
            !(L->recurrent ? lf_mamba2_bind(m, &L->ssm, &w->ssm, i, E, err)
                           : load_attention(m, L, i, err)) ||
            !load_ffn(m, w, L, i, err))
            return false;
    }
    return true;
}

/* Mamba-2 layers keep no K/V rows: their memory is the recurrent state. */
static void granite_kv_rows(const lf_model *m, int64_t *k_row, int64_t *v_row) {
    const granite_weights *w = m->weights;
    for (int64_t l = 0; l < m->hp.n_layer; l++) {
        const granite_layer *L = &w->layers[l];
        k_row[l] = L->recurrent ? 0 : L->n_head_kv * m->hp.head_dim_k;
        v_row[l] = L->recurrent ? 0 : L->n_head_kv * m->hp.head_dim_v;
    }
}

static bool granite_ctx_init(lf_context *c, lf_error *err) {
    const lf_model *m = c->model;
    const granite_weights *w = m->weights;
    lf_mamba2_state *st = calloc(1, sizeof(*st));
    bool *recurrent = calloc((size_t)m->hp.n_layer, sizeof(bool));
    int64_t n_seq = c->params.n_seq_max > 0 ? c->params.n_seq_max : 1;
    bool ok = st && recurrent;
    for (int64_t l = 0; ok && l < m->hp.n_layer; l++)
        recurrent[l] = w->layers[l].recurrent;
    ok = ok ? lf_mamba2_state_init(st, &w->ssm, (int)m->hp.n_layer, recurrent, n_seq, err)
            : lf_fail(err, "out of memory");
    free(recurrent);
    if (!ok) {
        free(st);
        return false;
    }
    c->arch_state = st;
    return true;
}

static void granite_ctx_free(lf_context *c) {
    if (c->arch_state)
        lf_mamba2_state_free(c->arch_state);
    free(c->arch_state);
    c->arch_state = NULL;
}

static void granite_seq_remove(lf_context *c, int32_t seq, int32_t p0, int32_t p1) {
    lf_mamba2_state *st = c->arch_state;
    int64_t s0 = seq < 0 ? 0 : seq, s1 = seq < 0 ? st->n_seq : seq + 1;
    for (int64_t s = s0; s < s1 && s < st->n_seq; s++)
        if (lf_mamba2_state_remove(st, (int32_t)s, p0, p1))
            lf_kvcache_remove(&c->kv, (int32_t)s, 0, -1);
}

static void add_bias(float *x, const float *b, int64_t n_rows, int64_t n) {
    if (!b)
        return;
    for (int64_t t = 0; t < n_rows; t++)
        for (int64_t i = 0; i < n; i++)
            x[t * n + i] += b[i];
}

/* h += scale * x (scale 0: absent, plain add). */
static void add_scaled(float *h, const float *x, float scale, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        h[i] += scale != 0.0f ? x[i] * scale : x[i];
}

/* out = down(silu(gate x + bg) * (up x + bu)) + bd for T rows; g, u hold T * F. */
static bool swiglu_ffn(lf_context *c, float *out, const float *x, int64_t T, const lf_weight *gate,
                       const lf_weight *up, const lf_weight *down, const float *bg,
                       const float *bu, const float *bd, float *g, float *u, lf_error *err) {
    int64_t F = gate->ne[1];
    if (!lf_matmul(c->pool, &c->mm, g, gate, 0, x, T, err) ||
        !lf_matmul(c->pool, &c->mm, u, up, 0, x, T, err))
        return false;
    add_bias(g, bg, T, F);
    add_bias(u, bu, T, F);
    lf_swiglu(g, u, T * F);
    if (!lf_matmul(c->pool, &c->mm, out, down, 0, g, T, err))
        return false;
    add_bias(out, bd, T, down->ne[1]);
    return true;
}

/* Grouped-query attention over the KV cache; q, k, v, a are work buffers. */
static bool attention(lf_context *c, const granite_weights *w, const granite_layer *L, int l,
                      const lf_ubatch *b, const float *x, float *out, float *q, float *k, float *v,
                      float *a, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    lf_pool *pool = c->pool;
    int64_t T = b->n, H = L->n_head, Hkv = L->n_head_kv, d = hp->head_dim_k;
    if (!lf_matmul(pool, &c->mm, q, &L->wq, 0, x, T, err) ||
        !lf_matmul(pool, &c->mm, k, &L->wk, 0, x, T, err) ||
        !lf_matmul(pool, &c->mm, v, &L->wv, 0, x, T, err))
        return false;
    add_bias(q, L->bq, T, H * d);
    add_bias(k, L->bk, T, Hkv * d);
    add_bias(v, L->bv, T, Hkv * d);
    for (int64_t t = 0; t < T; t++) {
        if (w->use_rope) {
            lf_rope(q + t * H * d, (int)H, (int)d, b->pos[t], &hp->rope);
            lf_rope(k + t * Hkv * d, (int)Hkv, (int)d, b->pos[t], &hp->rope);
        }
        lf_kvcache_store(&c->kv, l, b->cells[t], k + t * Hkv * d, v + t * Hkv * d);
    }
    lf_attn_params ap = {
        .n_head = (int)H, .n_head_kv = (int)Hkv, .head_dim_k = (int)d, .head_dim_v = (int)d,
        .scale = w->attention_scale != 0.0f ? w->attention_scale : 1.0f / sqrtf((float)d),
    };
    lf_attn_kv kv = {
        .type = c->kv.type, .k = c->kv.k[l], .v = c->kv.v[l],
        .k_row_bytes = c->kv.k_row_bytes, .v_row_bytes = c->kv.v_row_bytes,
        .pos = c->kv.pos, .seq = c->kv.seq, .n_cells = c->kv.n_cells,
    };
    lf_attention(pool, a, q, T, b->pos, b->seq, &kv, &ap);
    if (!lf_matmul(pool, &c->mm, out, &L->wo, 0, a, T, err))
        return false;
    add_bias(out, L->bo, T, hp->n_embd);
    return true;
}

static bool granite_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const granite_weights *w = m->weights;
    lf_mamba2_state *st = c->arch_state;
    int64_t T = b->n, E = hp->n_embd, d = hp->head_dim_k;
    int64_t Hq = 0, Hkv = 0, F = w->n_expert ? w->n_ff_sh : hp->n_ff;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        Hq = w->layers[l].n_head > Hq ? w->layers[l].n_head : Hq;
        Hkv = w->layers[l].n_head_kv > Hkv ? w->layers[l].n_head_kv : Hkv;
    }

    enum { H_, X_, M_, S_, Q_, K_, V_, A_, G_, U_, MOE_, SSM_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [M_] = T * E, [S_] = T * E,
        [Q_] = T * Hq * d, [K_] = T * Hkv * d, [V_] = T * Hkv * d, [A_] = T * Hq * d,
        [G_] = T * F, [U_] = T * F,
        [MOE_] = w->n_expert ? lf_moe_work_floats(&w->moe, T, E, hp->n_ff) : 0,
        [SSM_] = lf_mamba2_work_floats(&w->ssm, T),
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *mix = buf[M_], *s = buf[S_];

    for (int64_t t = 0; t < T; t++) {
        if (!lf_weight_row(&w->tok_embd, b->token[t], h + t * E, err))
            return false;
        if (w->embedding_scale != 0.0f)
            for (int64_t i = 0; i < E; i++)
                h[t * E + i] *= w->embedding_scale;
    }

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const granite_layer *L = &w->layers[l];

        /* mixer: Mamba-2 or attention */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->attn_norm, E, hp->eps);
        if (L->recurrent ? !lf_mamba2_forward(c->pool, &c->mm, &w->ssm, &L->ssm, st, (int)l,
                                              b->seq, T, x, mix, buf[SSM_], err)
                         : !attention(c, w, L, (int)l, b, x, mix, buf[Q_], buf[K_], buf[V_],
                                      buf[A_], err))
            return false;
        add_scaled(h, mix, w->residual_scale, T * E);

        /* feed-forward: routed experts + the shared expert, or dense */
        for (int64_t t = 0; t < T; t++)
            lf_rms_norm(x + t * E, h + t * E, L->ffn_norm, E, hp->eps);
        if (!w->n_expert) {
            if (!swiglu_ffn(c, mix, x, T, &L->ffn_gate, &L->ffn_up, &L->ffn_down, L->ffn_gate_b,
                            L->ffn_up_b, L->ffn_down_b, buf[G_], buf[U_], err))
                return false;
        } else {
            if (!lf_moe_forward(c, &L->moe, &w->moe, mix, x, T, buf[MOE_], err))
                return false;
            if (w->n_ff_sh) {
                if (!swiglu_ffn(c, s, x, T, &L->sh_gate, &L->sh_up, &L->sh_down, NULL, NULL,
                                NULL, buf[G_], buf[U_], err))
                    return false;
                for (int64_t i = 0; i < T * E; i++)
                    mix[i] += s[i];
            }
        }
        add_scaled(h, mix, w->residual_scale, T * E);
    }
    lf_mamba2_state_advance(st, T, b->seq, b->pos);

    /* output head, only for the tokens whose logits are wanted */
    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (b->want && b->want[t])
            lf_rms_norm(x + n_out++ * E, h + t * E, w->output_norm, E, hp->eps);
    if (n_out && !lf_matmul(c->pool, &c->mm, b->logits, &w->output, 0, x, n_out, err))
        return false;
    if (w->logit_scale != 0.0f) {
        float inv = 1.0f / w->logit_scale;
        for (int64_t i = 0; i < n_out * hp->n_vocab; i++)
            b->logits[i] *= inv;
    }
    return true;
}

const struct lf_arch lf_arch_granitehybrid = {
    .name = "granitehybrid",
    .load = granite_load,
    .forward = granite_forward,
    .free_weights = granite_free,
    .kv_rows = granite_kv_rows,
    .ctx_init = granite_ctx_init,
    .ctx_free = granite_ctx_free,
    .seq_remove = granite_seq_remove,
};
