/* gguf_access.c — reading metadata and tensor infos out of an open GGUF. */
#include <string.h>

#include "format/gguf.h"

uint32_t lf_gguf_version(const lf_gguf *g) {
    return g->version;
}

uint32_t lf_gguf_alignment(const lf_gguf *g) {
    return g->alignment;
}

int lf_gguf_shard_count(const lf_gguf *g) {
    return g->n_shards;
}

static const lf_gguf *shard_of(const lf_gguf *g, int shard) {
    if (shard < 0 || shard >= g->n_shards)
        return NULL;
    return g->shards ? g->shards[shard] : g;
}

uint64_t lf_gguf_file_size(const lf_gguf *g, int shard) {
    const lf_gguf *s = shard_of(g, shard);
    return s ? s->size : 0;
}

uint64_t lf_gguf_data_offset(const lf_gguf *g, int shard) {
    const lf_gguf *s = shard_of(g, shard);
    return s ? s->data_offset : 0;
}

int64_t lf_gguf_kv_count(const lf_gguf *g) {
    return g->n_kv;
}

lf_str lf_gguf_kv_key(const lf_gguf *g, int64_t i) {
    if (i < 0 || i >= g->n_kv)
        return (lf_str){NULL, 0};
    return g->kv[i].key;
}

lf_gguf_value lf_gguf_kv_value(const lf_gguf *g, int64_t i) {
    if (i < 0 || i >= g->n_kv) {
        lf_gguf_value none;
        memset(&none, 0, sizeof(none));
        none.type = -1;
        return none;
    }
    return g->kv[i].value;
}

int64_t lf_gguf_find_key(const lf_gguf *g, const char *key) {
    return lf_gguf_index_find(&g->kv_index, key, strlen(key));
}

bool lf_gguf_arr_get(const lf_gguf *g, int64_t i, uint64_t j, lf_gguf_value *out) {
    if (i < 0 || i >= g->n_kv)
        return false;
    const lf_gguf_kv *kv = &g->kv[i];
    if (kv->value.type != LF_GGUF_ARRAY || j >= kv->value.arr_n)
        return false;
    int et = kv->value.arr_type;
    if (et != LF_GGUF_STRING) {
        *out = lf_gguf_decode_scalar(et, kv->arr + j * lf_gguf_scalar_size(et));
        return true;
    }
    /* The parser checked every element's length against the file. */
    const uint8_t *p = kv->arr + kv->str_index[j];
    memset(out, 0, sizeof(*out));
    out->type = LF_GGUF_STRING;
    out->v.s.len = lf_gguf_decode_scalar(LF_GGUF_UINT64, p).v.u;
    out->v.s.ptr = (const char *)p + 8;
    return true;
}

static const lf_gguf_value *find_value(const lf_gguf *g, const char *key) {
    int64_t i = lf_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kv[i].value;
}

bool lf_gguf_get_int(const lf_gguf *g, const char *key, int64_t *out) {
    const lf_gguf_value *v = find_value(g, key);
    if (!v)
        return false;
    switch (v->type) {
    case LF_GGUF_UINT8: case LF_GGUF_UINT16: case LF_GGUF_UINT32:
        *out = (int64_t)v->v.u;
        return true;
    case LF_GGUF_UINT64:
        if (v->v.u > INT64_MAX)
            return false;
        *out = (int64_t)v->v.u;
        return true;
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        *out = v->v.i;
        return true;
    case LF_GGUF_BOOL:
        *out = v->v.b;
        return true;
    default:
        return false;
    }
}

bool lf_gguf_get_float(const lf_gguf *g, const char *key, double *out) {
    const lf_gguf_value *v = find_value(g, key);
    if (!v || (v->type != LF_GGUF_FLOAT32 && v->type != LF_GGUF_FLOAT64))
        return false;
    *out = v->v.f;
    return true;
}

bool lf_gguf_get_bool(const lf_gguf *g, const char *key, bool *out) {
    const lf_gguf_value *v = find_value(g, key);
    if (!v || v->type != LF_GGUF_BOOL)
        return false;
    *out = v->v.b;
    return true;
}

bool lf_gguf_get_str(const lf_gguf *g, const char *key, lf_str *out) {
    const lf_gguf_value *v = find_value(g, key);
    if (!v || v->type != LF_GGUF_STRING)
        return false;
    *out = v->v.s;
    return true;
}

int64_t lf_gguf_tensor_count(const lf_gguf *g) {
    return g->n_tensors;
}

const lf_gguf_tensor *lf_gguf_tensor_at(const lf_gguf *g, int64_t i) {
    if (i < 0 || i >= g->n_tensors)
        return NULL;
    return &g->tensors[i];
}

const lf_gguf_tensor *lf_gguf_find_tensor(const lf_gguf *g, const char *name) {
    int64_t i = lf_gguf_index_find(&g->tensor_index, name, strlen(name));
    return i < 0 ? NULL : &g->tensors[i];
}

const char *lf_gguf_type_name(int type) {
    static const char *const names[LF_GGUF_TYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64",
    };
    return type >= 0 && type < LF_GGUF_TYPE_COUNT ? names[type] : NULL;
}
