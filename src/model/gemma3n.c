/* gemma3n.c — Gemma-3n's text decoder (E2B/E4B). spec/archs.md §4.
 *
 * What sets it apart from Gemma 3: the hidden state is four "AltUp" streams,
 * of which only stream 0 goes through each layer (the others are predicted
 * from it and corrected afterwards); a low-rank LAuReL branch beside
 * attention; per-layer token embeddings injected after every layer; Gaussian
 * top-k activation sparsity in the first FFNs; layers from 20 on reuse the
 * K/V of layer 18 (sliding) or 19 (global); final logit soft-capping.
 * llama.cpp hard-codes these constants rather than reading the GGUF. */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "model/blocks.h"
#include "tensor/activations.h"

enum {
    N_ALTUP = 4,          /* streams; stream 0 is the active one */
    N_PER_LAYER = 256,    /* per-layer input width */
    LAUREL_RANK = 64,
    KV_FROM_START = 20,   /* layers >= this keep no K/V of their own */
    SPARSE_LAYERS = 10,   /* layers with Gaussian top-k FFN sparsity */
    SWA_PERIOD = 5,       /* layer l is sliding-window iff l % 5 < 4 */
};
static const float SPARSITY_STD_MUL = 1.6448533535003662f; /* Phi^-1(0.95) */
static const float LOGIT_SOFTCAP = 30.0f;

typedef struct g3n_layer {
    const float *attn_norm, *post_attn_norm;
    const float *ffn_norm, *post_ffw_norm, *laurel_post_norm;
    const float *router_norm, *correct_scale, *post_norm;
    lf_attn_weights attn; /* q/k norms; no attn_k/v from KV_FROM_START on */
    lf_ffn_weights ffn;
    lf_weight laurel_l, laurel_r, router, predict_coef, correct_coef;
    lf_weight inp_gate, proj;
} g3n_layer;

typedef struct g3n_weights {
    lf_io_weights io;
    lf_weight pl_tok_embd, pl_model_proj, altup_proj, altup_unembd;
    const float *pl_proj_norm;
    lf_rope_params rope_swa, rope_global;
    int n_swa;
    g3n_layer *layers;
} g3n_weights;

static bool is_swa(int64_t l) { return l % SWA_PERIOD < SWA_PERIOD - 1; }

/* The layer whose K/V cache layer l attends to. */
static int64_t kv_owner(int64_t l) {
    if (l < KV_FROM_START)
        return l;
    return KV_FROM_START - (is_swa(l) ? 2 : 1);
}

/* ------------------------------------------------------------------ loading */

static bool load_layer(const lf_model *m, g3n_layer *L, int64_t i, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    int64_t E = hp->n_embd, P = N_PER_LAYER, A = N_ALTUP;
    unsigned attn = LF_ATTN_QK_NORM | (i < KV_FROM_START ? 0 : LF_ATTN_NO_KV);
    long long b = (long long)i;
    return lf_model_f32(m, &L->attn_norm, true, E, err, "blk.%lld.attn_norm.weight", b) &&
           lf_model_f32(m, &L->post_attn_norm, true, E, err, "blk.%lld.post_attention_norm.weight", b) &&
           lf_model_f32(m, &L->ffn_norm, true, E, err, "blk.%lld.ffn_norm.weight", b) &&
           lf_model_f32(m, &L->post_ffw_norm, true, E, err, "blk.%lld.post_ffw_norm.weight", b) &&
           lf_model_f32(m, &L->laurel_post_norm, true, E, err, "blk.%lld.laurel_post_norm.weight", b) &&
           lf_model_f32(m, &L->router_norm, true, E, err, "blk.%lld.altup_router_norm.weight", b) &&
           lf_model_f32(m, &L->correct_scale, true, E, err, "blk.%lld.altup_correct_scale.weight", b) &&
           lf_model_f32(m, &L->post_norm, true, E, err, "blk.%lld.post_norm.weight", b) &&
           lf_attn_bind(m, &L->attn, i, hp->n_head, hp->n_head_kv, attn, err) &&
           lf_ffn_bind(m, &L->ffn, i, "", hp->n_ff, false, err) &&
           lf_model_weight(m, &L->laurel_l, true, 2, (int64_t[]){E, LAUREL_RANK}, err, "blk.%lld.laurel_l.weight", b) &&
           lf_model_weight(m, &L->laurel_r, true, 2, (int64_t[]){LAUREL_RANK, E}, err, "blk.%lld.laurel_r.weight", b) &&
           lf_model_weight(m, &L->router, true, 2, (int64_t[]){E, A}, err, "blk.%lld.altup_router.weight", b) &&
           lf_model_weight(m, &L->predict_coef, true, 2, (int64_t[]){A, A * A}, err, "blk.%lld.altup_predict_coef.weight", b) &&
           lf_model_weight(m, &L->correct_coef, true, 2, (int64_t[]){A, A}, err, "blk.%lld.altup_correct_coef.weight", b) &&
           lf_model_weight(m, &L->inp_gate, true, 2, (int64_t[]){E, P}, err, "blk.%lld.inp_gate.weight", b) &&
           lf_model_weight(m, &L->proj, true, 2, (int64_t[]){P, E}, err, "blk.%lld.proj.weight", b);
}

static bool g3n_load(lf_model *m, lf_error *err) {
    if (!lf_model_common_hparams(m, err))
        return false;
    lf_hparams *hp = &m->hp;
    if (!lf_model_int(m, "feed_forward_length", true, 0, &hp->n_ff, err))
        return false;
    if (hp->n_ff < 2)
        return lf_fail(err, "gemma3n: feed_forward_length %lld is too small", (long long)hp->n_ff);
    if (hp->head_dim_k != hp->head_dim_v || hp->n_rot != hp->head_dim_k)
        return lf_fail(err, "gemma3n: key_length, value_length and rope.dimension_count must agree");
    int64_t n_swa;
    double base_swa;
    if (!lf_model_int(m, "attention.sliding_window", true, 0, &n_swa, err) ||
        !lf_model_float(m, "rope.freq_base_swa", false, 10000.0, &base_swa, err))
        return false;
    if (n_swa <= 0 || n_swa > (1 << 30))
        return lf_fail(err, "gemma3n: attention.sliding_window %lld is out of range", (long long)n_swa);

    void *layers;
    g3n_weights *w = lf_weights_alloc(m, sizeof(*w), sizeof(g3n_layer), &layers, err);
    if (!w)
        return false;
    w->layers = layers;
    w->n_swa = (int)n_swa;
    hp->rope.mode = LF_ROPE_NEOX;
    w->rope_global = hp->rope;
    w->rope_swa = hp->rope;
    w->rope_swa.freq_base = (float)base_swa;
    w->rope_swa.freq_scale = 1.0f;

    int64_t E = hp->n_embd, V = hp->n_vocab, PL = N_PER_LAYER * hp->n_layer;
    if (!lf_io_bind(m, &w->io, false, err) ||
        !lf_model_weight(m, &w->pl_tok_embd, true, 2, (int64_t[]){PL, V}, err, "per_layer_token_embd.weight") ||
        !lf_model_weight(m, &w->pl_model_proj, true, 2, (int64_t[]){E, PL}, err, "per_layer_model_proj.weight") ||
        !lf_model_f32(m, &w->pl_proj_norm, true, N_PER_LAYER, err, "per_layer_proj_norm.weight") ||
        !lf_model_weight(m, &w->altup_proj, true, 3, (int64_t[]){E, E, N_ALTUP - 1}, err, "altup_proj.weight") ||
        !lf_model_weight(m, &w->altup_unembd, true, 3, (int64_t[]){E, E, N_ALTUP - 1}, err, "altup_unembd_proj.weight"))
        return false;
    for (int64_t i = 0; i < hp->n_layer; i++)
        if (!load_layer(m, &w->layers[i], i, err))
            return false;
    return true;
}

/* Layers from KV_FROM_START on read an earlier layer's cache. */
static void g3n_kv_rows(const lf_model *m, int64_t *k_row, int64_t *v_row) {
    for (int64_t l = KV_FROM_START; l < m->hp.n_layer; l++)
        k_row[l] = v_row[l] = 0;
}

static void g3n_kv_window(const lf_model *m, int32_t *window) {
    const g3n_weights *w = m->weights;
    for (int64_t l = 0; l < m->hp.n_layer; l++)
        window[l] = is_swa(l) ? w->n_swa : 0;
}

/* ------------------------------------------------------------------ small ops */

/* L2 norm of a row (squares summed in double, like ggml's sum_rows). */
static float magnitude(const float *x, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)(x[i] * x[i]);
    return sqrtf((float)s);
}

static void scale(float *x, int64_t n, float s) {
    for (int64_t i = 0; i < n; i++)
        x[i] *= s;
}

/* Gaussian top-k: keeps what exceeds mean + 1.645 std (sample std), shifted
 * down by that cutoff. */
static void gaussian_topk(float *g, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += g[i];
    float mean = (float)s / (float)n;
    double ss = 0;
    for (int64_t i = 0; i < n; i++) {
        float dlt = g[i] - mean;
        ss += (double)(dlt * dlt);
    }
    float std = sqrtf((float)ss * (1.0f / (float)(n - 1)));
    float cutoff = mean + std * SPARSITY_STD_MUL;
    for (int64_t i = 0; i < n; i++)
        g[i] = fmaxf(g[i] - cutoff, 0.0f);
}

/* ------------------------------------------------------------------ forward */

typedef struct g3n_bufs {
    float *s[N_ALTUP];    /* the streams, each [T][E] */
    float *pred[N_ALTUP]; /* AltUp predictions, each [T][E] */
    float *pl;            /* per-layer inputs [T][L*P] */
    float *row;           /* one row of L*P */
    float *x, *lau, *tmp; /* [T][E] */
    float *att;           /* lf_attn_block's work, att_floats of it */
    size_t att_floats;
    float *g, *u;
    float *r, *coef, *lr, *pg;
} g3n_bufs;

static bool get_buffers(lf_context *c, int64_t T, g3n_bufs *B, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    int64_t E = hp->n_embd, F = hp->n_ff, PL = N_PER_LAYER * hp->n_layer;
    lf_attn_params ap = lf_attn_heads(hp);
    enum { S0, P0 = S0 + N_ALTUP, PLB = P0 + N_ALTUP, ROW, X, LAU, TMP, ATT, G, U, R, CO, LR, PG, NBUF };
    size_t sz[NBUF];
    for (int i = 0; i < N_ALTUP; i++)
        sz[S0 + i] = sz[P0 + i] = (size_t)(T * E);
    sz[PLB] = (size_t)(T * PL);
    sz[ROW] = (size_t)PL;
    sz[X] = sz[LAU] = sz[TMP] = (size_t)(T * E);
    sz[ATT] = lf_attn_work_floats(&ap, T, false);
    sz[G] = sz[U] = (size_t)(T * F);
    sz[R] = (size_t)(T * N_ALTUP);
    sz[CO] = (size_t)(T * N_ALTUP * N_ALTUP);
    sz[LR] = (size_t)(T * LAUREL_RANK);
    sz[PG] = (size_t)(T * N_PER_LAYER);
    float *b[NBUF];
    if (!lf_ctx_buffers(c, NBUF, sz, b, err))
        return false;
    for (int i = 0; i < N_ALTUP; i++)
        B->s[i] = b[S0 + i], B->pred[i] = b[P0 + i];
    B->pl = b[PLB], B->row = b[ROW], B->x = b[X], B->lau = b[LAU], B->tmp = b[TMP];
    B->att = b[ATT], B->att_floats = sz[ATT], B->g = b[G], B->u = b[U];
    B->r = b[R], B->coef = b[CO], B->lr = b[LR], B->pg = b[PG];
    return true;
}

/* Scaled token embeddings into stream 0, the per-layer inputs, and the
 * other three streams projected from stream 0 at its magnitude. */
static bool embed(lf_context *c, const lf_ubatch *b, g3n_bufs *B, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    const g3n_weights *w = c->model->weights;
    int64_t T = b->n, E = hp->n_embd, P = N_PER_LAYER, NL = hp->n_layer, PL = P * NL;
    float *s0 = B->s[0];
    if (!lf_embed(&w->io, b, E, sqrtf((float)E), s0, err))
        return false;
    if (!lf_matmul(c->pool, &c->mm, B->pl, &w->pl_model_proj, 0, s0, T, err))
        return false;
    for (int64_t t = 0; t < T; t++) {
        float *pl = B->pl + t * PL;
        if (!lf_weight_row(&w->pl_tok_embd, b->token[t], B->row, err))
            return false;
        scale(pl, PL, 1.0f / sqrtf((float)E));
        lf_rms_norm_rows(pl, pl, w->pl_proj_norm, NL, P, hp->eps);
        for (int64_t i = 0; i < PL; i++)
            pl[i] = (pl[i] + B->row[i] * sqrtf((float)P)) * (1.0f / sqrtf(2.0f));
    }
    for (int k = 1; k < N_ALTUP; k++) {
        if (!lf_matmul(c->pool, &c->mm, B->s[k], &w->altup_proj, k - 1, s0, T, err))
            return false;
        for (int64_t t = 0; t < T; t++) {
            float *sk = B->s[k] + t * E, want = magnitude(s0 + t * E, E), have = magnitude(sk, E);
            for (int64_t i = 0; i < E; i++)
                sk[i] = sk[i] * want / have;
        }
    }
    return true;
}

/* out[t] = tanh(router · (rms_norm(x[t]) * router_norm / E)), A values per
 * token; scratch ([T][E]) gets the normed rows. */
static bool router(lf_context *c, const g3n_layer *L, const float *x, int64_t T, float *scratch,
                   float *out, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    int64_t E = hp->n_embd;
    for (int64_t t = 0; t < T; t++) {
        lf_rms_norm(scratch + t * E, x + t * E, L->router_norm, E, hp->eps);
        scale(scratch + t * E, E, 1.0f / (float)E);
    }
    if (!lf_matmul(c->pool, &c->mm, out, &L->router, 0, scratch, T, err))
        return false;
    for (int64_t i = 0; i < T * N_ALTUP; i++)
        out[i] = tanhf(out[i]);
    return true;
}

/* pred_j = s_j + sum_k coef[A*j + k] * s_k, coefficients from the router. */
static bool altup_predict(lf_context *c, const g3n_layer *L, int64_t T, g3n_bufs *B, lf_error *err) {
    int64_t E = c->model->hp.n_embd;
    if (!router(c, L, B->s[0], T, B->x, B->r, err) ||
        !lf_matmul(c->pool, &c->mm, B->coef, &L->predict_coef, 0, B->r, T, err))
        return false;
    for (int64_t t = 0; t < T; t++) {
        const float *co = B->coef + t * N_ALTUP * N_ALTUP;
        for (int j = 0; j < N_ALTUP; j++) {
            float *p = B->pred[j] + t * E;
            for (int64_t i = 0; i < E; i++) {
                float acc = 0;
                for (int k = 0; k < N_ALTUP; k++)
                    acc += B->s[k][t * E + i] * co[N_ALTUP * j + k];
                p[i] = acc + B->s[j][t * E + i];
            }
        }
    }
    return true;
}

/* Attention of layer l on the normed active prediction x; writes Wo·attn to
 * out. V gets a plain RMS norm; layers from KV_FROM_START on compute no K/V
 * and read the cache of kv_owner(l). */
static bool attention(lf_context *c, const lf_ubatch *b, int64_t l, const float *x, float *out,
                      g3n_bufs *B, lf_error *err) {
    const lf_model *m = c->model;
    const g3n_weights *w = m->weights;
    lf_attn_opts ao = {
        .layer = (int)l, .kv_layer = (int)kv_owner(l), .ap = lf_attn_heads(&m->hp),
        .rope = is_swa(l) ? &w->rope_swa : &w->rope_global, .v_norm = true,
    };
    ao.ap.scale = 1.0f;
    ao.ap.n_swa = is_swa(l) ? w->n_swa : 0;
    return lf_attn_block(c, b, &w->layers[l].attn, &ao, x, out, B->att, B->att_floats, err);
}

/* out = rms_norm(down(gelu(gate·x) * up·x)) * post_ffw_norm, with Gaussian
 * top-k on the gate in the first layers. */
static bool ffn(lf_context *c, int64_t l, int64_t T, const float *x, float *out, g3n_bufs *B,
                lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    const g3n_layer *L = &((const g3n_weights *)c->model->weights)->layers[l];
    int64_t F = hp->n_ff;
    if (!lf_matmul(c->pool, &c->mm, B->u, &L->ffn.up, 0, x, T, err) ||
        !lf_matmul(c->pool, &c->mm, B->g, &L->ffn.gate, 0, x, T, err))
        return false;
    for (int64_t t = 0; t < T; t++) {
        float *g = B->g + t * F, *u = B->u + t * F;
        if (l < SPARSE_LAYERS)
            gaussian_topk(g, F);
        lf_geglu(g, u, F);
    }
    if (!lf_matmul(c->pool, &c->mm, out, &L->ffn.down, 0, B->g, T, err))
        return false;
    lf_rms_norm_rows(out, out, L->post_ffw_norm, T, hp->n_embd, hp->eps);
    return true;
}

/* AltUp correction from the layer output o, then the per-layer input
 * injected into streams 1..3. */
static bool altup_correct(lf_context *c, int64_t l, int64_t T, const float *o, g3n_bufs *B,
                          lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    const g3n_layer *L = &((const g3n_weights *)c->model->weights)->layers[l];
    int64_t E = hp->n_embd, P = N_PER_LAYER, PL = P * hp->n_layer;
    if (!router(c, L, o, T, B->x, B->r, err) ||
        !lf_matmul(c->pool, &c->mm, B->coef, &L->correct_coef, 0, B->r, T, err))
        return false;
    for (int64_t t = 0; t < T; t++)
        for (int j = 0; j < N_ALTUP; j++) {
            float cc = B->coef[t * N_ALTUP + j] + 1.0f;
            const float *p0 = B->pred[0] + t * E, *pj = B->pred[j] + t * E;
            float *sj = B->s[j] + t * E;
            for (int64_t i = 0; i < E; i++)
                sj[i] = (o[t * E + i] - p0[i]) * cc + pj[i];
        }
    float *x = B->x;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < E; i++)
            x[t * E + i] = B->s[0][t * E + i] * L->correct_scale[i];
    if (!lf_matmul(c->pool, &c->mm, B->pg, &L->inp_gate, 0, x, T, err))
        return false;
    for (int64_t t = 0; t < T; t++)
        lf_geglu(B->pg + t * P, B->pl + t * PL + l * P, P);
    if (!lf_matmul(c->pool, &c->mm, x, &L->proj, 0, B->pg, T, err))
        return false;
    lf_rms_norm_rows(x, x, L->post_norm, T, E, hp->eps);
    for (int j = 1; j < N_ALTUP; j++)
        for (int64_t i = 0; i < T * E; i++)
            B->s[j][i] += x[i];
    return true;
}

static bool layer(lf_context *c, const lf_ubatch *b, int64_t l, g3n_bufs *B, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    const g3n_layer *L = &((const g3n_weights *)c->model->weights)->layers[l];
    int64_t T = b->n, E = hp->n_embd;
    if (!altup_predict(c, L, T, B, err))
        return false;
    float *x = B->x, *lau = B->lau, *tmp = B->tmp, *a = B->pred[0];
    lf_rms_norm_rows(x, a, L->attn_norm, T, E, hp->eps);

    /* LAuReL: x + norm(right · left · x) */
    if (!lf_matmul(c->pool, &c->mm, B->lr, &L->laurel_l, 0, x, T, err) ||
        !lf_matmul(c->pool, &c->mm, lau, &L->laurel_r, 0, B->lr, T, err))
        return false;
    lf_rms_norm_rows(lau, lau, L->laurel_post_norm, T, E, hp->eps);
    for (int64_t i = 0; i < T * E; i++)
        lau[i] += x[i];

    if (!attention(c, b, l, x, tmp, B, err))
        return false;
    lf_rms_norm_rows(tmp, tmp, L->post_attn_norm, T, E, hp->eps);
    for (int64_t i = 0; i < T * E; i++)
        lau[i] = (tmp[i] + a[i] + lau[i]) * (1.0f / sqrtf(2.0f));

    lf_rms_norm_rows(x, lau, L->ffn_norm, T, E, hp->eps);
    if (!ffn(c, l, T, x, tmp, B, err))
        return false;
    for (int64_t i = 0; i < T * E; i++)
        tmp[i] += lau[i];
    return altup_correct(c, l, T, tmp, B, err);
}

/* Streams 1..3 unembedded to stream 0's magnitude, averaged with it, then
 * the output norm, head and soft-cap, for the tokens whose logits are wanted
 * (an embeddings context stops after the norm, as lf_output does). */
static bool output(lf_context *c, const lf_ubatch *b, g3n_bufs *B, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    const g3n_weights *w = c->model->weights;
    int64_t E = hp->n_embd, V = hp->n_vocab, n_out = 0;
    float *acc = B->lau, *x = B->x, *u = B->tmp, *target = B->r;
    for (int64_t t = 0; t < b->n; t++)
        if (b->want && b->want[t]) {
            target[n_out] = magnitude(B->s[0] + t * E, E);
            memcpy(acc + n_out++ * E, B->s[0] + t * E, sizeof(float) * (size_t)E);
        }
    if (!n_out)
        return true;
    for (int k = 1; k < N_ALTUP; k++) {
        for (int64_t t = 0, o = 0; t < b->n; t++)
            if (b->want[t])
                memcpy(x + o++ * E, B->s[k] + t * E, sizeof(float) * (size_t)E);
        if (!lf_matmul(c->pool, &c->mm, u, &w->altup_unembd, k - 1, x, n_out, err))
            return false;
        for (int64_t o = 0; o < n_out; o++) {
            float *uo = u + o * E, have = magnitude(uo, E);
            for (int64_t i = 0; i < E; i++)
                acc[o * E + i] += uo[i] * target[o] / have;
        }
    }
    for (int64_t o = 0; o < n_out; o++) {
        scale(acc + o * E, E, 1.0f / N_ALTUP);
        lf_rms_norm((b->embd ? b->embd : x) + o * E, acc + o * E, w->io.output_norm, E,
                    hp->eps);
    }
    if (b->embd) /* an embeddings context: the normed rows, no head or soft-cap */
        return true;
    if (!lf_matmul(c->pool, &c->mm, b->logits, &w->io.output, 0, x, n_out, err))
        return false;
    lf_softcap(b->logits, n_out * V, LOGIT_SOFTCAP);
    return true;
}

static bool g3n_forward(lf_context *c, const lf_ubatch *b, lf_error *err) {
    g3n_bufs B;
    if (!get_buffers(c, b->n, &B, err) || !embed(c, b, &B, err))
        return false;
    for (int64_t l = 0; l < c->model->hp.n_layer; l++)
        if (lf_ctx_cancelled(c, err) || !layer(c, b, l, &B, err))
            return false;
    return output(c, b, &B, err);
}

static void g3n_kv_rope(const lf_model *m, int layer, lf_kv_rope *out) {
    const g3n_weights *w = m->weights;
    *out = (lf_kv_rope){is_swa(layer) ? &w->rope_swa : &w->rope_global,
                        (int)m->hp.n_head_kv, (int)m->hp.head_dim_k};
}

const struct lf_arch lf_arch_gemma3n = {
    .name = "gemma3n",
    .load = g3n_load,
    .forward = g3n_forward,
    .free_weights = lf_weights_free,
    .kv_rows = g3n_kv_rows,
    .kv_window = g3n_kv_window,
    .kv_rope = g3n_kv_rope,
};
