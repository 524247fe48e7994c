/* anthropic_request.c — an Anthropic Messages request body as a chat
 * completion body, so that /v1/messages runs the chat path: system and
 * messages (text blocks; an assistant's tool_use blocks as tool_calls, a
 * user's tool_result blocks as "tool" messages before its text), tools
 * ({name, description, input_schema} as function tools; server tools
 * refused), tool_choice, max_tokens, stop_sequences, temperature, top_p,
 * top_k, stream. No HTTP here, so the fuzzer links it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

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
    return *out ? true : bad(e, "'%s' is not valid UTF-8", key);
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
        ok = !text ? bad(e, "'%s' is not valid UTF-8", key)
                   : json_array_append_new(arr, m) == 0 ? true : out_of_memory(e);
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

json_t *srv_anthropic_to_chat(const char *body, size_t len, bool counting, srv_err *err) {
    json_t *o = srv_parse_object(body, len, err);
    json_t *chat = o ? to_chat(o, counting, err) : NULL;
    json_decref(o);
    return chat;
}
