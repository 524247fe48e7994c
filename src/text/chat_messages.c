/* chat_messages.c — the conversation: OpenAI-shaped JSON checked field by
 * field (errors name the message and the key), kept whole for the template,
 * with a C view of the keys the library knows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "text/chat.h"

/* A message's C view and what it owns (the strings point into the JSON,
 * except arguments given as objects, which are dumped here). */
typedef struct slot {
    lf_chat_message m;
    lf_chat_part *parts;
    lf_chat_tool_call *calls;
} slot;

struct lf_chat_messages {
    json_t *json; /* the array */
    slot *slots;
    size_t n, cap;
};

static void slot_free(slot *s) {
    for (size_t j = 0; j < s->m.n_tool_calls; j++)
        if (s->calls[j].arguments_object)
            free((char *)s->calls[j].arguments);
    free(s->calls);
    free(s->parts);
    memset(s, 0, sizeof *s);
}

static bool fail_at(lf_error *err, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail_at(lf_error *err, size_t i, const char *fmt, ...) {
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return lf_fail(err, "messages[%zu].%s", i, what);
}

/* An optional string key: absent → NULL; null allowed when nullable. */
static bool opt_str(json_t *obj, const char *key, bool nullable, const char **out, size_t i,
                    const char *prefix, lf_error *err) {
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || (nullable && json_is_null(v)))
        return true;
    if (!json_is_string(v))
        return fail_at(err, i, "%s%s: expected a string%s", prefix, key,
                       nullable ? " or null" : "");
    *out = json_string_value(v);
    return true;
}

static bool view_parts(slot *s, json_t *content, size_t i, lf_error *err) {
    size_t n = json_array_size(content);
    if (n && !(s->parts = lf_calloc(n, sizeof *s->parts)))
        return lf_fail(err, "out of memory");
    for (size_t j = 0; j < n; j++) {
        json_t *part = json_array_get(content, j);
        if (!json_is_object(part))
            return fail_at(err, i, "content[%zu]: expected an object", j);
        json_t *type = json_object_get(part, "type");
        if (!json_is_string(type))
            return fail_at(err, i, "content[%zu].type: expected a string", j);
        s->parts[j].type = json_string_value(type);
        if (!strcmp(s->parts[j].type, "text")) {
            json_t *text = json_object_get(part, "text");
            if (!json_is_string(text))
                return fail_at(err, i, "content[%zu].text: expected a string", j);
            s->parts[j].text = json_string_value(text);
        }
        s->m.n_parts = j + 1;
    }
    s->m.parts = s->parts;
    return true;
}

static bool view_calls(slot *s, json_t *calls, size_t i, lf_error *err) {
    if (!json_is_array(calls))
        return fail_at(err, i, "tool_calls: expected an array or null");
    size_t n = json_array_size(calls);
    if (n && !(s->calls = lf_calloc(n, sizeof *s->calls)))
        return lf_fail(err, "out of memory");
    s->m.tool_calls = s->calls;
    for (size_t j = 0; j < n; j++) {
        lf_chat_tool_call *c = &s->calls[j];
        char prefix[64];
        snprintf(prefix, sizeof prefix, "tool_calls[%zu].", j);
        json_t *call = json_array_get(calls, j);
        if (!json_is_object(call))
            return fail_at(err, i, "tool_calls[%zu]: expected an object", j);
        if (!opt_str(call, "id", true, &c->id, i, prefix, err))
            return false;
        json_t *fn = json_object_get(call, "function");
        if (!json_is_object(fn))
            return fail_at(err, i, "%sfunction: expected an object", prefix);
        snprintf(prefix, sizeof prefix, "tool_calls[%zu].function.", j);
        if (!opt_str(fn, "name", false, &c->name, i, prefix, err))
            return false;
        if (!c->name)
            return fail_at(err, i, "%sname: missing", prefix);
        json_t *args = json_object_get(fn, "arguments");
        if (json_is_string(args)) {
            c->arguments = json_string_value(args);
        } else if (json_is_object(args)) {
            char *text = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!text)
                return lf_fail(err, "out of memory");
            c->arguments = text;
            c->arguments_object = true;
        } else {
            return fail_at(err, i, "%sarguments: expected a string or an object", prefix);
        }
        s->m.n_tool_calls = j + 1;
    }
    return true;
}

/* Checks message i of the array and fills its view. */
static bool view_message(slot *s, json_t *msg, size_t i, lf_error *err) {
    memset(s, 0, sizeof *s);
    if (!json_is_object(msg))
        return lf_fail(err, "messages[%zu]: expected an object", i);
    json_t *role = json_object_get(msg, "role");
    if (!role)
        return fail_at(err, i, "role: missing");
    if (!json_is_string(role))
        return fail_at(err, i, "role: expected a string");
    s->m.role = json_string_value(role);
    json_t *content = json_object_get(msg, "content");
    if (json_is_string(content))
        s->m.content = json_string_value(content);
    else if (json_is_array(content)) {
        if (!view_parts(s, content, i, err))
            return false;
    } else if (content && !json_is_null(content))
        return fail_at(err, i, "content: expected a string, an array of parts or null");
    json_t *calls = json_object_get(msg, "tool_calls");
    if (calls && !json_is_null(calls) && !view_calls(s, calls, i, err))
        return false;
    return opt_str(msg, "name", false, &s->m.name, i, "", err) &&
           opt_str(msg, "tool_call_id", false, &s->m.tool_call_id, i, "", err) &&
           opt_str(msg, "reasoning_content", true, &s->m.reasoning_content, i, "", err);
}

bool lf_chat_json_error(lf_error *err, const char *what, const json_error_t *je) {
    /* jansson quotes the input near the error: keep the message one line */
    char text[JSON_ERROR_TEXT_LENGTH];
    size_t i = 0;
    for (; je->text[i] && i + 1 < sizeof text; i++)
        text[i] = (unsigned char)je->text[i] < 0x20 || je->text[i] == 0x7f ? ' ' : je->text[i];
    text[i] = 0;
    return lf_fail(err, "%s: invalid JSON at line %d, column %d: %s", what, je->line, je->column,
                   text);
}

static bool grow(lf_chat_messages *ms, size_t need, lf_error *err) {
    if (need <= ms->cap)
        return true;
    size_t cap = ms->cap ? ms->cap * 2 : 8;
    while (cap < need)
        cap *= 2;
    slot *p = lf_realloc(ms->slots, cap * sizeof *p);
    if (!p)
        return lf_fail(err, "out of memory");
    ms->slots = p;
    ms->cap = cap;
    return true;
}

lf_chat_messages *lf_chat_messages_new(lf_error *err) {
    lf_chat_messages *ms = lf_calloc(1, sizeof *ms);
    if (!ms || !(ms->json = json_array())) {
        free(ms);
        lf_fail(err, "out of memory");
        return NULL;
    }
    return ms;
}

void lf_chat_messages_free(lf_chat_messages *ms) {
    if (!ms)
        return;
    for (size_t i = 0; i < ms->n; i++)
        slot_free(&ms->slots[i]);
    free(ms->slots);
    json_decref(ms->json);
    free(ms);
}

/* Views every message of ms->json from index ms->n on. */
static bool view_rest(lf_chat_messages *ms, lf_error *err) {
    size_t n = json_array_size(ms->json);
    if (!grow(ms, n, err))
        return false;
    while (ms->n < n) {
        slot *s = &ms->slots[ms->n];
        if (!view_message(s, json_array_get(ms->json, ms->n), ms->n, err)) {
            slot_free(s);
            return false;
        }
        ms->n++;
    }
    return true;
}

lf_chat_messages *lf_chat_messages_from_json(const char *json, size_t len, lf_error *err) {
    lf_chat_messages *ms = lf_calloc(1, sizeof *ms);
    if (!ms) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    json_error_t je;
    ms->json = json_loadb(json, len, JSON_DECODE_ANY, &je);
    if (!ms->json) {
        lf_chat_json_error(err, "messages", &je);
    } else if (!json_is_array(ms->json)) {
        lf_fail(err, "messages: expected an array");
    } else if (view_rest(ms, err)) {
        return ms;
    }
    lf_chat_messages_free(ms);
    return NULL;
}

/* A string given from C: NULL (an absent key) or valid UTF-8. */
static bool check_str(const char *s, size_t i, const char *key, lf_error *err) {
    json_t *v = s ? json_string(s) : NULL;
    if (s && !v)
        return fail_at(err, i, "%s: not valid UTF-8", key);
    json_decref(v);
    return true;
}

static json_t *call_json(const lf_chat_tool_call *c, size_t i, size_t j, lf_error *err) {
    char key[64];
    snprintf(key, sizeof key, "tool_calls[%zu].id", j);
    if (!check_str(c->id, i, key, err))
        return NULL;
    snprintf(key, sizeof key, "tool_calls[%zu].function.name", j);
    if (!c->name || !check_str(c->name, i, key, err)) {
        if (!c->name)
            fail_at(err, i, "%s: missing", key);
        return NULL;
    }
    snprintf(key, sizeof key, "tool_calls[%zu].function.arguments", j);
    const char *text = c->arguments ? c->arguments : "{}";
    json_t *args;
    if (c->arguments_object) {
        json_error_t je;
        if (!(args = json_loads(text, JSON_DECODE_ANY, &je))) {
            fail_at(err, i, "%s: invalid JSON at column %d", key, je.column);
            return NULL;
        }
    } else if (!(args = json_string(text))) {
        fail_at(err, i, "%s: not valid UTF-8", key);
        return NULL;
    }
    json_t *call = json_pack("{s:s*, s:s, s:{s:s, s:o}}", "id", c->id, "type", "function",
                             "function", "name", c->name, "arguments", args);
    if (!call)
        lf_fail(err, "out of memory");
    return call;
}

/* The JSON object of a message given from C. */
static json_t *message_json(const lf_chat_message *m, size_t i, lf_error *err) {
    if (!m->role) {
        fail_at(err, i, "role: missing");
        return NULL;
    }
    if (!check_str(m->role, i, "role", err) || !check_str(m->content, i, "content", err) ||
        !check_str(m->name, i, "name", err) ||
        !check_str(m->tool_call_id, i, "tool_call_id", err) ||
        !check_str(m->reasoning_content, i, "reasoning_content", err))
        return NULL;
    json_t *content = NULL, *calls = NULL;
    if (m->n_parts) {
        if (!(content = json_array()))
            goto oom;
        for (size_t j = 0; j < m->n_parts; j++) {
            const lf_chat_part *pt = &m->parts[j];
            char key[64];
            snprintf(key, sizeof key, "content[%zu].type", j);
            if (!check_str(pt->type, i, key, err))
                goto fail;
            snprintf(key, sizeof key, "content[%zu].text", j);
            if (!check_str(pt->text, i, key, err))
                goto fail;
            json_t *part = json_pack("{s:s, s:s*}", "type", pt->type ? pt->type : "text",
                                     "text", pt->text);
            if (!part || json_array_append_new(content, part))
                goto oom;
        }
    } else {
        content = m->content ? json_string(m->content) : json_null();
        if (!content)
            goto oom;
    }
    if (m->n_tool_calls) {
        if (!(calls = json_array()))
            goto oom;
        for (size_t j = 0; j < m->n_tool_calls; j++) {
            json_t *call = call_json(&m->tool_calls[j], i, j, err);
            if (!call)
                goto fail;
            if (json_array_append_new(calls, call))
                goto oom;
        }
    }
    json_t *msg = json_pack("{s:s, s:o, s:s*, s:o*, s:s*, s:s*}", "role", m->role, "content",
                            content, "name", m->name, "tool_calls", calls, "tool_call_id",
                            m->tool_call_id, "reasoning_content", m->reasoning_content);
    if (!msg)
        lf_fail(err, "out of memory");
    return msg;
oom:
    lf_fail(err, "out of memory");
fail:
    json_decref(content);
    json_decref(calls);
    return NULL;
}

bool lf_chat_messages_add(lf_chat_messages *ms, const lf_chat_message *m, lf_error *err) {
    json_t *msg = message_json(m, ms->n, err);
    if (!msg)
        return false;
    if (json_array_append_new(ms->json, msg))
        return lf_fail(err, "out of memory");
    if (view_rest(ms, err))
        return true;
    json_array_remove(ms->json, ms->n);
    return false;
}

size_t lf_chat_messages_count(const lf_chat_messages *ms) { return ms->n; }

const lf_chat_message *lf_chat_messages_at(const lf_chat_messages *ms, size_t i) {
    return i < ms->n ? &ms->slots[i].m : NULL;
}

char *lf_chat_messages_to_json(const lf_chat_messages *ms, size_t *len, lf_error *err) {
    char *s = json_dumps(ms->json, JSON_COMPACT);
    if (!s) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    if (len)
        *len = strlen(s);
    return s;
}

json_t *lf_chat_messages_json(const lf_chat_messages *ms) { return ms->json; }
