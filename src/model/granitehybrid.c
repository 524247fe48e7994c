/* granitehybrid.c — IBM Granite 4.0-H: a stack of Mamba-2 layers and a few
 * attention layers (head_count_kv 0 marks a Mamba-2 layer), each followed
 * by a mixture of experts (softmax top-k, renormalised) plus a shared
 * expert, with Granite's scalar multipliers on the embeddings, the
 * residual branches, the attention scores and the logits. Attention has no
 * RoPE when rope.scaling.finetuned is false (Granite 4.0-H). spec archs.md §3.
 *
 * Each sequence's recurrent state lives in the context (c->arch_state). A
 * recurrent state cannot be cut back to an earlier position, nor have a
 * range taken out: such a removal clears the whole sequence and
 * lf_kv_remove says LF_KV_DROPPED (lf_kv_seq_pos_max then reports -1 and
 * the caller decodes it again from the start; llama.cpp without state
 * snapshots refuses such a removal, and its server then does the same). A
 * removal after the last position keeps the state; one of all of it resets
 * it. lf_kv_copy copies the state (only when the range holds the source's
 * last position), lf_kv_shift moves its last position. A decode that fails
 * part-way (out of memory) may leave its sequences' states advanced while
 * lf_decode takes their new cells back: clear such sequences. */
#include <math.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/blocks.h"
#include "model/mamba2.h"
#include "model/moe.h"

typedef struct granite_layer {
    bool recurrent;
    int64_t n_head, n_head_kv; /* attention layers */
    const float *attn_norm, *ffn_norm;
    lf_mamba2_layer ssm;
    lf_attn_weights attn;
    lf_moe_weights moe;
    lf_ffn_weights shexp; /* shared expert (n_ff_sh > 0) */
    lf_ffn_weights ffn;   /* dense variant (no experts) */
} granite_layer;

typedef struct granite_weights {
    lf_io_weights io;
    float embedding_scale, residual_scale, attention_scale, logit_scale; /* 0: absent */
    bool use_rope;
    lf_mamba2_hparams ssm;
    int64_t n_expert, n_ff_sh;
    lf_moe_params moe;
    granite_layer *layers;
} granite_weights;

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
    int64_t *h = lf_malloc(sizeof(int64_t) * 2 * (size_t)hp->n_layer);
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

static bool load_ffn(lf_model *m, granite_weights *w, granite_layer *L, int64_t i, lf_error *err) {
    if (w->n_expert == 0)
        return lf_ffn_bind(m, &L->ffn, i, "", m->hp.n_ff, true, err);
    if (!lf_moe_bind(m, &L->moe, &w->moe, i, m->hp.n_embd, m->hp.n_ff, err) ||
        (w->n_ff_sh && !lf_ffn_bind(m, &L->shexp, i, "_shexp", w->n_ff_sh, false, err)))
        return false;
    L->moe.shared = w->n_ff_sh ? &L->shexp : NULL; /* run with the routed experts */
    return true;
}

static bool granite_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    void *layers;
    granite_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(granite_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;
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

    int64_t E = hp->n_embd;
    if (!lf_io_bind(m, &w->io, false, err) ||
        !lf_model_f32(m, &hp->rope.freq_factors, false, hp->n_rot / 2, err, "rope_freqs.weight"))
        return false;

    for (int64_t i = 0; i < hp->n_layer; i++) {
        granite_layer *L = &w->layers[i];
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", (long long)i) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", (long long)i) ||
            !(L->recurrent ? lf_mamba2_bind(m, &L->ssm, &w->ssm, i, E, err)
                           : lf_attn_bind(m, &L->attn, i, L->n_head, L->n_head_kv,
                                          LF_ATTN_QKV_BIAS | LF_ATTN_OUT_BIAS, err)) ||
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
    lf_mamba2_state *st = lf_calloc(1, sizeof(*st));
    bool *recurrent = lf_calloc((size_t)m->hp.n_layer, sizeof(bool));
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

static bool granite_seq_remove(lf_context *c, int32_t seq, int32_t p0, int32_t p1) {
    lf_mamba2_state *st = c->arch_state;
    int64_t s0 = seq < 0 ? 0 : seq, s1 = seq < 0 ? st->n_seq : seq + 1;
    bool dropped = false;
    for (int64_t s = s0; s < s1 && s < st->n_seq; s++)
        if (lf_mamba2_state_remove(st, (int32_t)s, p0, p1)) {
            lf_kvcache_remove(&c->kv, (int32_t)s, 0, -1);
            dropped = true;
        }
    return dropped;
}

static bool granite_seq_copy(lf_context *c, int32_t src, int32_t dst, int32_t p0, int32_t p1,
                             lf_error *err) {
    if (lf_mamba2_state_copy(c->arch_state, src, dst, p0, p1))
        return true;
    return lf_fail(err, "granitehybrid: a recurrent state cannot be copied in part: the range "
                   "must hold sequence %d's last position", src);
}

static void granite_seq_keep(lf_context *c, int32_t seq) {
    lf_mamba2_state *st = c->arch_state;
    for (int32_t s = 0; s < st->n_seq; s++)
        if (s != seq)
            lf_mamba2_state_clear(st, s);
}

static void granite_seq_shift(lf_context *c, int32_t seq, int32_t p0, int32_t p1,
                              int32_t delta) {
    lf_mamba2_state_shift(c->arch_state, seq, p0, p1, delta);
}

static int32_t granite_seq_state_pos(const lf_context *c, int32_t seq) {
    const lf_mamba2_state *st = c->arch_state;
    return seq >= 0 && seq < st->n_seq ? st->pos_max[seq] : -1;
}

static void granite_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    const granite_weights *w = m->weights;
    *out = (lf_kv_rope){w->use_rope ? &m->hp.rope : NULL,
                        (int)w->layers[layer].n_head_kv, (int)m->hp.head_dim_k};
}

static size_t granite_state_size(const lf_context *c) {
    return lf_mamba2_state_bytes(c->arch_state);
}

static void granite_state_write(const lf_context *c, int32_t seq, uint8_t *dst) {
    lf_mamba2_state_save(c->arch_state, seq, dst);
}

static bool granite_state_check(const lf_context *c, const uint8_t *src, size_t n, lf_error *err) {
    return lf_mamba2_state_check(c->arch_state, src, n, err);
}

static void granite_state_read(lf_context *c, int32_t seq, const uint8_t *src) {
    lf_mamba2_state_load(c->arch_state, seq, src);
}

/* h += scale * x (scale 0: absent, plain add). */
static void add_scaled(float *h, const float *x, float scale, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        h[i] += scale != 0.0f ? x[i] * scale : x[i];
}

static bool granite_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const granite_weights *w = m->weights;
    lf_mamba2_state *st = c->arch_state;
    int64_t T = b->n, E = hp->n_embd;
    lf_attn_opts ao = {.ap = lf_attn_heads(hp), .rope = w->use_rope ? &hp->rope : NULL};
    if (w->attention_scale != 0.0f)
        ao.ap.scale = w->attention_scale;
    lf_attn_params most = ao.ap; /* the largest head counts of any layer */
    most.n_head = most.n_head_kv = 0;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        most.n_head = w->layers[l].n_head > most.n_head ? (int)w->layers[l].n_head : most.n_head;
        most.n_head_kv = w->layers[l].n_head_kv > most.n_head_kv ? (int)w->layers[l].n_head_kv
                                                                 : most.n_head_kv;
    }

    enum { H_, X_, M_, ATT_, FFN_, MOE_, SSM_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [M_] = T * E,
        [ATT_] = lf_attn_work_floats(&most, T, false),
        [FFN_] = w->n_expert ? 0 : lf_ffn_work_floats(T, hp->n_ff),
        [MOE_] = w->n_expert ? lf_moe_work_floats(&w->moe, T, E, hp->n_ff) : 0,
        [SSM_] = lf_mamba2_work_floats(&w->ssm, T),
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_], *mix = buf[M_];

    if (!lf_embed(&w->io, b, E, w->embedding_scale, h, err))
        return false;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        if (lf_ctx_cancelled(c, err))
            return false;
        const granite_layer *L = &w->layers[l];
        ao.layer = (int)l;
        ao.ap.n_head = (int)L->n_head;
        ao.ap.n_head_kv = (int)L->n_head_kv;

        /* mixer: Mamba-2 or attention */
        lf_rms_norm_rows(x, h, L->attn_norm, T, E, hp->eps);
        if (L->recurrent ? !lf_mamba2_forward(c->pool, &c->mm, &w->ssm, &L->ssm, st, (int)l,
                                              b->seq, T, x, mix, buf[SSM_], err)
                         : !lf_attn_block(c, b, &L->attn, &ao, x, mix, buf[ATT_], sizes[ATT_], err))
            return false;
        add_scaled(h, mix, w->residual_scale, T * E);

        /* feed-forward: routed experts + the shared expert, or dense */
        lf_rms_norm_rows(x, h, L->ffn_norm, T, E, hp->eps);
        if (!w->n_expert) {
            if (!lf_ffn_block(c, &L->ffn, LF_SWIGLU, x, T, mix, buf[FFN_], sizes[FFN_], err))
                return false;
        } else {
            /* the shared expert is added in the same job (L->moe.shared) */
            if (!lf_moe_forward(c, &L->moe, &w->moe, mix, x, T, buf[MOE_], sizes[MOE_], err))
                return false;
        }
        add_scaled(h, mix, w->residual_scale, T * E);
    }
    lf_mamba2_state_advance(st, T, b->seq, b->pos);

    /* output head, only for the tokens whose logits are wanted */
    int64_t n_out;
    if (!lf_output(c, b, &w->io, h, x, &n_out, err))
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
    .free_weights = lf_weights_free,
    .kv_rows = granite_kv_rows,
    .ctx_init = granite_ctx_init,
    .ctx_free = granite_ctx_free,
    .seq_remove = granite_seq_remove,
    .seq_copy = granite_seq_copy,
    .seq_keep = granite_seq_keep,
    .seq_shift = granite_seq_shift,
    .seq_state_pos = granite_seq_state_pos,
    .kv_rope = granite_kv_rope,
    .state_size = granite_state_size,
    .state_write = granite_state_write,
    .state_check = granite_state_check,
    .state_read = granite_state_read,
};
