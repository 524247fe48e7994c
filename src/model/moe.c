/* moe.c — mixture-of-experts routing and expert evaluation (archs.md §0.7).
 * Routing runs per token; the experts run grouped: every expert chosen by
 * any token of the batch gets one matrix product over exactly those tokens,
 * all experts (and the shared one) in one pool job (moe_experts.c). */
#include "model/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/blocks.h"
#include "tensor/types.h"

/* ------------------------------------------------------------ parameters */

bool lf_moe_check(const lf_moe_params *p, lf_error *err) {
    if (p->n_expert <= 0 || p->n_expert > LF_MOE_MAX_EXPERT)
        return lf_fail(err, "expert_count %d is out of range (1..%d)", p->n_expert, LF_MOE_MAX_EXPERT);
    if (p->n_used <= 0 || p->n_used > p->n_expert)
        return lf_fail(err, "expert_used_count %d is out of range (1..%d)", p->n_used, p->n_expert);
    if (p->n_group > 1) {
        if (p->n_group >= p->n_expert || p->n_expert % p->n_group)
            return lf_fail(err, "expert_group_count %d does not divide expert_count %d", p->n_group,
                           p->n_expert);
        if (p->n_group_used <= 0 || p->n_group_used >= p->n_group)
            return lf_fail(err, "expert_group_used_count %d is out of range (1..%d)",
                           p->n_group_used, p->n_group - 1);
        if (p->n_group_used * (p->n_expert / p->n_group) < p->n_used)
            return lf_fail(err, "%d expert groups of %d cannot supply %d experts", p->n_group_used,
                           p->n_expert / p->n_group, p->n_used);
    }
    if (p->gating < LF_MOE_SOFTMAX || p->gating > LF_MOE_SQRT_SOFTPLUS)
        return lf_fail(err, "expert_gating_func %d is not supported", p->gating);
    if (p->act != LF_MOE_SWIGLU && p->act != LF_MOE_SWIGLU_OAI)
        return lf_fail(err, "unknown expert activation %d", p->act);
    if (!isfinite(p->w_scale))
        return lf_fail(err, "expert_weights_scale is not finite");
    return true;
}

bool lf_moe_read_params(const lf_model *m, lf_moe_params *p, int gating, lf_error *err) {
    int64_t E, K, G, GU, gf, norm;
    double scale;
    if (!lf_model_int(m, "expert_count", true, 0, &E, err) ||
        !lf_model_int(m, "expert_used_count", true, 0, &K, err) ||
        !lf_model_int(m, "expert_group_count", false, 0, &G, err) ||
        !lf_model_int(m, "expert_group_used_count", false, 0, &GU, err) ||
        !lf_model_int(m, "expert_gating_func", false, gating, &gf, err) ||
        !lf_model_int(m, "expert_weights_norm", false, 0, &norm, err) ||
        !lf_model_float(m, "expert_weights_scale", false, 0, &scale, err))
        return false;
    if (E < 0 || E > LF_MOE_MAX_EXPERT || K < 0 || K > E || G < 0 || G > E || GU < 0 || GU > E)
        return lf_fail(err, "expert counts out of range (expert_count %lld, used %lld)",
                       (long long)E, (long long)K);
    *p = (lf_moe_params){
        .n_expert = (int)E, .n_used = (int)K, .n_group = (int)G, .n_group_used = (int)GU,
        .gating = (int)gf, .norm_w = norm != 0, .w_scale = (float)scale, .act = LF_MOE_SWIGLU,
    };
    return lf_moe_check(p, err);
}

bool lf_moe_bind(lf_model *m, lf_moe_weights *w, const lf_moe_params *p, int64_t layer,
                 int64_t n_embd, int64_t n_ff, lf_error *err) {
    long long l = (long long)layer;
    int64_t E = p->n_expert;
    char name[128];
    memset(w, 0, sizeof(*w));
    if (!lf_model_weight(m, &w->router, true, 2, (int64_t[]){n_embd, E}, err, "blk.%lld.ffn_gate_inp.weight", l) ||
        !lf_model_f32(m, &w->router_b, false, E, err, "blk.%lld.ffn_gate_inp.bias", l) ||
        !lf_model_f32(m, &w->select_b, false, E, err, "blk.%lld.exp_probs_b.bias", l) ||
        !lf_model_weight(m, &w->gate, false, 3, (int64_t[]){n_embd, n_ff, E}, err, "blk.%lld.ffn_gate_exps.weight", l) ||
        !lf_model_weight(m, &w->up, true, 3, (int64_t[]){n_embd, n_ff, E}, err, "blk.%lld.ffn_up_exps.weight", l) ||
        !lf_model_weight(m, &w->down, true, 3, (int64_t[]){n_ff, n_embd, E}, err, "blk.%lld.ffn_down_exps.weight", l))
        return false;
    static const char *const kind[3] = {"gate", "up", "down"};
    const float **bias[3] = {&w->gate_b, &w->up_b, &w->down_b};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "blk.%lld.ffn_%s_exps.bias", l, kind[i]);
        if (!lf_model_f32_nd(m, bias[i], false, 2, (int64_t[]){i == 2 ? n_embd : n_ff, E}, err,
                             "%s", name))
            return false;
    }
    return true;
}

/* --------------------------------------------------------------- routing */

static void route_one(const lf_moe_params *p, const float *logits, const float *select_b,
                      int32_t *ids, float *weights) {
    int E = p->n_expert, K = p->n_used;
    float prob[LF_MOE_MAX_EXPERT], score[LF_MOE_MAX_EXPERT];
    memcpy(prob, logits, sizeof(float) * (size_t)E);
    switch (p->gating) {
    case LF_MOE_SOFTMAX:
        lf_softmax(prob, E);
        break;
    case LF_MOE_SIGMOID:
        for (int e = 0; e < E; e++)
            prob[e] = 1.0f / (1.0f + expf(-prob[e]));
        break;
    case LF_MOE_SQRT_SOFTPLUS:
        for (int e = 0; e < E; e++)
            prob[e] = sqrtf(prob[e] > 20.0f ? prob[e] : log1pf(expf(prob[e])));
        break;
    default: /* SOFTMAX_WEIGHT: the raw logits choose */
        break;
    }
    for (int e = 0; e < E; e++)
        score[e] = select_b ? prob[e] + select_b[e] : prob[e];

    if (p->n_group > 1) {
        /* a group's score is the sum of its two best experts; the
         * n_group_used best groups stay, the others drop out */
        int per = E / p->n_group;
        float gscore[LF_MOE_MAX_EXPERT];
        for (int g = 0; g < p->n_group; g++) {
            const float *s = score + g * per;
            float b1 = -INFINITY, b2 = -INFINITY;
            for (int i = 0; i < per; i++) {
                if (s[i] > b1)
                    b2 = b1, b1 = s[i];
                else if (s[i] > b2)
                    b2 = s[i];
            }
            gscore[g] = per > 1 ? b1 + b2 : b1;
        }
        bool keep[LF_MOE_MAX_EXPERT] = {0};
        for (int n = 0; n < p->n_group_used; n++) {
            int best = -1;
            for (int g = 0; g < p->n_group; g++)
                if (!keep[g] && (best < 0 || gscore[g] > gscore[best]))
                    best = g;
            keep[best] = true;
        }
        for (int g = 0; g < p->n_group; g++)
            if (!keep[g])
                for (int i = 0; i < per; i++)
                    score[g * per + i] = -INFINITY;
    }

    /* top K by score, best first; the first index wins a tie */
    bool taken[LF_MOE_MAX_EXPERT] = {0};
    for (int k = 0; k < K; k++) {
        int best = -1;
        for (int e = 0; e < E; e++)
            if (!taken[e] && (best < 0 || score[e] > score[best]))
                best = e;
        taken[best] = true;
        ids[k] = best;
        weights[k] = prob[best];
    }

    if (p->gating == LF_MOE_SOFTMAX_WEIGHT)
        lf_softmax(weights, K);
    if (p->norm_w) {
        float sum = 0;
        for (int k = 0; k < K; k++)
            sum += weights[k];
        sum = fmaxf(sum, 6.103515625e-5f);
        for (int k = 0; k < K; k++)
            weights[k] /= sum;
    }
    if (p->w_scale != 0.0f && p->w_scale != 1.0f)
        for (int k = 0; k < K; k++)
            weights[k] *= p->w_scale;
}

void lf_moe_route(const lf_moe_params *p, const float *logits, const float *select_b,
                  int64_t n_tokens, int32_t *ids, float *weights) {
    for (int64_t t = 0; t < n_tokens; t++)
        route_one(p, logits + t * p->n_expert, select_b, ids + t * p->n_used,
                  weights + t * p->n_used);
}

/* --------------------------------------------------------------- experts */

/* Work memory layout, in floats (int32 arrays and the expert list use
 * float-sized slots); the experts' own buffers come from c->mm. */
typedef struct moe_work {
    float *logits;        /* [T][E] */
    int32_t *ids;         /* [T][K] */
    float *weights;       /* [T][K] */
    int32_t *start;       /* [E+1]: expert e's slots are order[start[e]..start[e+1]) */
    int32_t *order;       /* [T*K]: slot index t*K+k, grouped by expert */
    int32_t *tok;         /* [T*K]: the token of order[i] */
    float *wt;            /* [T*K]: the weight of order[i] */
    lf_moe_expert *ex;    /* [E+1]: the routed experts, then the shared one */
} moe_work;

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t ex_floats(size_t E) {
    return round16(((E + 1) * sizeof(lf_moe_expert) + sizeof(float) - 1) / sizeof(float));
}

size_t lf_moe_work_floats(const lf_moe_params *p, int64_t n_tokens, int64_t n_embd, int64_t n_ff) {
    size_t T = (size_t)n_tokens, E = (size_t)p->n_expert, K = (size_t)p->n_used;
    (void)n_embd, (void)n_ff;
    return round16(T * E) + 2 * round16(T * K) + round16(E + 1) + 3 * round16(T * K) +
           ex_floats(E);
}

static moe_work carve(float *work, const lf_moe_params *p, int64_t n_tokens) {
    size_t T = (size_t)n_tokens, E = (size_t)p->n_expert, K = (size_t)p->n_used;
    moe_work w;
    float *f = work;
    w.logits = f, f += round16(T * E);
    w.ids = (int32_t *)f, f += round16(T * K);
    w.weights = f, f += round16(T * K);
    w.start = (int32_t *)f, f += round16(E + 1);
    w.order = (int32_t *)f, f += round16(T * K);
    w.tok = (int32_t *)f, f += round16(T * K);
    w.wt = f, f += round16(T * K);
    w.ex = (lf_moe_expert *)f;
    return w;
}

/* Counting sort of the T*K slots by expert. */
static void group_by_expert(const moe_work *w, int E, int64_t n_slots) {
    memset(w->start, 0, sizeof(int32_t) * (size_t)(E + 1));
    for (int64_t s = 0; s < n_slots; s++)
        w->start[w->ids[s] + 1]++;
    for (int e = 0; e < E; e++)
        w->start[e + 1] += w->start[e];
    int32_t fill[LF_MOE_MAX_EXPERT];
    memcpy(fill, w->start, sizeof(int32_t) * (size_t)E);
    for (int64_t s = 0; s < n_slots; s++)
        w->order[fill[w->ids[s]]++] = (int32_t)s;
}

/* The weights' shapes against each other and p (bound ones are, but the
 * work size is computed from them, so a mismatch must not reach carve). */
static bool check_shapes(const lf_moe_weights *mw, const lf_moe_params *p, lf_error *err) {
    int64_t E = p->n_expert, D = mw->down.ne[1], F = mw->up.ne[1];
    const lf_weight *g = mw->gate.data ? &mw->gate : &mw->up;
    if (mw->router.ne[0] != D || mw->router.ne[1] != E || mw->up.ne[0] != D ||
        mw->up.ne[2] != E || g->ne[0] != D || g->ne[1] != F || g->ne[2] != E ||
        mw->down.ne[0] != F || mw->down.ne[2] != E)
        return lf_fail(err, "MoE tensors do not match each other or the %lld experts "
                            "(router %lldx%lld, up %lldx%lldx%lld, down %lldx%lldx%lld)",
                       (long long)E, (long long)mw->router.ne[0], (long long)mw->router.ne[1],
                       (long long)mw->up.ne[0], (long long)F, (long long)mw->up.ne[2],
                       (long long)mw->down.ne[0], (long long)D, (long long)mw->down.ne[2]);
    return true;
}

bool lf_moe_forward(lf_context *c, const lf_moe_weights *mw, const lf_moe_params *p, float *out,
                    const float *x, int64_t n_tokens, float *work, size_t work_floats,
                    lf_error *err) {
    int E = p->n_expert, K = p->n_used;
    int64_t D = mw->down.ne[1], F = mw->up.ne[1];
    if (!lf_moe_check(p, err) || !check_shapes(mw, p, err))
        return false;
    size_t need = lf_moe_work_floats(p, n_tokens, D, F);
    if (need > work_floats)
        return lf_fail(err, "the MoE block needs %zu work floats, the buffer holds %zu", need,
                       work_floats);
    moe_work w = carve(work, p, n_tokens);
    if (mw->shared) {
        const lf_ffn_weights *sh = mw->shared;
        if (!sh->gate.data || sh->gate.ne[0] != D || sh->up.ne[0] != D ||
            sh->up.ne[1] != sh->gate.ne[1] || sh->down.ne[0] != sh->gate.ne[1] ||
            sh->down.ne[1] != D)
            return lf_fail(err, "the shared expert's tensors do not match the %lld-wide input",
                           (long long)D);
    }

    if (!lf_matmul(c->pool, &c->mm, w.logits, &mw->router, 0, x, n_tokens, err))
        return false;
    if (mw->router_b)
        lf_add_rows(w.logits, mw->router_b, n_tokens, E);
    lf_moe_route(p, w.logits, mw->select_b, n_tokens, w.ids, w.weights);
    group_by_expert(&w, E, n_tokens * K);

    int n_ex = 0;
    for (int e = 0; e < E; e++) {
        int32_t s0 = w.start[e], n = w.start[e + 1] - s0;
        if (!n)
            continue;
        for (int32_t i = 0; i < n; i++) {
            w.tok[s0 + i] = w.order[s0 + i] / K;
            w.wt[s0 + i] = w.weights[w.order[s0 + i]];
        }
        w.ex[n_ex++] = (lf_moe_expert){
            .gate = &mw->gate, .up = &mw->up, .down = &mw->down, .slice = e,
            .gate_b = mw->gate_b && mw->gate.data ? mw->gate_b + (size_t)e * F : NULL,
            .up_b = mw->up_b ? mw->up_b + (size_t)e * F : NULL,
            .down_b = mw->down_b ? mw->down_b + (size_t)e * D : NULL,
            .tok = w.tok + s0, .wt = w.wt + s0, .n = n, .act = p->act,
        };
    }
    if (mw->shared) {
        const lf_ffn_weights *sh = mw->shared;
        w.ex[n_ex++] = (lf_moe_expert){
            .gate = &sh->gate, .up = &sh->up, .down = &sh->down, .gate_b = sh->gate_b,
            .up_b = sh->up_b, .down_b = sh->down_b, .n = (int32_t)n_tokens, .act = LF_MOE_SWIGLU,
        };
    }
    return lf_moe_experts_run(c, w.ex, n_ex, out, x, n_tokens, D, err);
}
