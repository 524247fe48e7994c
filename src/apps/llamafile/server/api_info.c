/* api_info.c — llama-server's own endpoints besides /completion: /health,
 * /v1/models, /props, /tokenize, /detokenize, /metrics, /slots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void srv_h_health(srv_call *c) { srv_reply_json(c, 200, json_pack("{s:s}", "status", "ok")); }

static json_t *piece_json(const lf_model *m, int32_t tok) {
    char buf[256];
    int64_t n = tok >= 0 ? lf_token_to_piece(m, tok, buf, sizeof buf, true) : 0;
    json_t *j = n > 0 ? json_stringn(buf, (size_t)n) : NULL;
    return j ? j : json_string("");
}

void srv_h_models(srv_call *c) {
    srv_server *s = c->s;
    const lf_model *m = s->m;
    json_t *j = json_pack(
        "{s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:[s],s:s,s:{s:s,s:s,s:s,s:[s],s:s,s:s}}],"
        "s:s,s:[{s:s,s:[s],s:[],s:s,s:I,s:s,s:{s:i,s:i,s:i,s:i,s:i,s:I,s:I}}]}",
        "models", "name", s->model_name, "model", s->model_name, "modified_at", "", "size", "",
        "digest", "", "type", "model", "description", "", "tags", "", "capabilities",
        "completion", "parameters", "", "details", "parent_model", "", "format", "gguf",
        "family", "", "families", "", "parameter_size", "", "quantization_level", "",
        "object", "list", "data", "id", s->model_name, "aliases", s->model_name, "tags",
        "object", "model", "created", (json_int_t)s->started, "owned_by", "llamacpp", "meta",
        "vocab_type", 1, "n_vocab", s->n_vocab, "n_ctx", s->n_ctx_slot, "n_ctx_train",
        lf_model_n_ctx_train(m), "n_embd", lf_model_n_embd(m), "n_params",
        (json_int_t)lf_model_n_params(m), "size", (json_int_t)lf_model_size(m));
    srv_reply_json(c, 200, j);
}

/* A metadata string of the model as JSON, or NULL when absent. */
static json_t *gguf_str(const srv_server *s, const char *key) {
    lf_str v;
    if (!lf_gguf_get_str(lf_model_gguf(s->m), key, &v))
        return NULL;
    return json_stringn(v.ptr, (size_t)v.len);
}

void srv_h_props(srv_call *c) {
    srv_server *s = c->s;
    json_t *params = srv_params_json(s, NULL);
    /* the template chat requests use: the model's, else its tool_use
     * variant, else our ChatML fallback (llama-server shows its chatml) */
    json_t *tmpl = gguf_str(s, "tokenizer.chat_template");
    if (!tmpl)
        tmpl = gguf_str(s, "tokenizer.chat_template.tool_use");
    if (!tmpl)
        tmpl = json_string(lf_chat_fallback_template());
    json_t *j = json_pack(
        "{s:{s:o,s:i},s:i,s:s,s:s,s:{s:b,s:b,s:b},s:b,s:b,s:b,s:b,s:b,s:o,s:o,s:o,s:s,s:b}",
        "default_generation_settings", "params", params ? params : json_object(), "n_ctx",
        s->n_ctx_slot, "total_slots", s->opt->n_parallel, "model_alias", s->model_name,
        "model_path", s->model_name, "modalities", "vision", 0, "video", 0, "audio", 0,
        "endpoint_slots", s->opt->slots, "endpoint_props", 0, "endpoint_metrics",
        s->opt->metrics, "webui", s->opt->webui, "ui", s->opt->webui, "chat_template",
        tmpl ? tmpl : json_string(""), "bos_token", piece_json(s->m, lf_token_bos(s->m)),
        "eos_token", piece_json(s->m, lf_token_eos(s->m)), "build_info",
        "llamafile " LF_VERSION_STRING, "is_sleeping", 0);
    json_t *tool_use = gguf_str(s, "tokenizer.chat_template.tool_use");
    if (j && tool_use)
        json_object_set_new(j, "chat_template_tool_use", tool_use);
    else
        json_decref(tool_use);
    srv_reply_json(c, 200, j);
}

void srv_h_tokenize(srv_call *c) {
    srv_server *s = c->s;
    srv_err e;
    json_t *o = srv_parse_object(c->body, c->body_len, &e);
    bool add_special = false, parse_special = true, with_pieces = false;
    if (!o || !srv_get_bool(o, "add_special", &add_special, &e) ||
        !srv_get_bool(o, "parse_special", &parse_special, &e) ||
        !srv_get_bool(o, "with_pieces", &with_pieces, &e)) {
        json_decref(o);
        srv_reply_error(c, &e);
        return;
    }
    json_t *content = json_object_get(o, "content");
    if (content && !json_is_string(content)) {
        json_decref(o);
        srv_err_set(&e, 400, "invalid_request_error", "'content' must be a string");
        srv_reply_error(c, &e);
        return;
    }
    int32_t *toks = NULL;
    int64_t n = content ? lf_tokenize_alloc(s->m, json_string_value(content),
                                            json_string_length(content), &toks, add_special,
                                            parse_special)
                        : 0;
    json_t *arr = json_array();
    for (int64_t i = 0; arr && i < n; i++) {
        if (!with_pieces) {
            json_array_append_new(arr, json_integer(toks[i]));
            continue;
        }
        char buf[256];
        int64_t k = lf_token_to_piece(s->m, toks[i], buf, sizeof buf, true);
        json_t *piece = k >= 0 ? json_stringn(buf, (size_t)k) : NULL;
        if (!piece) { /* not UTF-8 by itself: its bytes */
            piece = json_array();
            for (int64_t b = 0; b < k; b++)
                json_array_append_new(piece, json_integer((unsigned char)buf[b]));
        }
        json_array_append_new(arr, json_pack("{s:i,s:o}", "id", toks[i], "piece", piece));
    }
    free(toks);
    json_decref(o);
    srv_reply_json(c, n < 0 ? 500 : 200, json_pack("{s:o}", "tokens", arr));
}

void srv_h_detokenize(srv_call *c) {
    srv_server *s = c->s;
    srv_err e;
    json_t *o = srv_parse_object(c->body, c->body_len, &e);
    int32_t *toks = NULL;
    int n = 0;
    json_t *tv = o ? json_object_get(o, "tokens") : NULL;
    if (!o || (tv && !srv_get_tokens(tv, "tokens", s->n_vocab, &toks, &n, &e))) {
        json_decref(o);
        srv_reply_error(c, &e);
        return;
    }
    json_decref(o);
    /* the pieces as they are (llama-server keeps a leading space) */
    lf_error err;
    lf_detok *d = lf_detok_new(s->m, true, false, &err);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = d != NULL;
    for (int i = 0; ok && i <= n; i++) {
        const char *txt;
        int64_t k = i < n ? lf_detok_push(d, toks[i], &txt, &err) : lf_detok_flush(d, &txt);
        if (k >= 0 && len + (size_t)k + 1 > cap) {
            char *nb = realloc(buf, 2 * (len + (size_t)k + 1));
            if (nb)
                buf = nb, cap = 2 * (len + (size_t)k + 1);
            else
                k = -1;
        }
        if (k < 0)
            ok = false;
        else if (k > 0)
            memcpy(buf + len, txt, (size_t)k), len += (size_t)k;
    }
    lf_detok_free(d);
    free(toks);
    json_t *str = ok ? json_stringn(buf, len) : NULL;
    free(buf);
    srv_reply_json(c, 200, json_pack("{s:o}", "content", str ? str : json_string("")));
}

void srv_h_metrics(srv_call *c) {
    srv_server *s = c->s;
    srv_err e;
    if (!s->opt->metrics) {
        srv_err_set(&e, 501, "not_supported_error",
                    "This server does not support metrics endpoint. Start it with `--metrics`");
        srv_reply_error(c, &e);
        return;
    }
    srv_stats st;
    srv_engine_stats(s->eng, &st);
    char *text = NULL;
    int n = asprintf(
        &text,
        "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
        "# TYPE llamacpp:prompt_tokens_total counter\n"
        "llamacpp:prompt_tokens_total %llu\n"
        "# HELP llamacpp:prompt_seconds_total Prompt process time\n"
        "# TYPE llamacpp:prompt_seconds_total counter\n"
        "llamacpp:prompt_seconds_total %.6f\n"
        "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed.\n"
        "# TYPE llamacpp:tokens_predicted_total counter\n"
        "llamacpp:tokens_predicted_total %llu\n"
        "# HELP llamacpp:tokens_predicted_seconds_total Predict process time\n"
        "# TYPE llamacpp:tokens_predicted_seconds_total counter\n"
        "llamacpp:tokens_predicted_seconds_total %.6f\n"
        "# HELP llamacpp:n_decode_total Total number of llama_decode() calls\n"
        "# TYPE llamacpp:n_decode_total counter\n"
        "llamacpp:n_decode_total %llu\n"
        "# HELP llamacpp:n_busy_slots_per_decode Average number of busy slots per llama_decode() call\n"
        "# TYPE llamacpp:n_busy_slots_per_decode counter\n"
        "llamacpp:n_busy_slots_per_decode %.6f\n"
        "# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s.\n"
        "# TYPE llamacpp:prompt_tokens_seconds gauge\n"
        "llamacpp:prompt_tokens_seconds %.6f\n"
        "# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.\n"
        "# TYPE llamacpp:predicted_tokens_seconds gauge\n"
        "llamacpp:predicted_tokens_seconds %.6f\n"
        "# HELP llamacpp:requests_processing Number of requests processing.\n"
        "# TYPE llamacpp:requests_processing gauge\n"
        "llamacpp:requests_processing %d\n"
        "# HELP llamacpp:requests_deferred Number of requests deferred.\n"
        "# TYPE llamacpp:requests_deferred gauge\n"
        "llamacpp:requests_deferred %d\n",
        (unsigned long long)st.n_prompt_tokens, st.t_prompt, (unsigned long long)st.n_gen_tokens,
        st.t_gen, (unsigned long long)st.n_decode,
        st.n_decode ? (double)st.n_busy_slots_sum / (double)st.n_decode : 0.0,
        st.t_prompt > 0 ? (double)st.n_prompt_tokens / st.t_prompt : 0.0,
        st.t_gen > 0 ? (double)st.n_gen_tokens / st.t_gen : 0.0, st.n_processing,
        st.n_deferred);
    if (n < 0) {
        srv_err_set(&e, 500, "server_error", "out of memory");
        srv_reply_error(c, &e);
        return;
    }
    srv_reply_text(c, 200, "text/plain; version=0.0.4", text, (size_t)n);
}

void srv_h_slots(srv_call *c) {
    srv_server *s = c->s;
    srv_err e;
    if (!s->opt->slots) {
        srv_err_set(&e, 501, "not_supported_error",
                    "This server does not support slots endpoint. Start it with `--slots`");
        srv_reply_error(c, &e);
        return;
    }
    srv_slot_info info[64];
    int n = srv_engine_slots(s->eng, info, 64);
    json_t *arr = json_array();
    for (int i = 0; i < n && i < 64; i++) {
        srv_slot_info *f = &info[i];
        json_t *o = json_pack("{s:i,s:i,s:b,s:b,s:i}", "id", f->id, "n_ctx", f->n_ctx,
                              "speculative", 0, "is_processing", f->busy, "n_cache", f->n_cache);
        if (o && f->id_task >= 0) { /* the running task, else the last one */
            json_t *params = srv_params_json(s, &f->req);
            json_object_set_new(o, "id_task", json_integer(f->id_task));
            json_object_set_new(o, "n_prompt_tokens", json_integer(f->n_prompt));
            json_object_set_new(o, "n_prompt_tokens_processed",
                                json_integer(f->n_prompt_done - f->n_cached));
            json_object_set_new(o, "n_prompt_tokens_cache", json_integer(f->n_cached));
            json_object_set_new(o, "n_decoded", json_integer(f->n_gen));
            json_object_set_new(o, "params", params ? params : json_object());
            json_object_set_new(
                o, "next_token",
                json_pack("[{s:b,s:b,s:i,s:i}]", "has_next_token", f->busy, "has_new_line",
                          f->has_new_line, "n_remain",
                          f->req.n_predict < 0 ? -1 : f->req.n_predict - f->n_gen, "n_decoded",
                          f->n_gen));
            const char *pr = f->prompt ? f->prompt : "", *ge = f->generated ? f->generated : "";
            json_object_set_new(o, "prompt", srv_text_json(pr, strlen(pr)));
            json_object_set_new(o, "generated", srv_text_json(ge, strlen(ge)));
        }
        srv_slot_info_free(f);
        json_array_append_new(arr, o);
    }
    srv_reply_json(c, 200, arr);
}
