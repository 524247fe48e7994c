/* json_families.c — the families whose calls are JSON objects after a
 * marker: Hermes / Qwen 2.5 / Qwen3 (<tool_call>), Llama 3.x (bare JSON
 * with "parameters", <|python_tag|>), Mistral / Devstral ([TOOL_CALLS]),
 * Granite (<|tool_call|>), FireFunction v2 (functools[...]), Command R7B
 * (<|START_ACTION|>), Functionary v3.1 (<function=NAME>), and the generic
 * JSON answer llama.cpp asks other templates for. */
#include <stdlib.h>
#include <string.h>

#include "text/toolcall/toolcall.h"

static const char *const ARGS[] = {"arguments", "parameters", NULL};
static const char *const LLAMA_ARGS[] = {"parameters", "arguments", NULL};
static const char *const R7B_ARGS[] = {"parameters", NULL};

/* Optional whitespace then tag at s[i]. */
static enum tc_res close_tag(tc_ctx *c, size_t i, const char *tag, size_t *end) {
    i = tc_skip_ws(c->s, c->n, i);
    if (tc_starts(c->s, c->n, i, tag)) {
        *end = i + strlen(tag);
        return TC_OK;
    }
    return i >= c->n || tc_prefix_of(c->s, c->n, i, tag) ? TC_MORE : TC_BAD;
}

/* The JSON value at s[i]: TC_OK with [*a, *b), else MORE/BAD (*a: where
 * it starts, or n). */
static enum tc_res json_at(tc_ctx *c, size_t i, char open, size_t *a, size_t *b) {
    i = tc_skip_ws(c->s, c->n, i);
    *a = i;
    if (i >= c->n)
        return TC_MORE;
    if (c->s[i] != open)
        return TC_BAD;
    enum tc_json j = tc_json_end(c->s, c->n, i, b);
    return j == TC_JSON_OK ? TC_OK : j == TC_JSON_MORE ? TC_MORE : TC_BAD;
}

/* ---- Hermes 2/3 Pro, Qwen 2.5, Qwen3: <tool_call>{"name", "arguments"}</tool_call> */
static enum tc_res hermes_at(tc_ctx *c, size_t at, int k, size_t *end) {
    (void)k;
    size_t a, b;
    enum tc_res r = json_at(c, at + strlen("<tool_call>"), '{', &a, &b);
    if (r == TC_OK)
        r = close_tag(c, b, "</tool_call>", end);
    if (r == TC_MORE)
        tc_pending_object(c, a, "name", ARGS);
    return r == TC_OK ? tc_add_json_call(c, a, b, "name", ARGS) : r;
}

/* ---- <|python_tag|> code: a call to "python" with {"code": ...} (Llama 3.1
 * and Functionary v3.1). The code runs to the end of the output. */
static enum tc_res python_code(tc_ctx *c, size_t i, size_t *end) {
    if (c->partial)
        return TC_MORE;
    size_t e = tc_find(c->s, c->n, i, "<|eom_id|>");
    tc_buf b = {0};
    bool ok = tc_add(c->o, &b, "{\"code\": ", 9) && tc_json_quote(c->o, &b, c->s + i, e - i) &&
              tc_add(c->o, &b, "}", 1);
    enum tc_res r = ok ? tc_add_call_text(c, "python", 6, b.p, b.n) : TC_BAD;
    tc_buf_free(&b);
    *end = c->n;
    return r;
}

/* ---- Llama 3.1-3.3: {"name": ..., "parameters": {...}} (";"-separated when
 * parallel), or <|python_tag|> then JSON, NAME.call(k=v, ...) or code. */
static enum tc_res llama3_json(tc_ctx *c, size_t at, size_t *end, bool tagged) {
    size_t a, b, va, vb;
    enum tc_res r = json_at(c, at, '{', &a, &b);
    if (r == TC_MORE) {
        tc_pending_object(c, a, "name", LLAMA_ARGS);
        return r;
    }
    if (r == TC_BAD || !tc_json_member(c->s, a, b, "name", &va, &vb) ||
        (!tc_json_member(c->s, a, b, "parameters", &va, &vb) &&
         !tc_json_member(c->s, a, b, "arguments", &va, &vb))) {
        if (tagged)
            return TC_BAD;
        *end = r == TC_BAD ? at + 1 : b;
        return TC_NOT_A_CALL;
    }
    r = tc_add_json_call(c, a, b, "name", LLAMA_ARGS);
    size_t i = tc_skip_ws(c->s, c->n, b);
    if (i < c->n && c->s[i] == ';')
        i++;
    *end = i;
    return r;
}

static bool ident_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* NAME.call(k=JSON, ...): builtin tools (brave_search, wolfram_alpha, ...). */
static enum tc_res builtin_call(tc_ctx *c, size_t i, size_t *end) {
    const char *s = c->s;
    size_t n = c->n, name = i;
    while (i < n && ident_char(s[i]))
        i++;
    size_t name_end = i;
    if (i == n || tc_prefix_of(s, n, i, ".call("))
        return c->partial ? TC_MORE : TC_BAD;
    if (name_end == name || !tc_starts(s, n, i, ".call("))
        return TC_NOT_A_CALL;
    i += 6;
    tc_buf b = {0};
    enum tc_res r = TC_BAD, more = c->partial ? TC_MORE : TC_BAD;
    tc_add(c->o, &b, "{", 1);
    for (int first = 1;; first = 0) {
        i = tc_skip_ws(s, n, i);
        if (i >= n)
            goto need_more;
        if (s[i] == ')') {
            i++;
            break;
        }
        if (!first) {
            if (s[i] != ',')
                goto out;
            i = tc_skip_ws(s, n, i + 1);
        }
        size_t k = i;
        while (i < n && ident_char(s[i]))
            i++;
        size_t ke = i, ve;
        i = tc_skip_ws(s, n, i);
        if (i >= n)
            goto need_more;
        if (ke == k || s[i] != '=')
            goto out;
        i = tc_skip_ws(s, n, i + 1);
        enum tc_json j = tc_json_end(s, n, i, &ve);
        if (j == TC_JSON_MORE)
            goto need_more;
        if (j != TC_JSON_OK)
            goto out;
        if ((!first && !tc_add(c->o, &b, ", ", 2)) || !tc_json_quote(c->o, &b, s + k, ke - k) ||
            !tc_add(c->o, &b, ": ", 2) || !tc_add(c->o, &b, s + i, ve - i))
            goto out;
        i = ve;
    }
    if (tc_add(c->o, &b, "}", 1))
        r = tc_add_call_text(c, s + name, name_end - name, b.p, b.n);
    *end = i;
    goto out;
need_more:
    r = more;
out:
    tc_buf_free(&b);
    return r;
}

static enum tc_res python_tag(tc_ctx *c, size_t at, size_t *end, bool builtins) {
    size_t i = tc_skip_ws(c->s, c->n, at + strlen("<|python_tag|>"));
    if (i >= c->n)
        return c->partial ? TC_MORE : TC_BAD;
    if (c->s[i] == '{')
        return llama3_json(c, i, end, true);
    if (builtins) {
        enum tc_res r = builtin_call(c, i, end);
        if (r != TC_NOT_A_CALL)
            return r;
    }
    return python_code(c, i, end);
}

static enum tc_res llama3_at(tc_ctx *c, size_t at, int k, size_t *end) {
    return k == 0 ? python_tag(c, at, end, true) : llama3_json(c, at, end, false);
}

/* ---- Mistral Nemo: [TOOL_CALLS][{"name", "arguments", "id"}, ...];
 * Mistral Small 3.2 / Devstral / Ministral 3: [TOOL_CALLS]NAME[ARGS]{...}
 * (optionally [CALL_ID]ID before [ARGS]), once per call. */
static enum tc_res mistral_at(tc_ctx *c, size_t at, int k, size_t *end) {
    (void)k;
    const char *s = c->s;
    size_t n = c->n, i = tc_skip_ws(s, n, at + strlen("[TOOL_CALLS]"));
    if (i >= n)
        return TC_MORE;
    if (s[i] == '[' && !tc_starts(s, n, i, "[ARGS]") && !tc_prefix_of(s, n, i, "[ARGS]"))
        return tc_json_call_array(c, i, "name", ARGS, end);
    size_t name = i;
    while (i < n && s[i] != '[' && i - name <= 256)
        i++;
    size_t name_end = i, na = name, nb = name_end;
    while (nb > na && (s[nb - 1] == ' ' || s[nb - 1] == '\n'))
        nb--;
    if (tc_starts(s, n, i, "[CALL_ID]")) {
        i += 9;
        while (i < n && s[i] != '[' && i - name_end <= 256)
            i++;
    }
    bool named = tc_starts(s, n, name_end, "[CALL_ID]") || tc_starts(s, n, name_end, "[ARGS]");
    if (!tc_starts(s, n, i, "[ARGS]")) {
        if (!(i >= n || tc_prefix_of(s, n, i, "[ARGS]") || tc_prefix_of(s, n, i, "[CALL_ID]")))
            return TC_BAD;
        if (named)
            tc_set_pending(c, s + na, nb - na, 0, 0);
        return TC_MORE;
    }
    size_t a, b;
    enum tc_res r = json_at(c, i + 6, '{', &a, &b);
    if (r == TC_MORE)
        tc_set_pending(c, s + na, nb - na, a, n);
    if (r != TC_OK)
        return r;
    *end = b;
    return tc_add_call_args(c, s + na, nb - na, a, b);
}

/* ---- Granite 3.x: <|tool_call|>[{"name", "arguments"}, ...] */
static enum tc_res granite_at(tc_ctx *c, size_t at, int k, size_t *end) {
    (void)k;
    return tc_json_call_array(c, at + strlen("<|tool_call|>"), "name", ARGS, end);
}

/* ---- FireFunction v2: functools[{"name", "arguments"}, ...] */
static enum tc_res firefunction_at(tc_ctx *c, size_t at, int k, size_t *end) {
    (void)k;
    return tc_json_call_array(c, at + strlen("functools"), "name", ARGS, end);
}

/* ---- Command R7B: <|START_ACTION|>[{"tool_call_id", "tool_name",
 * "parameters"}]<|END_ACTION|>; the answer's <|START_RESPONSE|> and
 * <|END_RESPONSE|> markers are dropped from the content. */
static enum tc_res r7b_at(tc_ctx *c, size_t at, int k, size_t *end) {
    if (k > 0) {
        *end = at + strlen(k == 1 ? "<|START_RESPONSE|>" : "<|END_RESPONSE|>");
        return TC_OK;
    }
    size_t a, b, e;
    enum tc_res r = json_at(c, at + strlen("<|START_ACTION|>"), '[', &a, &b);
    if (r == TC_OK)
        r = close_tag(c, b, "<|END_ACTION|>", end);
    if (r == TC_MORE && c->eager && c->partial) /* the calls so far */
        tc_json_call_array(c, a, "tool_name", R7B_ARGS, &e);
    return r == TC_OK ? tc_json_call_array(c, a, "tool_name", R7B_ARGS, &e) : r;
}

/* ---- Functionary v3.1 (Llama 3.1): <function=NAME>{...}</function>, and
 * <|python_tag|> code for the python tool. */
static enum tc_res fv31_at(tc_ctx *c, size_t at, int k, size_t *end) {
    if (k == 1)
        return python_tag(c, at, end, false);
    const char *s = c->s;
    size_t n = c->n, name = at + strlen("<function="), i = name;
    while (i < n && s[i] != '>' && i - name <= 256)
        i++;
    if (i >= n)
        return TC_MORE;
    if (s[i] != '>')
        return TC_BAD;
    size_t a = n, b = n, p = tc_skip_ws(s, n, i + 1);
    enum tc_res r = p >= n ? TC_MORE : json_at(c, p, s[p] == '"' ? '"' : '{', &a, &b);
    if (r == TC_OK)
        r = close_tag(c, b, "</function>", end);
    if (r == TC_MORE)
        tc_set_pending(c, s + name, i - name, a, b);
    return r == TC_OK ? tc_add_call_args(c, s + name, i - name, a, b) : r;
}

/* ---- generic: the whole answer is {"tool_calls": [...]}, {"tool_call":
 * {...}} or {"response": "..."} (what llama.cpp's generic handler asks
 * for); anything else is content. A leading reasoning span is skipped. */
/* Eager mode: the calls so far of an answer {"tool_calls": [...]} or
 * {"tool_call": {...}} at s[i] that is still being written. */
static void generic_eager(tc_ctx *c, size_t i) {
    static const char *const KEYS[] = {"tool_calls", "tool_call"};
    size_t va[2], vb[2], end;
    if (!c->eager)
        return;
    tc_json_open_members(c->s, c->n, i, KEYS, 2, va, vb);
    if (vb[0] && c->s[va[0]] == '[')
        tc_json_call_array(c, va[0], "name", ARGS, &end);
    else if (!vb[0] && vb[1])
        tc_pending_object(c, va[1], "name", ARGS);
}

void lf_tc_generic(tc_ctx *c) {
    const char *s = c->s;
    size_t n = c->n, i = tc_skip_ws(s, n, 0), t;
    while ((t = tc_think_skip(s, n, i)) != i)
        i = tc_skip_ws(s, n, t);
    tc_out *o = c->o;
    if (i >= n || s[i] != '{') {
        tc_add(o, &o->content, s, n);
        return;
    }
    size_t e, va, vb, len;
    enum tc_json j = tc_json_end(s, n, i, &e);
    if (j == TC_JSON_MORE && c->partial) {
        tc_add(o, &o->content, s, i);
        generic_eager(c, i);
        return;
    }
    enum tc_res r = TC_BAD;
    size_t before_content = o->content.n;
    if (j == TC_JSON_OK) {
        tc_add(o, &o->content, s, i);
        if (tc_json_member(s, i, e, "tool_calls", &va, &vb)) {
            size_t end;
            r = tc_json_call_array(c, va, "name", ARGS, &end);
        } else if (tc_json_member(s, i, e, "tool_call", &va, &vb)) {
            r = s[va] == '{' ? tc_add_json_call(c, va, vb, "name", ARGS) : TC_BAD;
        } else if (tc_json_member(s, i, e, "response", &va, &vb)) {
            char *text = s[va] == '"' ? tc_json_string(s, va, vb, &len) : NULL;
            r = text ? TC_OK : TC_BAD;
            if (text)
                tc_add(o, &o->content, text, len);
            free(text);
        }
    }
    if (r != TC_OK) {
        o->content.n = before_content;
        tc_add(o, &o->content, s, n);
        return;
    }
    tc_add(o, &o->content, s + e, n - e);
}

/* ------------------------------------------------------------ the table */

const tc_family lf_tc_families[LF_TOOLCALL_N_FORMATS] = {
    [LF_TOOLCALL_GENERIC] = {"generic", {NULL}, NULL, lf_tc_generic},
    [LF_TOOLCALL_HERMES] = {"hermes", {"<tool_call>"}, hermes_at, NULL},
    [LF_TOOLCALL_LLAMA3] = {"llama3", {"<|python_tag|>", "{"}, llama3_at, NULL},
    [LF_TOOLCALL_MISTRAL] = {"mistral", {"[TOOL_CALLS]"}, mistral_at, NULL},
    [LF_TOOLCALL_GRANITE] = {"granite", {"<|tool_call|>"}, granite_at, NULL},
    [LF_TOOLCALL_FIREFUNCTION_V2] = {"firefunction-v2", {"functools["}, firefunction_at, NULL},
    [LF_TOOLCALL_COMMAND_R7B] = {"command-r7b",
                                 {"<|START_ACTION|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>"},
                                 r7b_at, NULL},
    [LF_TOOLCALL_FUNCTIONARY_V3_1] = {"functionary-v3.1", {"<function=", "<|python_tag|>"},
                                      fv31_at, NULL},
    [LF_TOOLCALL_QWEN3_CODER] = {"qwen3-coder", {"<tool_call>"}, lf_tc_qwen3_coder_at, NULL},
    [LF_TOOLCALL_DEEPSEEK] = {"deepseek", {"<｜tool▁calls▁begin｜>"},
                              lf_tc_deepseek_at, NULL},
    [LF_TOOLCALL_FUNCTIONARY_V3_2] = {"functionary-v3.2", {NULL}, NULL, lf_tc_functionary_v32},
    [LF_TOOLCALL_GPT_OSS] = {"gpt-oss", {NULL}, NULL, lf_tc_gpt_oss},
};
