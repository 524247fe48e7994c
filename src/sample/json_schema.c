/* json_schema.c — JSON Schema → GBNF (lf_json_schema_to_gbnf). Each schema
 * becomes a rule named after its place (root, root-name, root-tags-item…);
 * a $ref becomes one rule for its target, so recursive schemas are finite
 * grammars. Output whitespace: after each token, nothing, one space, or a
 * newline and up to 20 spaces or tabs (the `space` rule), never unbounded.
 *
 * Where the grammar accepts less than the schema (always a subset, so the
 * output validates): properties come in the schema's order, properties
 * absent from `properties` only when additionalProperties allows them,
 * prefixItems without items means exactly those items, oneOf is anyOf,
 * numbers have at most 15 integer digits, and bounds of `number` are
 * rounded inwards to integers. Unknown formats are annotations. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "sample/json_schema.h"

#define MAX_DEPTH 64
#define MAX_REP 1000

enum {
    USE_SPACE = 1 << 0, USE_BOOLEAN = 1 << 1, USE_NULL = 1 << 2, USE_NUMBER = 1 << 3,
    USE_INTEGER = 1 << 4, USE_STRING = 1 << 5, USE_VALUE = 1 << 6, USE_DATE = 1 << 7,
    USE_TIME = 1 << 8, USE_DATETIME = 1 << 9, USE_UUID = 1 << 10, USE_CHAR = 1 << 11,
};

static const struct {
    unsigned bit, needs;
    const char *name, *body;
} PRIMS[] = {
    {USE_SPACE, 0, "space", "| \" \" | \"\\n\" [ \\t]{0,20}"},
    {USE_BOOLEAN, USE_SPACE, "boolean", "(\"true\" | \"false\") space"},
    {USE_NULL, USE_SPACE, "null", "\"null\" space"},
    {USE_NUMBER, USE_SPACE, "number",
     "\"-\"? ([0] | [1-9] [0-9]{0,14}) (\".\" [0-9]{1,15})? ([eE] [-+]? [0-9]{1,3})? space"},
    {USE_INTEGER, USE_SPACE, "integer", "\"-\"? ([0] | [1-9] [0-9]{0,14}) space"},
    {USE_CHAR, 0, "char",
     "[^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-CefEF] "
     "[0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))"},
    {USE_STRING, USE_CHAR | USE_SPACE, "string", "\"\\\"\" char* \"\\\"\" space"},
    {USE_VALUE, USE_BOOLEAN | USE_NULL | USE_NUMBER | USE_STRING, "value",
     "object | array | string | number | boolean | null"},
    {USE_VALUE, 0, "object",
     "\"{\" space (string \":\" space value (\",\" space string \":\" space value)*)? "
     "\"}\" space"},
    {USE_VALUE, 0, "array", "\"[\" space (value (\",\" space value)*)? \"]\" space"},
    {USE_DATE, USE_SPACE, "date",
     "[0-9]{4} \"-\" (\"0\" [1-9] | \"1\" [0-2]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01])"},
    {USE_TIME, USE_SPACE, "time",
     "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? "
     "(\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])"},
    {USE_DATETIME, USE_DATE | USE_TIME, "date-time", "date \"T\" time"},
    {USE_UUID, USE_SPACE, "uuid",
     "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" "
     "[0-9a-fA-F]{12}"},
};

static const char *const KEYWORDS[] = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "anyOf",
    "oneOf", "allOf", "$ref", "items", "prefixItems", "minItems", "maxItems", "minLength",
    "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
};

static bool in_list(const char *k, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, list[i]))
            return true;
    return false;
}
#define IS_ANNOTATION(k) js_is_annotation(k)
#define IS_KEYWORD(k) in_list(k, KEYWORDS, sizeof KEYWORDS / sizeof *KEYWORDS)

_Noreturn void js_fail(js_conv *c, const char *fmt, ...) {
    if (c->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
        va_end(ap);
        for (char *p = c->err->msg; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' '; /* names from the schema: the message stays one line */
    }
    longjmp(c->jb, 1);
}

const char *js_path(js_conv *c) { return c->pathlen ? c->path : "#"; }

/* Appends "/seg" to the path (cut short when long); returns the old length
 * for path_pop. */
static size_t path_push(js_conv *c, const char *seg) {
    size_t old = c->pathlen;
    if (!old)
        c->path[c->pathlen++] = '#';
    int n = snprintf(c->path + c->pathlen, sizeof c->path - c->pathlen, "/%s", seg);
    if (n > 0)
        c->pathlen += (size_t)n;
    if (c->pathlen >= sizeof c->path)
        c->pathlen = sizeof c->path - 1;
    return old;
}

static void path_pop(js_conv *c, size_t old) {
    c->pathlen = old;
    c->path[old] = 0;
}

static void grow(js_conv *c, void **p, size_t *cap, size_t n, size_t size) {
    if (n < *cap)
        return;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = js_alloc(c, nc * size);
    if (n)
        memcpy(q, *p, n * size);
    *p = q;
    *cap = nc;
}

static js_rule *find_rule(js_conv *c, const char *name) {
    for (size_t i = 0; i < c->nrules; i++)
        if (!strcmp(c->rules[i].name, name))
            return &c->rules[i];
    return NULL;
}

/* A rule name from a hint: letters, digits and '-', unique unless body
 * equals an existing rule's (then that rule). body NULL: reserve. */
static const char *add_rule(js_conv *c, const char *hint, const char *body) {
    char base[72];
    size_t n = 0;
    for (const char *p = hint; *p && n < 64; p++)
        base[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                            (*p >= '0' && *p <= '9') ? *p : '-';
    if (!n)
        base[n++] = 'r';
    base[n] = 0;
    const char *name = base;
    for (int k = 1;; k++) {
        js_rule *r = find_rule(c, name);
        if (!r)
            break;
        if (body && r->body && !strcmp(r->body, body))
            return r->name;
        name = js_printf(c, "%s%d", base, k);
    }
    if (c->nrules >= 20000)
        js_fail(c, "schema too large: more than 20000 grammar rules");
    grow(c, (void **)&c->rules, &c->caprules, c->nrules, sizeof *c->rules);
    c->rules[c->nrules++] = (js_rule){js_strdup(c, name), body};
    return c->rules[c->nrules - 1].name;
}

static const char *use(js_conv *c, unsigned bit) {
    c->used |= bit;
    for (size_t i = 0; i < sizeof PRIMS / sizeof *PRIMS; i++)
        if (PRIMS[i].bit == bit)
            return PRIMS[i].name;
    return "";
}

static char *dump(js_conv *c, const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        js_fail(c, "out of memory");
    char *r = js_strdup(c, s);
    free(s);
    return r;
}

/* A JSON value as a literal the model writes exactly. */
static void put_value(js_conv *c, js_buf *b, const json_t *v) {
    char *s = dump(c, v);
    js_put_literal(b, s, strlen(s));
    js_buf_printf(b, " %s", use(c, USE_SPACE));
}

/* ---- visiting ---- */

static const char *visit(js_conv *c, const json_t *s, const char *name);

static bool has_siblings(const json_t *s, const char *except);

static const char *child(js_conv *c, const json_t *s, const char *name, const char *seg) {
    size_t old = path_push(c, seg);
    const char *r = visit(c, s, name);
    path_pop(c, old);
    return r;
}

static bool get_count(js_conv *c, const json_t *s, const char *k, long *out) {
    const json_t *v = json_object_get(s, k);
    if (!v)
        return false;
    double d = json_number_value(v);
    if (!json_is_number(v) || d < 0 || d != floor(d))
        js_fail(c, "at %s: \"%s\" must be a non-negative integer", js_path(c), k);
    *out = d > 1e9 ? 1000000000L : (long)d;
    return true;
}

/* item (sep item)... between lo and hi times (hi < 0: unbounded). */
static void repetition(js_buf *b, const char *item, long lo, long hi) {
    if (hi == 0)
        return;
    if (lo == 0)
        js_buf_puts(b, "(");
    js_buf_puts(b, item);
    long l = lo ? lo - 1 : 0, h = hi < 0 ? -1 : hi - 1;
    if (h != 0) {
        js_buf_printf(b, " (\",\" space %s)", item);
        if (l == 0 && h < 0)
            js_buf_puts(b, "*");
        else if (h < 0)
            js_buf_printf(b, "{%ld,}", l);
        else if (l == h)
            js_buf_printf(b, "{%ld}", l);
        else
            js_buf_printf(b, "{%ld,%ld}", l, h);
    }
    if (lo == 0)
        js_buf_puts(b, ")?");
}

static const char *gen_string(js_conv *c, const json_t *s, const char *name) {
    (void)name;
    const json_t *pat = json_object_get(s, "pattern");
    const json_t *fmt = json_object_get(s, "format");
    long lo = 0, hi = -1;
    bool has_lo = get_count(c, s, "minLength", &lo), has_hi = get_count(c, s, "maxLength", &hi);
    if (has_hi && hi > MAX_REP)
        hi = MAX_REP;
    if (lo > MAX_REP)
        js_fail(c, "at %s: minLength over %d is not supported", js_path(c), MAX_REP);
    if (hi >= 0 && lo > hi)
        js_fail(c, "at %s: minLength is above maxLength", js_path(c));
    use(c, USE_SPACE);
    if (pat) {
        if (!json_is_string(pat))
            js_fail(c, "at %s: \"pattern\" must be a string", js_path(c));
        if (has_lo || has_hi)
            js_fail(c, "at %s: \"pattern\" together with minLength/maxLength is not "
                       "supported", js_path(c));
        return js_printf(c, "\"\\\"\" %s \"\\\"\" space",
                         js_regex(c, json_string_value(pat)));
    }
    const char *f = json_string_value(fmt);
    unsigned bit = !f                        ? 0
                   : !strcmp(f, "date")      ? USE_DATE
                   : !strcmp(f, "time")      ? USE_TIME
                   : !strcmp(f, "date-time") ? USE_DATETIME
                   : !strcmp(f, "uuid")      ? USE_UUID
                                             : 0;
    if (bit && !has_lo && !has_hi)
        return js_printf(c, "\"\\\"\" %s \"\\\"\" space", use(c, bit));
    if (!has_lo && !has_hi)
        return use(c, USE_STRING);
    use(c, USE_CHAR);
    js_buf b;
    js_buf_init(&b, c);
    js_buf_puts(&b, "\"\\\"\" char");
    if (hi < 0)
        js_buf_printf(&b, lo == 0 ? "*" : lo == 1 ? "+" : "{%ld,}", lo);
    else if (lo == hi)
        js_buf_printf(&b, "{%ld}", lo);
    else
        js_buf_printf(&b, "{%ld,%ld}", lo, hi);
    js_buf_puts(&b, " \"\\\"\" space");
    return js_buf_str(&b);
}

static bool bound(js_conv *c, const json_t *s, const char *k, double *out) {
    const json_t *v = json_object_get(s, k);
    if (!v || json_is_boolean(v))
        return false;
    if (!json_is_number(v))
        js_fail(c, "at %s: \"%s\" must be a number", js_path(c), k);
    *out = json_number_value(v);
    return true;
}

static int64_t to_i64(double d) { return d < -1e16 ? (int64_t)-1e16 : d > 1e16 ? (int64_t)1e16 : (int64_t)d; }

static const char *gen_number(js_conv *c, const json_t *s, bool integer) {
    double v;
    bool has_lo = false, has_hi = false;
    int64_t lo = 0, hi = 0;
    bool old_lo_ex = json_is_true(json_object_get(s, "exclusiveMinimum"));
    bool old_hi_ex = json_is_true(json_object_get(s, "exclusiveMaximum"));
    if (bound(c, s, "minimum", &v)) {
        has_lo = true;
        lo = to_i64(old_lo_ex ? floor(v) + 1 : ceil(v));
    }
    if (bound(c, s, "exclusiveMinimum", &v)) {
        int64_t l = to_i64(floor(v) + 1);
        lo = has_lo && lo > l ? lo : l;
        has_lo = true;
    }
    if (bound(c, s, "maximum", &v)) {
        has_hi = true;
        hi = to_i64(old_hi_ex ? ceil(v) - 1 : floor(v));
    }
    if (bound(c, s, "exclusiveMaximum", &v)) {
        int64_t h = to_i64(ceil(v) - 1);
        hi = has_hi && hi < h ? hi : h;
        has_hi = true;
    }
    if (!has_lo && !has_hi)
        return use(c, integer ? USE_INTEGER : USE_NUMBER);
    if (has_lo && has_hi && lo > hi)
        js_fail(c, "at %s: no %s lies within the bounds (this converter rounds the bounds "
                   "of numbers to integers)", js_path(c), integer ? "integer" : "number");
    const char *r = integer ? js_int_range(c, has_lo, lo, has_hi, hi)
                            : js_num_range(c, has_lo, lo, has_hi, hi);
    return js_printf(c, "%s %s", r, use(c, USE_SPACE));
}

static const char *gen_object(js_conv *c, const json_t *s, const char *name) {
    const json_t *props = json_object_get(s, "properties");
    const json_t *req = json_object_get(s, "required");
    const json_t *ap = json_object_get(s, "additionalProperties");
    if (props && !json_is_object(props))
        js_fail(c, "at %s: \"properties\" must be an object", js_path(c));
    if (req && !json_is_array(req))
        js_fail(c, "at %s: \"required\" must be an array", js_path(c));
    use(c, USE_SPACE);
    js_buf b;
    js_buf_init(&b, c);
    /* each member's key-value rule, required ones first */
    size_t np = json_object_size(props) + json_array_size(req);
    const char **kv = js_alloc(c, (np + 1) * sizeof *kv);
    size_t n = 0, nreq = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)props, k, v) {
            json_t *ks = json_string(k);
            js_own(c, ks);
            bool r = req && js_arr_has(req, ks);
            if (r != (pass == 0))
                continue;
            size_t old = path_push(c, "properties");
            char *seg = js_printf(c, "%s", k);
            for (char *p = seg; *p; p++)
                if (*p == '/')
                    *p = '~'; /* paths stay readable, not exact */
            const char *val = child(c, v, js_printf(c, "%s-%s", name, k), seg);
            path_pop(c, old);
            js_buf kb;
            js_buf_init(&kb, c);
            put_value(c, &kb, ks);
            js_buf_printf(&kb, " \":\" space %s", val);
            nreq += r;
            kv[n++] = add_rule(c, js_printf(c, "%s-%s-kv", name, k), js_buf_str(&kb));
        }
        if (pass == 0 && req) {
            size_t i;
            json_t *rk;
            json_array_foreach(req, i, rk) {
                if (!json_is_string(rk))
                    js_fail(c, "at %s: \"required\" must hold strings", js_path(c));
                if (json_object_get(props, json_string_value(rk)))
                    continue;
                js_buf kb;
                js_buf_init(&kb, c);
                put_value(c, &kb, rk);
                js_buf_printf(&kb, " \":\" space %s", use(c, USE_VALUE));
                nreq++;
                kv[n++] = add_rule(c, js_printf(c, "%s-%s-kv", name, json_string_value(rk)),
                                   js_buf_str(&kb));
            }
        }
    }
    /* the members the schema does not name */
    const char *extra = NULL;
    if (json_is_true(ap) || (!ap && !props)) {
        extra = "value";
        use(c, USE_VALUE);
    } else if (ap && !json_is_false(ap)) {
        extra = child(c, ap, js_printf(c, "%s-additional", name), "additionalProperties");
    }
    if (extra)
        extra = add_rule(c, js_printf(c, "%s-additional-kv", name),
                         js_printf(c, "%s \":\" space %s", use(c, USE_STRING), extra));
    js_buf_puts(&b, "\"{\" space ");
    if (nreq) {
        for (size_t i = 0; i < nreq; i++)
            js_buf_printf(&b, i ? "\",\" space %s " : "%s ", kv[i]);
        for (size_t i = nreq; i < n; i++)
            js_buf_printf(&b, "(\",\" space %s)? ", kv[i]);
        if (extra)
            js_buf_printf(&b, "(\",\" space %s)* ", extra);
    } else if (n || extra) {
        /* no member is required: whichever comes first has no comma */
        js_buf_puts(&b, "(");
        for (size_t i = 0; i < n; i++) {
            js_buf_printf(&b, "%s%s", i ? " | " : "", kv[i]);
            for (size_t j = i + 1; j < n; j++)
                js_buf_printf(&b, " (\",\" space %s)?", kv[j]);
            if (extra)
                js_buf_printf(&b, " (\",\" space %s)*", extra);
        }
        if (extra)
            js_buf_printf(&b, "%s%s (\",\" space %s)*", n ? " | " : "", extra, extra);
        js_buf_puts(&b, ")? ");
    }
    js_buf_puts(&b, "\"}\" space");
    return js_buf_str(&b);
}

static const char *gen_array(js_conv *c, const json_t *s, const char *name) {
    const json_t *pre = json_object_get(s, "prefixItems");
    const json_t *items = json_object_get(s, "items");
    if (pre && !json_is_array(pre))
        js_fail(c, "at %s: \"prefixItems\" must be an array", js_path(c));
    if (json_is_array(items))
        js_fail(c, "at %s: \"items\" as an array (draft 4 tuples) is not supported; use "
                   "prefixItems", js_path(c));
    long lo = 0, hi = -1;
    get_count(c, s, "minItems", &lo);
    get_count(c, s, "maxItems", &hi);
    if (hi > MAX_REP)
        hi = MAX_REP;
    if (lo > MAX_REP)
        js_fail(c, "at %s: minItems over %d is not supported", js_path(c), MAX_REP);
    if (hi >= 0 && lo > hi)
        js_fail(c, "at %s: minItems is above maxItems", js_path(c));
    use(c, USE_SPACE);
    long np = (long)json_array_size(pre);
    long t = hi >= 0 && hi < np ? hi : np;
    js_buf b;
    js_buf_init(&b, c);
    js_buf_puts(&b, "\"[\" space ");
    for (long i = 0; i < t; i++) {
        size_t old = path_push(c, "prefixItems");
        const char *r = child(c, json_array_get(pre, (size_t)i), js_printf(c, "%s-%ld", name, i),
                              js_printf(c, "%ld", i));
        path_pop(c, old);
        js_buf_printf(&b, i ? "\",\" space %s " : "%s ", r);
    }
    /* then items: with prefixItems and no items, only as many as minItems needs */
    long elo = lo > t ? lo - t : 0, ehi = hi < 0 ? -1 : hi - t;
    if (np && !items)
        ehi = elo;
    if (json_is_false(items)) {
        if (elo)
            js_fail(c, "at %s: minItems needs more items than \"items\": false allows",
                    js_path(c));
        ehi = 0;
    }
    if (ehi != 0) {
        const char *item = !items || json_is_true(items)
                               ? use(c, USE_VALUE)
                               : child(c, items, js_printf(c, "%s-item", name), "items");
        if (t) {
            js_buf_printf(&b, "(\",\" space %s)", item);
            if (elo == 0 && ehi < 0)
                js_buf_puts(&b, "* ");
            else if (ehi < 0)
                js_buf_printf(&b, "{%ld,} ", elo);
            else if (elo == ehi)
                js_buf_printf(&b, "{%ld} ", elo);
            else
                js_buf_printf(&b, "{%ld,%ld} ", elo, ehi);
        } else {
            repetition(&b, item, elo, ehi);
            js_buf_puts(&b, " ");
        }
    }
    js_buf_puts(&b, "\"]\" space");
    return js_buf_str(&b);
}

static bool type_matches(const char *t, const json_t *v) {
    return !strcmp(t, "string")    ? json_is_string(v)
           : !strcmp(t, "integer") ? json_is_integer(v) ||
                                         (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)))
           : !strcmp(t, "number")  ? json_is_number(v)
           : !strcmp(t, "boolean") ? json_is_boolean(v)
           : !strcmp(t, "null")    ? json_is_null(v)
           : !strcmp(t, "object")  ? json_is_object(v)
           : !strcmp(t, "array")   ? json_is_array(v)
                                   : false;
}

static bool type_allows(const json_t *type, const json_t *v) {
    if (!type)
        return true;
    if (json_is_string(type))
        return type_matches(json_string_value(type), v);
    size_t i;
    json_t *t;
    json_array_foreach(type, i, t) if (json_is_string(t) && type_matches(json_string_value(t), v)) return true;
    return false;
}

static const char *gen_typed(js_conv *c, const json_t *s, const char *t, const char *name) {
    if (!strcmp(t, "string"))
        return gen_string(c, s, name);
    if (!strcmp(t, "integer") || !strcmp(t, "number"))
        return gen_number(c, s, t[0] == 'i');
    if (!strcmp(t, "boolean"))
        return use(c, USE_BOOLEAN);
    if (!strcmp(t, "null"))
        return use(c, USE_NULL);
    if (!strcmp(t, "object"))
        return gen_object(c, s, name);
    if (!strcmp(t, "array"))
        return gen_array(c, s, name);
    js_fail(c, "at %s: unknown type \"%s\"", js_path(c), t);
}

static bool has_any(const json_t *s, const char *const *keys, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (json_object_get(s, keys[i]))
            return true;
    return false;
}

/* The type a schema without "type" is about, from its keywords. */
static const char *implied_type(const json_t *s) {
    static const char *const obj[] = {"properties", "additionalProperties", "required"};
    static const char *const arr[] = {"items", "prefixItems", "minItems", "maxItems"};
    static const char *const str[] = {"minLength", "maxLength", "pattern"};
    static const char *const num[] = {"minimum", "maximum", "exclusiveMinimum",
                                      "exclusiveMaximum"};
    return has_any(s, obj, 3)   ? "object"
           : has_any(s, arr, 4) ? "array"
           : has_any(s, str, 3) ? "string"
           : has_any(s, num, 4) ? "number"
                                : NULL;
}

static const char *gen_body(js_conv *c, const json_t *s, const char *name) {
    const json_t *type = json_object_get(s, "type");
    const json_t *cnst = json_object_get(s, "const");
    const json_t *en = json_object_get(s, "enum");
    if (type && !json_is_string(type) && !json_is_array(type))
        js_fail(c, "at %s: \"type\" must be a string or an array", js_path(c));
    if (cnst || en) {
        if (en && !json_is_array(en))
            js_fail(c, "at %s: \"enum\" must be an array", js_path(c));
        js_buf b;
        js_buf_init(&b, c);
        js_buf_puts(&b, "(");
        size_t n = 0, i;
        json_t *v;
        json_array_foreach(en, i, v) {
            if (!type_allows(type, v) || (cnst && !json_equal(cnst, v)))
                continue;
            if (n++)
                js_buf_puts(&b, " | ");
            put_value(c, &b, v);
        }
        if (!en && type_allows(type, cnst))
            put_value(c, &b, cnst), n++;
        if (!n)
            js_fail(c, "at %s: no value of \"%s\" fits the schema", js_path(c),
                    en ? "enum" : "const");
        js_buf_puts(&b, ")");
        return js_buf_str(&b);
    }
    const char *t = json_is_string(type) ? json_string_value(type) : implied_type(s);
    if (json_is_array(type)) {
        if (!json_array_size(type))
            js_fail(c, "at %s: \"type\" is an empty array", js_path(c));
        js_buf b;
        js_buf_init(&b, c);
        js_buf_puts(&b, "(");
        size_t i;
        json_t *v;
        json_array_foreach(type, i, v) {
            if (!json_is_string(v))
                js_fail(c, "at %s: \"type\" must hold strings", js_path(c));
            const char *r = gen_typed(c, s, json_string_value(v),
                                      js_printf(c, "%s-%s", name, json_string_value(v)));
            js_buf_printf(&b, "%s%s", i ? " | " : "", r);
        }
        js_buf_puts(&b, ")");
        return js_buf_str(&b);
    }
    return t ? gen_typed(c, s, t, name) : use(c, USE_VALUE);
}

/* Does the schema say anything besides what `except` names and annotations? */
static bool has_siblings(const json_t *s, const char *except) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v) {
        if (strcmp(k, except) && !IS_ANNOTATION(k))
            return true;
    }
    return false;
}

static const char *visit_expr(js_conv *c, const json_t *s, const char *name);

static const char *visit_ref(js_conv *c, const json_t *s, const char *name) {
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    if (!ref)
        js_fail(c, "at %s: \"$ref\" must be a string", js_path(c));
    if (has_siblings(s, "$ref"))
        return visit_expr(c, js_merged(c, js_resolve(c, ref), s, NULL), name);
    for (size_t i = 0; i < c->nrefs; i++)
        if (!strcmp(c->refs[i].ref, ref))
            return c->refs[i].name;
    const json_t *target = js_deref(c, js_resolve(c, ref)); /* a loop of bare $refs fails */
    const char *tail = strrchr(ref, '/');
    const char *rn = add_rule(c, tail && tail[1] ? tail + 1 : name, NULL);
    grow(c, (void **)&c->refs, &c->caprefs, c->nrefs, sizeof *c->refs);
    c->refs[c->nrefs++] = (js_ref){js_strdup(c, ref), rn};
    /* errors inside name the target's place */
    char *saved = js_strdup(c, c->path);
    size_t old = c->pathlen;
    c->pathlen = 0;
    c->path[0] = 0;
    if (ref[1])
        path_push(c, ref + 2);
    const char *body = visit_expr(c, target, rn); /* (it may move the rules) */
    find_rule(c, rn)->body = body;
    memcpy(c->path, saved, old + 1);
    c->pathlen = old;
    return rn;
}

static bool bare_name(const char *r) {
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') || (*r >= '0' && *r <= '9') ||
              *r == '-'))
            return false;
    return true;
}

/* The schema as a GBNF expression: a rule's name or a body. */
static const char *visit_expr(js_conv *c, const json_t *s, const char *name) {
    if (++c->depth > MAX_DEPTH)
        js_fail(c, "at %s: schema nested too deeply (or a $ref/allOf loop) past %d levels",
                js_path(c), MAX_DEPTH);
    const char *r;
    if (json_is_true(s)) {
        r = use(c, USE_VALUE);
        goto out;
    }
    if (json_is_false(s))
        js_fail(c, "at %s: the schema false matches nothing", js_path(c));
    if (!json_is_object(s))
        js_fail(c, "at %s: a schema must be an object or a boolean", js_path(c));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v) {
        if (!IS_KEYWORD(k) && !IS_ANNOTATION(k))
            js_fail(c, "at %s: unsupported keyword \"%s\"", js_path(c), k);
    }
    if (json_object_get(s, "$ref")) {
        r = visit_ref(c, s, name);
        goto out;
    }
    const json_t *all = json_object_get(s, "allOf");
    if (all) {
        if (!json_is_array(all))
            js_fail(c, "at %s: \"allOf\" must be an array", js_path(c));
        json_t *m = js_merged(c, s, NULL, "allOf");
        size_t i;
        json_t *x;
        json_array_foreach(all, i, x) {
            size_t old = path_push(c, js_printf(c, "allOf/%zu", i));
            js_merge_into(c, m, x);
            path_pop(c, old);
        }
        r = visit_expr(c, m, name);
        goto out;
    }
    const char *which = json_object_get(s, "anyOf") ? "anyOf" : "oneOf";
    const json_t *any = json_object_get(s, which);
    if (any) {
        if (json_object_get(s, "anyOf") && json_object_get(s, "oneOf"))
            js_fail(c, "at %s: anyOf together with oneOf is not supported", js_path(c));
        if (!json_is_array(any) || !json_array_size(any))
            js_fail(c, "at %s: \"%s\" must be a non-empty array", js_path(c), which);
        bool sib = has_siblings(s, which);
        js_buf b;
        js_buf_init(&b, c);
        size_t i;
        json_t *x;
        json_array_foreach(any, i, x) {
            size_t old = path_push(c, which);
            const json_t *branch = sib ? js_merged(c, s, x, which) : x;
            const char *br = child(c, branch, js_printf(c, "%s-%zu", name, i),
                                   js_printf(c, "%zu", i));
            path_pop(c, old);
            js_buf_printf(&b, "%s%s", i ? " | " : "", br);
        }
        r = js_buf_str(&b);
        goto out;
    }
    r = gen_body(c, s, name);
out:
    c->depth--;
    return r;
}

/* The schema as a rule's name (a new rule unless it is one already). */
static const char *visit(js_conv *c, const json_t *s, const char *name) {
    const char *r = visit_expr(c, s, name);
    return bare_name(r) ? r : add_rule(c, name, r);
}

static char *finish(js_conv *c) {
    for (int pass = 0; pass < 3; pass++) /* needs of needs */
        for (size_t i = 0; i < sizeof PRIMS / sizeof *PRIMS; i++)
            if (c->used & PRIMS[i].bit)
                c->used |= PRIMS[i].needs;
    js_buf b;
    js_buf_init(&b, c);
    for (size_t i = 0; i < c->nrules; i++) {
        if (!c->rules[i].body)
            js_fail(c, "internal error: rule %s has no body", c->rules[i].name);
        js_buf_printf(&b, "%s ::= %s\n", c->rules[i].name, c->rules[i].body);
    }
    for (size_t i = 0; i < sizeof PRIMS / sizeof *PRIMS; i++)
        if (c->used & PRIMS[i].bit)
            js_buf_printf(&b, "%s ::= %s\n", PRIMS[i].name, PRIMS[i].body);
    char *out = lf_malloc(b.n + 1);
    if (!out)
        js_fail(c, "out of memory");
    memcpy(out, b.p, b.n + 1);
    return out;
}

/* A schema that comes back to itself before any text (root: {"$ref": "#"},
 * or {"anyOf": [{"$ref": "#"}, ...]}) converts to a left-recursive grammar,
 * which the grammar parser refuses; the converter refuses it first. */
static char *refuse_left_recursion(char *g, lf_error *err) {
    lf_error ge;
    lf_grammar *gr = lf_grammar_new(NULL, g, NULL, &ge);
    if (gr || !strstr(ge.msg, "left-recursive")) {
        lf_grammar_free(gr);
        return g;
    }
    if (err)
        snprintf(err->msg, sizeof err->msg, "the schema refers to itself before any text ($ref or allOf "
                 "loop): %.200s", ge.msg);
    free(g);
    return NULL;
}

char *lf_json_schema_value_to_gbnf(const struct json_t *schema, lf_error *err) {
    js_conv *volatile c = lf_calloc(1, sizeof *c);
    if (!c) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    c->err = err;
    c->root = schema;
    char *volatile out = NULL;
    if (!setjmp(c->jb)) {
        /* the root is rule "root", and a $ref to "#" comes back to it */
        add_rule(c, "root", NULL);
        grow(c, (void **)&c->refs, &c->caprefs, c->nrefs, sizeof *c->refs);
        c->refs[c->nrefs++] = (js_ref){"#", "root"};
        const char *r = visit_expr(c, schema, "root");
        find_rule(c, "root")->body = r;
        out = finish(c);
    }
    for (size_t i = 0; i < c->nowned; i++)
        json_decref(c->owned[i]);
    free(c->owned);
    js_arena_free(c);
    free(c);
    return out ? refuse_left_recursion(out, err) : NULL;
}

char *lf_json_schema_to_gbnf(const char *schema_json, lf_error *err) {
    json_error_t je;
    json_t *s = json_loads(schema_json, JSON_DECODE_ANY, &je);
    if (!s) {
        if (err) {
            snprintf(err->msg, sizeof err->msg, "schema is not valid JSON: %s (line %d, column %d)",
                     je.text, je.line, je.column);
            for (char *p = err->msg; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = ' '; /* jansson quotes the input */
        }
        return NULL;
    }
    char *g = lf_json_schema_value_to_gbnf(s, err);
    json_decref(s);
    return g;
}
