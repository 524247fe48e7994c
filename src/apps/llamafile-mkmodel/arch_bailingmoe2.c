/* arch_bailingmoe2.c — Ling 2.0 family (bailingmoe2): ring-mini-2.0 and
 * ling-mini-2.0 (the same shapes: docs/models.md), and their -small
 * versions for tests. Fused QKV with per-head Q/K norms, partial NEOX
 * RoPE, leading dense blocks, then MoE blocks: sigmoid router with a
 * selection bias, expert groups, one shared expert. */
#include <string.h>

#include "mkmodel.h"

typedef struct shape {
    int n_layer, n_embd, n_head, n_head_kv, head_dim, rope_dim, n_ff, n_dense;
    int n_expert, n_used, n_group, n_group_used, n_ff_exp, n_shared, n_vocab, n_ctx;
} shape;

/* Ling-mini-2.0's config (NeMo's BailingMoeV2Config defaults [3]). */
static const shape k_mini = {20, 2048, 16, 4, 128, 64, 5120, 1,
                             256, 8, 8, 4, 512, 1, 157184, 32768};
static const shape k_small = {4, 256, 4, 2, 64, 32, 512, 1, 16, 4, 4, 2, 128, 1, 2048, 4096};

bool mk_bailingmoe2(mk_model *m, const char *name, const mk_overrides *o, bool *known,
                    lf_error *err) {
    (void)o;
    const shape *s;
    if (!strcmp(name, "ring-mini-2.0") || !strcmp(name, "ling-mini-2.0"))
        s = &k_mini, m->vocab = "ggml-vocab-qwen2.gguf";
    else if (!strcmp(name, "ring-mini-2.0-small") || !strcmp(name, "ling-mini-2.0-small"))
        s = &k_small, m->vocab = "ggml-vocab-llama-spm.gguf";
    else
        return *known = false;
    *known = true;
    m->arch = "bailingmoe2";
    m->n_vocab = s->n_vocab;
    int64_t E = s->n_embd, hd = s->head_dim, qkv = (s->n_head + 2 * s->n_head_kv) * hd;
    int64_t X = s->n_expert, F = s->n_ff_exp, FS = (int64_t)s->n_ff_exp * s->n_shared;
    if (!mk_common(m, name, s->n_ctx, s->n_embd, s->n_layer, s->n_head, 1e-6f, err) ||
        !mk_u32(m, "feed_forward_length", (uint32_t)s->n_ff, err) ||
        !mk_u32(m, "attention.head_count_kv", (uint32_t)s->n_head_kv, err) ||
        !mk_f32(m, "rope.freq_base", 600000.0f, err) ||
        !mk_u32(m, "attention.key_length", (uint32_t)hd, err) ||
        !mk_u32(m, "attention.value_length", (uint32_t)hd, err) ||
        !mk_u32(m, "rope.dimension_count", (uint32_t)s->rope_dim, err) ||
        !mk_u32(m, "leading_dense_block_count", (uint32_t)s->n_dense, err) ||
        !mk_u32(m, "expert_feed_forward_length", (uint32_t)F, err) ||
        !mk_u32(m, "expert_shared_feed_forward_length", (uint32_t)F, err) ||
        !mk_u32(m, "expert_count", (uint32_t)X, err) ||
        !mk_u32(m, "expert_used_count", (uint32_t)s->n_used, err) ||
        !mk_u32(m, "expert_group_count", (uint32_t)s->n_group, err) ||
        !mk_u32(m, "expert_group_used_count", (uint32_t)s->n_group_used, err) ||
        !mk_u32(m, "expert_shared_count", (uint32_t)s->n_shared, err) ||
        !mk_f32(m, "expert_weights_scale", 2.5f, err) ||
        !mk_bool(m, "expert_weights_norm", true, err) ||
        !mk_u32(m, "expert_gating_func", 2, err)) /* sigmoid */
        return false;
    mk_add(m, 0, 0, 0.02f, E, s->n_vocab, 0, "token_embd.weight");
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "output_norm.weight");
    mk_add(m, 0, 0, 0.02f, E, s->n_vocab, 0, "output.weight");
    for (int l = 0; l < s->n_layer; l++) {
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.attn_norm.weight", l);
        mk_add(m, 0, 0, 0.02f, E, qkv, 0, "blk.%d.attn_qkv.weight", l);
        mk_add(m, 0, 1, 0.02f, hd, 0, 0, "blk.%d.attn_q_norm.weight", l);
        mk_add(m, 0, 1, 0.02f, hd, 0, 0, "blk.%d.attn_k_norm.weight", l);
        mk_add(m, 0, 0, 0.02f, s->n_head * hd, E, 0, "blk.%d.attn_output.weight", l);
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.ffn_norm.weight", l);
        if (l < s->n_dense) {
            mk_add(m, 0, 0, 0.02f, E, s->n_ff, 0, "blk.%d.ffn_gate.weight", l);
            mk_add(m, 0, 0, 0.02f, E, s->n_ff, 0, "blk.%d.ffn_up.weight", l);
            mk_add(m, 0, 0, 0.02f, s->n_ff, E, 0, "blk.%d.ffn_down.weight", l);
            continue;
        }
        mk_add(m, 1, 0, 0.02f, E, X, 0, "blk.%d.ffn_gate_inp.weight", l);
        mk_add(m, 0, 0, 0.02f, X, 0, 0, "blk.%d.exp_probs_b.bias", l);
        mk_add(m, 0, 0, 0.02f, E, F, X, "blk.%d.ffn_gate_exps.weight", l);
        mk_add(m, 0, 0, 0.02f, E, F, X, "blk.%d.ffn_up_exps.weight", l);
        mk_add(m, 0, 0, 0.02f, F, E, X, "blk.%d.ffn_down_exps.weight", l);
        mk_add(m, 0, 0, 0.02f, E, FS, 0, "blk.%d.ffn_gate_shexp.weight", l);
        mk_add(m, 0, 0, 0.02f, E, FS, 0, "blk.%d.ffn_up_shexp.weight", l);
        mk_add(m, 0, 0, 0.02f, FS, E, 0, "blk.%d.ffn_down_shexp.weight", l);
    }
    return true;
}
