/* fuzz_sampler.c — libFuzzer target: the default sampler chain over any
 * logits (NaN, ±Inf, huge, denormal), any parameters (one logit bias
 * included) and any history. What must hold: the result is a token id in
 * range, or LF_SAMPLE_NONFINITE exactly when the logits hold NaN or +Inf or
 * are all -Inf, or LF_SAMPLE_NONE exactly when the logit bias banned every
 * token with a finite logit; the reported probabilities lie in [0, 1], in
 * descending order, summing to at most 1; nothing reads out of bounds. */
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
    sp.typical_p = next_float(&p, end);
    lf_logit_bias bias = {(int32_t)(p < end ? *p++ : 0) % n_vocab, next_float(&p, end)};
    if (!isnan(bias.bias))
        sp.logit_bias = &bias, sp.n_logit_bias = 1;
    int32_t top_n = p < end ? *p++ % 24 : 3;
    lf_candidate top[24];
    lf_error err;
    lf_sampler *s = lf_sampler_new(&sp, n_vocab, &err);
    if (!s)
        __builtin_trap();
    float *logits = malloc(sizeof(float) * (size_t)n_vocab);
    if (!logits)
        __builtin_trap();
    for (int round = 0; round < 3; round++) {
        bool broken = true, banned = sp.n_logit_bias > 0 && bias.bias == -INFINITY;
        for (int32_t i = 0; i < n_vocab; i++) {
            logits[i] = p < end ? next_float(&p, end) : (float)((i * 7 + round) % 13);
            broken &= logits[i] == -INFINITY;
            banned &= logits[i] == -INFINITY || i == bias.token;
        }
        for (int32_t i = 0; i < n_vocab; i++)
            broken |= isnan(logits[i]) || logits[i] == INFINITY;
        int32_t t = lf_sampler_sample(s, logits);
        if (broken ? t != LF_SAMPLE_NONFINITE
                   : banned ? t != LF_SAMPLE_NONE : (t < 0 || t >= n_vocab))
            __builtin_trap();
        float chosen;
        int32_t n = lf_sampler_last_probs(s, &chosen, top_n, top);
        double sum = 0;
        for (int32_t i = 0; i < n; i++) {
            if (!(top[i].p >= 0 && top[i].p <= 1) || (i && top[i].p > top[i - 1].p))
                __builtin_trap();
            sum += top[i].p;
        }
        if (n < 0 || n > top_n || sum > 1.001 || !(chosen >= 0 && chosen <= 1))
            __builtin_trap();
        /* history may hold ids out of range: the penalties must skip them */
        lf_sampler_accept(s, broken ? (int32_t)(size * 31) - 500 : t);
    }
    free(logits);
    lf_sampler_free(s);
    return 0;
}
