/* grammar_parse.c — GBNF text to rules (grammar.h), with llama.cpp's syntax
 * (grammars/README.md): `name ::= alternatives` one rule per line (a
 * newline after `|` or inside parentheses continues it), "literals",
 * [classes] with ranges and ^, `.`, (groups), `* + ? {m} {m,} {m,n}`,
 * token references <[id]>, <text>, !<...>, # comments. Escapes: \xHH
 * \uHHHH \UHHHHHHHH \t \n \r \\ \" \[ \]. Errors carry line:column (column
 * in code points, from 1). Undefined rules, a missing root, a rule defined
 * twice and left recursion are errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "sample/grammar.h"

enum {
    MAX_ELEMS = 1 << 20, /* elements in all, repetitions expanded */
    MAX_REPEAT = 1 << 16,
    MAX_DEPTH = 1000,    /* nested groups while parsing; left-corner chains */
    HASH = 4096,
};

typedef struct seq {
    gelem *e;
    int32_t n, cap;
} seq;

typedef struct parser {
    gcompiled *g;
    const lf_model *m;
    const char *src, *p;
    lf_error *err;
    bool failed;
    int32_t *use; /* per rule: offset of its first use */
    int32_t cap_use;
    bool *defined;
    int32_t depth;
    int32_t bucket[HASH], *hnext; /* the named (not generated) rules by name */
} parser;

static uint32_t hash_name(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h % HASH;
}

static void locate(const char *src, const char *at, int *line, int *col) {
    *line = 1, *col = 1;
    for (const char *s = src; s < at && *s; s++) {
        if (*s == '\n')
            (*line)++, *col = 1;
        else if (((unsigned char)*s & 0xc0) != 0x80)
            (*col)++;
    }
}

__attribute__((format(printf, 3, 4))) static bool perr(parser *ps, const char *at,
                                                       const char *fmt, ...) {
    if (ps->failed)
        return false;
    ps->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!at)
        return lf_fail(ps->err, "gbnf: %s", msg);
    int line, col;
    locate(ps->src, at, &line, &col);
    return lf_fail(ps->err, "gbnf:%d:%d: %s", line, col, msg);
}

static bool oom(parser *ps) { return perr(ps, NULL, "out of memory"); }

/* Grows *p (elements of size sz) to hold n + 1. */
static bool grow(void **p, int32_t *cap, int32_t n, size_t sz) {
    if (n < *cap)
        return true;
    int32_t c = *cap ? *cap * 2 : 16;
    void *q = lf_realloc(*p, (size_t)c * sz);
    if (!q)
        return false;
    *p = q, *cap = c;
    return true;
}

static bool seq_push(parser *ps, seq *s, gelem e) {
    if (s->n >= MAX_ELEMS)
        return perr(ps, ps->p, "grammar too large (over %d elements)", MAX_ELEMS);
    if (!grow((void **)&s->e, &s->cap, s->n, sizeof(gelem)))
        return oom(ps);
    s->e[s->n++] = e;
    return true;
}

static int32_t new_rule(parser *ps, const char *name, size_t len, const char *at) {
    gcompiled *g = ps->g;
    if (!grow((void **)&g->rules, &g->cap_rules, g->n_rules, sizeof(grule)) ||
        !grow((void **)&ps->use, &ps->cap_use, g->n_rules, sizeof(int32_t))) {
        oom(ps);
        return -1;
    }
    int32_t cap = ps->cap_use;
    bool *d = lf_realloc(ps->defined, (size_t)cap);
    if (d)
        ps->defined = d;
    int32_t *hn = d ? lf_realloc(ps->hnext, sizeof(int32_t) * (size_t)cap) : NULL;
    if (hn)
        ps->hnext = hn;
    char *nm = lf_strndup(name, len);
    if (!hn || !nm) {
        free(nm);
        oom(ps);
        return -1;
    }
    int32_t r = g->n_rules++;
    g->rules[r] = (grule){-1, 0, nm, (int32_t)(at - ps->src)};
    ps->use[r] = (int32_t)(at - ps->src);
    ps->defined[r] = false;
    return r;
}

static int32_t find_rule(parser *ps, const char *name, size_t len, const char *at) {
    uint32_t h = hash_name(name, len);
    for (int32_t i = ps->bucket[h]; i >= 0; i = ps->hnext[i])
        if (strlen(ps->g->rules[i].name) == len && !memcmp(ps->g->rules[i].name, name, len))
            return i;
    int32_t r = new_rule(ps, name, len, at);
    if (r >= 0)
        ps->hnext[r] = ps->bucket[h], ps->bucket[h] = r;
    return r;
}

/* A generated rule for a group or repetition inside rule parent. */
static int32_t gen_rule(parser *ps, int32_t parent, const char *at) {
    char name[300];
    snprintf(name, sizeof name, "%.250s_%d", ps->g->rules[parent].name, ps->g->n_rules);
    int32_t r = new_rule(ps, name, strlen(name), at);
    if (r >= 0)
        ps->defined[r] = true;
    return r;
}

/* Appends rule r's alternatives (each ended by G_END) to the grammar. */
static bool commit(parser *ps, int32_t r, seq *alts, int32_t n) {
    gcompiled *g = ps->g;
    g->rules[r].first_alt = g->n_alts;
    g->rules[r].n_alts = n;
    for (int32_t i = 0; i < n; i++) {
        if (!grow((void **)&g->alts, &g->cap_alts, g->n_alts, sizeof(int32_t)))
            return oom(ps);
        g->alts[g->n_alts++] = g->n_elems;
        if (g->n_elems + alts[i].n + 1 > MAX_ELEMS)
            return perr(ps, ps->p, "grammar too large (over %d elements)", MAX_ELEMS);
        for (int32_t j = 0; j <= alts[i].n; j++) {
            if (!grow((void **)&g->elems, &g->cap_elems, g->n_elems, sizeof(gelem)))
                return oom(ps);
            g->elems[g->n_elems++] = j < alts[i].n ? alts[i].e[j] : (gelem){G_END, 0};
        }
    }
    return true;
}

static int32_t add_class(parser *ps, bool negated, const uint32_t *r, int32_t n) {
    gcompiled *g = ps->g;
    if (!grow((void **)&g->classes, &g->cap_classes, g->n_classes, sizeof(gclass))) {
        oom(ps);
        return -1;
    }
    gclass c = {{0, 0}, negated, g->n_ranges, n};
    for (int32_t i = 0; i < n; i++) {
        if (!grow((void **)&g->ranges, &g->cap_ranges, 2 * g->n_ranges + 1, 2 * sizeof(uint32_t))) {
            oom(ps);
            return -1;
        }
        g->ranges[2 * g->n_ranges] = r[2 * i];
        g->ranges[2 * g->n_ranges + 1] = r[2 * i + 1];
        g->n_ranges++;
    }
    for (uint32_t cp = 0; cp < 128; cp++) {
        bool in = false;
        for (int32_t i = 0; i < n; i++)
            in |= r[2 * i] <= cp && cp <= r[2 * i + 1];
        if (in != negated)
            c.ascii[cp >> 6] |= 1ull << (cp & 63);
    }
    g->classes[g->n_classes] = c;
    return g->n_classes++;
}

static bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static void skip_space(parser *ps, bool newlines) {
    for (;;) {
        char c = *ps->p;
        if (c == '#') {
            while (*ps->p && *ps->p != '\n' && *ps->p != '\r')
                ps->p++;
        } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
            ps->p++;
        } else {
            return;
        }
    }
}

static bool hex(parser *ps, const char *at, int digits, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        char c = ps->p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return perr(ps, at, "expecting %d hex digits after \\%c", digits, at[1]);
        v = v << 4 | (uint32_t)d;
    }
    if (v > 0x10ffff)
        return perr(ps, at, "code point U+%X is out of range", (unsigned)v);
    ps->p += digits;
    *out = v;
    return true;
}

/* One character of a literal or class, escapes decoded. */
static bool parse_char(parser *ps, uint32_t *cp) {
    const char *at = ps->p;
    const unsigned char *s = (const unsigned char *)ps->p;
    if (*s == '\\') {
        ps->p += 2;
        switch (s[1]) {
        case 'x': return hex(ps, at, 2, cp);
        case 'u': return hex(ps, at, 4, cp);
        case 'U': return hex(ps, at, 8, cp);
        case 't': *cp = '\t'; return true;
        case 'n': *cp = '\n'; return true;
        case 'r': *cp = '\r'; return true;
        case '\\': case '"': case '[': case ']': *cp = s[1]; return true;
        case 0: return perr(ps, at, "unexpected end of grammar after '\\'");
        default: return perr(ps, at, "unknown escape '\\%c'", s[1]);
        }
    }
    if (*s < 0x80) {
        *cp = *s;
        ps->p++;
        return true;
    }
    int n = *s >= 0xf0 && *s < 0xf5 ? 3 : *s >= 0xe0 ? 2 : *s >= 0xc2 && *s < 0xe0 ? 1 : -1;
    if (*s >= 0xf5)
        n = -1;
    uint32_t v = n == 3 ? *s & 7u : n == 2 ? *s & 15u : *s & 31u;
    for (int i = 1; n > 0 && i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            n = -1;
        else
            v = v << 6 | (s[i] & 63u);
    }
    if (n < 0 || (n == 2 && v < 0x800) || (n == 3 && (v < 0x10000 || v > 0x10ffff)))
        return perr(ps, at, "invalid UTF-8");
    ps->p += n + 1;
    *cp = v;
    return true;
}

static bool parse_literal(parser *ps, seq *out) {
    const char *at = ps->p++;
    while (*ps->p != '"') {
        if (!*ps->p || *ps->p == '\n' || *ps->p == '\r')
            return perr(ps, at, "unterminated string literal");
        uint32_t cp, r[2];
        if (!parse_char(ps, &cp))
            return false;
        r[0] = r[1] = cp;
        int32_t c = add_class(ps, false, r, 1);
        if (c < 0 || !seq_push(ps, out, (gelem){G_CHAR, c}))
            return false;
    }
    ps->p++;
    return true;
}

static bool parse_class(parser *ps, seq *out) {
    const char *at = ps->p++;
    bool neg = *ps->p == '^';
    ps->p += neg;
    uint32_t *r = NULL;
    int32_t n = 0, cap = 0;
    bool ok = true;
    while (ok && *ps->p != ']') {
        if (!*ps->p || *ps->p == '\n' || *ps->p == '\r') {
            ok = perr(ps, at, "unterminated character class");
            break;
        }
        const char *item = ps->p;
        uint32_t lo, hi;
        ok = parse_char(ps, &lo);
        hi = lo;
        if (ok && ps->p[0] == '-' && ps->p[1] != ']' && ps->p[1]) {
            ps->p++;
            ok = parse_char(ps, &hi);
            if (ok && hi < lo)
                ok = perr(ps, item, "empty range U+%X-U+%X", (unsigned)lo, (unsigned)hi);
        }
        if (ok && !grow((void **)&r, &cap, 2 * n + 1, 2 * sizeof(uint32_t)))
            ok = oom(ps);
        if (ok)
            r[2 * n] = lo, r[2 * n + 1] = hi, n++;
    }
    int32_t c = -1;
    if (ok) {
        ps->p++;
        c = add_class(ps, neg, r, n);
    }
    free(r);
    return c >= 0 && seq_push(ps, out, (gelem){G_CHAR, c});
}

static bool parse_token(parser *ps, seq *out, bool negated) {
    const char *at = ps->p;
    if (!ps->m)
        return perr(ps, at, "a token reference needs a model's vocabulary");
    int32_t id = -1, n_vocab = lf_model_n_vocab(ps->m);
    if (ps->p[1] == '[') {
        const char *q = ps->p + 2;
        int64_t v = 0;
        while (*q >= '0' && *q <= '9' && v < INT32_MAX)
            v = v * 10 + (*q++ - '0');
        if (q == ps->p + 2 || q[0] != ']' || q[1] != '>')
            return perr(ps, at, "expecting <[token id]>");
        if (v >= n_vocab)
            return perr(ps, at, "token %lld is not in the vocabulary", (long long)v);
        id = (int32_t)v;
        ps->p = q + 2;
    } else {
        const char *q = ps->p + 1;
        while (*q && *q != '>' && *q != '\n')
            q++;
        if (*q != '>')
            return perr(ps, at, "unterminated token reference");
        size_t len = (size_t)(q - ps->p + 1);
        int32_t toks[2];
        int64_t k = lf_tokenize(ps->m, ps->p, len, toks, 2, false, true);
        if (k != 1)
            return perr(ps, at, "'%.*s' is not a single token", (int)(len > 64 ? 64 : len), ps->p);
        id = toks[0];
        ps->p = q + 1;
    }
    return seq_push(ps, out, (gelem){(uint8_t)(negated ? G_NOT_TOKEN : G_TOKEN), id});
}

static bool parse_alternatives(parser *ps, int32_t rule, bool nested);

/* Replaces out[start..] (the last item) by its repetition min..max times
 * (max < 0: unbounded), through generated rules for the optional part. */
static bool repeat(parser *ps, int32_t rule, seq *out, int32_t start, int64_t min, int64_t max,
                   const char *at) {
    int32_t len = out->n - start;
    int64_t opt = max < 0 ? 1 : max - min;
    if (len <= 0)
        return perr(ps, at, "nothing to repeat");
    if ((min + opt) * (len + 2) > MAX_ELEMS)
        return perr(ps, at, "repetition too large");
    seq item = {lf_malloc(sizeof(gelem) * (size_t)len), len, len};
    if (!item.e)
        return oom(ps);
    memcpy(item.e, out->e + start, sizeof(gelem) * (size_t)len);
    out->n = start;
    bool ok = true;
    for (int64_t i = 0; ok && i < min; i++)
        for (int32_t j = 0; ok && j < len; j++)
            ok = seq_push(ps, out, item.e[j]);
    int32_t prev = -1; /* the optional tail built so far */
    for (int64_t k = 0; ok && k < (max < 0 ? 1 : opt); k++) {
        int32_t r = gen_rule(ps, rule, at);
        seq alts[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
        ok = r >= 0;
        for (int32_t j = 0; ok && j < len; j++)
            ok = seq_push(ps, &alts[0], item.e[j]);
        int32_t tail = max < 0 ? r : prev;
        if (ok && tail >= 0)
            ok = seq_push(ps, &alts[0], (gelem){G_REF, tail});
        ok = ok && commit(ps, r, alts, 2);
        free(alts[0].e);
        prev = r;
    }
    if (ok && prev >= 0)
        ok = seq_push(ps, out, (gelem){G_REF, prev});
    free(item.e);
    return ok;
}

static bool parse_int(parser *ps, int64_t *v) {
    if (*ps->p < '0' || *ps->p > '9')
        return perr(ps, ps->p, "expecting a number");
    *v = 0;
    while (*ps->p >= '0' && *ps->p <= '9') {
        *v = *v * 10 + (*ps->p++ - '0');
        if (*v > MAX_REPEAT)
            return perr(ps, ps->p, "repetition count over %d", MAX_REPEAT);
    }
    return true;
}

/* {m}, {m,}, {m,n} */
static bool parse_braces(parser *ps, int64_t *min, int64_t *max) {
    const char *at = ps->p++;
    skip_space(ps, true);
    if (!parse_int(ps, min))
        return false;
    skip_space(ps, true);
    *max = *min;
    if (*ps->p == ',') {
        ps->p++;
        skip_space(ps, true);
        *max = -1;
        if (*ps->p != '}' && !parse_int(ps, max))
            return false;
        skip_space(ps, true);
    }
    if (*ps->p != '}')
        return perr(ps, ps->p, "expecting '}'");
    ps->p++;
    if (*max >= 0 && *max < *min)
        return perr(ps, at, "repetition {%lld,%lld}: the maximum is below the minimum",
                    (long long)*min, (long long)*max);
    return true;
}

static bool parse_sequence(parser *ps, int32_t rule, seq *out, bool nested) {
    int32_t last = -1; /* where the last item starts */
    for (;;) {
        skip_space(ps, nested);
        const char *at = ps->p;
        char c = *ps->p;
        int32_t start = out->n;
        bool ok = true;
        if (c == '"') {
            ok = parse_literal(ps, out);
        } else if (c == '[') {
            ok = parse_class(ps, out);
        } else if (c == '.') {
            ps->p++;
            int32_t k = add_class(ps, true, NULL, 0);
            ok = k >= 0 && seq_push(ps, out, (gelem){G_CHAR, k});
        } else if (c == '<' || (c == '!' && ps->p[1] == '<')) {
            ps->p += c == '!';
            ok = parse_token(ps, out, c == '!');
        } else if (c == '!') {
            return perr(ps, at, "expecting '<' after '!'");
        } else if (is_word(c)) {
            const char *name = ps->p;
            while (is_word(*ps->p))
                ps->p++;
            int32_t r = find_rule(ps, name, (size_t)(ps->p - name), name);
            ok = r >= 0 && seq_push(ps, out, (gelem){G_REF, r});
        } else if (c == '(') {
            if (++ps->depth > MAX_DEPTH)
                return perr(ps, at, "groups nested too deeply");
            ps->p++;
            int32_t r = gen_rule(ps, rule, at);
            ok = r >= 0 && parse_alternatives(ps, r, true);
            if (ok && *ps->p != ')')
                ok = perr(ps, ps->p, "expecting ')'");
            ps->p++;
            ps->depth--;
            ok = ok && seq_push(ps, out, (gelem){G_REF, r});
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (last < 0)
                return perr(ps, at, "'%c' with nothing before it to repeat", c);
            int64_t min = c == '+', max = c == '?' ? 1 : -1;
            if (c == '{')
                ok = parse_braces(ps, &min, &max);
            else
                ps->p++;
            ok = ok && repeat(ps, rule, out, last, min, max, at);
            start = last;
        } else {
            return true; /* the caller checks what ends the sequence */
        }
        if (!ok)
            return false;
        last = start;
    }
}

static bool parse_alternatives(parser *ps, int32_t rule, bool nested) {
    seq *alts = NULL;
    int32_t n = 0, cap = 0;
    bool ok = true;
    for (;;) {
        if (!grow((void **)&alts, &cap, n, sizeof(seq))) {
            ok = oom(ps);
            break;
        }
        alts[n++] = (seq){NULL, 0, 0};
        if (!(ok = parse_sequence(ps, rule, &alts[n - 1], nested)))
            break;
        if (*ps->p != '|')
            break;
        ps->p++;
        skip_space(ps, true);
    }
    ok = ok && commit(ps, rule, alts, n);
    for (int32_t i = 0; i < n; i++)
        free(alts[i].e);
    free(alts);
    return ok;
}

static bool parse_rule(parser *ps) {
    const char *at = ps->p;
    if (!is_word(*ps->p))
        return perr(ps, at, "expecting a rule name");
    while (is_word(*ps->p))
        ps->p++;
    size_t len = (size_t)(ps->p - at);
    skip_space(ps, false);
    if (strncmp(ps->p, "::=", 3))
        return perr(ps, ps->p, "expecting '::='");
    ps->p += 3;
    int32_t r = find_rule(ps, at, len, at);
    if (r < 0)
        return false;
    if (ps->defined[r]) {
        int line, col;
        locate(ps->src, ps->src + ps->g->rules[r].at, &line, &col);
        return perr(ps, at, "rule '%s' is defined twice (first at %d:%d)", ps->g->rules[r].name,
                    line, col);
    }
    ps->defined[r] = true;
    ps->g->rules[r].at = (int32_t)(at - ps->src);
    skip_space(ps, true);
    if (!parse_alternatives(ps, r, false))
        return false;
    if (*ps->p == ')')
        return perr(ps, ps->p, "unbalanced ')'");
    if (*ps->p && *ps->p != '\n' && *ps->p != '\r')
        return perr(ps, ps->p, "unexpected '%c'", *ps->p);
    return true;
}

/* Rules that can match the empty text. */
static bool *nullable_rules(const gcompiled *g) {
    bool *nul = lf_calloc((size_t)g->n_rules + 1, 1);
    if (!nul)
        return NULL;
    for (bool changed = true; changed;) {
        changed = false;
        for (int32_t r = 0; r < g->n_rules; r++) {
            for (int32_t a = 0; !nul[r] && a < g->rules[r].n_alts; a++) {
                const gelem *e = &g->elems[g->alts[g->rules[r].first_alt + a]];
                while (e->type == G_REF && nul[e->v])
                    e++;
                if (e->type == G_END)
                    nul[r] = changed = true;
            }
        }
    }
    return nul;
}

/* Depth-first over "r can start with s" edges: a cycle is left recursion.
 * color: 0 new, 1 on the path, 2 done. */
static bool left_check(parser *ps, int32_t r, const bool *nul, uint8_t *color, int depth) {
    const gcompiled *g = ps->g;
    if (color[r] == 2)
        return true;
    if (color[r] == 1)
        return perr(ps, ps->src + g->rules[r].at, "rule '%s' is left-recursive", g->rules[r].name);
    if (depth > MAX_DEPTH)
        return perr(ps, NULL, "rules nested too deeply (over %d)", MAX_DEPTH);
    color[r] = 1;
    for (int32_t a = 0; a < g->rules[r].n_alts; a++) {
        const gelem *e = &g->elems[g->alts[g->rules[r].first_alt + a]];
        for (; e->type == G_REF; e++) {
            if (!left_check(ps, e->v, nul, color, depth + 1))
                return false;
            if (!nul[e->v])
                break;
        }
    }
    color[r] = 2;
    return true;
}

static bool check(parser *ps, const char *root) {
    gcompiled *g = ps->g;
    for (int32_t r = 0; r < g->n_rules; r++)
        if (!ps->defined[r])
            return perr(ps, ps->src + ps->use[r], "undefined rule '%s'", g->rules[r].name);
    g->root = -1; /* a named rule, never a generated one */
    for (int32_t r = ps->bucket[hash_name(root, strlen(root))]; r >= 0; r = ps->hnext[r])
        if (!strcmp(g->rules[r].name, root))
            g->root = r;
    if (g->root < 0)
        return perr(ps, NULL, "no rule named '%s'", root);
    bool *nul = nullable_rules(g);
    uint8_t *color = lf_calloc((size_t)g->n_rules + 1, 1);
    bool ok = nul && color;
    if (!ok)
        oom(ps);
    for (int32_t r = 0; ok && r < g->n_rules; r++)
        ok = left_check(ps, r, nul, color, 0);
    free(nul);
    free(color);
    return ok;
}

bool lf_gbnf_parse(gcompiled *g, const lf_model *m, const char *gbnf, const char *root,
                   lf_error *err) {
    memset(g, 0, sizeof(*g));
    parser ps = {g, m, gbnf ? gbnf : "", gbnf ? gbnf : "", err, false, NULL, 0, NULL, 0,
                 {0}, NULL};
    memset(ps.bucket, 0xff, sizeof ps.bucket);
    skip_space(&ps, true);
    if (!*ps.p)
        perr(&ps, NULL, "empty grammar");
    while (!ps.failed && *ps.p) {
        if (!parse_rule(&ps))
            break;
        skip_space(&ps, true);
    }
    bool ok = !ps.failed && check(&ps, root ? root : "root");
    free(ps.use);
    free(ps.defined);
    free(ps.hnext);
    if (!ok)
        lf_gbnf_free(g);
    return ok;
}

void lf_gbnf_free(gcompiled *g) {
    for (int32_t r = 0; r < g->n_rules; r++)
        free(g->rules[r].name);
    free(g->elems);
    free(g->alts);
    free(g->rules);
    free(g->classes);
    free(g->ranges);
    memset(g, 0, sizeof(*g));
}

bool lf_gclass_match(const gcompiled *g, const gclass *c, uint32_t cp) {
    if (cp < 128)
        return c->ascii[cp >> 6] >> (cp & 63) & 1;
    if (c->n == 0) /* '.', or a class with no ranges */
        return c->negated;
    const uint32_t *r = g->ranges + 2 * c->first;
    for (int32_t i = 0; i < c->n; i++)
        if (r[2 * i] <= cp && cp <= r[2 * i + 1])
            return !c->negated;
    return c->negated;
}

bool lf_gclass_may_match(const gcompiled *g, const gclass *c, uint32_t lo, uint32_t hi) {
    if (c->n == 0)
        return c->negated;
    const uint32_t *r = g->ranges + 2 * c->first;
    if (!c->negated) {
        for (int32_t i = 0; i < c->n; i++)
            if (r[2 * i] <= hi && lo <= r[2 * i + 1])
                return true;
        return false;
    }
    for (int32_t i = 0; i < c->n; i++) /* negated: unless one range covers it all */
        if (r[2 * i] <= lo && hi <= r[2 * i + 1])
            return false;
    return true;
}
