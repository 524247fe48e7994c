/* engine.c — N slots over one context (slot i is sequence i), one decode
 * thread. Each step: free the slots of cancelled tasks, give queued tasks
 * the free slot sharing the longest cached prefix (else the least recently
 * used), then decode every busy slot's next token plus prompt chunks up to
 * n_batch tokens in one lf_decode, and sample each slot that got logits. */
#include "engine.h"
#include "../cli.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    int id;
    int32_t *cache; /* tokens whose KV entries sequence id holds */
    int n_cache;
    srv_task *task;
    uint64_t last_used;
    int i_prompt;   /* next prompt token to decode */
    int32_t next;   /* sampled, to be decoded */
    bool has_next;
    int b_first, b_n; /* this step's entries in the batch */
    lf_sampler *smp;
    srv_lazy *lazy; /* the sampler's lazy grammar stage (tools.c, lazy.c) */
    lf_detok *detok;
    lf_stop_matcher *stop;
    srv_slot_info last; /* for /slots: its task when it ended */
} slot;

struct srv_engine {
    lf_model *m;
    lf_context *ctx;
    srv_engine_params p;
    pthread_mutex_t mu;
    pthread_cond_t work;
    pthread_t thread;
    bool started;
    bool idle_copy_over; /* the weights' copy no longer runs while idle */
    atomic_bool stopping;
    srv_task *qhead, *qtail;
    int n_queued;
    slot *slots;
    int32_t *b_tok, *b_pos, *b_seq;
    int8_t *b_logits;
    uint64_t clock;
    int next_task_id;
    srv_stats stats;
};

double srv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool grow(void **p, size_t elem, size_t need, size_t *cap) {
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, elem * c);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* Adds generated text (and the token behind it) to the task's output. */
static void emit(srv_task *t, const char *s, int64_t n, int32_t tok) {
    if (n > 0 && memchr(s, '\n', (size_t)n))
        t->has_new_line = true;
    if (n > 0 && grow((void **)&t->text, 1, t->text_len + (size_t)n, &t->text_cap)) {
        memcpy(t->text + t->text_len, s, (size_t)n);
        t->text_len += (size_t)n;
    }
    if (n > 0 && grow((void **)&t->all, 1, t->all_len + (size_t)n, &t->all_cap)) {
        memcpy(t->all + t->all_len, s, (size_t)n);
        t->all_len += (size_t)n;
    }
    if (tok >= 0) {
        size_t cap = (size_t)t->toks_cap;
        if (grow((void **)&t->toks, sizeof(int32_t), (size_t)t->n_toks + 1, &cap)) {
            t->toks_cap = (int)cap;
            t->toks[t->n_toks++] = tok;
        }
    }
}

/* The sampled token's probability and the top alternatives. */
static void emit_probs(srv_task *t, lf_sampler *smp, int32_t tok) {
    size_t cap = (size_t)t->probs_cap;
    if (!grow((void **)&t->probs, sizeof *t->probs, (size_t)t->n_probs + 1, &cap))
        return;
    t->probs_cap = (int)cap;
    srv_tokprob *o = &t->probs[t->n_probs++];
    lf_candidate top[SRV_MAX_TOP];
    int n_top = t->req.n_top < SRV_MAX_TOP ? t->req.n_top : SRV_MAX_TOP;
    float p = 0;
    int n = lf_sampler_last_probs(smp, &p, n_top, top);
    o->tok = tok, o->p = p, o->n_top = n;
    for (int i = 0; i < n; i++)
        o->top[i].id = top[i].id, o->top[i].p = top[i].p;
}

static void task_unref(srv_task *t) {
    if (--t->refs > 0)
        return;
    pthread_cond_destroy(&t->cv);
    srv_completion_free(&t->req);
    free(t->tokens);
    free(t->text);
    free(t->all);
    free(t->toks);
    free(t->probs);
    free(t);
}

static void finish(srv_engine *e, srv_task *t, enum srv_stop why, const char *error) {
    t->stop = why;
    if (error)
        snprintf(t->error, sizeof t->error, "%s", error);
    t->done = true;
    t->t_end = srv_now();
    pthread_cond_broadcast(&t->cv);
    (void)e;
    task_unref(t);
}

static char *copy_text(const char *s, size_t n) {
    char *c = s ? malloc(n + 1) : NULL;
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

/* The prompt's text, special tokens shown (malloc'd; NULL if out of memory). */
static char *prompt_text(const srv_engine *e, const srv_task *t) {
    size_t cap = 256 + 8 * (size_t)t->n_tokens;
    for (int tries = 0; tries < 2; tries++) {
        char *buf = malloc(cap + 1);
        if (!buf)
            return NULL;
        int64_t n = lf_detokenize(e->m, t->tokens, t->n_tokens, buf, cap, false, true);
        if (n >= 0) {
            buf[n] = 0;
            return buf;
        }
        free(buf);
        cap = (size_t)-n;
    }
    return NULL;
}

void srv_slot_info_free(srv_slot_info *o) {
    free(o->prompt);
    free(o->generated);
    o->prompt = o->generated = NULL;
}

/* What /slots shows of a slot and its task (under the lock); the texts are
 * the caller's. */
static void slot_info(const srv_engine *e, const slot *s, srv_slot_info *o) {
    const srv_task *t = s->task;
    if (!t) {
        *o = s->last;
        o->busy = false;
        o->prompt = s->last.prompt ? copy_text(s->last.prompt, strlen(s->last.prompt)) : NULL;
        o->generated = s->last.generated ? copy_text(s->last.generated, strlen(s->last.generated))
                                         : NULL;
    } else {
        memset(o, 0, sizeof *o);
        o->busy = true, o->has_new_line = t->has_new_line, o->id_task = t->id;
        o->n_prompt = t->n_tokens, o->n_gen = t->n_gen, o->n_cached = t->n_cached;
        o->n_prompt_done = s->i_prompt;
        o->req.n_predict = t->req.n_predict, o->req.sp = t->req.sp;
        o->req.stream = t->req.stream, o->req.ignore_eos = t->req.ignore_eos;
        o->req.n_top = t->req.n_top;
        o->req.sp.logit_bias = NULL, o->req.sp.n_logit_bias = 0;
        o->prompt = prompt_text(e, t);
        o->generated = copy_text(t->all ? t->all : "", t->all_len);
    }
    o->id = s->id, o->n_ctx = e->p.n_ctx_slot, o->n_cache = s->n_cache;
}

static void slot_release(srv_engine *e, slot *s, enum srv_stop why, const char *error) {
    srv_slot_info_free(&s->last);
    slot_info(e, s, &s->last);
    srv_task *t = s->task;
    s->task = NULL;
    s->has_next = false;
    s->last_used = ++e->clock;
    lf_sampler_free(s->smp);
    srv_lazy_free(s->lazy);
    s->lazy = NULL;
    lf_detok_free(s->detok);
    lf_stop_matcher_free(s->stop);
    s->smp = NULL, s->detok = NULL, s->stop = NULL;
    e->stats.n_processing--;
    finish(e, t, why, error);
}

static int common_prefix(const int32_t *a, int na, const int32_t *b, int nb) {
    int i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

/* The request's sampler: its grammar first (constrain.c checked it), so
 * the other stages choose among the tokens it allows. */
static lf_sampler *new_sampler(const srv_engine *e, const srv_completion *req, srv_lazy **lazy,
                               lf_error *err) {
    if (!req->grammar)
        return lf_sampler_new(&req->sp, lf_model_n_vocab(e->m), err);
    lf_sampler *smp = lf_sampler_chain_new(lf_model_n_vocab(e->m), err);
    bool ok = smp && (req->grammar_trigger
                          ? (*lazy = srv_lazy_add(smp, e->m, req->grammar, req->grammar_root,
                                                  req->grammar_trigger, err)) != NULL
                          : lf_sampler_add_grammar(smp, e->m, req->grammar, req->grammar_root,
                                                   err));
    if (smp && (!ok || !lf_sampler_add_params(smp, &req->sp, err))) {
        lf_sampler_free(smp);
        smp = NULL;
    }
    return smp;
}

/* Puts t into a free slot, reusing the longest cached prefix; false when
 * every slot is busy. */
static bool assign(srv_engine *e, srv_task *t) {
    slot *best = NULL;
    int best_lcp = -1;
    for (int i = 0; i < e->p.n_slots; i++) {
        slot *s = &e->slots[i];
        if (s->task)
            continue;
        if (t->req.id_slot >= 0 && t->req.id_slot != i)
            continue;
        int lcp = t->req.cache_prompt ? common_prefix(s->cache, s->n_cache, t->tokens, t->n_tokens)
                                      : 0;
        if (lcp > best_lcp || (lcp == best_lcp && s->last_used < best->last_used))
            best = s, best_lcp = lcp;
    }
    if (!best)
        return false;
    slot *s = best;
    int keep = best_lcp;
    if (keep >= t->n_tokens) /* decode the last prompt token again for its logits */
        keep = t->n_tokens - 1;
    if (keep < s->n_cache) {
        lf_kv_remove(e->ctx, s->id, keep, -1);
        if (lf_kv_seq_pos_max(e->ctx, s->id) != keep - 1) {
            /* a sequence that cannot be cut back (recurrent state, a
             * window): decoded again from the start */
            lf_kv_remove(e->ctx, s->id, 0, -1);
            keep = 0;
        }
    }
    s->n_cache = keep;
    s->i_prompt = keep;
    s->task = t;
    s->has_next = false;
    t->slot = s->id;
    t->n_cached = keep;
    t->t_start = srv_now();
    e->stats.n_processing++;
    lf_error err;
    s->smp = new_sampler(e, &t->req, &s->lazy, &err);
    s->detok = s->smp ? lf_detok_new(e->m, false, false, &err) : NULL;
    s->stop = s->detok ? lf_stop_matcher_new((const char *const *)t->req.stops, t->req.n_stops,
                                              &err)
                       : NULL;
    if (!s->stop) {
        slot_release(e, s, SRV_STOP_ERROR, err.msg);
        return true;
    }
    for (int i = 0; i < t->n_tokens; i++)
        lf_sampler_accept(s->smp, t->tokens[i]);
    return true;
}

/* Text after the last token: the detokenizer's held bytes, then the stop
 * matcher's held tail. */
static void flush_text(slot *s) {
    const char *txt, *out;
    lf_error err;
    int64_t n = lf_detok_flush(s->detok, &txt);
    int64_t k = n > 0 ? lf_stop_matcher_push(s->stop, txt, (size_t)n, &out, &err) : 0;
    if (k > 0)
        emit(s->task, out, k, -1);
    if (lf_stop_matcher_found(s->stop) < 0) {
        k = lf_stop_matcher_flush(s->stop, &out);
        emit(s->task, out, k, -1);
    }
}

static void on_token(srv_engine *e, slot *s, int32_t tok) {
    srv_task *t = s->task;
    if (tok < 0) {
        slot_release(e, s, SRV_STOP_ERROR, tok == LF_SAMPLE_NONFINITE
                     ? "the model produced non-finite logits"
                     : "the logit biases removed every token");
        return;
    }
    lf_sampler_accept(s->smp, tok);
    t->n_gen++;
    e->stats.n_gen_tokens++;
    if (lf_token_is_eog(e->m, tok) && !t->req.ignore_eos) {
        flush_text(s);
        slot_release(e, s, SRV_STOP_EOS, NULL);
        return;
    }
    const char *txt, *out;
    lf_error err;
    int64_t n = lf_detok_push(s->detok, tok, &txt, &err);
    int64_t k = n > 0 ? lf_stop_matcher_push(s->stop, txt, (size_t)n, &out, &err) : 0;
    if (n < 0 || k < 0) {
        slot_release(e, s, SRV_STOP_ERROR, err.msg);
        return;
    }
    emit(t, out, k, tok);
    if (t->req.logprobs)
        emit_probs(t, s->smp, tok);
    pthread_cond_broadcast(&t->cv);
    int w = lf_stop_matcher_found(s->stop);
    if (w >= 0) {
        t->stop_word = w;
        slot_release(e, s, SRV_STOP_WORD, NULL);
    } else if ((t->req.n_predict >= 0 && t->n_gen >= t->req.n_predict) ||
               s->n_cache + 1 >= e->p.n_ctx_slot) {
        flush_text(s);
        slot_release(e, s, SRV_STOP_LIMIT, NULL);
    } else {
        s->next = tok;
        s->has_next = true;
    }
}

static bool stop_hook(void *user) { return atomic_load(&((srv_engine *)user)->stopping); }

static void step_cleanup(srv_engine *e) {
    for (srv_task **pp = &e->qhead; *pp;) {
        srv_task *t = *pp;
        if (t->cancelled) {
            *pp = t->next;
            e->n_queued--;
            finish(e, t, SRV_STOP_ERROR, "cancelled");
        } else {
            pp = &t->next;
        }
    }
    e->qtail = NULL;
    for (srv_task *t = e->qhead; t; t = t->next)
        e->qtail = t;
    for (int i = 0; i < e->p.n_slots; i++)
        if (e->slots[i].task && e->slots[i].task->cancelled)
            slot_release(e, &e->slots[i], SRV_STOP_ERROR, "cancelled");
    /* queued tasks into free slots, in order; one asking for a busy slot waits */
    for (srv_task **pp = &e->qhead; *pp;) {
        srv_task *t = *pp;
        if (assign(e, t)) {
            *pp = t->next;
            e->n_queued--;
        } else {
            pp = &t->next;
        }
    }
    e->qtail = NULL;
    for (srv_task *t = e->qhead; t; t = t->next)
        e->qtail = t;
    e->stats.n_deferred = e->n_queued;
}

/* With no request to decode, the weights are copied into memory (~100 ms a
 * step, the lock released so requests queue meanwhile), so that requests
 * after the first second or so find them copied. */
static void idle_copy(srv_engine *e) {
    pthread_mutex_unlock(&e->mu);
    bool more = lf_repack_step(e->ctx);
    pthread_mutex_lock(&e->mu);
    if (more)
        return;
    e->idle_copy_over = true;
    if (!e->p.quiet)
        cli_print_held(e->m, false);
}

static void *loop(void *arg) {
    srv_engine *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!atomic_load(&e->stopping)) {
        step_cleanup(e);
        int n = 0, n_prompt = 0, busy = 0;
        for (int i = 0; i < e->p.n_slots; i++) {
            slot *s = &e->slots[i];
            s->b_first = n, s->b_n = 0;
            if (!s->task || !s->has_next)
                continue;
            e->b_tok[n] = s->next, e->b_pos[n] = s->n_cache, e->b_seq[n] = s->id;
            e->b_logits[n++] = 1;
            s->b_n = 1;
            busy++;
        }
        for (int i = 0; i < e->p.n_slots && n < e->p.n_batch; i++) {
            slot *s = &e->slots[i];
            if (!s->task || s->has_next || s->i_prompt >= s->task->n_tokens)
                continue;
            srv_task *t = s->task;
            int chunk = t->n_tokens - s->i_prompt;
            if (chunk > e->p.n_batch - n)
                chunk = e->p.n_batch - n;
            s->b_first = n, s->b_n = chunk;
            for (int j = 0; j < chunk; j++, n++) {
                e->b_tok[n] = t->tokens[s->i_prompt + j];
                e->b_pos[n] = s->n_cache + j;
                e->b_seq[n] = s->id;
                e->b_logits[n] = s->i_prompt + j == t->n_tokens - 1;
            }
            n_prompt += chunk;
            busy++;
        }
        if (n == 0 && !e->idle_copy_over) {
            idle_copy(e);
            continue;
        }
        if (n == 0) {
            pthread_cond_wait(&e->work, &e->mu);
            continue;
        }
        pthread_mutex_unlock(&e->mu);
        lf_batch b = {n, e->b_tok, e->b_pos, e->b_seq, e->b_logits};
        lf_error err;
        double t0 = srv_now();
        bool ok = lf_decode(e->ctx, &b, &err);
        double dt = srv_now() - t0;
        pthread_mutex_lock(&e->mu);
        e->stats.n_decode++;
        e->stats.n_busy_slots_sum += (uint64_t)busy;
        e->stats.t_prompt += dt * n_prompt / n;
        e->stats.t_gen += dt * (n - n_prompt) / n;
        e->stats.n_prompt_tokens += (uint64_t)n_prompt;
        for (int i = 0; i < e->p.n_slots; i++) {
            slot *s = &e->slots[i];
            if (!s->b_n || !s->task)
                continue;
            if (!ok) {
                /* a failed batch leaves nothing of itself in the cache */
                slot_release(e, s, SRV_STOP_ERROR, atomic_load(&e->stopping)
                             ? "the server is shutting down" : err.msg);
                continue;
            }
            int32_t *src = s->has_next ? &s->next : s->task->tokens + s->i_prompt;
            memcpy(s->cache + s->n_cache, src, sizeof(int32_t) * (size_t)s->b_n);
            s->n_cache += s->b_n;
            if (!s->has_next) {
                s->i_prompt += s->b_n;
                if (s->i_prompt < s->task->n_tokens)
                    continue;
                s->task->t_prompt_done = srv_now();
            }
            s->has_next = false;
            int32_t row = s->b_first + s->b_n - 1;
            on_token(e, s, lf_sampler_sample(s->smp, lf_get_logits_ith(e->ctx, row)));
        }
    }
    for (int i = 0; i < e->p.n_slots; i++)
        if (e->slots[i].task)
            slot_release(e, &e->slots[i], SRV_STOP_ERROR, "the server is shutting down");
    while (e->qhead) {
        srv_task *t = e->qhead;
        e->qhead = t->next;
        finish(e, t, SRV_STOP_ERROR, "the server is shutting down");
    }
    e->n_queued = 0;
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

srv_engine *srv_engine_new(lf_model *m, lf_context *ctx, const srv_engine_params *p,
                           lf_error *err) {
    srv_engine *e = calloc(1, sizeof *e);
    size_t cap = (size_t)(p->n_batch + p->n_slots);
    if (e) {
        e->m = m, e->ctx = ctx, e->p = *p;
        e->slots = calloc((size_t)p->n_slots, sizeof *e->slots);
        e->b_tok = malloc(sizeof(int32_t) * cap);
        e->b_pos = malloc(sizeof(int32_t) * cap);
        e->b_seq = malloc(sizeof(int32_t) * cap);
        e->b_logits = malloc(cap);
    }
    bool ok = e && e->slots && e->b_tok && e->b_pos && e->b_seq && e->b_logits;
    for (int i = 0; ok && i < p->n_slots; i++) {
        e->slots[i].id = i;
        e->slots[i].last.id_task = -1;
        ok = (e->slots[i].cache = malloc(sizeof(int32_t) * (size_t)p->n_ctx_slot)) != NULL;
    }
    if (!ok) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        if (e)
            e->ctx = NULL;
        srv_engine_free(e);
        return NULL;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->work, NULL);
    lf_set_abort_callback(ctx, stop_hook, e);
    if (pthread_create(&e->thread, NULL, loop, e)) {
        snprintf(err->msg, sizeof err->msg, "cannot start the decode thread");
        e->ctx = NULL;
        srv_engine_free(e);
        return NULL;
    }
    e->started = true;
    return e;
}

void srv_engine_stop(srv_engine *e) {
    if (!e || !e->started)
        return;
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stopping, true);
    pthread_cond_broadcast(&e->work);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    e->started = false;
}

void srv_engine_free(srv_engine *e) {
    if (!e)
        return;
    srv_engine_stop(e);
    for (int i = 0; e->slots && i < e->p.n_slots; i++) {
        free(e->slots[i].cache);
        srv_slot_info_free(&e->slots[i].last);
    }
    free(e->slots);
    free(e->b_tok);
    free(e->b_pos);
    free(e->b_seq);
    free(e->b_logits);
    lf_context_free(e->ctx);
    free(e);
}

srv_task *srv_task_new(srv_completion *req, int32_t *tokens, int n_tokens) {
    srv_task *t = calloc(1, sizeof *t);
    if (!t) {
        srv_completion_free(req);
        free(tokens);
        return NULL;
    }
    t->req = *req;
    memset(req, 0, sizeof *req);
    t->tokens = tokens;
    t->n_tokens = n_tokens;
    t->slot = -1;
    t->stop_word = -1;
    t->refs = 1;
    t->t_queued = srv_now();
    pthread_cond_init(&t->cv, NULL);
    return t;
}

bool srv_engine_submit(srv_engine *e, srv_task *t, int *n_waiting) {
    pthread_mutex_lock(&e->mu);
    int n_free = 0;
    for (int i = 0; i < e->p.n_slots; i++)
        n_free += !e->slots[i].task;
    *n_waiting = e->n_queued;
    bool ok = !atomic_load(&e->stopping) && e->n_queued - n_free < e->p.queue_size;
    if (ok) {
        t->id = e->next_task_id++;
        t->refs++;
        t->next = NULL;
        if (e->qtail)
            e->qtail->next = t;
        else
            e->qhead = t;
        e->qtail = t;
        e->n_queued++;
        pthread_cond_signal(&e->work);
    }
    pthread_mutex_unlock(&e->mu);
    return ok;
}

static bool take(void **buf, size_t elem, size_t *len, size_t *cap, const void *src, size_t n) {
    if (!n)
        return true;
    if (!grow(buf, elem, *len + n, cap))
        return false;
    memcpy((char *)*buf + *len * elem, src, n * elem);
    *len += n;
    return true;
}

void srv_out_free(srv_out *o) {
    free(o->text);
    free(o->toks);
    free(o->probs);
    memset(o, 0, sizeof *o);
}

bool srv_task_wait(srv_engine *e, srv_task *t, int ms, srv_out *o) {
    pthread_mutex_lock(&e->mu);
    if (!t->done && !t->text_len && !t->n_toks && ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (!t->done && !t->text_len && !t->n_toks)
            if (pthread_cond_timedwait(&t->cv, &e->mu, &ts) == ETIMEDOUT)
                break;
    }
    take((void **)&o->text, 1, &o->len, &o->cap, t->text, t->text_len);
    t->text_len = 0;
    size_t n = (size_t)o->n_toks, c = (size_t)o->toks_cap;
    take((void **)&o->toks, sizeof(int32_t), &n, &c, t->toks, (size_t)t->n_toks);
    o->n_toks = (int)n, o->toks_cap = (int)c;
    t->n_toks = 0;
    n = (size_t)o->n_probs, c = (size_t)o->probs_cap;
    take((void **)&o->probs, sizeof(srv_tokprob), &n, &c, t->probs, (size_t)t->n_probs);
    o->n_probs = (int)n, o->probs_cap = (int)c;
    t->n_probs = 0;
    bool done = t->done;
    pthread_mutex_unlock(&e->mu);
    return done;
}

void srv_task_cancel(srv_engine *e, srv_task *t) {
    pthread_mutex_lock(&e->mu);
    if (!t->done) {
        t->cancelled = true;
        pthread_cond_signal(&e->work);
    }
    pthread_mutex_unlock(&e->mu);
}

void srv_task_release(srv_engine *e, srv_task *t) {
    if (!t)
        return;
    pthread_mutex_lock(&e->mu);
    task_unref(t);
    pthread_mutex_unlock(&e->mu);
}

void srv_engine_stats(srv_engine *e, srv_stats *s) {
    pthread_mutex_lock(&e->mu);
    *s = e->stats;
    pthread_mutex_unlock(&e->mu);
}

int srv_engine_slots(srv_engine *e, srv_slot_info *out, int n) {
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->p.n_slots && i < n; i++) {
        slot *s = &e->slots[i];
        slot_info(e, s, &out[i]);
    }
    pthread_mutex_unlock(&e->mu);
    return e->p.n_slots;
}

int srv_engine_n_ctx_slot(const srv_engine *e) { return e->p.n_ctx_slot; }
