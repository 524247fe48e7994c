/* quantize.h — the plan behind lf_model_quantize (declared, with the file
 * types and parameters, in llamafile.h): which input tensor goes where in
 * the output and with which type. Internal, for tests. */
#ifndef LF_MODEL_QUANTIZE_H
#define LF_MODEL_QUANTIZE_H

#include "llamafile.h"

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

#endif
