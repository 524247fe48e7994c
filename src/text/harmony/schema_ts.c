/* schema_ts.c — a function's JSON Schema as the TypeScript that harmony
 * puts in the developer message (openai/harmony's json_schema_to_typescript,
 * rule for rule, down to its quirks: enum values and string defaults are
 * not escaped, a nested object's description appears twice). Unlike the
 * original it has a depth limit: past LF_HARMONY_SCHEMA_DEPTH a schema is
 * "any", so 10,000-deep nesting costs nothing. $ref is never followed. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "text/harmony/harmony.h"

static void spaces(lf_hstr *o, int n) {
    static const char sp[] = "                                                                ";
    while (n > 0) {
        int k = n < 64 ? n : 64;
        lf_hstr_append(o, sp, (size_t)k);
        n -= k;
    }
}

static void put(lf_hstr *o, const char *s) { lf_hstr_puts(o, s); }

static void put_str(lf_hstr *o, const json_t *s) {
    lf_hstr_append(o, json_string_value(s), json_string_length(s));
}

/* A double the way serde_json (ryu) prints it: the shortest digits that
 * read back, "1.0" for integral values, exponent form outside 1e-5..1e16. */
static void put_real(lf_hstr *o, double d) {
    char buf[64];
    if (!isfinite(d)) {
        put(o, "null");
        return;
    }
    int prec = 0;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* buf: [-]D[.DDD]e[+-]XX */
    char digits[32];
    int nd = 0, exp10;
    const char *p = buf;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char out[96];
    int n = 0;
    if (neg)
        out[n++] = '-';
    if (exp10 >= -5 && exp10 < 16) {
        if (exp10 < 0) {
            out[n++] = '0', out[n++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[n++] = '0';
            for (int i = 0; i < nd; i++)
                out[n++] = digits[i];
        } else {
            for (int i = 0; i <= exp10; i++)
                out[n++] = i < nd ? digits[i] : '0';
            out[n++] = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++)
                    out[n++] = digits[i];
            else
                out[n++] = '0';
        }
        out[n] = 0;
    } else {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            for (int i = 1; i < nd; i++)
                out[n++] = digits[i];
        }
        snprintf(out + n, sizeof out - (size_t)n, "e%d", exp10);
    }
    put(o, out);
}

static void put_json_string(lf_hstr *o, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    put(o, "\"");
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = 0;
            esc = u;
        }
        if (esc) {
            lf_hstr_append(o, s + run, i - run);
            put(o, esc);
            run = i + 1;
        }
    }
    lf_hstr_append(o, s + run, n - run);
    put(o, "\"");
}

/* Compact JSON, as serde_json's Display writes a value (key order kept).
 * Depth-limited like everything here: deeper parts print as null. */
static void put_json(lf_hstr *o, const json_t *v, int depth) {
    if (depth > LF_HARMONY_SCHEMA_DEPTH) {
        put(o, "null");
        return;
    }
    char buf[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put(o, "{");
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                put(o, ",");
            first = false;
            put_json_string(o, k, strlen(k));
            put(o, ":");
            put_json(o, x, depth + 1);
        }
        put(o, "}");
        break;
    }
    case JSON_ARRAY:
        put(o, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                put(o, ",");
            put_json(o, json_array_get(v, i), depth + 1);
        }
        put(o, "]");
        break;
    case JSON_STRING:
        put_json_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        put(o, buf);
        break;
    case JSON_REAL:
        put_real(o, json_real_value(v));
        break;
    case JSON_TRUE:
        put(o, "true");
        break;
    case JSON_FALSE:
        put(o, "false");
        break;
    default:
        put(o, "null");
    }
}

static bool is_enum(const json_t *s) {
    const json_t *e = json_object_get(s, "enum");
    return json_is_array(e) && json_array_size(e) > 0;
}

static bool nullable(const json_t *s) { return json_is_true(json_object_get(s, "nullable")); }

/* "default: X" where a string default is quoted unless the schema has an
 * enum (quoted_enum_json: the top-level oneOf's way, JSON for enums). */
static void put_default(lf_hstr *o, const json_t *schema, const json_t *d, bool enum_as_json) {
    put(o, "default: ");
    if (json_is_string(d) && !is_enum(schema)) {
        put(o, "\"");
        put_str(o, d);
        put(o, "\"");
    } else if (json_is_string(d) && !enum_as_json) {
        put_str(o, d);
    } else {
        put_json(o, d, 0);
    }
}

static void ts(const json_t *schema, int indent, int depth, lf_hstr *o);

/* ts() of a variant, with " | null" for a nullable one that says no null. */
static void ts_nullable(const json_t *schema, int indent, int depth, lf_hstr *o) {
    size_t start = o->n;
    ts(schema, indent, depth, o);
    if (nullable(schema) && !o->failed && !memmem(o->p + start, o->n - start, "null", 4))
        put(o, " | null");
}

static void one_of_top(const json_t *arr, int indent, int depth, lf_hstr *o) {
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        put(o, "\n");
        spaces(o, indent);
        put(o, " | ");
        ts_nullable(v, indent + 3, depth + 1, o);
        const json_t *desc = json_object_get(v, "description");
        const json_t *def = json_object_get(v, "default");
        if (json_is_string(desc) || def) {
            put(o, " // ");
            if (json_is_string(desc))
                put_str(o, desc);
            if (json_is_string(desc) && def)
                put(o, " ");
            if (def)
                put_default(o, v, def, true);
        }
    }
}

static void comment_line(lf_hstr *o, int indent, const json_t *s) {
    spaces(o, indent);
    put(o, "// ");
    put_str(o, s);
    put(o, "\n");
}

static void property_one_of(const char *key, const json_t *val, const json_t *arr, bool required,
                            int indent, int depth, lf_hstr *o) {
    const json_t *pdesc = json_object_get(val, "description");
    const char *pd = json_is_string(pdesc) ? json_string_value(pdesc) : NULL;
    bool skip = false;
    if (pd && json_array_size(arr) > 0) {
        const json_t *fd = json_object_get(json_array_get(arr, 0), "description");
        skip = json_is_string(fd) && json_equal(fd, pdesc);
    }
    bool above = false;
    if (!skip && pd) {
        comment_line(o, indent, pdesc);
        above = true;
    }
    const json_t *def = json_object_get(val, "default");
    if (def) {
        spaces(o, indent);
        put(o, "// ");
        put_default(o, val, def, false);
        put(o, "\n");
    }
    spaces(o, indent);
    put(o, key);
    put(o, required ? ":\n" : "?:\n");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        spaces(o, indent);
        put(o, " | ");
        ts_nullable(v, indent + 3, depth + 1, o);
        const json_t *vd = json_object_get(v, "description");
        bool show_desc = !(i == 0 && above) && json_is_string(vd) && !(pd && json_equal(vd, pdesc));
        const json_t *vdef = json_object_get(v, "default");
        if (show_desc || vdef) {
            put(o, " // ");
            if (show_desc)
                put_str(o, vd);
            if (show_desc && vdef)
                put(o, " ");
            if (vdef)
                put_default(o, v, vdef, false);
        }
        put(o, "\n");
    }
    spaces(o, indent);
    put(o, ",\n");
}

static bool in_required(const json_t *schema, const char *key) {
    const json_t *req = json_object_get(schema, "required");
    for (size_t i = 0; i < json_array_size(req); i++) {
        const json_t *r = json_array_get(req, i);
        if (json_is_string(r) && strcmp(json_string_value(r), key) == 0)
            return true;
    }
    return false;
}

static void object(const json_t *schema, int indent, int depth, lf_hstr *o) {
    const json_t *desc = json_object_get(schema, "description");
    if (json_is_string(desc))
        comment_line(o, indent, desc);
    put(o, "{\n");
    const json_t *props = json_object_get(schema, "properties");
    const char *key;
    json_t *val;
    if (json_is_object(props)) {
        json_object_foreach((json_t *)props, key, val) {
            if (o->failed)
                break;
            bool req = in_required(schema, key);
            const json_t *title = json_object_get(val, "title");
            if (json_is_string(title)) {
                comment_line(o, indent, title);
                spaces(o, indent);
                put(o, "//\n");
            }
            const json_t *one_of = json_object_get(val, "oneOf");
            const json_t *d = json_object_get(val, "description");
            if (!one_of && json_is_string(d))
                comment_line(o, indent, d);
            const json_t *ex = json_object_get(val, "examples");
            if (json_is_array(ex) && json_array_size(ex) > 0) {
                spaces(o, indent);
                put(o, "// Examples:\n");
                for (size_t i = 0; i < json_array_size(ex); i++) {
                    const json_t *e = json_array_get(ex, i);
                    if (!json_is_string(e))
                        continue;
                    spaces(o, indent);
                    put(o, "// - \"");
                    put_str(o, e);
                    put(o, "\"\n");
                }
            }
            if (json_is_array(one_of)) {
                property_one_of(key, val, one_of, req, indent, depth, o);
                continue;
            }
            spaces(o, indent);
            put(o, key);
            put(o, req ? ": " : "?: ");
            ts_nullable(val, indent + 4, depth + 1, o);
            put(o, ",");
            const json_t *def = json_object_get(val, "default");
            if (!one_of && def) {
                put(o, " // ");
                put_default(o, val, def, false);
            }
            put(o, "\n");
        }
    }
    spaces(o, indent);
    put(o, "}");
}

static void ts(const json_t *schema, int indent, int depth, lf_hstr *o) {
    if (depth > LF_HARMONY_SCHEMA_DEPTH || !json_is_object(schema) || o->failed) {
        put(o, "any");
        return;
    }
    const json_t *one_of = json_object_get(schema, "oneOf");
    if (json_is_array(one_of)) {
        one_of_top(one_of, indent, depth, o);
        return;
    }
    const json_t *type = json_object_get(schema, "type");
    if (json_is_array(type)) {
        bool any = false;
        for (size_t i = 0; i < json_array_size(type); i++) {
            const json_t *t = json_array_get(type, i);
            if (!json_is_string(t))
                continue;
            if (any)
                put(o, " | ");
            any = true;
            put(o, strcmp(json_string_value(t), "integer") == 0 ? "number" : json_string_value(t));
        }
        if (any)
            return;
    }
    if (!json_is_string(type)) {
        put(o, "any");
        return;
    }
    const char *t = json_string_value(type);
    if (strcmp(t, "object") == 0) {
        object(schema, indent, depth, o);
    } else if (strcmp(t, "string") == 0) {
        const json_t *e = json_object_get(schema, "enum");
        bool any = false;
        for (size_t i = 0; i < json_array_size(e); i++) {
            const json_t *v = json_array_get(e, i);
            if (!json_is_string(v))
                continue;
            if (any)
                put(o, " | ");
            any = true;
            put(o, "\"");
            put_str(o, v);
            put(o, "\"");
        }
        if (!any)
            put(o, "string");
    } else if (strcmp(t, "number") == 0 || strcmp(t, "integer") == 0) {
        put(o, "number");
    } else if (strcmp(t, "boolean") == 0) {
        put(o, "boolean");
    } else if (strcmp(t, "array") == 0) {
        const json_t *items = json_object_get(schema, "items");
        if (items) {
            ts(items, indent, depth + 1, o);
            put(o, "[]");
        } else {
            put(o, "Array<any>");
        }
    } else {
        put(o, "any");
    }
}

bool lf_harmony_schema_ts_json(const void *schema, lf_hstr *out) {
    ts((const json_t *)schema, 0, 0, out);
    return !out->failed;
}

bool lf_harmony_schema_ts(const char *json, lf_hstr *out, lf_error *err) {
    json_error_t je;
    json_t *root = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!root)
        return lf_fail(err, "tool parameters are not JSON: %s (line %d)", je.text, je.line);
    bool ok = lf_harmony_schema_ts_json(root, out);
    json_decref(root);
    if (!ok)
        return lf_fail(err, "harmony: rendered text too large or out of memory");
    return true;
}
