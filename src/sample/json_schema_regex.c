/* json_schema_regex.c — a `pattern` as GBNF over the characters of a JSON
 * string. The subset: literals, `.`, classes `[...]` (ranges, negation,
 * escapes), \d \w \s and their negations, \t \n \r \f \v \xHH \uHHHH and
 * escaped punctuation, groups `(...)` and `(?:...)`, `|`, and the
 * quantifiers * + ? {n} {n,} {n,m} (a trailing lazy `?` is ignored); ^ and
 * $ only at the ends. Backreferences, lookaround, \b and the like are
 * errors, and so is an unbounded repeat of a group that can match nothing,
 * like (a?)+: GBNF cannot hold it (write a* instead). Every character set
 * is cut to what a JSON string holds raw (no controls, quote or backslash,
 * no lone surrogates), and the quote, backslash, tab, newline and carriage
 * return come back as their JSON escapes, so the model writes valid JSON
 * whose decoded text matches. */
#include <stdlib.h>
#include <string.h>

#include "sample/json_schema.h"

#define MAX_CP 0x10FFFF
#define MAX_REP 1000
#define MAX_NEST 64

typedef struct {
    uint32_t lo, hi;
} range;

typedef struct {
    range *r;
    size_t n, cap;
    bool shorthand; /* holds \d, \w or \s: see cs_ascii */
} cset;

typedef struct {
    js_conv *c;
    const char *re, *p, *end;
    int nest;
} rx;

_Noreturn static void rx_fail(rx *x, const char *what) {
    js_fail(x->c, "at %s: pattern \"%s\": %s at offset %d", js_path(x->c), x->re, what,
            (int)(x->p - x->re));
}

static void cs_add(rx *x, cset *s, uint32_t lo, uint32_t hi) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        range *r = js_alloc(x->c, cap * sizeof *r);
        if (s->n)
            memcpy(r, s->r, s->n * sizeof *r);
        s->r = r;
        s->cap = cap;
    }
    s->r[s->n++] = (range){lo, hi};
}

static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void cs_norm(cset *s) {
    if (!s->n)
        return;
    qsort(s->r, s->n, sizeof *s->r, cmp_range);
    size_t k = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->r[i].lo <= s->r[k].hi + 1) {
            if (s->r[i].hi > s->r[k].hi)
                s->r[k].hi = s->r[i].hi;
        } else {
            s->r[++k] = s->r[i];
        }
    }
    s->n = k + 1;
}

static cset cs_not(rx *x, cset *s) {
    cs_norm(s);
    cset o = {0};
    uint32_t next = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].lo > next)
            cs_add(x, &o, next, s->r[i].lo - 1);
        next = s->r[i].hi + 1;
    }
    if (next <= MAX_CP)
        cs_add(x, &o, next, MAX_CP);
    return o;
}

/* Python's \d \w \s also match non-ASCII digits, letters and spaces, so
 * the complement of our ASCII versions would let through characters the
 * validator's complement refuses: a negation of them stays within ASCII. */
static void cs_ascii(cset *s) {
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].lo > 0x7f)
            continue;
        s->r[k] = s->r[i];
        if (s->r[k].hi > 0x7f)
            s->r[k].hi = 0x7f;
        k++;
    }
    s->n = k;
}

static bool cs_has(const cset *s, uint32_t cp) {
    for (size_t i = 0; i < s->n; i++)
        if (cp >= s->r[i].lo && cp <= s->r[i].hi)
            return true;
    return false;
}

/* The set minus the characters a JSON string cannot hold raw. */
static cset cs_raw(rx *x, const cset *s) {
    static const range cut[] = {{0, 0x1f}, {'"', '"'}, {'\\', '\\'}, {0xD800, 0xDFFF}};
    cset o = {0};
    for (size_t i = 0; i < s->n; i++) {
        uint32_t lo = s->r[i].lo, hi = s->r[i].hi;
        for (size_t k = 0; k < sizeof cut / sizeof *cut && lo <= hi; k++) {
            if (cut[k].hi < lo || cut[k].lo > hi)
                continue;
            if (cut[k].lo > lo)
                cs_add(x, &o, lo, cut[k].lo - 1);
            if (cut[k].hi >= hi)
                lo = hi + 1;
            else
                lo = cut[k].hi + 1;
        }
        if (lo <= hi)
            cs_add(x, &o, lo, hi);
    }
    return o;
}

static void emit_set(rx *x, js_buf *b, cset *s) {
    cs_norm(s);
    cset raw = cs_raw(x, s);
    static const struct {
        uint32_t cp;
        const char *esc;
    } escs[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\t', "\\t"}, {'\r', "\\r"}};
    int parts = raw.n > 0;
    for (size_t i = 0; i < sizeof escs / sizeof *escs; i++)
        parts += cs_has(s, escs[i].cp);
    if (!parts)
        rx_fail(x, "a set with no character a JSON string can hold");
    if (parts > 1)
        js_buf_puts(b, "(");
    const char *sep = "";
    if (raw.n == 1 && raw.r[0].lo == raw.r[0].hi && raw.r[0].lo < 0x7f) {
        char ch = (char)raw.r[0].lo;
        js_put_literal(b, &ch, 1);
        sep = " | ";
    } else if (raw.n) {
        js_buf_puts(b, "[");
        for (size_t i = 0; i < raw.n; i++) {
            js_put_class_char(b, raw.r[i].lo);
            if (raw.r[i].hi != raw.r[i].lo) {
                js_buf_puts(b, "-");
                js_put_class_char(b, raw.r[i].hi);
            }
        }
        js_buf_puts(b, "]");
        sep = " | ";
    }
    for (size_t i = 0; i < sizeof escs / sizeof *escs; i++) {
        if (cs_has(s, escs[i].cp)) {
            js_buf_puts(b, sep);
            js_put_literal(b, escs[i].esc, 2);
            sep = " | ";
        }
    }
    if (parts > 1)
        js_buf_puts(b, ")");
}

/* One UTF-8 code point from the pattern. */
static uint32_t next_cp(rx *x) {
    const unsigned char *s = (const unsigned char *)x->p;
    uint32_t cp = s[0];
    int n = cp < 0x80 ? 1 : cp >> 5 == 6 ? 2 : cp >> 4 == 14 ? 3 : cp >> 3 == 30 ? 4 : 0;
    if (!n || x->p + n > x->end)
        rx_fail(x, "invalid UTF-8");
    if (n > 1)
        cp &= 0x3f >> (n - 1);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            rx_fail(x, "invalid UTF-8");
        cp = cp << 6 | (s[i] & 0x3f);
    }
    x->p += n;
    return cp;
}

static uint32_t hex(rx *x, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++, x->p++) {
        char ch = x->p < x->end ? *x->p : 0;
        int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                       : -1;
        if (d < 0)
            rx_fail(x, "bad hex escape");
        v = v << 4 | (uint32_t)d;
    }
    return v;
}

/* An escape after the backslash, into s (a class member or an atom). */
static void escape(rx *x, cset *s, bool in_class) {
    if (x->p >= x->end)
        rx_fail(x, "a trailing backslash");
    char e = *x->p++;
    cset t = {0};
    switch (e) {
    case 'd': case 'D':
        cs_add(x, &t, '0', '9');
        break;
    case 'w': case 'W':
        cs_add(x, &t, '0', '9'), cs_add(x, &t, 'A', 'Z'), cs_add(x, &t, 'a', 'z');
        cs_add(x, &t, '_', '_');
        break;
    case 's': case 'S':
        cs_add(x, &t, ' ', ' '), cs_add(x, &t, '\t', '\r');
        break;
    case 'n': cs_add(x, s, '\n', '\n'); return;
    case 't': cs_add(x, s, '\t', '\t'); return;
    case 'r': cs_add(x, s, '\r', '\r'); return;
    case 'f': cs_add(x, s, '\f', '\f'); return;
    case 'v': cs_add(x, s, '\v', '\v'); return;
    case 'x': { uint32_t v = hex(x, 2); cs_add(x, s, v, v); return; }
    case 'u': { uint32_t v = hex(x, 4); cs_add(x, s, v, v); return; }
    case 'b':
        if (in_class) {
            cs_add(x, s, '\b', '\b');
            return;
        }
        x->p--;
        rx_fail(x, "word boundaries (\\b) are not supported");
    default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
            x->p--;
            rx_fail(x, "unsupported escape");
        }
        x->p--;
        uint32_t cp = next_cp(x);
        cs_add(x, s, cp, cp);
        return;
    }
    if (e >= 'A' && e <= 'Z') {
        t = cs_not(x, &t);
        cs_ascii(&t);
    }
    s->shorthand = true;
    for (size_t i = 0; i < t.n; i++)
        cs_add(x, s, t.r[i].lo, t.r[i].hi);
}

static void class(rx *x, cset *s) {
    bool neg = x->p < x->end && *x->p == '^';
    if (neg)
        x->p++;
    cset t = {0};
    bool first = true;
    for (;;) {
        if (x->p >= x->end)
            rx_fail(x, "an unterminated [");
        if (*x->p == ']' && !first) {
            x->p++;
            break;
        }
        first = false;
        cset one = {0};
        if (*x->p == '\\') {
            x->p++;
            escape(x, &one, true);
        } else {
            uint32_t cp = next_cp(x);
            cs_add(x, &one, cp, cp);
        }
        if (one.n == 1 && one.r[0].lo == one.r[0].hi && x->p + 1 < x->end &&
            x->p[0] == '-' && x->p[1] != ']') {
            x->p++;
            cset hi = {0};
            if (*x->p == '\\') {
                x->p++;
                escape(x, &hi, true);
            } else {
                uint32_t cp = next_cp(x);
                cs_add(x, &hi, cp, cp);
            }
            if (hi.n != 1 || hi.r[0].lo != hi.r[0].hi || hi.r[0].lo < one.r[0].lo)
                rx_fail(x, "a bad range in []");
            cs_add(x, &t, one.r[0].lo, hi.r[0].lo);
        } else {
            t.shorthand |= one.shorthand;
            for (size_t i = 0; i < one.n; i++)
                cs_add(x, &t, one.r[i].lo, one.r[i].hi);
        }
    }
    *s = neg ? cs_not(x, &t) : t;
    if (neg && t.shorthand)
        cs_ascii(s);
}

static bool alt(rx *x, js_buf *b);

static bool number(rx *x, int *v) {
    if (x->p >= x->end || *x->p < '0' || *x->p > '9')
        return false;
    long n = 0;
    while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
        if (n < 100000)
            n = n * 10 + (*x->p - '0');
        x->p++;
    }
    *v = (int)n;
    return true;
}

/* {n}, {n,}, {n,m} at x->p; false (x->p unchanged) if it is not one. */
static bool braces(rx *x, int *lo, int *hi) {
    const char *save = x->p;
    x->p++;
    if (!number(x, lo))
        goto no;
    *hi = *lo;
    if (x->p < x->end && *x->p == ',') {
        x->p++;
        if (!number(x, hi))
            *hi = -1;
    }
    if (x->p < x->end && *x->p == '}') {
        x->p++;
        return true;
    }
no:
    x->p = save;
    return false;
}

/* Returns whether the sequence can match the empty string: an unbounded
 * repeat of such a part would be a left-recursive rule in GBNF. */
static bool seq(rx *x, js_buf *b) {
    const char *sep = "";
    bool nullable = true;
    while (x->p < x->end && *x->p != '|' && *x->p != ')') {
        js_buf atom;
        js_buf_init(&atom, x->c);
        char ch = *x->p;
        bool atom_nullable = false;
        if (ch == '(') {
            x->p++;
            if (x->p + 1 < x->end && x->p[0] == '?') {
                if (x->p[1] != ':')
                    rx_fail(x, "lookaround and group flags are not supported");
                x->p += 2;
            }
            if (++x->nest > MAX_NEST)
                rx_fail(x, "groups nested too deeply");
            js_buf_puts(&atom, "(");
            atom_nullable = alt(x, &atom);
            js_buf_puts(&atom, ")");
            x->nest--;
            if (x->p >= x->end || *x->p != ')')
                rx_fail(x, "an unclosed (");
            x->p++;
        } else if (ch == '[') {
            x->p++;
            cset s;
            class(x, &s);
            emit_set(x, &atom, &s);
        } else if (ch == '.') {
            x->p++;
            cset s = {0};
            cs_add(x, &s, '\n', '\n');
            s = cs_not(x, &s);
            emit_set(x, &atom, &s);
        } else if (ch == '\\') {
            x->p++;
            cset s = {0};
            escape(x, &s, false);
            emit_set(x, &atom, &s);
        } else if (ch == '*' || ch == '+' || ch == '?' || ch == '^' || ch == '$') {
            rx_fail(x, ch == '^' || ch == '$' ? "an anchor inside the pattern"
                                              : "a quantifier with nothing before it");
        } else {
            cset s = {0};
            uint32_t cp = next_cp(x);
            cs_add(x, &s, cp, cp);
            emit_set(x, &atom, &s);
        }
        int lo = -2, hi = -2;
        if (x->p < x->end) {
            if (*x->p == '*')
                lo = 0, hi = -1, x->p++;
            else if (*x->p == '+')
                lo = 1, hi = -1, x->p++;
            else if (*x->p == '?')
                lo = 0, hi = 1, x->p++;
            else if (*x->p == '{' && !braces(x, &lo, &hi))
                lo = -2;
            if (lo != -2 && x->p < x->end && *x->p == '?')
                x->p++; /* lazy: the same strings */
        }
        js_buf_puts(b, sep);
        sep = " ";
        js_buf_puts(b, js_buf_str(&atom));
        if (!atom_nullable && lo != 0)
            nullable = false;
        if (lo == -2)
            continue;
        if (atom_nullable && hi == -1)
            rx_fail(x, "an unbounded repeat of a group that can match nothing, like (a?)+");
        if (lo > MAX_REP || (hi >= 0 && hi < lo))
            rx_fail(x, "a repetition count over 1000 or out of order");
        if (hi > MAX_REP)
            hi = MAX_REP; /* fewer repetitions: still matches */
        if (lo == 0 && hi == -1)
            js_buf_puts(b, "*");
        else if (lo == 1 && hi == -1)
            js_buf_puts(b, "+");
        else if (lo == 0 && hi == 1)
            js_buf_puts(b, "?");
        else if (hi == -1)
            js_buf_printf(b, "{%d,}", lo);
        else if (lo == hi)
            js_buf_printf(b, "{%d}", lo);
        else
            js_buf_printf(b, "{%d,%d}", lo, hi);
    }
    return nullable;
}

static bool alt(rx *x, js_buf *b) {
    bool nullable = seq(x, b);
    while (x->p < x->end && *x->p == '|') {
        x->p++;
        js_buf_puts(b, " | ");
        nullable |= seq(x, b);
    }
    return nullable;
}

char *js_regex(js_conv *c, const char *re) {
    size_t n = strlen(re);
    rx x = {c, re, re, re + n, 0};
    if (n && re[0] == '^')
        x.p++;
    if (x.end > x.p && x.end[-1] == '$') {
        size_t bs = 0;
        for (const char *q = x.end - 2; q >= x.p && *q == '\\'; q--)
            bs++;
        if (bs % 2 == 0)
            x.end--;
    }
    js_buf b;
    js_buf_init(&b, c);
    js_buf_puts(&b, "(");
    alt(&x, &b);
    if (x.p < x.end)
        rx_fail(&x, "an unmatched )");
    js_buf_puts(&b, ")");
    return js_buf_str(&b);
}
