/* arch_granitehybrid.c — IBM Granite 4.0-H (granitehybrid):
 * granite-4.0-h-tiny and granite-4.0-h-tiny-small. Mamba-2 layers with a
 * few attention layers (no RoPE) between them, every layer followed by a
 * MoE with a shared expert; Granite's scalar multipliers. The card gives
 * only the count of attention layers: they are put at 5, 15, 25, 35. */
#include <string.h>

#include "mkmodel.h"

typedef struct shape {
    int n_layer, attn_period, attn_offset, n_embd, n_head, n_head_kv, head_dim;
    int d_inner, d_state, ssm_heads, n_group, d_conv;
    int n_expert, n_used, n_ff_exp, n_ff_shexp, n_vocab, n_ctx;
} shape;

static const shape k_tiny = {40, 10, 5, 1536, 12, 4, 128, 3072, 128, 48, 1, 4,
                             64, 6, 512, 1024, 100352, 1048576};
static const shape k_small = {4, 2, 1, 256, 4, 2, 64, 512, 64, 8, 1, 4,
                              8, 2, 128, 256, 2048, 4096};

static void moe(mk_model *m, const shape *s, int l) {
    int64_t E = s->n_embd, X = s->n_expert, F = s->n_ff_exp, FS = s->n_ff_shexp;
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.ffn_norm.weight", l);
    mk_add(m, 1, 0, 0.02f, E, X, 0, "blk.%d.ffn_gate_inp.weight", l);
    mk_add(m, 0, 0, 0.02f, E, F, X, "blk.%d.ffn_gate_exps.weight", l);
    mk_add(m, 0, 0, 0.02f, E, F, X, "blk.%d.ffn_up_exps.weight", l);
    mk_add(m, 0, 0, 0.02f, F, E, X, "blk.%d.ffn_down_exps.weight", l);
    mk_add(m, 0, 0, 0.02f, E, FS, 0, "blk.%d.ffn_gate_shexp.weight", l);
    mk_add(m, 0, 0, 0.02f, E, FS, 0, "blk.%d.ffn_up_shexp.weight", l);
    mk_add(m, 0, 0, 0.02f, FS, E, 0, "blk.%d.ffn_down_shexp.weight", l);
}

static void mamba2(mk_model *m, const shape *s, int l) {
    int64_t E = s->n_embd, H = s->ssm_heads, GS = (int64_t)s->n_group * s->d_state;
    int64_t conv = s->d_inner + 2 * GS;
    mk_add(m, 0, 0, 0.02f, E, 2 * s->d_inner + 2 * GS + H, 0, "blk.%d.ssm_in.weight", l);
    mk_add(m, 1, 0, 0.2f, s->d_conv, conv, 0, "blk.%d.ssm_conv1d.weight", l);
    mk_add(m, 0, 0, 0.02f, conv, 0, 0, "blk.%d.ssm_conv1d.bias", l);
    mk_add(m, 0, 0, 0.1f, H, 0, 0, "blk.%d.ssm_dt.bias", l);
    /* A = -exp(A_log) < 0, as the converter stores it */
    mk_add(m, 1, 0, 0, 1, H, 0, "blk.%d.ssm_a", l);
    mk_uniform(m, -8.0f, -1.0f);
    mk_add(m, 1, 1, 0.1f, 1, H, 0, "blk.%d.ssm_d", l);
    mk_add(m, 1, 1, 0.02f, s->d_inner / s->n_group, s->n_group, 0, "blk.%d.ssm_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, s->d_inner, E, 0, "blk.%d.ssm_out.weight", l);
}

static bool is_attn(const shape *s, int l) { return l % s->attn_period == s->attn_offset; }

bool mk_granitehybrid(mk_model *m, const char *name, const mk_overrides *o, bool *known,
                      lf_error *err) {
    (void)o;
    const shape *s;
    if (!strcmp(name, "granite-4.0-h-tiny"))
        s = &k_tiny, m->vocab = "ggml-vocab-gpt-2.gguf";
    else if (!strcmp(name, "granite-4.0-h-tiny-small"))
        s = &k_small, m->vocab = "ggml-vocab-llama-spm.gguf";
    else
        return *known = false;
    *known = true;
    m->arch = "granitehybrid";
    m->n_vocab = s->n_vocab;
    int32_t kv[64];
    for (int l = 0; l < s->n_layer && l < 64; l++)
        kv[l] = is_attn(s, l) ? s->n_head_kv : 0;
    if (!mk_common(m, name, s->n_ctx, s->n_embd, s->n_layer, s->n_head, 1e-5f, err) ||
        !mk_u32(m, "feed_forward_length", (uint32_t)s->n_ff_exp, err) ||
        !lf_gguf_set_arr(m->w, "granitehybrid.attention.head_count_kv", LF_GGUF_INT32, kv,
                         (uint64_t)s->n_layer, err) ||
        !mk_u32(m, "expert_count", (uint32_t)s->n_expert, err) ||
        !mk_u32(m, "expert_used_count", (uint32_t)s->n_used, err) ||
        !mk_u32(m, "expert_shared_feed_forward_length", (uint32_t)s->n_ff_shexp, err) ||
        !mk_f32(m, "embedding_scale", 12.0f, err) ||
        !mk_f32(m, "residual_scale", 0.22f, err) ||
        !mk_f32(m, "attention.scale", 0.0078125f, err) ||
        !mk_f32(m, "logit_scale", 6.0f, err) ||
        !mk_u32(m, "ssm.conv_kernel", (uint32_t)s->d_conv, err) ||
        !mk_u32(m, "ssm.inner_size", (uint32_t)s->d_inner, err) ||
        !mk_u32(m, "ssm.state_size", (uint32_t)s->d_state, err) ||
        !mk_u32(m, "ssm.time_step_rank", (uint32_t)s->ssm_heads, err) ||
        !mk_u32(m, "ssm.group_count", (uint32_t)s->n_group, err) ||
        !mk_bool(m, "rope.scaling.finetuned", false, err) ||
        !mk_u32(m, "rope.dimension_count", (uint32_t)s->head_dim, err))
        return false;
    int64_t E = s->n_embd, hd = s->head_dim;
    mk_add(m, 0, 0, 0.02f, E, s->n_vocab, 0, "token_embd.weight"); /* tied output */
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "output_norm.weight");
    for (int l = 0; l < s->n_layer; l++) {
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.attn_norm.weight", l);
        if (is_attn(s, l)) {
            mk_add(m, 0, 0, 0.02f, E, s->n_head * hd, 0, "blk.%d.attn_q.weight", l);
            mk_add(m, 0, 0, 0.02f, E, s->n_head_kv * hd, 0, "blk.%d.attn_k.weight", l);
            mk_add(m, 0, 0, 0.02f, E, s->n_head_kv * hd, 0, "blk.%d.attn_v.weight", l);
            mk_add(m, 0, 0, 0.02f, s->n_head * hd, E, 0, "blk.%d.attn_output.weight", l);
        } else
            mamba2(m, s, l);
        moe(m, s, l);
    }
    return true;
}
