/* sampler.c — the sampler chain, in llama.cpp's default order:
 * penalties → top-k → top-p → min-p → temperature → a seeded random draw.
 * top-p and min-p see the logits before temperature, as in llama.cpp.
 * Logits holding NaN or +Inf (a broken model) are refused before any stage
 * runs: every comparison below relies on the values being ordered. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "llamafile.h"

typedef struct candidate {
    int32_t id;
    float logit;
} candidate;

struct lf_sampler {
    lf_sampler_params p;
    int32_t n_vocab;
    candidate *cand;
    int32_t *history; /* ring of the last penalty_last_n tokens */
    int32_t hist_cap, hist_len, hist_head;
    int32_t *counts;  /* scratch: occurrences per token */
    uint64_t rng[4];
};

lf_sampler_params lf_sampler_default_params(void) {
    return (lf_sampler_params){
        .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f, .frequency_penalty = 0.0f, .penalty_last_n = 64,
        .seed = UINT64_MAX,
    };
}

/* xoshiro256** seeded through splitmix64. */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t *s) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return r;
}

static double rng_uniform(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1p-53; }

static void seed_rng(lf_sampler *s) {
    uint64_t seed = s->p.seed;
    if (seed == UINT64_MAX || seed == 0xffffffffu) { /* "random", as llama.cpp's default */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
    }
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&seed);
}

lf_sampler *lf_sampler_new(const lf_sampler_params *p, int32_t n_vocab, lf_error *err) {
    lf_sampler *s = calloc(1, sizeof(*s));
    if (!s || n_vocab <= 0) {
        free(s);
        lf_fail(err, n_vocab <= 0 ? "empty vocabulary" : "out of memory");
        return NULL;
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    s->hist_cap = p->penalty_last_n > 0 ? p->penalty_last_n : 0;
    s->cand = malloc(sizeof(candidate) * (size_t)n_vocab);
    s->counts = calloc((size_t)n_vocab, sizeof(int32_t));
    s->history = malloc(sizeof(int32_t) * (size_t)(s->hist_cap + 1));
    if (!s->cand || !s->counts || !s->history) {
        lf_sampler_free(s);
        lf_fail(err, "out of memory");
        return NULL;
    }
    seed_rng(s);
    return s;
}

void lf_sampler_free(lf_sampler *s) {
    if (!s)
        return;
    free(s->cand);
    free(s->counts);
    free(s->history);
    free(s);
}

void lf_sampler_reset(lf_sampler *s) {
    s->hist_len = s->hist_head = 0;
    seed_rng(s);
}

void lf_sampler_accept(lf_sampler *s, int32_t token) {
    if (!s->hist_cap)
        return;
    s->history[s->hist_head] = token;
    s->hist_head = (s->hist_head + 1) % s->hist_cap;
    if (s->hist_len < s->hist_cap)
        s->hist_len++;
}

static bool penalties_active(const lf_sampler_params *p) {
    return p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f ||
           p->frequency_penalty != 0.0f;
}

static void apply_penalties(lf_sampler *s, candidate *c) {
    const lf_sampler_params *p = &s->p;
    for (int32_t i = 0; i < s->hist_len; i++) {
        int32_t t = s->history[i];
        if (t >= 0 && t < s->n_vocab)
            s->counts[t]++;
    }
    for (int32_t i = 0; i < s->hist_len; i++) {
        int32_t t = s->history[i];
        if (t < 0 || t >= s->n_vocab || !s->counts[t])
            continue;
        float *l = &c[t].logit; /* candidates are still in id order here */
        *l = *l <= 0 ? *l * p->repeat_penalty : *l / p->repeat_penalty;
        *l -= (float)s->counts[t] * p->frequency_penalty + p->presence_penalty;
        s->counts[t] = 0;
    }
}

static int by_logit_desc(const void *a, const void *b) {
    float x = ((const candidate *)a)->logit, y = ((const candidate *)b)->logit;
    if (x != y)
        return x > y ? -1 : 1;
    return ((const candidate *)a)->id - ((const candidate *)b)->id;
}

/* Moves the k largest to the front (unordered), in expected linear time. */
static void select_top(candidate *c, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        candidate pivot = c[lo + (hi - lo) / 2];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (by_logit_desc(&c[i], &pivot) < 0) i++;
            while (by_logit_desc(&c[j], &pivot) > 0) j--;
            if (i <= j) {
                candidate t = c[i];
                c[i++] = c[j], c[j--] = t;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

/* Penalties with extreme parameters can overflow a finite logit; NaN sinks
 * to -Inf and +Inf becomes the largest finite value, so the order holds. */
static void keep_ordered(candidate *c, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (isnan(c[i].logit))
            c[i].logit = -INFINITY;
        else if (c[i].logit > FLT_MAX)
            c[i].logit = FLT_MAX;
    }
}

int32_t lf_sampler_sample(lf_sampler *s, const float *logits) {
    const lf_sampler_params *p = &s->p;
    candidate *c = s->cand;
    int32_t n = s->n_vocab;
    bool any_finite = false;
    for (int32_t i = 0; i < n; i++) {
        float l = logits[i];
        if (isnan(l) || l > FLT_MAX)
            return LF_SAMPLE_NONFINITE;
        any_finite |= l > -INFINITY;
        c[i] = (candidate){i, l};
    }
    if (!any_finite)
        return LF_SAMPLE_NONFINITE;
    if (penalties_active(p)) {
        apply_penalties(s, c);
        keep_ordered(c, n);
    }

    if (p->temp <= 0) { /* greedy: the first of the largest */
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        return c[best].id;
    }
    if (p->top_k > 0 && p->top_k < n) {
        select_top(c, n, p->top_k);
        n = p->top_k;
    }
    qsort(c, (size_t)n, sizeof(candidate), by_logit_desc);

    if (p->top_p < 1.0f || p->min_p > 0.0f) {
        double sum = 0;
        for (int32_t i = 0; i < n; i++)
            sum += exp((double)(c[i].logit - c[0].logit));
        if (p->top_p < 1.0f) { /* smallest prefix whose probability reaches top_p */
            double cum = 0;
            for (int32_t i = 0; i < n; i++) {
                cum += exp((double)(c[i].logit - c[0].logit)) / sum;
                if (cum >= p->top_p) {
                    n = i + 1;
                    break;
                }
            }
        }
        if (p->min_p > 0.0f) { /* keep p_i >= min_p * p_max */
            float floor_logit = c[0].logit + logf(p->min_p);
            int32_t keep = 1;
            while (keep < n && c[keep].logit >= floor_logit)
                keep++;
            n = keep;
        }
    }

    double sum = 0;
    for (int32_t i = 0; i < n; i++)
        sum += exp((double)((c[i].logit - c[0].logit) / p->temp));
    double r = rng_uniform(s->rng) * sum, cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += exp((double)((c[i].logit - c[0].logit) / p->temp));
        if (r < cum)
            return c[i].id;
    }
    return c[n - 1].id;
}
