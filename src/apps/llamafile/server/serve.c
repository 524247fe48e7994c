/* serve.c — a completion request served: each prompt tokenized, checked
 * against a slot's context and queued as a task of its own; then either the
 * whole response or an event stream that takes turns over the prompts'
 * generations (one per prompt, told apart by their index). */
#include <stdlib.h>
#include <string.h>

#include "server.h"

typedef struct served {
    srv_server *s;
    enum srv_api api;
    srv_gen **g;
    int n;
    bool sent_done;
} served;

static void gen_free(srv_gen *g) {
    if (!g)
        return;
    if (g->t) {
        srv_task_cancel(g->s->eng, g->t);
        srv_task_release(g->s->eng, g->t);
    }
    srv_out_free(&g->out);
    srv_reasoning_free(g);
    lf_toolcall_stream_free(g->tcs);
    free(g);
}

static void served_free(served *v) {
    for (int i = 0; v && v->g && i < v->n; i++)
        gen_free(v->g[i]);
    if (v)
        free(v->g);
    free(v);
}

void srv_reply_api_error(srv_call *c, enum srv_api api, const srv_err *e) {
    (void)api; /* the path tells the error's shape */
    srv_reply_error(c, e);
    if (e->status == 503)
        srv_reply_header(c, "Retry-After", "1");
}

/* Tokenizes and queues one prompt (takes over req); NULL with e set. */
static srv_gen *start_gen(srv_server *s, enum srv_api api, srv_completion *req, int index,
                          srv_err *e) {
    int32_t *toks = NULL;
    int64_t n;
    if (req->prompt) {
        n = lf_tokenize_alloc(s->m, req->prompt, req->prompt_len, &toks, true, true);
    } else {
        toks = req->prompt_tokens, n = req->n_prompt_tokens;
        req->prompt_tokens = NULL;
    }
    if (n < 0 || !toks) {
        srv_completion_free(req);
        free(toks);
        srv_err_set(e, 500, "server_error", "out of memory");
        return NULL;
    }
    if (n == 0 && lf_token_bos(s->m) >= 0) /* an empty prompt: start from BOS */
        toks[n++] = lf_token_bos(s->m);
    if (n == 0 || n >= s->n_ctx_slot) {
        srv_completion_free(req);
        free(toks);
        if (n == 0) {
            srv_err_set(e, 400, "invalid_request_error", "the prompt is empty");
            return NULL;
        }
        srv_err_set(e, 400, "exceed_context_size_error",
                    "request (%lld tokens) exceeds the available context size (%d tokens), try "
                    "increasing it", (long long)n, s->n_ctx_slot);
        e->n_prompt_tokens = (int)n, e->n_ctx = s->n_ctx_slot;
        return NULL;
    }
    srv_gen *g = calloc(1, sizeof *g);
    srv_task *t = srv_task_new(req, toks, (int)n);
    if (!g || !t) {
        free(g);
        srv_task_release(s->eng, t);
        srv_err_set(e, 500, "server_error", "out of memory");
        return NULL;
    }
    g->s = s, g->t = t, g->api = api, g->index = index, g->created = time(NULL);
    g->blk_open = -1;
    srv_make_id(g->id, sizeof g->id, api == SRV_API_ANTHROPIC ? "msg_" : "chatcmpl-");
    srv_reasoning_start(g, t->req.prompt, t->req.prompt_len);
    srv_tools_start(g);
    int waiting;
    if (!srv_engine_submit(s->eng, t, &waiting)) {
        gen_free(g);
        srv_err_set(e, 503, api == SRV_API_ANTHROPIC ? "overloaded_error" : "unavailable_error",
                    "the server is busy: every slot is in use and %d requests are waiting; "
                    "retry later", waiting);
        return NULL;
    }
    return g;
}

/* One turn of a generation in a stream: its opening events, new text, or
 * its end; true when something was written. */
static bool gen_step(srv_stream *st, srv_gen *g, int ms) {
    if (!g->sent_begin) {
        g->sent_begin = true;
        if (g->api == SRV_API_CHAT)
            return srv_sse_json(st, srv_chat_json(g, NULL, 0, false, true)), true;
        if (g->api == SRV_API_ANTHROPIC)
            return srv_anthropic_begin(st, g), true;
    }
    bool done = srv_task_wait(g->s->eng, g->t, ms, &g->out);
    bool wrote = false;
    if (g->rsn) {
        srv_reasoning_take(g, done);
        wrote = g->api == SRV_API_ANTHROPIC ? srv_anthropic_parts(st, g)
                                             : srv_reasoning_send(st, g);
    } else if (g->tcs) {
        wrote = srv_tools_send(st, g, g->out.text, g->out.len, false);
        g->out.len = 0, g->out.n_toks = 0, g->out.n_probs = 0;
    }
    /* tokens whose text the stop matcher holds go with the next chunk */
    else if (g->out.len || (g->out.n_toks && g->api == SRV_API_NATIVE)) {
        if (g->api == SRV_API_ANTHROPIC)
            srv_anthropic_text(st, g);
        else
            srv_sse_json(st, srv_chunk_json(g, g->out.text, g->out.len, false, true));
        g->out.len = 0, g->out.n_toks = 0, g->out.n_probs = 0;
        wrote = true;
    }
    if (!done)
        return wrote;
    g->sent_final = true;
    g->out.n_toks = 0, g->out.n_probs = 0;
    if (g->t->stop == SRV_STOP_ERROR) {
        srv_err e;
        srv_task_error(g->t, &e);
        if (g->api == SRV_API_ANTHROPIC) {
            srv_sse_raw(st, "event: error\n", 13);
            srv_sse_json(st, srv_anthropic_error_json(&e));
        } else {
            srv_sse_json(st, srv_err_json(&e));
        }
    } else if (g->api == SRV_API_ANTHROPIC) {
        if (g->tcs)
            srv_tools_send(st, g, "", 0, true);
        srv_anthropic_end(st, g);
    } else {
        if (g->tcs)
            srv_tools_send(st, g, "", 0, true);
        srv_sse_json(st, srv_chunk_json(g, "", 0, true, true));
        if (g->api == SRV_API_CHAT && g->t->req.include_usage)
            srv_sse_json(st, srv_chat_usage_json(g));
    }
    return true;
}

/* Every unfinished generation gets a turn; when none had anything, the
 * first one is waited for a little. */
static bool served_fill(srv_stream *st) {
    served *v = st->user;
    if (v->sent_done)
        return false;
    srv_gen *first = NULL;
    bool wrote = false;
    for (int i = 0; i < v->n; i++) {
        if (v->g[i]->sent_final)
            continue;
        if (!first)
            first = v->g[i];
        wrote |= gen_step(st, v->g[i], 0);
    }
    if (!first) {
        if (v->api == SRV_API_OPENAI || v->api == SRV_API_CHAT)
            srv_sse_raw(st, "data: [DONE]\n\n", 14);
        v->sent_done = true;
    } else if (!wrote) {
        gen_step(st, first, v->n == 1 ? 200 : 50);
    }
    return true;
}

static void served_done(srv_stream *st) { served_free(st->user); }

/* The whole response: one generation's, or for several prompts OpenAI's
 * choices side by side (usage summed) or llama-server's array. */
static json_t *whole(served *v) {
    srv_gen *g0 = v->g[0];
    if (v->api == SRV_API_ANTHROPIC)
        return srv_anthropic_json(g0);
    if (v->n == 1)
        return srv_chunk_json(g0, g0->out.text, g0->out.len, true, false);
    json_t *arr = json_array(), *j = NULL;
    long long np = 0, ng = 0, nc = 0;
    for (int i = 0; arr && i < v->n; i++) {
        srv_gen *g = v->g[i];
        json_t *one = srv_chunk_json(g, g->out.text, g->out.len, true, false);
        np += g->t->n_tokens, ng += g->t->n_gen, nc += g->t->n_cached;
        if (v->api == SRV_API_NATIVE) {
            json_array_append_new(arr, one);
        } else if (!j) {
            j = one;
        } else {
            json_array_append(json_object_get(j, "choices"),
                              json_array_get(json_object_get(one, "choices"), 0));
            json_decref(one);
        }
    }
    if (v->api == SRV_API_NATIVE)
        return arr;
    json_decref(arr);
    if (j)
        json_object_set_new(j, "usage",
                            json_pack("{s:I,s:I,s:I,s:{s:I}}", "completion_tokens", ng,
                                      "prompt_tokens", np, "total_tokens", np + ng,
                                      "prompt_tokens_details", "cached_tokens", nc));
    return j;
}

void srv_run_completion(srv_call *c, enum srv_api api, srv_completion *reqp) {
    srv_server *s = c->s;
    srv_completion req = *reqp;
    memset(reqp, 0, sizeof *reqp);
    int n = req.n_multi ? req.n_multi : 1;
    bool stream = req.stream;
    srv_err e;
    served *v = calloc(1, sizeof *v);
    bool ok = v && (v->g = calloc((size_t)n, sizeof *v->g));
    if (!ok)
        srv_err_set(&e, 500, "server_error", "out of memory");
    else
        v->s = s, v->api = api, v->n = n;
    for (int i = 0; ok && i < n; i++) {
        srv_completion one;
        if (req.n_multi) {
            ok = srv_completion_pick(&req, i, &one, &e);
        } else {
            one = req;
            memset(&req, 0, sizeof req);
        }
        ok = ok && (v->g[i] = start_gen(s, api, &one, i, &e)) != NULL;
        if (ok && i) { /* one response: one id */
            memcpy(v->g[i]->id, v->g[0]->id, sizeof v->g[i]->id);
            v->g[i]->created = v->g[0]->created;
        }
    }
    srv_completion_free(&req);
    if (!ok) {
        served_free(v);
        srv_reply_api_error(c, api, &e);
        return;
    }
    if (stream) {
        srv_stream *st = calloc(1, sizeof *st);
        if (!st) {
            served_free(v);
            return;
        }
        st->fill = served_fill, st->done = served_done, st->user = v;
        srv_reply_stream(c, st);
        return;
    }
    /* the whole text; a client that hangs up cancels it */
    for (int i = 0; i < n; i++)
        for (bool done = false; !done;) {
            done = srv_task_wait(s->eng, v->g[i]->t, 100, &v->g[i]->out);
            srv_reasoning_take(v->g[i], done);
            if (!done && srv_client_gone(c)) {
                served_free(v);
                return; /* no reply: the connection is closed */
            }
        }
    for (int i = 0; i < n; i++)
        if (v->g[i]->t->stop == SRV_STOP_ERROR) {
            srv_task_error(v->g[i]->t, &e);
            srv_reply_api_error(c, api, &e);
            served_free(v);
            return;
        }
    srv_reply_json(c, 200, whole(v));
    served_free(v);
}
