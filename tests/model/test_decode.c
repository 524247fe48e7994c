/* lf_decode semantics on stories260K: several sequences in one batch give
 * the same logits as each alone; results do not depend on the thread count
 * or on how a prompt is split into batches; the KV cache can be cut back;
 * bad batches are errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "model_util.h"

int main(void) {
    lf_model *m = load_stories("decode");
    if (!m)
        return test_summary();
    lf_error err;
    int nv = lf_model_n_vocab(m);
    static const int32_t A[] = {1, 403, 407, 261, 378, 416, 284, 30, 476, 17};
    static const int32_t B[] = {1, 65, 66, 67, 68, 300, 301};
    int na = (int)(sizeof A / sizeof *A), nb = (int)(sizeof B / sizeof *B);
    static float ref_a[N_MAX][NV_MAX], ref_b[N_MAX][NV_MAX];

    /* references: each sequence alone, 1 thread, one batch */
    lf_context *c = new_ctx(m, 1, 512, 1);
    bool ok = c && decode(c, A, na, 0, 0);
    for (int i = 0; ok && i < na; i++)
        memcpy(ref_a[i], lf_get_logits_ith(c, i), sizeof(float) * nv);
    lf_context_free(c);
    c = new_ctx(m, 1, 512, 1);
    ok = ok && c && decode(c, B, nb, 0, 0);
    for (int i = 0; ok && i < nb; i++)
        memcpy(ref_b[i], lf_get_logits_ith(c, i), sizeof(float) * nv);
    lf_context_free(c);

    TEST_BEGIN("two sequences in one batch match each alone");
    c = new_ctx(m, 2, 512, 2);
    int32_t tok[N_MAX], pos[N_MAX], seq[N_MAX];
    int8_t want[N_MAX];
    int n = 0;
    for (int i = 0; i < na || i < nb; i++) { /* interleaved */
        if (i < na)
            tok[n] = A[i], pos[n] = i, seq[n] = 0, want[n++] = 1;
        if (i < nb)
            tok[n] = B[i], pos[n] = i, seq[n] = 1, want[n++] = 1;
    }
    lf_batch b = {n, tok, pos, seq, want};
    EXPECT(ok && c && lf_decode(c, &b, &err), "decode failed");
    double worst = 0;
    for (int k = 0; ok && c && k < n; k++) {
        const float *ref = seq[k] ? ref_b[pos[k]] : ref_a[pos[k]];
        worst = fmax(worst, max_diff(lf_get_logits_ith(c, k), ref, nv));
    }
    EXPECT(worst < 1e-4, "max difference %g", worst);
    /* continue sequence 1 alone: its cache holds only its own tokens */
    EXPECT(decode(c, (int32_t[]){42}, 1, 1, nb), "continuing sequence 1");
    lf_context_free(c);
    TEST_END();

    TEST_BEGIN("thread count and batch split do not change the logits");
    for (int threads = 1; threads <= 3; threads++) {
        for (int nbatch = 3; nbatch <= 512; nbatch = nbatch == 3 ? 512 : 1024) {
            c = new_ctx(m, threads, nbatch, 1);
            EXPECT(c && decode(c, A, na, 0, 0), "decode");
            for (int i = 0; c && i < na; i++)
                EXPECT(max_diff(lf_get_logits_ith(c, i), ref_a[i], nv) < 1e-5,
                       "threads %d batch %d position %d differs", threads, nbatch, i);
            lf_context_free(c);
        }
    }
    TEST_END();

    TEST_BEGIN("one token at a time matches the batch");
    c = new_ctx(m, 2, 512, 1);
    for (int i = 0; c && i < na; i++) {
        EXPECT(decode(c, A + i, 1, 0, i), "decode %d", i);
        EXPECT(max_diff(lf_get_logits_ith(c, 0), ref_a[i], nv) < 1e-3, "position %d", i);
    }
    lf_context_free(c);
    TEST_END();

    TEST_BEGIN("cutting the cache back and re-decoding reproduces the logits");
    c = new_ctx(m, 2, 512, 1);
    EXPECT(c && decode(c, A, na, 0, 0), "decode");
    lf_kv_remove(c, 0, 5, -1);
    EXPECT(lf_kv_seq_pos_max(c, 0) == 4, "pos max %d after cut", lf_kv_seq_pos_max(c, 0));
    EXPECT(decode(c, A + 5, na - 5, 0, 5), "re-decode");
    for (int i = 5; i < na; i++)
        EXPECT(max_diff(lf_get_logits_ith(c, i - 5), ref_a[i], nv) < 1e-3, "position %d", i);
    lf_kv_remove(c, -1, 0, -1);
    EXPECT(lf_kv_seq_pos_max(c, 0) == -1, "cache not empty after clearing");
    lf_context_free(c);
    TEST_END();

    TEST_BEGIN("bad batches are errors, not crashes");
    c = new_ctx(m, 1, 512, 1);
    int32_t bad_tok = nv, p0 = 0, s0 = 0, s9 = 9, neg = -1;
    int8_t one = 1;
    lf_batch bb = {1, &bad_tok, &p0, &s0, &one};
    EXPECT(c && !lf_decode(c, &bb, &err) && strstr(err.msg, "vocabulary"), "token out of range");
    bb = (lf_batch){1, A, &p0, &s9, &one};
    EXPECT(c && !lf_decode(c, &bb, &err) && strstr(err.msg, "sequence"), "sequence out of range");
    bb = (lf_batch){1, A, &neg, &s0, &one};
    EXPECT(c && !lf_decode(c, &bb, &err) && strstr(err.msg, "position"), "negative position");
    bb = (lf_batch){0, A, &p0, &s0, &one};
    EXPECT(c && !lf_decode(c, &bb, &err), "empty batch");
    EXPECT(c && lf_get_logits_ith(c, 0) == NULL, "logits of a failed batch");
    lf_context_free(c);
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 4;
    c = lf_context_new(m, &p, &err);
    EXPECT(c && !decode(c, A, 5, 0, 0), "5 tokens fit in a context of 4");
    lf_context_free(c);
    TEST_END();

    lf_model_free(m);
    return test_summary();
}
