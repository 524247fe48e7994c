/* mkmodel.h — llamafile-mkmodel's pieces: a model is a list of tensors
 * (name, shape, the type it would have unquantized, the scale of its random
 * weights) plus metadata; one file per architecture family fills both
 * (arch_*.c), writer.c turns them into a GGUF of a file type. */
#ifndef MKMODEL_H
#define MKMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "llamafile.h"

typedef struct mk_tensor {
    char name[64];
    int n_dims;
    int64_t ne[3];
    int type;          /* unquantized: F32 or F16 */
    float mean, std;   /* the weights are mean + std * N(0, 1) */
    float lo, hi;      /* when lo < hi: uniform in [lo, hi) instead */
} mk_tensor;

typedef struct mk_model {
    const char *arch;
    lf_gguf_writer *w; /* metadata: hyperparameters (the vocab is added later) */
    mk_tensor *t;
    int n, cap;
    bool oom;
    int n_vocab;
    const char *vocab; /* the vocabulary file name under $SHARED/vocab */
} mk_model;

/* Options that change a preset's shape (0: keep the preset's). */
typedef struct mk_overrides {
    long n_layer, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
} mk_overrides;

/* Adds a tensor of 1-3 dims (ne1, ne2 0 when absent) with N(mean, std)
 * weights; the name is printf-formatted. 1-D tensors are F32, others F16
 * unless f32 is set. */
void mk_add(mk_model *m, bool f32, float mean, float std, int64_t ne0, int64_t ne1,
            int64_t ne2, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
/* The last tensor added gets uniform weights in [lo, hi). */
void mk_uniform(mk_model *m, float lo, float hi);

/* Sets err's message; returns false. */
bool mk_fail(lf_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Metadata helpers: ARCH.key = value. */
bool mk_u32(mk_model *m, const char *key, uint32_t v, lf_error *err);
bool mk_f32(mk_model *m, const char *key, float v, lf_error *err);
bool mk_bool(mk_model *m, const char *key, bool v, lf_error *err);
bool mk_str(mk_model *m, const char *key, const char *v, lf_error *err);
/* The keys every architecture has (context, embedding, blocks, heads,
 * eps, vocab_size, general.*). */
bool mk_common(mk_model *m, const char *name, int n_ctx, int n_embd, int n_layer, int n_head,
               float eps, lf_error *err);

/* Architecture families: fill m for a preset (false if the name is not
 * theirs: *known stays false; or with err set). */
typedef bool mk_family_fn(mk_model *m, const char *preset, const mk_overrides *o, bool *known,
                          lf_error *err);
mk_family_fn mk_llama, mk_bailingmoe2, mk_granitehybrid, mk_gemma3n, mk_gpt_oss;

/* Copies the tokenizer.* keys of the vocabulary GGUF at path into w, the
 * per-token arrays cut or extended to n_vocab; tmpl (not NULL) replaces the
 * chat template. */
bool mk_copy_vocab(lf_gguf_writer *w, const char *path, int n_vocab, const char *tmpl,
                   lf_error *err);

/* Writes m as a GGUF of file type ftype at out: the tokenizer.* keys of the
 * vocab file (cut or extended with filler tokens to m->n_vocab), the
 * template (may be NULL), then the weights, generated, quantized and
 * written a group of rows at a time by n_threads threads. A tensor of more
 * than pool_rows rows (0: no limit) gets that many distinct rows, the
 * others copies of them (quantizing every row of a 16B model takes long). */
bool mk_write(mk_model *m, const char *out, int ftype, const char *vocab_path, const char *tmpl,
              uint64_t seed, int n_threads, int64_t pool_rows, bool quiet, lf_error *err);

#endif
