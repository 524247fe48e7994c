/* methods.c — attribute and item lookup, the Python methods templates call
 * on strings, dicts and lists (mutators refused, as in HF's immutable
 * sandbox), and the globals: range, namespace, dict, raise_exception,
 * strftime_now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/jinja/jinja_impl.h"
#include "text/utf8.h"

enum { G_RANGE = 1, G_NAMESPACE, G_DICT, G_RAISE, G_STRFTIME };

static const char *const STR_METHODS[] = {
    "split", "rsplit", "strip", "lstrip", "rstrip", "startswith", "endswith", "replace", "upper", "lower",
    "title", "capitalize", "find", "rfind", "count", "join", "splitlines", "isdigit", "isalpha", "isspace",
    "isalnum", "isupper", "islower", "index", "format", NULL};
static const char *const DICT_METHODS[] = {"items", "keys", "values", "get", "copy",
                                           "pop", "popitem", "update", "setdefault", "clear", NULL};
static const char *const LIST_METHODS[] = {"index", "count", "copy", "append", "pop", "insert", "extend",
                                           "remove", "clear", "sort", "reverse", NULL};
static const char *const UNSAFE[] = {"pop", "popitem", "update", "setdefault", "clear", "append", "insert",
                                     "extend", "remove", "sort", "reverse", NULL};

static bool in_list(const char *const *l, const char *s) {
    for (; *l; l++)
        if (!strcmp(*l, s)) return true;
    return false;
}

bool jmethod_exists(jv self, const char *name) {
    switch (self.t) {
    case V_STR: return in_list(STR_METHODS, name);
    case V_DICT: return in_list(DICT_METHODS, name);
    case V_LIST: return in_list(LIST_METHODS, name);
    default: return false;
    }
}

static jv bound(jr *R, jv self, const char *name) {
    jbound *b = ja_alloc(&R->ar, sizeof *b);
    b->self = self;
    b->name = name;
    jv f = {.t = V_FUNC};
    f.u.bound = b;
    return f;
}

static jv loop_attr(jr *R, jloop *lp, const char *name) {
    int64_t n = (int64_t)lp->items->n, i = (int64_t)lp->i;
    if (!strcmp(name, "index")) return jv_int(i + 1);
    if (!strcmp(name, "index0")) return jv_int(i);
    if (!strcmp(name, "revindex")) return jv_int(n - i);
    if (!strcmp(name, "revindex0")) return jv_int(n - i - 1);
    if (!strcmp(name, "first")) return jv_bool(i == 0);
    if (!strcmp(name, "last")) return jv_bool(i == n - 1);
    if (!strcmp(name, "length")) return jv_int(n);
    if (!strcmp(name, "depth")) return jv_int(1);
    if (!strcmp(name, "depth0")) return jv_int(0);
    if (!strcmp(name, "previtem")) return i > 0 ? lp->items->v[i - 1] : jv_undef("previtem");
    if (!strcmp(name, "nextitem")) return i + 1 < n ? lp->items->v[i + 1] : jv_undef("nextitem");
    (void)R;
    return jv_undef(name);
}

jv jattr(jr *R, jv o, const char *name) {
    switch (o.t) {
    case V_DICT: {
        if (in_list(DICT_METHODS, name)) return bound(R, o, name);
        jv *p = jd_gets(o.u.d, name);
        return p ? *p : jv_undef(name);
    }
    case V_NS: {
        jv *p = jd_gets(o.u.d, name);
        return p ? *p : jv_undef(name);
    }
    case V_LOOP: return loop_attr(R, o.u.loop, name);
    case V_STR: case V_LIST:
        if (jmethod_exists(o, name)) return bound(R, o, name);
        return jv_undef(name);
    default: return jv_undef(name);
    }
}

jv jitem(jr *R, jv o, jv k) {
    switch (o.t) {
    case V_DICT: case V_NS: {
        jv *p = jd_get(o.u.d, k);
        if (p) return *p;
        break;
    }
    case V_LIST: case V_STR:
        if (k.t == V_INT || k.t == V_BOOL) {
            int64_t i = k.t == V_INT ? k.u.i : k.u.b;
            int64_t n = o.t == V_LIST ? (int64_t)o.u.l->n : js_ncp(o.u.s);
            if (i < 0) i += n;
            if (i < 0 || i >= n) return jv_undef(NULL);
            if (o.t == V_LIST) return o.u.l->v[i];
            size_t a = js_cp_off(o.u.s, i), b = js_cp_off(o.u.s, i + 1);
            return jv_str(R, o.u.s->s + a, b - a);
        }
        break;
    default: break;
    }
    if (k.t == V_STR) return jattr(R, o, k.u.s->s);
    return jv_undef(NULL);
}

/* ---- string helpers ---- */

static bool is_space_cp(uint32_t c) {
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static bool in_chars(uint32_t c, const jstr *chars) {
    size_t i = 0;
    while (i < chars->len)
        if (lf_utf8_decode(chars->s, chars->len, &i) == c) return true;
    return false;
}

/* Strips from the left (which & 1) and/or right (which & 2). */
jv jstr_strip(jr *R, jv s, jv chars, int which) {
    const char *p = s.u.s->s;
    size_t a = 0, b = s.u.s->len;
    const jstr *cs = chars.t == V_STR ? chars.u.s : NULL;
    if (chars.t != V_STR && chars.t != V_NONE && chars.t != V_UNDEF) jerr(R, "strip arg must be None or str");
    if (which & 1)
        while (a < b) {
            size_t j = a;
            uint32_t c = lf_utf8_decode(p, b, &j);
            if (cs ? !in_chars(c, cs) : !is_space_cp(c)) break;
            a = j;
        }
    if (which & 2)
        while (b > a) {
            size_t st = b - 1;
            while (st > a && ((unsigned char)p[st] & 0xC0) == 0x80) st--;
            size_t j = st;
            uint32_t c = lf_utf8_decode(p, b, &j);
            if (cs ? !in_chars(c, cs) : !is_space_cp(c)) break;
            b = st;
        }
    if (a == 0 && b == s.u.s->len) return s;
    return jv_str(R, p + a, b - a);
}

static jv split(jr *R, jv s, jv sep, int64_t maxsplit, bool right) {
    jv out = jv_list(R, 0);
    const char *p = s.u.s->s;
    size_t n = s.u.s->len;
    if (sep.t == V_NONE || sep.t == V_UNDEF) {
        if (right) jerr(R, "rsplit() without a separator is not supported");
        size_t i = 0;
        int64_t k = 0;
        for (;;) {
            while (i < n) {
                size_t j = i;
                if (!is_space_cp(lf_utf8_decode(p, n, &j))) break;
                i = j;
            }
            if (i >= n) break;
            if (maxsplit >= 0 && k == maxsplit) {
                size_t e = n;
                while (e > i && is_space_cp((unsigned char)p[e - 1])) e--;
                jl_push(R, out.u.l, jv_str(R, p + i, e - i));
                break;
            }
            size_t st = i;
            while (i < n) {
                size_t j = i;
                if (is_space_cp(lf_utf8_decode(p, n, &j))) break;
                i = j;
            }
            jl_push(R, out.u.l, jv_str(R, p + st, i - st));
            k++;
        }
        return out;
    }
    if (sep.t != V_STR) jerr(R, "must be str or None, not %s", jv_typename(sep));
    size_t m = sep.u.s->len;
    if (!m) jerr(R, "empty separator");
    if (right) {
        /* collect from the right, then reverse */
        jv tmp = jv_list(R, 0);
        size_t e = n;
        int64_t k = 0;
        while (maxsplit < 0 || k < maxsplit) {
            const char *hit = NULL;
            for (size_t i = e >= m ? e - m + 1 : 0; i-- > 0;)
                if (!memcmp(p + i, sep.u.s->s, m)) { hit = p + i; break; }
            if (!hit) break;
            size_t hi = (size_t)(hit - p);
            jl_push(R, tmp.u.l, jv_str(R, hit + m, e - hi - m));
            e = hi;
            k++;
        }
        jl_push(R, tmp.u.l, jv_str(R, p, e));
        for (size_t i = tmp.u.l->n; i-- > 0;) jl_push(R, out.u.l, tmp.u.l->v[i]);
        return out;
    }
    size_t i = 0;
    int64_t k = 0;
    for (;;) {
        const char *hit = (maxsplit < 0 || k < maxsplit) ? memmem(p + i, n - i, sep.u.s->s, m) : NULL;
        if (!hit) {
            jl_push(R, out.u.l, jv_str(R, p + i, n - i));
            return out;
        }
        jl_push(R, out.u.l, jv_str(R, p + i, (size_t)(hit - p) - i));
        i = (size_t)(hit - p) + m;
        k++;
    }
}

jv jstr_replace(jr *R, jv s, jv old, jv new, int64_t count) {
    if (old.t != V_STR || new.t != V_STR) jerr(R, "replace() arguments must be str");
    jbuf b = {0};
    const char *p = s.u.s->s;
    size_t n = s.u.s->len, m = old.u.s->len, i = 0;
    int64_t k = 0;
    if (!m) {
        /* Python inserts new between every character */
        size_t j = 0;
        while (j <= n) {
            if (count >= 0 && k >= count) { jb_add(R, &b, p + j, n - j); break; }
            jb_add(R, &b, new.u.s->s, new.u.s->len);
            k++;
            if (j == n) break;
            size_t st = j;
            j += lf_utf8_lead_len((unsigned char)p[j]);
            if (j > n) j = n;
            jb_add(R, &b, p + st, j - st);
        }
        return jb_take(R, &b);
    }
    for (;;) {
        const char *hit = (count < 0 || k < count) ? memmem(p + i, n - i, old.u.s->s, m) : NULL;
        if (!hit) break;
        jb_add(R, &b, p + i, (size_t)(hit - p) - i);
        jb_add(R, &b, new.u.s->s, new.u.s->len);
        i = (size_t)(hit - p) + m;
        k++;
    }
    jb_add(R, &b, p + i, n - i);
    return jb_take(R, &b);
}

jv jstr_case(jr *R, jv s, int mode) { /* 0 lower, 1 upper, 2 title, 3 capitalize */
    jv r = jv_str(R, s.u.s->s, s.u.s->len);
    char *p = r.u.s->s;
    bool prev_alpha = false;
    for (size_t i = 0; i < r.u.s->len; i++) {
        char c = p[i];
        bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        bool up = mode == 1 || (mode == 2 && !prev_alpha) || (mode == 3 && i == 0);
        if (up && lower) p[i] = (char)(c - 32);
        else if (!up && upper) p[i] = (char)(c + 32);
        prev_alpha = lower || upper || ((unsigned char)c >= 0x80 && mode == 2 && prev_alpha);
    }
    return r;
}

jv jstr_splitlines(jr *R, jv s, bool keepends) {
    jv out = jv_list(R, 0);
    const char *p = s.u.s->s;
    size_t n = s.u.s->len, st = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        size_t e = 0;
        if (c == '\r') e = i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
        else if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) e = 1;
        else if (c == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] == 0x85) e = 2;
        else if (c == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
                 ((unsigned char)p[i + 2] == 0xa8 || (unsigned char)p[i + 2] == 0xa9)) e = 3;
        if (!e) { i++; continue; }
        jl_push(R, out.u.l, jv_str(R, p + st, (keepends ? i + e : i) - st));
        i += e;
        st = i;
    }
    if (st < n) jl_push(R, out.u.l, jv_str(R, p + st, n - st));
    return out;
}

static bool affix(jr *R, jv s, jv x, bool end) {
    if (x.t == V_LIST && x.tuple) {
        for (size_t i = 0; i < x.u.l->n; i++)
            if (affix(R, s, x.u.l->v[i], end)) return true;
        return false;
    }
    if (x.t != V_STR) jerr(R, "%s first arg must be str or a tuple of str, not %s", end ? "endswith" : "startswith", jv_typename(x));
    size_t n = s.u.s->len, m = x.u.s->len;
    return m <= n && !memcmp(s.u.s->s + (end ? n - m : 0), x.u.s->s, m);
}

static jv arg(jv *pos, int npos, const char **kwn, jv *kwv, int nkw, int i, const char *name, jv def) {
    if (i < npos) return pos[i];
    for (int k = 0; k < nkw; k++)
        if (!strcmp(kwn[k], name)) return kwv[k];
    return def;
}
#define ARG(i, name, def) arg(pos, npos, kwn, kwv, nkw, i, name, def)

static int64_t as_int(jr *R, jv x, const char *what) {
    if (x.t == V_INT) return x.u.i;
    if (x.t == V_BOOL) return x.u.b;
    jerr(R, "%s must be an integer, not %s", what, jv_typename(x));
}

static jv str_method(jr *R, jv s, const char *m, jv *pos, int npos, const char **kwn, jv *kwv, int nkw) {
    if (!strcmp(m, "split") || !strcmp(m, "rsplit")) {
        jv sep = ARG(0, "sep", jv_none()), ms = ARG(1, "maxsplit", jv_int(-1));
        return split(R, s, sep, as_int(R, ms, "maxsplit"), m[0] == 'r');
    }
    if (!strcmp(m, "strip")) return jstr_strip(R, s, ARG(0, "chars", jv_none()), 3);
    if (!strcmp(m, "lstrip")) return jstr_strip(R, s, ARG(0, "chars", jv_none()), 1);
    if (!strcmp(m, "rstrip")) return jstr_strip(R, s, ARG(0, "chars", jv_none()), 2);
    if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
        if (npos < 1) jerr(R, "%s() takes at least 1 argument", m);
        jv t = s;
        if (npos > 1) { /* start[, end] */
            jv lo = pos[1], hi = npos > 2 ? pos[2] : jv_none();
            int64_t n = js_ncp(s.u.s), a = lo.t == V_NONE ? 0 : as_int(R, lo, "start"), b = hi.t == V_NONE ? n : as_int(R, hi, "end");
            if (a < 0) a += n;
            if (b < 0) b += n;
            a = a < 0 ? 0 : a > n ? n : a, b = b < 0 ? 0 : b > n ? n : b;
            if (b < a) return jv_bool(false);
            size_t oa = js_cp_off(s.u.s, a), ob = js_cp_off(s.u.s, b);
            t = jv_str(R, s.u.s->s + oa, ob - oa);
        }
        return jv_bool(affix(R, t, pos[0], m[0] == 'e'));
    }
    if (!strcmp(m, "replace")) {
        if (npos < 2) jerr(R, "replace() takes at least 2 arguments");
        return jstr_replace(R, s, pos[0], pos[1], as_int(R, ARG(2, "count", jv_int(-1)), "count"));
    }
    if (!strcmp(m, "lower")) return jstr_case(R, s, 0);
    if (!strcmp(m, "upper")) return jstr_case(R, s, 1);
    if (!strcmp(m, "title")) return jstr_case(R, s, 2);
    if (!strcmp(m, "capitalize")) return jstr_case(R, s, 3);
    if (!strcmp(m, "splitlines")) return jstr_splitlines(R, s, jv_truthy(ARG(0, "keepends", jv_bool(false))));
    if (!strcmp(m, "find") || !strcmp(m, "rfind") || !strcmp(m, "index") || !strcmp(m, "count")) {
        jv x = ARG(0, "sub", jv_undef(NULL));
        if (x.t != V_STR) jerr(R, "%s() argument must be str", m);
        const char *p = s.u.s->s;
        size_t n = s.u.s->len, k = x.u.s->len;
        if (!strcmp(m, "count")) {
            if (!k) return jv_int(js_ncp(s.u.s) + 1);
            int64_t c = 0;
            for (const char *h = p; (h = memmem(h, n - (size_t)(h - p), x.u.s->s, k)); h += k) c++;
            return jv_int(c);
        }
        const char *hit = NULL;
        if (m[0] == 'r') {
            for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
                if (!memcmp(p + i, x.u.s->s, k)) { hit = p + i; break; }
        } else hit = memmem(p, n, x.u.s->s, k);
        if (!hit) {
            if (m[0] == 'i') jerr(R, "substring not found");
            return jv_int(-1);
        }
        jv pre = jv_str(R, p, (size_t)(hit - p));
        return jv_int(js_ncp(pre.u.s));
    }
    if (!strcmp(m, "join")) {
        jlist *l = jv_iter(R, ARG(0, "iterable", jv_undef(NULL)));
        jbuf b = {0};
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i].t != V_STR) jerr(R, "sequence item %zu: expected str instance, %s found", i, jv_typename(l->v[i]));
            if (i) jb_add(R, &b, s.u.s->s, s.u.s->len);
            jb_add(R, &b, l->v[i].u.s->s, l->v[i].u.s->len);
        }
        return jb_take(R, &b);
    }
    if (!strncmp(m, "is", 2)) {
        if (!s.u.s->len) return jv_bool(false);
        bool ok = true, any_cased = false;
        for (size_t i = 0; i < s.u.s->len; i++) {
            unsigned char c = (unsigned char)s.u.s->s[i];
            bool d = c >= '0' && c <= '9', lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z';
            any_cased |= lo || up;
            if (!strcmp(m, "isdigit")) ok &= d;
            else if (!strcmp(m, "isalpha")) ok &= lo || up;
            else if (!strcmp(m, "isalnum")) ok &= lo || up || d;
            else if (!strcmp(m, "isspace")) ok &= is_space_cp(c);
            else if (!strcmp(m, "isupper")) ok &= !lo;
            else if (!strcmp(m, "islower")) ok &= !up;
        }
        if (!strcmp(m, "isupper") || !strcmp(m, "islower")) ok &= any_cased;
        return jv_bool(ok);
    }
    jerr(R, "str.%s() is not supported", m);
}

jv jmethod(jr *R, jv self, const char *m, jv *pos, int npos, const char **kwn, jv *kwv, int nkw) {
    if ((self.t == V_DICT || self.t == V_LIST) && in_list(UNSAFE, m))
        jerr(R, "access to attribute '%s' of '%s' object is unsafe.", m, jv_typename(self));
    if (self.t == V_STR) return str_method(R, self, m, pos, npos, kwn, kwv, nkw);
    if (self.t == V_DICT) {
        jdict *d = self.u.d;
        if (!strcmp(m, "items")) {
            jv r = jv_list(R, d->n);
            for (size_t i = 0; i < d->n; i++) {
                jv t = jv_list(R, 2);
                t.tuple = 1;
                t.u.l->v[0] = d->k[i], t.u.l->v[1] = d->v[i], t.u.l->n = 2;
                r.u.l->v[r.u.l->n++] = t;
            }
            return r;
        }
        if (!strcmp(m, "keys") || !strcmp(m, "values")) {
            jv r = jv_list(R, d->n);
            for (size_t i = 0; i < d->n; i++) r.u.l->v[r.u.l->n++] = m[0] == 'k' ? d->k[i] : d->v[i];
            return r;
        }
        if (!strcmp(m, "get")) {
            if (npos < 1) jerr(R, "get expected at least 1 argument, got 0");
            jv *p = jd_get(d, pos[0]);
            return p ? *p : ARG(1, "default", jv_none());
        }
        if (!strcmp(m, "copy")) {
            jv r = jv_dict(R, d->n);
            for (size_t i = 0; i < d->n; i++) jd_set(R, r.u.d, d->k[i], d->v[i]);
            return r;
        }
    }
    if (self.t == V_LIST) {
        jlist *l = self.u.l;
        if (!strcmp(m, "index") || !strcmp(m, "count")) {
            if (npos < 1) jerr(R, "%s() takes exactly one argument", m);
            int64_t c = 0;
            for (size_t i = 0; i < l->n; i++)
                if (jv_eq(l->v[i], pos[0])) {
                    if (m[0] == 'i') return jv_int((int64_t)i);
                    c++;
                }
            if (m[0] == 'i') jerr(R, "value is not in list");
            return jv_int(c);
        }
        if (!strcmp(m, "copy")) {
            jv r = jv_list(R, l->n);
            for (size_t i = 0; i < l->n; i++) r.u.l->v[r.u.l->n++] = l->v[i];
            return r;
        }
    }
    jerr(R, "'%s' object has no attribute '%s'", jv_typename(self), m);
}

/* ---- globals ---- */

bool jglobal(jr *R, const char *name, jv *out) {
    static const char *const names[] = {"", "range", "namespace", "dict", "raise_exception", "strftime_now", NULL};
    (void)R;
    for (int i = 1; names[i]; i++)
        if (!strcmp(name, names[i])) {
            *out = (jv){.t = V_FUNC, .fn = (uint16_t)i};
            return true;
        }
    return false;
}

jv jcall_global(jr *R, int fn, jv *pos, int npos, const char **kwn, jv *kwv, int nkw) {
    switch (fn) {
    case G_RANGE: {
        if (npos < 1 || npos > 3 || nkw) jerr(R, "range expected 1 to 3 integer arguments");
        int64_t a = 0, b, st = 1;
        if (npos == 1) b = as_int(R, pos[0], "range() argument");
        else a = as_int(R, pos[0], "range() argument"), b = as_int(R, pos[1], "range() argument");
        if (npos == 3) st = as_int(R, pos[2], "range() argument");
        if (!st) jerr(R, "range() arg 3 must not be zero");
        double cnt = st > 0 ? ((double)b - (double)a) / (double)st : ((double)a - (double)b) / (double)-st;
        if (cnt > 100000) jerr(R, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        jv r = jv_list(R, cnt > 0 ? (size_t)cnt + 1 : 0);
        for (int64_t i = a; st > 0 ? i < b : i > b; i += st) jl_push(R, r.u.l, jv_int(i));
        return r;
    }
    case G_NAMESPACE: case G_DICT: {
        jv r = jv_dict(R, 0);
        for (int i = 0; i < npos; i++) {
            if (pos[i].t != V_DICT) jerr(R, "%s() positional argument must be a mapping", fn == G_DICT ? "dict" : "namespace");
            for (size_t k = 0; k < pos[i].u.d->n; k++) jd_set(R, r.u.d, pos[i].u.d->k[k], pos[i].u.d->v[k]);
        }
        for (int k = 0; k < nkw; k++) jd_set(R, r.u.d, jv_cstr(R, kwn[k]), kwv[k]);
        if (fn == G_NAMESPACE) r.t = V_NS;
        return r;
    }
    case G_RAISE: {
        jv m = npos ? jv_tostr(R, pos[0]) : jv_cstr(R, "");
        R->raised = true;
        jerr(R, "%s", m.u.s->s);
    }
    case G_STRFTIME: {
        if (npos < 1 || pos[0].t != V_STR) jerr(R, "strftime_now() takes a format string");
        struct tm tm;
        if (R->now == INT64_MIN) {
            time_t t = time(NULL);
            localtime_r(&t, &tm);
        } else {
            time_t t = (time_t)R->now;
            gmtime_r(&t, &tm);
        }
        char buf[512];
        size_t n = pos[0].u.s->len ? strftime(buf, sizeof buf, pos[0].u.s->s, &tm) : 0;
        return jv_str(R, buf, n);
    }
    default: jerr(R, "internal error: unknown global %d", fn);
    }
}
