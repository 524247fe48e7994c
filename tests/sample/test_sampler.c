/* test_sampler.c — the sampler on broken logits: NaN or +Inf anywhere, or
 * nothing but -Inf, gives LF_SAMPLE_NONFINITE at every setting (greedy,
 * top-k, top-p, min-p, penalties) instead of a crash or a made-up token;
 * -Inf (a masked token) is never picked while a finite one exists. */
#include <math.h>

#include "../harness.h"
#include "llamafile.h"

enum { N = 1000 };

static lf_sampler_params settings(int k) {
    lf_sampler_params p = lf_sampler_default_params();
    p.seed = 42;
    switch (k) {
    case 0: p.temp = 0; break;                              /* greedy */
    case 1: break;                                          /* defaults: k, p, min-p */
    case 2: p.top_k = 0, p.top_p = 1, p.min_p = 0; break;  /* plain temperature */
    case 3: p.top_k = N / 2, p.top_p = 0.5f; break;
    default: p.repeat_penalty = 1.3f, p.presence_penalty = 0.5f, p.frequency_penalty = 0.5f; break;
    }
    return p;
}

int main(void) {
    static float logits[N];
    const char *names[] = {"greedy", "defaults", "temperature only", "top-k and top-p",
                           "penalties"};
    for (int k = 0; k < 5; k++) {
        char name[96];
        snprintf(name, sizeof name, "sampler, %s: non-finite logits refused", names[k]);
        TEST_BEGIN(name);
        lf_sampler_params sp = settings(k);
        lf_error err;
        lf_sampler *s = lf_sampler_new(&sp, N, &err);
        EXPECT(s, "new: %s", err.msg);
        for (int t = 0; s && t < 20; t++)
            lf_sampler_accept(s, t * 37 % N);
        const float bad[] = {NAN, -NAN, INFINITY};
        for (int b = 0; s && b < 3; b++) {
            for (int where = 0; where < N; where += 97) {
                for (int i = 0; i < N; i++)
                    logits[i] = sinf((float)i) * 4;
                logits[where] = bad[b];
                int32_t r = lf_sampler_sample(s, logits);
                EXPECT(r == LF_SAMPLE_NONFINITE, "bad value %d at %d gave %d", b, where, r);
            }
            for (int i = 0; i < N; i++) /* all NaN: the repro's model */
                logits[i] = bad[b];
            EXPECT(lf_sampler_sample(s, logits) == LF_SAMPLE_NONFINITE, "all bad %d", b);
        }
        for (int i = 0; s && i < N; i++)
            logits[i] = -INFINITY;
        EXPECT(!s || lf_sampler_sample(s, logits) == LF_SAMPLE_NONFINITE, "all -Inf");
        for (int i = 0; s && i < N; i++)
            logits[i] = i == 500 || i == 7 ? 1.0f : -INFINITY;
        for (int t = 0; s && t < 50; t++) {
            int32_t r = lf_sampler_sample(s, logits);
            EXPECT(r == 7 || r == 500, "a masked token was picked: %d", r);
        }
        lf_sampler_free(s);
        TEST_END();
    }
    return test_summary();
}
