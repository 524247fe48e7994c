/* from_openai.c — OpenAI Chat Completions input (messages, tools,
 * reasoning_effort) as a harmony conversation (spec/harmony.md §7, the
 * vLLM/SGLang mapping): a system message from the caller's settings;
 * system and developer messages become the developer message's
 * instructions, tools its "functions" namespace; assistant reasoning an
 * analysis message, tool calls commentary messages to functions.NAME,
 * tool results messages from functions.NAME to the assistant. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "text/harmony/harmony.h"

/* Every allocation of a conversation, freed together. */
typedef struct pool {
    void **v;
    size_t n, cap;
} pool;

static void *pool_alloc(pool *p, size_t n) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        void **v = lf_realloc(p->v, cap * sizeof *v);
        if (!v)
            return NULL;
        p->v = v, p->cap = cap;
    }
    void *x = lf_calloc(1, n ? n : 1);
    if (x)
        p->v[p->n++] = x;
    return x;
}

static char *pool_strndup(pool *p, const char *s, size_t n) {
    char *x = pool_alloc(p, n + 1);
    if (x) {
        memcpy(x, s, n);
        x[n] = 0;
    }
    return x;
}

static char *pool_strdup(pool *p, const char *s) { return s ? pool_strndup(p, s, strlen(s)) : NULL; }

static void pool_free(pool *p) {
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

void lf_harmony_convo_free(lf_harmony_convo *c) {
    if (!c)
        return;
    pool *p = c->owned;
    if (p) {
        pool_free(p);
        free(p);
    }
    free(c);
}

typedef struct builder {
    pool *p;
    lf_harmony_msg *msgs;
    int64_t n, cap;
    lf_hstr instructions;
    bool has_instructions;
    lf_error *err;
} builder;

static bool oom(builder *b) { return lf_fail(b->err, "harmony: out of memory"); }

static lf_harmony_msg *add_msg(builder *b, enum lf_harmony_role role) {
    if (b->n == b->cap) {
        lf_fail(b->err, "harmony: too many messages");
        return NULL;
    }
    lf_harmony_msg *m = &b->msgs[b->n++];
    memset(m, 0, sizeof *m);
    m->role = role;
    m->kind = LF_HARMONY_CONTENT_TEXT;
    return m;
}

/* Message content: a string, an array of parts (their "text" joined), or
 * null. Into *out (pool memory) with its length. */
static bool content_text(builder *b, const json_t *c, int idx, const char *field, char **out,
                         size_t *len) {
    *out = NULL, *len = 0;
    if (!c || json_is_null(c))
        return true;
    if (json_is_string(c)) {
        *len = json_string_length(c);
        *out = pool_strndup(b->p, json_string_value(c), *len);
        return *out || oom(b);
    }
    if (!json_is_array(c))
        return lf_fail(b->err, "messages[%d].%s: expected a string, an array of parts or null",
                       idx, field);
    lf_hstr s = {0};
    for (size_t i = 0; i < json_array_size(c); i++) {
        const json_t *part = json_array_get(c, i);
        const json_t *t = json_object_get(part, "text");
        const json_t *type = json_object_get(part, "type");
        if (json_is_string(type) && strcmp(json_string_value(type), "text") != 0)
            continue; /* images and other parts have no text form here */
        if (!json_is_string(t)) {
            lf_hstr_free(&s);
            return lf_fail(b->err, "messages[%d].%s[%zu]: a text part needs a \"text\" string", idx,
                           field, i);
        }
        lf_hstr_append(&s, json_string_value(t), json_string_length(t));
    }
    if (s.failed) {
        lf_hstr_free(&s);
        return lf_fail(b->err, "messages[%d].%s: too large (or out of memory)", idx, field);
    }
    *len = s.n;
    *out = pool_strndup(b->p, s.p ? s.p : "", s.n);
    lf_hstr_free(&s);
    return *out || oom(b);
}

static bool add_text(builder *b, enum lf_harmony_role role, const char *channel, char *text,
                     size_t len) {
    lf_harmony_msg *m = add_msg(b, role);
    if (!m)
        return false;
    m->channel = channel;
    m->text = text;
    m->text_len = len;
    return true;
}

/* The function name a tool result answers: its "name", else the name of
 * the earlier tool call with its tool_call_id. */
static const char *tool_name(const json_t *msgs, size_t upto, const json_t *m) {
    const json_t *name = json_object_get(m, "name");
    if (json_is_string(name))
        return json_string_value(name);
    const json_t *id = json_object_get(m, "tool_call_id");
    if (!json_is_string(id))
        return NULL;
    for (size_t i = upto; i-- > 0;) {
        const json_t *calls = json_object_get(json_array_get(msgs, i), "tool_calls");
        for (size_t k = 0; k < json_array_size(calls); k++) {
            const json_t *call = json_array_get(calls, k);
            if (json_equal(json_object_get(call, "id"), id)) {
                const json_t *fn = json_object_get(json_object_get(call, "function"), "name");
                return json_is_string(fn) ? json_string_value(fn) : NULL;
            }
        }
    }
    return NULL;
}

static char *prefixed(builder *b, const char *prefix, const char *name) {
    size_t a = strlen(prefix), n = strlen(name);
    char *s = pool_alloc(b->p, a + n + 1);
    if (s) {
        memcpy(s, prefix, a);
        memcpy(s + a, name, n + 1);
    }
    return s;
}

static bool assistant(builder *b, const json_t *m, int idx) {
    char *text;
    size_t len;
    const json_t *r = json_object_get(m, "reasoning_content");
    if (!r)
        r = json_object_get(m, "reasoning");
    if (!r) /* the field gpt-oss's own chat template reads */
        r = json_object_get(m, "thinking");
    if (!content_text(b, r, idx, "reasoning_content", &text, &len))
        return false;
    if (len && !add_text(b, LF_HARMONY_ROLE_ASSISTANT, "analysis", text, len))
        return false;
    const json_t *calls = json_object_get(m, "tool_calls");
    if (calls && !json_is_array(calls) && !json_is_null(calls))
        return lf_fail(b->err, "messages[%d].tool_calls: expected an array", idx);
    bool has_calls = json_array_size(calls) > 0;
    if (!content_text(b, json_object_get(m, "content"), idx, "content", &text, &len))
        return false;
    /* Text beside tool calls is a preamble: commentary without recipient. */
    if (len && !add_text(b, LF_HARMONY_ROLE_ASSISTANT, has_calls ? "commentary" : "final", text, len))
        return false;
    for (size_t k = 0; k < json_array_size(calls); k++) {
        const json_t *fn = json_object_get(json_array_get(calls, k), "function");
        const json_t *name = json_object_get(fn, "name");
        const json_t *args = json_object_get(fn, "arguments");
        if (!json_is_string(name))
            return lf_fail(b->err, "messages[%d].tool_calls[%zu]: no function name", idx, k);
        char *a;
        size_t alen;
        if (json_is_string(args) || !args) {
            alen = args ? json_string_length(args) : 2;
            a = pool_strndup(b->p, args ? json_string_value(args) : "{}", alen);
        } else {
            char *d = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!d)
                return oom(b);
            alen = strlen(d);
            a = pool_strndup(b->p, d, alen);
            free(d);
        }
        lf_harmony_msg *c = add_msg(b, LF_HARMONY_ROLE_ASSISTANT);
        if (!a || !c)
            return b->n == b->cap ? false : oom(b);
        c->channel = "commentary";
        c->recipient = prefixed(b, "functions.", json_string_value(name));
        c->content_type = "<|constrain|>json";
        c->text = a;
        c->text_len = alen;
        if (!c->recipient)
            return oom(b);
    }
    return true;
}

static bool message(builder *b, const json_t *msgs, size_t i) {
    const json_t *m = json_array_get(msgs, i);
    int idx = (int)i;
    if (!json_is_object(m))
        return lf_fail(b->err, "messages[%d]: expected an object", idx);
    const json_t *jrole = json_object_get(m, "role");
    if (!json_is_string(jrole))
        return lf_fail(b->err, "messages[%d]: no \"role\"", idx);
    const char *role = json_string_value(jrole);
    char *text;
    size_t len;
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
        if (!content_text(b, json_object_get(m, "content"), idx, "content", &text, &len))
            return false;
        if (b->has_instructions)
            lf_hstr_puts(&b->instructions, "\n\n");
        lf_hstr_append(&b->instructions, text ? text : "", len);
        b->has_instructions = true;
        return true;
    }
    if (strcmp(role, "user") == 0) {
        if (!content_text(b, json_object_get(m, "content"), idx, "content", &text, &len))
            return false;
        return add_text(b, LF_HARMONY_ROLE_USER, NULL, text ? text : "", len);
    }
    if (strcmp(role, "assistant") == 0)
        return assistant(b, m, idx);
    if (strcmp(role, "tool") == 0) {
        const char *name = tool_name(msgs, i, m);
        if (!name)
            return lf_fail(b->err, "messages[%d]: a tool result needs \"name\" or the "
                           "\"tool_call_id\" of an earlier tool call", idx);
        if (!content_text(b, json_object_get(m, "content"), idx, "content", &text, &len))
            return false;
        lf_harmony_msg *t = add_msg(b, LF_HARMONY_ROLE_TOOL);
        if (!t)
            return false;
        t->name = prefixed(b, "functions.", name);
        t->recipient = "assistant";
        t->channel = "commentary";
        t->text = text ? text : "";
        t->text_len = len;
        return t->name || oom(b);
    }
    return lf_fail(b->err, "messages[%d]: unknown role \"%s\"", idx, role);
}

/* The "functions" namespace from OpenAI tools. */
static bool tools(builder *b, const json_t *jt, lf_harmony_namespace *ns) {
    size_t n = json_array_size(jt);
    lf_harmony_tool *v = pool_alloc(b->p, (n ? n : 1) * sizeof *v);
    if (!v)
        return oom(b);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(jt, i);
        const json_t *type = json_object_get(t, "type");
        const json_t *fn = json_object_get(t, "function");
        if (json_is_string(type) && strcmp(json_string_value(type), "function") != 0)
            return lf_fail(b->err, "tools[%zu]: unsupported tool type \"%s\"", i,
                           json_string_value(type));
        if (!fn)
            fn = t; /* the flat form: name, description, parameters */
        const json_t *name = json_object_get(fn, "name");
        const json_t *desc = json_object_get(fn, "description");
        const json_t *params = json_object_get(fn, "parameters");
        if (!json_is_string(name))
            return lf_fail(b->err, "tools[%zu]: no function name", i);
        v[i].name = pool_strdup(b->p, json_string_value(name));
        v[i].description = pool_strdup(b->p, json_is_string(desc) ? json_string_value(desc) : "");
        if (params && !json_is_null(params)) {
            char *d = json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!d)
                return oom(b);
            v[i].parameters = pool_strdup(b->p, d);
            free(d);
            if (!v[i].parameters)
                return oom(b);
        }
        if (!v[i].name || !v[i].description)
            return oom(b);
    }
    ns->name = "functions";
    ns->tools = v;
    ns->n_tools = (int)n;
    return true;
}

static bool effort(builder *b, const json_t *e, lf_harmony_system *s) {
    if (!e || json_is_null(e))
        return true;
    const char *v = json_string_value(e);
    if (v && (strcmp(v, "low") == 0 || strcmp(v, "minimal") == 0))
        s->reasoning_effort = LF_HARMONY_EFFORT_LOW;
    else if (v && strcmp(v, "medium") == 0)
        s->reasoning_effort = LF_HARMONY_EFFORT_MEDIUM;
    else if (v && strcmp(v, "high") == 0)
        s->reasoning_effort = LF_HARMONY_EFFORT_HIGH;
    else
        return lf_fail(b->err, "reasoning_effort: expected \"low\", \"medium\" or \"high\"");
    return true;
}

/* The caller's system settings, strings copied (its tools array is kept
 * by reference: the built-in namespaces are static). */
static bool copy_system(builder *b, const lf_harmony_system *in, lf_harmony_system *s) {
    if (!in) {
        lf_harmony_system_init(s);
        return true;
    }
    *s = *in;
    s->model_identity = pool_strdup(b->p, in->model_identity);
    s->knowledge_cutoff = pool_strdup(b->p, in->knowledge_cutoff);
    s->conversation_start_date = pool_strdup(b->p, in->conversation_start_date);
    if ((in->model_identity && !s->model_identity) || (in->knowledge_cutoff && !s->knowledge_cutoff) ||
        (in->conversation_start_date && !s->conversation_start_date))
        return oom(b);
    if (in->channels && in->n_channels > 0) {
        const char **ch = pool_alloc(b->p, (size_t)in->n_channels * sizeof *ch);
        if (!ch)
            return oom(b);
        for (int i = 0; i < in->n_channels; i++)
            if (in->channels[i] && !(ch[i] = pool_strdup(b->p, in->channels[i])))
                return oom(b);
        s->channels = ch;
    }
    return true;
}

static bool build(builder *b, const json_t *root, const lf_harmony_system *sys_in) {
    const json_t *msgs = root, *jtools = NULL, *jeffort = NULL;
    if (json_is_object(root)) {
        msgs = json_object_get(root, "messages");
        jtools = json_object_get(root, "tools");
        jeffort = json_object_get(root, "reasoning_effort");
    }
    if (!json_is_array(msgs))
        return lf_fail(b->err, "expected a \"messages\" array");
    if (jtools && !json_is_array(jtools) && !json_is_null(jtools))
        return lf_fail(b->err, "\"tools\" must be an array");
    size_t cap = 2;
    for (size_t i = 0; i < json_array_size(msgs); i++)
        cap += 2 + json_array_size(json_object_get(json_array_get(msgs, i), "tool_calls"));
    if (cap > (size_t)INT32_MAX)
        return lf_fail(b->err, "harmony: too many messages");
    b->cap = (int64_t)cap;
    b->msgs = pool_alloc(b->p, cap * sizeof *b->msgs);
    lf_harmony_system *sys = pool_alloc(b->p, sizeof *sys);
    lf_harmony_developer *dev = pool_alloc(b->p, sizeof *dev);
    lf_harmony_namespace *ns = pool_alloc(b->p, sizeof *ns);
    if (!b->msgs || !sys || !dev || !ns)
        return oom(b);
    if (!copy_system(b, sys_in, sys) || !effort(b, jeffort, sys))
        return false;
    lf_harmony_msg *m = add_msg(b, LF_HARMONY_ROLE_SYSTEM);
    m->kind = LF_HARMONY_CONTENT_SYSTEM;
    m->system = sys;
    /* The developer message goes second; filled in after the messages. */
    lf_harmony_msg *d = add_msg(b, LF_HARMONY_ROLE_DEVELOPER);
    d->kind = LF_HARMONY_CONTENT_DEVELOPER;
    d->developer = dev;
    for (size_t i = 0; i < json_array_size(msgs); i++)
        if (!message(b, msgs, i))
            return false;
    if (json_array_size(jtools) > 0) {
        if (!tools(b, jtools, ns))
            return false;
        dev->tools = ns;
        dev->n_tools = 1;
    }
    if (b->instructions.failed)
        return lf_fail(b->err, "instructions too large (or out of memory)");
    if (b->has_instructions) {
        dev->instructions = pool_strndup(b->p, b->instructions.p ? b->instructions.p : "",
                                         b->instructions.n);
        if (!dev->instructions)
            return oom(b);
    }
    if (!dev->instructions && dev->n_tools == 0) { /* no developer message */
        memmove(&b->msgs[1], &b->msgs[2], (size_t)(b->n - 2) * sizeof *b->msgs);
        b->n--;
    }
    return true;
}

lf_harmony_convo *lf_harmony_from_openai(const char *json, size_t len,
                                         const lf_harmony_system *sys, lf_error *err) {
    if (len > LF_HARMONY_MAX_TEXT) {
        lf_fail(err, "request of %zu bytes is over the %zu-byte limit", len, LF_HARMONY_MAX_TEXT);
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &je);
    if (!root) {
        lf_fail(err, "invalid request JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return NULL;
    }
    lf_harmony_convo *c = lf_calloc(1, sizeof *c);
    pool *p = lf_calloc(1, sizeof *p);
    builder b = {.p = p, .err = err};
    bool ok = c && p ? build(&b, root, sys) : lf_fail(err, "harmony: out of memory");
    json_decref(root);
    lf_hstr_free(&b.instructions);
    if (!ok) {
        if (p) {
            pool_free(p);
            free(p);
        }
        free(c);
        return NULL;
    }
    c->msgs = b.msgs;
    c->n = b.n;
    c->owned = p;
    return c;
}
