/* test_sampler_stages.c — each sampling stage alone on a small hand-made
 * candidates array, against distributions computed by hand (the numbers in
 * the comments); then the default chain's order, the seeded draw, a
 * custom (grammar-like) stage and the probabilities reported for logprobs. */
#include <float.h>
#include <math.h>

#include "../harness.h"
#include "llamafile.h"

enum { V = 8 }; /* the vocabulary of every chain here */

static lf_candidate buf[V];

/* Candidates with ids 0..n-1 and the given logits, unsorted. */
static lf_candidates cands(int n, const float *logits) {
    for (int i = 0; i < n; i++)
        buf[i] = (lf_candidate){i, logits[i], 0};
    return (lf_candidates){buf, n, false, -1};
}

/* The same with logits log(p): the softmax gives p back. */
static lf_candidates cands_p(int n, const float *p) {
    float l[V];
    for (int i = 0; i < n; i++)
        l[i] = logf(p[i]);
    return cands(n, l);
}

static bool near(double a, double b) { return fabs(a - b) < 1e-5; }

static lf_sampler *chain(void) {
    lf_error err;
    lf_sampler *s = lf_sampler_chain_new(V, &err);
    if (!s)
        abort();
    return s;
}

/* ids of c in order, as a number with one digit per id: {3, 4} → 34. */
static long ids(const lf_candidates *c) {
    long r = 0;
    for (int i = 0; i < c->n; i++)
        r = r * 10 + c->data[i].id;
    return r;
}

static void custom_mask_even(void *user, lf_candidates *c) {
    (void)user;
    for (int i = 0; i < c->n; i++)
        if (c->data[i].id % 2 == 0)
            c->data[i].logit = -INFINITY;
}
static void custom_mask_all(void *user, lf_candidates *c) {
    (void)user;
    for (int i = 0; i < c->n; i++)
        c->data[i].logit = -INFINITY;
}
static int accepted[4], resets;
static void custom_accept(void *user, int32_t t) { accepted[(*(int *)user)++ % 4] = t; }
static void custom_reset(void *user) { *(int *)user = 0, resets++; }

int main(void) {
    lf_error err;
    lf_candidates c;

    TEST_BEGIN("top-k 2 of 5 keeps the two largest, sorted; ties to the lower id");
    lf_sampler *s = chain();
    lf_sampler_add_top_k(s, 2, &err);
    c = cands(5, (float[]){1, 3, 2, 5, 4});
    EXPECT(lf_sampler_apply(s, &c) == LF_SAMPLE_NONE, "no selecting stage");
    EXPECT(ids(&c) == 34 && c.sorted, "kept %ld", ids(&c));
    EXPECT(lf_sampler_apply(s, &c) == LF_SAMPLE_NONE && ids(&c) == 34, "again: %ld", ids(&c));
    c.data[2] = (lf_candidate){2, 2, 0}, c.data[3] = (lf_candidate){0, 1, 0};
    c.n = 4; /* sorted: 5, 4, 2, 1 */
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 34, "sorted input: kept %ld", ids(&c));
    c = cands(5, (float[]){1, 3, 0, 3, 3});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 13, "ties: kept %ld", ids(&c));
    lf_sampler_free(s);
    TEST_END();

    TEST_BEGIN("top-p 0.7: the shortest prefix reaching 0.7 (0.5 + 0.25)");
    s = chain();
    lf_sampler_add_top_p(s, 0.7f, &err);
    c = cands_p(4, (float[]){0.1f, 0.25f, 0.5f, 0.15f});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 21, "kept %ld", ids(&c));
    EXPECT(c.n == 2 && near(c.data[0].p, 0.5) && near(c.data[1].p, 0.25), "p %g %g",
           c.data[0].p, c.data[1].p);
    lf_sampler_free(s);
    s = chain(); /* 0.76 needs the third (0.9) */
    lf_sampler_add_top_p(s, 0.76f, &err);
    c = cands_p(4, (float[]){0.1f, 0.25f, 0.5f, 0.15f});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 213, "0.76: kept %ld", ids(&c));
    lf_sampler_free(s);
    TEST_END();

    TEST_BEGIN("min-p 0.2: p >= 0.2 * 0.5 = 0.1 stays, in its order");
    s = chain();
    lf_sampler_add_min_p(s, 0.2f, &err);
    c = cands_p(5, (float[]){0.07f, 0.25f, 0.03f, 0.5f, 0.15f});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 134, "kept %ld", ids(&c));
    lf_sampler_free(s);
    TEST_END();

    /* p = {1/2, 1/4, 1/8, 1/8}: H = 1.75 ln2; |-ln p - H| = 0.75 ln2 (1/2),
     * 0.25 ln2 (1/4), 1.25 ln2 (1/8): the order 1/4, 1/2, 1/8, 1/8. */
    TEST_BEGIN("typical 0.5: |-log p - H| order, first sum above 0.5 (1/4 + 1/2)");
    s = chain();
    lf_sampler_add_typical(s, 0.5f, &err);
    c = cands_p(4, (float[]){0.125f, 0.5f, 0.25f, 0.125f});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 21, "kept %ld", ids(&c));
    EXPECT(near(c.data[0].p, 0.25) && near(c.data[1].p, 0.5), "p %g %g", c.data[0].p,
           c.data[1].p);
    lf_sampler_free(s);
    s = chain(); /* 0.2: the most probable token is not typical */
    lf_sampler_add_typical(s, 0.2f, &err);
    c = cands_p(4, (float[]){0.125f, 0.5f, 0.25f, 0.125f});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 2, "0.2: kept %ld", ids(&c));
    lf_sampler_free(s);
    TEST_END();

    /* {2, 0, -2} / 2 = {1, 0, -1}: p = e / (e + 1 + 1/e) = 0.665241,
     * 0.244728, 0.090031 (before: 0.866813, 0.117310, 0.015876). */
    TEST_BEGIN("temperature 2 halves the logits; 0 keeps the first largest");
    s = chain();
    lf_sampler_add_temp(s, 2, &err);
    c = cands(3, (float[]){2, 0, -2});
    lf_sampler_apply(s, &c);
    lf_candidate top[3];
    int32_t n = lf_candidates_probs(&c, NULL, 3, top);
    EXPECT(n == 3 && c.data[0].logit == 1 && c.data[2].logit == -1, "logits");
    EXPECT(near(top[0].p, 0.665241) && near(top[1].p, 0.244728) && near(top[2].p, 0.090031),
           "p %g %g %g", top[0].p, top[1].p, top[2].p);
    lf_sampler_free(s);
    s = chain();
    lf_sampler_add_temp(s, 0, &err);
    c = cands(4, (float[]){1, 3, 2, 3});
    lf_sampler_apply(s, &c);
    EXPECT(c.n == 1 && c.data[0].id == 1, "temp 0 kept %ld", ids(&c));
    lf_sampler_free(s);
    TEST_END();

    /* window of 3 after accepting 4 0 1 0: {0, 1, 0}. repeat 2, frequency
     * 0.5, presence 0.25: id 0: 2/2 - (2*0.5 + 0.25) = -0.25; id 1: -1*2 -
     * 0.75 = -2.75; 2, 3 unseen; 4 left the window. */
    TEST_BEGIN("penalties over the last 3 accepted tokens");
    s = chain();
    lf_sampler_add_penalties(s, 3, 2.0f, 0.5f, 0.25f, &err);
    const int32_t hist[] = {4, 0, 1, 0};
    for (int i = 0; i < 4; i++)
        lf_sampler_accept(s, hist[i]);
    const float pl[] = {2, -1, 1, 0.5f, 3};
    c = cands(5, pl);
    lf_sampler_apply(s, &c);
    EXPECT(near(c.data[0].logit, -0.25) && near(c.data[1].logit, -2.75) &&
               c.data[2].logit == 1 && c.data[3].logit == 0.5f && c.data[4].logit == 3,
           "%g %g %g %g %g", c.data[0].logit, c.data[1].logit, c.data[2].logit, c.data[3].logit,
           c.data[4].logit);
    lf_sampler_reset(s);
    c = cands(5, pl);
    lf_sampler_apply(s, &c);
    EXPECT(c.data[0].logit == 2 && c.data[1].logit == -1, "after reset: %g", c.data[0].logit);
    lf_sampler_free(s);
    s = chain(); /* last_n -1: every accepted token; 4 too: 3/2 - 0.75 */
    lf_sampler_add_penalties(s, -1, 2.0f, 0.5f, 0.25f, &err);
    for (int i = 0; i < 4; i++)
        lf_sampler_accept(s, hist[i]);
    c = cands(5, pl);
    lf_sampler_apply(s, &c);
    EXPECT(near(c.data[4].logit, 0.75) && near(c.data[0].logit, -0.25), "-1: %g",
           c.data[4].logit);
    lf_sampler_free(s);
    TEST_END();

    TEST_BEGIN("logit bias adds (twice for one token adds up), -Inf removes");
    s = chain();
    const lf_logit_bias lb[] = {{1, 2}, {3, -INFINITY}, {1, 0.5f}};
    EXPECT(lf_sampler_add_logit_bias(s, lb, 3, &err), "%s", err.msg);
    c = cands(5, (float[]){0, 1, 2, 3, 4});
    lf_sampler_apply(s, &c);
    EXPECT(ids(&c) == 124 && c.data[1].logit == 3.5f && c.data[0].logit == 0, "kept %ld",
           ids(&c));
    EXPECT(!lf_sampler_add_logit_bias(s, (lf_logit_bias[]){{V, 1}}, 1, &err), "id out of range");
    lf_sampler_free(s);
    s = chain(); /* a finite bias that overflows is the lowest logit, not a ban */
    lf_sampler_add_logit_bias(s, (lf_logit_bias[]){{0, -3e38f}}, 1, &err);
    c = cands(2, (float[]){-3e38f, -INFINITY});
    lf_sampler_apply(s, &c);
    EXPECT(c.n == 1 && c.data[0].logit == -FLT_MAX, "overflow: n %d", c.n);
    lf_sampler_free(s);
    TEST_END();

    TEST_BEGIN("greedy picks the first of the largest, in the candidates' order");
    s = chain();
    lf_sampler_add_greedy(s, &err);
    c = cands(4, (float[]){1, 3, 2, 3});
    EXPECT(lf_sampler_apply(s, &c) == 1 && c.selected == 1, "picked %d", c.selected);
    c = cands(4, (float[]){1, 3, 2, 3});
    c.data[1].id = 7; /* the same logits under other ids: still position 1 */
    EXPECT(lf_sampler_apply(s, &c) == 7, "picked %d", c.selected);
    EXPECT(!lf_sampler_add_top_k(s, 1, &err), "a stage after greedy");
    lf_sampler_free(s);
    TEST_END();

    TEST_BEGIN("dist: a fixed seed repeats; 20000 draws within 2% of p");
    const float dp[] = {0.05f, 0.5f, 0.15f, 0.3f};
    lf_sampler *a = chain(), *b = chain(), *d = chain();
    lf_sampler_add_dist(a, 7, &err), lf_sampler_add_dist(b, 7, &err);
    lf_sampler_add_dist(d, 8, &err);
    int same = 0, other = 0;
    for (int i = 0; i < 200; i++) {
        c = cands_p(4, dp);
        int32_t x = lf_sampler_apply(a, &c);
        c = cands_p(4, dp);
        same += x == lf_sampler_apply(b, &c);
        c = cands_p(4, dp);
        other += x == lf_sampler_apply(d, &c);
    }
    EXPECT(same == 200 && other < 200, "same seed %d/200, other seed %d/200", same, other);
    lf_sampler_reset(a), lf_sampler_reset(b);
    int count[4] = {0};
    for (int i = 0; i < 20000; i++) {
        c = cands_p(4, dp);
        int32_t x = lf_sampler_apply(a, &c);
        EXPECT(x >= 0 && x < 4 && near(c.data[x].p, dp[x]), "draw %d", x);
        if (x >= 0 && x < 4)
            count[x]++;
    }
    for (int i = 0; i < 4; i++)
        EXPECT(fabs(count[i] / 20000.0 - dp[i]) < 0.02, "token %d: %d/20000 for p %g", i,
               count[i], dp[i]);
    lf_sampler_free(a), lf_sampler_free(b), lf_sampler_free(d);
    TEST_END();

    /* Penalising must lower a seen token's logit on both sides of zero:
     * 2.0 / 1.5 < 1.9 and -1.0 * 1.5 < -1.2, so token 1 wins both times. */
    TEST_BEGIN("repeat penalty 1.5 on seen token 0: greedy picks token 1 for {2, 1.9}, {-1, -1.2}");
    s = chain();
    lf_sampler_add_penalties(s, 64, 1.5f, 0, 0, &err);
    lf_sampler_add_greedy(s, &err);
    lf_sampler_accept(s, 0);
    c = cands(2, (float[]){2.0f, 1.9f});
    EXPECT(lf_sampler_apply(s, &c) == 1, "positive logits: picked %d", c.selected);
    c = cands(2, (float[]){-1.0f, -1.2f});
    EXPECT(lf_sampler_apply(s, &c) == 1, "negative logits: picked %d", c.selected);
    lf_sampler_free(s);
    TEST_END();

    /* 0.5 alone is below 0.7; the token that crosses it (0.3) stays. */
    TEST_BEGIN("top-p 0.7 over {0.5, 0.3, 0.2}, 400 seeds: token 1 drawn, token 2 never");
    int drawn[3] = {0};
    for (uint64_t seed = 1; seed <= 400; seed++) {
        s = chain();
        lf_sampler_add_top_p(s, 0.7f, &err);
        lf_sampler_add_dist(s, seed, &err);
        c = cands_p(3, (float[]){0.5f, 0.3f, 0.2f});
        int32_t x = lf_sampler_apply(s, &c);
        if (x >= 0 && x < 3)
            drawn[x]++;
        lf_sampler_free(s);
    }
    EXPECT(drawn[1] > 0 && drawn[2] == 0 && drawn[0] + drawn[1] == 400, "drawn %d %d %d",
           drawn[0], drawn[1], drawn[2]);
    TEST_END();

    TEST_BEGIN("a custom stage's masks are respected; it sees accept and reset");
    int user = 0;
    s = chain();
    EXPECT(lf_sampler_add_custom(s, custom_mask_even, custom_accept, custom_reset, &user, &err),
           "%s", err.msg);
    lf_sampler_add_greedy(s, &err);
    float logits[V] = {9, 1, 8, 2, 7, 3, 6, 0};
    EXPECT(lf_sampler_sample(s, logits) == 5, "greedy over odd ids");
    lf_sampler_accept(s, 5), lf_sampler_accept(s, 3);
    EXPECT(user == 2 && accepted[0] == 5 && accepted[1] == 3, "accept");
    lf_sampler_reset(s);
    EXPECT(user == 0 && resets == 1, "reset");
    lf_sampler_free(s);
    s = chain();
    lf_sampler_add_custom(s, custom_mask_all, NULL, NULL, NULL, &err);
    lf_sampler_add_dist(s, 1, &err);
    EXPECT(lf_sampler_sample(s, logits) == LF_SAMPLE_NONE, "all masked");
    lf_sampler_free(s);
    TEST_END();

    TEST_BEGIN("default chain: min-p before temperature, greedy at temp 0");
    lf_sampler_params sp = lf_sampler_default_params();
    sp.top_k = 0, sp.top_p = 1, sp.min_p = 0.2f, sp.temp = 3, sp.seed = 3;
    s = lf_sampler_new(&sp, V, &err);
    float ml[V];
    const float mp[V] = {0.07f, 0.25f, 0.03f, 0.5f, 0.15f, 1e-4f, 1e-4f, 1e-4f};
    for (int i = 0; i < V; i++)
        ml[i] = logf(mp[i]);
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        int32_t x = lf_sampler_sample(s, ml);
        bad += x != 1 && x != 3 && x != 4;
    }
    EXPECT(bad == 0, "%d draws outside min-p's set", bad);
    lf_sampler_free(s);
    sp.temp = 0;
    s = lf_sampler_new(&sp, V, &err);
    EXPECT(lf_sampler_sample(s, ml) == 3, "temp 0");
    lf_sampler_free(s);
    TEST_END();

    /* top-k 3 of {4, 3, 2, 1, 0} then temperature 1: the final distribution
     * is the softmax of {4, 3, 2}: 0.665241, 0.244728, 0.090031. */
    TEST_BEGIN("probabilities: the chosen token and the top N, ordered, summing to 1");
    s = chain();
    lf_sampler_add_top_k(s, 3, &err);
    lf_sampler_add_dist(s, 5, &err);
    float pl5[V] = {2, 3, 4, 1, 0, -1, -2, -3};
    int32_t x = lf_sampler_sample(s, pl5);
    float chosen;
    n = lf_sampler_last_probs(s, &chosen, 8, top);
    EXPECT(n == 3, "n %d", n);
    EXPECT(top[0].id == 2 && top[1].id == 1 && top[2].id == 0, "order %d %d %d", top[0].id,
           top[1].id, top[2].id);
    EXPECT(near(top[0].p, 0.665241) && near(top[1].p, 0.244728) && near(top[2].p, 0.090031),
           "p %g %g %g", top[0].p, top[1].p, top[2].p);
    EXPECT(near(top[0].p + top[1].p + top[2].p, 1), "sum");
    EXPECT(x >= 0 && x <= 2 && near(chosen, top[2 - x].p), "chosen %d p %g", x, chosen);
    n = lf_sampler_last_probs(s, NULL, 1, top);
    EXPECT(n == 1 && top[0].id == 2, "top 1");
    c = cands(4, (float[]){1, 2, 2, 0}); /* ties to the lower id */
    n = lf_candidates_probs(&c, &chosen, 2, top);
    EXPECT(n == 2 && top[0].id == 1 && top[1].id == 2 && chosen == 0, "ties");
    lf_sampler_free(s);
    TEST_END();

    return test_summary();
}
