/* chain.c — the sampler: a chain of stages (stages.c) run in the order they
 * were added, the state some stages keep (penalty history, random
 * generator, the caller's data for a custom stage), and the default chain
 * built from lf_sampler_params. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/error.h"
#include "llamafile.h"
#include "sample/stages.h"

enum { MAX_STAGES = 16 };

typedef enum kind {
    LOGIT_BIAS, PENALTIES, TOP_K, TOP_P, MIN_P, TYPICAL, TEMP, DIST, GREEDY, CUSTOM, GRAMMAR
} kind;

typedef struct penalties {
    int32_t last_n;
    float repeat, frequency, presence;
    int32_t *ring; /* the last last_n accepted tokens (last_n > 0) */
    int32_t len, head;
    int32_t *counts; /* occurrences in the window, per token */
} penalties;

typedef struct stage {
    kind kind;
    int32_t k;
    float f;
    float *bias;      /* LOGIT_BIAS: per token */
    penalties *pen;   /* PENALTIES */
    uint64_t seed;    /* DIST */
    uint64_t rng[4];
    lf_stage_apply_fn *apply; /* CUSTOM */
    lf_stage_accept_fn *accept;
    lf_stage_reset_fn *reset;
    void *user;
    lf_grammar *grammar; /* GRAMMAR */
    bool armed;          /* GRAMMAR: has run once; accepted tokens go to it */
} stage;

struct lf_sampler {
    int32_t n_vocab;
    stage stages[MAX_STAGES];
    int n_stages;
    lf_candidate *cand; /* lf_sampler_sample's candidates */
    lf_candidates last;
};

lf_sampler_params lf_sampler_default_params(void) {
    return (lf_sampler_params){
        .temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f, .frequency_penalty = 0.0f, .penalty_last_n = 64,
        .seed = UINT64_MAX, .typical_p = 1.0f,
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

static void seed_rng(stage *st) {
    uint64_t seed = st->seed;
    if (seed == UINT64_MAX || seed == 0xffffffffu) { /* "random", as llama.cpp's default */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
    }
    for (int i = 0; i < 4; i++)
        st->rng[i] = splitmix64(&seed);
}

lf_sampler *lf_sampler_chain_new(int32_t n_vocab, lf_error *err) {
    if (n_vocab <= 0) {
        lf_fail(err, "empty vocabulary");
        return NULL;
    }
    lf_sampler *s = lf_calloc(1, sizeof(*s));
    if (s)
        s->cand = lf_malloc(sizeof(lf_candidate) * (size_t)n_vocab);
    if (!s || !s->cand) {
        free(s);
        lf_fail(err, "out of memory");
        return NULL;
    }
    s->n_vocab = n_vocab;
    return s;
}

void lf_sampler_free(lf_sampler *s) {
    if (!s)
        return;
    for (int i = 0; i < s->n_stages; i++) {
        free(s->stages[i].bias);
        if (s->stages[i].pen) {
            free(s->stages[i].pen->ring);
            free(s->stages[i].pen->counts);
            free(s->stages[i].pen);
        }
        lf_grammar_free(s->stages[i].grammar);
    }
    free(s->cand);
    free(s);
}

/* The next free stage, or NULL with err set. */
static stage *add_stage(lf_sampler *s, kind k, lf_error *err) {
    if (s->n_stages == MAX_STAGES) {
        lf_fail(err, "sampler chain full (%d stages)", MAX_STAGES);
        return NULL;
    }
    kind end = s->n_stages ? s->stages[s->n_stages - 1].kind : TOP_K;
    if (end == DIST || end == GREEDY) {
        lf_fail(err, "the sampler chain already ends with %s", end == DIST ? "dist" : "greedy");
        return NULL;
    }
    stage *st = &s->stages[s->n_stages++];
    memset(st, 0, sizeof(*st));
    st->kind = k;
    return st;
}

bool lf_sampler_add_logit_bias(lf_sampler *s, const lf_logit_bias *b, int32_t n, lf_error *err) {
    for (int32_t i = 0; i < n; i++) {
        if (b[i].token < 0 || b[i].token >= s->n_vocab)
            return lf_fail(err, "logit bias: token %d is not in the vocabulary", (int)b[i].token);
        if (isnan(b[i].bias))
            return lf_fail(err, "logit bias: the bias of token %d is NaN", (int)b[i].token);
    }
    float *bias = lf_calloc((size_t)s->n_vocab, sizeof(float));
    if (!bias)
        return lf_fail(err, "out of memory");
    stage *st = add_stage(s, LOGIT_BIAS, err);
    if (!st) {
        free(bias);
        return false;
    }
    for (int32_t i = 0; i < n; i++)
        bias[b[i].token] += b[i].bias;
    st->bias = bias;
    return true;
}

bool lf_sampler_add_penalties(lf_sampler *s, int32_t last_n, float repeat, float frequency,
                              float presence, lf_error *err) {
    penalties *pen = lf_calloc(1, sizeof(*pen));
    if (pen) {
        pen->counts = lf_calloc((size_t)s->n_vocab, sizeof(int32_t));
        pen->ring = last_n > 0 ? lf_malloc(sizeof(int32_t) * (size_t)last_n) : NULL;
    }
    stage *st = NULL;
    if (!pen || !pen->counts || (last_n > 0 && !pen->ring)) {
        lf_fail(err, "out of memory");
    } else if ((st = add_stage(s, PENALTIES, err))) {
        pen->last_n = last_n, pen->repeat = repeat;
        pen->frequency = frequency, pen->presence = presence;
        st->pen = pen;
        return true;
    }
    if (pen) {
        free(pen->counts);
        free(pen->ring);
    }
    free(pen);
    return false;
}

static bool add_param(lf_sampler *s, kind k, int32_t ik, float f, lf_error *err) {
    stage *st = add_stage(s, k, err);
    if (st)
        st->k = ik, st->f = f;
    return st;
}

bool lf_sampler_add_top_k(lf_sampler *s, int32_t k, lf_error *err) {
    return add_param(s, TOP_K, k, 0, err);
}
bool lf_sampler_add_top_p(lf_sampler *s, float p, lf_error *err) {
    return add_param(s, TOP_P, 0, p, err);
}
bool lf_sampler_add_min_p(lf_sampler *s, float p, lf_error *err) {
    return add_param(s, MIN_P, 0, p, err);
}
bool lf_sampler_add_typical(lf_sampler *s, float p, lf_error *err) {
    return add_param(s, TYPICAL, 0, p, err);
}
bool lf_sampler_add_temp(lf_sampler *s, float t, lf_error *err) {
    return add_param(s, TEMP, 0, t, err);
}
bool lf_sampler_add_greedy(lf_sampler *s, lf_error *err) {
    return add_param(s, GREEDY, 0, 0, err);
}

bool lf_sampler_add_dist(lf_sampler *s, uint64_t seed, lf_error *err) {
    stage *st = add_stage(s, DIST, err);
    if (!st)
        return false;
    st->seed = seed;
    seed_rng(st);
    return true;
}

bool lf_sampler_add_custom(lf_sampler *s, lf_stage_apply_fn *apply, lf_stage_accept_fn *accept,
                           lf_stage_reset_fn *reset, void *user, lf_error *err) {
    if (!apply)
        return lf_fail(err, "custom sampler stage without an apply function");
    stage *st = add_stage(s, CUSTOM, err);
    if (!st)
        return false;
    st->apply = apply, st->accept = accept, st->reset = reset, st->user = user;
    return true;
}

bool lf_sampler_add_grammar(lf_sampler *s, const lf_model *m, const char *gbnf,
                            const char *root, lf_error *err) {
    if (!m || lf_model_n_vocab(m) != s->n_vocab)
        return lf_fail(err, "grammar: the model's vocabulary is not the sampler's");
    lf_grammar *g = lf_grammar_new(m, gbnf, root, err);
    if (!g)
        return false;
    stage *st = add_stage(s, GRAMMAR, err);
    if (!st) {
        lf_grammar_free(g);
        return false;
    }
    st->grammar = g;
    return true;
}

bool lf_sampler_add_params(lf_sampler *s, const lf_sampler_params *p, lf_error *err) {
    bool ok = true;
    if (p->n_logit_bias > 0)
        ok = lf_sampler_add_logit_bias(s, p->logit_bias, p->n_logit_bias, err);
    if (ok && p->penalty_last_n != 0 &&
        (p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f))
        ok = lf_sampler_add_penalties(s, p->penalty_last_n, p->repeat_penalty,
                                      p->frequency_penalty, p->presence_penalty, err);
    if (ok && !(p->temp > 0.0f))
        return lf_sampler_add_greedy(s, err);
    if (ok && p->top_k > 0)
        ok = lf_sampler_add_top_k(s, p->top_k, err);
    if (ok && p->typical_p < 1.0f)
        ok = lf_sampler_add_typical(s, p->typical_p, err);
    if (ok && p->top_p < 1.0f)
        ok = lf_sampler_add_top_p(s, p->top_p, err);
    if (ok && p->min_p > 0.0f)
        ok = lf_sampler_add_min_p(s, p->min_p, err);
    if (ok && p->temp != 1.0f)
        ok = lf_sampler_add_temp(s, p->temp, err);
    return ok && lf_sampler_add_dist(s, p->seed, err);
}

lf_sampler *lf_sampler_new(const lf_sampler_params *p, int32_t n_vocab, lf_error *err) {
    lf_sampler *s = lf_sampler_chain_new(n_vocab, err);
    if (s && !lf_sampler_add_params(s, p, err)) {
        lf_sampler_free(s);
        return NULL;
    }
    return s;
}

static void apply_bias(const float *bias, int32_t n_vocab, lf_candidates *c) {
    for (int32_t i = 0; i < c->n; i++) {
        int32_t id = c->data[i].id;
        if (id >= 0 && id < n_vocab && bias[id] != 0) /* only a -Inf bias bans */
            c->data[i].logit = bias[id] == -INFINITY ? -INFINITY
                                                     : lf_cand_clamp(c->data[i].logit + bias[id]);
    }
}

static void apply_penalties(const penalties *pen, int32_t n_vocab, lf_candidates *c) {
    for (int32_t i = 0; i < c->n; i++) {
        int32_t id = c->data[i].id;
        int32_t n = id >= 0 && id < n_vocab ? pen->counts[id] : 0;
        if (!n)
            continue;
        float l = c->data[i].logit;
        l = l <= 0 ? l * pen->repeat : l / pen->repeat;
        l -= (float)n * pen->frequency + pen->presence;
        c->data[i].logit = lf_cand_clamp(l);
    }
}

int32_t lf_sampler_apply(lf_sampler *s, lf_candidates *c) {
    c->selected = -1;
    lf_cand_normalize(c);
    for (int i = 0; i < s->n_stages && c->n > 0; i++) {
        stage *st = &s->stages[i];
        switch (st->kind) {
        case LOGIT_BIAS: apply_bias(st->bias, s->n_vocab, c); lf_cand_normalize(c); break;
        case PENALTIES: apply_penalties(st->pen, s->n_vocab, c); break;
        case TOP_K: lf_cand_top_k(c, st->k); break;
        case TOP_P: lf_cand_top_p(c, st->f); break;
        case MIN_P: lf_cand_min_p(c, st->f); break;
        case TYPICAL: lf_cand_typical(c, st->f); break;
        case TEMP: lf_cand_temp(c, st->f); break;
        case DIST: lf_cand_draw(c, rng_uniform(st->rng)); break;
        case GREEDY: lf_cand_greedy(c); break;
        case GRAMMAR:
            lf_grammar_apply(st->grammar, c);
            st->armed = true;
            break;
        case CUSTOM:
            st->apply(st->user, c);
            c->selected = -1; /* only dist and greedy select */
            lf_cand_normalize(c);
            break;
        }
    }
    return c->selected >= 0 && c->selected < c->n ? c->data[c->selected].id : LF_SAMPLE_NONE;
}

int32_t lf_sampler_sample(lf_sampler *s, const float *logits) {
    bool any_finite = false;
    s->last = (lf_candidates){s->cand, 0, false, -1};
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float l = logits[i];
        if (isnan(l) || l > FLT_MAX)
            return LF_SAMPLE_NONFINITE;
        any_finite |= l > -INFINITY;
        s->cand[i] = (lf_candidate){i, l, 0};
    }
    if (!any_finite)
        return LF_SAMPLE_NONFINITE;
    s->last.n = s->n_vocab;
    return lf_sampler_apply(s, &s->last);
}

static void penalties_accept(penalties *pen, int32_t n_vocab, int32_t token) {
    if (pen->last_n > 0) {
        if (pen->len == pen->last_n) { /* the oldest leaves the window */
            int32_t old = pen->ring[pen->head];
            if (old >= 0 && old < n_vocab)
                pen->counts[old]--;
        } else {
            pen->len++;
        }
        pen->ring[pen->head] = token;
        pen->head = (pen->head + 1) % pen->last_n;
    }
    if (token >= 0 && token < n_vocab && pen->counts[token] < INT32_MAX)
        pen->counts[token]++;
}

void lf_sampler_accept(lf_sampler *s, int32_t token) {
    for (int i = 0; i < s->n_stages; i++) {
        stage *st = &s->stages[i];
        if (st->kind == PENALTIES)
            penalties_accept(st->pen, s->n_vocab, token);
        else if (st->kind == CUSTOM && st->accept)
            st->accept(st->user, token);
        else if (st->kind == GRAMMAR && st->armed)
            lf_grammar_accept_token(st->grammar, token);
    }
}

void lf_sampler_reset(lf_sampler *s) {
    for (int i = 0; i < s->n_stages; i++) {
        stage *st = &s->stages[i];
        if (st->kind == PENALTIES) {
            st->pen->len = st->pen->head = 0;
            memset(st->pen->counts, 0, sizeof(int32_t) * (size_t)s->n_vocab);
        } else if (st->kind == DIST) {
            seed_rng(st);
        } else if (st->kind == CUSTOM && st->reset) {
            st->reset(st->user);
        } else if (st->kind == GRAMMAR) {
            lf_grammar_reset(st->grammar);
            st->armed = false;
        }
    }
    s->last = (lf_candidates){s->cand, 0, false, -1};
}

int32_t lf_candidates_probs(const lf_candidates *c, float *chosen_p, int32_t top_n,
                            lf_candidate *out) {
    if (chosen_p)
        *chosen_p = 0;
    if (c->n <= 0)
        return 0;
    double max = -INFINITY, sum = 0;
    for (int32_t i = 0; i < c->n; i++)
        max = fmax(max, c->data[i].logit);
    for (int32_t i = 0; i < c->n; i++)
        sum += exp(c->data[i].logit - max);
    if (chosen_p && c->selected >= 0 && c->selected < c->n)
        *chosen_p = (float)(exp(c->data[c->selected].logit - max) / sum);
    int32_t m = 0; /* out holds the best m so far, by insertion */
    for (int32_t i = 0; i < c->n && top_n > 0; i++) {
        lf_candidate x = c->data[i];
        int32_t j = m < top_n ? m++ : top_n;
        while (j > 0 && (out[j - 1].logit < x.logit ||
                         (out[j - 1].logit == x.logit && out[j - 1].id > x.id))) {
            if (j < top_n)
                out[j] = out[j - 1];
            j--;
        }
        if (j < top_n)
            out[j] = x;
    }
    for (int32_t j = 0; j < m; j++)
        out[j].p = (float)(exp(out[j].logit - max) / sum);
    return m;
}

int32_t lf_sampler_last_probs(const lf_sampler *s, float *chosen_p, int32_t top_n,
                              lf_candidate *out) {
    return lf_candidates_probs(&s->last, chosen_p, top_n, out);
}
