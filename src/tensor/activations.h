/* activations.h — elementwise activations beyond ops.h's SiLU/SwiGLU:
 * GELU (tanh approximation, as ggml's CPU backend evaluates it), GeGLU and
 * logit soft-capping. */
#ifndef LF_TENSOR_ACTIVATIONS_H
#define LF_TENSOR_ACTIVATIONS_H

#include <stdint.h>

/* 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))). Like ggml on the CPU:
 * z is rounded to f16 and the result is the f16-rounded value for that
 * input (0 for z <= -10, z for z >= 10). */
float lf_gelu(float z);
/* gelu(g) * u, elementwise into g. */
void lf_geglu(float *g, const float *u, int64_t n);
/* x = cap * tanh(x / cap), elementwise (cap > 0). */
void lf_softcap(float *x, int64_t n, float cap);

#endif
