/* context.c — the public context API: KV cache, thread pool, lf_decode
 * (split into ubatches of at most n_batch tokens, with its cancel hook) and
 * logits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"

/* About what a decode spends copying weights: on a 2-core VM, 25 ms steps
 * copied at half the rate of 100 ms ones, and one copy of it all stalled
 * the second token by up to a second. */
enum { STEP_MS = 100 };

lf_context_params lf_context_default_params(void) {
    return (lf_context_params){
        .n_ctx = 4096, .n_batch = 512, .n_threads = 0, .kv_type = LF_TYPE_F16, .n_seq_max = 1,
        .embeddings = false, .pooling_type = LF_POOLING_TYPE_UNSPECIFIED, .embd_normalize = 2,
    };
}

lf_context *lf_context_new(lf_model *m, const lf_context_params *p, lf_error *err) {
    if (!m->arch) {
        lf_fail(err, "the model was loaded for its vocabulary only");
        return NULL;
    }
    lf_context *c = lf_calloc(1, sizeof(*c));
    if (!c) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    c->model = m;
    c->params = *p;
    if (c->params.n_ctx <= 0)
        c->params.n_ctx = (int32_t)m->hp.n_ctx_train;
    if (c->params.n_batch <= 0)
        c->params.n_batch = 512;
    if (c->params.n_batch > c->params.n_ctx)
        c->params.n_batch = c->params.n_ctx;
    if (c->params.n_threads <= 0)
        c->params.n_threads = lf_physical_cores();
    if (c->params.n_seq_max == 0)
        c->params.n_seq_max = 1;
    if (c->params.n_seq_max > LF_KV_SEQ_MAX) {
        lf_fail(err, "n_seq_max %u is above the limit of %d sequences (a negative value cast "
                "to unsigned?)", c->params.n_seq_max, LF_KV_SEQ_MAX);
        goto fail;
    }
    if (c->params.n_threads > 512) {
        lf_fail(err, "%d threads is too many", c->params.n_threads);
        goto fail;
    }
    int64_t n_layer = m->hp.n_layer;
    int64_t *k_row = lf_malloc(sizeof(int64_t) * (size_t)n_layer);
    int64_t *v_row = lf_malloc(sizeof(int64_t) * (size_t)n_layer);
    bool ok = k_row && v_row;
    for (int64_t l = 0; ok && l < n_layer; l++) {
        k_row[l] = m->hp.n_head_kv * m->hp.head_dim_k;
        v_row[l] = m->hp.n_head_kv * m->hp.head_dim_v;
    }
    int32_t *window = lf_calloc((size_t)n_layer, sizeof(int32_t));
    ok = ok && window;
    if (ok && m->arch->kv_rows)
        m->arch->kv_rows(m, k_row, v_row);
    if (ok && m->arch->kv_window)
        m->arch->kv_window(m, window);
    lf_kvcache_layout layout = {
        .type = c->params.kv_type, .n_layer = (int)n_layer, .n_cells = c->params.n_ctx,
        .k_row = k_row, .v_row = v_row, .window = window, .n_batch = c->params.n_batch,
        .n_seq = (int32_t)c->params.n_seq_max,
    };
    ok = ok ? lf_kvcache_init_layout(&c->kv, &layout, err) : lf_fail(err, "out of memory");
    free(k_row);
    free(v_row);
    free(window);
    if (!ok)
        goto fail;
    /* threads beyond the CPUs available only take turns on them */
    int cpus = lf_available_cpus();
    if (!(c->pool = lf_pool_new(c->params.n_threads < cpus ? c->params.n_threads : cpus, err)))
        goto fail;
    if (m->arch->ctx_init && !m->arch->ctx_init(c, err))
        goto fail;
    if (!lf_embd_init(c, err))
        goto fail;
    return c;
fail:
    lf_context_free(c);
    return NULL;
}

void lf_context_free(lf_context *c) {
    if (!c)
        return;
    if (c->model->arch->ctx_free)
        c->model->arch->ctx_free(c);
    lf_pool_free(c->pool);
    lf_kvcache_free(&c->kv);
    lf_scratch_free(&c->mm);
    lf_scratch_free(&c->work);
    lf_scratch_free(&c->attn);
    free(c->logits);
    free(c->out_row);
    lf_embd_free(c);
    free(c);
}

int32_t lf_n_ctx(const lf_context *c) { return c->params.n_ctx; }
int32_t lf_n_threads(const lf_context *c) { return c->params.n_threads; }

static bool check_batch(const lf_context *c, const lf_batch *b, lf_error *err) {
    if (b->n_tokens <= 0)
        return lf_fail(err, "empty batch");
    if (!b->token || !b->pos || !b->seq_id)
        return lf_fail(err, "batch lacks tokens, positions or sequence ids");
    int32_t n_vocab = (int32_t)c->model->hp.n_vocab;
    for (int32_t i = 0; i < b->n_tokens; i++) {
        if (b->token[i] < 0 || b->token[i] >= n_vocab)
            return lf_fail(err, "batch entry %d: token %d is outside the vocabulary (0..%d)", i,
                           b->token[i], n_vocab - 1);
        if (b->pos[i] < 0)
            return lf_fail(err, "batch entry %d: negative position %d", i, b->pos[i]);
        if (b->seq_id[i] < 0 || (uint32_t)b->seq_id[i] >= c->params.n_seq_max)
            return lf_fail(err, "batch entry %d: sequence %d is outside 0..%u", i, b->seq_id[i],
                           c->params.n_seq_max - 1);
    }
    return true;
}

/* Makes room for the output rows (logits, or hidden states in an embeddings
 * context) of a batch of n tokens, n_out of them wanted. */
static bool reserve_outputs(lf_context *c, int32_t n, int32_t n_out, lf_error *err) {
    bool embd = c->params.embeddings;
    size_t width = (size_t)(embd ? c->model->hp.n_embd : c->model->hp.n_vocab);
    float **rows = embd ? &c->embd : &c->logits;
    if (n_out > c->out_cap) {
        float *l = lf_realloc(*rows, sizeof(float) * width * (size_t)n_out);
        if (!l)
            return lf_fail(err, "out of memory for %d output rows", n_out);
        *rows = l;
        c->out_cap = n_out;
    }
    if (n > c->batch_cap) {
        int32_t *r = lf_realloc(c->out_row, sizeof(int32_t) * (size_t)n);
        if (!r)
            return lf_fail(err, "out of memory");
        c->out_row = r;
        if (embd) {
            int8_t *w = lf_realloc(c->want_all, (size_t)n);
            if (!w)
                return lf_fail(err, "out of memory");
            memset(w, 1, (size_t)n);
            c->want_all = w;
        }
        c->batch_cap = n;
    }
    return true;
}

void lf_set_abort_callback(lf_context *c, lf_abort_fn fn, void *user) {
    c->abort_fn = fn;
    c->abort_user = user;
}

bool lf_ctx_cancelled(lf_context *c, lf_error *err) {
    if (!c->abort_fn || !c->abort_fn(c->abort_user))
        return false;
    lf_fail(err, "cancelled: the abort callback stopped the decode");
    return true;
}

bool lf_repack_step(lf_context *c) {
    return lf_model_pack_step(c->model, c->pool, STEP_MS) && !lf_model_pack_settled(c->model);
}

bool lf_decode(lf_context *c, const lf_batch *b, lf_error *err) {
    c->n_out = c->last_n = 0; /* a failed decode leaves no logits */
    if (c->seq_n)
        memset(c->seq_n, 0, sizeof(int32_t) * c->params.n_seq_max);
    if (!check_batch(c, b, err))
        return false;
    int32_t n = b->n_tokens, n_out = 0;
    if (!reserve_outputs(c, n, 0, err))
        return false;
    /* a pooled embeddings context outputs every token */
    const int8_t *want = c->seq_n ? c->want_all : b->logits;
    for (int32_t i = 0; i < n; i++)
        n_out += want && want[i];
    if (!reserve_outputs(c, n, n_out, err))
        return false;
    /* weights still to copy into memory (LF_REPACK_BACKGROUND), not before
     * the first decode: the first token does not wait for them */
    if (c->decoded)
        lf_model_pack_step(c->model, c->pool, STEP_MS);
    c->decoded = true;
    /* cells are placed per ubatch: a sliding-window group only holds one */
    int32_t *cells = lf_malloc(sizeof(int32_t) * (size_t)n * (size_t)c->kv.n_group);
    if (!cells)
        return lf_fail(err, "out of memory");
    bool embd = c->params.embeddings;
    size_t width = (size_t)(embd ? c->model->hp.n_embd : c->model->hp.n_vocab);
    int32_t nb = c->params.n_batch, placed = 0;
    bool ok = true;
    for (int32_t i0 = 0; ok && i0 < n; i0 += nb) {
        int32_t len = n - i0 < nb ? n - i0 : nb;
        int32_t *uc = cells + (size_t)i0 * (size_t)c->kv.n_group;
        if (lf_ctx_cancelled(c, err)) {
            ok = false;
            break;
        }
        if (!(ok = lf_kvcache_alloc(&c->kv, len, b->pos + i0, b->seq_id + i0, uc, err)))
            break;
        placed = i0 + len;
        lf_ubatch ub = {
            .n = len, .token = b->token + i0, .pos = b->pos + i0, .seq = b->seq_id + i0,
            .want = want ? want + i0 : NULL, .cells = uc,
            .logits = embd ? NULL : c->logits + (size_t)c->n_out * width,
            .embd = embd ? c->embd + (size_t)c->n_out * width : NULL,
        };
        bool entered = lf_model_weights_enter(c->model);
        ok = c->model->arch->forward(c, &ub, err);
        lf_model_weights_leave(c->model, entered);
        for (int32_t i = i0; i < i0 + len; i++)
            c->out_row[i] = want && want[i] ? c->n_out++ : -1;
    }
    /* drop this batch's tokens (cells a window evicted for it stay gone) */
    for (int32_t i0 = 0; !ok && i0 < placed; i0 += nb)
        lf_kvcache_release(&c->kv, placed - i0 < nb ? placed - i0 : nb,
                           cells + (size_t)i0 * (size_t)c->kv.n_group);
    free(cells);
    if (!ok)
        c->n_out = 0;
    c->last_n = ok ? n : 0;
    if (ok && embd)
        lf_embd_finish(c, b);
    return ok;
}

const float *lf_get_logits_ith(lf_context *c, int32_t i) {
    if (c->params.embeddings)
        return NULL;
    if (i < 0) {
        i += c->n_out;
        if (i < 0)
            return NULL;
        return c->logits + (size_t)i * (size_t)c->model->hp.n_vocab;
    }
    if (i >= c->last_n || c->out_row[i] < 0)
        return NULL;
    return c->logits + (size_t)c->out_row[i] * (size_t)c->model->hp.n_vocab;
}
