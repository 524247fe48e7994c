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
    float *embd;         /* embeddings context: instead of logits, the rows of the
                          * final hidden states (after the output norm), n_embd each;
                          * then logits is NULL (see lf_output) */
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
    /* Optional, for state beyond the KV cache (recurrent archs); each is
     * called by its lf_kv_* after the KV cells changed. seq_remove: true if
     * it had to remove a whole sequence (it removes its cells too). */
    bool (*seq_remove)(lf_context *c, int32_t seq, int32_t p0, int32_t p1);
    /* Called before the cells are shared: false (nothing changed) when the
     * state cannot follow a copy of [p0, p1) from src to dst. */
    bool (*seq_copy)(lf_context *c, int32_t src, int32_t dst, int32_t p0, int32_t p1,
                     lf_error *err);
    void (*seq_keep)(lf_context *c, int32_t seq);
    void (*seq_shift)(lf_context *c, int32_t seq, int32_t p0, int32_t p1, int32_t delta);
    /* The last position folded into seq's state, or -1. */
    int32_t (*seq_state_pos)(const lf_context *c, int32_t seq);
    /* Optional; lf_kv_shift refuses a model with cached keys without it.
     * The RoPE `layer`'s cached keys carry (out->rope NULL: none). */
    void (*kv_rope)(const lf_model *m, int layer, lf_kv_rope *out);
    /* Optional. Per-layer sliding window (0: full history, the default). The
     * KV cache of a windowed layer keeps only window * n_seq_max + n_batch
     * cells (a separate cell group: use lf_kvcache_cell / lf_kvcache_view). */
    void (*kv_window)(const lf_model *m, int32_t *window);
    /* Optional. A sequence's state beyond its KV cells (a recurrent state)
     * for saved states (lf_state_seq_*): its size in bytes, writing it,
     * checking saved bytes against this context (false with a message, and
     * nothing changed, when they do not fit it) and loading checked bytes
     * into a sequence (possibly another than the one saved). */
    size_t (*state_size)(const lf_context *c);
    void (*state_write)(const lf_context *c, int32_t seq, uint8_t *dst);
    bool (*state_check)(const lf_context *c, const uint8_t *src, size_t n, lf_error *err);
    void (*state_read)(lf_context *c, int32_t seq, const uint8_t *src);
};

struct lf_model {
    lf_gguf *gguf;
    lf_vocab *vocab;
    const struct lf_arch *arch;
    char arch_name[64];
    lf_hparams hp;
    void *weights;
    size_t weights_size;        /* bytes of the weight block (lf_weights_alloc) */
    void **owned;   /* converted copies of small non-F32 tensors */
    int n_owned;
    struct lf_chat_cache *chat; /* its parsed chat templates (text/chat.h) */
    struct lf_gvocab *gvocab;   /* its grammar vocabulary trie (sample/grammar.h) */
    struct lf_packs *packs;     /* weights to repack once loaded (repack.c) */
    int n_packed;               /* tensors repacked, */
    int n_held;                 /* tensors copied into memory (repack.c), */
    size_t held_bytes;          /* their bytes, */
    double pack_ms;             /* and the time it took */
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
    bool decoded;           /* lf_decode has run: later ones copy weights */
    void *arch_state;       /* owned by the arch's ctx_init / ctx_free */
    lf_abort_fn abort_fn;   /* lf_set_abort_callback; NULL: none */
    void *abort_user;
    /* embeddings (params.embeddings; src/api/embeddings.c) */
    float *embd;            /* [n_out][n_embd] hidden states of the output tokens */
    int8_t *want_all;       /* [batch_cap] ones: pooled contexts output every token */
    float *embd_seq;        /* [n_seq_max][n_embd] pooled, per sequence */
    int32_t *seq_n;         /* [n_seq_max] tokens of each sequence in the last batch */
    int32_t *seq_row, *seq_pos; /* [n_seq_max] cls/last: the row chosen and its position */
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
/* repack.c: whether the tensor just bound to W is to be held in anonymous
 * memory (then the copy is reserved and W, if it lies in the weight block,
 * recorded to switch to it), and the copies, made once the architecture is
 * loaded by lf_model_pack: at once (LF_REPACK_AT_LOAD), or by
 * lf_model_pack_step at the start of the decodes after the first
 * (LF_REPACK_BACKGROUND; each W reads the file's mapping until switched).
 * Nothing is held with LF_REPACK_OFF or LLAMAFILE_REPACK=0. */
bool lf_model_pack_choose(lf_model *m, const lf_gguf_tensor *t, const char *name, lf_weight *W,
                          lf_error *err);
bool lf_model_pack(lf_model *m, lf_error *err);
/* Copies for about budget_ms on the pool and switches the weights done
 * (waits for the forward passes under way in other contexts); false if
 * there was nothing to copy or it could not (another context copying, no
 * work space). */
bool lf_model_pack_step(lf_model *m, lf_pool *pool, double budget_ms);
void lf_model_pack_free(lf_model *m);
/* *dst = *src for a bound weight (a tied output): dst switches to the copy
 * along with src. */
void lf_model_weight_tie(lf_model *m, lf_weight *dst, const lf_weight *src);
/* Around every forward pass: holds the weights still until leave (returns
 * whether it locked: false once every weight is switched, or with nothing
 * left to copy). */
bool lf_model_weights_enter(lf_model *m);
void lf_model_weights_leave(lf_model *m, bool entered);
/* Whether every weight reads its final place (no copy to come). */
bool lf_model_pack_settled(const lf_model *m);
/* Tests: the tensors whose lf_weights read their copies, and the pointers
 * in the weight block that still point at a copied tensor in the file's
 * mapping (an lf_weight not switched; 0 once settled). */
int lf_model_pack_switched(const lf_model *m);
int lf_model_pack_stale(const lf_model *m);
/* Bytes from the first held copy's start to the last one's end (the copies
 * lie end to end, so this is their bytes plus alignment; 0 if none). */
size_t lf_model_held_span(const lf_model *m);
/* Bytes per unit of the copy (4 MiB); tests make it small so that packed
 * groups straddle units. */
extern size_t lf_model_pack_unit;
/* The most bytes one lf_model_pack_step copies (unlimited; tests make it
 * small so that the copy spans many decodes). */
extern size_t lf_model_pack_step_cap;
/* Tests: called while an lf_weight is half switched (its data pointer
 * moved, its packed count not yet), to widen what the lock must cover. */
extern void (*lf_model_pack_switch_hook)(void);
/* A small F32 tensor (norm weights, biases) as a float pointer into the map. */
bool lf_model_f32(const lf_model *m, const float **out, bool required, int64_t n,
                  lf_error *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The cancel hook, checked before each ubatch and by every architecture's
 * forward before each layer: true (with "cancelled ..." in err) when the
 * caller asked to stop; the forward then returns false at once. */
bool lf_ctx_cancelled(lf_context *c, lf_error *err);

/* Embeddings (src/api/embeddings.c): resolves and checks the pooling type
 * and allocates the per-sequence buffers at context creation; after a
 * successful decode of b, pools the rows of c->embd per sequence and
 * normalises them. */
bool lf_embd_init(lf_context *c, lf_error *err);
void lf_embd_finish(lf_context *c, const lf_batch *b);
void lf_embd_free(lf_context *c);

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
