/* api_completions.c — POST /completion (llama-server's native shape) and
 * POST /v1/completions (OpenAI's), streamed or not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

typedef struct gen {
    srv_server *s;
    srv_task *t;
    enum srv_api api;
    char id[48];
    time_t created;
    srv_out out;     /* taken from the task, not yet sent */
    size_t text_off; /* of out's text in the whole completion (logprobs) */
    bool sent_final, sent_role;
} gen;

static void make_id(char *out, size_t n) {
    static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^
                 (uint64_t)(uintptr_t)out;
    size_t k = (size_t)snprintf(out, n, "chatcmpl-");
    for (; k + 1 < n && k < 9 + 32; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        out[k] = abc[x % (sizeof abc - 1)];
    }
    out[k] = 0;
}

json_t *srv_params_json(const srv_server *s, const srv_completion *req) {
    const lf_sampler_params *p = req ? &req->sp : &s->defaults;
    json_t *stop = json_array();
    for (int i = 0; req && i < req->n_stops; i++)
        json_array_append_new(stop, json_string(req->stops[i]));
    int n_predict = req ? req->n_predict : -1;
    return json_pack(
        "{s:I,s:f,s:i,s:f,s:f,s:f,s:i,s:f,s:f,s:f,s:o,s:i,s:i,s:b,s:b,s:i,s:[sssss]}",
        "seed", (json_int_t)(p->seed == UINT64_MAX ? 4294967295u : p->seed), "temperature",
        (double)p->temp, "top_k", p->top_k, "top_p", (double)p->top_p, "min_p", (double)p->min_p,
        "typical_p", (double)p->typical_p, "repeat_last_n", p->penalty_last_n, "repeat_penalty",
        (double)p->repeat_penalty, "presence_penalty", (double)p->presence_penalty,
        "frequency_penalty", (double)p->frequency_penalty, "stop", stop, "max_tokens", n_predict,
        "n_predict", n_predict, "ignore_eos", req && req->ignore_eos, "stream",
        req && req->stream, "n_probs", req ? req->n_top : 0, "samplers", "penalties", "top_k", "typ_p", "top_p",
        "min_p");
}

static json_t *timings(const srv_task *t) {
    double tp = (t->t_prompt_done > 0 ? t->t_prompt_done - t->t_start : 0) * 1e3;
    double tg = (t->t_prompt_done > 0 ? t->t_end - t->t_prompt_done : 0) * 1e3;
    int np = t->n_tokens - t->n_cached;
    return json_pack("{s:i,s:i,s:f,s:f,s:f,s:i,s:f,s:f,s:f}", "cache_n", t->n_cached,
                     "prompt_n", np, "prompt_ms", tp, "prompt_per_token_ms",
                     np ? tp / np : 0.0, "prompt_per_second", tp > 0 ? np * 1e3 / tp : 0.0,
                     "predicted_n", t->n_gen, "predicted_ms", tg, "predicted_per_token_ms",
                     t->n_gen ? tg / t->n_gen : 0.0, "predicted_per_second",
                     tg > 0 ? t->n_gen * 1e3 / tg : 0.0);
}

static json_t *usage(const srv_task *t) {
    return json_pack("{s:i,s:i,s:i,s:{s:i}}", "completion_tokens", t->n_gen, "prompt_tokens",
                     t->n_tokens, "total_tokens", t->n_tokens + t->n_gen,
                     "prompt_tokens_details", "cached_tokens", t->n_cached);
}

static const char *finish_reason(const srv_task *t) {
    return t->stop == SRV_STOP_LIMIT ? "length" : "stop";
}

static const char *fingerprint(void) { return "llamafile-" LF_VERSION_STRING; }

/* Generated text may hold bytes that are not UTF-8 (a model's raw byte
 * tokens): those become U+FFFD, as JSON needs. */
json_t *srv_text_json(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *o = malloc(n * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; o && i < n;) {
        unsigned char b = (unsigned char)s[i];
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        json_t *one = len && i + len <= n ? json_stringn(s + i, len) : NULL;
        if (one) {
            memcpy(o + k, s + i, len);
            k += len, i += len;
            json_decref(one);
        } else {
            memcpy(o + k, "\xEF\xBF\xBD", 3);
            k += 3, i++;
        }
    }
    j = o ? json_stringn(o, k) : NULL;
    free(o);
    return j ? j : json_string("");
}

/* OpenAI: a chunk (final: with finish_reason, usage and timings). */
static json_t *openai_json(gen *g, const char *text, size_t n, bool final, bool stream) {
    srv_task *t = g->t;
    json_t *lp = t->req.logprobs ? srv_logprobs_legacy(g->s, g->out.probs, g->out.n_probs,
                                                       &g->text_off) : json_null();
    json_t *j = json_pack("{s:[{s:o,s:i,s:o,s:o}],s:I,s:s,s:s,s:s}", "choices", "text",
                          srv_text_json(text, n), "index", 0, "logprobs", lp, "finish_reason",
                          final ? json_string(finish_reason(t)) : json_null(), "created",
                          (json_int_t)g->created, "model", g->s->model_name,
                          "system_fingerprint", fingerprint(), "object", "text_completion");
    if (j && final)
        json_object_set_new(j, "usage", usage(t));
    if (j)
        json_object_set_new(j, "id", json_string(g->id));
    if (j && final)
        json_object_set_new(j, "timings", timings(t));
    (void)stream;
    return j;
}

static json_t *native_json(gen *g, const char *text, size_t n, bool final);

/* Chat: a delta chunk (role first, then content, then the finish), or
 * the whole message. */
static json_t *chat_json(gen *g, const char *text, size_t n, bool final, bool stream) {
    srv_task *t = g->t;
    json_t *choice;
    if (!stream)
        choice = json_pack("{s:s,s:i,s:{s:s,s:o}}", "finish_reason", finish_reason(t), "index", 0,
                           "message", "role", "assistant", "content", srv_text_json(text, n));
    else if (final)
        choice = json_pack("{s:s,s:i,s:{}}", "finish_reason", finish_reason(t), "index", 0,
                           "delta");
    else if (!text)
        choice = json_pack("{s:n,s:i,s:{s:s,s:n}}", "finish_reason", "index", 0, "delta", "role",
                           "assistant", "content");
    else
        choice = json_pack("{s:n,s:i,s:{s:o}}", "finish_reason", "index", 0, "delta", "content",
                           srv_text_json(text, n));
    if (choice && t->req.logprobs && (!stream || (text && !final)))
        json_object_set_new(choice, "logprobs",
                            srv_logprobs_chat(g->s, g->out.probs, g->out.n_probs));
    else if (choice)
        json_object_set_new(choice, "logprobs", json_null());
    json_t *j = json_pack("{s:[o],s:I,s:s,s:s,s:s,s:s}", "choices", choice, "created",
                          (json_int_t)g->created, "id", g->id, "model", g->s->model_name,
                          "system_fingerprint", fingerprint(), "object",
                          stream ? "chat.completion.chunk" : "chat.completion");
    if (j && final && !stream)
        json_object_set_new(j, "usage", usage(t));
    if (j && final)
        json_object_set_new(j, "timings", timings(t));
    return j;
}

/* The usage chunk after the finish (stream_options.include_usage). */
static json_t *chat_usage_json(gen *g) {
    return json_pack("{s:[],s:I,s:s,s:s,s:s,s:s,s:o,s:o}", "choices", "created",
                     (json_int_t)g->created, "id", g->id, "model", g->s->model_name,
                     "system_fingerprint", fingerprint(), "object", "chat.completion.chunk",
                     "usage", usage(g->t), "timings", timings(g->t));
}

static json_t *chunk_json(gen *g, const char *text, size_t n, bool final, bool stream) {
    switch (g->api) {
    case SRV_API_OPENAI: return openai_json(g, text, n, final, stream);
    case SRV_API_CHAT: return chat_json(g, text, n, final, stream);
    default: return native_json(g, text, n, final);
    }
}

static json_t *tokens_json(const int32_t *t, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(t[i]));
    return a;
}

static json_t *prompt_text(const srv_server *s, const srv_task *t) {
    int64_t n = lf_detokenize(s->m, t->tokens, t->n_tokens, NULL, 0, false, true);
    size_t cap = n < 0 ? (size_t)-n + 1 : 1;
    char *buf = malloc(cap);
    if (!buf)
        return json_string("");
    n = lf_detokenize(s->m, t->tokens, t->n_tokens, buf, cap, false, true);
    json_t *j = srv_text_json(buf, n > 0 ? (size_t)n : 0);
    free(buf);
    return j;
}

/* Native: a stream chunk, or the final object. */
static json_t *native_json(gen *g, const char *text, size_t n, bool final) {
    srv_task *t = g->t;
    bool toks = !final || t->req.return_tokens;
    json_t *j = json_pack("{s:i,s:o,s:o}", "index", 0, "content", srv_text_json(text, n), "tokens",
                          toks ? tokens_json(g->out.toks, g->out.n_toks) : json_array());
    if (!j)
        return NULL;
    if (t->req.logprobs && (!final || !t->req.stream))
        json_object_set_new(j, "completion_probabilities",
                            srv_probs_native(g->s, g->out.probs, g->out.n_probs));
    if (!final) {
        json_object_set_new(j, "stop", json_false());
        json_object_set_new(j, "id_slot", json_integer(-1));
        json_object_set_new(j, "tokens_predicted", json_integer(t->n_gen));
        json_object_set_new(j, "tokens_evaluated", json_integer(t->n_tokens));
        return j;
    }
    const char *stop_type = t->stop == SRV_STOP_EOS ? "eos" : t->stop == SRV_STOP_WORD ? "word"
                                                                                     : "limit";
    const char *word = t->stop == SRV_STOP_WORD && t->stop_word >= 0
                           ? t->req.stops[t->stop_word] : "";
    json_t *settings = srv_params_json(g->s, &t->req);
    json_object_set_new(j, "id_slot", json_integer(t->slot));
    json_object_set_new(j, "stop", json_true());
    json_object_set_new(j, "model", json_string(g->s->model_name));
    json_object_set_new(j, "tokens_predicted", json_integer(t->n_gen));
    json_object_set_new(j, "tokens_evaluated", json_integer(t->n_tokens));
    json_object_set_new(j, "generation_settings", settings ? settings : json_object());
    json_object_set_new(j, "prompt", prompt_text(g->s, t));
    json_object_set_new(j, "has_new_line", json_boolean(memchr(text, '\n', n) != NULL));
    json_object_set_new(j, "truncated", json_false());
    json_object_set_new(j, "stop_type", json_string(stop_type));
    json_object_set_new(j, "stopping_word", json_string(word));
    json_object_set_new(j, "tokens_cached", json_integer(t->n_tokens + t->n_gen));
    json_object_set_new(j, "timings", timings(t));
    return j;
}

static void task_error(const srv_task *t, srv_err *e) {
    srv_err_set(e, 500, "server_error", "%s", t->error[0] ? t->error : "generation failed");
    if (!strcmp(t->error, "the server is shutting down"))
        e->status = 503, e->type = "unavailable_error";
}

/* Streams: one chunk per wake-up with new text, then the final chunk. */
static bool gen_fill(srv_stream *st) {
    gen *g = st->user;
    if (g->sent_final)
        return false;
    if (g->api == SRV_API_CHAT && !g->sent_role) {
        g->sent_role = true;
        srv_sse_json(st, chat_json(g, NULL, 0, false, true));
        return true;
    }
    bool done = srv_task_wait(g->s->eng, g->t, 200, &g->out);
    /* tokens whose text the stop matcher holds go with the next chunk */
    if (g->out.len || (g->out.n_toks && g->api == SRV_API_NATIVE)) {
        srv_sse_json(st, chunk_json(g, g->out.text, g->out.len, false, true));
        g->out.len = 0, g->out.n_toks = 0, g->out.n_probs = 0;
    }
    if (!done)
        return true;
    g->sent_final = true;
    if (g->t->stop == SRV_STOP_ERROR) {
        srv_err e;
        task_error(g->t, &e);
        srv_sse_json(st, srv_err_json(&e));
    } else {
        g->out.n_toks = 0, g->out.n_probs = 0;
        srv_sse_json(st, chunk_json(g, "", 0, true, true));
        if (g->api == SRV_API_CHAT && g->t->req.include_usage)
            srv_sse_json(st, chat_usage_json(g));
    }
    if (g->api != SRV_API_NATIVE)
        srv_sse_raw(st, "data: [DONE]\n\n", 14);
    return true;
}

static void gen_free(gen *g) {
    if (!g)
        return;
    if (g->t) {
        srv_task_cancel(g->s->eng, g->t);
        srv_task_release(g->s->eng, g->t);
    }
    srv_out_free(&g->out);
    free(g);
}

static void gen_done(srv_stream *st) { gen_free(st->user); }

static void completion(srv_call *c, enum srv_api api) {
    srv_completion req;
    srv_err e;
    if (!srv_parse_completion(c->body, c->body_len, api, &c->s->defaults, c->s->n_vocab, &req,
                              &e)) {
        srv_reply_error(c, &e);
        return;
    }
    srv_run_completion(c, api, &req);
}

void srv_run_completion(srv_call *c, enum srv_api api, srv_completion *reqp) {
    srv_server *s = c->s;
    srv_completion req = *reqp;
    memset(reqp, 0, sizeof *reqp);
    srv_err e;
    int32_t *toks = NULL;
    int64_t n;
    if (req.prompt) {
        n = lf_tokenize_alloc(s->m, req.prompt, req.prompt_len, &toks, true, true);
    } else {
        toks = req.prompt_tokens, n = req.n_prompt_tokens;
        req.prompt_tokens = NULL;
    }
    if (n < 0 || !toks) {
        srv_completion_free(&req);
        free(toks);
        srv_err_set(&e, 500, "server_error", "out of memory");
        srv_reply_error(c, &e);
        return;
    }
    if (n == 0 && lf_token_bos(s->m) >= 0) /* an empty prompt: start from BOS */
        toks[n++] = lf_token_bos(s->m);
    if (n == 0 || n >= s->n_ctx_slot) {
        srv_completion_free(&req);
        free(toks);
        if (n == 0) {
            srv_err_set(&e, 400, "invalid_request_error", "the prompt is empty");
            srv_reply_error(c, &e);
            return;
        }
        srv_err_set(&e, 400, "exceed_context_size_error",
                    "request (%lld tokens) exceeds the available context size (%d tokens), try "
                    "increasing it", (long long)n, s->n_ctx_slot);
        json_t *j = srv_err_json(&e);
        json_t *o = json_object_get(j, "error");
        json_object_set_new(o, "n_prompt_tokens", json_integer(n));
        json_object_set_new(o, "n_ctx", json_integer(s->n_ctx_slot));
        srv_reply_json(c, 400, j);
        return;
    }
    gen *g = calloc(1, sizeof *g);
    srv_task *t = srv_task_new(&req, toks, (int)n);
    if (!g || !t) {
        free(g);
        srv_task_release(s->eng, t);
        srv_err_set(&e, 500, "server_error", "out of memory");
        srv_reply_error(c, &e);
        return;
    }
    g->s = s, g->t = t, g->api = api, g->created = time(NULL);
    make_id(g->id, sizeof g->id);
    int waiting;
    if (!srv_engine_submit(s->eng, t, &waiting)) {
        gen_free(g);
        srv_err_set(&e, 503, "unavailable_error",
                    "the server is busy: every slot is in use and %d requests are waiting; "
                    "retry later", waiting);
        srv_reply_error(c, &e);
        srv_reply_header(c, "Retry-After", "1");
        return;
    }
    if (t->req.stream) {
        srv_stream *st = calloc(1, sizeof *st);
        if (!st) {
            gen_free(g);
            return;
        }
        st->fill = gen_fill, st->done = gen_done, st->user = g;
        srv_reply_stream(c, st);
        return;
    }
    /* the whole text; a client that hangs up cancels it */
    for (int i = 0; !srv_task_wait(s->eng, t, 100, &g->out); i++) {
        if (srv_client_gone(c)) {
            gen_free(g);
            return; /* no reply: the connection is closed */
        }
    }
    if (t->stop == SRV_STOP_ERROR) {
        task_error(t, &e);
        srv_reply_error(c, &e);
    } else {
        srv_reply_json(c, 200, chunk_json(g, g->out.text, g->out.len, true, false));
    }
    gen_free(g);
}

void srv_h_completion(srv_call *c) { completion(c, SRV_API_NATIVE); }
void srv_h_v1_completions(srv_call *c) { completion(c, SRV_API_OPENAI); }
