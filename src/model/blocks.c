/* blocks.c — the steps transformer architecture files share (blocks.h). */
#include "model/blocks.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "tensor/activations.h"
#include "tensor/types.h"

/* ------------------------------------------------------------ float helpers */

void lf_add(float *h, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        h[i] += x[i];
}

void lf_add_rows(float *x, const float *b, int64_t n_rows, int64_t n) {
    if (!b)
        return;
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t i = 0; i < n; i++)
            x[r * n + i] += b[i];
}

void lf_rms_norm_rows(float *y, const float *x, const float *w, int64_t n_rows, int64_t n,
                      float eps) {
    for (int64_t r = 0; r < n_rows; r++)
        lf_rms_norm(y + r * n, x + r * n, w, n, eps);
}

/* Splits work into consecutive buffers of the given float counts (rounded
 * to 16 floats, as lf_ctx_buffers does). */
static void carve(float *work, int count, const size_t *floats, float **bufs) {
    for (int i = 0; i < count; i++) {
        bufs[i] = work;
        work += (floats[i] + 15) & ~(size_t)15;
    }
}

static size_t carved_floats(int count, const size_t *floats) {
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += (floats[i] + 15) & ~(size_t)15;
    return total;
}

/* ------------------------------------------------------------ weight block */

void *lf_weights_alloc(lf_model *m, size_t size, size_t layer_size, void **layers,
                       lf_error *err) {
    size_t head = (size + 63) & ~(size_t)63, n = (size_t)m->hp.n_layer;
    char *p = NULL;
    if (m->hp.n_layer >= 0 && (!layer_size || n <= (SIZE_MAX - head) / layer_size))
        p = lf_calloc(1, head + n * layer_size);
    if (!p) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    *layers = p + head;
    m->weights = p;
    m->weights_size = head + n * layer_size;
    return p;
}

void lf_weights_free(lf_model *m) {
    free(m->weights);
    m->weights = NULL;
    m->weights_size = 0;
}

bool lf_model_f32_nd(lf_model *m, const float **out, bool required, int n_dims,
                     const int64_t *ne, lf_error *err, const char *fmt, ...) {
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    lf_weight W;
    *out = NULL;
    if (!lf_model_weight(m, &W, required, n_dims, ne, err, "%s", name))
        return false;
    if (!W.data)
        return true;
    if (W.type == LF_TYPE_F32 && ((uintptr_t)W.data & 3) == 0) {
        *out = W.data;
        return true;
    }
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++)
        n *= ne[d];
    const lf_type_traits *tt = lf_type_traits_of(W.type);
    if (!tt || !tt->to_float || n % lf_type_block_size(W.type))
        return lf_fail(err, "tensor '%s': type %s is not supported here", name,
                       lf_type_name(W.type));
    void **owned = lf_realloc(m->owned, sizeof(void *) * (size_t)(m->n_owned + 1));
    float *copy = lf_malloc(sizeof(float) * (size_t)n);
    if (owned)
        m->owned = owned;
    if (!owned || !copy) {
        free(copy);
        return lf_fail(err, "out of memory converting tensor '%s'", name);
    }
    m->owned[m->n_owned++] = copy;
    tt->to_float(W.data, copy, n);
    *out = copy;
    return true;
}

/* ------------------------------------------------------------ embeddings, output */

bool lf_io_bind(const lf_model *m, lf_io_weights *io, bool output_required, lf_error *err) {
    int64_t E = m->hp.n_embd, V = m->hp.n_vocab;
    if (!lf_model_weight(m, &io->tok_embd, true, 2, (int64_t[]){E, V}, err, "token_embd.weight") ||
        !lf_model_f32(m, &io->output_norm, true, E, err, "output_norm.weight") ||
        !lf_model_weight(m, &io->output, output_required, 2, (int64_t[]){E, V}, err,
                         "output.weight"))
        return false;
    if (!io->output.data)
        lf_model_weight_tie((lf_model *)m, &io->output, &io->tok_embd);
    return true;
}

bool lf_embed(const lf_io_weights *io, const lf_ubatch *b, int64_t n_embd, float scale, float *h,
              lf_error *err) {
    for (int64_t t = 0; t < b->n; t++) {
        float *ht = h + t * n_embd;
        if (!lf_weight_row(&io->tok_embd, b->token[t], ht, err))
            return false;
        if (scale != 0.0f)
            for (int64_t i = 0; i < n_embd; i++)
                ht[i] *= scale;
    }
    return true;
}

bool lf_output(lf_context *c, const lf_ubatch *b, const lf_io_weights *io, const float *h,
               float *x, int64_t *n_out, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    int64_t E = hp->n_embd, n = 0;
    float *y = b->embd ? b->embd : x; /* embeddings: the normed rows are the output */
    for (int64_t t = 0; t < b->n; t++)
        if (b->want && b->want[t])
            lf_rms_norm(y + n++ * E, h + t * E, io->output_norm, E, hp->eps);
    if (b->embd)
        n = 0; /* no logits rows for the caller's logit-only steps (soft-cap, scale) */
    if (n_out)
        *n_out = n;
    return !n || lf_matmul(c->pool, &c->mm, b->logits, &io->output, 0, x, n, err);
}

/* ------------------------------------------------------------ attention */

bool lf_attn_bind(const lf_model *m, lf_attn_weights *A, int64_t layer, int64_t n_head,
                  int64_t n_head_kv, unsigned flags, lf_error *err) {
    const lf_hparams *hp = &m->hp;
    int64_t E = hp->n_embd, d = hp->head_dim_k, Q = n_head * d, K = n_head_kv * d;
    int64_t V = n_head_kv * hp->head_dim_v, O = n_head * hp->head_dim_v;
    long long i = (long long)layer;
    bool qkv_bias = flags & LF_ATTN_QKV_BIAS;
    if ((flags & (LF_ATTN_FUSED | LF_ATTN_MAYBE_FUSED)) &&
        !lf_model_weight(m, &A->wqkv, flags & LF_ATTN_FUSED, 2, (int64_t[]){E, Q + K + V}, err,
                         "blk.%lld.attn_qkv.weight", i))
        return false;
    if (A->wqkv.data) {
        if (qkv_bias &&
            !lf_model_f32(m, &A->bqkv, false, Q + K + V, err, "blk.%lld.attn_qkv.bias", i))
            return false;
    } else {
        bool kv = !(flags & LF_ATTN_NO_KV);
        if (!lf_model_weight(m, &A->wq, true, 2, (int64_t[]){E, Q}, err, "blk.%lld.attn_q.weight", i) ||
            (kv && !lf_model_weight(m, &A->wk, true, 2, (int64_t[]){E, K}, err, "blk.%lld.attn_k.weight", i)) ||
            (kv && !lf_model_weight(m, &A->wv, true, 2, (int64_t[]){E, V}, err, "blk.%lld.attn_v.weight", i)) ||
            (qkv_bias && (!lf_model_f32(m, &A->bq, false, Q, err, "blk.%lld.attn_q.bias", i) ||
                          !lf_model_f32(m, &A->bk, false, K, err, "blk.%lld.attn_k.bias", i) ||
                          !lf_model_f32(m, &A->bv, false, V, err, "blk.%lld.attn_v.bias", i))))
            return false;
    }
    bool out_bias = flags & (LF_ATTN_OUT_BIAS | LF_ATTN_OUT_BIAS_REQ);
    return lf_model_weight(m, &A->wo, true, 2, (int64_t[]){O, E}, err, "blk.%lld.attn_output.weight", i) &&
           (!out_bias || lf_model_f32(m, &A->bo, flags & LF_ATTN_OUT_BIAS_REQ, E, err,
                                      "blk.%lld.attn_output.bias", i)) &&
           (!(flags & LF_ATTN_QK_NORM) ||
            (lf_model_f32(m, &A->q_norm, true, d, err, "blk.%lld.attn_q_norm.weight", i) &&
             lf_model_f32(m, &A->k_norm, true, d, err, "blk.%lld.attn_k_norm.weight", i)));
}

lf_attn_params lf_attn_heads(const lf_hparams *hp) {
    return (lf_attn_params){
        .n_head = (int)hp->n_head, .n_head_kv = (int)hp->n_head_kv,
        .head_dim_k = (int)hp->head_dim_k, .head_dim_v = (int)hp->head_dim_v,
        .scale = 1.0f / sqrtf((float)hp->head_dim_k),
    };
}

enum { AQ, AK, AV, AA, AQKV, N_ATTN_BUF };

static void attn_sizes(const lf_attn_params *ap, int64_t T, bool fused, size_t *sz) {
    int64_t Q = (int64_t)ap->n_head * ap->head_dim_k, K = (int64_t)ap->n_head_kv * ap->head_dim_k;
    int64_t V = (int64_t)ap->n_head_kv * ap->head_dim_v;
    sz[AQ] = (size_t)(T * Q);
    sz[AK] = (size_t)(T * K);
    sz[AV] = (size_t)(T * V);
    sz[AA] = (size_t)(T * ap->n_head * ap->head_dim_v);
    sz[AQKV] = fused ? (size_t)(T * (Q + K + V)) : 0;
}

size_t lf_attn_work_floats(const lf_attn_params *ap, int64_t T, bool fused) {
    size_t sz[N_ATTN_BUF];
    attn_sizes(ap, T, fused, sz);
    return carved_floats(N_ATTN_BUF, sz);
}

/* q, k, v = the projections of x (T rows), from separate or fused weights. */
static bool project_qkv(lf_context *c, const lf_attn_weights *A, const float *x, int64_t T,
                        int64_t Q, int64_t K, int64_t V, float *qkv, float *q, float *k,
                        float *v, lf_error *err) {
    if (!A->wqkv.data) {
        float *out[3] = {q, k, v};
        const lf_weight *W[3] = {&A->wq, &A->wk, &A->wv};
        if (!lf_matmul_many(c->pool, &c->mm, A->wk.data ? 3 : 1, out, W, x, T, err))
            return false;
        lf_add_rows(q, A->bq, T, Q);
        lf_add_rows(k, A->bk, T, K);
        lf_add_rows(v, A->bv, T, V);
        return true;
    }
    if (!lf_matmul(c->pool, &c->mm, qkv, &A->wqkv, 0, x, T, err))
        return false;
    lf_add_rows(qkv, A->bqkv, T, Q + K + V);
    for (int64_t t = 0; t < T; t++) {
        const float *r = qkv + t * (Q + K + V);
        memcpy(q + t * Q, r, sizeof(float) * (size_t)Q);
        memcpy(k + t * K, r + Q, sizeof(float) * (size_t)K);
        memcpy(v + t * V, r + Q + K, sizeof(float) * (size_t)V);
    }
    return true;
}

bool lf_attn_block(lf_context *c, const lf_ubatch *b, const lf_attn_weights *A,
                   const lf_attn_opts *o, const float *x, float *out, float *work,
                   size_t work_floats, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    const lf_attn_params *ap = &o->ap;
    int64_t T = b->n, H = ap->n_head, Hkv = ap->n_head_kv, dk = ap->head_dim_k, dv = ap->head_dim_v;
    int64_t Q = H * dk, K = Hkv * dk, V = Hkv * dv;
    bool own_kv = A->wqkv.data || A->wk.data;
    size_t sz[N_ATTN_BUF];
    float *buf[N_ATTN_BUF];
    attn_sizes(ap, T, A->wqkv.data != NULL, sz);
    /* the products below write T rows of each weight's ne[1] floats */
    if ((A->wq.data && A->wq.ne[1] != Q) || (A->wk.data && A->wk.ne[1] != K) ||
        (A->wv.data && A->wv.ne[1] != V) || (A->wqkv.data && A->wqkv.ne[1] != Q + K + V) ||
        A->wo.ne[0] != H * dv || (own_kv && (K > c->kv.k_row || V > c->kv.v_row)))
        return lf_fail(err, "layer %d: attention tensors do not match %lld query and %lld KV "
                       "heads of %lld/%lld (or the KV cache rows)", o->layer, (long long)H,
                       (long long)Hkv, (long long)dk, (long long)dv);
    if (carved_floats(N_ATTN_BUF, sz) > work_floats)
        return lf_fail(err, "layer %d: attention needs %zu work floats, the buffer holds %zu",
                       o->layer, carved_floats(N_ATTN_BUF, sz), work_floats);
    carve(work, N_ATTN_BUF, sz, buf);
    float *q = buf[AQ], *k = buf[AK], *v = buf[AV], *a = buf[AA];

    if (!project_qkv(c, A, x, T, Q, K, V, buf[AQKV], q, k, v, err))
        return false;
    if (A->q_norm)
        lf_rms_norm_rows(q, q, A->q_norm, T * H, dk, hp->eps);
    if (own_kv && A->k_norm)
        lf_rms_norm_rows(k, k, A->k_norm, T * Hkv, dk, hp->eps);
    if (own_kv && o->v_norm)
        lf_rms_norm_rows(v, v, NULL, T * Hkv, dv, hp->eps);
    for (int64_t t = 0; t < T; t++) {
        float *qt = q + t * Q, *kt = k + t * K;
        if (o->rope) {
            lf_rope(qt, (int)H, (int)dk, b->pos[t], o->rope);
            if (own_kv)
                lf_rope(kt, (int)Hkv, (int)dk, b->pos[t], o->rope);
        }
        if (o->q_scale != 0.0f)
            for (int64_t i = 0; i < Q; i++)
                qt[i] *= o->q_scale;
        if (own_kv)
            lf_kvcache_store(&c->kv, o->layer, lf_kvcache_cell(&c->kv, o->layer, b->cells, T, t),
                             kt, v + t * V);
    }
    lf_attn_kv kv = lf_kvcache_view(&c->kv, own_kv ? o->layer : o->kv_layer);
    if (!lf_attention(c->pool, &c->attn, a, q, T, b->pos, b->seq, &kv, ap, err))
        return false;
    if (!lf_matmul(c->pool, &c->mm, out, &A->wo, 0, a, T, err))
        return false;
    lf_add_rows(out, A->bo, T, hp->n_embd);
    return true;
}

/* ------------------------------------------------------------ feed-forward */

bool lf_ffn_bind(const lf_model *m, lf_ffn_weights *F, int64_t layer, const char *suffix,
                 int64_t n_ff, bool biases, lf_error *err) {
    int64_t E = m->hp.n_embd;
    long long i = (long long)layer;
    return lf_model_weight(m, &F->gate, true, 2, (int64_t[]){E, n_ff}, err, "blk.%lld.ffn_gate%s.weight", i, suffix) &&
           lf_model_weight(m, &F->up, true, 2, (int64_t[]){E, n_ff}, err, "blk.%lld.ffn_up%s.weight", i, suffix) &&
           lf_model_weight(m, &F->down, true, 2, (int64_t[]){n_ff, E}, err, "blk.%lld.ffn_down%s.weight", i, suffix) &&
           (!biases ||
            (lf_model_f32(m, &F->gate_b, false, n_ff, err, "blk.%lld.ffn_gate%s.bias", i, suffix) &&
             lf_model_f32(m, &F->up_b, false, n_ff, err, "blk.%lld.ffn_up%s.bias", i, suffix) &&
             lf_model_f32(m, &F->down_b, false, E, err, "blk.%lld.ffn_down%s.bias", i, suffix)));
}

/* The gated activation (element-wise, so any split gives the same
 * numbers) over the pool: at prompt sizes it is a few percent of a layer. */
struct gate_job {
    float *g;
    const float *u;
    int64_t n;
    int act;
    lf_chunks chunks;
};

enum { GATE_CHUNK = 1 << 14 };

static void gate_worker(void *arg, int ith, int nth) {
    struct gate_job *j = arg;
    (void)ith, (void)nth;
    long c;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t i0 = (int64_t)c * GATE_CHUNK, n = j->n - i0 < GATE_CHUNK ? j->n - i0 : GATE_CHUNK;
        if (j->act == LF_GEGLU)
            lf_geglu(j->g + i0, j->u + i0, n);
        else
            lf_swiglu(j->g + i0, j->u + i0, n);
    }
}

static void gate(lf_pool *pool, int act, float *g, const float *u, int64_t n) {
    struct gate_job j = {g, u, n, act, {0}};
    lf_pool_chunks_init(&j.chunks, (long)((n + GATE_CHUNK - 1) / GATE_CHUNK));
    lf_pool_run(n > GATE_CHUNK ? pool : NULL, gate_worker, &j);
}

size_t lf_ffn_work_floats(int64_t T, int64_t n_ff) {
    size_t sz[2] = {(size_t)(T * n_ff), (size_t)(T * n_ff)};
    return carved_floats(2, sz);
}

bool lf_ffn_block(lf_context *c, const lf_ffn_weights *F, int act, const float *x, int64_t T,
                  float *out, float *work, size_t work_floats, lf_error *err) {
    int64_t n_ff = F->gate.ne[1];
    size_t sz[2] = {(size_t)(T * n_ff), (size_t)(T * n_ff)};
    if (F->up.ne[1] != n_ff || F->down.ne[0] != n_ff)
        return lf_fail(err, "feed-forward tensors disagree on the width (%lld, %lld, %lld)",
                       (long long)n_ff, (long long)F->up.ne[1], (long long)F->down.ne[0]);
    if (carved_floats(2, sz) > work_floats)
        return lf_fail(err, "the feed-forward needs %zu work floats, the buffer holds %zu",
                       carved_floats(2, sz), work_floats);
    float *buf[2];
    carve(work, 2, sz, buf);
    float *g = buf[0], *u = buf[1];
    float *gu[2] = {g, u};
    const lf_weight *GU[2] = {&F->gate, &F->up};
    if (!lf_matmul_many(c->pool, &c->mm, 2, gu, GU, x, T, err))
        return false;
    lf_add_rows(g, F->gate_b, T, n_ff);
    lf_add_rows(u, F->up_b, T, n_ff);
    gate(c->pool, act, g, u, T * n_ff);
    if (!lf_matmul(c->pool, &c->mm, out, &F->down, 0, g, T, err))
        return false;
    lf_add_rows(out, F->down_b, T, F->down.ne[1]);
    return true;
}
