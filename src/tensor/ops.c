#include "tensor/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "tensor/kernels.h"
#include "tensor/pack.h"
#include "tensor/types.h"

void *lf_scratch_get(lf_scratch *s, size_t bytes) {
    if (bytes > s->cap) {
        free(s->p);
        s->p = lf_aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        s->cap = s->p ? bytes : 0;
    }
    return s->p;
}

void lf_scratch_free(lf_scratch *s) {
    free(s->p);
    s->p = NULL;
    s->cap = 0;
}

void lf_rms_norm(float *out, const float *x, const float *w, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i] * (double)x[i];
    float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = w ? x[i] * scale * w[i] : x[i] * scale;
}

static float rope_yarn_corr_dim(int n_rot, int n_ctx_orig, float n_rotations, float base) {
    return (float)n_rot * logf((float)n_ctx_orig / (n_rotations * 2.0f * (float)M_PI)) /
           (2.0f * logf(base));
}

void lf_rope(float *x, int n_heads, int head_dim, int64_t pos, const lf_rope_params *rp) {
    int n_rot = rp->n_rot;
    float theta_scale = powf(rp->freq_base, -2.0f / (float)n_rot);
    float lo = 0, hi = 0;
    if (rp->ext_factor != 0) {
        lo = fmaxf(0.0f, floorf(rope_yarn_corr_dim(n_rot, rp->n_ctx_orig, rp->beta_fast, rp->freq_base)));
        hi = fminf((float)(n_rot - 1),
                   ceilf(rope_yarn_corr_dim(n_rot, rp->n_ctx_orig, rp->beta_slow, rp->freq_base)));
    }
    float mscale = rp->attn_factor;
    if (rp->ext_factor != 0)
        mscale *= 1.0f + 0.1f * logf(1.0f / rp->freq_scale);
    float theta_base = (float)pos;
    for (int k = 0; k < n_rot / 2; k++) {
        float ff = rp->freq_factors ? rp->freq_factors[k] : 1.0f;
        float theta_extrap = theta_base / ff;
        float theta_interp = rp->freq_scale * theta_extrap;
        float theta = theta_interp;
        if (rp->ext_factor != 0) {
            float y = ((float)k - lo) / fmaxf(0.001f, hi - lo);
            float ramp = 1.0f - fminf(1.0f, fmaxf(0.0f, y));
            float mix = ramp * rp->ext_factor;
            theta = theta_interp * (1 - mix) + theta_extrap * mix;
        }
        float c = cosf(theta) * mscale, s = sinf(theta) * mscale;
        theta_base *= theta_scale;
        int i0 = rp->mode == LF_ROPE_NEOX ? k : 2 * k;
        int i1 = rp->mode == LF_ROPE_NEOX ? k + n_rot / 2 : 2 * k + 1;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)h * head_dim;
            float x0 = v[i0], x1 = v[i1];
            v[i0] = x0 * c - x1 * s;
            v[i1] = x0 * s + x1 * c;
        }
    }
}

void lf_swiglu(float *g, const float *u, int64_t n) {
    const lf_kernel_set *ks = lf_kernels();
    (ks->swiglu ? ks->swiglu : lf_swiglu_c)(g, u, n);
}

void lf_softmax(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        max = fmaxf(max, x[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

bool lf_weight_row(const lf_weight *W, int64_t r, float *out, lf_error *err) {
    const lf_type_traits *tt = lf_type_traits_of(W->type);
    if (!tt || !tt->to_float)
        return lf_fail(err, "type %s is not supported yet", lf_type_name(W->type) ? lf_type_name(W->type) : "?");
    int64_t in = W->ne[1] > 0 ? r % W->ne[1] : 0;
    if (in >= W->packed) {
        tt->to_float((const char *)W->data + (size_t)r * W->row_bytes, out, W->ne[0]);
        return true;
    }
    /* a packed row: its blocks gathered back one at a time */
    const uint8_t *group = (const uint8_t *)W->data + (size_t)(r - in % LF_PACK_ROWS) * W->row_bytes;
    const int64_t bk = tt->blck;
    uint8_t blk[256];
    for (int64_t b = 0; b < W->ne[0] / bk; b++) {
        lf_unpack_block(W->type, group, W->ne[0], (int)(in % LF_PACK_ROWS), b, blk);
        tt->to_float(blk, out + b * bk, bk);
    }
    return true;
}
