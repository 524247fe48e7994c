#include "tensor/activations.h"

#include <math.h>
#include <pthread.h>

#include "tensor/fp16.h"

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static float gelu_exact(float x) {
    const float c = 0.79788456080286535587989211986876f, a = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(c * x * (1.0f + a * x * x)));
}

static void gelu_init(void) {
    for (uint32_t i = 0; i < 1u << 16; i++)
        gelu_table[i] = lf_fp32_to_fp16(gelu_exact(lf_fp16_to_fp32((uint16_t)i)));
}

float lf_gelu(float z) {
    if (z <= -10.0f)
        return 0.0f;
    if (z >= 10.0f)
        return z;
    pthread_once(&gelu_once, gelu_init);
    return lf_fp16_to_fp32(gelu_table[lf_fp32_to_fp16(z)]);
}

void lf_geglu(float *g, const float *u, int64_t n) {
    pthread_once(&gelu_once, gelu_init);
    for (int64_t i = 0; i < n; i++) {
        float z = g[i];
        float y = z <= -10.0f ? 0.0f
                  : z >= 10.0f ? z
                               : lf_fp16_to_fp32(gelu_table[lf_fp32_to_fp16(z)]);
        g[i] = y * u[i];
    }
}

void lf_softcap(float *x, int64_t n, float cap) {
    float inv = 1.0f / cap;
    for (int64_t i = 0; i < n; i++)
        x[i] = cap * tanhf(x[i] * inv);
}
