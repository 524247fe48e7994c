/* mamba2.c — the Mamba-2 mixer: in-projection split into z | xBC | dt, a
 * causal depthwise convolution over xBC (its last inputs kept per
 * sequence), silu, the selective scan with a scalar decay per head, the D
 * skip, the silu(z) gate, a grouped RMS norm and the out-projection.
 * spec archs.md §3.4; the order of float operations follows ggml's CPU
 * ssm_conv / ssm_scan so results stay close to llama.cpp's. */
#include "model/mamba2.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/bytes.h"
#include "base/error.h"
#include "model/blocks.h"
#include "tensor/kernels.h"
#include "tensor/types.h"

static int64_t d_xbc(const lf_mamba2_hparams *hp) {
    return hp->d_inner + 2 * hp->n_group * hp->d_state;
}

static int64_t d_in_proj(const lf_mamba2_hparams *hp) {
    return 2 * hp->d_inner + 2 * hp->n_group * hp->d_state + hp->n_head;
}

bool lf_mamba2_read_hparams(const lf_model *m, lf_mamba2_hparams *hp, lf_error *err) {
    double eps;
    if (!lf_model_int(m, "ssm.conv_kernel", true, 0, &hp->d_conv, err) ||
        !lf_model_int(m, "ssm.inner_size", true, 0, &hp->d_inner, err) ||
        !lf_model_int(m, "ssm.state_size", true, 0, &hp->d_state, err) ||
        !lf_model_int(m, "ssm.time_step_rank", true, 0, &hp->n_head, err) ||
        !lf_model_int(m, "ssm.group_count", true, 0, &hp->n_group, err) ||
        !lf_model_float(m, "attention.layer_norm_rms_epsilon", true, 0, &eps, err))
        return false;
    const struct {
        const char *name;
        int64_t v, max;
    } dims[] = {
        {"ssm.conv_kernel", hp->d_conv, 64},     {"ssm.inner_size", hp->d_inner, 1 << 20},
        {"ssm.state_size", hp->d_state, 4096},   {"ssm.time_step_rank", hp->n_head, 1 << 16},
        {"ssm.group_count", hp->n_group, 1 << 16},
    };
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
        if (dims[i].v <= 0 || dims[i].v > dims[i].max)
            return lf_fail(err, "%s is %lld, which is out of range", dims[i].name,
                           (long long)dims[i].v);
    if (hp->d_inner % hp->n_head || hp->n_head % hp->n_group)
        return lf_fail(err, "ssm: inner size %lld, %lld heads and %lld groups do not divide evenly",
                       (long long)hp->d_inner, (long long)hp->n_head, (long long)hp->n_group);
    if (!(eps > 0) || eps > 1)
        return lf_fail(err, "layer_norm_rms_epsilon %g is out of range", eps);
    hp->eps = (float)eps;
    return true;
}

bool lf_mamba2_bind(lf_model *m, lf_mamba2_layer *L, const lf_mamba2_hparams *hp,
                    int64_t layer, int64_t n_embd, lf_error *err) {
    long long i = (long long)layer;
    int64_t X = d_xbc(hp), H = hp->n_head, DI = hp->d_inner;
    return lf_model_weight(m, &L->in, true, 2, (int64_t[]){n_embd, d_in_proj(hp)}, err,
                           "blk.%lld.ssm_in.weight", i) &&
           lf_model_f32_nd(m, &L->conv_w, true, 2, (int64_t[]){hp->d_conv, X}, err,
                           "blk.%lld.ssm_conv1d.weight", i) &&
           lf_model_f32_nd(m, &L->conv_b, false, 1, &X, err, "blk.%lld.ssm_conv1d.bias", i) &&
           lf_model_f32_nd(m, &L->dt_bias, true, 1, &H, err, "blk.%lld.ssm_dt.bias", i) &&
           lf_model_f32_nd(m, &L->a, true, 2, (int64_t[]){1, H}, err, "blk.%lld.ssm_a", i) &&
           lf_model_f32_nd(m, &L->d, true, 2, (int64_t[]){1, H}, err, "blk.%lld.ssm_d", i) &&
           lf_model_f32_nd(m, &L->norm, true, 2, (int64_t[]){DI / hp->n_group, hp->n_group}, err,
                           "blk.%lld.ssm_norm.weight", i) &&
           lf_model_weight(m, &L->out, true, 2, (int64_t[]){DI, n_embd}, err,
                           "blk.%lld.ssm_out.weight", i);
}

/* ---- recurrent state ---- */

bool lf_mamba2_state_init(lf_mamba2_state *st, const lf_mamba2_hparams *hp, int n_layer,
                          const bool *recurrent, int64_t n_seq, lf_error *err) {
    memset(st, 0, sizeof(*st));
    st->n_layer = n_layer;
    st->n_seq = n_seq;
    st->conv_floats = (hp->d_conv - 1) * d_xbc(hp);
    st->ssm_floats = hp->d_state * hp->d_inner;
    st->conv = lf_calloc((size_t)n_layer, sizeof(float *));
    st->ssm = lf_calloc((size_t)n_layer, sizeof(float *));
    st->pos_max = lf_malloc(sizeof(int32_t) * (size_t)n_seq);
    bool ok = st->conv && st->ssm && st->pos_max;
    for (int l = 0; ok && l < n_layer; l++) {
        if (!recurrent[l])
            continue;
        /* +1: a zero-tap state still gets a distinct allocation */
        st->conv[l] = lf_calloc((size_t)(n_seq * st->conv_floats + 1), sizeof(float));
        st->ssm[l] = lf_calloc((size_t)(n_seq * st->ssm_floats), sizeof(float));
        ok = st->conv[l] && st->ssm[l];
    }
    if (!ok) {
        lf_mamba2_state_free(st);
        return lf_fail(err, "out of memory for the recurrent state (%lld sequences)",
                       (long long)n_seq);
    }
    for (int64_t s = 0; s < n_seq; s++)
        st->pos_max[s] = -1;
    return true;
}

void lf_mamba2_state_free(lf_mamba2_state *st) {
    for (int l = 0; l < st->n_layer; l++) {
        if (st->conv)
            free(st->conv[l]);
        if (st->ssm)
            free(st->ssm[l]);
    }
    free(st->conv);
    free(st->ssm);
    free(st->pos_max);
    memset(st, 0, sizeof(*st));
}

void lf_mamba2_state_clear(lf_mamba2_state *st, int32_t seq) {
    int64_t s0 = seq < 0 ? 0 : seq, s1 = seq < 0 ? st->n_seq : seq + 1;
    if (s1 > st->n_seq)
        return;
    for (int l = 0; l < st->n_layer; l++) {
        if (!st->conv[l])
            continue;
        memset(st->conv[l] + s0 * st->conv_floats, 0,
               sizeof(float) * (size_t)((s1 - s0) * st->conv_floats));
        memset(st->ssm[l] + s0 * st->ssm_floats, 0,
               sizeof(float) * (size_t)((s1 - s0) * st->ssm_floats));
    }
    for (int64_t s = s0; s < s1; s++)
        st->pos_max[s] = -1;
}

bool lf_mamba2_state_remove(lf_mamba2_state *st, int32_t seq, int32_t p0, int32_t p1) {
    if (seq < 0 || seq >= st->n_seq)
        return false;
    int32_t last = st->pos_max[seq];
    if (p0 < 0)
        p0 = 0;
    if (last < 0 || last < p0)
        return false; /* nothing of the state's history goes */
    lf_mamba2_state_clear(st, seq);
    return p0 > 0 || (p1 >= 0 && p1 <= last);
}

bool lf_mamba2_state_copy(lf_mamba2_state *st, int32_t src, int32_t dst, int32_t p0,
                          int32_t p1) {
    if (src < 0 || src >= st->n_seq || dst < 0 || dst >= st->n_seq)
        return false;
    int32_t last = st->pos_max[src];
    if (last >= 0 && (last < p0 || (p1 >= 0 && last >= p1)))
        return false;
    if (src == dst)
        return true;
    for (int l = 0; l < st->n_layer; l++) {
        if (!st->conv[l])
            continue;
        memcpy(st->conv[l] + dst * st->conv_floats, st->conv[l] + src * st->conv_floats,
               sizeof(float) * (size_t)st->conv_floats);
        memcpy(st->ssm[l] + dst * st->ssm_floats, st->ssm[l] + src * st->ssm_floats,
               sizeof(float) * (size_t)st->ssm_floats);
    }
    st->pos_max[dst] = last;
    return true;
}

void lf_mamba2_state_shift(lf_mamba2_state *st, int32_t seq, int32_t p0, int32_t p1,
                           int32_t delta) {
    if (seq < 0 || seq >= st->n_seq)
        return;
    int32_t last = st->pos_max[seq];
    if (last < 0 || last < p0 || (p1 >= 0 && last >= p1))
        return;
    if ((int64_t)last + delta < 0)
        lf_mamba2_state_clear(st, seq);
    else
        st->pos_max[seq] = last + delta;
}

void lf_mamba2_state_advance(lf_mamba2_state *st, int64_t n, const int32_t *seq,
                             const int32_t *pos) {
    for (int64_t t = 0; t < n; t++)
        if (seq[t] >= 0 && seq[t] < st->n_seq && pos[t] > st->pos_max[seq[t]])
            st->pos_max[seq[t]] = pos[t];
}

/* ---- the mixer ---- */

size_t lf_mamba2_work_floats(const lf_mamba2_hparams *hp, int64_t n) {
    return (size_t)(n * (d_in_proj(hp) + hp->d_inner));
}

typedef struct mixer_job {
    const lf_mamba2_hparams *hp;
    const lf_mamba2_layer *L;
    float *conv_state, *ssm_state; /* this layer's, all sequences */
    int64_t conv_floats, ssm_floats;
    const int32_t *seq;
    int64_t n;
    float *zx; /* [n][d_in_proj]: z | xBC | dt; xBC becomes silu(conv(xBC)) */
    float *y;  /* [n][d_inner] */
    lf_chunks chunks;
    float (*ssm_row)(float *s, const float *b, const float *c, float a, float x, int n);
} mixer_job;

static inline float silu(float v) { return v / (1.0f + expf(-v)); }

enum { CONV_CHUNK = 64 };

/* Each channel of xBC, token by token: a d_conv-tap window over the
 * channel's previous raw inputs (from the state) and the current one. */
static void conv_channels(void *arg, int ith, int nth) {
    mixer_job *j = arg;
    const lf_mamba2_hparams *hp = j->hp;
    int64_t K = hp->d_conv, X = d_xbc(hp), P = d_in_proj(hp);
    long ch;
    while ((ch = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t c0 = ch * CONV_CHUNK, c1 = c0 + CONV_CHUNK < X ? c0 + CONV_CHUNK : X;
        for (int64_t t = 0; t < j->n; t++) {
            float *state = j->conv_state + j->seq[t] * j->conv_floats;
            float *u = j->zx + t * P + hp->d_inner;
            for (int64_t c = c0; c < c1; c++) {
                float *s = state + c * (K - 1);
                const float *w = j->L->conv_w + c * K;
                float sum = 0.0f;
                for (int64_t k = 0; k < K - 1; k++)
                    sum += s[k] * w[k];
                sum += u[c] * w[K - 1];
                for (int64_t k = 0; k + 1 < K - 1; k++)
                    s[k] = s[k + 1];
                if (K > 1)
                    s[K - 2] = u[c];
                if (j->L->conv_b)
                    sum += j->L->conv_b[c];
                u[c] = silu(sum);
            }
        }
    }
    (void)ith, (void)nth;
}

/* One SSM head, token by token: S = S·exp(Δ·A) + Δ·x ⊗ B, y = S·C + D·x,
 * then y ⊙ silu(z). */
static void scan_heads(void *arg, int ith, int nth) {
    mixer_job *j = arg;
    const lf_mamba2_hparams *hp = j->hp;
    const lf_mamba2_layer *L = j->L;
    int64_t DI = hp->d_inner, N = hp->d_state, G = hp->n_group, P = d_in_proj(hp);
    int64_t hd = DI / hp->n_head, heads_per_group = hp->n_head / G;
    long h;
    while ((h = lf_pool_chunk(&j->chunks)) >= 0) {
        int64_t g = h / heads_per_group;
        for (int64_t t = 0; t < j->n; t++) {
            float *S = j->ssm_state + j->seq[t] * j->ssm_floats + h * hd * N;
            const float *z = j->zx + t * P, *xs = z + DI, *B = xs + DI + g * N;
            const float *C = xs + DI + G * N + g * N;
            float dt = z[2 * DI + 2 * G * N + h] + L->dt_bias[h];
            float delta = dt > 20.0f ? dt : logf(1.0f + expf(dt));
            float dA = expf(delta * L->a[h]);
            float *y = j->y + t * DI;
            for (int64_t p = h * hd; p < (h + 1) * hd; p++, S += N) {
                float sum = j->ssm_row(S, B, C, dA, xs[p] * delta, (int)N);
                y[p] = silu(z[p]) * (sum + xs[p] * L->d[h]);
            }
        }
    }
    (void)ith, (void)nth;
}

bool lf_mamba2_forward(lf_pool *pool, lf_scratch *mm, const lf_mamba2_hparams *hp,
                       const lf_mamba2_layer *L, lf_mamba2_state *st, int layer,
                       const int32_t *seq, int64_t n, const float *x, float *out, float *work,
                       lf_error *err) {
    if (layer < 0 || layer >= st->n_layer || !st->conv[layer])
        return lf_fail(err, "mamba2: layer %d has no recurrent state", layer);
    for (int64_t t = 0; t < n; t++)
        if (seq[t] < 0 || seq[t] >= st->n_seq)
            return lf_fail(err, "mamba2: sequence %d has no recurrent state", seq[t]);
    int64_t DI = hp->d_inner;
    mixer_job j = {
        .hp = hp, .L = L, .conv_state = st->conv[layer], .ssm_state = st->ssm[layer],
        .conv_floats = st->conv_floats, .ssm_floats = st->ssm_floats, .seq = seq, .n = n,
        .zx = work, .y = work + n * d_in_proj(hp),
        .ssm_row = lf_kernels()->ssm_row ? lf_kernels()->ssm_row : lf_ssm_row_c,
    };
    if (!lf_matmul(pool, mm, j.zx, &L->in, 0, x, n, err))
        return false;
    lf_pool_chunks_init(&j.chunks, (long)((d_xbc(hp) + CONV_CHUNK - 1) / CONV_CHUNK));
    lf_pool_run(pool, conv_channels, &j);
    lf_pool_chunks_init(&j.chunks, (long)hp->n_head);
    lf_pool_run(pool, scan_heads, &j);
    int64_t gs = DI / hp->n_group;
    for (int64_t t = 0; t < n; t++)
        for (int64_t g = 0; g < hp->n_group; g++) {
            float *v = j.y + t * DI + g * gs;
            lf_rms_norm(v, v, L->norm ? L->norm + g * gs : NULL, gs, hp->eps);
        }
    return lf_matmul(pool, mm, out, &L->out, 0, j.y, n, err);
}

/* ---- saved states ---- */

static uint32_t n_recurrent(const lf_mamba2_state *st) {
    uint32_t n = 0;
    for (int l = 0; l < st->n_layer; l++)
        n += st->conv[l] != NULL;
    return n;
}

enum { STATE_HEAD = 24 };

size_t lf_mamba2_state_bytes(const lf_mamba2_state *st) {
    return STATE_HEAD +
           (size_t)n_recurrent(st) * sizeof(float) * (size_t)(st->conv_floats + st->ssm_floats);
}

void lf_mamba2_state_save(const lf_mamba2_state *st, int32_t seq, uint8_t *p) {
    p = lf_put_u32(p, n_recurrent(st));
    p = lf_put_u32(p, (uint32_t)st->pos_max[seq]);
    p = lf_put_u64(p, (uint64_t)st->conv_floats);
    p = lf_put_u64(p, (uint64_t)st->ssm_floats);
    for (int l = 0; l < st->n_layer; l++) {
        if (!st->conv[l])
            continue;
        p = lf_put_bytes(p, st->conv[l] + seq * st->conv_floats, sizeof(float) * (size_t)st->conv_floats);
        p = lf_put_bytes(p, st->ssm[l] + seq * st->ssm_floats, sizeof(float) * (size_t)st->ssm_floats);
    }
}

bool lf_mamba2_state_check(const lf_mamba2_state *st, const uint8_t *src, size_t n,
                           lf_error *err) {
    lf_reader r = {.p = src, .n = n};
    uint32_t layers = lf_read_u32(&r);
    int32_t pos_max = (int32_t)lf_read_u32(&r);
    uint64_t conv = lf_read_u64(&r), ssm = lf_read_u64(&r);
    if (r.bad)
        return lf_fail(err, "recurrent state is truncated");
    if (layers != n_recurrent(st) || conv != (uint64_t)st->conv_floats ||
        ssm != (uint64_t)st->ssm_floats)
        return lf_fail(err, "recurrent state has %u layers of %llu+%llu floats; this model has "
                       "%u of %lld+%lld", layers, (unsigned long long)conv, (unsigned long long)ssm,
                       n_recurrent(st), (long long)st->conv_floats, (long long)st->ssm_floats);
    if (pos_max < -1)
        return lf_fail(err, "recurrent state is corrupt: position %d", pos_max);
    if (n != lf_mamba2_state_bytes(st))
        return lf_fail(err, "recurrent state is %zu bytes, not %zu", n, lf_mamba2_state_bytes(st));
    return true;
}

void lf_mamba2_state_load(lf_mamba2_state *st, int32_t seq, const uint8_t *src) {
    lf_reader r = {.p = src, .n = lf_mamba2_state_bytes(st)};
    lf_read_u32(&r);
    st->pos_max[seq] = (int32_t)lf_read_u32(&r);
    lf_read_bytes(&r, 16);
    for (int l = 0; l < st->n_layer; l++) {
        if (!st->conv[l])
            continue;
        memcpy(st->conv[l] + seq * st->conv_floats,
               lf_read_bytes(&r, sizeof(float) * (size_t)st->conv_floats),
               sizeof(float) * (size_t)st->conv_floats);
        memcpy(st->ssm[l] + seq * st->ssm_floats,
               lf_read_bytes(&r, sizeof(float) * (size_t)st->ssm_floats),
               sizeof(float) * (size_t)st->ssm_floats);
    }
}
