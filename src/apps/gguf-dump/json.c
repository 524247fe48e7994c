/* The --json output: one object with the same content as the text form. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_dump.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
               : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n || (len == 2 && c < 0xc2) || (c == 0xf4 && len == 4 && s[1] > 0x8f) || c > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f)))
        return 0;
    if (len == 4 && c == 0xf0 && s[1] < 0x90)
        return 0;
    return len;
}

/* A JSON string of s (cut to limit bytes), with invalid UTF-8 replaced by U+FFFD. */
static json_t *json_from_str(lf_str s, uint64_t limit) {
    size_t n = s.len < limit ? s.len : limit;
    const unsigned char *p = (const unsigned char *)s.ptr;
    char *buf = malloc(n * 3 + 1);
    if (!buf)
        return json_null();
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len(p + i, n - i);
        if (len) {
            memcpy(buf + o, p + i, len);
            o += len;
            i += len;
        } else {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j ? j : json_null();
}

static json_t *json_from_value(const lf_gguf_value *v, uint64_t str_limit) {
    switch (v->type) {
    case LF_GGUF_UINT8: case LF_GGUF_UINT16: case LF_GGUF_UINT32: case LF_GGUF_UINT64:
        if (v->v.u > (uint64_t)INT64_MAX) /* JSON integers here are int64 */
            return json_real((double)v->v.u);
        return json_integer((json_int_t)v->v.u);
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        return json_integer((json_int_t)v->v.i);
    case LF_GGUF_FLOAT32: case LF_GGUF_FLOAT64:
        return isfinite(v->v.f) ? json_real(v->v.f) : json_null();
    case LF_GGUF_BOOL:
        return json_boolean(v->v.b);
    case LF_GGUF_STRING:
        return json_from_str(v->v.s, str_limit);
    default:
        return json_null();
    }
}

static json_t *json_kv(const lf_gguf *g, int64_t i, const struct dump_options *opt) {
    lf_gguf_value v = lf_gguf_kv_value(g, i);
    uint64_t str_limit = opt->full ? UINT64_MAX : DUMP_STRING_BYTES;
    json_t *o = json_object();
    json_object_set_new(o, "key", json_from_str(lf_gguf_kv_key(g, i), UINT64_MAX));
    json_object_set_new(o, "type", json_string(lf_gguf_type_name(v.type)));
    if (v.type != LF_GGUF_ARRAY) {
        json_object_set_new(o, "value", json_from_value(&v, str_limit));
        if (v.type == LF_GGUF_STRING && v.v.s.len > str_limit)
            json_object_set_new(o, "truncated", json_true());
        return o;
    }
    json_object_set_new(o, "element_type", json_string(lf_gguf_type_name(v.arr_type)));
    json_object_set_new(o, "count", json_integer((json_int_t)v.arr_n));
    uint64_t n = opt->full || v.arr_n <= DUMP_ARRAY_ITEMS ? v.arr_n : DUMP_ARRAY_ITEMS;
    json_t *items = json_array();
    for (uint64_t j = 0; j < n; j++) {
        lf_gguf_value e;
        if (lf_gguf_arr_get(g, i, j, &e))
            json_array_append_new(items, json_from_value(&e, str_limit));
    }
    json_object_set_new(o, "value", items);
    if (n < v.arr_n)
        json_object_set_new(o, "truncated", json_true());
    return o;
}

static json_t *json_tensor(const lf_gguf *g, int64_t i) {
    const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_from_str(t->name, UINT64_MAX));
    json_t *shape = json_array();
    for (int d = 0; d < t->n_dims; d++)
        json_array_append_new(shape, json_integer(t->ne[d]));
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "type", json_string(lf_type_name(t->type)));
    json_object_set_new(o, "offset", json_integer((json_int_t)t->file_offset));
    json_object_set_new(o, "bytes", json_integer((json_int_t)t->nbytes));
    json_object_set_new(o, "elements", json_integer(dump_tensor_elements(t)));
    if (lf_gguf_shard_count(g) > 1)
        json_object_set_new(o, "shard", json_integer(t->shard + 1));
    return o;
}

static json_t *json_totals(const lf_gguf *g) {
    struct dump_totals t;
    dump_compute_totals(g, &t);
    json_t *o = json_object();
    json_object_set_new(o, "parameters", json_integer(t.params));
    json_object_set_new(o, "tensor_bytes", json_integer((json_int_t)t.tensor_bytes));
    json_object_set_new(o, "bits_per_weight",
                        json_real(t.params ? 8.0 * (double)t.tensor_bytes / (double)t.params : 0.0));
    json_object_set_new(o, "file_bytes", json_integer((json_int_t)t.file_bytes));
    json_t *types = json_object();
    for (int ty = 0; ty < LF_TYPE_COUNT; ty++) {
        if (!t.type_count[ty])
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "tensors", json_integer(t.type_count[ty]));
        json_object_set_new(e, "bytes", json_integer((json_int_t)t.type_bytes[ty]));
        json_object_set_new(types, lf_type_name(ty), e);
    }
    json_object_set_new(o, "types", types);
    return o;
}

/* The "model" object: the summary's keys (by suffix) with their values, per-layer
 * arrays in full, the head dimensions and the layer kinds. */
static json_t *json_model(const lf_gguf *g, const struct dump_options *opt) {
    struct dump_model m;
    if (!dump_model_init(g, &m))
        return json_null();
    json_t *o = json_object(), *hp = json_object(), *kinds = json_object();
    json_object_set_new(o, "architecture", json_string(m.arch));
    for (int r = 0; r < dump_row_count; r++) {
        for (int i = 0; i < DUMP_ROW_ITEMS && dump_rows[r].items[i].suffix; i++) {
            const char *suffix = dump_rows[r].items[i].suffix;
            int64_t id = dump_model_key(g, &m, suffix);
            lf_gguf_value v = lf_gguf_kv_value(g, id);
            if (id < 0)
                continue;
            if (v.type != LF_GGUF_ARRAY) {
                json_object_set_new(hp, suffix, json_from_value(&v, DUMP_STRING_BYTES));
                continue;
            }
            if (v.arr_n > 65536 && !opt->full)
                continue; /* not a per-layer array */
            json_t *items = json_array();
            for (uint64_t j = 0; j < v.arr_n; j++) {
                lf_gguf_value e;
                if (lf_gguf_arr_get(g, id, j, &e))
                    json_array_append_new(items, json_from_value(&e, DUMP_STRING_BYTES));
            }
            json_object_set_new(hp, suffix, items);
        }
    }
    json_object_set_new(o, "hparams", hp);
    if (m.head_dim_k > 0 || m.head_dim_v > 0) {
        json_t *hd = json_object();
        json_object_set_new(hd, "key", json_integer(m.head_dim_k));
        json_object_set_new(hd, "value", json_integer(m.head_dim_v));
        json_object_set_new(hd, "derived", json_boolean(m.head_dims_derived));
        json_object_set_new(o, "head_dims", hd);
    }
    for (int i = 0; i < m.n_kinds; i++) {
        const struct dump_kinds *k = &m.kinds[i];
        json_t *e = json_object(), *layers = json_array();
        char *runs = dump_kinds_summary(&m, k, opt->full);
        json_object_set_new(e, "summary", runs ? json_string(runs) : json_null());
        free(runs);
        json_object_set_new(e, "rule", json_string(k->rule));
        for (int64_t l = 0; l < m.n_layer; l++)
            json_array_append_new(layers, json_string(k->layer[l]));
        json_object_set_new(e, "layers", layers);
        json_object_set_new(kinds, k->name, e);
    }
    json_object_set_new(o, "layer_kinds", kinds);
    dump_model_free(&m);
    return o;
}

int dump_json(const lf_gguf *g, const char *path, const struct dump_options *opt) {
    json_t *root = json_object();
    json_object_set_new(root, "file", json_from_str((lf_str){path, strlen(path)}, UINT64_MAX));
    json_object_set_new(root, "version", json_integer(lf_gguf_version(g)));
    json_object_set_new(root, "alignment", json_integer(lf_gguf_alignment(g)));
    json_object_set_new(root, "shards", json_integer(lf_gguf_shard_count(g)));
    json_object_set_new(root, "tensor_count", json_integer(lf_gguf_tensor_count(g)));
    json_object_set_new(root, "kv_count", json_integer(lf_gguf_kv_count(g)));
    json_t *kvs = json_array();
    for (int64_t i = 0; i < lf_gguf_kv_count(g); i++)
        json_array_append_new(kvs, json_kv(g, i, opt));
    json_object_set_new(root, "metadata", kvs);
    json_object_set_new(root, "model", json_model(g, opt));
    json_t *tensors = json_array();
    for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++)
        json_array_append_new(tensors, json_tensor(g, i));
    json_object_set_new(root, "tensors", tensors);
    json_object_set_new(root, "totals", json_totals(g));
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? 1 : 0;
    putchar('\n');
    json_decref(root);
    return rc;
}
