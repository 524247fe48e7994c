/* json_schema_ref.c — what the converter does with $ref (local JSON
 * pointers) and with allOf (and the siblings of anyOf, oneOf and $ref):
 * schemas merged keyword by keyword into a new one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "sample/json_schema.h"

#define MAX_HOPS 64

/* Keywords that change nothing here. */
static const char *const ANNOTATIONS[] = {
    "title", "description", "$schema", "$id", "$comment", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "format",
    "contentEncoding", "contentMediaType",
};

bool js_is_annotation(const char *k) {
    for (size_t i = 0; i < sizeof ANNOTATIONS / sizeof *ANNOTATIONS; i++)
        if (!strcmp(k, ANNOTATIONS[i]))
            return true;
    return false;
}

void js_own(js_conv *c, json_t *j) {
    if (!j)
        js_fail(c, "out of memory");
    if (c->nowned == c->capowned) {
        size_t nc = c->capowned ? c->capowned * 2 : 16;
        json_t **q = lf_realloc(c->owned, nc * sizeof *q);
        if (!q) {
            json_decref(j);
            js_fail(c, "out of memory");
        }
        c->owned = q;
        c->capowned = nc;
    }
    c->owned[c->nowned++] = j;
}

/* ---- $ref ---- */

const json_t *js_resolve(js_conv *c, const char *ref) {
    if (ref[0] != '#')
        js_fail(c, "at %s: unsupported $ref \"%s\" (only references inside the schema, "
                   "starting with #)", js_path(c), ref);
    const json_t *v = c->root;
    const char *p = ref + 1;
    if (*p && *p != '/')
        js_fail(c, "at %s: unsupported $ref \"%s\" (anchors are not supported)", js_path(c),
                ref);
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *seg = js_alloc(c, n + 1);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
                seg[k++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else if (p[i] == '%' && i + 2 < n && sscanf(p + i + 1, "%2hhx", &seg[k]) == 1) {
                k++;
                i += 2;
            } else {
                seg[k++] = p[i];
            }
        }
        seg[k] = 0;
        if (json_is_object(v)) {
            v = json_object_get(v, seg);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long idx = strtoul(seg, &end, 10);
            v = *seg && !*end ? json_array_get(v, idx) : NULL;
        } else {
            v = NULL;
        }
        if (!v)
            js_fail(c, "at %s: $ref \"%s\" points at nothing", js_path(c), ref);
        p += n;
    }
    return v;
}

/* A ref's target with pure-$ref hops followed (a loop of them is an error). */
const json_t *js_deref(js_conv *c, const json_t *s) {
    for (int hops = 0; json_is_object(s); hops++) {
        const json_t *r = json_object_get(s, "$ref");
        if (!json_is_string(r))
            return s;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)s, k, v) {
            if (strcmp(k, "$ref") && !js_is_annotation(k))
                return s;
        }
        if (hops >= MAX_HOPS)
            js_fail(c, "at %s: cyclic $ref \"%s\"", js_path(c), json_string_value(r));
        s = js_resolve(c, json_string_value(r));
    }
    return s;
}

/* ---- merging (allOf, and siblings of anyOf/oneOf/$ref) ---- */

static json_t *type_set(const json_t *t) {
    json_t *a = json_array();
    if (json_is_string(t)) {
        json_array_append(a, (json_t *)t);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v) json_array_append(a, v);
    }
    return a;
}

bool js_arr_has(const json_t *a, const json_t *v) {
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) if (json_equal(x, v)) return true;
    return false;
}

/* Every keyword of b added to a (a fresh object); conflicts are errors. */
void js_merge_into(js_conv *c, json_t *a, const json_t *b) {
    b = js_deref(c, b);
    if (json_is_true(b))
        return;
    if (!json_is_object(b))
        js_fail(c, "at %s: allOf holds a schema that is not an object", js_path(c));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)b, k, v) {
        json_t *old = json_object_get(a, k);
        if (!old) {
            if (json_object_set(a, k, v))
                js_fail(c, "out of memory");
        } else if (json_equal(old, v) || js_is_annotation(k)) {
            continue;
        } else if (!strcmp(k, "allOf") && json_is_array(old) && json_is_array(v)) {
            json_t *n = json_copy(old);
            js_own(c, n);
            json_array_extend(n, v);
            json_object_set(a, k, n);
        } else if (!strcmp(k, "properties") && json_is_object(old) && json_is_object(v)) {
            json_t *n = json_copy(old);
            js_own(c, n);
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv) {
                json_t *po = json_object_get(n, pk);
                if (!po) {
                    json_object_set(n, pk, pv);
                } else if (!json_equal(po, pv)) {
                    json_t *both = json_pack("{s:[O,O]}", "allOf", po, pv);
                    js_own(c, both);
                    json_object_set(n, pk, both);
                }
            }
            json_object_set(a, k, n);
        } else if (!strcmp(k, "required") && json_is_array(old) && json_is_array(v)) {
            json_t *n = json_copy(old);
            js_own(c, n);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) if (!js_arr_has(n, x)) json_array_append(n, x);
            json_object_set(a, k, n);
        } else if (!strcmp(k, "type")) {
            json_t *x = type_set(old), *y = type_set(v), *n = json_array();
            json_t *integer = json_string("integer"), *number = json_string("number");
            js_own(c, x), js_own(c, y), js_own(c, n), js_own(c, integer), js_own(c, number);
            size_t i;
            json_t *t;
            json_array_foreach(x, i, t) {
                json_t *r = js_arr_has(y, t) ? t : NULL;
                if (!r && (json_equal(t, number) || json_equal(t, integer)) &&
                    (js_arr_has(y, number) || js_arr_has(y, integer)))
                    r = integer;
                if (r && !js_arr_has(n, r))
                    json_array_append(n, r);
            }
            if (!json_array_size(n))
                js_fail(c, "at %s: allOf: types that no value has at once", js_path(c));
            json_object_set(a, k, n);
        } else {
            js_fail(c, "at %s: allOf: conflicting \"%s\" is not supported", js_path(c), k);
        }
    }
}

json_t *js_merged(js_conv *c, const json_t *a, const json_t *b, const char *skip) {
    json_t *m = json_object();
    js_own(c, m);
    js_merge_into(c, m, a);
    if (skip)
        json_object_del(m, skip);
    if (b)
        js_merge_into(c, m, b);
    return m;
}

