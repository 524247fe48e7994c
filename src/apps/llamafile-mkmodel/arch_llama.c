/* arch_llama.c — llama presets: tinyllama-1.1b (TinyLlama-1.1B's shapes)
 * and tiny (2 layers, for tests). Norms N(1, 0.02), weights N(0, 0.02).
 * The only family whose shape options (--n-layer ...) apply. */
#include <string.h>

#include "mkmodel.h"

typedef struct preset {
    const char *name;
    long n_layer, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
} preset;

static const preset k_presets[] = {
    {"tinyllama-1.1b", 22, 2048, 5632, 32, 4, 32000, 2048},
    {"tiny", 2, 256, 512, 4, 2, 512, 2048},
};

bool mk_llama(mk_model *m, const char *name, const mk_overrides *o, bool *known,
              lf_error *err) {
    preset p = {0};
    for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++)
        if (!strcmp(name, k_presets[i].name))
            p = k_presets[i];
    if (!(*known = p.name != NULL))
        return false;
    long *f[] = {&p.n_layer, &p.n_embd, &p.n_ff, &p.n_head, &p.n_head_kv, &p.n_vocab, &p.n_ctx};
    const long *v[] = {&o->n_layer, &o->n_embd, &o->n_ff, &o->n_head, &o->n_head_kv,
                       &o->n_vocab, &o->n_ctx};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (*v[i])
            *f[i] = *v[i];
    if (p.n_embd % p.n_head || p.n_head % p.n_head_kv)
        return mk_fail(err, "n_embd must be a multiple of n_head, n_head of n_head_kv");
    m->arch = "llama";
    m->n_vocab = (int)p.n_vocab;
    m->vocab = "ggml-vocab-llama-spm.gguf";
    int64_t E = p.n_embd, hd = E / p.n_head, kv = hd * p.n_head_kv;
    if (!mk_common(m, p.name, (int)p.n_ctx, (int)E, (int)p.n_layer, (int)p.n_head, 1e-5f, err) ||
        !mk_u32(m, "feed_forward_length", (uint32_t)p.n_ff, err) ||
        !mk_u32(m, "rope.dimension_count", (uint32_t)hd, err) ||
        !mk_u32(m, "attention.head_count_kv", (uint32_t)p.n_head_kv, err) ||
        !mk_f32(m, "rope.freq_base", 10000.0f, err))
        return false;
    mk_add(m, 0, 0, 0.02f, E, p.n_vocab, 0, "token_embd.weight");
    for (long l = 0; l < p.n_layer; l++) {
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%ld.attn_norm.weight", l);
        mk_add(m, 0, 0, 0.02f, E, E, 0, "blk.%ld.attn_q.weight", l);
        mk_add(m, 0, 0, 0.02f, E, kv, 0, "blk.%ld.attn_k.weight", l);
        mk_add(m, 0, 0, 0.02f, E, kv, 0, "blk.%ld.attn_v.weight", l);
        mk_add(m, 0, 0, 0.02f, E, E, 0, "blk.%ld.attn_output.weight", l);
        mk_add(m, 0, 1, 0.02f, E, 0, 0, "blk.%ld.ffn_norm.weight", l);
        mk_add(m, 0, 0, 0.02f, E, p.n_ff, 0, "blk.%ld.ffn_gate.weight", l);
        mk_add(m, 0, 0, 0.02f, E, p.n_ff, 0, "blk.%ld.ffn_up.weight", l);
        mk_add(m, 0, 0, 0.02f, p.n_ff, E, 0, "blk.%ld.ffn_down.weight", l);
    }
    mk_add(m, 0, 1, 0.02f, E, 0, 0, "output_norm.weight");
    mk_add(m, 0, 0, 0.02f, E, p.n_vocab, 0, "output.weight");
    return true;
}
