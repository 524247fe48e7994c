/* The recurrent (Mamba-2) state of granitehybrid is per sequence: two
 * sequences decoded in one batch, interleaved and split across ubatches,
 * give the logits each gives alone; clearing a sequence resets its state
 * without touching the other; cutting a sequence back to a middle position
 * drops the whole sequence (the state cannot be rewound); a removal past
 * the end keeps the state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "model_util.h"

static const int32_t A[] = {1, 48, 396, 336, 226, 223, 440, 46, 357, 105, 50, 270};
static const int32_t B[] = {1, 499, 377, 390, 368, 403, 264, 68, 430};
enum { NA = sizeof A / sizeof *A, NB = sizeof B / sizeof *B };
static float ref_a[NA][NV_MAX], ref_b[NB][NV_MAX];

/* Each sequence alone, one token at a time, 1 thread. */
static bool references(lf_model *m, int nv) {
    bool ok = true;
    for (int s = 0; s < 2; s++) {
        lf_context *c = new_ctx(m, 1, 512, 1);
        int n = s ? NB : NA;
        for (int i = 0; ok && i < n; i++) {
            ok = decode(c, (s ? B : A) + i, 1, 0, i);
            if (ok)
                memcpy(s ? ref_b[i] : ref_a[i], lf_get_logits_ith(c, 0), sizeof(float) * nv);
        }
        lf_context_free(c);
    }
    return ok;
}

/* Both sequences interleaved in one batch (split into ubatches of n_batch). */
static void test_interleaved(lf_model *m, int nv, int threads, int n_batch) {
    char name[128];
    snprintf(name, sizeof name, "two sequences in one batch match each alone (%d threads, ubatch %d)",
             threads, n_batch);
    TEST_BEGIN(name);
    lf_context *c = new_ctx(m, threads, n_batch, 2);
    int32_t tok[N_MAX], pos[N_MAX], seq[N_MAX];
    int8_t want[N_MAX];
    int n = 0;
    for (int i = 0; i < NA - 1 || i < NB - 1; i++) { /* all but the last token of each */
        if (i < NA - 1)
            tok[n] = A[i], pos[n] = i, seq[n] = 0, want[n++] = 1;
        if (i < NB - 1)
            tok[n] = B[i], pos[n] = i, seq[n] = 1, want[n++] = 1;
    }
    lf_batch b = {n, tok, pos, seq, want};
    lf_error err;
    bool ok = c && lf_decode(c, &b, &err);
    EXPECT(ok, "decode failed");
    double worst = 0;
    for (int k = 0; ok && k < n; k++)
        worst = fmax(worst, max_diff(lf_get_logits_ith(c, k),
                                     seq[k] ? ref_b[pos[k]] : ref_a[pos[k]], nv));
    EXPECT(worst < 1e-3, "max difference %g", worst);
    /* the last token of each, both in one batch: each state carries on */
    lf_batch last = {2, (int32_t[]){A[NA - 1], B[NB - 1]}, (int32_t[]){NA - 1, NB - 1},
                     (int32_t[]){0, 1}, (int8_t[]){1, 1}};
    ok = ok && lf_decode(c, &last, &err);
    EXPECT(ok, "decoding the last tokens failed");
    EXPECT(!ok || max_diff(lf_get_logits_ith(c, 0), ref_a[NA - 1], nv) < 1e-3, "sequence 0 step");
    EXPECT(!ok || max_diff(lf_get_logits_ith(c, 1), ref_b[NB - 1], nv) < 1e-3, "sequence 1 step");
    lf_context_free(c);
    TEST_END();
}

static void test_remove(lf_model *m, int nv) {
    TEST_BEGIN("clearing one sequence resets its state and keeps the other's");
    lf_context *c = new_ctx(m, 2, 512, 2);
    bool ok = decode(c, A, NA - 1, 0, 0) && decode(c, B, 4, 1, 0);
    EXPECT(ok, "decode");
    lf_kv_remove(c, 1, 0, -1);
    EXPECT(lf_kv_seq_pos_max(c, 1) == -1, "sequence 1 not empty");
    ok = ok && decode(c, B, NB, 1, 0); /* from scratch: no trace of the old tokens */
    for (int i = 0; ok && i < NB; i++)
        EXPECT(max_diff(lf_get_logits_ith(c, i), ref_b[i], nv) < 1e-3, "sequence 1 position %d", i);
    ok = ok && decode(c, A + NA - 1, 1, 0, NA - 1);
    EXPECT(ok && max_diff(lf_get_logits_ith(c, 0), ref_a[NA - 1], nv) < 1e-3,
           "sequence 0 changed by clearing sequence 1");
    lf_context_free(c);
    TEST_END();

    TEST_BEGIN("a removal past the end keeps the state; a cut to the middle drops the sequence");
    c = new_ctx(m, 2, 512, 2);
    ok = decode(c, A, NA - 1, 0, 0) && decode(c, B, NB - 1, 1, 0);
    EXPECT(ok, "decode");
    lf_kv_remove(c, 0, NA + 5, -1); /* nothing there */
    EXPECT(lf_kv_seq_pos_max(c, 0) == NA - 2, "pos max %d", lf_kv_seq_pos_max(c, 0));
    lf_kv_remove(c, 1, 4, -1); /* cannot rewind a recurrent state */
    EXPECT(lf_kv_seq_pos_max(c, 1) == -1, "sequence 1 still holds position %d",
           lf_kv_seq_pos_max(c, 1));
    ok = ok && decode(c, A + NA - 1, 1, 0, NA - 1);
    EXPECT(ok && max_diff(lf_get_logits_ith(c, 0), ref_a[NA - 1], nv) < 1e-3,
           "sequence 0 state not kept");
    ok = ok && decode(c, B, 3, 1, 0); /* sequence 1 starts over */
    for (int i = 0; ok && i < 3; i++)
        EXPECT(max_diff(lf_get_logits_ith(c, i), ref_b[i], nv) < 1e-3, "sequence 1 position %d", i);
    lf_kv_remove(c, -1, 0, -1);
    EXPECT(lf_kv_seq_pos_max(c, 0) == -1 && lf_kv_seq_pos_max(c, 1) == -1, "not all cleared");
    ok = ok && decode(c, A, 2, 0, 0);
    EXPECT(ok && max_diff(lf_get_logits_ith(c, 1), ref_a[1], nv) < 1e-3,
           "state not reset by clearing everything");
    lf_context_free(c);
    TEST_END();
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/granitehybrid-F16.gguf", test_shared_dir());
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m) {
        SKIP("recurrent state", "%s", err.msg);
        return test_summary();
    }
    int nv = lf_model_n_vocab(m);
    TEST_BEGIN("references (each sequence alone)");
    bool ok = nv <= NV_MAX && references(m, nv);
    EXPECT(ok, "decoding the references failed");
    TEST_END();
    if (ok) {
        test_interleaved(m, nv, 1, 512);
        test_interleaved(m, nv, 2, 5);
        test_interleaved(m, nv, 3, 1);
        test_remove(m, nv);
    }
    lf_model_free(m);
    return test_summary();
}
