/* quantize.h — requantizing a GGUF model the way llama-quantize does: the
 * same type per tensor for every file type ("mix"), the same quantizers
 * (tensor/types.h from_float), the same tensor order and metadata.
 *
 * Not part of llamafile.h yet: llamafile-quantize is its only user. */
#ifndef LF_MODEL_QUANTIZE_H
#define LF_MODEL_QUANTIZE_H

#include "llamafile.h"

/* Model file types: llama.cpp's llama_ftype numbers, stored in
 * general.file_type. Only those this build can produce are listed. */
enum lf_ftype {
    LF_FTYPE_ALL_F32 = 0,
    LF_FTYPE_F16 = 1,
    LF_FTYPE_Q4_0 = 2,
    LF_FTYPE_Q4_1 = 3,
    LF_FTYPE_Q8_0 = 7,
    LF_FTYPE_Q5_0 = 8,
    LF_FTYPE_Q5_1 = 9,
    LF_FTYPE_Q2_K = 10,
    LF_FTYPE_Q3_K_S = 11,
    LF_FTYPE_Q3_K_M = 12,
    LF_FTYPE_Q3_K_L = 13,
    LF_FTYPE_Q4_K_S = 14,
    LF_FTYPE_Q4_K_M = 15,
    LF_FTYPE_Q5_K_S = 16,
    LF_FTYPE_Q5_K_M = 17,
    LF_FTYPE_Q6_K = 18,
    LF_FTYPE_IQ4_NL = 25,
    LF_FTYPE_IQ4_XS = 30,
    LF_FTYPE_BF16 = 32,
    LF_FTYPE_MXFP4_MOE = 38,
};

/* The file type of a llama-quantize type name (case-insensitive; "Q4_K" is
 * Q4_K_M, as in llama-quantize), or -1. */
int lf_ftype_from_name(const char *name);
/* The canonical name ("Q4_K_M") of a file type this build can produce, or
 * NULL. */
const char *lf_ftype_name(int ftype);
/* The tensor type most weights of the file type get (Q4_K for Q4_K_M). */
int lf_ftype_base_type(int ftype);
/* Every name lf_ftype_from_name accepts, in llama-quantize's order, NULL
 * terminated (for --help). */
extern const char *const lf_ftype_names[];

typedef struct lf_quantize_progress {
    int64_t i, n;                 /* output tensor i of n */
    const lf_gguf_tensor *tensor; /* as in the input */
    int type;                     /* its type in the output */
    int wanted;                   /* the mix's choice when a fallback replaced it, else -1 */
    uint64_t bytes;               /* its size in the output */
} lf_quantize_progress;

typedef struct lf_quantize_params {
    int ftype;
    bool pure;             /* every quantizable tensor gets the base type */
    bool allow_requantize; /* accept already-quantized input tensors */
    int n_threads;         /* 0: physical cores */
    /* Called after each tensor is written (may be NULL). */
    void (*progress)(void *ud, const lf_quantize_progress *pr);
    void *progress_ud;
} lf_quantize_params;

/* The output of a quantization: tensor i of the output file is input
 * tensor order[i] converted to type[i]. The order is llama.cpp's (tensors
 * outside blocks first, then by block number, then by name). */
typedef struct lf_quantize_plan {
    int64_t n;
    int64_t *order;
    int *type;
    int *fallback; /* the type the mix wanted when the shape forced another, else -1 */
} lf_quantize_plan;

/* Decides the type of every tensor of g for p->ftype and p->pure. */
bool lf_quantize_plan_make(const lf_gguf *g, const lf_quantize_params *p,
                           lf_quantize_plan *plan, lf_error *err);
void lf_quantize_plan_free(lf_quantize_plan *plan);

/* Reads in (a GGUF, or anything lf_gguf_open_any accepts), writes out. The
 * output appears atomically: nothing is left at out on failure. */
bool lf_model_quantize(const char *in, const char *out, const lf_quantize_params *p,
                       lf_error *err);

#endif
