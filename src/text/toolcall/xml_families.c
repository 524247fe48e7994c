/* xml_families.c — the families whose calls are not one JSON object after
 * a marker: Qwen3-Coder's XML-style parameters, DeepSeek R1 / V3's
 * special-token blocks, and Functionary v3.2's ">>>recipient" blocks. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "text/toolcall/toolcall.h"

/* s[i..) up to stop (not included): TC_OK with *e at stop, TC_MORE when
 * stop never comes. */
static enum tc_res until(tc_ctx *c, size_t i, const char *stop, size_t *e) {
    *e = tc_find(c->s, c->n, i, stop);
    return *e < c->n ? TC_OK : TC_MORE;
}

/* Expects lit at s[i] (after whitespace): TC_OK with *e past it. */
static enum tc_res expect(tc_ctx *c, size_t i, const char *lit, size_t *e) {
    i = tc_skip_ws(c->s, c->n, i);
    if (tc_starts(c->s, c->n, i, lit)) {
        *e = i + strlen(lit);
        return TC_OK;
    }
    return i >= c->n || tc_prefix_of(c->s, c->n, i, lit) ? TC_MORE : TC_BAD;
}

/* ---- Qwen3-Coder (also Qwen3.5, StepFun 3.5, Nemotron Nano 3):
 * <tool_call>\n<function=NAME>\n<parameter=P>\nVALUE\n</parameter>\n...
 * </function>\n</tool_call>. A value that is JSON (a number, true, an
 * object...) is kept as that JSON, anything else becomes a string: without
 * the tool's schema a string parameter holding "42" comes back as 42. */
static bool add_value(tc_ctx *c, tc_buf *b, const char *v, size_t n) {
    if (n && v[0] == '\n')
        v++, n--;
    if (n && v[n - 1] == '\n')
        n--;
    size_t a = tc_skip_ws(v, n, 0), e = n;
    while (e > a && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == '\n' || v[e - 1] == '\r'))
        e--;
    if (a < e) {
        json_error_t err;
        json_t *j = json_loadb(v + a, e - a, JSON_DECODE_ANY, &err);
        json_decref(j);
        if (j)
            return tc_add(c->o, b, v + a, e - a);
    }
    return tc_json_quote(c->o, b, v, n);
}

enum tc_res lf_tc_qwen3_coder_at(tc_ctx *c, size_t at, int k, size_t *end) {
    (void)k;
    const char *s = c->s;
    size_t i, e, name;
    enum tc_res r = expect(c, at + strlen("<tool_call>"), "<function=", &name);
    if (r != TC_OK)
        return r;
    if ((r = until(c, name, ">", &e)) != TC_OK)
        return r;
    size_t name_end = e;
    tc_buf b = {0};
    tc_add(c->o, &b, "{", 1);
    int n_params = 0;
    for (i = e + 1;;) {
        size_t p = tc_skip_ws(s, c->n, i);
        if (tc_starts(s, c->n, p, "</function>")) {
            i = p + strlen("</function>");
            break;
        }
        if ((r = expect(c, p, "<parameter=", &p)) != TC_OK) {
            if (r == TC_BAD && tc_prefix_of(s, c->n, tc_skip_ws(s, c->n, i), "</function>"))
                r = TC_MORE;
            goto out;
        }
        size_t pe, ve;
        if ((r = until(c, p, ">", &pe)) != TC_OK || (r = until(c, pe + 1, "</parameter>", &ve)) != TC_OK)
            goto out;
        r = TC_BAD;
        if ((n_params++ && !tc_add(c->o, &b, ", ", 2)) || !tc_json_quote(c->o, &b, s + p, pe - p) ||
            !tc_add(c->o, &b, ": ", 2) || !add_value(c, &b, s + pe + 1, ve - pe - 1))
            goto out;
        i = ve + strlen("</parameter>");
    }
    r = TC_BAD;
    if (!tc_add(c->o, &b, "}", 1))
        goto out;
    if ((r = expect(c, i, "</tool_call>", end)) == TC_OK)
        r = tc_add_call_text(c, s + name, name_end - name, b.p, b.n);
out:
    tc_buf_free(&b);
    return r;
}

/* ---- DeepSeek R1 / V3: <｜tool▁calls▁begin｜> then per call
 * <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>
 * (R1, V3-0324) or <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>
 * (V3.1), then <｜tool▁calls▁end｜> (which may be missing at the end). */
#define DS_CALLS_END "<｜tool▁calls▁end｜>"
#define DS_CALL_BEGIN "<｜tool▁call▁begin｜>"
#define DS_CALL_END "<｜tool▁call▁end｜>"
#define DS_SEP "<｜tool▁sep｜>"

static enum tc_res deepseek_call(tc_ctx *c, size_t i, size_t *end) {
    const char *s = c->s;
    size_t sep, a = c->n, b = c->n, name, name_end;
    enum tc_res r = until(c, i, DS_SEP, &sep);
    if (r != TC_OK)
        return r;
    if (sep - i == 8 && !memcmp(s + i, "function", 8)) {
        name = sep + strlen(DS_SEP);
        if ((r = until(c, name, "\n", &name_end)) != TC_OK)
            return r;
        if ((r = expect(c, name_end, "```json", &a)) != TC_OK)
            a = c->n;
    } else {
        name = i, name_end = sep, a = sep + strlen(DS_SEP);
    }
    while (name_end > name && s[name_end - 1] == ' ')
        name_end--;
    if (r == TC_OK) {
        a = tc_skip_ws(s, c->n, a);
        enum tc_json j = a < c->n ? tc_json_end(s, c->n, a, &b) : TC_JSON_MORE;
        r = j == TC_JSON_OK ? TC_OK : j == TC_JSON_MORE ? TC_MORE : TC_BAD;
    }
    size_t e = b;
    if (r == TC_OK && name != i)
        r = expect(c, b, "```", &e);
    if (r == TC_OK)
        r = expect(c, e, DS_CALL_END, end);
    if (r == TC_MORE)
        tc_set_pending(c, s + name, name_end - name, a, b);
    return r == TC_OK ? tc_add_call_args(c, s + name, name_end - name, a, b) : r;
}

enum tc_res lf_tc_deepseek_at(tc_ctx *c, size_t at, int k, size_t *end) {
    (void)k;
    size_t before = c->o->n_calls, i = at + strlen("<｜tool▁calls▁begin｜>"), e;
    enum tc_res r;
    for (;;) {
        size_t p = tc_skip_ws(c->s, c->n, i);
        if (tc_starts(c->s, c->n, p, DS_CALLS_END)) {
            i = p + strlen(DS_CALLS_END);
            r = c->o->n_calls > before ? TC_OK : TC_BAD;
            break;
        }
        if (p >= c->n && !c->partial && c->o->n_calls > before) { /* ended by EOS */
            i = p, r = TC_OK;
            break;
        }
        if ((r = expect(c, p, DS_CALL_BEGIN, &e)) != TC_OK) {
            if (r == TC_BAD && tc_prefix_of(c->s, c->n, p, DS_CALLS_END))
                r = TC_MORE;
            break;
        }
        if ((r = deepseek_call(c, e, &i)) != TC_OK)
            break;
    }
    if (r != TC_OK && !(r == TC_MORE && c->eager && c->partial)) /* eager: the calls so far */
        tc_drop_calls(c->o, before);
    *end = i;
    return r;
}

/* ---- Functionary v3.2: blocks ">>>RECIPIENT\nBODY"; recipient "all" is
 * text for the user, any other a call whose body is its JSON arguments
 * (python may send plain code). The prompt ends in ">>>", so the output
 * usually starts with the recipient. */
static bool ident(const char *s, size_t a, size_t b) {
    if (a == b)
        return false;
    for (size_t i = a; i < b; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

void lf_tc_functionary_v32(tc_ctx *c) {
    const char *s = c->s;
    size_t n = c->n, i = 0;
    tc_out *o = c->o;
    if (tc_starts(s, n, 0, ">>>"))
        i = 3;
    else if (c->partial && tc_prefix_of(s, n, 0, ">>>"))
        return;
    while (i < n && !o->oom) {
        size_t nl = tc_find(s, n, i, "\n");
        if (nl == n) {
            if (!c->partial || !ident(s, i, n))
                tc_add(o, &o->content, s + i, n - i);
            return;
        }
        if (!ident(s, i, nl))
            break;
        size_t body = nl + 1, next = tc_find(s, n, body, ">>>");
        if (nl - i == 3 && !memcmp(s + i, "all", 3)) {
            size_t stop = next;
            if (next == n && c->partial) /* hold a tail that may start ">>>" */
                for (size_t p = n > body + 2 ? n - 2 : body; p < n && stop == n; p++)
                    if (tc_prefix_of(s, n, p, ">>>"))
                        stop = p;
            tc_add(o, &o->content, s + body, stop - body);
            if (next == n)
                return;
            i = next + 3;
            continue;
        }
        size_t a = tc_skip_ws(s, n, body), b;
        tc_ctx sub = *c;
        enum tc_res r;
        if (a >= n) {
            r = TC_MORE;
        } else if (s[a] == '{') {
            enum tc_json j = tc_json_end(s, n, a, &b);
            r = j == TC_JSON_OK ? tc_add_call_args(&sub, s + i, nl - i, a, b)
                : j == TC_JSON_MORE ? TC_MORE
                                    : TC_BAD;
            if (r == TC_MORE)
                tc_set_pending(c, s + i, nl - i, a, n);
        } else if (nl - i == 6 && !memcmp(s + i, "python", 6)) {
            b = next;
            if (next == n && c->partial) {
                r = TC_MORE;
            } else {
                tc_buf code = {0};
                bool ok = tc_add(o, &code, "{\"code\": ", 9) &&
                          tc_json_quote(o, &code, s + body, next - body) && tc_add(o, &code, "}", 1);
                r = ok ? tc_add_call_text(&sub, "python", 6, code.p, code.n) : TC_BAD;
                tc_buf_free(&code);
            }
        } else {
            r = TC_BAD;
        }
        if (r == TC_MORE && c->partial)
            return;
        if (r != TC_OK)
            break;
        i = tc_skip_ws(s, n, b);
        if (tc_starts(s, n, i, ">>>"))
            i += 3;
        else if (i < n && !(c->partial && tc_prefix_of(s, n, i, ">>>")))
            break;
        else if (i < n)
            return; /* a partial ">>>" */
    }
    if (i < n)
        tc_add(o, &o->content, s + i, n - i);
}
