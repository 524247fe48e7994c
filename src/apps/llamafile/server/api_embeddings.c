/* api_embeddings.c — POST /v1/embeddings (OpenAI's shape; llama-server's
 * /embedding and /embeddings give [{index, embedding: [vector]}]): each input's
 * final hidden states, mean-pooled and normalised to unit length. They come
 * from a context of their own (embeddings on, one sequence), made at the
 * first request and used by one request at a time, so the slots' decode
 * thread never waits for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define MAX_INPUTS 2048

typedef struct input {
    int32_t *toks;
    int n;
} input;

static void inputs_free(input *in, size_t n) {
    for (size_t i = 0; in && i < n; i++)
        free(in[i].toks);
    free(in);
}

static bool all_ints(json_t *a) {
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_is_integer(json_array_get(a, i)))
            return false;
    return true;
}

/* One input: a string (tokenized with BOS, as a prompt is) or token ids. */
static bool one_input(srv_server *s, json_t *v, const char *key, input *out, srv_err *e) {
    if (json_is_string(v)) {
        int64_t n = lf_tokenize_alloc(s->m, json_string_value(v), json_string_length(v),
                                      &out->toks, true, true);
        if (n < 0) {
            srv_err_set(e, 500, "server_error", "out of memory");
            return false;
        }
        out->n = (int)n;
    } else if (json_is_array(v) && all_ints(v)) {
        if (!srv_get_tokens(v, key, s->n_vocab, &out->toks, &out->n, e))
            return false;
    } else {
        srv_err_set(e, 400, "invalid_request_error",
                    "'%s' must be a string or an array of token ids", key);
        return false;
    }
    if (out->n == 0) {
        srv_err_set(e, 400, "invalid_request_error", "'%s' is empty", key);
        return false;
    }
    if (out->n > s->n_ctx_slot) {
        srv_err_set(e, 400, "exceed_context_size_error",
                    "'%s' (%d tokens) exceeds the available context size (%d tokens)", key,
                    out->n, s->n_ctx_slot);
        return false;
    }
    return true;
}

/* input: a string, token ids, or an array of strings / token-id arrays. */
static input *parse_inputs(srv_server *s, json_t *o, size_t *n, srv_err *e) {
    json_t *in = json_object_get(o, "input");
    if (!in || json_is_null(in))
        in = json_object_get(o, "content"); /* llama-server's other name */
    if (!in || json_is_null(in)) {
        srv_err_set(e, 400, "invalid_request_error", "'input' is required");
        return NULL;
    }
    bool many = json_is_array(in) && !all_ints(in);
    size_t k = many ? json_array_size(in) : 1;
    if (json_is_array(in) && json_array_size(in) == 0) {
        srv_err_set(e, 400, "invalid_request_error", "'input' is empty");
        return NULL;
    }
    if (!json_is_string(in) && !json_is_array(in)) {
        srv_err_set(e, 400, "invalid_request_error",
                    "'input' must be a string, an array of strings or an array of token ids");
        return NULL;
    }
    if (k > MAX_INPUTS) {
        srv_err_set(e, 400, "invalid_request_error", "'input' may hold at most %d items",
                    MAX_INPUTS);
        return NULL;
    }
    input *r = calloc(k, sizeof *r);
    if (!r) {
        srv_err_set(e, 500, "server_error", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < k; i++) {
        char key[48] = "input";
        if (many)
            snprintf(key, sizeof key, "input[%zu]", i);
        if (!one_input(s, many ? json_array_get(in, i) : in, key, &r[i], e)) {
            inputs_free(r, k);
            return NULL;
        }
    }
    *n = k;
    return r;
}

static lf_context *emb_context(srv_server *s, srv_err *e) {
    if (s->emb)
        return s->emb;
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = s->n_ctx_slot;
    cp.n_batch = s->n_batch;
    cp.n_threads = s->n_threads;
    cp.kv_type = s->kv_type;
    cp.embeddings = true;
    cp.pooling_type = LF_POOLING_TYPE_MEAN;
    cp.embd_normalize = 2;
    lf_error err;
    s->emb = lf_context_new(s->m, &cp, &err);
    if (!s->emb)
        srv_err_set(e, 500, "server_error", "cannot make the embeddings context: %s", err.msg);
    return s->emb;
}

static json_t *base64_json(const float *v, int n) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t nb = (size_t)n * 4;
    unsigned char *b = malloc(nb + 2);
    char *o = malloc((nb + 2) / 3 * 4 + 1);
    json_t *j = NULL;
    if (b && o) {
        for (int i = 0; i < n; i++) { /* float32, little-endian */
            uint32_t u;
            memcpy(&u, &v[i], 4);
            for (int k = 0; k < 4; k++)
                b[i * 4 + k] = (unsigned char)(u >> (8 * k));
        }
        size_t k = 0;
        for (size_t i = 0; i < nb; i += 3) {
            uint32_t x = (uint32_t)b[i] << 16 | (i + 1 < nb ? (uint32_t)b[i + 1] << 8 : 0) |
                         (i + 2 < nb ? b[i + 2] : 0);
            o[k++] = abc[x >> 18 & 63];
            o[k++] = abc[x >> 12 & 63];
            o[k++] = i + 1 < nb ? abc[x >> 6 & 63] : '=';
            o[k++] = i + 2 < nb ? abc[x & 63] : '=';
        }
        j = json_stringn(o, k);
    }
    free(b);
    free(o);
    return j;
}

static json_t *vector_json(const float *v, int n, bool b64) {
    if (b64)
        return base64_json(v, n);
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_real((double)v[i]));
    return a;
}

/* Each input decoded alone as sequence 0 of the embeddings context; the
 * data array, or NULL with e set. Called under emb_mu. */
static json_t *embed_all(srv_call *c, lf_context *ctx, input *in, size_t n, bool b64,
                         srv_err *e) {
    int n_embd = lf_model_n_embd(c->s->m);
    json_t *data = json_array();
    int cap = 0;
    int32_t *pos = NULL, *seq = NULL;
    for (size_t i = 0; data && i < n; i++) {
        if (in[i].n > cap) {
            free(pos), free(seq);
            cap = in[i].n;
            pos = malloc(sizeof *pos * (size_t)cap);
            seq = calloc((size_t)cap, sizeof *seq);
            if (!pos || !seq) {
                srv_err_set(e, 500, "server_error", "out of memory");
                goto fail;
            }
        }
        for (int k = 0; k < in[i].n; k++)
            pos[k] = k;
        lf_kv_remove(ctx, -1, 0, -1);
        lf_error err;
        if (!lf_decode(ctx, &(lf_batch){in[i].n, in[i].toks, pos, seq, NULL}, &err)) {
            srv_err_set(e, 500, "server_error", "%s", err.msg);
            goto fail;
        }
        const float *v = lf_get_embeddings_seq(ctx, 0);
        json_t *vec = v ? vector_json(v, n_embd, b64) : NULL;
        if (!vec) {
            srv_err_set(e, 500, "server_error", v ? "out of memory" : "no embedding came out");
            goto fail;
        }
        json_array_append_new(data, json_pack("{s:s,s:I,s:o}", "object", "embedding", "index",
                                              (json_int_t)i, "embedding", vec));
        if (srv_client_gone(c)) {
            srv_err_set(e, 499, "invalid_request_error", "the client went away");
            goto fail;
        }
    }
    free(pos), free(seq);
    return data;
fail:
    free(pos), free(seq);
    json_decref(data);
    return NULL;
}

/* llama-server's /embedding(s): [{index, embedding: [vector]}] */
static json_t *native_shape(json_t *data) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < json_array_size(data); i++) {
        json_t *d = json_array_get(data, i);
        json_array_append_new(arr, json_pack("{s:O,s:[O]}", "index", json_object_get(d, "index"),
                                             "embedding", json_object_get(d, "embedding")));
    }
    json_decref(data);
    return arr;
}

static void embeddings(srv_call *c, bool oai) {
    srv_server *s = c->s;
    srv_err e;
    json_t *o = srv_parse_object(c->body, c->body_len, &e);
    if (!o) {
        srv_reply_error(c, &e);
        return;
    }
    json_t *fmt = json_object_get(o, "encoding_format"), *model = json_object_get(o, "model");
    const char *f = json_is_string(fmt) ? json_string_value(fmt) : "float";
    size_t n = 0;
    input *in = NULL;
    if (model && !json_is_null(model) && !json_is_string(model))
        srv_err_set(&e, 400, "invalid_request_error", "'model' must be a string");
    else if ((fmt && !json_is_null(fmt) && !json_is_string(fmt)) ||
             (strcmp(f, "float") && strcmp(f, "base64")))
        srv_err_set(&e, 400, "invalid_request_error",
                    "'encoding_format' must be \"float\" or \"base64\"");
    else
        in = parse_inputs(s, o, &n, &e);
    bool b64 = !strcmp(f, "base64");
    json_decref(o);
    if (!in) {
        srv_reply_error(c, &e);
        return;
    }
    json_t *data = NULL;
    pthread_mutex_lock(&s->emb_mu);
    lf_context *ctx = emb_context(s, &e);
    if (ctx)
        data = embed_all(c, ctx, in, n, b64, &e);
    pthread_mutex_unlock(&s->emb_mu);
    long long n_tok = 0;
    for (size_t i = 0; i < n; i++)
        n_tok += in[i].n;
    inputs_free(in, n);
    if (!data) {
        if (e.status != 499)
            srv_reply_error(c, &e);
        return; /* 499: no reply, the connection is closed */
    }
    if (!oai) {
        srv_reply_json(c, 200, native_shape(data));
        return;
    }
    srv_reply_json(c, 200, json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data,
                                      "model", s->model_name, "usage", "prompt_tokens",
                                      (json_int_t)n_tok, "total_tokens", (json_int_t)n_tok));
}

void srv_h_embeddings(srv_call *c) { embeddings(c, true); }
void srv_h_embeddings_native(srv_call *c) { embeddings(c, false); }
