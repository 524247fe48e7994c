/* api_anthropic.c — Anthropic's Messages API, as llama-server offers it:
 * POST /v1/messages (stream and not) and /v1/messages/count_tokens. The
 * request becomes a chat request (system + messages with text, tool_use
 * and tool_result blocks, tools and tool_choice, max_tokens,
 * stop_sequences, temperature, top_p, top_k) rendered with the chat
 * template; the output takes Anthropic's shapes and event names (calls as
 * tool_use blocks, streamed as input_json_delta). */
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

static bool out_of_memory(srv_err *e) {
    srv_err_set(e, 500, "api_error", "out of memory");
    return false;
}

/* Appends s[0, n) to the growing *buf of *len bytes. */
static bool append(char **buf, size_t *len, const char *s, size_t n, srv_err *e) {
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        return out_of_memory(e);
    memcpy(nb + *len, s, n);
    *buf = nb, *len += n;
    return true;
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
        json_t *b = json_array_get(v, i), *tx = json_object_get(b, "text");
        char where[160];
        snprintf(where, sizeof where, "%s[%zu]", key, i);
        const char *t = json_string_value(json_object_get(b, "type"));
        if (t && (!strcmp(t, "thinking") || !strcmp(t, "redacted_thinking")))
            continue;
        if (!t || strcmp(t, "text") || !json_is_string(tx)) {
            free(buf);
            return bad(e, "'%s' must be a text block {\"type\": \"text\", \"text\": ...} (other "
                       "content is not supported by this server)", where);
        }
        if (!append(&buf, &len, json_string_value(tx), json_string_length(tx), e)) {
            free(buf);
            return false;
        }
    }
    *out = json_stringn(buf ? buf : "", len);
    free(buf);
    return *out ? true : out_of_memory(e);
}

/* An assistant's tool_use block as a chat tool call appended to calls. */
static bool add_call(json_t *calls, json_t *b, const char *where, srv_err *e) {
    json_t *id = json_object_get(b, "id"), *name = json_object_get(b, "name");
    json_t *in = json_object_get(b, "input");
    if (!json_is_string(id) || !json_is_string(name) || (in && !json_is_object(in)))
        return bad(e, "'%s' must be a tool_use block with a string \"id\" and \"name\" and an "
                   "object \"input\"", where);
    json_t *none = in ? NULL : json_object();
    char *args = json_dumps(in ? in : none, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(none);
    json_t *call = args ? json_pack("{s:O,s:s,s:{s:O,s:s}}", "id", id, "type", "function",
                                    "function", "name", name, "arguments", args)
                        : NULL;
    free(args);
    return json_array_append_new(calls, call) == 0 ? true : out_of_memory(e);
}

/* A user's tool_result block as a "tool" message appended to arr. */
static bool add_result(json_t *arr, json_t *b, const char *where, srv_err *e) {
    json_t *id = json_object_get(b, "tool_use_id"), *c = json_object_get(b, "content");
    if (!json_is_string(id))
        return bad(e, "'%s' must be a tool_result block with a string \"tool_use_id\"", where);
    char key[192];
    snprintf(key, sizeof key, "%s.content", where);
    json_t *text = NULL;
    if (!c || json_is_null(c))
        text = json_string("");
    else if (!text_of(c, key, &text, e))
        return false;
    json_t *m = text ? json_pack("{s:s,s:O,s:o}", "role", "tool", "tool_call_id", id, "content",
                                 text)
                     : NULL;
    return json_array_append_new(arr, m) == 0 ? true : out_of_memory(e);
}

/* Message i as chat messages appended to arr: a user's tool_result blocks
 * as "tool" messages (in their order), then its text; an assistant's text
 * with its tool_use blocks as tool_calls. */
static bool add_message(json_t *arr, const char *role, json_t *content, size_t i, srv_err *e) {
    char key[64];
    snprintf(key, sizeof key, "messages[%zu].content", i);
    if (json_is_string(content))
        return json_array_append_new(arr, json_pack("{s:s,s:O}", "role", role, "content",
                                                    content)) == 0 ? true : out_of_memory(e);
    if (!json_is_array(content))
        return bad(e, "'%s' must be a string or an array of content blocks", key);
    bool assistant = !strcmp(role, "assistant"), ok = true;
    json_t *calls = json_array();
    char *buf = NULL;
    size_t len = 0, n_results = 0;
    for (size_t k = 0; ok && k < json_array_size(content); k++) {
        json_t *b = json_array_get(content, k), *tx = json_object_get(b, "text");
        const char *t = json_string_value(json_object_get(b, "type"));
        char where[96];
        snprintf(where, sizeof where, "%s[%zu]", key, k);
        if (t && !strcmp(t, "text") && json_is_string(tx))
            ok = append(&buf, &len, json_string_value(tx), json_string_length(tx), e);
        else if (t && (!strcmp(t, "thinking") || !strcmp(t, "redacted_thinking")))
            continue;
        else if (t && !strcmp(t, "tool_use") && assistant)
            ok = add_call(calls, b, where, e);
        else if (t && !strcmp(t, "tool_result") && !assistant)
            ok = add_result(arr, b, where, e), n_results++;
        else
            ok = bad(e, "'%s' must be a text block, a tool_use block (assistant) or a tool_result "
                     "block (user); other content is not supported by this server", where);
    }
    size_t n_calls = json_array_size(calls);
    if (ok && (len || n_calls || !n_results)) {
        json_t *text = json_stringn(buf ? buf : "", len);
        json_t *m = text ? json_pack("{s:s,s:o}", "role", role, "content", text) : NULL;
        if (m && n_calls)
            json_object_set(m, "tool_calls", calls);
        ok = json_array_append_new(arr, m) == 0 ? true : out_of_memory(e);
    }
    free(buf);
    json_decref(calls);
    return ok;
}

/* Anthropic's tools as chat function tools: {name, description,
 * input_schema} each; server tools (a type other than "custom") refused. */
static json_t *tools_of(json_t *tools, srv_err *e) {
    if (!json_is_array(tools)) {
        bad(e, "'%s' must be an array of tools", "tools");
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; out && i < json_array_size(tools); i++) {
        json_t *t = json_array_get(tools, i), *name = json_object_get(t, "name");
        json_t *schema = json_object_get(t, "input_schema"), *desc = json_object_get(t, "description");
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!json_is_object(t) || (type && strcmp(type, "custom")) || !json_is_string(name) ||
            (schema && !json_is_object(schema)) || (desc && !json_is_string(desc))) {
            char where[48];
            snprintf(where, sizeof where, "tools[%zu]", i);
            json_decref(out);
            bad(e, "'%s' must be a tool {\"name\": ..., \"description\": ..., \"input_schema\": "
                "{...}} (server tools are not supported by this server)", where);
            return NULL;
        }
        json_t *f = json_pack("{s:O}", "name", name); /* in OpenAI's order, as templates print it */
        if (f && desc)
            json_object_set(f, "description", desc);
        if (f && schema)
            json_object_set(f, "parameters", schema);
        if (!f || json_array_append_new(out, json_pack("{s:s,s:o}", "type", "function", "function", f))) {
            json_decref(out);
            out_of_memory(e);
            return NULL;
        }
    }
    if (!out)
        out_of_memory(e);
    return out;
}

/* tool_choice {"type": "auto" | "any" | "tool" (with "name") | "none",
 * "disable_parallel_tool_use": bool} as the chat request's tool_choice and
 * parallel_tool_calls. */
static bool tool_choice_of(json_t *tc, json_t *out, srv_err *e) {
    if (!tc || json_is_null(tc))
        return true;
    const char *t = json_string_value(json_object_get(tc, "type"));
    json_t *name = json_object_get(tc, "name"), *dp = json_object_get(tc, "disable_parallel_tool_use");
    json_t *v = !t                   ? NULL
                : !strcmp(t, "auto") ? json_string("auto")
                : !strcmp(t, "any")  ? json_string("required")
                : !strcmp(t, "none") ? json_string("none")
                : !strcmp(t, "tool") && json_is_string(name)
                    ? json_pack("{s:s,s:{s:O}}", "type", "function", "function", "name", name)
                    : NULL;
    if (!v || (dp && !json_is_boolean(dp))) {
        json_decref(v);
        return bad(e, "'%s' must be {\"type\": \"auto\", \"any\", \"none\", or \"tool\" with a "
                   "\"name\"} with an optional boolean \"disable_parallel_tool_use\"", "tool_choice");
    }
    json_object_set_new(out, "tool_choice", v);
    if (dp)
        json_object_set_new(out, "parallel_tool_calls", json_boolean(!json_is_true(dp)));
    return true;
}

/* Anthropic's request as a chat completion request object (count_tokens:
 * without max_tokens, which that endpoint does not take). */
static json_t *to_chat(json_t *o, bool counting, srv_err *e) {
    json_t *ms = json_object_get(o, "messages"), *sys = json_object_get(o, "system");
    json_t *mt = json_object_get(o, "max_tokens"), *ss = json_object_get(o, "stop_sequences");
    json_t *tools = json_object_get(o, "tools");
    if (!json_is_array(ms)) {
        bad(e, "'%s' is required: an array of messages", "messages");
        return NULL;
    }
    if ((!counting || mt) && (!json_is_integer(mt) || json_integer_value(mt) < 1)) {
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
    json_t *out = json_pack("{s:[]}", "messages");
    json_t *arr = json_object_get(out, "messages");
    json_t *text = NULL;
    if (!out) {
        out_of_memory(e);
        return NULL;
    }
    if (mt)
        json_object_set(out, "max_tokens", mt);
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
        if (!add_message(arr, role, json_object_get(m, "content"), i, e))
            goto fail;
    }
    if (tools && !json_is_null(tools)) {
        json_t *t = tools_of(tools, e);
        if (!t)
            goto fail;
        json_object_set_new(out, "tools", t);
    }
    if (!tool_choice_of(json_object_get(o, "tool_choice"), out, e))
        goto fail;
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

/* The request as a chat completion, its tools checked (and, unless
 * counting, their grammar made) and its prompt rendered; false with e. */
static bool parse(srv_call *c, bool counting, srv_completion *req, srv_err *e) {
    memset(req, 0, sizeof *req);
    json_t *o = srv_parse_object(c->body, c->body_len, e);
    json_t *chat = o ? to_chat(o, counting, e) : NULL;
    json_decref(o);
    char *body = chat ? json_dumps(chat, JSON_COMPACT) : NULL;
    json_decref(chat);
    if (chat && !body)
        out_of_memory(e);
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
