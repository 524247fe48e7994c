/* pretokenize.c — llama.cpp's regex pre-tokenizers run with PCRE2.
 *
 * llama.cpp runs each regex with std::regex in one of two ways, and the
 * translation below reproduces what each way can and cannot match:
 *  - a regex using \p{..} runs on a "collapsed" copy of the text, one byte
 *    per code point: ASCII stays itself, non-ASCII white space becomes
 *    0x0B, other non-ASCII becomes one byte per category (L, N, P, M, S,
 *    other), and \p{X} becomes "[that byte + the ASCII members of X]".
 *    That equals Unicode properties except that its ASCII list for \p{S}
 *    lacks '~', and \p{Lu}, \p{Ll}, ... all mean any letter.
 *  - a regex without \p{..} runs on code points with non-ASCII white space
 *    replaced by 0x0B, so such characters match \s but never a literal
 *    range that spans them (U+3000 is not in [　-。] there).
 * \s means the Unicode White_Space set in both (std::regex \s on the ASCII
 * ones, plus the 0x0B stand-in), so it is spelled out here. Categories come
 * from PCRE2's Unicode tables; llama.cpp's come from Python's, so a code
 * point assigned in one Unicode version and not the other can differ.
 *
 * Splitting follows unicode_regex_split_stl: matches and the text between
 * them both become pieces; the next regex splits each piece separately
 * (lookarounds and $ see only the piece). llama.cpp's hand-written
 * splitters for the GPT-2 and LLaMA-3 regexes behave exactly like those
 * regexes, so the regexes are used for them too. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "base/alloc.h"
#include "text/pretokenize.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/utf8.h"

#define WS_ITEMS                                                                                   \
    "\\t-\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"  \
    "\\x{3000}"
#define NON_ASCII_WS "[\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]"

/* ------------------------------------------------------------ translation */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = lf_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* Wraps the class at b->p[start..] in prefix ... ")". */
static void sb_wrap(sbuf *b, size_t start, const char *prefix) {
    size_t len = b->n - start;
    char *cls = lf_malloc(len + 1);
    if (!cls) {
        b->oom = true;
        return;
    }
    memcpy(cls, b->p + start, len);
    b->n = start;
    sb_puts(b, prefix);
    sb_putn(b, cls, len);
    sb_puts(b, ")");
    free(cls);
}

typedef struct cls_state {
    size_t start;
    bool negated, has_s, has_tilde, has_non_ascii;
} cls_state;

static void close_class(sbuf *b, const cls_state *c, bool code_point_mode) {
    sb_puts(b, "]");
    if (c->has_s && !c->has_tilde)
        sb_wrap(b, c->start, c->negated ? "(?:~|" : "(?:(?!~)");
    else if (code_point_mode && !c->negated && c->has_non_ascii)
        sb_wrap(b, c->start, "(?:(?!" NON_ASCII_WS ")");
}

/* Handles "\p{NAME}" at re (re[0] == '\\'); returns bytes consumed or 0. */
static size_t translate_property(sbuf *b, const char *re, bool in_class, cls_state *c) {
    const char *close = strchr(re + 3, '}');
    if (!close || close - re > 10)
        return 0;
    size_t nlen = (size_t)(close - (re + 3));
    char name[8];
    memcpy(name, re + 3, nlen);
    name[nlen] = 0;
    if (nlen == 2 && name[0] == 'L' && strchr("ultmo", name[1]))
        name[1] = 0; /* llama.cpp collapses every letter subcategory to L */
    if (!strcmp(name, "S")) {
        if (in_class)
            c->has_s = true;
        sb_puts(b, in_class ? "\\p{S}" : "(?:(?!~)\\p{S})");
    } else {
        sb_puts(b, "\\p{");
        sb_puts(b, name);
        sb_puts(b, "}");
    }
    return (size_t)(close - re) + 1;
}

char *lf_pre_translate(const char *re, lf_error *err) {
    bool code_point_mode = !strstr(re, "\\p{") && !strstr(re, "\\P{");
    sbuf b = {0};
    cls_state c = {0};
    bool in_class = false;
    for (size_t i = 0; re[i];) {
        char ch = re[i];
        if (ch == '\\' && re[i + 1]) {
            char e = re[i + 1];
            size_t used;
            if (e == 's') {
                sb_puts(&b, in_class ? WS_ITEMS : "[" WS_ITEMS "]");
            } else if (e == 'S') {
                if (in_class) {
                    free(b.p);
                    lf_fail(err, "pre-tokenizer regex uses \\S inside a class: %s", re);
                    return NULL;
                }
                sb_puts(&b, "[^" WS_ITEMS "]");
            } else if (e == 'p' && re[i + 2] == '{' && (used = translate_property(&b, re + i, in_class, &c))) {
                i += used;
                continue;
            } else {
                if (in_class && e == '~')
                    c.has_tilde = true;
                sb_putn(&b, re + i, 2);
            }
            i += 2;
            continue;
        }
        if (ch == '[' && !in_class) {
            in_class = true;
            c = (cls_state){.start = b.n, .negated = re[i + 1] == '^'};
            sb_putn(&b, re + i, c.negated ? 2 : 1);
            i += c.negated ? 2 : 1;
            continue;
        }
        if (ch == ']' && in_class) {
            close_class(&b, &c, code_point_mode);
            in_class = false;
            i++;
            continue;
        }
        if (in_class) {
            c.has_tilde |= ch == '~';
            c.has_non_ascii |= (unsigned char)ch >= 0x80;
        }
        sb_putn(&b, &ch, 1);
        i++;
    }
    if (in_class || b.oom) {
        free(b.p);
        lf_fail(err, b.oom ? "out of memory" : "pre-tokenizer regex has an unclosed class: %s", re);
        return NULL;
    }
    return b.p;
}

/* -------------------------------------------------------------- compiling */

struct lf_pretok {
    int n;
    pcre2_code **code;
    pcre2_general_context *gctx; /* PCRE2 allocates through lf_malloc */
};

static void *pc_malloc(PCRE2_SIZE n, void *ud) {
    (void)ud;
    return lf_malloc(n);
}

static void pc_free(void *ptr, void *ud) {
    (void)ud;
    free(ptr);
}

void lf_pretok_free(lf_pretok *p) {
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        pcre2_code_free(p->code[i]);
    free(p->code);
    pcre2_general_context_free(p->gctx);
    free(p);
}

lf_pretok *lf_pretok_new(const char *const *regexes, lf_error *err) {
    int n = 0;
    while (regexes[n])
        n++;
    lf_pretok *p = lf_calloc(1, sizeof *p);
    pcre2_compile_context *cctx = NULL;
    if (!p || !(p->code = lf_calloc((size_t)n + 1, sizeof *p->code)) ||
        !(p->gctx = pcre2_general_context_create(pc_malloc, pc_free, NULL)) ||
        !(cctx = pcre2_compile_context_create(p->gctx))) {
        lf_pretok_free(p);
        lf_fail(err, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        char *pat = lf_pre_translate(regexes[i], err);
        if (!pat) {
            pcre2_compile_context_free(cctx);
            lf_pretok_free(p);
            return NULL;
        }
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                         PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &ec, &eo, cctx);
        free(pat);
        /* without JIT the interpreter runs it, but running out of memory
         * there is an error like anywhere else */
        if (code && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == PCRE2_ERROR_NOMEMORY) {
            pcre2_code_free(code);
            code = NULL;
            ec = PCRE2_ERROR_NOMEMORY;
        }
        if (!code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            if (ec == PCRE2_ERROR_NOMEMORY || ec == PCRE2_ERROR_HEAP_FAILED)
                lf_fail(err, "pre-tokenizer regex %d: out of memory", i);
            else
                lf_fail(err, "pre-tokenizer regex %d: %s at offset %zu", i, (const char *)msg,
                        (size_t)eo);
            pcre2_compile_context_free(cctx);
            lf_pretok_free(p);
            return NULL;
        }
        p->code[p->n++] = code;
    }
    pcre2_compile_context_free(cctx);
    return p;
}

/* -------------------------------------------------------------- splitting */

struct lf_pretok_state {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    pcre2_general_context *gctx; /* the pre-tokenizer's */
    lf_pieces a, b;
};

lf_pretok_state *lf_pretok_state_new(const lf_pretok *p) {
    lf_pretok_state *st = lf_calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->gctx = p->gctx;
    st->md = pcre2_match_data_create(1, st->gctx);
    st->mctx = pcre2_match_context_create(st->gctx);
    if (!st->md || !st->mctx) {
        lf_pretok_state_free(st);
        return NULL;
    }
    pcre2_set_match_limit(st->mctx, UINT32_MAX);
    return st;
}

void lf_pretok_state_free(lf_pretok_state *st) {
    if (!st)
        return;
    pcre2_match_data_free(st->md);
    pcre2_match_context_free(st->mctx);
    pcre2_jit_stack_free(st->jit_stack);
    free(st->a.v);
    free(st->b.v);
    free(st);
}

static bool push(lf_pieces *ps, size_t off, size_t len) {
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        lf_piece *v = lf_realloc(ps->v, cap * sizeof *v);
        if (!v)
            return false;
        ps->v = v, ps->cap = cap;
    }
    ps->v[ps->n++] = (lf_piece){off, len};
    return true;
}

static int run_match(lf_pretok_state *st, const pcre2_code *code, const char *s, size_t len,
                     size_t pos, uint32_t opts) {
    opts |= PCRE2_NO_UTF_CHECK;
    int rc = pcre2_match(code, (PCRE2_SPTR)s, len, pos, opts, st->md, st->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !st->jit_stack) {
        st->jit_stack = pcre2_jit_stack_create(64 * 1024, 512 * 1024 * 1024, st->gctx);
        if (!st->jit_stack)
            return PCRE2_ERROR_NOMEMORY;
        pcre2_jit_stack_assign(st->mctx, NULL, st->jit_stack);
        rc = pcre2_match(code, (PCRE2_SPTR)s, len, pos, opts, st->md, st->mctx);
    }
    return rc;
}

/* Splits piece [off, off+len) of s with one regex, appending to out. */
static bool split_piece(lf_pretok_state *st, const pcre2_code *code, const char *s, size_t off,
                        size_t len, lf_pieces *out) {
    const char *subj = s + off;
    size_t pos = 0, prev_end = 0;
    uint32_t opts = 0;
    while (pos <= len) {
        int rc = run_match(st, code, subj, len, pos, opts);
        if (rc == PCRE2_ERROR_NOMATCH && opts) {
            /* After an empty match std::regex retries here for a non-empty
             * one, then moves on by one character. */
            if (pos >= len)
                break;
            pos += lf_utf8_lead_len((uint8_t)subj[pos]);
            opts = 0;
            continue;
        }
        if (rc == PCRE2_ERROR_NOMEMORY)
            return false; /* out of memory, as the callers take a false */
        if (rc < 0)
            break; /* no match, or an engine error: the rest is one piece */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
        size_t ms = ov[0], me = ov[1];
        if (ms > prev_end && !push(out, off + prev_end, ms - prev_end))
            return false;
        if (me > ms && !push(out, off + ms, me - ms))
            return false;
        prev_end = pos = me;
        opts = me == ms ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
    }
    if (prev_end < len && !push(out, off + prev_end, len - prev_end))
        return false;
    return true;
}

const lf_pieces *lf_pretok_split(const lf_pretok *p, lf_pretok_state *st, const char *s,
                                 size_t len) {
    lf_pieces *cur = &st->a, *next = &st->b;
    cur->n = 0;
    if (len && !push(cur, 0, len))
        return NULL;
    for (int r = 0; r < p->n; r++) {
        next->n = 0;
        for (size_t i = 0; i < cur->n; i++)
            if (!split_piece(st, p->code[r], s, cur->v[i].off, cur->v[i].len, next))
                return NULL;
        lf_pieces *t = cur;
        cur = next, next = t;
    }
    return cur;
}
