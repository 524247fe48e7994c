/* json_print.c — JSON in (jansson → values) and out: HF's tojson, i.e.
 * Python's json.dumps(x, ensure_ascii=False, indent=None, separators=None,
 * sort_keys=False) with its keyword arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_impl.h"
#include "text/utf8.h"

jv jv_from_json(jr *R, const json_t *j) {
    if (++R->eval_depth > 2000) jerr(R, "JSON context nested too deeply");
    jv r;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        r = jv_dict(R, json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            jdict *d = r.u.d;
            d->k[d->n] = jv_cstr(R, k);
            d->v[d->n++] = jv_from_json(R, v);
        }
        break;
    }
    case JSON_ARRAY: {
        r = jv_list(R, json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++) r.u.l->v[r.u.l->n++] = jv_from_json(R, json_array_get(j, i));
        break;
    }
    case JSON_STRING: r = jv_str(R, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: r = jv_int((int64_t)json_integer_value(j)); break;
    case JSON_REAL: r = jv_float(json_real_value(j)); break;
    case JSON_TRUE: r = jv_bool(true); break;
    case JSON_FALSE: r = jv_bool(false); break;
    default: r = jv_none(); break;
    }
    R->eval_depth--;
    return r;
}

static void json_str(jr *R, jbuf *b, const char *s, size_t n, bool ascii) {
    jb_addc(R, b, '"');
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char t[16];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) snprintf(t, sizeof t, "\\u%04x", c), esc = t;
        if (esc) {
            jb_add(R, b, s + run, i - run);
            jb_add(R, b, esc, strlen(esc));
            run = ++i;
        } else if (c >= 0x80 && ascii) {
            jb_add(R, b, s + run, i - run);
            uint32_t cp = lf_utf8_decode(s, n, &i);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                snprintf(t, sizeof t, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else snprintf(t, sizeof t, "\\u%04x", cp);
            jb_add(R, b, t, strlen(t));
            run = i;
        } else i++;
    }
    jb_add(R, b, s + run, n - run);
    jb_addc(R, b, '"');
}

static void newline(jr *R, jbuf *b, int indent, int level) {
    jb_addc(R, b, '\n');
    for (int i = 0; i < indent * level; i++) jb_addc(R, b, ' ');
}

typedef struct kv { jv k, v; jstr *ks; } kv;

static int cmp_key(const void *x, const void *y) {
    const jstr *a = ((const kv *)x)->ks, *b = ((const kv *)y)->ks;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

void jb_tojson(jr *R, jbuf *b, jv x, int indent, bool ascii, bool sort_keys, const char *isep,
               const char *ksep, int level) {
    if (++R->eval_depth > 1000) jerr(R, "value nested too deeply for tojson");
    char t[32];
    switch (x.t) {
    case V_NONE: jb_add(R, b, "null", 4); break;
    case V_BOOL: if (x.u.b) jb_add(R, b, "true", 4); else jb_add(R, b, "false", 5); break;
    case V_INT: jb_add(R, b, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)x.u.i)); break;
    case V_FLOAT:
        if (isnan(x.u.f)) jb_add(R, b, "NaN", 3);
        else if (isinf(x.u.f)) jb_add(R, b, x.u.f < 0 ? "-Infinity" : "Infinity", x.u.f < 0 ? 9 : 8);
        else jb_float(b, R, x.u.f);
        break;
    case V_STR: json_str(R, b, x.u.s->s, x.u.s->len, ascii); break;
    case V_LIST:
        if (!x.u.l->n) { jb_add(R, b, "[]", 2); break; }
        jb_addc(R, b, '[');
        for (size_t i = 0; i < x.u.l->n; i++) {
            if (i) jb_add(R, b, isep, strlen(isep));
            if (indent >= 0) newline(R, b, indent, level + 1);
            jb_tojson(R, b, x.u.l->v[i], indent, ascii, sort_keys, isep, ksep, level + 1);
        }
        if (indent >= 0) newline(R, b, indent, level);
        jb_addc(R, b, ']');
        break;
    case V_DICT: {
        jdict *d = x.u.d;
        if (!d->n) { jb_add(R, b, "{}", 2); break; }
        kv *items = ja_alloc(&R->ar, d->n * sizeof *items);
        for (size_t i = 0; i < d->n; i++) {
            jv k = d->k[i];
            if (k.t == V_BOOL) k = jv_cstr(R, k.u.b ? "true" : "false");
            else if (k.t == V_NONE) k = jv_cstr(R, "null");
            else if (k.t == V_INT || k.t == V_FLOAT) k = jv_tostr(R, k);
            else if (k.t != V_STR) jerr(R, "keys must be str, int, float, bool or None, not %s", jv_typename(k));
            items[i] = (kv){k, d->v[i], k.u.s};
        }
        if (sort_keys) qsort(items, d->n, sizeof *items, cmp_key);
        jb_addc(R, b, '{');
        for (size_t i = 0; i < d->n; i++) {
            if (i) jb_add(R, b, isep, strlen(isep));
            if (indent >= 0) newline(R, b, indent, level + 1);
            json_str(R, b, items[i].ks->s, items[i].ks->len, ascii);
            jb_add(R, b, ksep, strlen(ksep));
            jb_tojson(R, b, items[i].v, indent, ascii, sort_keys, isep, ksep, level + 1);
        }
        if (indent >= 0) newline(R, b, indent, level);
        jb_addc(R, b, '}');
        break;
    }
    default: jerr(R, "Object of type %s is not JSON serializable", jv_typename(x));
    }
    R->eval_depth--;
}
