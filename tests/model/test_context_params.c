/* lf_context_params edge values on stories260K: n_seq_max 0 means one
 * sequence (sequence 0 decodes, 1 is refused); a "negative" n_seq_max (a
 * negative int stored in the unsigned field) is refused by lf_context_new
 * with a message naming it; a failed decode leaves no logits to read. */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "model_util.h"

int main(void) {
    lf_model *m = load_stories("context params");
    if (!m)
        return test_summary();
    lf_error err;
    static const int32_t tok[] = {1, 403, 407};
    int32_t pos[] = {0, 1, 2}, seq0[] = {0, 0, 0}, seq1[] = {1, 1, 1};
    int8_t want[] = {0, 0, 1};

    TEST_BEGIN("n_seq_max 0 means one sequence");
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 1;
    p.n_seq_max = 0;
    lf_context *c = lf_context_new(m, &p, &err);
    EXPECT(c, "lf_context_new: %s", err.msg);
    if (c) {
        bool ok = lf_decode(c, &(lf_batch){3, tok, pos, seq0, want}, &err);
        EXPECT(ok, "sequence 0 refused: %s", err.msg);
        EXPECT(!ok || lf_get_logits_ith(c, -1), "no logits");
        EXPECT(lf_kv_seq_pos_max(c, 0) == 2, "pos max %d", lf_kv_seq_pos_max(c, 0));
        int32_t p3[] = {3, 4, 5};
        EXPECT(!lf_decode(c, &(lf_batch){3, tok, p3, seq1, want}, &err), "sequence 1 accepted");
        EXPECT(strstr(err.msg, "sequence 1"), "message: %s", err.msg);
        EXPECT(!lf_get_logits_ith(c, -1) && !lf_get_logits_ith(c, 2),
               "a failed decode left the previous batch's logits readable");
        lf_context_free(c);
    }
    TEST_END();

    TEST_BEGIN("negative n_seq_max is refused");
    p.n_seq_max = (uint32_t)-1;
    err.msg[0] = 0;
    c = lf_context_new(m, &p, &err);
    EXPECT(!c, "context made with n_seq_max %u", p.n_seq_max);
    EXPECT(strstr(err.msg, "n_seq_max"), "message: %s", err.msg);
    lf_context_free(c);
    p.n_seq_max = (uint32_t)INT32_MAX + 1;
    c = lf_context_new(m, &p, &err);
    EXPECT(!c, "context made with n_seq_max %u", p.n_seq_max);
    lf_context_free(c);
    TEST_END();

    lf_model_free(m);
    return test_summary();
}
