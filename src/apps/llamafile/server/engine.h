/* engine.h — the slots and the one decode thread behind them (continuous
 * batching: every busy slot's next token and bounded chunks of new prompts
 * go into the same lf_decode call). */
#ifndef LLAMAFILE_SERVER_ENGINE_H
#define LLAMAFILE_SERVER_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "llamafile.h"
#include "request.h"

enum srv_stop {
    SRV_STOP_NONE,   /* still running */
    SRV_STOP_EOS,    /* an end-of-generation token */
    SRV_STOP_WORD,   /* a stop string */
    SRV_STOP_LIMIT,  /* n_predict or the slot's context */
    SRV_STOP_ERROR,  /* see error */
};

typedef struct srv_engine srv_engine;

/* A generated token's probability and the most probable alternatives
 * (logprobs / n_probs), under the sampler's final distribution. */
typedef struct srv_tokprob {
    int32_t tok;
    float p;
    int n_top;
    struct { int32_t id; float p; } top[SRV_MAX_TOP];
} srv_tokprob;

/* One request's generation. The submitter fills the inputs, the engine the
 * rest (read them under srv_task_wait). */
typedef struct srv_task {
    /* inputs */
    int32_t *tokens;       /* owned */
    int n_tokens;
    srv_completion req;    /* owned */
    /* outputs, guarded by the engine's lock */
    char *text;            /* produced and not yet taken */
    size_t text_len, text_cap;
    char *all;             /* everything produced (for /slots) */
    size_t all_len, all_cap;
    int32_t *toks;         /* the tokens behind text */
    int n_toks, toks_cap;
    srv_tokprob *probs;    /* one per token in toks, when req.logprobs */
    int n_probs, probs_cap;
    enum srv_stop stop;
    int stop_word;         /* index into req->stops */
    char error[256];
    int slot;              /* -1 while queued */
    int id;                /* numbered by the engine as submitted */
    bool has_new_line;     /* the text so far holds a newline */
    int n_cached, n_gen;
    double t_queued, t_start, t_prompt_done, t_end; /* seconds, monotonic */
    /* engine internals */
    bool cancelled, done;
    int refs;
    pthread_cond_t cv;
    struct srv_task *next;
} srv_task;

typedef struct srv_engine_params {
    int n_slots, n_ctx_slot, n_batch, queue_size;
    bool quiet; /* no "weights copied" line on stderr */
} srv_engine_params;

/* Takes over ctx (freed by srv_engine_free); starts the decode thread. */
srv_engine *srv_engine_new(lf_model *m, lf_context *ctx, const srv_engine_params *p,
                           lf_error *err);
/* Stops the decode thread: running and queued tasks end with an error. */
void srv_engine_stop(srv_engine *e);
void srv_engine_free(srv_engine *e);

/* Takes over req (zeroed) and tokens; NULL when out of memory (req and
 * tokens are then freed). The caller holds the one reference. */
srv_task *srv_task_new(srv_completion *req, int32_t *tokens, int n_tokens);
/* Queues a task (the engine holds a reference until it is done); false
 * when the wait queue is full or the engine stopped. */
bool srv_engine_submit(srv_engine *e, srv_task *t, int *n_waiting);
/* What srv_task_wait hands over: appended to, buffers grown as needed. */
typedef struct srv_out {
    char *text;
    size_t len, cap;
    int32_t *toks;
    int n_toks, toks_cap;
    srv_tokprob *probs;
    int n_probs, probs_cap;
} srv_out;
/* Waits up to ms for output or the end; moves the produced text, tokens
 * and probabilities into out (appending); returns true once done. */
bool srv_task_wait(srv_engine *e, srv_task *t, int ms, srv_out *out);
void srv_out_free(srv_out *o);
/* The client went away: the slot is freed at the next step. */
void srv_task_cancel(srv_engine *e, srv_task *t);
/* Drops the caller's reference. */
void srv_task_release(srv_engine *e, srv_task *t);

/* Totals for /metrics and state for /slots, read under the lock. */
typedef struct srv_stats {
    uint64_t n_prompt_tokens, n_gen_tokens, n_decode, n_busy_slots_sum;
    double t_prompt, t_gen;
    int n_processing, n_deferred;
} srv_stats;
void srv_engine_stats(srv_engine *e, srv_stats *s);

typedef struct srv_slot_info {
    int id, n_ctx, n_cache;
    bool busy, has_new_line;
    int id_task;  /* the running or last task (-1: none yet) */
    int n_prompt, n_prompt_done, n_gen, n_cached;
    srv_completion req; /* its parameters; no strings, stops or biases */
    char *prompt;       /* its prompt as text (special tokens shown); NULL: none */
    char *generated;    /* what it generated so far; NULL: none */
} srv_slot_info;
/* Fills up to n entries; returns the number of slots. Free each entry's
 * texts with srv_slot_info_free. */
int srv_engine_slots(srv_engine *e, srv_slot_info *out, int n);
void srv_slot_info_free(srv_slot_info *o);
int srv_engine_n_ctx_slot(const srv_engine *e);

double srv_now(void);

/* lazy.c: a grammar stage that starts at the first occurrence of trigger
 * in the output (accepted before the stage first runs: the prompt, not
 * watched). Free it after the sampler. */
typedef struct srv_lazy srv_lazy;
srv_lazy *srv_lazy_add(lf_sampler *smp, const lf_model *m, const char *gbnf, const char *root,
                       const char *trigger, lf_error *err);
void srv_lazy_free(srv_lazy *z);

#endif
