/* lexer.c — template text to tokens, with Hugging Face's whitespace rules:
 * trim_blocks, lstrip_blocks and the '-' / '+' markers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_impl.h"
#include "text/utf8.h"

typedef struct lx {
    jarena *a;
    const char *s;
    size_t n, pos;
    jtoks *out;
    lf_error *err;
    int line_at_pos, line;
    size_t line_start;
} lx;

static void where(lx *L, size_t pos, int *line, int *col) {
    int ln = 1;
    size_t ls = 0;
    for (size_t i = 0; i < pos && i < L->n; i++)
        if (L->s[i] == '\n') ln++, ls = i + 1;
    *line = ln;
    *col = (int)(pos - ls) + 1;
}

static bool fail(lx *L, size_t pos, const char *msg) {
    int line, col;
    where(L, pos, &line, &col);
    snprintf(L->err->msg, sizeof L->err->msg, "line %d, column %d: %s", line, col, msg);
    return false;
}

static jtok *push(lx *L, int type, size_t pos) {
    jtoks *t = L->out;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        jtok *v = ja_alloc(L->a, cap * sizeof *v);
        if (!v) return NULL;
        if (t->n) memcpy(v, t->v, t->n * sizeof *v);
        t->v = v, t->cap = cap;
    }
    jtok *k = &t->v[t->n++];
    memset(k, 0, sizeof *k);
    k->type = type;
    /* line/col computed incrementally */
    while (L->pos < pos) {
        if (L->s[L->pos] == '\n') L->line++, L->line_start = L->pos + 1;
        L->pos++;
    }
    k->line = L->line;
    k->col = (int)(pos - L->line_start) + 1;
    return k;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_id0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_dig(char c) { return c >= '0' && c <= '9'; }

/* Decodes a string literal body [p, q) into the arena. */
static char *unescape(lx *L, const char *p, const char *q, size_t *len) {
    char *o = ja_alloc(L->a, (size_t)(q - p) + 1), *w = o;
    if (!o) return NULL;
    while (p < q) {
        if (*p != '\\' || p + 1 >= q) { *w++ = *p++; continue; }
        char c = p[1];
        p += 2;
        switch (c) {
        case 'n': *w++ = '\n'; break;
        case 't': *w++ = '\t'; break;
        case 'r': *w++ = '\r'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'v': *w++ = '\v'; break;
        case 'a': *w++ = '\a'; break;
        case '0': *w++ = '\0'; break;
        case '\\': *w++ = '\\'; break;
        case '\'': *w++ = '\''; break;
        case '"': *w++ = '"'; break;
        case '\n': break;
        case 'x': case 'u': case 'U': {
            int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t cp = 0;
            int k = 0;
            for (; k < nd && p + k < q; k++) {
                char h = p[k];
                int d = is_dig(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                if (d < 0) break;
                cp = cp * 16 + (uint32_t)d;
            }
            if (k < nd || cp > 0x10FFFF) { *w++ = '\\'; *w++ = c; break; }
            p += nd;
            char e[4];
            int m = lf_utf8_encode(cp, e);
            memcpy(w, e, (size_t)m), w += m;
            break;
        }
        default: *w++ = '\\'; *w++ = c; break;
        }
    }
    *w = 0;
    *len = (size_t)(w - o);
    return o;
}

static const char *const OPS[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
                                  "<", ">", "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}", NULL};

/* Lexes the inside of a tag starting at *pp; kind 'v' or 'b'. Stops after
 * the closing delimiter, setting *strip_after / *keep_nl. */
static bool lex_tag(lx *L, size_t *pp, char kind, bool *strip_after, bool *keep_nl) {
    const char *s = L->s;
    size_t p = *pp, n = L->n;
    char close = kind == 'v' ? '}' : '%';
    int depth = 0;
    for (;;) {
        while (p < n && is_ws(s[p])) p++;
        if (p >= n) return fail(L, p, kind == 'v' ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
        if (depth == 0) {
            if ((s[p] == '-' || (s[p] == '+' && kind == 'b')) && p + 2 < n && s[p + 1] == close &&
                s[p + 2] == '}') {
                *strip_after = s[p] == '-';
                *keep_nl = s[p] == '+';
                if (!push(L, kind == 'v' ? TK_VAR_END : TK_BLOCK_END, p)) return false;
                *pp = p + 3;
                return true;
            }
            if (s[p] == close && p + 1 < n && s[p + 1] == '}') {
                if (!push(L, kind == 'v' ? TK_VAR_END : TK_BLOCK_END, p)) return false;
                *pp = p + 2;
                return true;
            }
        }
        char c = s[p];
        if (is_id0(c)) {
            size_t q = p;
            while (q < n && (is_id0(s[q]) || is_dig(s[q]))) q++;
            jtok *k = push(L, TK_NAME, p);
            if (!k || !(k->s = ja_strndup(L->a, s + p, q - p))) return false;
            k->len = q - p;
            p = q;
        } else if (is_dig(c)) {
            size_t q = p;
            bool fl = false;
            while (q < n && (is_dig(s[q]) || s[q] == '_')) q++;
            if (q + 1 < n && s[q] == '.' && is_dig(s[q + 1])) {
                fl = true, q++;
                while (q < n && (is_dig(s[q]) || s[q] == '_')) q++;
            }
            if (q < n && (s[q] == 'e' || s[q] == 'E')) {
                size_t r = q + 1;
                if (r < n && (s[r] == '+' || s[r] == '-')) r++;
                if (r < n && is_dig(s[r])) {
                    fl = true, q = r;
                    while (q < n && is_dig(s[q])) q++;
                }
            }
            char buf[64];
            size_t m = 0;
            for (size_t i = p; i < q && m < sizeof buf - 1; i++)
                if (s[i] != '_') buf[m++] = s[i];
            buf[m] = 0;
            jtok *k = push(L, fl ? TK_FLOAT : TK_INT, p);
            if (!k) return false;
            if (fl) k->f = strtod(buf, NULL);
            else {
                unsigned long long v = 0;
                for (size_t i = 0; buf[i]; i++) {
                    if (v > (unsigned long long)(INT64_MAX - 9) / 10) return fail(L, p, "integer literal too large");
                    v = v * 10 + (unsigned)(buf[i] - '0');
                }
                k->i = (int64_t)v;
            }
            p = q;
        } else if (c == '\'' || c == '"') {
            size_t q = p + 1;
            while (q < n && s[q] != c) {
                if (s[q] == '\\' && q + 1 < n) q++;
                q++;
            }
            if (q >= n) return fail(L, p, "unexpected end of string");
            jtok *k = push(L, TK_STRING, p);
            if (!k || !(k->s = unescape(L, s + p + 1, s + q, &k->len))) return false;
            p = q + 1;
        } else {
            int i;
            for (i = 0; OPS[i]; i++) {
                size_t m = strlen(OPS[i]);
                if (p + m <= n && !memcmp(s + p, OPS[i], m)) break;
            }
            if (!OPS[i]) {
                char msg[64];
                snprintf(msg, sizeof msg, "unexpected char '%c'", c);
                return fail(L, p, msg);
            }
            if (OPS[i][0] == '(' || OPS[i][0] == '[' || OPS[i][0] == '{') depth++;
            if ((OPS[i][0] == ')' || OPS[i][0] == ']' || OPS[i][0] == '}') && depth > 0) depth--;
            jtok *k = push(L, TK_OP, p);
            if (!k) return false;
            k->s = OPS[i];
            k->len = strlen(OPS[i]);
            p += k->len;
        }
    }
}

bool jinja_lex(jarena *a, const char *src, size_t len, jtoks *out, lf_error *err) {
    /* Newlines normalized to \n; one trailing newline dropped (Jinja's
     * keep_trailing_newline=False). */
    char *s = ja_alloc(a, len + 1);
    if (!s) return snprintf(err->msg, sizeof err->msg, "out of memory"), false;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else s[n++] = src[i];
    }
    if (n && s[n - 1] == '\n') n--;
    s[n] = 0;
    lx L = {.a = a, .s = s, .n = n, .out = out, .err = err, .line = 1};
    size_t p = 0;
    bool strip_next = false, trim_nl = false;
    for (;;) {
        if (strip_next) while (p < n && is_ws(s[p])) p++;
        else if (trim_nl && p < n && s[p] == '\n') p++;
        strip_next = trim_nl = false;
        size_t q = p;
        while (q + 1 < n && !(s[q] == '{' && (s[q + 1] == '{' || s[q + 1] == '%' || s[q + 1] == '#'))) q++;
        if (q + 1 >= n) q = n;
        /* text [p, q) then a tag at q */
        size_t e = q;
        if (q < n) {
            char kind = s[q + 1];
            char mark = q + 2 < n ? s[q + 2] : 0;
            if (mark == '-') {
                while (e > p && is_ws(s[e - 1])) e--;
            } else if (kind != '{' && mark != '+') {
                size_t b = e;
                while (b > p && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
                bool at_line = b > p ? s[b - 1] == '\n' : (p == 0 || s[p - 1] == '\n');
                if (at_line) e = b;
            }
        }
        if (e > p) {
            jtok *k = push(&L, TK_DATA, p);
            if (!k) goto oom;
            k->s = s + p; /* s stays alive in the arena; not NUL-terminated */
            k->len = e - p;
        }
        if (q >= n) break;
        char kind = s[q + 1];
        size_t t = q + 2;
        if (t < n && (s[t] == '-' || s[t] == '+')) t++;
        if (kind == '#') {
            const char *end = NULL;
            for (size_t i = t; i + 1 < n; i++)
                if (s[i] == '#' && s[i + 1] == '}') { end = s + i; break; }
            if (!end) return fail(&L, q, "missing end of comment tag");
            size_t ei = (size_t)(end - s);
            if (ei > t && s[ei - 1] == '-') strip_next = true;
            else if (!(ei > t && s[ei - 1] == '+')) trim_nl = true;
            p = ei + 2;
            continue;
        }
        jtok *k = push(&L, kind == '{' ? TK_VAR_BEGIN : TK_BLOCK_BEGIN, q);
        if (!k) goto oom;
        bool sa = false, keep = false;
        if (!lex_tag(&L, &t, kind == '{' ? 'v' : 'b', &sa, &keep)) return false;
        strip_next = sa;
        trim_nl = kind == '%' && !sa && !keep;
        p = t;
    }
    if (!push(&L, TK_EOF, n)) goto oom;
    return true;
oom:
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return false;
}
