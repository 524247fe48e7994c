/* args.c — the .args file: default arguments stored in a llamafile.
 *
 * Words are separated by whitespace (one per line by convention). Inside a
 * word: '...' is literal; "..." expands $VAR and C escapes (\n \t \xHH
 * \NNN ...); outside quotes a backslash escapes the next character (\n,
 * \t etc. give control characters; backslash-newline joins lines); $VAR
 * and ${VAR} expand to the variable's value as part of the word, never
 * splitting it. # starts a comment only at the start of a word. A bare
 * ... is where the command line's arguments go. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "format/zip.h"

#define MAX_VAR_NAME 255

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

typedef struct lexer {
    const char *s;
    size_t n, i;
    int line;
    lf_error *err;
} lexer;

static bool push(lexer *lx, buf *b, char c) {
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char *p = realloc(b->p, cap);
        if (!p) {
            return lf_fail(lx->err, ".args: out of memory");
        }
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = c;
    b->p[b->len] = 0;
    return true;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

__attribute__((format(printf, 3, 4)))
static bool lex_fail(lexer *lx, int line, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return lf_fail(lx->err, ".args: line %d: %s", line, msg);
}

/* The letter escapes both inside and outside double quotes; -1 if c is
 * not one. */
static int letter_escape(char c) {
    switch (c) {
    case 'a': return '\a';
    case 'b': return '\b';
    case 'e': return 27;
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return -1;
    }
}

/* After a '$' (at lx->i): appends the variable's value, or a literal '$'
 * when no name follows. */
static bool expand(lexer *lx, buf *w) {
    char name[MAX_VAR_NAME + 1];
    size_t len = 0;
    int line = lx->line;
    bool braces = lx->i < lx->n && lx->s[lx->i] == '{';
    if (braces)
        lx->i++;
    while (lx->i < lx->n && is_name_char(lx->s[lx->i])) {
        if (len == MAX_VAR_NAME)
            return lex_fail(lx, line, "variable name longer than %d bytes", MAX_VAR_NAME);
        name[len++] = lx->s[lx->i++];
    }
    name[len] = 0;
    if (braces) {
        if (lx->i >= lx->n || lx->s[lx->i] == '\n')
            return lex_fail(lx, line, "unterminated ${ (no closing brace)");
        if (lx->s[lx->i] != '}' || len == 0)
            return lex_fail(lx, line, "bad variable name in ${...}: only letters, digits "
                            "and _ are allowed");
        lx->i++;
    } else if (len == 0) {
        return push(lx, w, '$');
    }
    const char *v = getenv(name);
    for (; v && *v; v++)
        if (!push(lx, w, *v))
            return false;
    return true;
}

/* Up to max digits of a base (8 or 16) number at lx->i. */
static int number(lexer *lx, int base, int max, int *digits) {
    int v = 0;
    for (*digits = 0; *digits < max && lx->i < lx->n; ++*digits) {
        char c = lx->s[lx->i];
        int d = c >= '0' && c <= '7' ? c - '0'
              : base == 16 && c >= '8' && c <= '9' ? c - '0'
              : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        v = v * base + d;
        lx->i++;
    }
    return v;
}

/* A backslash escape (lx->i is past the backslash). Inside double quotes
 * octal and hex escapes are allowed too. */
static bool escape(lexer *lx, buf *w, bool dquote) {
    int line = lx->line;
    if (lx->i >= lx->n)
        return lex_fail(lx, line, "backslash at the end of the file");
    char c = lx->s[lx->i++];
    if (c == '\r' && lx->i < lx->n && lx->s[lx->i] == '\n')
        c = lx->s[lx->i++];
    if (c == '\n') {
        lx->line++;
        return true;
    }
    int v = letter_escape(c), digits;
    if (dquote && c == 'x') {
        v = number(lx, 16, 2, &digits);
        if (!digits)
            return lex_fail(lx, line, "\\x with no hex digits");
    } else if (dquote && c >= '0' && c <= '7') {
        lx->i--;
        v = number(lx, 8, 3, &digits);
        if (v > 255)
            return lex_fail(lx, line, "octal escape \\%o is larger than a byte", (unsigned)v);
    } else if (v < 0) {
        v = (unsigned char)c;
    }
    if (v == 0)
        return lex_fail(lx, line, "an escape gives a NUL byte, which an argument cannot hold");
    return push(lx, w, (char)v);
}

static bool single_quoted(lexer *lx, buf *w) {
    int line = lx->line;
    for (;;) {
        if (lx->i >= lx->n)
            return lex_fail(lx, line, "unterminated single quote");
        char c = lx->s[lx->i++];
        if (c == '\'')
            return true;
        if (c == '\n')
            lx->line++;
        if (!push(lx, w, c))
            return false;
    }
}

static bool double_quoted(lexer *lx, buf *w) {
    int line = lx->line;
    for (;;) {
        if (lx->i >= lx->n)
            return lex_fail(lx, line, "unterminated double quote");
        char c = lx->s[lx->i++];
        bool ok = true;
        if (c == '"')
            return true;
        if (c == '\\')
            ok = escape(lx, w, true);
        else if (c == '$')
            ok = expand(lx, w);
        else {
            if (c == '\n')
                lx->line++;
            ok = push(lx, w, c);
        }
        if (!ok)
            return false;
    }
}

/* The next word into w. *got is false at the end of the text; *dots is
 * true for a bare "...". */
static bool next_word(lexer *lx, buf *w, bool *got, bool *dots) {
    *got = *dots = false;
    w->len = 0;
    for (;;) {
        while (lx->i < lx->n && is_space(lx->s[lx->i]))
            if (lx->s[lx->i++] == '\n')
                lx->line++;
        if (lx->i >= lx->n)
            return true;
        if (lx->s[lx->i] != '#')
            break;
        while (lx->i < lx->n && lx->s[lx->i] != '\n')
            lx->i++;
    }
    *got = true;
    if (lx->n - lx->i >= 3 && !memcmp(lx->s + lx->i, "...", 3) &&
        (lx->n - lx->i == 3 || is_space(lx->s[lx->i + 3]))) {
        lx->i += 3;
        *dots = true;
        return true;
    }
    if (!push(lx, w, 0)) /* an empty word ('' or $UNSET) is still a word */
        return false;
    w->len = 0;
    while (lx->i < lx->n && !is_space(lx->s[lx->i])) {
        char c = lx->s[lx->i++];
        bool ok;
        if (c == '\'')
            ok = single_quoted(lx, w);
        else if (c == '"')
            ok = double_quoted(lx, w);
        else if (c == '\\')
            ok = escape(lx, w, false);
        else if (c == '$')
            ok = expand(lx, w);
        else
            ok = push(lx, w, c);
        if (!ok)
            return false;
    }
    return true;
}

typedef struct vec {
    char **v;
    int n, cap;
} vec;

static bool vec_add(vec *a, const char *s, lf_error *err) {
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        char **v = realloc(a->v, (size_t)cap * sizeof(*v));
        if (!v)
            return lf_fail(err, ".args: out of memory");
        a->v = v;
        a->cap = cap;
    }
    if (!(a->v[a->n] = strdup(s)))
        return lf_fail(err, ".args: out of memory");
    a->v[++a->n] = NULL;
    return true;
}

static bool add_user_args(vec *a, int argc, char **argv, lf_error *err) {
    for (int i = 1; i < argc; i++)
        if (!vec_add(a, argv[i] ? argv[i] : "", err))
            return false;
    return true;
}

void lf_args_free(char **argv) {
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

static bool merge(const char *text, size_t len, int argc, char **argv, int *out_argc,
                  char ***out_argv, int *user_first, lf_error *err) {
    vec a = {0};
    buf w = {0};
    lexer lx = {text ? text : "", text ? len : 0, 0, 1, err};
    bool ok = true;
    const char *nul = memchr(lx.s, 0, lx.n);
    if (nul) {
        int line = 1;
        for (const char *p = lx.s; p < nul; p++)
            line += *p == '\n';
        ok = lex_fail(&lx, line, "NUL byte in the text");
    }
    ok = ok && vec_add(&a, argc > 0 && argv[0] ? argv[0] : "", err);
    bool placed = false, got = true, dots;
    while (ok && got) {
        ok = next_word(&lx, &w, &got, &dots);
        if (!ok || !got)
            break;
        if (dots) {
            if (!placed)
                *user_first = a.n;
            ok = placed || add_user_args(&a, argc, argv, err);
            placed = true;
        } else {
            ok = vec_add(&a, w.p, err);
        }
    }
    if (ok && !placed) {
        *user_first = a.n;
        ok = add_user_args(&a, argc, argv, err);
    }
    free(w.p);
    if (!ok) {
        lf_args_free(a.v);
        return false;
    }
    *out_argc = a.n;
    *out_argv = a.v;
    return true;
}

bool lf_args_merge(const char *text, size_t len, int argc, char **argv, int *out_argc,
                   char ***out_argv, lf_error *err) {
    int user_first;
    return merge(text, len, argc, argv, out_argc, out_argv, &user_first, err);
}

bool lf_args_load_self(int argc, char **argv, int *out_argc, char ***out_argv,
                       int *user_first, lf_error *err) {
    lf_zip *z = lf_zip_open_self(err);
    if (!z)
        return false;
    const lf_zip_entry *e = lf_zip_find(z, ".args");
    char *text = NULL;
    size_t len = 0;
    bool ok = !e || lf_zip_read_member(z, e, &text, &len, err);
    lf_zip_close(z);
    int first;
    ok = ok && merge(text, len, argc, argv, out_argc, out_argv, &first, err);
    if (ok && user_first)
        *user_first = first;
    free(text);
    return ok;
}
