/* The cancel hook (lf_set_abort_callback) on stories260K: a cancelled
 * decode fails with "cancelled", keeps nothing of its batch in the KV
 * cache and leaves no logits; the hook is consulted before each ubatch and
 * each layer and not again once it said stop; a later decode gives the
 * logits of a run that was never cancelled; and each architecture in
 * $SHARED/vectors consults the hook per layer. */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "model_util.h"

typedef struct {
    int calls, stop_at; /* stop on call stop_at (0: never) */
} counter;

static bool hook(void *user) {
    counter *k = user;
    k->calls++;
    return k->stop_at > 0 && k->calls >= k->stop_at;
}

static bool cancelled(lf_context *c, const int32_t *toks, int n, int p0, lf_error *err) {
    int32_t pos[N_MAX], sq[N_MAX];
    int8_t want[N_MAX];
    for (int i = 0; i < n; i++)
        pos[i] = p0 + i, sq[i] = 0, want[i] = 1;
    lf_batch b = {n, toks, pos, sq, want};
    return !lf_decode(c, &b, err) && strncmp(err->msg, "cancelled", 9) == 0;
}

int main(void) {
    lf_model *m = load_stories("cancel");
    if (!m)
        return test_summary();
    lf_error err;
    int nv = lf_model_n_vocab(m), n_layer = lf_model_n_layer(m);
    static const int32_t A[] = {1, 403, 407, 261, 378, 416, 284, 30, 476, 17};
    int na = (int)(sizeof A / sizeof *A);
    static float ref[N_MAX][NV_MAX];
    lf_context *c = new_ctx(m, 1, 512, 1);
    bool ok = c && decode(c, A, na, 0, 0);
    for (int i = 0; ok && i < na; i++)
        memcpy(ref[i], lf_get_logits_ith(c, i), sizeof(float) * nv);
    lf_context_free(c);

    TEST_BEGIN("a hook that stops at once: cancelled, nothing cached, then as never cancelled");
    counter k = {0, 1};
    c = new_ctx(m, 1, 512, 1);
    if (c)
        lf_set_abort_callback(c, hook, &k);
    EXPECT(ok && c && cancelled(c, A, na, 0, &err), "not cancelled: %s", err.msg);
    EXPECT(k.calls == 1, "hook called %d times", k.calls);
    EXPECT(c && lf_kv_seq_pos_max(c, 0) == -1, "cache holds up to %d",
           c ? lf_kv_seq_pos_max(c, 0) : -2);
    EXPECT(c && !lf_get_logits_ith(c, 0) && !lf_get_logits_ith(c, -1), "logits left");
    if (c)
        lf_set_abort_callback(c, NULL, NULL);
    bool again = c && decode(c, A, na, 0, 0);
    EXPECT(again, "decode after the cancel failed");
    double worst = 0;
    for (int i = 0; again && i < na; i++)
        worst = fmax(worst, max_diff(lf_get_logits_ith(c, i), ref[i], nv));
    EXPECT(again && worst == 0, "max difference %g", worst);
    lf_context_free(c);
    TEST_END();

    TEST_BEGIN("the hook runs per layer and not again after it said stop");
    k = (counter){0, 0};
    c = new_ctx(m, 1, 512, 1);
    if (c)
        lf_set_abort_callback(c, hook, &k);
    EXPECT(ok && decode(c, A, na, 0, 0), "uncancelled decode with the hook failed");
    int total = k.calls;
    EXPECT(total >= n_layer, "%d calls for %d layers", total, n_layer);
    for (int stop = 1; c && stop <= total; stop++) {
        lf_kv_remove(c, -1, 0, -1);
        k = (counter){0, stop};
        EXPECT(cancelled(c, A, na, 0, &err), "stop on call %d: not cancelled", stop);
        EXPECT(k.calls == stop, "stop on call %d: called %d times", stop, k.calls);
        EXPECT(lf_kv_seq_pos_max(c, 0) == -1, "stop on call %d: cache holds up to %d", stop,
               lf_kv_seq_pos_max(c, 0));
    }
    lf_context_free(c);
    TEST_END();

    TEST_BEGIN("cancelled in the middle of several ubatches: the cache is as before");
    c = new_ctx(m, 1, 3, 1);
    k = (counter){0, 0};
    bool first = c && decode(c, A, 4, 0, 0);
    EXPECT(first, "first part failed");
    if (c)
        lf_set_abort_callback(c, hook, &k);
    /* the 6 remaining tokens are 2 ubatches of 3; stop inside the second */
    k.stop_at = n_layer + 1 + 2;
    EXPECT(first && cancelled(c, A + 4, na - 4, 4, &err), "not cancelled: %s", err.msg);
    EXPECT(k.calls == k.stop_at, "called %d times", k.calls);
    EXPECT(c && lf_kv_seq_pos_max(c, 0) == 3, "cache holds up to %d",
           c ? lf_kv_seq_pos_max(c, 0) : -2);
    k = (counter){0, 0};
    again = first && decode(c, A + 4, na - 4, 0, 4);
    EXPECT(again, "decode after the cancel failed");
    worst = 0;
    for (int i = 4; again && i < na; i++)
        worst = fmax(worst, max_diff(lf_get_logits_ith(c, i - 4), ref[i], nv));
    EXPECT(again && worst < 1e-4, "max difference %g", worst);
    lf_context_free(c);
    TEST_END();

    lf_model_free(m);

    /* every architecture consults the hook per layer ($SHARED/vectors) */
    static const char *archs[] = {"llama-Q4_K_M",  "qwen3-Q8_0",        "gemma3-Q4_K_M",
                                  "bailingmoe2-Q2_K", "granitehybrid-Q6_K", "gemma3n-Q4_K_M",
                                  "gpt-oss-MXFP4_MOE"};
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/vectors/%s.gguf", test_shared_dir(), archs[a]);
        if (!(m = lf_model_load(path, &err))) {
            SKIP(archs[a], "%s", err.msg);
            continue;
        }
        TEST_BEGIN(archs[a]);
        n_layer = lf_model_n_layer(m);
        static const int32_t T3[] = {1, 2, 3};
        c = new_ctx(m, 1, 512, 1);
        k = (counter){0, 0};
        if (c)
            lf_set_abort_callback(c, hook, &k);
        EXPECT(decode(c, T3, 3, 0, 0), "uncancelled decode failed");
        EXPECT(k.calls >= n_layer, "%d calls for %d layers", k.calls, n_layer);
        lf_kv_remove(c, -1, 0, -1);
        k = (counter){0, n_layer / 2 + 1};
        EXPECT(c && cancelled(c, T3, 3, 0, &err), "not cancelled");
        EXPECT(k.calls == k.stop_at, "called %d times, stop on %d", k.calls, k.stop_at);
        EXPECT(c && lf_kv_seq_pos_max(c, 0) == -1, "cache not empty");
        lf_context_free(c);
        lf_model_free(m);
        TEST_END();
    }
    return test_summary();
}
