/* model_util.h — helpers for the decode tests (header-only): a context with
 * given threads / batch / sequences, decoding a run of one sequence's
 * tokens, and the largest difference between two logit rows. */
#ifndef LF_TESTS_MODEL_UTIL_H
#define LF_TESTS_MODEL_UTIL_H

#include <math.h>
#include <stdio.h>

#include "llamafile.h"

enum { NV_MAX = 512, N_MAX = 64 };

/* stories260K from $SHARED, or NULL after a SKIP line naming the test
 * (include ../harness.h first). */
static inline lf_model *load_stories(const char *test) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", test_shared_dir());
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m)
        SKIP(test, "%s", err.msg);
    return m;
}

/* A context of 256 cells; NULL (reason on stderr) if it cannot be made. */
static inline lf_context *new_ctx(lf_model *m, int threads, int n_batch, int n_seq) {
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 256;
    p.n_threads = threads;
    p.n_batch = n_batch;
    p.n_seq_max = (uint32_t)n_seq;
    lf_error err;
    lf_context *c = lf_context_new(m, &p, &err);
    if (!c)
        fprintf(stderr, "context: %s\n", err.msg);
    return c;
}

/* Decodes toks[0..n) (n <= N_MAX) of sequence seq from position p0, all
 * logits wanted; false (reason on stderr) on failure or with no context. */
static inline bool decode(lf_context *c, const int32_t *toks, int n, int seq, int p0) {
    int32_t pos[N_MAX], sq[N_MAX];
    int8_t want[N_MAX];
    for (int i = 0; i < n; i++)
        pos[i] = p0 + i, sq[i] = seq, want[i] = 1;
    lf_batch b = {n, toks, pos, sq, want};
    lf_error err;
    if (!c || !lf_decode(c, &b, &err)) {
        fprintf(stderr, "decode: %s\n", c ? err.msg : "no context");
        return false;
    }
    return true;
}

/* max |a[i] - b[i]| over n values; infinite when either row is missing. */
static inline double max_diff(const float *a, const float *b, int n) {
    if (!a || !b)
        return INFINITY;
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

#endif
