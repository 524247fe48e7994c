/* model.h — a loaded model (weights bound by name from its GGUF), the
 * architecture registry, and the context that runs it. */
#ifndef LF_MODEL_MODEL_H
#define LF_MODEL_MODEL_H

#include "base/threadpool.h"
#include "llamafile.h"
#include "model/kvcache.h"
#include "tensor/ops.h"

typedef struct lf_vocab lf_vocab;

/* Hyperparameters every architecture has (arch files may read more). */
typedef struct lf_hparams {
    int64_t n_vocab, n_ctx_train, n_embd, n_layer, n_ff;
    int64_t n_head, n_head_kv, head_dim_k, head_dim_v, n_rot;
    float eps;
    lf_rope_params rope;
} lf_hparams;

/* One token slice of a batch, at most n_batch tokens, run in one forward. */
typedef struct lf_ubatch {
    int64_t n;
    const int32_t *token, *pos, *seq;
    const int8_t *want;  /* logits wanted; NULL: none */
    int32_t *cells;      /* KV cells, filled before forward: cells[g * n + t] in
                          * cache group g; use lf_kvcache_cell(&c->kv, layer, ...) */
    float *logits;       /* rows for the tokens with want set, in order */
} lf_ubatch;

struct lf_arch {
    const char *name;
    /* Reads the arch's hparams and binds its tensors into m->weights. */
    bool (*load)(lf_model *m, lf_error *err);
    /* Runs a ubatch: writes K/V for its tokens, fills its logits rows. */
    bool (*forward)(lf_context *c, const lf_ubatch *b, lf_error *err);
    void (*free_weights)(lf_model *m);
    /* Optional. Per-layer K/V cache row sizes in elements; 0 = the layer
     * keeps no cache of its own (recurrent or KV-sharing layers). Default:
     * n_head_kv * head_dim for every layer. */
    void (*kv_rows)(const lf_model *m, int64_t *k_row, int64_t *v_row);
    /* Optional. Per-context state beyond the KV cache (e.g. Mamba's
     * recurrent state), kept in c->arch_state. */
    bool (*ctx_init)(lf_context *c, lf_error *err);
    void (*ctx_free)(lf_context *c);
    /* Optional. Called by lf_kv_remove after the KV cells are removed. */
    void (*seq_remove)(lf_context *c, int32_t seq, int32_t p0, int32_t p1);
    /* Optional. Per-layer sliding window (0: full history, the default). The
     * KV cache of a windowed layer keeps only window * n_seq_max + n_batch
     * cells (a separate cell group: use lf_kvcache_cell / lf_kvcache_view). */
    void (*kv_window)(const lf_model *m, int32_t *window);
};

struct lf_model {
    lf_gguf *gguf;
    lf_vocab *vocab;
    const struct lf_arch *arch;
    char arch_name[64];
    lf_hparams hp;
    void *weights;
    void **owned;   /* converted copies of small non-F32 tensors */
    int n_owned;
    struct lf_chat_cache *chat; /* its parsed chat templates (text/chat.h) */
};

struct lf_context {
    lf_model *model;
    lf_context_params params;
    lf_pool *pool;
    lf_kvcache kv;
    lf_scratch mm;          /* matmul activation copies */
    lf_scratch work;        /* the forward pass's float buffers */
    lf_scratch attn;        /* attention work space */
    float *logits;          /* [n_out][n_vocab] of the last decode */
    int32_t *out_row;       /* batch index -> logits row (-1: none) */
    int32_t n_out, out_cap, batch_cap;
    int32_t last_n;         /* tokens in the last decoded batch */
    void *arch_state;       /* owned by the arch's ctx_init / ctx_free */
    lf_abort_fn abort_fn;   /* lf_set_abort_callback; NULL: none */
    void *abort_user;
};

/* ---- helpers for architecture files ---- */

/* Reads "<arch>.<suffix>" as an integer / float; absent → def (if !required). */
bool lf_model_int(const lf_model *m, const char *suffix, bool required, int64_t def,
                  int64_t *out, lf_error *err);
bool lf_model_float(const lf_model *m, const char *suffix, bool required, double def,
                    double *out, lf_error *err);
/* Reads "<arch>.<suffix>" given as one integer or as an array of one per
 * layer into out[hp.n_layer] (hp.n_layer must be read first); absent → def. */
bool lf_model_layer_ints(const lf_model *m, const char *suffix, bool required, int64_t def,
                         int64_t *out, lf_error *err);
/* Reads the hparams shared by every architecture (spec archs.md §0.2). */
bool lf_model_common_hparams(lf_model *m, lf_error *err);
/* Binds tensor `name` (printf-style) checking its shape (ne, n_dims
 * entries; trailing dims must be 1). Absent and !required → W->data NULL. */
bool lf_model_weight(const lf_model *m, lf_weight *W, bool required, int n_dims,
                     const int64_t *ne, lf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* A small F32 tensor (norm weights, biases) as a float pointer into the map. */
bool lf_model_f32(const lf_model *m, const float **out, bool required, int64_t n,
                  lf_error *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The cancel hook, checked before each ubatch and by every architecture's
 * forward before each layer: true (with "cancelled ..." in err) when the
 * caller asked to stop; the forward then returns false at once. */
bool lf_ctx_cancelled(lf_context *c, lf_error *err);

/* Float buffers for one forward pass, carved from c->work. */
float *lf_ctx_buffers(lf_context *c, int count, const size_t *floats, float **bufs,
                      lf_error *err);

/* The registry entry for an architecture name, or NULL. */
const struct lf_arch *lf_arch_find(const char *name);

extern const struct lf_arch lf_arch_llama;
extern const struct lf_arch lf_arch_granitehybrid;
extern const struct lf_arch lf_arch_qwen3;
extern const struct lf_arch lf_arch_gemma3;
extern const struct lf_arch lf_arch_bailingmoe2;
extern const struct lf_arch lf_arch_gpt_oss;
extern const struct lf_arch lf_arch_gemma3n;

#endif
