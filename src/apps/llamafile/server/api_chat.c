/* api_chat.c — POST /v1/chat/completions and /apply-template: the messages
 * rendered with the model's chat template (lf_chat_*), then served as a
 * completion whose output takes OpenAI's chat shape. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* The messages with every null content as "" (NULL when there was no
 * null): an assistant message that only called tools has content null, and
 * templates such as Qwen3's need a string there (llama.cpp substitutes ""
 * for the templates that do). */
static char *null_content_as_empty(const char *messages) {
    json_t *ms = json_loads(messages, JSON_ALLOW_NUL, NULL);
    bool any = false;
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        if (json_is_null(json_object_get(m, "content"))) {
            json_object_set_new(m, "content", json_string(""));
            any = true;
        }
    }
    char *out = any ? json_dumps(ms, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(ms);
    return out;
}

/* FireFunction v2's template reads the tools as `functions` (JSON text)
 * and the date as `datetime`, which llama.cpp passes it; the request's own
 * chat_template_kwargs win. The kwargs' JSON text (malloc'd), or NULL:
 * req->kwargs as it is. */
static char *firefunction_kwargs(const srv_completion *req) {
    if (!req->parse_tools || req->tool_format != LF_TOOLCALL_FIREFUNCTION_V2 || !req->tools)
        return NULL;
    json_t *k = req->kwargs ? json_loads(req->kwargs, 0, NULL) : json_object();
    json_t *tools = json_loads(req->tools, 0, NULL);
    char *out = NULL;
    if (json_is_object(k) && tools) {
        if (!json_object_get(k, "functions")) {
            char *f = json_dumps(tools, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            json_object_set_new(k, "functions", json_string(f ? f : "[]"));
            free(f);
        }
        if (!json_object_get(k, "datetime")) {
            char d[64];
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            strftime(d, sizeof d, "%b %d %Y %H:%M:%S GMT", &tm);
            json_object_set_new(k, "datetime", json_string(d));
        }
        out = json_dumps(k, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(k);
    json_decref(tools);
    return out;
}

static char *render_messages(srv_server *s, const srv_completion *req, const char *messages,
                             size_t *len, srv_err *e) {
    lf_error err;
    lf_chat_messages *ms = lf_chat_messages_from_json(messages, strlen(messages), &err);
    if (!ms) {
        srv_err_set(e, 400, "invalid_request_error", "%s", err.msg);
        return NULL;
    }
    lf_chat_params p = {0};
    p.add_generation_prompt = true;
    p.tools = req->tools;
    char *ff = firefunction_kwargs(req);
    p.kwargs = ff ? ff : req->kwargs;
    bool raised = false;
    char *text = lf_chat_apply_model(s->m, ms, &p, len, &raised, NULL, &err);
    lf_chat_messages_free(ms);
    free(ff);
    if (!text)
        srv_err_set(e, raised ? 400 : 500, raised ? "invalid_request_error" : "server_error", "%s",
                    err.msg);
    return text;
}

/* The prompt text, or NULL with a 400 (bad messages, a template that
 * raised) or 500 in e. */
static char *render(srv_server *s, const srv_completion *req, size_t *len, srv_err *e) {
    char *text = render_messages(s, req, req->messages, len, e);
    if (text || e->status != 500)
        return text;
    char *again = null_content_as_empty(req->messages);
    if (again) {
        srv_err first = *e;
        text = render_messages(s, req, again, len, e);
        free(again);
        if (!text)
            *e = first;
    }
    return text;
}

/* The request parsed and its prompt rendered; NULL after replying with the
 * error (req then freed). */
static char *parse_and_render(srv_call *c, srv_completion *req, size_t *len) {
    srv_err e;
    if (!srv_parse_chat(c->body, c->body_len, &c->s->defaults, c->s->n_vocab, req, &e)) {
        srv_reply_error(c, &e);
        return NULL;
    }
    char *text = render(c->s, req, len, &e);
    if (!text) {
        srv_completion_free(req);
        srv_reply_error(c, &e);
    }
    return text;
}

bool srv_chat_prompt(srv_server *s, srv_completion *req, srv_err *e) {
    size_t len;
    char *text = render(s, req, &len, e);
    if (!text)
        return false;
    /* the template may write the BOS text; the tokenizer adds BOS itself,
     * as llama-server does */
    char bos[64];
    int32_t b = lf_token_bos(s->m);
    int64_t nb = b >= 0 ? lf_token_to_piece(s->m, b, bos, sizeof bos, true) : 0;
    size_t skip = nb > 0 && lf_add_bos(s->m) && len >= (size_t)nb && !memcmp(text, bos, (size_t)nb)
                      ? (size_t)nb : 0;
    memmove(text, text + skip, len - skip + 1);
    req->prompt = text;
    req->prompt_len = len - skip;
    return true;
}

void srv_h_chat(srv_call *c) {
    srv_completion req;
    srv_err e;
    if (!srv_parse_chat(c->body, c->body_len, &c->s->defaults, c->s->n_vocab, &req, &e) ||
        !srv_tools_prepare(c->s, &req, &e) || !srv_constrain(c->s, &req, &e) ||
        !srv_chat_prompt(c->s, &req, &e)) {
        srv_completion_free(&req);
        srv_reply_error(c, &e);
        return;
    }
    srv_run_completion(c, SRV_API_CHAT, &req);
}

void srv_h_apply_template(srv_call *c) {
    srv_completion req;
    size_t len;
    char *text = parse_and_render(c, &req, &len);
    if (!text)
        return;
    srv_completion_free(&req);
    json_t *j = json_stringn(text, len);
    free(text);
    srv_reply_json(c, 200, json_pack("{s:o}", "prompt", j ? j : json_string("")));
}
