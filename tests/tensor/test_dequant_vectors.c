/* test_dequant_vectors.c — every tensor listed in
 * ../shared/vectors/dequant/index.json, dequantized with the type table's
 * to_float, must equal llama.cpp's float32 values bit for bit. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "tensor/types.h"

/* ------------------------------------------ a minimal JSON reader (tree) */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jv {
    int kind;
    double num;
    char *str;       /* J_STR */
    int n;           /* J_ARR, J_OBJ: number of children */
    char **keys;     /* J_OBJ */
    struct jv **kid; /* J_ARR, J_OBJ */
} jv;

typedef struct {
    const char *p, *end;
    int depth;
} jparser;

static void j_ws(jparser *ps) {
    while (ps->p < ps->end && isspace((unsigned char)*ps->p))
        ps->p++;
}

/* A string without escapes other than \" \\ \/ and the single-letter ones;
 * \u escapes are kept verbatim (index.json has none). */
static char *j_string(jparser *ps) {
    if (ps->p >= ps->end || *ps->p != '"')
        return NULL;
    ps->p++;
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    while (s && ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\' && ps->p < ps->end) {
            c = *ps->p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        if (len + 2 > cap) {
            char *t = realloc(s, cap *= 2);
            if (!t)
                free(s);
            s = t;
            if (!s)
                return NULL;
        }
        s[len++] = c;
    }
    if (!s || ps->p >= ps->end) {
        free(s);
        return NULL;
    }
    ps->p++;
    s[len] = 0;
    return s;
}

static void j_free(jv *v) {
    if (!v)
        return;
    for (int i = 0; i < v->n; i++) {
        j_free(v->kid[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->kid);
    free(v->keys);
    free(v->str);
    free(v);
}

static jv *j_value(jparser *ps);

/* Appends a child (with its key, for an object); false when out of memory. */
static bool j_push(jv *v, char *key, jv *kid) {
    jv **nk = realloc(v->kid, sizeof *nk * (size_t)(v->n + 1));
    if (!nk)
        return false;
    v->kid = nk;
    if (v->kind == J_OBJ) {
        char **nkeys = realloc(v->keys, sizeof *nkeys * (size_t)(v->n + 1));
        if (!nkeys)
            return false;
        v->keys = nkeys;
        v->keys[v->n] = key;
    }
    v->kid[v->n++] = kid;
    return true;
}

/* Parses the members of an array (keys == NULL) or object up to close. */
static bool j_members(jparser *ps, jv *v, char close) {
    ps->p++;
    j_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        char *key = NULL;
        if (close == '}') {
            j_ws(ps);
            if (!(key = j_string(ps)))
                return false;
            j_ws(ps);
            if (ps->p >= ps->end || *ps->p++ != ':') {
                free(key);
                return false;
            }
        }
        jv *kid = j_value(ps);
        if (!kid || !j_push(v, key, kid)) {
            free(key);
            j_free(kid);
            return false;
        }
        j_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return true;
        }
        return false;
    }
}

static jv *j_value(jparser *ps) {
    j_ws(ps);
    if (ps->p >= ps->end || ++ps->depth > 64)
        return NULL;
    jv *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    bool ok = true;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        v->kind = c == '{' ? J_OBJ : J_ARR;
        ok = j_members(ps, v, c == '{' ? '}' : ']');
    } else if (c == '"') {
        v->kind = J_STR;
        ok = (v->str = j_string(ps)) != NULL;
    } else if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "null", 4)) {
        v->kind = c == 't' ? J_BOOL : J_NULL;
        v->num = c == 't';
        ps->p += 4;
    } else if (!strncmp(ps->p, "false", 5)) {
        v->kind = J_BOOL;
        ps->p += 5;
    } else {
        char *e;
        v->kind = J_NUM;
        v->num = strtod(ps->p, &e);
        ok = e != ps->p && e <= ps->end;
        ps->p = e;
    }
    ps->depth--;
    if (!ok) {
        j_free(v);
        return NULL;
    }
    return v;
}

static const jv *j_get(const jv *o, const char *key) {
    if (!o || o->kind != J_OBJ)
        return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return o->kid[i];
    return NULL;
}

static const char *j_str(const jv *o, const char *key) {
    const jv *v = j_get(o, key);
    return v && v->kind == J_STR ? v->str : NULL;
}

static int64_t j_int(const jv *o, const char *key) {
    const jv *v = j_get(o, key);
    return v && v->kind == J_NUM ? (int64_t)v->num : -1;
}

/* ------------------------------------------------------------------ files */

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *size = (size_t)n;
    }
    return buf;
}

/* Checks one tensor entry of the index against the model file. */
static void check_tensor(const jv *file, const jv *t,
                         const lf_gguf *g, const float *ref, size_t ref_floats) {
    const char *model = j_str(file, "model");
    const char *name = j_str(t, "tensor"), *type = j_str(t, "type");
    int64_t n = j_int(t, "n_values"), off = j_int(t, "offset_values");
    char label[256];
    snprintf(label, sizeof label, "dequant %s (%s %s)", type ? type : "?",
             model ? model : "?", name ? name : "?");
    TEST_BEGIN(label);
    const lf_gguf_tensor *gt = name ? lf_gguf_find_tensor(g, name) : NULL;
    int id = type ? lf_type_from_name(type) : -1;
    const lf_type_traits *tr = lf_type_traits_of(id);
    EXPECT(gt != NULL, "tensor %s not in %s", name ? name : "?", model);
    EXPECT(tr && tr->to_float, "no to_float for type %s", type ? type : "?");
    EXPECT(n > 0 && off >= 0 && (size_t)(off + n) <= ref_floats,
           "bad n_values/offset_values %lld/%lld", (long long)n, (long long)off);
    if (gt && tr && tr->to_float && n > 0 && off >= 0 && (size_t)(off + n) <= ref_floats) {
        int64_t bytes = lf_type_row_bytes(id, n);
        EXPECT(gt->type == id, "file says type %d, index says %s", gt->type, type);
        EXPECT(bytes > 0 && (uint64_t)bytes <= gt->nbytes, "n_values %lld too large",
               (long long)n);
        if (gt->type == id && bytes > 0 && (uint64_t)bytes <= gt->nbytes) {
            float *out = malloc(sizeof(float) * (size_t)n);
            EXPECT(out != NULL, "out of memory");
            if (out) {
                tr->to_float(gt->data, out, n);
                int64_t bad = 0, first = -1;
                for (int64_t i = 0; i < n; i++) {
                    if (memcmp(&out[i], &ref[off + i], sizeof(float))) {
                        if (first < 0)
                            first = i;
                        bad++;
                    }
                }
                EXPECT(bad == 0, "%lld of %lld values differ; first at %lld: got %.9g want %.9g",
                       (long long)bad, (long long)n, (long long)first,
                       first >= 0 ? out[first] : 0.0, first >= 0 ? ref[off + first] : 0.0);
                free(out);
            }
        }
    }
    TEST_END();
}

static void check_file(const char *dir, const jv *file) {
    const char *model = j_str(file, "model"), *deq = j_str(file, "dequant_file");
    const jv *tensors = j_get(file, "tensors");
    if (!model || !deq || !tensors || tensors->kind != J_ARR) {
        TEST_BEGIN("dequant index entry");
        EXPECT(0, "malformed file entry in index.json");
        TEST_END();
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/%s", dir, model);
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open(path, &err);
    snprintf(path, sizeof path, "%s/vectors/dequant/%s", dir, deq);
    size_t ref_bytes = 0;
    float *ref = read_file(path, &ref_bytes);
    if (!g || !ref) {
        for (int i = 0; i < tensors->n; i++) {
            TEST_BEGIN(j_str(tensors->kid[i], "type") ? j_str(tensors->kid[i], "type") : "?");
            EXPECT(g != NULL, "cannot open %s: %s", model, err.msg);
            EXPECT(ref != NULL, "cannot read %s", path);
            TEST_END();
        }
    } else {
        for (int i = 0; i < tensors->n; i++)
            check_tensor(file, tensors->kid[i], g, ref, ref_bytes / sizeof(float));
    }
    free(ref);
    if (g)
        lf_gguf_close(g);
}

int main(void) {
    const char *dir = test_shared_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/dequant/index.json", dir);
    size_t size = 0;
    char *text = read_file(path, &size);
    if (!text) {
        SKIP("dequant vectors", "no %s", path);
        return test_summary();
    }
    jparser ps = {text, text + size, 0};
    jv *root = j_value(&ps);
    const jv *files = j_get(root, "files");
    TEST_BEGIN("dequant index.json parses");
    EXPECT(files && files->kind == J_ARR && files->n > 0, "no \"files\" array");
    TEST_END();
    for (int i = 0; files && files->kind == J_ARR && i < files->n; i++)
        check_file(dir, files->kid[i]);
    j_free(root);
    free(text);
    return test_summary();
}
