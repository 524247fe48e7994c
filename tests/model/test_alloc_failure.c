/* Allocation-failure injection over load + context + decode (SQLite
 * style): for n = 0, 1, 2, ... the n-th allocation of loading
 * stories260K, making a context and decoding two batches fails (once).
 * Each step must then fail with "out of memory" in its message, never
 * crash nor succeed; a failed decode must leave the KV cache as it was,
 * so the same batch decoded again gives the reference logits, and no
 * logits to read. Everything is freed (run under SANITIZE=address for
 * leaks). The walk ends at the first n past every allocation made. */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "base/alloc.h"
#include "llamafile.h"
#include "model_util.h"

enum { LIMIT = 4000 };

static const int32_t A[] = {1, 403, 407, 261, 378}, B[] = {416, 284, 30};

static lf_context *make_ctx(lf_model *m, lf_error *err) {
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 2;
    return lf_context_new(m, &p, err);
}

static bool decode_run(lf_context *c, const int32_t *tok, int n, int p0, lf_error *err) {
    int32_t pos[8], seq[8] = {0};
    int8_t want[8] = {0};
    for (int i = 0; i < n; i++)
        pos[i] = p0 + i;
    want[n - 1] = 1;
    return lf_decode(c, &(lf_batch){n, tok, pos, seq, want}, err);
}

/* What one injection round saw. */
typedef struct {
    int failed_step;   /* 0 none, 1 load, 2 context, 3/4 decode A/B */
    bool oom_msg;      /* the failure's message says "out of memory" */
    bool kv_kept;      /* a failed decode left the cache as it was */
    bool retry_ok;     /* the failed decode succeeded when retried */
    bool no_logits;    /* a failed decode left no logits to read */
    double diff;       /* last logits vs the reference */
    char msg[512];
} round_t;

static void run(const char *path, const float *ref, int nv, round_t *r) {
    lf_error err;
    memset(r, 0, sizeof *r);
    r->diff = INFINITY;
    lf_model *m = lf_model_load(path, &err);
    lf_context *c = NULL;
    if (!m) {
        r->failed_step = 1;
        goto done;
    }
    if (!(c = make_ctx(m, &err))) {
        r->failed_step = 2;
        goto done;
    }
    static const struct { const int32_t *tok; int n, p0; } steps[2] = {{A, 5, 0}, {B, 3, 5}};
    for (int s = 0; s < 2; s++) {
        if (decode_run(c, steps[s].tok, steps[s].n, steps[s].p0, &err))
            continue;
        lf_alloc_fail_after(-1);
        r->failed_step = 3 + s;
        r->kv_kept = lf_kv_seq_pos_max(c, 0) == steps[s].p0 - 1;
        r->no_logits = !lf_get_logits_ith(c, -1) && !lf_get_logits_ith(c, 0);
        snprintf(r->msg, sizeof r->msg, "%s", err.msg);
        r->retry_ok = decode_run(c, steps[s].tok, steps[s].n, steps[s].p0, &err);
    }
    r->diff = max_diff(lf_get_logits_ith(c, -1), ref, nv);
    lf_context_free(c);
    lf_model_free(m);
    r->oom_msg = !r->failed_step || strstr(r->msg, "out of memory");
    return;
done:
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    r->oom_msg = strstr(err.msg, "out of memory") != NULL;
    lf_context_free(c);
    lf_model_free(m);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", test_shared_dir());
    lf_model *m = load_stories("allocation failures");
    if (!m)
        return test_summary();
    lf_error err;
    int nv = lf_model_n_vocab(m);
    static float ref[NV_MAX];
    lf_context *c = make_ctx(m, &err);
    bool ok = c && decode_run(c, A, 5, 0, &err) && decode_run(c, B, 3, 5, &err);
    if (ok)
        memcpy(ref, lf_get_logits_ith(c, -1), sizeof(float) * (size_t)nv);
    lf_context_free(c);
    lf_model_free(m);

    TEST_BEGIN("every allocation of load, context and two decodes fails cleanly");
    EXPECT(ok, "reference run: %s", err.msg);
    int n = 0, per_step[5] = {0};
    bool ended = false;
    for (; ok && n < LIMIT && !ended; n++) {
        long before = lf_alloc_failures();
        lf_alloc_fail_after(n);
        round_t r;
        run(path, ref, nv, &r);
        lf_alloc_fail_after(-1);
        bool injected = lf_alloc_failures() > before;
        per_step[r.failed_step]++;
        if (!injected) {
            ended = true;
            EXPECT(!r.failed_step, "n=%d: step %d failed with nothing injected: %s", n,
                   r.failed_step, r.msg);
            EXPECT(r.diff == 0, "n=%d: logits differ from the reference by %g", n, r.diff);
            continue;
        }
        EXPECT(r.failed_step, "n=%d: an allocation failed but every step succeeded", n);
        EXPECT(r.oom_msg, "n=%d: step %d failed with \"%s\"", n, r.failed_step, r.msg);
        if (r.failed_step >= 3) {
            EXPECT(r.kv_kept, "n=%d: a failed decode changed the KV cache", n);
            EXPECT(r.no_logits, "n=%d: a failed decode left logits to read", n);
            EXPECT(r.retry_ok, "n=%d: the decode failed again when retried", n);
            EXPECT(r.diff == 0, "n=%d: logits after the retry differ by %g", n, r.diff);
        }
    }
    EXPECT(!ok || ended, "more than %d allocations", LIMIT);
    printf("# %d allocations: %d failed the load, %d the context, %d/%d the decodes\n", n - 1,
           per_step[1], per_step[2], per_step[3], per_step[4]);
    TEST_END();
    return test_summary();
}
