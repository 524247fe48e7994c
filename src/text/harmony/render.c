/* render.c — a harmony conversation as token ids and/or text, as
 * openai/harmony v0.0.8 renders it (spec/harmony.md §1): each text piece
 * of a header is tokenized on its own, special tokens are inserted by id,
 * system and developer content is one text piece each. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "text/harmony/harmony.h"

const char *lf_harmony_role_name(enum lf_harmony_role r) {
    switch (r) {
    case LF_HARMONY_ROLE_SYSTEM:
        return "system";
    case LF_HARMONY_ROLE_DEVELOPER:
        return "developer";
    case LF_HARMONY_ROLE_USER:
        return "user";
    case LF_HARMONY_ROLE_ASSISTANT:
        return "assistant";
    case LF_HARMONY_ROLE_TOOL:
        return "tool";
    }
    return NULL;
}

static const char *const default_channels[] = {"analysis", "commentary", "final"};

void lf_harmony_system_init(lf_harmony_system *s) {
    memset(s, 0, sizeof *s);
    s->model_identity = "You are ChatGPT, a large language model trained by OpenAI.";
    s->knowledge_cutoff = "2024-06";
    s->reasoning_effort = LF_HARMONY_EFFORT_MEDIUM;
    s->channels = default_channels;
    s->n_channels = 3;
    s->channel_required = true;
}

/* The built-in tools' texts and schemas (openai/harmony's chat.rs). */
static const lf_harmony_tool browser_tools[] = {
    {"search", "Searches for information related to `query` and displays `topn` results.",
     "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"},\"topn\":{\"type\":"
     "\"number\",\"default\":10},\"source\":{\"type\":\"string\"}},\"required\":[\"query\"]}"},
    {"open",
     "Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, "
     "showing `num_lines` lines.\nValid link ids are displayed with the formatting: "
     "`\xe3\x80\x90{id}\xe2\x80\xa0.*\xe3\x80\x91`.\nIf `cursor` is not provided, the most recent "
     "page is implied.\nIf `id` is a string, it is treated as a fully qualified URL associated "
     "with `source`.\nIf `loc` is not provided, the viewport will be positioned at the beginning "
     "of the document or centered on the most relevant passage, if available.\nUse this function "
     "without `id` to scroll to a new location of an opened page.",
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":[\"number\",\"string\"],\"default\":-1},"
     "\"cursor\":{\"type\":\"number\",\"default\":-1},\"loc\":{\"type\":\"number\",\"default\":-1},"
     "\"num_lines\":{\"type\":\"number\",\"default\":-1},\"view_source\":{\"type\":\"boolean\","
     "\"default\":false},\"source\":{\"type\":\"string\"}}}"},
    {"find",
     "Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
     "{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\"},\"cursor\":{\"type\":"
     "\"number\",\"default\":-1}},\"required\":[\"pattern\"]}"},
};

static const lf_harmony_namespace browser_ns = {
    "browser",
    "Tool for browsing.\nThe `cursor` appears in brackets before each browsing display: "
    "`[{cursor}]`.\nCite information from the tool using the following format:\n"
    "`\xe3\x80\x90{cursor}\xe2\x80\xa0L{line_start}(-L{line_end})?\xe3\x80\x91`, for example: "
    "`\xe3\x80\x90" "6\xe2\x80\xa0L9-L11\xe3\x80\x91` or `\xe3\x80\x90" "8\xe2\x80\xa0L3\xe3\x80\x91`.\n"
    "Do not quote more than 10 words directly from the tool output.\nsources=web (default: web)",
    browser_tools, 3};

static const lf_harmony_namespace python_ns = {
    "python",
    "Use this tool to execute Python code in your chain of thought. The code will not be shown to "
    "the user. This tool should be used for internal reasoning, but not for code that is intended "
    "to be visible to the user (e.g. when creating plots, tables, or files).\n\nWhen you send a "
    "message containing Python code to python, it will be executed in a stateful Jupyter notebook "
    "environment. python will respond with the output of the execution or time out after 120.0 "
    "seconds. The drive at '/mnt/data' can be used to save and persist user files. Internet "
    "access for this session is UNKNOWN. Depends on the cluster.",
    NULL, 0};

const lf_harmony_namespace *lf_harmony_browser_tool(void) { return &browser_ns; }
const lf_harmony_namespace *lf_harmony_python_tool(void) { return &python_ns; }

/* Where rendered output goes: tokens (each text piece tokenized on its
 * own) and/or text. */
typedef struct emitter {
    const lf_harmony *h;
    lf_harmony_tokens *toks;
    lf_hstr text;
    bool want_text;
    size_t total; /* bytes rendered, capped at LF_HARMONY_MAX_TEXT */
    lf_error *err;
    bool failed;
    size_t last_special_len; /* text length of the last special token */
} emitter;

static bool fail_size(emitter *e) {
    e->failed = true;
    return lf_fail(e->err, "harmony: the rendered conversation is over %zu bytes (or out of memory)",
                   LF_HARMONY_MAX_TEXT);
}

static bool emit_text(emitter *e, const char *s, size_t n) {
    if (e->failed)
        return false;
    if (n == 0)
        return true;
    if (n > LF_HARMONY_MAX_TEXT - e->total)
        return fail_size(e);
    e->total += n;
    if (e->want_text && !lf_hstr_append(&e->text, s, n))
        return fail_size(e);
    if (e->toks && !lf_harmony_append_text(e->h, e->toks, s, n, e->err)) {
        e->failed = true;
        return false;
    }
    return true;
}

static bool emit_cstr(emitter *e, const char *s) { return emit_text(e, s, strlen(s)); }

static bool emit_special(emitter *e, enum lf_harmony_special which) {
    if (e->failed)
        return false;
    const char *t = lf_harmony_special_text(which);
    e->last_special_len = strlen(t);
    if (e->want_text && !lf_hstr_puts(&e->text, t))
        return fail_size(e);
    if (e->toks && !lf_harmony_append_special(e->h, e->toks, which, e->err)) {
        e->failed = true;
        return false;
    }
    return true;
}

/* Rust's str::lines(): split on \n, drop a \r before it, no empty last
 * line after a final \n. Calls fn for each line. */
static void each_line(const char *s, void (*fn)(lf_hstr *, const char *, size_t, bool), lf_hstr *o,
                      bool comment) {
    if (!s)
        return;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        size_t k = n;
        if (nl && k > 0 && s[k - 1] == '\r')
            k--;
        fn(o, s, k, comment);
        if (!nl)
            break;
        s = nl + 1;
    }
}

/* Lines are joined by "\n": each line after the first is preceded by one. */
static void push_line(lf_hstr *o, const char *s, size_t n, bool comment) {
    if (o->n)
        lf_hstr_puts(o, "\n");
    if (comment)
        lf_hstr_puts(o, "// ");
    lf_hstr_append(o, s, n);
}

/* prefix + s as one text piece. */
static bool emit_join(emitter *e, const char *prefix, const char *s) {
    lf_hstr t = {0};
    lf_hstr_puts(&t, prefix);
    lf_hstr_puts(&t, s);
    bool ok = t.failed ? fail_size(e) : emit_text(e, t.p, t.n);
    lf_hstr_free(&t);
    return ok;
}

static int cmp_ns(const void *a, const void *b) {
    const lf_harmony_namespace *x = *(const lf_harmony_namespace *const *)a;
    const lf_harmony_namespace *y = *(const lf_harmony_namespace *const *)b;
    int c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
    if (c)
        return c;
    return x < y ? -1 : x > y; /* stable: by position in the array */
}

/* One namespace section (lines joined by "\n"). */
static bool namespace_section(const lf_harmony_namespace *ns, lf_hstr *o, lf_error *err) {
    lf_hstr sec = {0};
    const char *name = ns->name ? ns->name : "";
    lf_hstr_puts(&sec, "## ");
    lf_hstr_puts(&sec, name);
    lf_hstr_puts(&sec, "\n");
    bool has_tools = ns->n_tools > 0;
    each_line(ns->description, push_line, &sec, has_tools);
    if (has_tools) {
        lf_hstr_puts(&sec, "\nnamespace ");
        lf_hstr_puts(&sec, name);
        lf_hstr_puts(&sec, " {\n");
        for (int i = 0; i < ns->n_tools && !sec.failed; i++) {
            const lf_harmony_tool *t = &ns->tools[i];
            each_line(t->description, push_line, &sec, true);
            lf_hstr_puts(&sec, "\ntype ");
            lf_hstr_puts(&sec, t->name ? t->name : "");
            if (t->parameters) {
                lf_hstr_puts(&sec, " = (_: ");
                if (!lf_harmony_schema_ts(t->parameters, &sec, err)) {
                    lf_hstr_free(&sec);
                    return false;
                }
                lf_hstr_puts(&sec, ") => any;\n");
            } else {
                lf_hstr_puts(&sec, " = () => any;\n");
            }
        }
        lf_hstr_puts(&sec, "\n} // namespace ");
        lf_hstr_puts(&sec, name);
    }
    bool ok = !sec.failed && lf_hstr_append(o, sec.p, sec.n);
    lf_hstr_free(&sec);
    if (!ok)
        return lf_fail(err, "harmony: the tools section is too large (or out of memory)");
    return true;
}

/* "# Tools" and the namespaces sorted by name; a later namespace of the
 * same name replaces an earlier one (harmony keeps them in a map). */
static bool tools_section(const lf_harmony_namespace *nss, int n, lf_hstr *o, lf_error *err) {
    const lf_harmony_namespace **v = lf_malloc((size_t)n * sizeof *v);
    if (!v)
        return lf_fail(err, "harmony: out of memory");
    for (int i = 0; i < n; i++)
        v[i] = &nss[i];
    qsort(v, (size_t)n, sizeof *v, cmp_ns);
    lf_hstr_puts(o, "# Tools");
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        if (i + 1 < n && strcmp(v[i]->name ? v[i]->name : "", v[i + 1]->name ? v[i + 1]->name : "") == 0)
            continue;
        lf_hstr_puts(o, "\n\n");
        ok = namespace_section(v[i], o, err);
    }
    free(v);
    return ok;
}

/* Sections joined by a blank line. */
static void section_sep(lf_hstr *o) {
    if (o->n)
        lf_hstr_puts(o, "\n\n");
}

static bool system_text(const lf_harmony_system *s, bool has_functions, lf_hstr *o, lf_error *err) {
    bool top = false;
    if (s->model_identity) {
        lf_hstr_puts(o, s->model_identity);
        top = true;
    }
    if (s->knowledge_cutoff) {
        lf_hstr_puts(o, top ? "\nKnowledge cutoff: " : "Knowledge cutoff: ");
        lf_hstr_puts(o, s->knowledge_cutoff);
        top = true;
    }
    if (s->conversation_start_date) {
        lf_hstr_puts(o, top ? "\nCurrent date: " : "Current date: ");
        lf_hstr_puts(o, s->conversation_start_date);
    }
    static const char *const effort[] = {"low", "medium", "high"};
    if (s->reasoning_effort >= LF_HARMONY_EFFORT_LOW && s->reasoning_effort <= LF_HARMONY_EFFORT_HIGH) {
        section_sep(o);
        lf_hstr_puts(o, "Reasoning: ");
        lf_hstr_puts(o, effort[s->reasoning_effort]);
    }
    if (s->n_tools > 0) {
        section_sep(o);
        if (!tools_section(s->tools, s->n_tools, o, err))
            return false;
    }
    if (s->channels && s->n_channels > 0) {
        section_sep(o);
        lf_hstr_puts(o, "# Valid channels: ");
        for (int i = 0; i < s->n_channels; i++) {
            if (i)
                lf_hstr_puts(o, ", ");
            lf_hstr_puts(o, s->channels[i] ? s->channels[i] : "");
        }
        lf_hstr_puts(o, ".");
        if (s->channel_required)
            lf_hstr_puts(o, " Channel must be included for every message.");
        if (has_functions)
            lf_hstr_puts(o, "\nCalls to these tools must go to the commentary channel: 'functions'.");
    }
    return true;
}

static bool developer_text(const lf_harmony_developer *d, lf_hstr *o, lf_error *err) {
    if (d->instructions) {
        lf_hstr_puts(o, "# Instructions\n\n");
        lf_hstr_puts(o, d->instructions);
    }
    if (d->n_tools > 0) {
        section_sep(o);
        if (!tools_section(d->tools, d->n_tools, o, err))
            return false;
    }
    return true;
}

static bool render_msg(emitter *e, const lf_harmony_msg *m, bool has_functions) {
    const char *role = lf_harmony_role_name(m->role);
    if (!role)
        return lf_fail(e->err, "harmony: message with an unknown role %d", (int)m->role);
    emit_special(e, LF_HARMONY_START);
    if (m->role == LF_HARMONY_ROLE_TOOL) {
        if (!m->name)
            return lf_fail(e->err, "harmony: a tool message needs the tool's name");
        emit_cstr(e, m->name);
    } else {
        emit_cstr(e, role);
        if (m->name)
            emit_join(e, ":", m->name);
    }
    if (m->recipient && strcmp(m->recipient, "all") != 0)
        emit_join(e, " to=", m->recipient);
    if (m->channel) {
        emit_special(e, LF_HARMONY_CHANNEL);
        emit_cstr(e, m->channel);
    }
    if (m->content_type) {
        static const char marker[] = "<|constrain|>";
        if (strncmp(m->content_type, marker, sizeof marker - 1) == 0) {
            emit_cstr(e, " ");
            emit_special(e, LF_HARMONY_CONSTRAIN);
            emit_cstr(e, m->content_type + sizeof marker - 1);
        } else {
            emit_join(e, " ", m->content_type);
        }
    }
    emit_special(e, LF_HARMONY_MESSAGE);
    if (e->failed)
        return false;
    switch (m->kind) {
    case LF_HARMONY_CONTENT_TEXT:
        emit_text(e, m->text ? m->text : "", m->text ? m->text_len : 0);
        break;
    case LF_HARMONY_CONTENT_SYSTEM:
    case LF_HARMONY_CONTENT_DEVELOPER: {
        bool sys = m->kind == LF_HARMONY_CONTENT_SYSTEM;
        if (sys ? m->role != LF_HARMONY_ROLE_SYSTEM : m->role != LF_HARMONY_ROLE_DEVELOPER)
            return lf_fail(e->err, "harmony: %s content may only appear in %s messages, found in %s",
                           sys ? "system" : "developer", sys ? "system" : "developer", role);
        if (sys ? !m->system : !m->developer)
            return lf_fail(e->err, "harmony: a %s message without its content", role);
        lf_hstr t = {0};
        bool ok = sys ? system_text(m->system, has_functions, &t, e->err)
                      : developer_text(m->developer, &t, e->err);
        if (ok && t.failed)
            ok = fail_size(e);
        ok = ok && emit_text(e, t.p, t.n);
        lf_hstr_free(&t);
        if (!ok)
            return false;
        break;
    }
    default:
        return lf_fail(e->err, "harmony: message with an unknown content kind %d", (int)m->kind);
    }
    bool call = m->role == LF_HARMONY_ROLE_ASSISTANT && m->recipient;
    emit_special(e, call ? LF_HARMONY_CALL : LF_HARMONY_END);
    return !e->failed;
}

static bool has_function_tools(const lf_harmony_convo *c) {
    for (int64_t i = 0; i < c->n; i++) {
        const lf_harmony_msg *m = &c->msgs[i];
        if (m->kind != LF_HARMONY_CONTENT_DEVELOPER || !m->developer)
            continue;
        for (int k = 0; k < m->developer->n_tools; k++) {
            const lf_harmony_namespace *ns = &m->developer->tools[k];
            if (ns->name && strcmp(ns->name, "functions") == 0 && ns->n_tools > 0)
                return true;
        }
    }
    return false;
}

static bool is_channel(const lf_harmony_msg *m, const char *ch) {
    return m->channel && strcmp(m->channel, ch) == 0;
}

/* Index of the first message not dropped: messages before it on the
 * analysis channel are dropped. AUTO: harmony's rule — only when the last
 * assistant message is final, before the first final message of the
 * conversation. PRIOR_TURNS: before the last user message. */
static int64_t drop_before(const lf_harmony_convo *c, enum lf_harmony_drop drop) {
    if (drop == LF_HARMONY_DROP_AUTO) {
        bool last_final = false;
        for (int64_t i = c->n - 1; i >= 0; i--)
            if (c->msgs[i].role == LF_HARMONY_ROLE_ASSISTANT) {
                last_final = is_channel(&c->msgs[i], "final");
                break;
            }
        if (!last_final)
            return 0;
        for (int64_t i = 0; i < c->n; i++)
            if (is_channel(&c->msgs[i], "final"))
                return i;
        return 0;
    }
    if (drop == LF_HARMONY_DROP_PRIOR_TURNS) {
        for (int64_t i = c->n - 1; i >= 0; i--)
            if (c->msgs[i].role == LF_HARMONY_ROLE_USER)
                return i;
    }
    return 0;
}

static bool finish(emitter *e, bool ok, lf_harmony_tokens *toks, int64_t toks_n0, char **text,
                   size_t *text_len) {
    if (!ok || e->failed) {
        lf_hstr_free(&e->text);
        if (toks)
            toks->n = toks_n0;
        return false;
    }
    if (text) {
        if (!e->text.p && !lf_hstr_append(&e->text, "", 0)) {
            if (toks)
                toks->n = toks_n0;
            return lf_fail(e->err, "harmony: out of memory");
        }
        *text = e->text.p;
        if (text_len)
            *text_len = e->text.n;
    }
    return true;
}

static bool check_args(const lf_harmony *h, lf_harmony_tokens *toks, char **text, lf_error *err) {
    if (toks && !h)
        return lf_fail(err, "harmony: rendering tokens needs an encoding");
    if (!toks && !text)
        return lf_fail(err, "harmony: nothing to render into");
    return true;
}

bool lf_harmony_render(const lf_harmony *h, const lf_harmony_convo *c,
                       const lf_harmony_render_opts *o, lf_harmony_tokens *toks, char **text,
                       size_t *text_len, lf_error *err) {
    if (!check_args(h, toks, text, err))
        return false;
    if (!c || c->n < 0 || (c->n > 0 && !c->msgs))
        return lf_fail(err, "harmony: no conversation to render");
    lf_harmony_render_opts def = {LF_HARMONY_FOR_COMPLETION, LF_HARMONY_ROLE_ASSISTANT,
                                  LF_HARMONY_DROP_AUTO};
    if (!o)
        o = &def;
    emitter e = {.h = h, .toks = toks, .want_text = text != NULL, .err = err};
    int64_t n0 = toks ? toks->n : 0;
    bool fn = has_function_tools(c);
    int64_t keep_from = drop_before(c, o->drop);
    bool ok = true;
    for (int64_t i = 0; i < c->n && ok; i++) {
        const lf_harmony_msg *m = &c->msgs[i];
        if (i < keep_from && is_channel(m, "analysis"))
            continue;
        ok = render_msg(&e, m, fn);
    }
    if (ok && o->mode == LF_HARMONY_FOR_COMPLETION) {
        const char *role = lf_harmony_role_name(o->next_role);
        if (!role)
            ok = lf_fail(err, "harmony: unknown next role %d", (int)o->next_role);
        ok = ok && emit_special(&e, LF_HARMONY_START) && emit_cstr(&e, role);
    }
    if (ok && o->mode == LF_HARMONY_FOR_TRAINING && c->n > 0) {
        const lf_harmony_msg *last = &c->msgs[c->n - 1];
        if (last->role == LF_HARMONY_ROLE_ASSISTANT && is_channel(last, "final")) {
            if (toks && toks->n > n0)
                toks->v[toks->n - 1] = lf_harmony_return(h);
            if (e.want_text && e.text.n >= e.last_special_len) {
                e.text.n -= e.last_special_len;
                ok = lf_hstr_puts(&e.text, "<|return|>") || fail_size(&e);
            }
        }
    }
    return finish(&e, ok, toks, n0, text, text_len);
}

bool lf_harmony_render_msg(const lf_harmony *h, const lf_harmony_msg *m, lf_harmony_tokens *toks,
                           char **text, size_t *text_len, lf_error *err) {
    if (!check_args(h, toks, text, err))
        return false;
    if (!m)
        return lf_fail(err, "harmony: no message to render");
    emitter e = {.h = h, .toks = toks, .want_text = text != NULL, .err = err};
    int64_t n0 = toks ? toks->n : 0;
    bool ok = render_msg(&e, m, false);
    return finish(&e, ok, toks, n0, text, text_len);
}
