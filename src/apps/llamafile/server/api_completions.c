/* api_completions.c — POST /completion (llama-server's native shape) and
 * POST /v1/completions (OpenAI's), streamed or not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

void srv_make_id(char *out, size_t n, const char *prefix) {
    static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^
                 (uint64_t)(uintptr_t)out;
    size_t k = (size_t)snprintf(out, n, "%s", prefix), end = k + 32;
    for (; k + 1 < n && k < end; k++) {
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
static json_t *openai_json(srv_gen *g, const char *text, size_t n, bool final, bool stream) {
    srv_task *t = g->t;
    json_t *lp = t->req.logprobs ? srv_logprobs_legacy(g->s, g->out.probs, g->out.n_probs,
                                                       &g->text_off) : json_null();
    json_t *j = json_pack("{s:[{s:o,s:i,s:o,s:o}],s:I,s:s,s:s,s:s}", "choices", "text",
                          srv_text_json(text, n), "index", g->index, "logprobs", lp, "finish_reason",
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

static json_t *native_json(srv_gen *g, const char *text, size_t n, bool final);

/* Chat: a delta chunk (role first, then content, then the finish), or
 * the whole message. */
json_t *srv_chat_json(srv_gen *g, const char *text, size_t n, bool final, bool stream) {
    srv_task *t = g->t;
    json_t *choice;
    if (!stream && g->rsn) { /* the split answer */
        text = srv_gen_content(g, &n);
        n = text ? n : 0;
    }
    if (!stream)
        choice = json_pack("{s:s,s:i,s:{s:s,s:o}}", "finish_reason", finish_reason(t), "index", 0,
                           "message", "role", "assistant", "content",
                           srv_text_json(text ? text : "", n));
    else if (final)
        choice = json_pack("{s:s,s:i,s:{}}", "finish_reason",
                           g->n_calls ? "tool_calls" : finish_reason(t), "index", 0, "delta");
    else if (!text)
        choice = json_pack("{s:n,s:i,s:{s:s,s:n}}", "finish_reason", "index", 0, "delta", "role",
                           "assistant", "content");
    else
        choice = json_pack("{s:n,s:i,s:{s:o}}", "finish_reason", "index", 0, "delta", "content",
                           srv_text_json(text, n));
    if (!stream && choice && t->req.parse_tools)
        srv_tools_message(g, choice, text, n);
    if (!stream && choice && g->rsn && g->part_len[SRV_PART_REASONING])
        json_object_set_new(json_object_get(choice, "message"), "reasoning_content",
                            srv_text_json(g->part[SRV_PART_REASONING],
                                          g->part_len[SRV_PART_REASONING]));
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
json_t *srv_chat_usage_json(srv_gen *g) {
    return json_pack("{s:[],s:I,s:s,s:s,s:s,s:s,s:o,s:o}", "choices", "created",
                     (json_int_t)g->created, "id", g->id, "model", g->s->model_name,
                     "system_fingerprint", fingerprint(), "object", "chat.completion.chunk",
                     "usage", usage(g->t), "timings", timings(g->t));
}

json_t *srv_chunk_json(srv_gen *g, const char *text, size_t n, bool final, bool stream) {
    switch (g->api) {
    case SRV_API_OPENAI: return openai_json(g, text, n, final, stream);
    case SRV_API_CHAT: return srv_chat_json(g, text, n, final, stream);
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
static json_t *native_json(srv_gen *g, const char *text, size_t n, bool final) {
    srv_task *t = g->t;
    bool toks = !final || t->req.return_tokens;
    json_t *j = json_pack("{s:i,s:o,s:o}", "index", g->index, "content", srv_text_json(text, n), "tokens",
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

void srv_task_error(const srv_task *t, srv_err *e) {
    srv_err_set(e, 500, "server_error", "%s", t->error[0] ? t->error : "generation failed");
    if (!strcmp(t->error, "the server is shutting down"))
        e->status = 503, e->type = "unavailable_error";
}


static void completion(srv_call *c, enum srv_api api) {
    srv_completion req;
    srv_err e;
    if (!srv_parse_completion(c->body, c->body_len, api, &c->s->defaults, c->s->n_vocab, &req,
                              &e)) {
        srv_reply_error(c, &e);
        return;
    }
    if (!srv_constrain(c->s, &req, &e)) {
        srv_completion_free(&req);
        srv_reply_error(c, &e);
        return;
    }
    srv_run_completion(c, api, &req);
}

void srv_h_completion(srv_call *c) { completion(c, SRV_API_NATIVE); }
void srv_h_v1_completions(srv_call *c) { completion(c, SRV_API_OPENAI); }
