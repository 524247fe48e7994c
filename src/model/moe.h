/* moe.h — the mixture-of-experts feed-forward shared by the MoE
 * architectures (spec archs.md §0.7): router logits (+ bias), gating,
 * selection bias, grouped top-k, weight normalisation and scale, then only
 * the selected experts, with the batch's tokens grouped by expert so each
 * expert runs one matrix-matrix product. Shared experts are the arch's job.
 *
 * Typical use in an architecture file:
 *   load:    lf_moe_read_params(m, &p, LF_MOE_SOFTMAX, err);   (then override fields)
 *            lf_moe_bind(m, &layer->moe, &p, il, n_embd, n_ff_exp, err);
 *   forward: carve lf_moe_work_floats(&p, T, n_embd, n_ff_exp) floats with
 *            the other buffers (lf_ctx_buffers), then
 *            lf_moe_forward(c, &layer->moe, &p, out, x, T, work, floats, err);
 *            out = Σ_e w_e · expert_e(x), to be added to the residual. */
#ifndef LF_MODEL_MOE_H
#define LF_MODEL_MOE_H

#include "model/blocks.h"

#define LF_MOE_MAX_EXPERT 512

/* Values of {arch}.expert_gating_func (llama.cpp's numbering). */
enum lf_moe_gating {
    LF_MOE_SOFTMAX = 1,        /* p = softmax(l) over all experts */
    LF_MOE_SIGMOID = 2,        /* p = sigmoid(l) */
    LF_MOE_SOFTMAX_WEIGHT = 3, /* p = l; weights = softmax over the K chosen l */
    LF_MOE_SQRT_SOFTPLUS = 4,  /* p = sqrt(softplus(l)) */
};

enum lf_moe_act {
    LF_MOE_SWIGLU = 0,     /* silu(gate) * up */
    LF_MOE_SWIGLU_OAI = 1, /* gpt-oss: g = min(gate, 7), u = clamp(up, -7, 7),
                              g * sigmoid(1.702 g) * (u + 1) */
};

typedef struct lf_moe_params {
    int n_expert, n_used;      /* E, K */
    int n_group, n_group_used; /* grouped selection when n_group > 1 */
    int gating;                /* enum lf_moe_gating */
    bool norm_w;               /* divide the K weights by their sum */
    float w_scale;             /* multiply the weights (0 or 1: not applied) */
    int act;                   /* enum lf_moe_act */
} lf_moe_params;

/* One layer's MoE tensors. Expert stacks are 3-D: gate/up {n_embd, n_ff, E},
 * down {n_ff, n_embd, E}; biases are [E][n_ff] / [E][n_embd]. Any bias may
 * be NULL. */
typedef struct lf_moe_weights {
    lf_weight router;       /* ffn_gate_inp {n_embd, E} */
    const float *router_b;  /* ffn_gate_inp.bias [E] */
    const float *select_b;  /* exp_probs_b.bias [E]: added to p for choosing only */
    lf_weight gate, up, down;
    const float *gate_b, *up_b, *down_b;
    /* an always-on shared expert (swiglu, weight 1) run in the same job
     * and added after the routed ones, or NULL; set after lf_moe_bind */
    const lf_ffn_weights *shared;
} lf_moe_weights;

/* Reads expert_count, expert_used_count (required), expert_group_count,
 * expert_group_used_count, expert_gating_func (default `gating`),
 * expert_weights_norm (false) and expert_weights_scale (0) of m's arch, and
 * checks them (E <= LF_MOE_MAX_EXPERT, 0 < K <= E, groups divide E, ...).
 * act is set to LF_MOE_SWIGLU. llama.cpp hard-codes some of these per arch
 * (gpt-oss: SOFTMAX_WEIGHT, no norm, no scale; granitehybrid: SOFTMAX,
 * norm_w, no scale): override such fields afterwards, then lf_moe_check. */
bool lf_moe_read_params(const lf_model *m, lf_moe_params *p, int gating, lf_error *err);
bool lf_moe_check(const lf_moe_params *p, lf_error *err);

/* Binds blk.<layer>.ffn_gate_inp.weight (+ optional .bias), the optional
 * blk.<layer>.exp_probs_b.bias and blk.<layer>.ffn_{gate,up,down}_exps
 * .weight (+ optional .bias; gate optional: then act = silu(up)) with shape
 * checks. Non-F32 biases are converted once into m->owned. */
bool lf_moe_bind(lf_model *m, lf_moe_weights *w, const lf_moe_params *p, int64_t layer,
                 int64_t n_embd, int64_t n_ff, lf_error *err);

/* Floats of work memory lf_moe_forward needs for n_tokens tokens. */
size_t lf_moe_work_floats(const lf_moe_params *p, int64_t n_tokens, int64_t n_embd, int64_t n_ff);

/* Routing for n_tokens tokens: logits [n_tokens][E] (router output, bias
 * already added) → ids [n_tokens][K] (by descending selection score) and
 * their weights [n_tokens][K]. select_b may be NULL. */
void lf_moe_route(const lf_moe_params *p, const float *logits, const float *select_b,
                  int64_t n_tokens, int32_t *ids, float *weights);

/* out[t] (n_embd floats, overwritten) = Σ_{e chosen for t} w_e · expert_e(x[t])
 * (+ shared(x[t]) when w->shared is set)
 * for the n_tokens rows of x (the normed hidden state). work holds
 * work_floats floats and must not alias out or x. The params are checked
 * (lf_moe_check), the weights' shapes against each other and p, and
 * lf_moe_work_floats for the weights' widths against work_floats: a
 * mismatch is an error, not an overflow. */
bool lf_moe_forward(lf_context *c, const lf_moe_weights *w, const lf_moe_params *p, float *out,
                    const float *x, int64_t n_tokens, float *work, size_t work_floats,
                    lf_error *err);

/* ---- the experts' evaluation (moe_experts.c) ---- */

/* One expert's share of a layer: its matrices (slice `slice` of the stacks;
 * gate->data NULL: no gate, act = silu(up)), its own bias rows (or NULL),
 * and the n tokens it takes (tok NULL: tokens 0..n-1) with their weights
 * (wt NULL: 1). */
typedef struct lf_moe_expert {
    const lf_weight *gate, *up, *down;
    int64_t slice;
    const float *gate_b, *up_b, *down_b;
    const int32_t *tok;
    const float *wt;
    int32_t n;
    int act; /* enum lf_moe_act */
} lf_moe_expert;

/* out[t] (D floats, overwritten) = Σ over the n_ex experts in order of
 * wt · down(act(gate x[t], up x[t])) for the tokens each takes, in one pool
 * job; the same numbers as one lf_matmul per product, for any thread count.
 * Work memory comes from c->mm. */
bool lf_moe_experts_run(lf_context *c, const lf_moe_expert *ex, int n_ex, float *out,
                        const float *x, int64_t T, int64_t D, lf_error *err);

#endif
