/* grammar_bench.c — per-token sampling cost with and without a grammar,
 * on a vocabulary alone (no model weights): the same pseudo-random logits
 * each step (a fixed seed), the default chain (top-k 40, top-p 0.95,
 * min-p 0.05, temperature 1) with and without the grammar stage in front,
 * every chosen token accepted. Times are this thread's CPU time, so a
 * loaded machine slows them less than wall time. Built and run by
 * bench/grammar_bench.sh.
 *
 *   grammar_bench VOCAB.gguf GRAMMAR.gbnf [STEPS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llamafile.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static double uniform(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-53;
}

static void fill(float *logits, int32_t n) {
    for (int32_t i = 0; i < n; i++) /* roughly normal, sd 2 */
        logits[i] = (float)((uniform() + uniform() + uniform() - 1.5) * 4.0);
}

/* Runs steps samples; returns CPU seconds per token, the first step (the
 * grammar's vocabulary trie) reported apart in *first. */
static double run(lf_model *m, const char *gbnf, int steps, double *first, int *restarts,
                  char *sample, size_t cap) {
    int32_t nv = lf_model_n_vocab(m);
    lf_error err;
    lf_sampler_params p = lf_sampler_default_params();
    p.temp = 1.0f, p.seed = 1;
    lf_sampler *s = lf_sampler_chain_new(nv, &err);
    if (!s || (gbnf && !lf_sampler_add_grammar(s, m, gbnf, NULL, &err)) ||
        !lf_sampler_add_params(s, &p, &err)) {
        fprintf(stderr, "grammar_bench: %s\n", err.msg);
        exit(1);
    }
    float *logits = malloc(sizeof(float) * (size_t)nv);
    rng = 88172645463325252ull;
    double total = 0;
    size_t len = 0;
    *restarts = 0;
    sample[0] = 0;
    for (int i = 0; i <= steps; i++) {
        fill(logits, nv);
        double t0 = cpu_now();
        int32_t t = lf_sampler_sample(s, logits);
        if (t >= 0 && !lf_token_is_eog(m, t))
            lf_sampler_accept(s, t);
        double dt = cpu_now() - t0;
        if (i == 0)
            *first = dt;
        else
            total += dt;
        if (t < 0 || lf_token_is_eog(m, t)) { /* a whole match: start over */
            lf_sampler_reset(s);
            ++*restarts;
        } else if (len + 64 < cap) {
            int64_t k = lf_token_to_piece(m, t, sample + len, cap - len - 1, false);
            len += k > 0 ? (size_t)k : 0;
            sample[len] = 0;
        }
    }
    free(logits);
    lf_sampler_free(s);
    return total / steps;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: grammar_bench VOCAB.gguf GRAMMAR.gbnf [STEPS]\n");
        return 2;
    }
    int steps = argc > 3 ? atoi(argv[3]) : 300;
    lf_error err;
    lf_model *m = lf_model_load_vocab(argv[1], &err);
    FILE *f = fopen(argv[2], "rb");
    static char gbnf[1 << 16];
    size_t n = f ? fread(gbnf, 1, sizeof gbnf - 1, f) : 0;
    if (f)
        fclose(f);
    if (!m || !n) {
        fprintf(stderr, "grammar_bench: %s\n", m ? "cannot read the grammar" : err.msg);
        return 1;
    }
    gbnf[n] = 0;
    static char sample[4096];
    double first_u, first_g, u = INFINITY, g = INFINITY;
    int r_u, r_g;
    for (int rep = 0; rep < 3; rep++) { /* alternating, the best of three each */
        u = fmin(u, run(m, NULL, steps, &first_u, &r_u, sample, sizeof sample));
        g = fmin(g, run(m, gbnf, steps, &first_g, &r_g, sample, sizeof sample));
    }
    printf("vocab %d: unconstrained %.1f us/token, json grammar %.1f us/token (%.2fx), "
           "first grammar step %.1f ms, %d steps (best of 3), %d restarts\n",
           lf_model_n_vocab(m), u * 1e6, g * 1e6, g / u, first_g * 1e3, steps, r_g);
    printf("sample: %.300s\n", sample);
    lf_model_free(m);
    return 0;
}
