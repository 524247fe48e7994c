/* The shared MoE block: routing (softmax / sigmoid / SOFTMAX_WEIGHT gating,
 * selection bias, grouped top-k, weight normalisation and scale) against
 * hand-computed cases; parameter checks; and lf_moe_forward (tokens grouped
 * by expert, biases, swiglu / swiglu_oai, gate-less experts) against a naive
 * one-token-at-a-time evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "model/moe.h"
#include "tensor/types.h"

static bool near(float a, float b) { return fabsf(a - b) <= 1e-5f * (1 + fabsf(b)); }

static void expect_route(const char *name, const lf_moe_params *p, const float *logits,
                         const float *select_b, const int32_t *want_ids, const float *want_w) {
    int32_t ids[8];
    float w[8];
    TEST_BEGIN(name);
    lf_error err;
    EXPECT(lf_moe_check(p, &err), "params rejected: %s", err.msg);
    lf_moe_route(p, logits, select_b, 1, ids, w);
    for (int k = 0; k < p->n_used; k++) {
        EXPECT(ids[k] == want_ids[k], "slot %d: expert %d, want %d", k, ids[k], want_ids[k]);
        EXPECT(near(w[k], want_w[k]), "slot %d: weight %.7g, want %.7g", k, w[k], want_w[k]);
    }
    TEST_END();
}

static void test_routing(void) {
    /* softmax over all 4, top 2, renormalised: e^3/(e^3+e^2) = 1/(1+e^-1) */
    lf_moe_params sm = {.n_expert = 4, .n_used = 2, .gating = LF_MOE_SOFTMAX, .norm_w = true};
    expect_route("route softmax top-2 normalised", &sm, (float[]){1, 3, 2, 0}, NULL,
                 (int32_t[]){1, 2}, (float[]){0.7310586f, 0.2689414f});
    /* without normalisation the weights are the softmax over all 4 */
    sm.norm_w = false;
    float s4 = expf(1) + expf(3) + expf(2) + expf(0);
    expect_route("route softmax top-2 raw", &sm, (float[]){1, 3, 2, 0}, NULL, (int32_t[]){1, 2},
                 (float[]){expf(3) / s4, expf(2) / s4});

    /* gpt-oss: choose on raw logits, weigh by a softmax over the chosen */
    lf_moe_params sw = {.n_expert = 4, .n_used = 2, .gating = LF_MOE_SOFTMAX_WEIGHT};
    expect_route("route softmax_weight", &sw, (float[]){0.5f, 2, -1, 1}, NULL, (int32_t[]){1, 3},
                 (float[]){0.7310586f, 0.2689414f});

    /* sigmoid + selection bias, 8 experts. Logits 0 give p = 0.5, ln 3
     * gives 0.75. Scores p + b: e0 1.4, e1 0.0, e2 0.8, e3 0.75, e4 0.5,
     * e5 0.5, e6 0.3, e7 1.6. Ungrouped top-2: e7, e0. The bias only
     * chooses: weights are p7 = 0.75, p0 = 0.5, normalised 0.6/0.4, x2.5. */
    float lg[8] = {0, 0, 0, 0, 0, 0, 0, logf(3)};
    float b[8] = {0.9f, -0.5f, 0.3f, 0.25f, 0, 0, -0.2f, 0.85f};
    lf_moe_params sg = {.n_expert = 8, .n_used = 2, .gating = LF_MOE_SIGMOID, .norm_w = true,
                        .w_scale = 2.5f};
    expect_route("route sigmoid + selection bias", &sg, lg, b, (int32_t[]){7, 0},
                 (float[]){1.5f, 1.0f});
    /* grouped, 4 groups of 2, keep 2: group sums g0 1.4, g1 1.55, g2 1.0,
     * g3 1.9 -> g3 and g1 stay, e0 (1.4) drops out; top-2 of e2,e3,e6,e7
     * = e7, e2 with p 0.75 and 0.5 */
    sg.n_group = 4;
    sg.n_group_used = 2;
    expect_route("route grouped top-k drops the best expert's group", &sg, lg, b,
                 (int32_t[]){7, 2}, (float[]){1.5f, 1.0f});

    /* a group scores by its two best, not its best: A = (1.0, 0.0) sums 1.0,
     * B = (0.6, 0.59) sums 1.19 and wins with one group kept */
    lf_moe_params g2 = {.n_expert = 4, .n_used = 2, .n_group = 2, .n_group_used = 1,
                        .gating = LF_MOE_SOFTMAX_WEIGHT};
    float e01 = expf(0.01f);
    expect_route("route group score is the top-2 sum", &g2, (float[]){1.0f, 0.0f, 0.6f, 0.59f},
                 NULL, (int32_t[]){2, 3}, (float[]){e01 / (1 + e01), 1 / (1 + e01)});

    /* normalisation divides by at least 2^-14 (llama.cpp's clamp) */
    lf_moe_params tiny = {.n_expert = 2, .n_used = 2, .gating = LF_MOE_SIGMOID, .norm_w = true};
    float p20 = 1.0f / (1.0f + expf(20.0f));
    expect_route("route weight sum clamp", &tiny, (float[]){-20, -20}, NULL, (int32_t[]){0, 1},
                 (float[]){p20 / 6.103515625e-5f, p20 / 6.103515625e-5f});

    /* several tokens at once route independently */
    TEST_BEGIN("route a batch");
    float l3[12] = {1, 3, 2, 0, 0, 0, 5, 1, -1, -2, -3, 4};
    int32_t ids[6];
    float w[6];
    lf_moe_params sm2 = {.n_expert = 4, .n_used = 2, .gating = LF_MOE_SOFTMAX, .norm_w = true};
    lf_moe_route(&sm2, l3, NULL, 3, ids, w);
    EXPECT(ids[0] == 1 && ids[1] == 2 && ids[2] == 2 && ids[3] == 3 && ids[4] == 3 && ids[5] == 0,
           "ids %d %d / %d %d / %d %d", ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    EXPECT(near(w[2], 1 / (1 + expf(-4))) && near(w[4], 1 / (1 + expf(-5))), "weights");
    TEST_END();
}

static void test_check(void) {
    TEST_BEGIN("params checked");
    lf_error err;
    lf_moe_params ok = {.n_expert = 8, .n_used = 2, .n_group = 4, .n_group_used = 2,
                        .gating = LF_MOE_SIGMOID};
    EXPECT(lf_moe_check(&ok, &err), "valid params rejected: %s", err.msg);
    lf_moe_params p = ok;
    p.n_used = 9;
    EXPECT(!lf_moe_check(&p, &err), "K > E accepted");
    p = ok, p.n_group = 3;
    EXPECT(!lf_moe_check(&p, &err), "3 groups of 8 accepted");
    p = ok, p.n_group_used = 4;
    EXPECT(!lf_moe_check(&p, &err), "all groups used accepted");
    p = ok, p.n_group_used = 1, p.n_used = 3;
    EXPECT(!lf_moe_check(&p, &err), "3 experts from one group of 2 accepted");
    p = ok, p.gating = 7;
    EXPECT(!lf_moe_check(&p, &err), "gating 7 accepted");
    p = ok, p.n_expert = LF_MOE_MAX_EXPERT + 8;
    EXPECT(!lf_moe_check(&p, &err), "too many experts accepted");
    TEST_END();
}

/* ------------------------------------------------------- forward vs naive */

enum { D = 8, F = 6, NE = 4, NK = 2, NT = 7 };

static float rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static lf_weight f32_weight(const float *data, int64_t n0, int64_t n1, int64_t n2) {
    return (lf_weight){.type = LF_TYPE_F32, .ne = {n0, n1, n2, 1},
                       .row_bytes = sizeof(float) * (size_t)n0, .data = data};
}

/* y = W x for one n_out x n_in matrix */
static void matvec(float *y, const float *W, const float *x, int n_out, int n_in) {
    for (int r = 0; r < n_out; r++) {
        float s = 0;
        for (int i = 0; i < n_in; i++)
            s += W[r * n_in + i] * x[i];
        y[r] = s;
    }
}

static float act_ref(int act, bool gate, float g, float u) {
    if (!gate)
        return u / (1 + expf(-u));
    if (act == LF_MOE_SWIGLU)
        return g / (1 + expf(-g)) * u;
    float x = g > 7 ? 7 : g, y = u > 7 ? 7 : u < -7 ? -7 : u;
    return x / (1 + expf(-1.702f * x)) * (y + 1);
}

static void forward_case(const char *name, lf_pool *pool, int act, bool with_gate, bool biases,
                         int gating) {
    static float router[NE * D], rb[NE], gate[NE * F * D], up[NE * F * D], down[NE * D * F];
    static float gb[NE * F], ub[NE * F], db[NE * D], x[NT * D];
    unsigned s = 12345u + (unsigned)act * 7 + (unsigned)with_gate * 3 + (unsigned)gating;
    for (int i = 0; i < NE * D; i++) router[i] = rnd(&s);
    for (int i = 0; i < NE; i++) rb[i] = 0.3f * rnd(&s);
    for (int i = 0; i < NE * F * D; i++) gate[i] = 4 * rnd(&s), up[i] = 4 * rnd(&s);
    for (int i = 0; i < NE * D * F; i++) down[i] = rnd(&s);
    for (int i = 0; i < NE * F; i++) gb[i] = rnd(&s), ub[i] = rnd(&s);
    for (int i = 0; i < NE * D; i++) db[i] = rnd(&s);
    for (int i = 0; i < NT * D; i++) x[i] = rnd(&s);

    lf_moe_weights w = {
        .router = f32_weight(router, D, NE, 1), .router_b = biases ? rb : NULL,
        .gate = with_gate ? f32_weight(gate, D, F, NE) : (lf_weight){0},
        .up = f32_weight(up, D, F, NE), .down = f32_weight(down, F, D, NE),
        .gate_b = biases ? gb : NULL, .up_b = biases ? ub : NULL, .down_b = biases ? db : NULL,
    };
    lf_moe_params p = {.n_expert = NE, .n_used = NK, .gating = gating, .norm_w = true,
                       .w_scale = 1.5f, .act = act};
    lf_context c = {.pool = pool};
    float *work = malloc(sizeof(float) * lf_moe_work_floats(&p, NT, D, F));
    float out[NT * D];
    lf_error err;
    TEST_BEGIN(name);
    bool ok = work && lf_moe_forward(&c, &w, &p, out, x, NT, work, lf_moe_work_floats(&p, NT, D, F), &err);
    EXPECT(ok, "lf_moe_forward failed: %s", ok ? "" : err.msg);
    int used[NE] = {0};
    for (int t = 0; ok && t < NT; t++) {
        const float *xt = x + t * D;
        float lg[NE], wt[NK], ref[D] = {0};
        int32_t ids[NK];
        matvec(lg, router, xt, NE, D);
        for (int e = 0; biases && e < NE; e++)
            lg[e] += rb[e];
        lf_moe_route(&p, lg, NULL, 1, ids, wt);
        for (int k = 0; k < NK; k++) {
            int e = ids[k];
            float g[F], u[F], hdn[F], y[D];
            used[e]++;
            matvec(g, gate + e * F * D, xt, F, D);
            matvec(u, up + e * F * D, xt, F, D);
            for (int i = 0; i < F; i++)
                hdn[i] = act_ref(act, with_gate, g[i] + (biases ? gb[e * F + i] : 0),
                                 u[i] + (biases ? ub[e * F + i] : 0));
            matvec(y, down + e * D * F, hdn, D, F);
            for (int i = 0; i < D; i++)
                ref[i] += wt[k] * (y[i] + (biases ? db[e * D + i] : 0));
        }
        for (int i = 0; i < D; i++)
            EXPECT(fabsf(out[t * D + i] - ref[i]) <= 1e-4f * (1 + fabsf(ref[i])),
                   "token %d [%d]: %g, want %g", t, i, out[t * D + i], ref[i]);
    }
    int n_used_experts = 0;
    for (int e = 0; e < NE; e++)
        n_used_experts += used[e] > 0;
    EXPECT(n_used_experts >= 3, "test data routes to only %d experts", n_used_experts);
    TEST_END();
    lf_scratch_free(&c.mm);
    free(work);
}

int main(void) {
    test_routing();
    test_check();
    lf_error err;
    lf_pool *pool = lf_pool_new(3, &err);
    if (!pool) {
        printf("FAIL pool: %s\n", err.msg);
        return 1;
    }
    forward_case("forward swiglu softmax, grouped tokens", pool, LF_MOE_SWIGLU, true, false,
                 LF_MOE_SOFTMAX);
    forward_case("forward swiglu_oai + biases (gpt-oss)", pool, LF_MOE_SWIGLU_OAI, true, true,
                 LF_MOE_SOFTMAX_WEIGHT);
    forward_case("forward without gate (silu(up))", pool, LF_MOE_SWIGLU, false, true,
                 LF_MOE_SIGMOID);
    lf_pool_free(pool);
    return test_summary();
}
