/* filters.c — Jinja's filters (with HF's tojson) and tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_impl.h"

static jv arg(jv *pos, int npos, const char **kwn, jv *kwv, int nkw, int i, const char *name, jv def) {
    if (i >= 0 && i < npos) return pos[i];
    for (int k = 0; k < nkw; k++)
        if (!strcmp(kwn[k], name)) return kwv[k];
    return def;
}
#define ARG(i, name, def) arg(pos, npos, kwn, kwv, nkw, i, name, def)

static jv undef_err(jr *R, jv x) {
    if (x.t == V_UNDEF) jerr(R, "'%s' is undefined", x.u.name ? x.u.name : "value");
    return x;
}

/* Follows a dotted attribute path ("a.b", "0") the way Jinja's attrgetter does. */
static jv attr_path(jr *R, jv x, jv path) {
    if (path.t == V_INT) return jitem(R, x, path);
    if (path.t != V_STR) jerr(R, "attribute must be a string");
    const char *p = path.u.s->s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++) digits &= p[i] >= '0' && p[i] <= '9';
        jv key = digits ? jv_int(strtoll(p, NULL, 10)) : jv_str(R, p, n);
        if (x.t == V_UNDEF) return x;
        x = jitem(R, x, key);
        if (!dot) return x;
        p = dot + 1;
    }
}

static jv lower_if(jr *R, jv x, bool cs) {
    return !cs && x.t == V_STR ? jstr_case(R, x, 0) : x;
}

/* Stable merge sort of v[0..n) by key k (parallel array). */
static void msort(jr *R, jv *v, jv *k, jv *tv, jv *tk, size_t n, bool rev) {
    if (n < 2) return;
    size_t h = n / 2;
    msort(R, v, k, tv, tk, h, rev);
    msort(R, v + h, k + h, tv, tk, n - h, rev);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n) {
        int c = jv_cmp(R, k[j], k[i]);
        if (rev ? c > 0 : c < 0) tv[o] = v[j], tk[o++] = k[j++];
        else tv[o] = v[i], tk[o++] = k[i++];
    }
    while (i < h) tv[o] = v[i], tk[o++] = k[i++];
    while (j < n) tv[o] = v[j], tk[o++] = k[j++];
    memcpy(v, tv, n * sizeof *v);
    memcpy(k, tk, n * sizeof *k);
}

static jv sorted(jr *R, jlist *l, jv *keys, bool rev) {
    jv r = jv_list(R, l->n);
    size_t n = l->n;
    memcpy(r.u.l->v, l->v, n * sizeof *l->v);
    r.u.l->n = n;
    jv *tv = ja_alloc(&R->ar, (n + 1) * sizeof *tv), *tk = ja_alloc(&R->ar, (n + 1) * sizeof *tk);
    msort(R, r.u.l->v, keys, tv, tk, n, rev);
    return r;
}

static jv indent(jr *R, jv s, jv width, bool first, bool blank) {
    jv ind;
    if (width.t == V_STR) ind = width;
    else {
        int64_t w = width.t == V_INT ? width.u.i : 4;
        if (w < 0) w = 0;
        if (w > 1024) w = 1024;
        char sp[1025];
        memset(sp, ' ', (size_t)w);
        ind = jv_str(R, sp, (size_t)w);
    }
    jbuf t = {0};
    jb_add(R, &t, s.u.s->s, s.u.s->len);
    jb_addc(R, &t, '\n');
    jlist *lines = jstr_splitlines(R, jb_take(R, &t), false).u.l;
    jbuf b = {0};
    if (first) jb_add(R, &b, ind.u.s->s, ind.u.s->len);
    for (size_t i = 0; i < lines->n; i++) {
        jstr *ln = lines->v[i].u.s;
        if (i) {
            jb_addc(R, &b, '\n');
            if (blank || ln->len) jb_add(R, &b, ind.u.s->s, ind.u.s->len);
        }
        jb_add(R, &b, ln->s, ln->len);
    }
    return jb_take(R, &b);
}

static jv to_int(jr *R, jv x, jv def, int base) {
    switch (x.t) {
    case V_INT: return x;
    case V_BOOL: return jv_int(x.u.b);
    case V_FLOAT:
        if (isnan(x.u.f) || isinf(x.u.f) || fabs(x.u.f) > 9.2e18) return def;
        return jv_int((int64_t)x.u.f);
    case V_STR: {
        jv t = jstr_strip(R, x, jv_none(), 3);
        const char *p = t.u.s->s;
        char *end;
        if (!*p) return def;
        long long v = strtoll(p, &end, base);
        if (*end == 0 && end != p) return jv_int(v);
        double f = strtod(p, &end);
        if (*end == 0 && end != p && fabs(f) < 9.2e18) return jv_int((int64_t)f);
        return def;
    }
    default: return def;
    }
}

jv jfilter(jr *R, jscope *S, const char *f, jv x, jv *pos, int npos, const char **kwn, jv *kwv, int nkw) {
    jstep(R);
    if (!strcmp(f, "tojson")) {
        jv ind = ARG(0, "indent", jv_none()), asc = ARG(-1, "ensure_ascii", jv_bool(false));
        jv sep = ARG(-1, "separators", jv_none()), sk = ARG(-1, "sort_keys", jv_bool(false));
        int in = -1;
        if (ind.t == V_INT) in = ind.u.i < 0 ? 0 : ind.u.i > 64 ? 64 : (int)ind.u.i;
        else if (ind.t != V_NONE && ind.t != V_UNDEF) jerr(R, "tojson: indent must be an integer");
        const char *isep = in >= 0 ? "," : ", ", *ksep = ": ";
        if (sep.t == V_LIST && sep.u.l->n == 2 && sep.u.l->v[0].t == V_STR && sep.u.l->v[1].t == V_STR)
            isep = sep.u.l->v[0].u.s->s, ksep = sep.u.l->v[1].u.s->s;
        jbuf b = {0};
        jb_tojson(R, &b, x, in, jv_truthy(asc), jv_truthy(sk), isep, ksep, 0);
        return jb_take(R, &b);
    }
    if (!strcmp(f, "length") || !strcmp(f, "count")) {
        switch (x.t) {
        case V_UNDEF: return jv_int(0);
        case V_STR: return jv_int(js_ncp(x.u.s));
        case V_LIST: return jv_int((int64_t)x.u.l->n);
        case V_DICT: case V_NS: return jv_int((int64_t)x.u.d->n);
        default: jerr(R, "object of type '%s' has no len()", jv_typename(x));
        }
    }
    if (!strcmp(f, "string")) return jv_tostr(R, x);
    if (!strcmp(f, "trim")) return jstr_strip(R, jv_tostr(R, x), ARG(0, "chars", jv_none()), 3);
    if (!strcmp(f, "default") || !strcmp(f, "d")) {
        jv dv = ARG(0, "default_value", jv_cstr(R, "")), bo = ARG(1, "boolean", jv_bool(false));
        if (x.t == V_UNDEF || (jv_truthy(bo) && !jv_truthy(x))) return dv;
        return x;
    }
    if (!strcmp(f, "join")) {
        jv d = ARG(0, "d", jv_cstr(R, "")), at = ARG(1, "attribute", jv_none());
        jlist *l = jv_iter(R, x);
        jbuf b = {0};
        for (size_t i = 0; i < l->n; i++) {
            if (i) jb_str(R, &b, d);
            jb_str(R, &b, at.t != V_NONE ? attr_path(R, l->v[i], at) : l->v[i]);
        }
        return jb_take(R, &b);
    }
    if (!strcmp(f, "items")) {
        if (x.t == V_UNDEF) return jv_list(R, 0);
        if (x.t != V_DICT) jerr(R, "Can only get item pairs from a mapping.");
        return jmethod(R, x, "items", NULL, 0, NULL, NULL, 0);
    }
    if (!strcmp(f, "list")) {
        jlist *l = jv_iter(R, x);
        jv r = jv_list(R, l->n);
        memcpy(r.u.l->v, l->v, l->n * sizeof *l->v);
        r.u.l->n = l->n;
        return r;
    }
    if (!strcmp(f, "safe")) return x;
    if (!strcmp(f, "escape") || !strcmp(f, "e") || !strcmp(f, "forceescape")) {
        jv s = jv_tostr(R, x);
        jbuf b = {0};
        for (size_t i = 0; i < s.u.s->len; i++) {
            char c = s.u.s->s[i];
            const char *r = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : NULL;
            if (r) jb_add(R, &b, r, strlen(r));
            else jb_addc(R, &b, c);
        }
        return jb_take(R, &b);
    }
    if (!strcmp(f, "lower")) return jstr_case(R, jv_tostr(R, x), 0);
    if (!strcmp(f, "upper")) return jstr_case(R, jv_tostr(R, x), 1);
    if (!strcmp(f, "title")) return jstr_case(R, jv_tostr(R, x), 2);
    if (!strcmp(f, "capitalize")) return jstr_case(R, jv_tostr(R, x), 3);
    if (!strcmp(f, "replace")) {
        jv s = jv_tostr(R, x), c = ARG(2, "count", jv_none());
        return jstr_replace(R, s, jv_tostr(R, ARG(0, "old", jv_undef(NULL))), jv_tostr(R, ARG(1, "new", jv_undef(NULL))),
                            c.t == V_INT ? c.u.i : -1);
    }
    if (!strcmp(f, "indent")) {
        jv s = jv_tostr(R, x);
        return indent(R, s, ARG(0, "width", jv_int(4)), jv_truthy(ARG(1, "first", jv_bool(false))),
                      jv_truthy(ARG(2, "blank", jv_bool(false))));
    }
    if (!strcmp(f, "int")) {
        jv b = ARG(1, "base", jv_int(10));
        return to_int(R, x, ARG(0, "default", jv_int(0)), b.t == V_INT ? (int)b.u.i : 10);
    }
    if (!strcmp(f, "float")) {
        if (x.t == V_FLOAT) return x;
        if (x.t == V_INT || x.t == V_BOOL) return jv_float(x.t == V_INT ? (double)x.u.i : x.u.b);
        if (x.t == V_STR) {
            char *end;
            jv t = jstr_strip(R, x, jv_none(), 3);
            double v = strtod(t.u.s->s, &end);
            if (*end == 0 && end != t.u.s->s) return jv_float(v);
        }
        return ARG(0, "default", jv_float(0));
    }
    if (!strcmp(f, "abs")) {
        if (x.t == V_INT) return jv_int(x.u.i < 0 ? -x.u.i : x.u.i);
        if (x.t == V_FLOAT) return jv_float(fabs(x.u.f));
        jerr(R, "bad operand type for abs(): '%s'", jv_typename(x));
    }
    if (!strcmp(f, "round")) {
        jv pr = ARG(0, "precision", jv_int(0)), me = ARG(1, "method", jv_cstr(R, "common"));
        double v = x.t == V_FLOAT ? x.u.f : x.t == V_INT ? (double)x.u.i : 0, m = pow(10, pr.t == V_INT ? (double)pr.u.i : 0);
        const char *mm = me.t == V_STR ? me.u.s->s : "common";
        double r = !strcmp(mm, "floor") ? floor(v * m) / m : !strcmp(mm, "ceil") ? ceil(v * m) / m : round(v * m) / m;
        return jv_float(r);
    }
    if (!strcmp(f, "first") || !strcmp(f, "last")) {
        jlist *l = jv_iter(R, x);
        if (!l->n) return jv_undef(f);
        return f[0] == 'f' ? l->v[0] : l->v[l->n - 1];
    }
    if (!strcmp(f, "reverse")) {
        if (x.t == V_STR) {
            jlist *l = jv_iter(R, x);
            jbuf b = {0};
            for (size_t i = l->n; i-- > 0;) jb_add(R, &b, l->v[i].u.s->s, l->v[i].u.s->len);
            return jb_take(R, &b);
        }
        jlist *l = jv_iter(R, x);
        jv r = jv_list(R, l->n);
        for (size_t i = l->n; i-- > 0;) r.u.l->v[r.u.l->n++] = l->v[i];
        return r;
    }
    if (!strcmp(f, "sort") || !strcmp(f, "dictsort") || !strcmp(f, "min") || !strcmp(f, "max") || !strcmp(f, "unique")) {
        bool dict = f[0] == 'd';
        jv rev = ARG(dict ? 2 : 0, "reverse", jv_bool(false));
        jv cs = ARG(dict ? 0 : (f[0] == 's' ? 1 : 0), "case_sensitive", jv_bool(false));
        jv at = ARG(dict ? -1 : (f[0] == 's' ? 2 : 1), "attribute", jv_none());
        jlist *l;
        if (dict) {
            if (x.t != V_DICT) jerr(R, "dictsort: can only sort a mapping");
            l = jmethod(R, x, "items", NULL, 0, NULL, NULL, 0).u.l;
            jv by = ARG(1, "by", jv_cstr(R, "key"));
            at = jv_int(by.t == V_STR && !strcmp(by.u.s->s, "value") ? 1 : 0);
        } else l = jv_iter(R, x);
        jv *keys = ja_alloc(&R->ar, (l->n + 1) * sizeof *keys);
        for (size_t i = 0; i < l->n; i++) {
            jv k = at.t != V_NONE ? attr_path(R, l->v[i], at) : l->v[i];
            keys[i] = lower_if(R, k, jv_truthy(cs));
        }
        if (!strcmp(f, "unique")) {
            jv r = jv_list(R, 0);
            for (size_t i = 0; i < l->n; i++) {
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++) seen = jv_eq(keys[i], keys[j]);
                if (!seen) jl_push(R, r.u.l, l->v[i]);
            }
            return r;
        }
        if (f[0] == 'm') {
            if (!l->n) return jv_undef(f);
            size_t best = 0;
            for (size_t i = 1; i < l->n; i++) {
                int c = jv_cmp(R, keys[i], keys[best]);
                if (f[1] == 'i' ? c < 0 : c > 0) best = i;
            }
            return l->v[best];
        }
        return sorted(R, l, keys, jv_truthy(rev));
    }
    if (!strcmp(f, "sum")) {
        jv at = ARG(0, "attribute", jv_none()), acc = ARG(1, "start", jv_int(0));
        jlist *l = jv_iter(R, x);
        for (size_t i = 0; i < l->n; i++) {
            jv v = at.t != V_NONE ? attr_path(R, l->v[i], at) : l->v[i];
            if (acc.t == V_INT && v.t == V_INT) acc = jv_int(acc.u.i + v.u.i);
            else if ((acc.t == V_INT || acc.t == V_FLOAT) && (v.t == V_INT || v.t == V_FLOAT))
                acc = jv_float((acc.t == V_INT ? (double)acc.u.i : acc.u.f) + (v.t == V_INT ? (double)v.u.i : v.u.f));
            else jerr(R, "sum: unsupported operand types");
        }
        return acc;
    }
    if (!strcmp(f, "select") || !strcmp(f, "reject") || !strcmp(f, "selectattr") || !strcmp(f, "rejectattr")) {
        bool byattr = strstr(f, "attr") != NULL, keep = f[0] == 's';
        int t0 = byattr ? 1 : 0;
        jv at = byattr ? ARG(0, "attribute", jv_undef(NULL)) : jv_none();
        jlist *l = jv_iter(R, x);
        jv r = jv_list(R, 0);
        for (size_t i = 0; i < l->n; i++) {
            jv v = byattr ? attr_path(R, l->v[i], at) : l->v[i];
            bool ok;
            if (npos > t0) {
                jv tn = pos[t0];
                if (tn.t != V_STR) jerr(R, "test name must be a string");
                ok = jtest(R, S, tn.u.s->s, v, pos + t0 + 1, npos - t0 - 1);
            } else ok = jv_truthy(v);
            if (ok == keep) jl_push(R, r.u.l, l->v[i]);
        }
        return r;
    }
    if (!strcmp(f, "map")) {
        jlist *l = jv_iter(R, x);
        jv r = jv_list(R, l->n);
        jv at = ARG(-1, "attribute", jv_none());
        if (at.t != V_NONE) {
            jv def = ARG(-1, "default", jv_undef(NULL));
            for (size_t i = 0; i < l->n; i++) {
                jv v = attr_path(R, l->v[i], at);
                r.u.l->v[r.u.l->n++] = v.t == V_UNDEF && def.t != V_UNDEF ? def : v;
            }
            return r;
        }
        if (npos < 1 || pos[0].t != V_STR) jerr(R, "map requires a filter name or attribute=");
        for (size_t i = 0; i < l->n; i++)
            r.u.l->v[r.u.l->n++] = jfilter(R, S, pos[0].u.s->s, l->v[i], pos + 1, npos - 1, kwn, kwv, nkw);
        return r;
    }
    if (!strcmp(f, "attr")) return jattr(R, undef_err(R, x), jv_tostr(R, ARG(0, "name", jv_undef(NULL))).u.s->s);
    if (!strcmp(f, "wordcount")) {
        jv s = jv_tostr(R, x);
        int64_t c = 0;
        bool in = false;
        for (size_t i = 0; i < s.u.s->len; i++) {
            char ch = s.u.s->s[i];
            bool w = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || (unsigned char)ch >= 0x80;
            if (w && !in) c++;
            in = w;
        }
        return jv_int(c);
    }
    if (!strcmp(f, "center")) {
        jv s = jv_tostr(R, x), w = ARG(0, "width", jv_int(80));
        int64_t n = js_ncp(s.u.s), width = w.t == V_INT ? w.u.i : 80;
        if (width > 100000) width = 100000;
        if (width <= n) return s;
        int64_t tot = width - n, left = tot / 2 + (tot & width & 1);
        jbuf b = {0};
        for (int64_t i = 0; i < left; i++) jb_addc(R, &b, ' ');
        jb_add(R, &b, s.u.s->s, s.u.s->len);
        for (int64_t i = 0; i < tot - left; i++) jb_addc(R, &b, ' ');
        return jb_take(R, &b);
    }
    jerr(R, "No filter named '%s' found.", f);
}

bool jtest(jr *R, jscope *S, const char *t, jv x, jv *pos, int npos) {
    (void)S;
    jv a = npos ? pos[0] : jv_undef(NULL);
    if (!strcmp(t, "defined")) return x.t != V_UNDEF;
    if (!strcmp(t, "undefined")) return x.t == V_UNDEF;
    if (!strcmp(t, "none")) return x.t == V_NONE;
    if (!strcmp(t, "string")) return x.t == V_STR;
    if (!strcmp(t, "mapping")) return x.t == V_DICT;
    if (!strcmp(t, "iterable")) return x.t == V_STR || x.t == V_LIST || x.t == V_DICT || x.t == V_UNDEF;
    if (!strcmp(t, "sequence")) return x.t == V_STR || x.t == V_LIST || x.t == V_DICT || x.t == V_UNDEF;
    if (!strcmp(t, "boolean")) return x.t == V_BOOL;
    if (!strcmp(t, "true")) return x.t == V_BOOL && x.u.b;
    if (!strcmp(t, "false")) return x.t == V_BOOL && !x.u.b;
    if (!strcmp(t, "number")) return x.t == V_INT || x.t == V_FLOAT || x.t == V_BOOL;
    if (!strcmp(t, "integer")) return x.t == V_INT;
    if (!strcmp(t, "float")) return x.t == V_FLOAT;
    if (!strcmp(t, "callable")) return x.t == V_MACRO || x.t == V_FUNC;
    if (!strcmp(t, "escaped")) return false;
    if (!strcmp(t, "equalto") || !strcmp(t, "eq") || !strcmp(t, "==") || !strcmp(t, "sameas")) return jv_eq(x, a);
    if (!strcmp(t, "ne") || !strcmp(t, "!=")) return !jv_eq(x, a);
    if (!strcmp(t, "lt") || !strcmp(t, "lessthan") || !strcmp(t, "<")) return jv_cmp(R, x, a) < 0;
    if (!strcmp(t, "le") || !strcmp(t, "<=")) return jv_cmp(R, x, a) <= 0;
    if (!strcmp(t, "gt") || !strcmp(t, "greaterthan") || !strcmp(t, ">")) return jv_cmp(R, x, a) > 0;
    if (!strcmp(t, "ge") || !strcmp(t, ">=")) return jv_cmp(R, x, a) >= 0;
    if (!strcmp(t, "in")) {
        jv l = a;
        if (l.t == V_STR) return x.t == V_STR && memmem(l.u.s->s, l.u.s->len, x.u.s->s, x.u.s->len);
        if (l.t == V_LIST) {
            for (size_t i = 0; i < l.u.l->n; i++)
                if (jv_eq(l.u.l->v[i], x)) return true;
            return false;
        }
        if (l.t == V_DICT) return jd_get(l.u.d, x) != NULL;
        jerr(R, "argument of type '%s' is not iterable", jv_typename(l));
    }
    if (!strcmp(t, "odd") || !strcmp(t, "even") || !strcmp(t, "divisibleby")) {
        if (x.t != V_INT) jerr(R, "test '%s' needs an integer", t);
        if (t[0] == 'o') return (x.u.i & 1) != 0;
        if (t[0] == 'e') return (x.u.i & 1) == 0;
        if (a.t != V_INT || !a.u.i) jerr(R, "divisibleby needs a non-zero integer");
        return x.u.i % a.u.i == 0;
    }
    if (!strcmp(t, "lower") || !strcmp(t, "upper")) {
        if (x.t != V_STR) return false;
        jv c = jstr_case(R, x, t[0] == 'l' ? 0 : 1);
        return jv_eq(c, x);
    }
    jerr(R, "No test named '%s' found.", t);
}
