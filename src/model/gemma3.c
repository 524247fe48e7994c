/* gemma3.c — the gemma3 architecture (Gemma 3 text decoder): embeddings
 * scaled by sqrt(n_embd); sliding-window layers and global layers, each kind
 * with its own RoPE base (linear scaling on global layers only); per-head
 * QK norms; RMS norms before and after both attention and the GeGLU
 * feed-forward; tied output head with optional final soft-capping.
 * The converter stores Gemma's (1 + w) norm weights already offset, so
 * every norm is a plain rms_norm(x) * w. spec/archs.md §6.2. */
#include <math.h>
#include <stdio.h>

#include "base/error.h"
#include "model/blocks.h"
#include "tensor/activations.h"

typedef struct gemma3_layer {
    bool swa;  /* sliding-window layer */
    const float *attn_norm, *post_attn_norm, *ffn_norm, *post_ffn_norm;
    lf_attn_weights attn; /* fused attn_qkv or attn_q/k/v, with q/k norms */
    lf_ffn_weights ffn;
} gemma3_layer;

typedef struct gemma3_weights {
    lf_io_weights io;
    gemma3_layer *layers;
    bool any_fused;            /* some layer has a fused attn_qkv */
    int32_t n_swa;             /* sliding window (0: none) */
    lf_rope_params rope_swa;   /* RoPE of sliding-window layers */
    float q_scale;             /* applied to the queries; kq scale is 1 */
    float softcap;             /* final logit soft-capping (0: none) */
} gemma3_weights;

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
    void *layers;
    gemma3_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(gemma3_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;
    if (softcap < 0)
        return lf_fail(err, "gemma3: final_logit_softcapping %g is negative", softcap);
    w->softcap = (float)softcap;
    /* Gemma 3 27B (62 layers) scales queries by 1/sqrt(n_embd / n_head). */
    w->q_scale = hp->n_layer == 62 ? 1.0f / sqrtf((float)(hp->n_embd / hp->n_head))
                                   : 1.0f / sqrtf((float)hp->head_dim_k);
    if (!read_swa(m, w, err))
        return false;

    int64_t E = hp->n_embd;
    if (!lf_io_bind(m, &w->io, false, err))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++) {
        gemma3_layer *L = &w->layers[i];
        long long li = (long long)i;
        if (!lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", li) ||
            !lf_attn_bind(m, &L->attn, i, hp->n_head, hp->n_head_kv,
                          LF_ATTN_MAYBE_FUSED | LF_ATTN_QKV_BIAS | LF_ATTN_QK_NORM, err) ||
            !lf_model_f32(m, &L->post_attn_norm, true, E, err, "blk.%lld.post_attention_norm.weight", li) ||
            !lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", li) ||
            !lf_ffn_bind(m, &L->ffn, i, "", hp->n_ff, false, err) ||
            !lf_model_f32(m, &L->post_ffn_norm, true, E, err, "blk.%lld.post_ffw_norm.weight", li))
            return false;
        w->any_fused |= L->attn.wqkv.data != NULL;
    }
    return true;
}

/* Sliding-window layers keep only their window in the KV cache. */
static void gemma3_kv_window(const lf_model *m, int32_t *window) {
    const gemma3_weights *w = m->weights;
    for (int64_t l = 0; l < m->hp.n_layer; l++)
        window[l] = w->layers[l].swa ? w->n_swa : 0;
}

/* h += rms_norm(x) * w, row by row (x is overwritten). */
static void add_normed(float *h, float *x, const float *w, int64_t T, int64_t E, float eps) {
    for (int64_t t = 0; t < T; t++) {
        lf_rms_norm(x + t * E, x + t * E, w, E, eps);
        for (int64_t i = 0; i < E; i++)
            h[t * E + i] += x[t * E + i];
    }
}

static bool gemma3_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    const lf_model *m = c->model;
    const lf_hparams *hp = &m->hp;
    const gemma3_weights *w = m->weights;
    int64_t T = b->n, E = hp->n_embd;
    lf_attn_opts ao = {.ap = lf_attn_heads(hp), .q_scale = w->q_scale};
    ao.ap.scale = 1.0f;

    enum { H_, X_, ATT_, FFN_, NBUF };
    float *buf[NBUF];
    size_t sizes[NBUF] = {
        [H_] = T * E, [X_] = T * E, [ATT_] = lf_attn_work_floats(&ao.ap, T, w->any_fused),
        [FFN_] = lf_ffn_work_floats(T, hp->n_ff),
    };
    if (!lf_ctx_buffers(c, NBUF, sizes, buf, err))
        return false;
    float *h = buf[H_], *x = buf[X_];

    if (!lf_embed(&w->io, b, E, sqrtf((float)E), h, err))
        return false;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        if (lf_ctx_cancelled(c, err))
            return false;
        const gemma3_layer *L = &w->layers[l];
        ao.layer = (int)l;
        ao.rope = L->swa ? &w->rope_swa : &hp->rope;
        ao.ap.n_swa = L->swa ? w->n_swa : 0;

        /* attention: per-head QK-norm, NEOX RoPE, queries pre-scaled */
        lf_rms_norm_rows(x, h, L->attn_norm, T, E, hp->eps);
        if (!lf_attn_block(c, b, &L->attn, &ao, x, x, buf[ATT_], sizes[ATT_], err))
            return false;
        add_normed(h, x, L->post_attn_norm, T, E, hp->eps);

        /* feed-forward: GeGLU between two norms */
        lf_rms_norm_rows(x, h, L->ffn_norm, T, E, hp->eps);
        if (!lf_ffn_block(c, &L->ffn, LF_GEGLU, x, T, x, buf[FFN_], sizes[FFN_], err))
            return false;
        add_normed(h, x, L->post_ffn_norm, T, E, hp->eps);
    }

    /* output head, only for the tokens whose logits are wanted, soft-capped */
    int64_t n_out;
    if (!lf_output(c, b, &w->io, h, x, &n_out, err))
        return false;
    if (n_out && w->softcap > 0)
        lf_softcap(b->logits, n_out * hp->n_vocab, w->softcap);
    return true;
}

static void gemma3_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    const gemma3_weights *w = m->weights;
    *out = (lf_kv_rope){w->layers[layer].swa ? &w->rope_swa : &m->hp.rope,
                        (int)m->hp.n_head_kv, (int)m->hp.head_dim_k};
}

const struct lf_arch lf_arch_gemma3 = {
    .name = "gemma3",
    .load = gemma3_load,
    .forward = gemma3_forward,
    .free_weights = lf_weights_free,
    .kv_window = gemma3_kv_window,
    .kv_rope = gemma3_kv_rope,
};
