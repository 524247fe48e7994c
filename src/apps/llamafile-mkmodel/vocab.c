/* vocab.c — the tokenizer of a made model: the tokenizer.* keys of a
 * vocabulary GGUF, its per-token arrays cut to the model's vocabulary size
 * or extended with filler tokens ("[filler_N]", normal, score -10000) when
 * the model has more tokens than the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

static bool oom(lf_error *err) {
    snprintf(err->msg, sizeof err->msg, "out of memory");
    return false;
}

static bool copy_strings(lf_gguf_writer *w, const lf_gguf *v, int64_t i, const char *key,
                         uint64_t n_in, uint64_t n, lf_error *err) {
    char **s = calloc(n ? n : 1, sizeof *s);
    bool ok = s != NULL;
    for (uint64_t j = 0; ok && j < n; j++) {
        lf_gguf_value e;
        if (j < n_in)
            ok = lf_gguf_arr_get(v, i, j, &e) && (s[j] = strndup(e.v.s.ptr, e.v.s.len));
        else if ((s[j] = malloc(32)))
            snprintf(s[j], 32, "[filler_%llu]", (unsigned long long)j);
        else
            ok = false;
    }
    ok = ok ? lf_gguf_set_arr_str(w, key, (const char *const *)s, n, err) : oom(err);
    for (uint64_t j = 0; s && j < n; j++)
        free(s[j]);
    free(s);
    return ok;
}

/* Copies array kv i of v with n elements: its first ones, then fillers. */
static bool copy_array(lf_gguf_writer *w, const lf_gguf *v, int64_t i, const char *key,
                       uint64_t n, lf_error *err) {
    lf_gguf_value a = lf_gguf_kv_value(v, i);
    if (a.arr_type == LF_GGUF_ARRAY)
        return true;
    if (a.arr_type == LF_GGUF_STRING)
        return copy_strings(w, v, i, key, a.arr_n, n, err);
    static const int k_size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    int es = a.arr_type >= 0 && a.arr_type < 13 ? k_size[a.arr_type] : 0;
    if (!es) {
        snprintf(err->msg, sizeof err->msg, "%.400s: unsupported array", key);
        return false;
    }
    uint8_t *raw = calloc(n ? n : 1, (size_t)es);
    if (!raw)
        return oom(err);
    bool is_type = strstr(key, "token_type") != NULL;
    for (uint64_t j = 0; j < n; j++) {
        uint8_t *d = raw + j * (uint64_t)es;
        lf_gguf_value e;
        if (j >= a.arr_n) { /* a filler: normal token, lowest score */
            e.type = a.arr_type;
            e.v.u = 0;
            e.v.i = is_type ? 1 : 0;
            e.v.f = -10000.0;
            if (a.arr_type != LF_GGUF_FLOAT32 && a.arr_type != LF_GGUF_FLOAT64)
                e.v.u = is_type ? 1 : 0;
        } else
            lf_gguf_arr_get(v, i, j, &e);
        uint64_t u = e.v.u;
        if (e.type == LF_GGUF_FLOAT32) {
            float f = (float)e.v.f;
            memcpy(d, &f, 4);
        } else if (e.type == LF_GGUF_FLOAT64) {
            memcpy(d, &e.v.f, 8);
        } else if (e.type == LF_GGUF_BOOL) {
            d[0] = e.v.b;
        } else {
            if (e.type == LF_GGUF_INT8 || e.type == LF_GGUF_INT16 || e.type == LF_GGUF_INT32 ||
                e.type == LF_GGUF_INT64)
                u = (uint64_t)e.v.i;
            for (int b = 0; b < es; b++)
                d[b] = (uint8_t)(u >> 8 * b);
        }
    }
    bool ok = lf_gguf_set_arr(w, key, a.arr_type, raw, n, err);
    free(raw);
    return ok;
}

static bool copy_scalar(lf_gguf_writer *w, const lf_gguf_value *v, const char *key,
                        lf_error *err) {
    uint8_t raw[8];
    uint64_t u = v->v.u;
    switch (v->type) {
    case LF_GGUF_STRING: {
        char *s = strndup(v->v.s.ptr, v->v.s.len);
        bool ok = s ? lf_gguf_set_str(w, key, s, err) : oom(err);
        free(s);
        return ok;
    }
    case LF_GGUF_BOOL: return lf_gguf_set_scalar(w, key, v->type, &v->v.b, err);
    case LF_GGUF_FLOAT32: return lf_gguf_set_f32(w, key, (float)v->v.f, err);
    case LF_GGUF_FLOAT64: return lf_gguf_set_scalar(w, key, v->type, &v->v.f, err);
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        u = (uint64_t)v->v.i;
        /* fall through */
    default:
        for (int b = 0; b < 8; b++)
            raw[b] = (uint8_t)(u >> 8 * b);
        return lf_gguf_set_scalar(w, key, v->type, raw, err);
    }
}

static const char k_tmpl_key[] = "tokenizer.chat_template";

bool mk_copy_vocab(lf_gguf_writer *w, const char *path, int n_vocab, const char *tmpl,
                   lf_error *err) {
    lf_gguf *v = lf_gguf_open(path, err);
    if (!v)
        return false;
    int64_t it = lf_gguf_find_key(v, "tokenizer.ggml.tokens");
    uint64_t n_tokens = it >= 0 ? lf_gguf_kv_value(v, it).arr_n : 0;
    bool ok = true;
    if (!n_tokens) {
        snprintf(err->msg, sizeof err->msg, "%.400s: has no tokens", path);
        ok = false;
    }
    for (int64_t i = 0; ok && i < lf_gguf_kv_count(v); i++) {
        lf_str k = lf_gguf_kv_key(v, i);
        if (k.len < 10 || memcmp(k.ptr, "tokenizer.", 10))
            continue;
        if (tmpl && k.len == strlen(k_tmpl_key) && !memcmp(k.ptr, k_tmpl_key, k.len))
            continue;
        char *key = strndup(k.ptr, k.len);
        lf_gguf_value val = lf_gguf_kv_value(v, i);
        if (!key)
            ok = oom(err);
        else if (val.type == LF_GGUF_ARRAY)
            ok = copy_array(w, v, i, key, val.arr_n == n_tokens ? (uint64_t)n_vocab : val.arr_n,
                            err);
        else
            ok = copy_scalar(w, &val, key, err);
        free(key);
    }
    lf_gguf_close(v);
    return ok && (!tmpl || lf_gguf_set_str(w, k_tmpl_key, tmpl, err));
}
