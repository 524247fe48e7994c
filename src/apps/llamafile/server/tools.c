/* tools.c — `tools` on /v1/chat/completions (and /v1/messages, whose
 * request api_anthropic.c makes a chat request): which format the model
 * writes its calls in (lf_toolcall_detect on the template the request is
 * rendered with), a grammar in that format's syntax for tool_choice
 * "required", a named function or "auto" (lf_toolcall_grammar), and the
 * answer read back into tool_calls, whole (lf_toolcall_parse) or as OpenAI streams them
 * (lf_toolcall_stream: a call's index, id, type and name first with
 * arguments "", then its arguments). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* The text of the template a request with tools is rendered with
 * (malloc'd; NULL: none, the fallback, or out of memory). */
static char *template_text(const srv_server *s) {
    lf_error err;
    const lf_chat_template *t = lf_chat_template_for_request(s->m, true, &err);
    lf_str v;
    if (!t || lf_chat_template_is_fallback(t) ||
        !lf_gguf_get_str(lf_model_gguf(s->m), lf_chat_template_origin(t), &v))
        return NULL;
    char *text = malloc((size_t)v.len + 1);
    if (text) {
        memcpy(text, v.ptr, (size_t)v.len);
        text[v.len] = 0;
    }
    return text;
}

/* The format of the template a request with tools is rendered with. */
static lf_toolcall_format model_format(const srv_server *s) {
    if (lf_chat_is_harmony(s->m))
        return LF_TOOLCALL_GPT_OSS;
    lf_error err;
    const lf_chat_template *t = lf_chat_template_for_request(s->m, true, &err);
    if (!t || lf_chat_template_is_fallback(t))
        return lf_toolcall_detect(t ? lf_chat_fallback_template() : NULL);
    char *text = template_text(s);
    lf_toolcall_format f = text ? lf_toolcall_detect(text) : LF_TOOLCALL_GENERIC;
    free(text);
    return f;
}

static bool bad_tools(srv_err *e, const char *fmt, size_t i) {
    srv_err_set(e, 400, "invalid_request_error", fmt, i);
    return false;
}

/* Checks the tools array: each {"type": "function", "function": {"name":
 * string, "parameters": object?}}. */
static bool check_tools(json_t *tools, srv_err *e) {
    for (size_t i = 0; i < json_array_size(tools); i++) {
        json_t *t = json_array_get(tools, i), *f = json_object_get(t, "function");
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!json_is_object(t) || (type && strcmp(type, "function")))
            return bad_tools(e, "'tools'[%zu] must be an object of type \"function\"", i);
        if (!json_is_object(f) || !json_is_string(json_object_get(f, "name")))
            return bad_tools(e, "'tools'[%zu].function must be an object with a \"name\"", i);
        json_t *p = json_object_get(f, "parameters");
        if (p && !json_is_null(p) && !json_is_object(p))
            return bad_tools(e, "'tools'[%zu].function.parameters must be an object", i);
    }
    return true;
}

bool srv_tools_prepare(srv_server *s, srv_completion *req, srv_err *e) {
    json_t *tools = req->tools ? json_loads(req->tools, 0, NULL) : NULL;
    bool ok = !tools || check_tools(tools, e), found = false;
    for (size_t i = 0; ok && req->tool_choice == SRV_TOOLS_NAMED && i < json_array_size(tools);
         i++) {
        const char *n = json_string_value(
            json_object_get(json_object_get(json_array_get(tools, i), "function"), "name"));
        found |= !strcmp(n, req->tool_name);
    }
    if (ok && req->tool_choice == SRV_TOOLS_NAMED && !found) {
        srv_err_set(e, 400, "invalid_request_error",
                    "'tool_choice' names the function \"%.100s\", which is not in 'tools'",
                    req->tool_name);
        ok = false;
    }
    if (ok && (req->tool_choice == SRV_TOOLS_REQUIRED || req->tool_choice == SRV_TOOLS_NAMED) &&
        json_array_size(tools) == 0) {
        srv_err_set(e, 400, "invalid_request_error", "'tool_choice' needs 'tools'");
        ok = false;
    }
    req->parse_tools = ok && json_array_size(tools) > 0 && req->tool_choice != SRV_TOOLS_NONE;
    if (req->parse_tools)
        req->tool_format = model_format(s);
    json_decref(tools);
    return ok;
}

/* Whether the request's prompt opens a <think> block that the reasoning
 * splitter will take the answer's start for (DeepSeek-R1's templates):
 * then the calls must come after </think>. The prompt is rendered later
 * (api_chat.c); this renders it once more to look. */
static bool prompt_opens_think(srv_server *s, const srv_completion *req) {
    if (!req->split_reasoning || lf_reasoning_format_for(s->m) != LF_REASONING_THINK ||
        !req->messages)
        return false;
    lf_error err;
    lf_chat_messages *ms = lf_chat_messages_from_json(req->messages, strlen(req->messages), &err);
    if (!ms)
        return false;
    lf_chat_params p = {0};
    p.add_generation_prompt = true;
    p.tools = req->tools;
    p.kwargs = req->kwargs;
    size_t len;
    char *text = lf_chat_apply_model(s->m, ms, &p, &len, NULL, NULL, &err);
    lf_chat_messages_free(ms);
    bool opens = text && lf_reasoning_prompt_opens(text, len);
    free(text);
    return opens;
}

/* The family's grammar (lf_toolcall_grammar): for "required" and a named
 * function the whole answer (after the reasoning, when the prompt opened
 * it), for "auto" a lazy one from the family's
 * opening marker on (lazy.c), where it has one. */
bool srv_tools_grammar(srv_server *s, srv_completion *req, srv_err *e) {
    lf_toolcall_format f = (lf_toolcall_format)req->tool_format;
    unsigned flags = (req->parallel_tool_calls ? LF_TOOLCALL_GRAMMAR_PARALLEL : 0) |
                     (req->tool_choice == SRV_TOOLS_AUTO ? LF_TOOLCALL_GRAMMAR_LAZY : 0);
    if (req->tool_choice != SRV_TOOLS_AUTO && prompt_opens_think(s, req))
        flags |= LF_TOOLCALL_GRAMMAR_THINK;
    char *text = f == LF_TOOLCALL_MISTRAL || f == LF_TOOLCALL_DEEPSEEK ? template_text(s) : NULL;
    lf_toolcall_gbnf g;
    lf_error err;
    bool ok = lf_toolcall_grammar(f, text, req->tools,
                                  req->tool_choice == SRV_TOOLS_NAMED ? req->tool_name : NULL,
                                  flags, &g, &err);
    free(text);
    if (!ok) {
        srv_err_set(e, 400, "invalid_request_error", "'tools': %s", err.msg);
        return false;
    }
    if (!g.gbnf)
        return true; /* auto in a family whose calls open without a marker */
    req->grammar = g.gbnf;
    req->grammar_root = g.root;
    req->grammar_trigger = g.trigger;
    req->tools_grammar = true;
    return true;
}

void srv_tools_start(srv_gen *g) {
    if ((g->api != SRV_API_CHAT && g->api != SRV_API_ANTHROPIC) || !g->t->req.parse_tools)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g->tc_seed = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
    if (g->t->req.sp.seed != UINT64_MAX) /* a seeded request gets the same ids */
        g->tc_seed = g->t->req.sp.seed;
    lf_error err;
    if (g->t->req.stream) /* NULL (out of memory): the answer goes out as content */
        g->tcs = lf_toolcall_stream_new((lf_toolcall_format)g->t->req.tool_format, &g->tc_seed,
                                        &err);
    /* the tools' grammar holds the calls to well-formed (not a grammar or
     * schema of the request's own): arguments stream as generated */
    if (g->tcs && g->t->req.tools_grammar)
        lf_toolcall_stream_set_eager(g->tcs, true);
}

static json_t *calls_json(const lf_oai_message *m) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < m->n_tool_calls; i++) {
        const lf_oai_tool_call *c = &m->tool_calls[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:{s:o,s:o}}", "id", c->id, "type",
                                           "function", "function", "name",
                                           srv_text_json(c->name, strlen(c->name)), "arguments",
                                           srv_text_json(c->arguments, strlen(c->arguments))));
    }
    return a;
}

void srv_tools_message(srv_gen *g, json_t *choice, const char *text, size_t n) {
    lf_oai_message m;
    lf_error err;
    uint64_t rng = g->tc_seed;
    if (!lf_toolcall_parse((lf_toolcall_format)g->t->req.tool_format, text ? text : "", n, &rng,
                           &m, &err))
        return; /* out of memory: left as content */
    json_t *msg = json_object_get(choice, "message");
    json_object_set_new(msg, "content",
                        m.content ? srv_text_json(m.content, strlen(m.content)) : json_null());
    if (m.reasoning_content) /* gpt-oss: its analysis channel */
        json_object_set_new(msg, "reasoning_content",
                            srv_text_json(m.reasoning_content, strlen(m.reasoning_content)));
    if (m.n_tool_calls) {
        json_object_set_new(msg, "tool_calls", calls_json(&m));
        json_object_set_new(choice, "finish_reason", json_string("tool_calls"));
        g->n_calls = m.n_tool_calls;
    }
    lf_oai_message_free(&m);
}

/* A delta chunk with delta set to d (taken). */
static bool send_delta(srv_stream *st, srv_gen *g, json_t *d) {
    json_t *j = srv_chat_json(g, "", 0, false, true);
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    json_object_set_new(choice, "delta", d);
    json_object_set_new(choice, "logprobs", json_null());
    return srv_sse_json(st, j);
}

bool srv_tools_send(srv_stream *st, srv_gen *g, const char *text, size_t n, bool end) {
    const lf_toolcall_delta *d;
    lf_error err;
    int64_t k = lf_toolcall_stream_push(g->tcs, text ? text : "", n, end, &d, &err);
    for (int64_t i = 0; i < k; i++) {
        if (d[i].kind == LF_TOOLCALL_DELTA_CALL)
            g->n_calls = d[i].index + 1;
        if (g->api == SRV_API_ANTHROPIC) {
            srv_anthropic_tool_delta(st, g, &d[i]);
            continue;
        }
        json_t *delta = NULL;
        switch (d[i].kind) {
        case LF_TOOLCALL_DELTA_CONTENT:
            delta = json_pack("{s:o}", "content", srv_text_json(d[i].text, d[i].len));
            break;
        case LF_TOOLCALL_DELTA_REASONING:
            delta = json_pack("{s:o}", "reasoning_content", srv_text_json(d[i].text, d[i].len));
            break;
        case LF_TOOLCALL_DELTA_CALL:
            delta = json_pack("{s:[{s:I,s:s,s:s,s:{s:o,s:s}}]}", "tool_calls", "index",
                              (json_int_t)d[i].index, "id", d[i].id, "type", "function",
                              "function", "name", srv_text_json(d[i].name, strlen(d[i].name)),
                              "arguments", "");
            break;
        default:
            delta = json_pack("{s:[{s:I,s:{s:o}}]}", "tool_calls", "index",
                              (json_int_t)d[i].index, "function", "arguments",
                              srv_text_json(d[i].text, d[i].len));
        }
        send_delta(st, g, delta);
    }
    return k > 0;
}
