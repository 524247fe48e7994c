#include "tensor/attention.h"

#include <math.h>
#include <string.h>

#include "tensor/fp16.h"

enum { MAX_HEAD_DIM = 1024 };

struct attn_job {
    float *out;
    const float *q;
    int64_t n;
    const int32_t *pos, *seq;
    const lf_attn_kv *kv;
    const lf_attn_params *ap;
    lf_chunks chunks;
};

static float dot_row(int type, const float *q, const void *row, int d) {
    float s = 0;
    if (type == LF_TYPE_F16) {
        const uint16_t *k = row;
        for (int i = 0; i < d; i++)
            s += q[i] * lf_fp16_to_fp32(k[i]);
    } else {
        const float *k = row;
        for (int i = 0; i < d; i++)
            s += q[i] * k[i];
    }
    return s;
}

static void add_row(int type, float *acc, const void *row, float w, int d) {
    if (type == LF_TYPE_F16) {
        const uint16_t *v = row;
        for (int i = 0; i < d; i++)
            acc[i] += w * lf_fp16_to_fp32(v[i]);
    } else {
        const float *v = row;
        for (int i = 0; i < d; i++)
            acc[i] += w * v[i];
    }
}

/* One (query token, head) pair. */
static void attend_one(const struct attn_job *j, int64_t t, int h) {
    const lf_attn_params *ap = j->ap;
    const lf_attn_kv *kv = j->kv;
    int dk = ap->head_dim_k, dv = ap->head_dim_v;
    int kvh = h / (ap->n_head / ap->n_head_kv);
    float q[MAX_HEAD_DIM], acc[MAX_HEAD_DIM];
    const float *qs = j->q + (t * ap->n_head + h) * dk;
    /* Like llama.cpp's flash attention, a query meets an F16 cache as F16. */
    for (int i = 0; i < dk; i++)
        q[i] = kv->type == LF_TYPE_F16 ? lf_fp16_to_fp32(lf_fp32_to_fp16(qs[i])) : qs[i];
    memset(acc, 0, sizeof(float) * (size_t)dv);
    float m = -INFINITY, sum = 0;
    int32_t p = j->pos[t], s = j->seq[t];
    size_t k_off = (size_t)kvh * dk * (kv->type == LF_TYPE_F16 ? 2 : 4);
    size_t v_off = (size_t)kvh * dv * (kv->type == LF_TYPE_F16 ? 2 : 4);
    for (int64_t c = 0; c < kv->n_cells; c++) {
        int32_t pc = kv->pos[c];
        if (pc < 0 || pc > p || kv->seq[c] != s || (ap->n_swa > 0 && p - pc >= ap->n_swa))
            continue;
        float z = dot_row(kv->type, q, (const char *)kv->k + c * kv->k_row_bytes + k_off, dk) *
                  ap->scale;
        if (z > m) {
            float r = expf(m - z);
            for (int i = 0; i < dv; i++)
                acc[i] *= r;
            sum *= r;
            m = z;
        }
        float w = expf(z - m);
        sum += w;
        add_row(kv->type, acc, (const char *)kv->v + c * kv->v_row_bytes + v_off, w, dv);
    }
    if (ap->sinks) {
        float sink = ap->sinks[h];
        if (sink > m) {
            float r = expf(m - sink);
            for (int i = 0; i < dv; i++)
                acc[i] *= r;
            sum *= r;
            m = sink;
        }
        sum += expf(sink - m);
    }
    float *o = j->out + (t * ap->n_head + h) * dv;
    float inv = sum > 0 ? 1.0f / sum : 0.0f;
    for (int i = 0; i < dv; i++)
        o[i] = acc[i] * inv;
}

static void attention_worker(void *arg, int ith, int nth) {
    struct attn_job *j = arg;
    (void)ith, (void)nth;
    long c;
    while ((c = lf_pool_chunk(&j->chunks)) >= 0)
        attend_one(j, c / j->ap->n_head, (int)(c % j->ap->n_head));
}

void lf_attention(lf_pool *pool, float *out, const float *q, int64_t n, const int32_t *pos,
                  const int32_t *seq, const lf_attn_kv *kv, const lf_attn_params *ap) {
    struct attn_job j = {out, q, n, pos, seq, kv, ap, {0}};
    lf_pool_chunks_init(&j.chunks, (long)(n * ap->n_head));
    lf_pool_run(pool, attention_worker, &j);
}
