/* The attention, feed-forward and MoE blocks check their work buffers: on
 * stories260K's layer 0, a buffer one float short, or one sized for
 * separate Q/K/V while the layer holds a fused attn_qkv (the "fused-QKV
 * llama" case), is an error naming the sizes, not an overflow (run under
 * SANITIZE=address); the right sizes work. The MoE block (small F32
 * experts over stories260K's width) likewise, and weights that disagree
 * are errors too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "model_util.h"
#include "model/blocks.h"
#include "model/moe.h"

enum { T = 3 };

/* Runs layer 0's attention over T tokens with `floats` of work space. */
static bool attend(lf_context *c, const lf_attn_weights *A, size_t floats, lf_error *err) {
    const lf_hparams *hp = &c->model->hp;
    int32_t tok[T] = {1, 2, 3}, pos[T] = {0, 1, 2}, seq[T] = {0, 0, 0}, cells[T * 4];
    if (!lf_kvcache_alloc(&c->kv, T, pos, seq, cells, err))
        return false;
    lf_ubatch b = {.n = T, .token = tok, .pos = pos, .seq = seq, .cells = cells};
    lf_attn_opts o = {.layer = 0, .ap = lf_attn_heads(hp), .rope = &hp->rope};
    float *x = calloc((size_t)(T * hp->n_embd), sizeof(float));
    float *out = calloc((size_t)(T * hp->n_embd), sizeof(float));
    float *work = malloc(floats * sizeof(float) + 1);
    bool ok = x && out && work && lf_attn_block(c, &b, A, &o, x, out, work, floats, err);
    lf_kvcache_release(&c->kv, T, cells);
    free(x), free(out), free(work);
    return ok;
}

enum { NE = 4, NK = 2, FF = 32 };

static lf_weight f32(float *data, int64_t cols, int64_t rows, int64_t n) {
    return (lf_weight){.type = LF_TYPE_F32, .ne = {cols, rows, n, 1},
                       .row_bytes = sizeof(float) * (size_t)cols, .data = data};
}

static void test_moe(lf_context *c, int64_t E) {
    static float router[NE * 1024], gate[NE * FF * 1024], up[NE * FF * 1024],
        down[NE * 1024 * FF];
    float *x = calloc((size_t)(T * E), sizeof(float)), *out = calloc((size_t)(T * E), sizeof(float));
    for (int i = 0; i < NE * E; i++)
        router[i] = (float)((i * 37) % 11) / 11 - 0.5f;
    for (int i = 0; i < T * E && x; i++)
        x[i] = (float)((i * 13) % 7) / 7 - 0.5f;
    lf_moe_weights w = {.router = f32(router, E, NE, 1), .gate = f32(gate, E, FF, NE),
                        .up = f32(up, E, FF, NE), .down = f32(down, FF, E, NE)};
    lf_moe_params p = {.n_expert = NE, .n_used = NK, .gating = LF_MOE_SOFTMAX, .act = LF_MOE_SWIGLU};
    size_t need = lf_moe_work_floats(&p, T, E, FF), narrow = lf_moe_work_floats(&p, T, E, FF / 2);
    float *work = malloc(need * sizeof(float));
    lf_error err;
    TEST_BEGIN("MoE: the exact work size works, one float less is an error");
    EXPECT(E <= 1024 && x && out && work, "setup");
    bool ready = E <= 1024 && x && out && work;
    EXPECT(ready && lf_moe_forward(c, &w, &p, out, x, T, work, need, &err), "%s", err.msg);
    EXPECT(ready && !lf_moe_forward(c, &w, &p, out, x, T, work, need - 1, &err),
           "a short buffer was accepted");
    EXPECT(strstr(err.msg, "work floats"), "message: %s", err.msg);
    TEST_END();

    /* the experts' own buffers come from the context's scratch, sized there
     * from the weights: the work size does not depend on their widths */
    TEST_BEGIN("MoE: mismatched weights are an error");
    EXPECT(narrow == need, "narrow %zu, need %zu", narrow, need);
    lf_moe_weights bad = w;
    bad.down.ne[0] = FF / 2; /* down reads a narrower hidden layer than up gives */
    EXPECT(ready && !lf_moe_forward(c, &bad, &p, out, x, T, work, need, &err),
           "mismatched down accepted");
    EXPECT(strstr(err.msg, "do not match"), "message: %s", err.msg);
    bad = w;
    bad.router.ne[1] = NE - 1; /* fewer router rows than experts */
    EXPECT(ready && !lf_moe_forward(c, &bad, &p, out, x, T, work, need, &err),
           "a router for %d experts accepted for %d", NE - 1, NE);
    lf_moe_params bp = p;
    bp.n_used = NE + 1;
    EXPECT(ready && !lf_moe_forward(c, &w, &bp, out, x, T, work, need, &err),
           "more experts used than exist was accepted");
    TEST_END();
    free(x), free(out), free(work);
}

int main(void) {
    lf_model *m = load_stories("work buffers");
    if (!m)
        return test_summary();
    lf_error err;
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 32;
    p.n_threads = 1;
    lf_context *c = lf_context_new(m, &p, &err);
    const lf_hparams *hp = &m->hp;
    lf_attn_weights A;
    memset(&A, 0, sizeof A);
    bool bound = c && lf_attn_bind(m, &A, 0, hp->n_head, hp->n_head_kv, 0, &err);
    lf_attn_params ap = lf_attn_heads(hp);
    size_t sep = lf_attn_work_floats(&ap, T, false), fused = lf_attn_work_floats(&ap, T, true);

    TEST_BEGIN("attention: the exact work size works, one float less is an error");
    EXPECT(bound, "setup: %s", err.msg);
    EXPECT(bound && attend(c, &A, sep, &err), "%s", err.msg);
    EXPECT(bound && !attend(c, &A, sep - 1, &err), "a short buffer was accepted");
    EXPECT(strstr(err.msg, "work floats"), "message: %s", err.msg);
    TEST_END();

    TEST_BEGIN("attention: a fused attn_qkv needs the fused size");
    /* attn_qkv as an F32 tensor of zeros in place of attn_q/k/v */
    int64_t E = hp->n_embd, Q = hp->n_head * hp->head_dim_k, K = hp->n_head_kv * hp->head_dim_k;
    int64_t V = hp->n_head_kv * hp->head_dim_v;
    float *qkv = calloc((size_t)(E * (Q + K + V)), sizeof(float));
    lf_attn_weights F = A;
    memset(&F.wq, 0, sizeof F.wq), memset(&F.wk, 0, sizeof F.wk), memset(&F.wv, 0, sizeof F.wv);
    F.wqkv = (lf_weight){.type = LF_TYPE_F32, .ne = {E, Q + K + V, 1, 1},
                         .row_bytes = sizeof(float) * (size_t)E, .data = qkv};
    EXPECT(fused > sep, "fused size %zu not above %zu", fused, sep);
    EXPECT(bound && qkv && !attend(c, &F, sep, &err), "separate-Q/K/V size accepted");
    EXPECT(strstr(err.msg, "work floats"), "message: %s", err.msg);
    EXPECT(bound && qkv && attend(c, &F, fused, &err), "%s", err.msg);
    F.wqkv.ne[1] = Q + K; /* a shape that does not match the heads */
    EXPECT(bound && qkv && !attend(c, &F, fused, &err), "mismatched attn_qkv accepted");
    EXPECT(strstr(err.msg, "do not match"), "message: %s", err.msg);
    free(qkv);
    TEST_END();

    TEST_BEGIN("feed-forward: one float short is an error");
    lf_ffn_weights W;
    memset(&W, 0, sizeof W);
    bool fb = c && lf_ffn_bind(m, &W, 0, "", hp->n_ff, false, &err);
    size_t need = lf_ffn_work_floats(T, hp->n_ff);
    float *x = calloc((size_t)(T * E), sizeof(float)), *work = malloc(need * sizeof(float));
    EXPECT(fb && x && work && lf_ffn_block(c, &W, LF_SWIGLU, x, T, x, work, need, &err), "%s",
           err.msg);
    EXPECT(fb && x && work && !lf_ffn_block(c, &W, LF_SWIGLU, x, T, x, work, need - 1, &err),
           "a short buffer was accepted");
    EXPECT(strstr(err.msg, "work floats"), "message: %s", err.msg);
    free(x), free(work);
    TEST_END();

    if (c)
        test_moe(c, hp->n_embd);
    lf_context_free(c);
    lf_model_free(m);
    return test_summary();
}
