/* stages.c — the sampling stages over a candidates array, with llama.cpp's
 * semantics (src/llama-sampling.cpp): truncations always keep at least one
 * candidate, top-p stops at the first prefix whose probability reaches p,
 * typical at the first whose probability exceeds it, min-p compares
 * logits (p_i >= p * p_max is logit_i >= max + log p). */
#include "sample/stages.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

void lf_cand_normalize(lf_candidates *c) {
    int32_t m = 0;
    for (int32_t i = 0; i < c->n; i++) {
        lf_candidate x = c->data[i];
        if (isnan(x.logit) || x.logit == -INFINITY)
            continue;
        if (x.logit > FLT_MAX)
            x.logit = FLT_MAX;
        c->data[m++] = x;
    }
    c->n = m;
}

float lf_cand_clamp(float l) {
    if (isnan(l))
        return -FLT_MAX;
    return l > FLT_MAX ? FLT_MAX : l < -FLT_MAX ? -FLT_MAX : l;
}

static int by_logit_desc(const void *a, const void *b) {
    const lf_candidate *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

void lf_cand_sort(lf_candidates *c) {
    if (!c->sorted)
        qsort(c->data, (size_t)c->n, sizeof(lf_candidate), by_logit_desc);
    c->sorted = true;
}

static int32_t argmax(const lf_candidates *c) {
    int32_t best = 0;
    for (int32_t i = 1; i < c->n; i++)
        if (c->data[i].logit > c->data[best].logit)
            best = i;
    return best;
}

static float max_logit(const lf_candidates *c) {
    return c->data[c->sorted ? 0 : argmax(c)].logit;
}

double lf_cand_softmax(lf_candidates *c) {
    if (c->n <= 0)
        return 0;
    double max = max_logit(c), sum = 0;
    for (int32_t i = 0; i < c->n; i++)
        sum += exp(c->data[i].logit - max);
    for (int32_t i = 0; i < c->n; i++)
        c->data[i].p = (float)(exp(c->data[i].logit - max) / sum);
    return sum;
}

/* Moves the k first in by_logit_desc order to the front (unordered), in
 * expected linear time. */
static void select_top(lf_candidate *c, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        lf_candidate pivot = c[lo + (hi - lo) / 2];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (by_logit_desc(&c[i], &pivot) < 0) i++;
            while (by_logit_desc(&c[j], &pivot) > 0) j--;
            if (i <= j) {
                lf_candidate t = c[i];
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

void lf_cand_top_k(lf_candidates *c, int32_t k) {
    if (k <= 0 || k >= c->n)
        return;
    if (!c->sorted) {
        select_top(c->data, c->n, k);
        c->n = k;
        lf_cand_sort(c);
    }
    c->n = k;
}

void lf_cand_top_p(lf_candidates *c, float p) {
    if (!(p < 1.0f) || c->n <= 1)
        return;
    lf_cand_sort(c);
    lf_cand_softmax(c);
    double cum = 0;
    for (int32_t i = 0; i < c->n; i++) {
        cum += c->data[i].p;
        if (cum >= p) {
            c->n = i + 1;
            break;
        }
    }
}

void lf_cand_min_p(lf_candidates *c, float p) {
    if (!(p > 0.0f) || c->n <= 1)
        return;
    float max = max_logit(c);
    float floor = fminf(max + logf(p), max); /* p > 1 keeps the largest */
    int32_t m = 0;
    for (int32_t i = 0; i < c->n; i++)
        if (c->data[i].logit >= floor)
            c->data[m++] = c->data[i];
    c->n = m;
}

static int by_p_asc(const void *a, const void *b) {
    const lf_candidate *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return by_logit_desc(a, b);
}

void lf_cand_typical(lf_candidates *c, float p) {
    if (!(p < 1.0f) || c->n <= 1)
        return;
    double sum = lf_cand_softmax(c), max = max_logit(c), entropy = 0;
    for (int32_t i = 0; i < c->n; i++) {
        double pi = c->data[i].p;
        if (pi > 0) /* 0 log 0 = 0 */
            entropy -= pi * log(pi);
    }
    /* p holds the score |-log p - H| while sorting, then p again */
    for (int32_t i = 0; i < c->n; i++) {
        double logp = c->data[i].logit - max - log(sum);
        c->data[i].p = (float)fabs(-logp - entropy);
    }
    qsort(c->data, (size_t)c->n, sizeof(lf_candidate), by_p_asc);
    double cum = 0;
    int32_t keep = c->n;
    for (int32_t i = 0; i < c->n; i++) {
        c->data[i].p = (float)(exp(c->data[i].logit - max) / sum);
        cum += c->data[i].p;
        if (cum > p && keep == c->n)
            keep = i + 1;
    }
    c->n = keep;
    c->sorted = false;
}

void lf_cand_temp(lf_candidates *c, float t) {
    if (c->n <= 0)
        return;
    if (!(t > 0.0f)) { /* keep only the first largest, as greedy would pick */
        c->data[0] = c->data[argmax(c)];
        c->n = 1;
        c->sorted = true;
        return;
    }
    for (int32_t i = 0; i < c->n; i++)
        c->data[i].logit = lf_cand_clamp(c->data[i].logit / t);
}

void lf_cand_greedy(lf_candidates *c) {
    c->selected = c->n > 0 ? argmax(c) : -1;
}

void lf_cand_draw(lf_candidates *c, double u) {
    c->selected = -1;
    if (c->n <= 0)
        return;
    double r = u * lf_cand_softmax(c), max = max_logit(c), cum = 0;
    for (int32_t i = 0; i < c->n; i++) {
        cum += exp(c->data[i].logit - max);
        if (r < cum) {
            c->selected = i;
            return;
        }
    }
    c->selected = c->n - 1;
}
