/* arch_gpt_oss.c — OpenAI's gpt-oss: gpt-oss-20b and gpt-oss-20b-small.
 * Biases everywhere, attention sinks, a sliding window on even layers,
 * YaRN, softmax-over-chosen routing; the experts are MXFP4 in the usual
 * MXFP4_MOE file. */
#include <string.h>

#include "mkmodel.h"

typedef struct shape {
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_expert, n_used, n_ff_exp, n_swa;
    int n_vocab, n_ctx;
} shape;

static const shape k_20b = {24, 2880, 64, 8, 64, 32, 4, 2880, 128, 201088, 131072};
static const shape k_small = {4, 256, 8, 2, 64, 8, 2, 256, 16, 2048, 4096};

bool mk_gpt_oss(mk_model *m, const char *name, const mk_overrides *o, bool *known,
                lf_error *err) {
    (void)o;
    const shape *s;
    if (!strcmp(name, "gpt-oss-20b"))
        s = &k_20b, m->vocab = "ggml-vocab-gpt-oss.gguf";
    else if (!strcmp(name, "gpt-oss-20b-small"))
        s = &k_small, m->vocab = "ggml-vocab-llama-spm.gguf";
    else
        return *known = false;
    *known = true;
    m->arch = "gpt-oss";
    m->n_vocab = s->n_vocab;
    int64_t E = s->n_embd, hd = s->head_dim, q = s->n_head * hd, kv = s->n_head_kv * hd;
    int64_t X = s->n_expert, F = s->n_ff_exp;
    if (!mk_common(m, name, s->n_ctx, s->n_embd, s->n_layer, s->n_head, 1e-5f, err) ||
        !mk_u32(m, "attention.head_count_kv", (uint32_t)s->n_head_kv, err) ||
        !mk_f32(m, "rope.freq_base", 150000.0f, err) ||
        !mk_u32(m, "feed_forward_length", (uint32_t)F, err) ||
        !mk_u32(m, "expert_feed_forward_length", (uint32_t)F, err) ||
        !mk_u32(m, "expert_count", (uint32_t)X, err) ||
        !mk_u32(m, "expert_used_count", (uint32_t)s->n_used, err) ||
        !mk_u32(m, "attention.key_length", (uint32_t)hd, err) ||
        !mk_u32(m, "attention.value_length", (uint32_t)hd, err) ||
        !mk_u32(m, "rope.dimension_count", (uint32_t)hd, err) ||
        !mk_u32(m, "attention.sliding_window", (uint32_t)s->n_swa, err) ||
        !mk_str(m, "rope.scaling.type", "yarn", err) ||
        !mk_f32(m, "rope.scaling.factor", 32.0f, err) ||
        !mk_u32(m, "rope.scaling.original_context_length", 4096, err))
        return false;
    mk_add(m, 0, 0, 0.02f, E, s->n_vocab, 0, "output.weight");
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "output_norm.weight");
    mk_add(m, 0, 0, 0.02f, E, s->n_vocab, 0, "token_embd.weight");
    for (int l = 0; l < s->n_layer; l++) {
        mk_add(m, 0, 0, 0.02f, kv, 0, 0, "blk.%d.attn_k.bias", l);
        mk_add(m, 0, 0, 0.02f, E, kv, 0, "blk.%d.attn_k.weight", l);
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.attn_norm.weight", l);
        mk_add(m, 0, 0, 0.02f, E, 0, 0, "blk.%d.attn_output.bias", l);
        mk_add(m, 0, 0, 0.02f, q, E, 0, "blk.%d.attn_output.weight", l);
        mk_add(m, 0, 0, 0.02f, q, 0, 0, "blk.%d.attn_q.bias", l);
        mk_add(m, 0, 0, 0.02f, E, q, 0, "blk.%d.attn_q.weight", l);
        mk_add(m, 0, 0, 0.5f, s->n_head, 0, 0, "blk.%d.attn_sinks.weight", l);
        mk_add(m, 0, 0, 0.02f, kv, 0, 0, "blk.%d.attn_v.bias", l);
        mk_add(m, 0, 0, 0.02f, E, kv, 0, "blk.%d.attn_v.weight", l);
        mk_add(m, 1, 0, 0.02f, E, X, 0, "blk.%d.ffn_down_exps.bias", l);
        mk_add(m, 0, 0, 0.02f, F, E, X, "blk.%d.ffn_down_exps.weight", l);
        mk_add(m, 1, 0, 0.02f, F, X, 0, "blk.%d.ffn_gate_exps.bias", l);
        mk_add(m, 0, 0, 0.02f, E, F, X, "blk.%d.ffn_gate_exps.weight", l);
        mk_add(m, 0, 0, 0.02f, X, 0, 0, "blk.%d.ffn_gate_inp.bias", l);
        mk_add(m, 1, 0, 0.02f, E, X, 0, "blk.%d.ffn_gate_inp.weight", l);
        mk_add(m, 1, 0, 0.02f, F, X, 0, "blk.%d.ffn_up_exps.bias", l);
        mk_add(m, 0, 0, 0.02f, E, F, X, "blk.%d.ffn_up_exps.weight", l);
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.post_attention_norm.weight", l);
    }
    return true;
}
