/* api_anthropic.c — Anthropic's Messages API, as llama-server offers it:
 * POST /v1/messages (stream and not) and /v1/messages/count_tokens. The
 * request becomes a chat request (anthropic_request.c) rendered with the
 * chat template; the output takes Anthropic's shapes and event names
 * (calls as tool_use blocks, streamed as input_json_delta). */
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

/* The request as a chat completion, its tools checked (and, unless
 * counting, their grammar made) and its prompt rendered; false with e. */
static bool parse(srv_call *c, bool counting, srv_completion *req, srv_err *e) {
    memset(req, 0, sizeof *req);
    json_t *chat = srv_anthropic_to_chat(c->body, c->body_len, counting, e);
    char *body = chat ? json_dumps(chat, JSON_COMPACT) : NULL;
    json_decref(chat);
    if (chat && !body)
        srv_err_set(e, 500, "api_error", "out of memory");
    bool ok = body && srv_parse_chat(body, strlen(body), &c->s->defaults, c->s->n_vocab, req, e) &&
              srv_tools_prepare(c->s, req, e) && (counting || srv_constrain(c->s, req, e)) &&
              srv_chat_prompt(c->s, req, e);
    free(body);
    return ok;
}

void srv_h_messages(srv_call *c) {
    srv_completion req;
    srv_err e;
    if (!parse(c, false, &req, &e)) {
        srv_completion_free(&req);
        srv_reply_error(c, &e);
        return;
    }
    srv_run_completion(c, SRV_API_ANTHROPIC, &req);
}

void srv_h_count_tokens(srv_call *c) {
    srv_completion req;
    srv_err e;
    if (!parse(c, true, &req, &e)) {
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
    return json_string(g->n_calls                 ? "tool_use"
                       : t->stop == SRV_STOP_LIMIT ? "max_tokens"
                       : t->stop == SRV_STOP_WORD ? "stop_sequence"
                                                  : "end_turn");
}

static json_t *stop_sequence(srv_gen *g) {
    srv_task *t = g->t;
    return t->stop == SRV_STOP_WORD && t->stop_word >= 0 ? json_string(t->req.stops[t->stop_word])
                                                         : json_null();
}

static json_t *thinking_block(const char *text, size_t n) {
    return json_pack("{s:s,s:o,s:s}", "type", "thinking", "thinking", srv_text_json(text, n),
                     "signature", "");
}

/* A call's arguments as tool_use's input: the JSON object the parser
 * checked them to be ({} if they are not one after all). */
static json_t *input_of(const char *arguments) {
    json_t *in = json_loads(arguments, 0, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        in = json_object();
    }
    return in;
}

json_t *srv_anthropic_json(srv_gen *g) {
    size_t n;
    const char *text = srv_gen_content(g, &n);
    n = text ? n : 0;
    lf_oai_message m = {0};
    uint64_t rng = g->tc_seed;
    lf_error err;
    bool calls = g->t->req.parse_tools &&
                 lf_toolcall_parse((lf_toolcall_format)g->t->req.tool_format, text ? text : "", n,
                                   &rng, &m, &err); /* false (out of memory): left as text */
    if (calls)
        text = m.content, n = m.content ? strlen(m.content) : 0, g->n_calls = m.n_tool_calls;
    json_t *content = json_array();
    if (g->rsn && g->part_len[SRV_PART_REASONING])
        json_array_append_new(content, thinking_block(g->part[SRV_PART_REASONING],
                                                      g->part_len[SRV_PART_REASONING]));
    if (calls && m.reasoning_content) /* gpt-oss: its analysis channel */
        json_array_append_new(content, thinking_block(m.reasoning_content,
                                                      strlen(m.reasoning_content)));
    if (n || !g->n_calls)
        json_array_append_new(content, json_pack("{s:s,s:o}", "type", "text", "text",
                                                 srv_text_json(text ? text : "", n)));
    for (size_t i = 0; calls && i < m.n_tool_calls; i++) {
        const lf_oai_tool_call *c = &m.tool_calls[i];
        json_array_append_new(content, json_pack("{s:s,s:s,s:o,s:o}", "type", "tool_use", "id",
                                                 c->id, "name", srv_text_json(c->name, strlen(c->name)),
                                                 "input", input_of(c->arguments)));
    }
    if (calls)
        lf_oai_message_free(&m);
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

enum { PART_TOOL_USE = 2 }; /* blk_open: a tool_use block */

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
    if (!g->rsn && !g->tcs) /* with thinking or tools the first block is known with the output */
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
            if (k == SRV_PART_CONTENT && g->tcs) /* read for calls */
                srv_tools_send(st, g, g->part[k], g->part_len[k], false);
            else
                delta(st, g, k, g->part[k], g->part_len[k]);
            g->part_len[k] = 0, wrote = true;
        }
    return wrote;
}

void srv_anthropic_tool_delta(srv_stream *st, srv_gen *g, const lf_toolcall_delta *d) {
    switch (d->kind) {
    case LF_TOOLCALL_DELTA_CONTENT:
        delta(st, g, SRV_PART_CONTENT, d->text, d->len);
        break;
    case LF_TOOLCALL_DELTA_REASONING:
        delta(st, g, SRV_PART_REASONING, d->text, d->len);
        break;
    case LF_TOOLCALL_DELTA_CALL:
        block_stop(st, g);
        event(st, "content_block_start",
              json_pack("{s:s,s:i,s:{s:s,s:s,s:o,s:{}}}", "type", "content_block_start", "index",
                        g->blk_next++, "content_block", "type", "tool_use", "id", d->id, "name",
                        srv_text_json(d->name, strlen(d->name)), "input"));
        g->blk_open = PART_TOOL_USE;
        break;
    default:
        event(st, "content_block_delta",
              json_pack("{s:s,s:i,s:{s:s,s:o}}", "type", "content_block_delta", "index",
                        g->blk_next - 1, "delta", "type", "input_json_delta", "partial_json",
                        srv_text_json(d->text, d->len)));
    }
}

void srv_anthropic_end(srv_stream *st, srv_gen *g) {
    if (g->blk_open != SRV_PART_CONTENT && !g->n_calls) /* it ends in a text block, if empty */
        block_start(st, g, SRV_PART_CONTENT);
    block_stop(st, g);
    event(st, "message_delta",
          json_pack("{s:s,s:{s:o,s:o},s:{s:i}}", "type", "message_delta", "delta", "stop_reason",
                    stop_reason(g), "stop_sequence", stop_sequence(g), "usage", "output_tokens",
                    g->t->n_gen));
    event(st, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}
