/* tools.c — `tools` on /v1/chat/completions: which format the model
 * writes its calls in (lf_toolcall_detect on the template the request is
 * rendered with), a grammar in that format's syntax for tool_choice
 * "required" or a named function, and the answer read back into
 * tool_calls, whole (lf_toolcall_parse) or as OpenAI streams them
 * (lf_toolcall_stream: a call's index, id, type and name first with
 * arguments "", then its arguments). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* The format of the template a request with tools is rendered with. */
static lf_toolcall_format model_format(const srv_server *s) {
    if (lf_chat_is_harmony(s->m))
        return LF_TOOLCALL_GPT_OSS;
    lf_error err;
    const lf_chat_template *t = lf_chat_template_for_request(s->m, true, &err);
    if (!t || lf_chat_template_is_fallback(t))
        return lf_toolcall_detect(t ? lf_chat_fallback_template() : NULL);
    lf_str v;
    if (!lf_gguf_get_str(lf_model_gguf(s->m), lf_chat_template_origin(t), &v))
        return LF_TOOLCALL_GENERIC;
    char *text = malloc((size_t)v.len + 1);
    if (!text)
        return LF_TOOLCALL_GENERIC;
    memcpy(text, v.ptr, (size_t)v.len);
    text[v.len] = 0;
    lf_toolcall_format f = lf_toolcall_detect(text);
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

/* One call as a JSON Schema object: {"name": N, KEY: parameters}. */
static json_t *call_schema(json_t *fn, const char *key) {
    json_t *params = json_object_get(fn, "parameters");
    params = params && json_is_object(params) ? json_deep_copy(params)
                                              : json_pack("{s:s}", "type", "object");
    return json_pack("{s:s,s:{s:{s:O},s:o},s:[s,s],s:b}", "type", "object", "properties",
                     "name", "const", json_object_get(fn, "name"), key, params, "required",
                     "name", key, "additionalProperties", 0);
}

/* The calls the request allows, as one schema (anyOf the tools, or the
 * named one). */
static json_t *calls_schema(const srv_completion *req, json_t *tools, const char *key) {
    json_t *any = json_array();
    for (size_t i = 0; any && i < json_array_size(tools); i++) {
        json_t *fn = json_object_get(json_array_get(tools, i), "function");
        if (req->tool_choice == SRV_TOOLS_NAMED &&
            strcmp(json_string_value(json_object_get(fn, "name")), req->tool_name))
            continue;
        json_array_append_new(any, call_schema(fn, key));
    }
    if (json_array_size(any) == 1) {
        json_t *one = json_incref(json_array_get(any, 0));
        json_decref(any);
        return one;
    }
    return json_pack("{s:o}", "anyOf", any);
}

/* The grammar's extra rules around the calls' schema (its rule `root`):
 * the family's markers; NULL: the schema alone is the grammar. */
static const char *wrapper(lf_toolcall_format f, bool parallel) {
    if (f == LF_TOOLCALL_HERMES)
        return parallel ? "tool-calls ::= tool-call (\"\\n\" tool-call)*\n"
                          "tool-call ::= \"<tool_call>\\n\" root \"\\n</tool_call>\"\n"
                        : "tool-calls ::= \"<tool_call>\\n\" root \"\\n</tool_call>\"\n";
    return NULL;
}

bool srv_tools_grammar(srv_server *s, srv_completion *req, srv_err *e) {
    (void)s;
    lf_toolcall_format f = (lf_toolcall_format)req->tool_format;
    bool lazy = req->tool_choice == SRV_TOOLS_AUTO;
    if (lazy && f != LF_TOOLCALL_HERMES)
        return true; /* auto: a lazy grammar only where a call opens with a marker */
    if (f != LF_TOOLCALL_HERMES && f != LF_TOOLCALL_GENERIC && f != LF_TOOLCALL_LLAMA3)
        return true; /* no grammar for this family's syntax (docs/tools.md) */
    json_t *tools = json_loads(req->tools, 0, NULL);
    json_t *calls = calls_schema(req, tools, f == LF_TOOLCALL_LLAMA3 ? "parameters" : "arguments");
    json_t *schema = calls;
    if (f == LF_TOOLCALL_GENERIC) /* {"tool_calls": [...]} */
        schema = json_pack("{s:s,s:{s:{s:s,s:o,s:i}},s:[s],s:b}", "type", "object", "properties",
                           "tool_calls", "type", "array", "items", calls, "minItems", 1,
                           "required", "tool_calls", "additionalProperties", 0);
    if (schema && f == LF_TOOLCALL_GENERIC && !req->parallel_tool_calls)
        json_object_set_new(json_object_get(json_object_get(schema, "properties"), "tool_calls"),
                            "maxItems", json_integer(1));
    lf_error err;
    char *gbnf = schema ? lf_json_schema_value_to_gbnf(schema, &err) : NULL;
    if (!schema)
        snprintf(err.msg, sizeof err.msg, "out of memory");
    json_decref(schema);
    json_decref(tools);
    if (!gbnf) {
        srv_err_set(e, 400, "invalid_request_error", "a tool's parameters: %s", err.msg);
        return false;
    }
    const char *w = wrapper(f, req->parallel_tool_calls);
    if (w) {
        size_t n = strlen(gbnf), k = strlen(w);
        char *g = realloc(gbnf, n + k + 2);
        if (!g) {
            free(gbnf);
            srv_err_set(e, 500, "server_error", "out of memory");
            return false;
        }
        memcpy(g + n, "\n", 1);
        memcpy(g + n + 1, w, k + 1);
        gbnf = g;
        req->grammar_root = "tool-calls";
    }
    if (lazy) /* the grammar starts where a call opens */
        req->grammar_trigger = "<tool_call>";
    req->grammar = gbnf;
    return true;
}

void srv_tools_start(srv_gen *g) {
    if (g->api != SRV_API_CHAT || !g->t->req.parse_tools)
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
    /* a grammar holds the calls to well-formed: arguments stream as generated */
    const srv_completion *req = &g->t->req;
    if (g->tcs && ((req->grammar && (req->tool_choice == SRV_TOOLS_REQUIRED ||
                                     req->tool_choice == SRV_TOOLS_NAMED)) ||
                   req->grammar_trigger))
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
            g->n_calls = d[i].index + 1;
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
