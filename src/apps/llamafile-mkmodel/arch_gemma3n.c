/* arch_gemma3n.c — Gemma 3n (gemma3n): gemma-3n-e4b (the text decoder of
 * gemma-3n-E4B-it) and gemma-3n-e4b-small. AltUp (4 streams), LAuReL
 * (rank 64), per-layer embeddings (256 per layer), activation sparsity in
 * the first 10 layers, sliding window on 4 of every 5 layers, the last
 * layers sharing KV. The per-layer token embedding has one row per token
 * of the vocabulary, as both loaders require. */
#include <string.h>

#include "mkmodel.h"

enum { PER_LAYER = 256, ALTUP = 4, LAUREL = 64, SPARSE_LAYERS = 10 };

typedef struct shape {
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_swa, n_shared_kv, n_vocab, n_ctx;
} shape;

static const shape k_e4b = {35, 2048, 8, 2, 256, 16384, 512, 15, 262400, 32768};
/* llama.cpp (and so we) hard-code E2B/E4B's structure: at least 20 layers
 * of their own KV */
static const shape k_small = {25, 256, 4, 2, 64, 512, 16, 5, 2048, 4096};

static void layer(mk_model *m, const shape *s, int l) {
    int64_t E = s->n_embd, hd = s->head_dim, q = s->n_head * hd, kv = s->n_head_kv * hd;
    mk_add(m, 0, 0, 0.02f, ALTUP, ALTUP, 0, "blk.%d.altup_correct_coef.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.altup_correct_scale.weight", l);
    mk_add(m, 0, 0, 0.02f, ALTUP, ALTUP * ALTUP, 0, "blk.%d.altup_predict_coef.weight", l);
    mk_add(m, 0, 0, 0.02f, E, ALTUP, 0, "blk.%d.altup_router.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.altup_router_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, E, kv, 0, "blk.%d.attn_k.weight", l);
    mk_add(m, 0, 1, 0.02f, hd, 0, 0, "blk.%d.attn_k_norm.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.attn_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, q, E, 0, "blk.%d.attn_output.weight", l);
    mk_add(m, 0, 0, 0.02f, E, q, 0, "blk.%d.attn_q.weight", l);
    mk_add(m, 0, 1, 0.02f, hd, 0, 0, "blk.%d.attn_q_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, E, kv, 0, "blk.%d.attn_v.weight", l);
    mk_add(m, 0, 0, 0.02f, s->n_ff, E, 0, "blk.%d.ffn_down.weight", l);
    mk_add(m, 0, 0, 0.02f, E, s->n_ff, 0, "blk.%d.ffn_gate.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.ffn_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, E, s->n_ff, 0, "blk.%d.ffn_up.weight", l);
    mk_add(m, 0, 0, 0.02f, E, PER_LAYER, 0, "blk.%d.inp_gate.weight", l);
    mk_add(m, 0, 0, 0.02f, E, LAUREL, 0, "blk.%d.laurel_l.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.laurel_post_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, LAUREL, E, 0, "blk.%d.laurel_r.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.post_attention_norm.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.post_ffw_norm.weight", l);
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%d.post_norm.weight", l);
    mk_add(m, 0, 0, 0.02f, PER_LAYER, E, 0, "blk.%d.proj.weight", l);
}

bool mk_gemma3n(mk_model *m, const char *name, const mk_overrides *o, bool *known,
                lf_error *err) {
    (void)o;
    const shape *s;
    if (!strcmp(name, "gemma-3n-e4b"))
        s = &k_e4b;
    else if (!strcmp(name, "gemma-3n-e4b-small"))
        s = &k_small;
    else
        return *known = false;
    *known = true;
    m->arch = "gemma3n";
    m->n_vocab = s->n_vocab;
    m->vocab = "ggml-vocab-llama-spm.gguf";
    float sparsity[64];
    bool swa[64];
    for (int l = 0; l < s->n_layer && l < 64; l++) {
        sparsity[l] = l < SPARSE_LAYERS ? 1.6448534f : 0.0f; /* N(0,1)'s 95th percentile */
        swa[l] = l % 5 != 4;
    }
    if (!mk_common(m, name, s->n_ctx, s->n_embd, s->n_layer, s->n_head, 1e-6f, err) ||
        !mk_u32(m, "feed_forward_length", (uint32_t)s->n_ff, err) ||
        !mk_u32(m, "attention.head_count_kv", (uint32_t)s->n_head_kv, err) ||
        !mk_f32(m, "rope.freq_base", 1e6f, err) ||
        !mk_u32(m, "attention.key_length", (uint32_t)s->head_dim, err) ||
        !mk_u32(m, "attention.value_length", (uint32_t)s->head_dim, err) ||
        !mk_u32(m, "attention.sliding_window", (uint32_t)s->n_swa, err) ||
        !mk_f32(m, "rope.freq_base_swa", 10000.0f, err) ||
        !mk_u32(m, "altup.active_idx", 0, err) ||
        !mk_u32(m, "altup.num_inputs", ALTUP, err) ||
        !mk_u32(m, "embedding_length_per_layer_input", PER_LAYER, err) ||
        !mk_u32(m, "attention.shared_kv_layers", (uint32_t)s->n_shared_kv, err) ||
        !lf_gguf_set_arr(m->w, "gemma3n.activation_sparsity_scale", LF_GGUF_FLOAT32, sparsity,
                         (uint64_t)s->n_layer, err) ||
        !lf_gguf_set_arr(m->w, "gemma3n.attention.sliding_window_pattern", LF_GGUF_BOOL, swa,
                         (uint64_t)s->n_layer, err))
        return false;
    int64_t E = s->n_embd, PL = (int64_t)PER_LAYER * s->n_layer;
    mk_add(m, 0, 0, 0.02f, E, E, ALTUP - 1, "altup_proj.weight");
    mk_add(m, 0, 0, 0.02f, E, E, ALTUP - 1, "altup_unembd_proj.weight");
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "output_norm.weight");
    mk_add(m, 0, 0, 0.02f, E, PL, 0, "per_layer_model_proj.weight");
    mk_add(m, 0, 1, 0.02f, PER_LAYER, 0, 0, "per_layer_proj_norm.weight");
    mk_add(m, 0, 0, 0.02f, PL, s->n_vocab, 0, "per_layer_token_embd.weight");
    mk_add(m, 0, 0, 0.02f, E, s->n_vocab, 0, "token_embd.weight"); /* tied output */
    for (int l = 0; l < s->n_layer; l++)
        layer(m, s, l);
    return true;
}
