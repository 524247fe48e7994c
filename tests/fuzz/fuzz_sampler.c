/* fuzz_sampler.c — libFuzzer target: the sampler over any logits (NaN, ±Inf,
 * huge, denormal), any parameters and any history. What must hold: the
 * result is a token id in range, or LF_SAMPLE_NONFINITE exactly when the
 * logits hold NaN or +Inf or are all -Inf; nothing reads out of bounds. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

/* Bytes to floats with the special values made likely: a selector byte
 * picks NaN, ±Inf, ±FLT_MAX, 0 or the next four bytes taken as a float. */
static float next_float(const uint8_t **p, const uint8_t *end) {
    if (*p >= end)
        return 0.0f;
    uint8_t sel = *(*p)++;
    switch (sel & 7) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return (sel & 8) ? 3.4e38f : -3.4e38f;
    case 4: return (float)(int8_t)sel / 8.0f;
    default: break;
    }
    float f = 0.0f;
    if (end - *p >= 4) {
        memcpy(&f, *p, 4);
        *p += 4;
    }
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8)
        return 0;
    const uint8_t *p = data, *end = data + size;
    int32_t n_vocab = 1 + (p[0] | (p[1] & 3) << 8); /* 1..1024 */
    p += 2;
    lf_sampler_params sp = lf_sampler_default_params();
    sp.temp = next_float(&p, end);
    sp.top_k = (int8_t)(p < end ? *p++ : 0) * 4;
    sp.top_p = next_float(&p, end);
    sp.min_p = next_float(&p, end);
    sp.repeat_penalty = next_float(&p, end);
    sp.presence_penalty = next_float(&p, end);
    sp.frequency_penalty = next_float(&p, end);
    sp.penalty_last_n = p < end ? *p++ % 16 : 0;
    sp.seed = 1234;
    lf_error err;
    lf_sampler *s = lf_sampler_new(&sp, n_vocab, &err);
    if (!s)
        __builtin_trap();
    float *logits = malloc(sizeof(float) * (size_t)n_vocab);
    if (!logits)
        __builtin_trap();
    for (int round = 0; round < 3; round++) {
        bool broken = true;
        for (int32_t i = 0; i < n_vocab; i++) {
            logits[i] = p < end ? next_float(&p, end) : (float)((i * 7 + round) % 13);
            broken &= logits[i] == -INFINITY;
        }
        for (int32_t i = 0; i < n_vocab; i++)
            broken |= isnan(logits[i]) || logits[i] == INFINITY;
        int32_t t = lf_sampler_sample(s, logits);
        if (broken ? t != LF_SAMPLE_NONFINITE : (t < 0 || t >= n_vocab))
            __builtin_trap();
        /* history may hold ids out of range: the penalties must skip them */
        lf_sampler_accept(s, broken ? (int32_t)(size * 31) - 500 : t);
    }
    free(logits);
    lf_sampler_free(s);
    return 0;
}
