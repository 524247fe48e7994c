/* api_anthropic.c — Anthropic's Messages API, as llama-server offers it:
 * POST /v1/messages (stream and not) and /v1/messages/count_tokens. The
 * request becomes a chat request (system + messages with text content,
 * max_tokens, stop_sequences, temperature, top_p, top_k) rendered with the
 * chat template; the output takes Anthropic's shapes and event names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

json_t *srv_anthropic_error_json(const srv_err *e) {
    const char *type = e->status == 401   ? "authentication_error"
                       : e->status == 403 ? "permission_error"
                       : e->status == 404 ? "not_found_error"
                       : e->status == 413 ? "request_too_large"
                       : e->status == 503 ? "overloaded_error"
                       : e->status >= 500 ? "api_error"
                                          : "invalid_request_error";
    return json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type", type, "message",
                     e->msg);
}

static bool bad(srv_err *e, const char *fmt, const char *key) {
    srv_err_set(e, 400, "invalid_request_error", fmt, key);
    return false;
}

/* Text content: a string, or text blocks joined (thinking blocks skipped;
 * other kinds refused). A new JSON string in *out. */
static bool text_of(json_t *v, const char *key, json_t **out, srv_err *e) {
    if (json_is_string(v)) {
        *out = json_incref(v);
        return true;
    }
    if (!json_is_array(v))
        return bad(e, "'%s' must be a string or an array of content blocks", key);
    size_t len = 0;
    char *buf = NULL;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *b = json_array_get(v, i), *ty = json_object_get(b, "type");
        json_t *tx = json_object_get(b, "text");
        char where[96];
        snprintf(where, sizeof where, "%s[%zu]", key, i);
        const char *t = json_string_value(ty);
        if (t && (!strcmp(t, "thinking") || !strcmp(t, "redacted_thinking")))
            continue;
        if (!t || strcmp(t, "text") || !json_is_string(tx)) {
            free(buf);
            return bad(e, "'%s' must be a text block {\"type\": \"text\", \"text\": ...} (other "
                       "content is not supported by this server)", where);
        }
        size_t n = json_string_length(tx);
        char *nb = realloc(buf, len + n + 1);
        if (!nb) {
            free(buf);
            srv_err_set(e, 500, "api_error", "out of memory");
            return false;
        }
        buf = nb;
        memcpy(buf + len, json_string_value(tx), n);
        len += n;
    }
    *out = json_stringn(buf ? buf : "", len);
    free(buf);
    if (!*out)
        return bad(e, "'%s' is not valid UTF-8", key);
    return true;
}

/* Anthropic's request as a chat completion request object. */
static json_t *to_chat(json_t *o, srv_err *e) {
    json_t *ms = json_object_get(o, "messages"), *sys = json_object_get(o, "system");
    json_t *mt = json_object_get(o, "max_tokens"), *ss = json_object_get(o, "stop_sequences");
    if (!json_is_array(ms)) {
        bad(e, "'%s' is required: an array of messages", "messages");
        return NULL;
    }
    if (!json_is_integer(mt) || json_integer_value(mt) < 1) {
        bad(e, "'%s' is required: an integer of at least 1", "max_tokens");
        return NULL;
    }
    if (ss && !json_is_null(ss)) {
        bool ok = json_is_array(ss);
        for (size_t i = 0; ok && i < json_array_size(ss); i++)
            ok = json_is_string(json_array_get(ss, i));
        if (!ok) {
            bad(e, "'%s' must be an array of strings", "stop_sequences");
            return NULL;
        }
    }
    json_t *out = json_pack("{s:[],s:O}", "messages", "max_tokens", mt);
    json_t *arr = json_object_get(out, "messages");
    json_t *text = NULL;
    if (sys && !json_is_null(sys)) {
        if (!text_of(sys, "system", &text, e))
            goto fail;
        json_array_append_new(arr, json_pack("{s:s,s:o}", "role", "system", "content", text));
    }
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        char key[64];
        snprintf(key, sizeof key, "messages[%zu].role", i);
        if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
            bad(e, "'%s' must be \"user\" or \"assistant\"", key);
            goto fail;
        }
        snprintf(key, sizeof key, "messages[%zu].content", i);
        if (!text_of(json_object_get(m, "content"), key, &text, e))
            goto fail;
        json_array_append_new(arr, json_pack("{s:s,s:o}", "role", role, "content", text));
    }
    static const char *const copied[] = {"model", "temperature", "top_p", "top_k", "stream"};
    for (size_t i = 0; i < sizeof copied / sizeof *copied; i++)
        if (json_object_get(o, copied[i]))
            json_object_set(out, copied[i], json_object_get(o, copied[i]));
    if (ss && !json_is_null(ss))
        json_object_set(out, "stop", ss);
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* The request as a chat completion with its prompt rendered; false with e. */
static bool parse(srv_call *c, srv_completion *req, srv_err *e) {
    memset(req, 0, sizeof *req);
    json_t *o = srv_parse_object(c->body, c->body_len, e);
    json_t *chat = o ? to_chat(o, e) : NULL;
    json_decref(o);
    char *body = chat ? json_dumps(chat, JSON_COMPACT) : NULL;
    json_decref(chat);
    if (chat && !body)
        srv_err_set(e, 500, "api_error", "out of memory");
    bool ok = body && srv_parse_chat(body, strlen(body), &c->s->defaults, c->s->n_vocab, req, e) &&
              srv_chat_prompt(c->s, req, e);
    free(body);
    return ok;
}

void srv_h_messages(srv_call *c) {
    srv_completion req;
    srv_err e;
    if (!parse(c, &req, &e)) {
        srv_completion_free(&req);
        srv_reply_error(c, &e);
        return;
    }
    srv_run_completion(c, SRV_API_ANTHROPIC, &req);
}

void srv_h_count_tokens(srv_call *c) {
    srv_completion req;
    srv_err e;
    if (!parse(c, &req, &e)) {
        srv_completion_free(&req);
        srv_reply_error(c, &e);
        return;
    }
    int64_t n = lf_tokenize(c->s->m, req.prompt, req.prompt_len, NULL, 0, true, true);
    srv_completion_free(&req);
    srv_reply_json(c, 200, json_pack("{s:I}", "input_tokens", (json_int_t)(n < 0 ? -n : n)));
}

static const char *model_of(srv_gen *g) {
    return g->t->req.model ? g->t->req.model : g->s->model_name;
}

static json_t *stop_reason(srv_gen *g) {
    srv_task *t = g->t;
    return json_string(t->stop == SRV_STOP_LIMIT  ? "max_tokens"
                       : t->stop == SRV_STOP_WORD ? "stop_sequence"
                                                  : "end_turn");
}

static json_t *stop_sequence(srv_gen *g) {
    srv_task *t = g->t;
    return t->stop == SRV_STOP_WORD && t->stop_word >= 0 ? json_string(t->req.stops[t->stop_word])
                                                         : json_null();
}

json_t *srv_anthropic_json(srv_gen *g) {
    size_t n;
    const char *text = srv_gen_content(g, &n);
    json_t *content = json_array();
    if (g->rsn && g->part_len[SRV_PART_REASONING])
        json_array_append_new(content, json_pack("{s:s,s:o,s:s}", "type", "thinking", "thinking",
                                                 srv_text_json(g->part[SRV_PART_REASONING],
                                                               g->part_len[SRV_PART_REASONING]),
                                                 "signature", ""));
    json_array_append_new(content, json_pack("{s:s,s:o}", "type", "text", "text",
                                             srv_text_json(text ? text : "", text ? n : 0)));
    return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:{s:i,s:i,s:i}}", "id", g->id, "type",
                     "message", "role", "assistant", "content", content, "model", model_of(g),
                     "stop_reason", stop_reason(g), "stop_sequence", stop_sequence(g), "usage",
                     "input_tokens", g->t->n_tokens, "output_tokens", g->t->n_gen,
                     "cache_read_input_tokens", g->t->n_cached);
}

/* "event: NAME" then its data line. */
static void event(srv_stream *st, const char *name, json_t *data) {
    char line[64];
    int n = snprintf(line, sizeof line, "event: %s\n", name);
    srv_sse_raw(st, line, (size_t)n);
    srv_sse_json(st, data);
}

/* Closes the open content block, if any. */
static void block_stop(srv_stream *st, srv_gen *g) {
    if (g->blk_open < 0)
        return;
    event(st, "content_block_stop",
          json_pack("{s:s,s:i}", "type", "content_block_stop", "index", g->blk_next - 1));
    g->blk_open = -1;
}

/* Makes a block of this part the open one. */
static void block_start(srv_stream *st, srv_gen *g, int part) {
    if (g->blk_open == part)
        return;
    block_stop(st, g);
    bool thinking = part == SRV_PART_REASONING;
    json_t *blk = thinking ? json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking", "",
                                       "signature", "")
                           : json_pack("{s:s,s:s}", "type", "text", "text", "");
    event(st, "content_block_start", json_pack("{s:s,s:i,s:o}", "type", "content_block_start",
                                               "index", g->blk_next++, "content_block", blk));
    g->blk_open = part;
}

static void delta(srv_stream *st, srv_gen *g, int part, const char *text, size_t n) {
    bool thinking = part == SRV_PART_REASONING;
    block_start(st, g, part);
    event(st, "content_block_delta",
          json_pack("{s:s,s:i,s:{s:s,s:o}}", "type", "content_block_delta", "index",
                    g->blk_next - 1, "delta", "type", thinking ? "thinking_delta" : "text_delta",
                    thinking ? "thinking" : "text", srv_text_json(text, n)));
}

void srv_anthropic_begin(srv_stream *st, srv_gen *g) {
    event(st, "message_start",
          json_pack("{s:s,s:{s:s,s:s,s:s,s:[],s:s,s:n,s:n,s:{s:i,s:i}}}", "type",
                    "message_start", "message", "id", g->id, "type", "message", "role",
                    "assistant", "content", "model", model_of(g), "stop_reason", "stop_sequence",
                    "usage", "input_tokens", g->t->n_tokens, "output_tokens", 0));
    if (!g->rsn) /* a thinking model's first block is known with its first output */
        block_start(st, g, SRV_PART_CONTENT);
    event(st, "ping", json_pack("{s:s}", "type", "ping"));
}

void srv_anthropic_text(srv_stream *st, srv_gen *g) {
    delta(st, g, SRV_PART_CONTENT, g->out.text, g->out.len);
}

bool srv_anthropic_parts(srv_stream *st, srv_gen *g) {
    bool wrote = false;
    for (int k = SRV_PART_REASONING; k <= SRV_PART_CONTENT; k++)
        if (g->part_len[k]) {
            delta(st, g, k, g->part[k], g->part_len[k]);
            g->part_len[k] = 0, wrote = true;
        }
    return wrote;
}

void srv_anthropic_end(srv_stream *st, srv_gen *g) {
    if (g->blk_open != SRV_PART_CONTENT) /* the answer ends in a text block, if empty */
        block_start(st, g, SRV_PART_CONTENT);
    block_stop(st, g);
    event(st, "message_delta",
          json_pack("{s:s,s:{s:o,s:o},s:{s:i}}", "type", "message_delta", "delta", "stop_reason",
                    stop_reason(g), "stop_sequence", stop_sequence(g), "usage", "output_tokens",
                    g->t->n_gen));
    event(st, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}
