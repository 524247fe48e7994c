/* embeddings.c — an embeddings context's outputs: the pooling type (from
 * the params or the model's <arch>.pooling_type), pooling the hidden-state
 * rows of a decoded batch per sequence, normalisation, and the getters.
 * The rows themselves come from lf_output (model/blocks.c), which writes
 * the normed hidden states instead of logits when a ubatch asks for them. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"

static bool pooled(const lf_context *c) {
    return c->params.embeddings && c->params.pooling_type != LF_POOLING_TYPE_NONE;
}

bool lf_embd_init(lf_context *c, lf_error *err) {
    lf_context_params *p = &c->params;
    if (!p->embeddings)
        return true;
    if (p->pooling_type == LF_POOLING_TYPE_UNSPECIFIED) {
        int64_t t;
        if (!lf_model_int(c->model, "pooling_type", false, LF_POOLING_TYPE_NONE, &t, err))
            return false;
        if (t < LF_POOLING_TYPE_NONE || t > LF_POOLING_TYPE_RANK)
            return lf_fail(err, "the model's pooling type %lld is unknown", (long long)t);
        p->pooling_type = (int32_t)t;
    }
    if (p->pooling_type == LF_POOLING_TYPE_RANK)
        return lf_fail(err, "rank pooling (a classifier head) is not supported");
    if (p->pooling_type < LF_POOLING_TYPE_NONE || p->pooling_type > LF_POOLING_TYPE_LAST)
        return lf_fail(err, "pooling type %d is unknown (none 0, mean 1, cls 2, last 3)",
                       p->pooling_type);
    if (p->embd_normalize < -1)
        return lf_fail(err, "embd_normalize %d is out of range (-1 none, 0 max-abs, p >= 1)",
                       p->embd_normalize);
    if (!pooled(c))
        return true;
    size_t n_seq = p->n_seq_max, E = (size_t)c->model->hp.n_embd;
    if (n_seq > SIZE_MAX / sizeof(float) / E)
        return lf_fail(err, "%zu sequences of embeddings do not fit in memory", n_seq);
    c->embd_seq = lf_malloc(sizeof(float) * n_seq * E);
    c->seq_n = lf_calloc(n_seq, sizeof(int32_t));
    c->seq_row = lf_malloc(sizeof(int32_t) * n_seq);
    c->seq_pos = lf_malloc(sizeof(int32_t) * n_seq);
    if (!c->embd_seq || !c->seq_n || !c->seq_row || !c->seq_pos)
        return lf_fail(err, "out of memory for the embeddings of %zu sequences", n_seq);
    return true;
}

void lf_embd_free(lf_context *c) {
    free(c->embd);
    free(c->want_all);
    free(c->embd_seq);
    free(c->seq_n);
    free(c->seq_row);
    free(c->seq_pos);
}

void lf_embd_normalize(const float *in, float *out, int32_t n, int32_t norm) {
    double sum = 0;
    if (norm < 0) {
        sum = 1;
    } else if (norm == 0) { /* largest magnitude to 32760, an int16 range */
        for (int32_t i = 0; i < n; i++)
            sum = fmax(sum, fabs((double)in[i]));
        sum /= 32760.0;
    } else if (norm == 2) {
        for (int32_t i = 0; i < n; i++)
            sum += (double)in[i] * in[i];
        sum = sqrt(sum);
    } else {
        for (int32_t i = 0; i < n; i++)
            sum += pow(fabs((double)in[i]), norm);
        sum = pow(sum, 1.0 / norm);
    }
    float k = sum > 0 ? (float)(1.0 / sum) : 0.0f;
    for (int32_t i = 0; i < n; i++)
        out[i] = in[i] * k;
}

void lf_embd_finish(lf_context *c, const lf_batch *b) {
    int64_t E = c->model->hp.n_embd;
    int32_t norm = c->params.embd_normalize;
    if (!pooled(c)) {
        for (int32_t r = 0; r < c->n_out; r++)
            lf_embd_normalize(c->embd + r * E, c->embd + r * E, (int32_t)E, norm);
        return;
    }
    /* every token is an output row here (lf_decode's want_all): row i is entry i */
    int32_t type = c->params.pooling_type;
    for (int32_t i = 0; i < b->n_tokens; i++) {
        int32_t s = b->seq_id[i], p = b->pos[i];
        float *v = c->embd_seq + (size_t)s * (size_t)E;
        const float *h = c->embd + (size_t)c->out_row[i] * (size_t)E;
        bool first = c->seq_n[s]++ == 0;
        if (type == LF_POOLING_TYPE_MEAN) {
            for (int64_t k = 0; k < E; k++)
                v[k] = first ? h[k] : v[k] + h[k];
        } else if (first || (type == LF_POOLING_TYPE_CLS ? p < c->seq_pos[s]
                                                         : p >= c->seq_pos[s])) {
            c->seq_pos[s] = p;
            c->seq_row[s] = c->out_row[i];
        }
    }
    for (int32_t s = 0; s < (int32_t)c->params.n_seq_max; s++) {
        if (!c->seq_n[s])
            continue;
        float *v = c->embd_seq + (size_t)s * (size_t)E;
        if (type == LF_POOLING_TYPE_MEAN) {
            float k = 1.0f / (float)c->seq_n[s];
            for (int64_t j = 0; j < E; j++)
                v[j] *= k;
        } else {
            memcpy(v, c->embd + (size_t)c->seq_row[s] * (size_t)E, sizeof(float) * (size_t)E);
        }
        lf_embd_normalize(v, v, (int32_t)E, norm);
    }
}

int32_t lf_pooling_type(const lf_context *c) {
    return c->params.embeddings ? c->params.pooling_type : LF_POOLING_TYPE_NONE;
}

const float *lf_get_embeddings_ith(lf_context *c, int32_t i) {
    if (!c->params.embeddings || pooled(c))
        return NULL;
    size_t E = (size_t)c->model->hp.n_embd;
    if (i < 0) {
        i += c->n_out;
        return i < 0 ? NULL : c->embd + (size_t)i * E;
    }
    if (i >= c->last_n || c->out_row[i] < 0)
        return NULL;
    return c->embd + (size_t)c->out_row[i] * E;
}

const float *lf_get_embeddings(lf_context *c) {
    if (!c->params.embeddings || pooled(c) || !c->n_out)
        return NULL;
    return c->embd;
}

const float *lf_get_embeddings_seq(lf_context *c, int32_t seq) {
    if (!pooled(c) || seq < 0 || (uint32_t)seq >= c->params.n_seq_max || !c->seq_n[seq])
        return NULL;
    return c->embd_seq + (size_t)seq * (size_t)c->model->hp.n_embd;
}
