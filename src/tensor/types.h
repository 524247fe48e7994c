/* types.h — the type-traits table: one row per ggml tensor type. Everything
 * that depends on a tensor's type (sizes, dequantize, quantize, dot product)
 * goes through this table. The functions here are the scalar reference
 * implementations; SIMD kernels are tested against them. */
#ifndef LF_TENSOR_TYPES_H
#define LF_TENSOR_TYPES_H

#include "llamafile.h"

/* Dequantize n elements (a multiple of the block size) from src to dst. */
typedef void (*lf_to_float_fn)(const void *src, float *dst, int64_t n);
/* Quantize n elements (a multiple of the block size) from src to dst. */
typedef void (*lf_from_float_fn)(const float *src, void *dst, int64_t n);
/* Dot product of n elements: weight row w (of this type) against activation
 * row a (of this type's vec_dot_type). */
typedef float (*lf_vec_dot_fn)(int64_t n, const void *w, const void *a);

typedef struct lf_type_traits {
    const char *name;       /* NULL: not a ggml type id (or removed) */
    int64_t blck;           /* elements per block */
    int64_t type_size;      /* bytes per block */
    int vec_dot_type;       /* activation format this type is dotted with */
    lf_to_float_fn to_float;     /* NULL: not supported yet */
    lf_from_float_fn from_float; /* NULL: no quantizer yet */
    lf_vec_dot_fn vec_dot;       /* NULL: not supported yet */
} lf_type_traits;

/* Row of the table, or NULL if type is outside [0, LF_TYPE_COUNT) or removed. */
const lf_type_traits *lf_type_traits_of(int type);

#endif
