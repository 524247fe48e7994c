/* common.c — what the tool-call parsers share: result buffers, the
 * marker scan (which skips reasoning spans: a call inside <think> is not a
 * call), a JSON scanner that tells "complete", "needs more text" and
 * "malformed" apart without building values, and call construction. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "text/toolcall/toolcall.h"

bool tc_add(tc_out *o, tc_buf *b, const char *s, size_t n) {
    if (o->oom)
        return false;
    if (!n)
        return true;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return !(o->oom = true);
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

void tc_buf_free(tc_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

bool tc_add_call(tc_out *o, const char *name, size_t name_len, const char *args, size_t args_len) {
    if (o->oom)
        return false;
    if (o->n_calls == o->cap_calls) {
        size_t cap = o->cap_calls ? 2 * o->cap_calls : 4;
        tc_call *p = realloc(o->calls, cap * sizeof *p);
        if (!p)
            return !(o->oom = true);
        o->calls = p, o->cap_calls = cap;
    }
    tc_call *k = &o->calls[o->n_calls];
    k->name = dup_n(name, name_len);
    k->args = dup_n(args, args_len);
    if (!k->name || !k->args) {
        free(k->name), free(k->args);
        return !(o->oom = true);
    }
    o->n_calls++;
    return true;
}

void tc_drop_calls(tc_out *o, size_t keep) {
    while (o->n_calls > keep) {
        tc_call *x = &o->calls[--o->n_calls];
        free(x->name), free(x->args);
    }
}

void tc_out_free(tc_out *o) {
    tc_buf_free(&o->content);
    tc_buf_free(&o->reasoning);
    for (size_t i = 0; i < o->n_calls; i++)
        free(o->calls[i].name), free(o->calls[i].args);
    free(o->calls);
    free(o->pending.name);
    memset(o, 0, sizeof *o);
}

/* ------------------------------------------------------------------ text */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t tc_skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && is_ws(s[i]))
        i++;
    return i;
}

bool tc_starts(const char *s, size_t n, size_t i, const char *lit) {
    size_t k = strlen(lit);
    return i <= n && n - i >= k && !memcmp(s + i, lit, k);
}

bool tc_prefix_of(const char *s, size_t n, size_t i, const char *lit) {
    size_t k = strlen(lit);
    return i < n && n - i < k && !memcmp(s + i, lit, n - i);
}

size_t tc_find(const char *s, size_t n, size_t from, const char *lit) {
    size_t k = strlen(lit);
    for (size_t i = from; i + k <= n; i++)
        if (s[i] == lit[0] && !memcmp(s + i, lit, k))
            return i;
    return n;
}

/* Reasoning spans: markers inside them are text (a call "inside reasoning"
 * is not a call). Splitting reasoning off is another module's job. */
static const char *const THINK[][2] = {
    {"<think>", "</think>"},
    {"<|START_THINKING|>", "<|END_THINKING|>"},
    {"[THINK]", "[/THINK]"},
};

size_t tc_think_skip(const char *s, size_t n, size_t i) {
    for (size_t t = 0; t < sizeof THINK / sizeof *THINK; t++)
        if (tc_starts(s, n, i, THINK[t][0])) {
            size_t close = tc_find(s, n, i + strlen(THINK[t][0]), THINK[t][1]);
            return close == n ? n : close + strlen(THINK[t][1]);
        }
    return i;
}

void tc_scan(tc_ctx *c, const tc_family *f) {
    const char *s = c->s;
    size_t n = c->n, i = 0;
    while (!c->o->oom) {
        size_t j = i;
        int k = -1;
        bool in_think = false;
        while (j < n && k < 0) {
            size_t t = tc_think_skip(s, n, j);
            if (t != j) {
                in_think = t == n;
                j = t;
                continue;
            }
            for (int m = 0; m < 4 && f->markers[m]; m++)
                if (tc_starts(s, n, j, f->markers[m])) {
                    k = m;
                    break;
                }
            if (k < 0)
                j++;
        }
        if (k < 0 && c->partial && !in_think) {
            /* hold back a tail that may be the start of a marker */
            for (size_t p = i; p < n; p++) {
                bool held = false;
                for (int m = 0; m < 4 && f->markers[m] && !held; m++)
                    held = tc_prefix_of(s, n, p, f->markers[m]);
                if (held) {
                    j = p;
                    break;
                }
            }
        }
        tc_add(c->o, &c->o->content, s + i, j - i);
        if (k < 0)
            return;
        size_t end = j;
        enum tc_res r = f->at(c, j, k, &end);
        if (r == TC_OK && end > j) {
            i = end;
        } else if (r == TC_NOT_A_CALL) {
            if (end <= j)
                end = j + strlen(f->markers[k]);
            tc_add(c->o, &c->o->content, s + j, end - j);
            i = end;
        } else if (r == TC_MORE && c->partial) {
            return;
        } else {
            tc_add(c->o, &c->o->content, s + j, n - j);
            return;
        }
    }
}

/* ------------------------------------------------------------------ JSON */

#define TC_JSON_DEPTH 256

static enum tc_json str_end(const char *s, size_t n, size_t i, size_t *end) {
    for (i++; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"') {
            *end = i + 1;
            return TC_JSON_OK;
        }
        if (ch < 0x20)
            return TC_JSON_BAD;
        if (ch == '\\') {
            if (++i >= n)
                return TC_JSON_MORE;
            if (!strchr("\"\\/bfnrtu", s[i]))
                return TC_JSON_BAD;
        }
    }
    return TC_JSON_MORE;
}

enum tc_json tc_json_end(const char *s, size_t n, size_t i, size_t *end) {
    char stack[TC_JSON_DEPTH];
    int d = 0;
    enum { VALUE, KEY, AFTER } st = VALUE;
    i = tc_skip_ws(s, n, i);
    for (;;) {
        if (st == AFTER && d == 0) {
            *end = i;
            return TC_JSON_OK;
        }
        i = tc_skip_ws(s, n, i);
        if (i >= n)
            return TC_JSON_MORE;
        char ch = s[i];
        enum tc_json r;
        if (st == KEY) {
            if (ch != '"')
                return TC_JSON_BAD;
            if ((r = str_end(s, n, i, &i)) != TC_JSON_OK)
                return r;
            i = tc_skip_ws(s, n, i);
            if (i >= n)
                return TC_JSON_MORE;
            if (s[i++] != ':')
                return TC_JSON_BAD;
            st = VALUE;
        } else if (st == AFTER) {
            char close = stack[d - 1] == '{' ? '}' : ']';
            if (ch == ',') {
                i++;
                st = stack[d - 1] == '{' ? KEY : VALUE;
            } else if (ch == close) {
                i++, d--;
            } else {
                return TC_JSON_BAD;
            }
        } else if (ch == '{' || ch == '[') {
            if (d == TC_JSON_DEPTH)
                return TC_JSON_BAD;
            stack[d++] = ch;
            i = tc_skip_ws(s, n, i + 1);
            if (i >= n)
                return TC_JSON_MORE;
            if (s[i] == (ch == '{' ? '}' : ']'))
                i++, d--, st = AFTER;
            else
                st = ch == '{' ? KEY : VALUE;
        } else if (ch == '"') {
            if ((r = str_end(s, n, i, &i)) != TC_JSON_OK)
                return r;
            st = AFTER;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            while (i < n && strchr("+-.eE0123456789", s[i]))
                i++;
            if (i >= n)
                return TC_JSON_MORE;
            st = AFTER;
        } else {
            static const char *const LIT[] = {"true", "false", "null"};
            int l = 0;
            for (; l < 3; l++) {
                if (tc_starts(s, n, i, LIT[l]))
                    break;
                if (tc_prefix_of(s, n, i, LIT[l]))
                    return TC_JSON_MORE;
            }
            if (l == 3)
                return TC_JSON_BAD;
            i += strlen(LIT[l]);
            st = AFTER;
        }
    }
}

bool tc_json_member(const char *s, size_t a, size_t b, const char *key, size_t *va, size_t *vb) {
    size_t i = tc_skip_ws(s, b, a), k = strlen(key);
    if (i >= b || s[i] != '{')
        return false;
    for (i++;;) {
        i = tc_skip_ws(s, b, i);
        if (i >= b || s[i] != '"')
            return false;
        size_t ke;
        if (str_end(s, b, i, &ke) != TC_JSON_OK)
            return false;
        bool match = ke - i - 2 == k && !memcmp(s + i + 1, key, k);
        i = tc_skip_ws(s, b, ke);
        if (i >= b || s[i] != ':')
            return false;
        size_t vs = tc_skip_ws(s, b, i + 1), ve;
        if (tc_json_end(s, b, vs, &ve) != TC_JSON_OK)
            return false;
        if (match) {
            *va = vs, *vb = ve;
            return true;
        }
        i = tc_skip_ws(s, b, ve);
        if (i >= b || s[i] != ',')
            return false;
        i++;
    }
}

char *tc_json_string(const char *s, size_t a, size_t b, size_t *len) {
    json_error_t e;
    json_t *v = json_loadb(s + a, b - a, JSON_DECODE_ANY, &e);
    char *out = NULL;
    if (v && json_is_string(v)) {
        *len = json_string_length(v);
        out = dup_n(json_string_value(v), *len);
    }
    json_decref(v);
    return out;
}

/* A JSON object text that jansson accepts (valid UTF-8, no duplicate
 * trouble, depth-bounded by our scanner first). */
static bool is_object_text(const char *s, size_t n) {
    size_t a = tc_skip_ws(s, n, 0), end;
    if (a >= n || s[a] != '{' || tc_json_end(s, n, a, &end) != TC_JSON_OK ||
        tc_skip_ws(s, n, end) != n)
        return false;
    json_error_t e;
    json_t *v = json_loadb(s, n, 0, &e);
    bool ok = v && json_is_object(v);
    json_decref(v);
    return ok;
}

static void trim(const char *s, size_t *a, size_t *b) {
    *a = tc_skip_ws(s, *b, *a);
    while (*b > *a && is_ws(s[*b - 1]))
        (*b)--;
}

static bool name_ok(const char *s, size_t n) {
    if (!n || n > 256)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || strchr("<>\"'{}[]", s[i]))
            return false;
    json_t *v = json_stringn(s, n); /* NULL for invalid UTF-8 */
    json_decref(v);
    return v != NULL;
}

enum tc_res tc_add_call_args(tc_ctx *c, const char *name, size_t name_len, size_t a, size_t b) {
    if (!name_ok(name, name_len))
        return TC_BAD;
    trim(c->s, &a, &b);
    if (a < b && c->s[a] == '{') {
        if (!is_object_text(c->s + a, b - a))
            return TC_BAD;
        return tc_add_call(c->o, name, name_len, c->s + a, b - a) ? TC_OK : TC_BAD;
    }
    if (a < b && c->s[a] == '"') { /* arguments as a JSON string holding the object */
        size_t len;
        char *t = tc_json_string(c->s, a, b, &len);
        size_t ta = 0, tb = len;
        if (t)
            trim(t, &ta, &tb);
        enum tc_res r = t && is_object_text(t + ta, tb - ta) &&
                                tc_add_call(c->o, name, name_len, t + ta, tb - ta)
                            ? TC_OK
                            : TC_BAD;
        free(t);
        return r;
    }
    return TC_BAD;
}

void tc_set_pending(tc_ctx *c, const char *name, size_t name_len, size_t a, size_t e) {
    tc_pending *p = &c->o->pending;
    if (!c->eager || !c->partial || c->o->oom)
        return;
    free(p->name);
    memset(p, 0, sizeof *p);
    if (name && name_ok(name, name_len) && !(p->name = dup_n(name, name_len)))
        c->o->oom = true;
    if (a < e && c->s[a] == '{')
        p->args = c->s + a, p->args_len = e - a;
}

void tc_json_open_members(const char *s, size_t n, size_t a, const char *const *keys, int nk,
                          size_t *va, size_t *vb) {
    for (int k = 0; k < nk; k++)
        va[k] = vb[k] = 0;
    size_t i = tc_skip_ws(s, n, a);
    if (i >= n || s[i] != '{')
        return;
    for (i++;;) {
        i = tc_skip_ws(s, n, i);
        size_t ks = i, ke, vs, ve;
        if (i >= n || s[i] != '"' || str_end(s, n, i, &ke) != TC_JSON_OK)
            return;
        i = tc_skip_ws(s, n, ke);
        if (i >= n || s[i] != ':' || (vs = tc_skip_ws(s, n, i + 1)) >= n)
            return;
        enum tc_json j = tc_json_end(s, n, vs, &ve);
        if (j == TC_JSON_BAD)
            return;
        for (int k = 0; k < nk; k++) /* the first of each counts, as for tc_json_member */
            if (!vb[k] && ke - ks - 2 == strlen(keys[k]) && !memcmp(s + ks + 1, keys[k], ke - ks - 2))
                va[k] = vs, vb[k] = j == TC_JSON_OK ? ve : n;
        if (j != TC_JSON_OK)
            return;
        i = tc_skip_ws(s, n, ve);
        if (i >= n || s[i] != ',')
            return;
        i++;
    }
}

void tc_pending_object(tc_ctx *c, size_t a, const char *name_key, const char *const *args_keys) {
    if (!c->eager || !c->partial)
        return;
    /* only the key the final parse prefers is streamed: another may yet be
     * followed by it */
    const char *keys[2] = {name_key, args_keys[0]};
    size_t va[2], vb[2], len = 0;
    tc_json_open_members(c->s, c->n, a, keys, 2, va, vb);
    char *name = vb[0] && c->s[va[0]] == '"' ? tc_json_string(c->s, va[0], vb[0], &len) : NULL;
    tc_set_pending(c, name, len, va[1], vb[1]);
    free(name);
}

enum tc_res tc_add_call_text(tc_ctx *c, const char *name, size_t name_len, const char *text,
                             size_t n) {
    if (!name_ok(name, name_len) || !is_object_text(text, n))
        return TC_BAD;
    size_t a = 0, b = n;
    trim(text, &a, &b);
    return tc_add_call(c->o, name, name_len, text + a, b - a) ? TC_OK : TC_BAD;
}

bool tc_json_quote(tc_out *o, tc_buf *b, const char *s, size_t n) {
    json_t *v = json_stringn(s, n);
    char *q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    bool ok = q && tc_add(o, b, q, strlen(q));
    if (!v || (!q && !o->oom)) /* invalid UTF-8: not a call we can report */
        ok = false;
    free(q);
    json_decref(v);
    return ok;
}

enum tc_res tc_add_json_call(tc_ctx *c, size_t a, size_t b, const char *name_key,
                             const char *const *args_keys) {
    size_t na, nb, aa = 0, ab = 0, len;
    if (!tc_json_member(c->s, a, b, name_key, &na, &nb))
        return TC_BAD;
    bool have_args = false;
    for (int k = 0; args_keys[k] && !have_args; k++)
        have_args = tc_json_member(c->s, a, b, args_keys[k], &aa, &ab);
    char *name = tc_json_string(c->s, na, nb, &len);
    enum tc_res r = TC_BAD;
    if (name && have_args)
        r = tc_add_call_args(c, name, len, aa, ab);
    else if (name && name_ok(name, len)) /* no arguments at all: {} */
        r = tc_add_call(c->o, name, len, "{}", 2) ? TC_OK : TC_BAD;
    free(name);
    return r;
}

/* Eager mode: the complete calls of an array cut off at the end of the
 * text, then the one being written as the pending call. */
static void eager_array(tc_ctx *c, size_t i, const char *name_key, const char *const *args_keys) {
    size_t k = tc_skip_ws(c->s, c->n, i + 1), ve;
    while (k < c->n && c->s[k] == '{') {
        enum tc_json j = tc_json_end(c->s, c->n, k, &ve);
        if (j == TC_JSON_MORE)
            tc_pending_object(c, k, name_key, args_keys);
        if (j != TC_JSON_OK || tc_add_json_call(c, k, ve, name_key, args_keys) != TC_OK)
            return;
        k = tc_skip_ws(c->s, c->n, ve);
        if (k >= c->n || c->s[k] != ',')
            return;
        k = tc_skip_ws(c->s, c->n, k + 1);
    }
}

enum tc_res tc_json_call_array(tc_ctx *c, size_t i, const char *name_key,
                               const char *const *args_keys, size_t *end) {
    i = tc_skip_ws(c->s, c->n, i);
    if (i >= c->n)
        return TC_MORE;
    if (c->s[i] != '[')
        return TC_BAD;
    size_t e;
    enum tc_json j = tc_json_end(c->s, c->n, i, &e);
    if (j == TC_JSON_MORE && c->eager && c->partial)
        eager_array(c, i, name_key, args_keys);
    if (j != TC_JSON_OK)
        return j == TC_JSON_MORE ? TC_MORE : TC_BAD;
    size_t before = c->o->n_calls;
    size_t k = tc_skip_ws(c->s, e, i + 1);
    while (k < e && c->s[k] != ']') {
        size_t ve;
        if (c->s[k] != '{' || tc_json_end(c->s, e, k, &ve) != TC_JSON_OK ||
            tc_add_json_call(c, k, ve, name_key, args_keys) != TC_OK)
            goto bad;
        k = tc_skip_ws(c->s, e, ve);
        if (k < e && c->s[k] == ',')
            k = tc_skip_ws(c->s, e, k + 1);
    }
    if (c->o->n_calls == before)
        goto bad;
    *end = e;
    return TC_OK;
bad:
    tc_drop_calls(c->o, before);
    return TC_BAD;
}
