/* value.c — the render arena and the value model: constructors, Python
 * str()/repr() printing, truthiness, equality and ordering. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_impl.h"
#include "text/utf8.h"

struct jblock {
    struct jblock *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

#define JA_BLOCK (64 * 1024)

void *ja_alloc(jarena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    struct jblock *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > JA_BLOCK / 4 ? n : JA_BLOCK;
        if (a->limit && a->total + cap > a->limit) {
            if (a->err) snprintf(a->err->msg, sizeof a->err->msg, "template needs more than %zu MiB of memory", a->limit >> 20);
            if (a->oom) longjmp(*a->oom, 1);
            return NULL;
        }
        struct jblock *nb = malloc(sizeof *nb + cap);
        if (!nb) {
            if (a->err) snprintf(a->err->msg, sizeof a->err->msg, "out of memory");
            if (a->oom) longjmp(*a->oom, 1);
            return NULL;
        }
        a->total += cap;
        nb->cap = cap;
        nb->used = 0;
        if (cap == JA_BLOCK || !b) {
            nb->next = b;
            a->head = nb;
        } else { /* a big one-off block: keep the current block on top */
            nb->next = b->next;
            b->next = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void ja_free_all(jarena *a) {
    for (struct jblock *b = a->head, *nx; b; b = nx) nx = b->next, free(b);
    a->head = NULL;
    a->total = 0;
}

char *ja_strndup(jarena *a, const char *s, size_t n) {
    char *p = ja_alloc(a, n + 1);
    if (p) memcpy(p, s, n), p[n] = 0;
    return p;
}

void jerr(jr *R, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(R->err->msg, sizeof R->err->msg, fmt, ap);
    va_end(ap);
    longjmp(R->jb, 1);
}

jv jv_undef(const char *name) { jv x = {.t = V_UNDEF}; x.u.name = name; return x; }
jv jv_none(void) { return (jv){.t = V_NONE}; }
jv jv_bool(bool b) { jv x = {.t = V_BOOL}; x.u.b = b; return x; }
jv jv_int(int64_t i) { jv x = {.t = V_INT}; x.u.i = i; return x; }
jv jv_float(double f) { jv x = {.t = V_FLOAT}; x.u.f = f; return x; }

jv jv_str(jr *R, const char *s, size_t n) {
    if (n > R->max_output * 2 + (1 << 20)) jerr(R, "string of %zu bytes exceeds the output limit", n);
    jstr *p = ja_alloc(&R->ar, sizeof *p + n + 1);
    p->len = n;
    p->ncp = -1;
    if (n) memcpy(p->s, s, n);
    p->s[n] = 0;
    jv x = {.t = V_STR};
    x.u.s = p;
    return x;
}
jv jv_cstr(jr *R, const char *s) { return jv_str(R, s, strlen(s)); }

jv jv_list(jr *R, size_t cap) {
    jlist *l = ja_alloc(&R->ar, sizeof *l);
    if (cap) l->v = ja_alloc(&R->ar, cap * sizeof *l->v), l->cap = cap;
    jv x = {.t = V_LIST};
    x.u.l = l;
    return x;
}
jv jv_dict(jr *R, size_t cap) {
    jdict *d = ja_alloc(&R->ar, sizeof *d);
    if (cap) {
        d->k = ja_alloc(&R->ar, cap * sizeof *d->k);
        d->v = ja_alloc(&R->ar, cap * sizeof *d->v);
        d->cap = cap;
    }
    jv x = {.t = V_DICT};
    x.u.d = d;
    return x;
}

void jl_push(jr *R, jlist *l, jv x) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        jv *v = ja_alloc(&R->ar, cap * sizeof *v);
        if (l->n) memcpy(v, l->v, l->n * sizeof *v);
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = x;
}

jv *jd_get(const jdict *d, jv k) {
    for (size_t i = 0; i < d->n; i++)
        if (jv_eq(d->k[i], k)) return &d->v[i];
    return NULL;
}
jv *jd_gets(const jdict *d, const char *k) {
    size_t n = strlen(k);
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == V_STR && d->k[i].u.s->len == n && !memcmp(d->k[i].u.s->s, k, n)) return &d->v[i];
    return NULL;
}

void jd_set(jr *R, jdict *d, jv k, jv v) {
    jv *p = jd_get(d, k);
    if (p) { *p = v; return; }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        jv *nk = ja_alloc(&R->ar, cap * sizeof *nk), *nv = ja_alloc(&R->ar, cap * sizeof *nv);
        if (d->n) memcpy(nk, d->k, d->n * sizeof *nk), memcpy(nv, d->v, d->n * sizeof *nv);
        d->k = nk, d->v = nv, d->cap = cap;
    }
    d->k[d->n] = k;
    d->v[d->n++] = v;
}

bool jv_is_str(jv x) { return x.t == V_STR; }

bool jv_truthy(jv x) {
    switch (x.t) {
    case V_UNDEF: case V_NONE: return false;
    case V_BOOL: return x.u.b;
    case V_INT: return x.u.i != 0;
    case V_FLOAT: return x.u.f != 0;
    case V_STR: return x.u.s->len != 0;
    case V_LIST: return x.u.l->n != 0;
    case V_DICT: return x.u.d->n != 0;
    default: return true;
    }
}

static bool is_num(jv x) { return x.t == V_BOOL || x.t == V_INT || x.t == V_FLOAT; }
static double num(jv x) { return x.t == V_FLOAT ? x.u.f : x.t == V_INT ? (double)x.u.i : (double)x.u.b; }
static int64_t inum(jv x) { return x.t == V_INT ? x.u.i : (int64_t)x.u.b; }

bool jv_eq(jv a, jv b) {
    if (is_num(a) && is_num(b)) {
        if (a.t != V_FLOAT && b.t != V_FLOAT) return inum(a) == inum(b);
        return num(a) == num(b);
    }
    if (a.t != b.t) return false;
    switch (a.t) {
    case V_UNDEF: case V_NONE: return true;
    case V_STR: return a.u.s->len == b.u.s->len && !memcmp(a.u.s->s, b.u.s->s, a.u.s->len);
    case V_LIST:
        if (a.u.l->n != b.u.l->n || a.tuple != b.tuple) return false;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!jv_eq(a.u.l->v[i], b.u.l->v[i])) return false;
        return true;
    case V_DICT:
        if (a.u.d->n != b.u.d->n) return false;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jv *o = jd_get(b.u.d, a.u.d->k[i]);
            if (!o || !jv_eq(a.u.d->v[i], *o)) return false;
        }
        return true;
    case V_NS: return a.u.d == b.u.d;
    case V_MACRO: return a.u.m == b.u.m;
    case V_LOOP: return a.u.loop == b.u.loop;
    case V_FUNC: return a.fn == b.fn && a.u.bound == b.u.bound;
    default: return false;
    }
}

const char *jv_typename(jv x) {
    static const char *const names[] = {"Undefined", "NoneType", "bool", "int", "float", "str",
                                        "list", "dict", "Namespace", "Macro", "function", "LoopContext"};
    if (x.t == V_LIST && x.tuple) return "tuple";
    return names[x.t];
}

int jv_cmp(jr *R, jv a, jv b) {
    if (is_num(a) && is_num(b)) {
        if (a.t != V_FLOAT && b.t != V_FLOAT) return inum(a) < inum(b) ? -1 : inum(a) > inum(b);
        double x = num(a), y = num(b);
        return x < y ? -1 : x > y;
    }
    if (a.t == V_STR && b.t == V_STR) {
        size_t n = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int c = memcmp(a.u.s->s, b.u.s->s, n);
        if (c) return c < 0 ? -1 : 1;
        return a.u.s->len < b.u.s->len ? -1 : a.u.s->len > b.u.s->len;
    }
    if (a.t == V_LIST && b.t == V_LIST) {
        for (size_t i = 0; i < a.u.l->n && i < b.u.l->n; i++) {
            if (jv_eq(a.u.l->v[i], b.u.l->v[i])) continue;
            return jv_cmp(R, a.u.l->v[i], b.u.l->v[i]);
        }
        return a.u.l->n < b.u.l->n ? -1 : a.u.l->n > b.u.l->n;
    }
    jerr(R, "'<' not supported between instances of '%s' and '%s'", jv_typename(a), jv_typename(b));
}

void jb_add(jr *R, jbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        if (b->n + n > R->max_output) jerr(R, "output exceeds the limit of %zu bytes", R->max_output);
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = ja_alloc(&R->ar, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p, b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
void jb_addc(jr *R, jbuf *b, char c) { jb_add(R, b, &c, 1); }

jv jb_take(jr *R, jbuf *b) {
    if (!b->p) return jv_str(R, "", 0);
    /* reuse the buffer as the string: copy into a jstr */
    return jv_str(R, b->p, b->n);
}

void jb_float(jbuf *b, jr *R, double f) {
    char t[40];
    if (isnan(f)) { jb_add(R, b, "nan", 3); return; }
    if (isinf(f)) { jb_add(R, b, f < 0 ? "-inf" : "inf", f < 0 ? 4 : 3); return; }
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, f);
        if (strtod(t, NULL) == f) break;
    }
    /* t = d.ddde[+-]XX, digits = prec significant */
    char digs[24];
    int nd = 0;
    const char *p = t;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digs[nd++] = *p;
    int ex = atoi(p + 1);
    while (nd > 1 && digs[nd - 1] == '0') nd--;
    char o[64];
    int k = 0;
    if (neg) o[k++] = '-';
    if (ex >= -5 && ex < 16) {
        if (ex < 0) {
            o[k++] = '0', o[k++] = '.';
            for (int i = 0; i < -ex - 1; i++) o[k++] = '0';
            for (int i = 0; i < nd; i++) o[k++] = digs[i];
        } else {
            for (int i = 0; i <= ex; i++) o[k++] = i < nd ? digs[i] : '0';
            o[k++] = '.';
            if (nd > ex + 1)
                for (int i = ex + 1; i < nd; i++) o[k++] = digs[i];
            else o[k++] = '0';
        }
    } else {
        o[k++] = digs[0];
        if (nd > 1) {
            o[k++] = '.';
            for (int i = 1; i < nd; i++) o[k++] = digs[i];
        }
        k += snprintf(o + k, sizeof o - (size_t)k, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
    jb_add(R, b, o, (size_t)k);
}

static void repr_str(jr *R, jbuf *b, const jstr *s) {
    bool sq = memchr(s->s, '\'', s->len) != NULL, dq = memchr(s->s, '"', s->len) != NULL;
    char q = sq && !dq ? '"' : '\'';
    jb_addc(R, b, q);
    size_t i = 0;
    while (i < s->len) {
        unsigned char c = (unsigned char)s->s[i];
        if (c == (unsigned char)q || c == '\\') {
            jb_addc(R, b, '\\'), jb_addc(R, b, (char)c), i++;
        } else if (c == '\n') jb_add(R, b, "\\n", 2), i++;
        else if (c == '\r') jb_add(R, b, "\\r", 2), i++;
        else if (c == '\t') jb_add(R, b, "\\t", 2), i++;
        else if (c < 0x20 || c == 0x7f) {
            char t[8];
            snprintf(t, sizeof t, "\\x%02x", c);
            jb_add(R, b, t, 4), i++;
        } else if (c < 0x80) jb_addc(R, b, (char)c), i++;
        else {
            size_t st = i;
            uint32_t cp = lf_utf8_decode(s->s, s->len, &i);
            char t[12];
            if (cp >= 0x80 && cp < 0xa0) snprintf(t, sizeof t, "\\x%02x", cp), jb_add(R, b, t, 4);
            else if (cp == 0xad || cp == 0x2028 || cp == 0x2029 || (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff)
                snprintf(t, sizeof t, "\\u%04x", cp), jb_add(R, b, t, 6);
            else jb_add(R, b, s->s + st, i - st);
        }
    }
    jb_addc(R, b, q);
}

static void print(jr *R, jbuf *b, jv x, bool repr) {
    if (++R->eval_depth > 1000) jerr(R, "value nested too deeply to print");
    char t[32];
    switch (x.t) {
    case V_UNDEF: if (repr) jb_add(R, b, "Undefined", 9); break;
    case V_NONE: jb_add(R, b, "None", 4); break;
    case V_BOOL: if (x.u.b) jb_add(R, b, "True", 4); else jb_add(R, b, "False", 5); break;
    case V_INT: jb_add(R, b, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)x.u.i)); break;
    case V_FLOAT: jb_float(b, R, x.u.f); break;
    case V_STR:
        if (repr) repr_str(R, b, x.u.s);
        else jb_add(R, b, x.u.s->s, x.u.s->len);
        break;
    case V_LIST:
        jb_addc(R, b, x.tuple ? '(' : '[');
        for (size_t i = 0; i < x.u.l->n; i++) {
            if (i) jb_add(R, b, ", ", 2);
            print(R, b, x.u.l->v[i], true);
        }
        if (x.tuple && x.u.l->n == 1) jb_addc(R, b, ',');
        jb_addc(R, b, x.tuple ? ')' : ']');
        break;
    case V_DICT: case V_NS:
        if (x.t == V_NS) jb_add(R, b, "<Namespace ", 11);
        jb_addc(R, b, '{');
        for (size_t i = 0; i < x.u.d->n; i++) {
            if (i) jb_add(R, b, ", ", 2);
            print(R, b, x.u.d->k[i], true);
            jb_add(R, b, ": ", 2);
            print(R, b, x.u.d->v[i], true);
        }
        jb_addc(R, b, '}');
        if (x.t == V_NS) jb_addc(R, b, '>');
        break;
    case V_MACRO: jb_add(R, b, "<Macro>", 7); break;
    case V_LOOP: jb_add(R, b, "<LoopContext>", 13); break;
    default: jb_add(R, b, "<function>", 10); break;
    }
    R->eval_depth--;
}

void jb_str(jr *R, jbuf *b, jv x) { print(R, b, x, false); }
void jb_repr(jr *R, jbuf *b, jv x) { print(R, b, x, true); }

jv jv_tostr(jr *R, jv x) {
    if (x.t == V_STR) return x;
    jbuf b = {0};
    jb_str(R, &b, x);
    return jb_take(R, &b);
}

int64_t js_ncp(jstr *s) {
    if (s->ncp < 0) {
        int64_t n = 0;
        for (size_t i = 0; i < s->len; i++) n += ((unsigned char)s->s[i] & 0xC0) != 0x80;
        s->ncp = n;
    }
    return s->ncp;
}

size_t js_cp_off(jstr *s, int64_t cp) {
    if (cp <= 0) return 0;
    if (js_ncp(s) == (int64_t)s->len) return (size_t)cp < s->len ? (size_t)cp : s->len;
    int64_t k = 0;
    for (size_t i = 0; i < s->len; i++)
        if (((unsigned char)s->s[i] & 0xC0) != 0x80) {
            if (k == cp) return i;
            k++;
        }
    return s->len;
}

jlist *jv_iter(jr *R, jv x) {
    switch (x.t) {
    case V_UNDEF: return jv_list(R, 0).u.l;
    case V_LIST: return x.u.l;
    case V_DICT: {
        jlist *l = jv_list(R, x.u.d->n).u.l;
        for (size_t i = 0; i < x.u.d->n; i++) l->v[l->n++] = x.u.d->k[i];
        return l;
    }
    case V_STR: {
        jlist *l = jv_list(R, (size_t)js_ncp(x.u.s)).u.l;
        size_t i = 0;
        while (i < x.u.s->len) {
            size_t st = i;
            i += lf_utf8_lead_len((unsigned char)x.u.s->s[i]);
            if (i > x.u.s->len) i = x.u.s->len;
            jl_push(R, l, jv_str(R, x.u.s->s + st, i - st));
        }
        return l;
    }
    default: jerr(R, "'%s' object is not iterable", jv_typename(x));
    }
}
