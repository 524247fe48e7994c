/* request.c — request bodies to parameters; every wrong field is a 400 that
 * names it. */
#include "request.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_err_set(srv_err *e, int status, const char *type, const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->n_prompt_tokens = e->n_ctx = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

json_t *srv_err_json(const srv_err *e) {
    json_t *j = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", e->status, "message", e->msg,
                          "type", e->type);
    json_t *o = json_object_get(j, "error");
    if (o && e->n_ctx > 0) {
        json_object_set_new(o, "n_prompt_tokens", json_integer(e->n_prompt_tokens));
        json_object_set_new(o, "n_ctx", json_integer(e->n_ctx));
    }
    return j;
}

static bool bad(srv_err *e, const char *key, const char *what) {
    srv_err_set(e, 400, "invalid_request_error", "'%s' must be %s", key, what);
    return false;
}

json_t *srv_parse_object(const char *body, size_t len, srv_err *err) {
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j) {
        srv_err_set(err, 400, "invalid_request_error", "invalid JSON at line %d, column %d: %s",
                    je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        srv_err_set(err, 400, "invalid_request_error", "the request body must be a JSON object");
        return NULL;
    }
    return j;
}

static json_t *field(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return v && !json_is_null(v) ? v : NULL;
}

bool srv_get_bool(json_t *o, const char *key, bool *out, srv_err *err) {
    json_t *v = field(o, key);
    if (!v)
        return true;
    if (!json_is_boolean(v))
        return bad(err, key, "a boolean");
    *out = json_is_true(v);
    return true;
}

bool srv_get_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                 srv_err *err) {
    json_t *v = field(o, key);
    if (!v)
        return true;
    long long x;
    if (json_is_integer(v))
        x = json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
             fabs(json_real_value(v)) < 9e18)
        x = (long long)json_real_value(v);
    else
        return bad(err, key, "an integer");
    if (x < lo || x > hi) {
        srv_err_set(err, 400, "invalid_request_error", "'%s' must be from %lld to %lld", key, lo,
                    hi);
        return false;
    }
    *out = x;
    return true;
}

bool srv_get_float(json_t *o, const char *key, float *out, srv_err *err) {
    json_t *v = field(o, key);
    if (!v)
        return true;
    if (!json_is_number(v))
        return bad(err, key, "a number");
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 3e38)
        return bad(err, key, "a finite number");
    *out = (float)d;
    return true;
}

bool srv_get_tokens(json_t *v, const char *key, int32_t n_vocab, int32_t **out, int *n,
                    srv_err *err) {
    size_t k = json_array_size(v);
    if (!json_is_array(v))
        return bad(err, key, "an array of token ids");
    int32_t *t = malloc(sizeof *t * (k + 1));
    if (!t) {
        srv_err_set(err, 500, "server_error", "out of memory");
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) >= n_vocab) {
            free(t);
            srv_err_set(err, 400, "invalid_request_error",
                        "'%s'[%zu] must be a token id from 0 to %d", key, i, n_vocab - 1);
            return false;
        }
        t[i] = (int32_t)json_integer_value(e);
    }
    *out = t;
    *n = (int)k;
    return true;
}

static bool dup_str(json_t *v, char **out, size_t *len, srv_err *err) {
    size_t l = json_string_length(v);
    char *s = malloc(l + 1);
    if (!s) {
        srv_err_set(err, 500, "server_error", "out of memory");
        return false;
    }
    memcpy(s, json_string_value(v), l);
    s[l] = 0;
    *out = s;
    if (len)
        *len = l;
    return true;
}

static bool all_ints(json_t *a) {
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_is_integer(json_array_get(a, i)))
            return false;
    return true;
}

/* Several prompts: each a string or an array of token ids. */
static bool parse_multi(json_t *p, int32_t n_vocab, srv_completion *c, srv_err *err) {
    size_t n = json_array_size(p);
    if (n < 2) /* one prompt nested deeper than [[ids]]: [[[...]]] */
        return bad(err, "prompt", "a string, an array of token ids or an array of those");
    if (n > SRV_MAX_PROMPTS) {
        srv_err_set(err, 400, "invalid_request_error", "'prompt' may hold at most %d prompts",
                    SRV_MAX_PROMPTS);
        return false;
    }
    if (!(c->multi = calloc(n, sizeof *c->multi))) {
        srv_err_set(err, 500, "server_error", "out of memory");
        return false;
    }
    c->n_multi = (int)n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(p, i);
        char key[32];
        snprintf(key, sizeof key, "prompt[%zu]", i);
        if (json_is_string(e)) {
            if (!dup_str(e, &c->multi[i].text, &c->multi[i].len, err))
                return false;
        } else if (json_is_array(e) && all_ints(e)) {
            if (!srv_get_tokens(e, key, n_vocab, &c->multi[i].toks, &c->multi[i].n_toks, err))
                return false;
        } else {
            srv_err_set(err, 400, "invalid_request_error",
                        "'%s' must be a string or an array of token ids", key);
            return false;
        }
    }
    return true;
}

static bool parse_prompt(json_t *o, int32_t n_vocab, srv_completion *c, srv_err *err) {
    json_t *p = field(o, "prompt");
    if (!p) {
        srv_err_set(err, 400, "invalid_request_error", "'prompt' is required");
        return false;
    }
    /* one prompt: a string, token ids, or an array holding one of those */
    if (json_is_array(p) && json_array_size(p) == 1 &&
        (json_is_string(json_array_get(p, 0)) || json_is_array(json_array_get(p, 0))))
        p = json_array_get(p, 0);
    if (json_is_string(p))
        return dup_str(p, &c->prompt, &c->prompt_len, err);
    if (json_is_array(p) && all_ints(p))
        return srv_get_tokens(p, "prompt", n_vocab, &c->prompt_tokens, &c->n_prompt_tokens, err);
    if (json_is_array(p))
        return parse_multi(p, n_vocab, c, err);
    return bad(err, "prompt", "a string, an array of token ids or an array of those");
}

static bool parse_stop(json_t *o, srv_completion *c, srv_err *err) {
    json_t *s = field(o, "stop");
    if (!s)
        return true;
    if (json_is_string(s)) {
        if (json_string_length(s) == 0)
            return true;
        c->n_stops = 1;
        return dup_str(s, &c->stops[0], NULL, err);
    }
    if (!json_is_array(s))
        return bad(err, "stop", "a string or an array of strings");
    if (json_array_size(s) > SRV_MAX_STOPS) {
        srv_err_set(err, 400, "invalid_request_error", "'stop' may hold at most %d strings",
                    SRV_MAX_STOPS);
        return false;
    }
    for (size_t i = 0; i < json_array_size(s); i++) {
        json_t *e = json_array_get(s, i);
        if (!json_is_string(e)) {
            srv_err_set(err, 400, "invalid_request_error", "'stop'[%zu] must be a string", i);
            return false;
        }
        if (json_string_length(e) == 0 || memchr(json_string_value(e), 0, json_string_length(e)))
            continue;
        if (!dup_str(e, &c->stops[c->n_stops], NULL, err))
            return false;
        c->n_stops++;
    }
    return true;
}

static bool add_bias(srv_completion *c, long long tok, json_t *v, int32_t n_vocab, srv_err *err) {
    float b;
    if (json_is_false(v))
        b = -INFINITY;
    else if (json_is_number(v) && isfinite(json_number_value(v)))
        b = (float)json_number_value(v);
    else
        return bad(err, "logit_bias", "a map of token ids to numbers (or false)");
    if (tok < 0 || tok >= n_vocab) {
        srv_err_set(err, 400, "invalid_request_error",
                    "'logit_bias' names token %lld; ids are from 0 to %d", tok, n_vocab - 1);
        return false;
    }
    lf_logit_bias *nb = realloc(c->bias, sizeof *nb * (size_t)(c->n_bias + 1));
    if (!nb) {
        srv_err_set(err, 500, "server_error", "out of memory");
        return false;
    }
    c->bias = nb;
    nb[c->n_bias++] = (lf_logit_bias){(int32_t)tok, b};
    return true;
}

static bool parse_bias(json_t *o, int32_t n_vocab, srv_completion *c, srv_err *err) {
    json_t *lb = field(o, "logit_bias");
    if (!lb)
        return true;
    if (json_is_object(lb)) {
        const char *k;
        json_t *v;
        json_object_foreach(lb, k, v) {
            char *end;
            long long tok = strtoll(k, &end, 10);
            if (end == k || *end)
                return bad(err, "logit_bias", "a map of token ids to numbers (or false)");
            if (!add_bias(c, tok, v, n_vocab, err))
                return false;
        }
        return true;
    }
    if (!json_is_array(lb))
        return bad(err, "logit_bias", "a map of token ids to numbers (or false)");
    for (size_t i = 0; i < json_array_size(lb); i++) {
        json_t *pair = json_array_get(lb, i);
        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_integer(json_array_get(pair, 0)))
            return bad(err, "logit_bias", "a list of [token id, bias] pairs");
        if (!add_bias(c, json_integer_value(json_array_get(pair, 0)), json_array_get(pair, 1),
                      n_vocab, err))
            return false;
    }
    return true;
}

static void init(srv_completion *c, const lf_sampler_params *defaults) {
    memset(c, 0, sizeof *c);
    c->n_prompt_tokens = -1;
    c->n_predict = -1;
    c->cache_prompt = true;
    c->id_slot = -1;
    c->sp = *defaults;
    c->sp.logit_bias = NULL;
    c->sp.n_logit_bias = 0;
}

/* n_probs (native), logprobs N (OpenAI completions), logprobs true plus
 * top_logprobs N (chat). */
static bool parse_logprobs(json_t *o, enum srv_api api, srv_completion *c, srv_err *err) {
    long long v = -1;
    if (api == SRV_API_CHAT) {
        if (!srv_get_bool(o, "logprobs", &c->logprobs, err))
            return false;
        if (!srv_get_int(o, "top_logprobs", 0, SRV_MAX_TOP, &v, err))
            return false;
        if (v > 0 && !c->logprobs) {
            srv_err_set(err, 400, "invalid_request_error",
                        "'top_logprobs' needs 'logprobs': true");
            return false;
        }
    } else if (!srv_get_int(o, api == SRV_API_OPENAI ? "logprobs" : "n_probs", 0, SRV_MAX_TOP,
                            &v, err)) {
        return false;
    }
    if (api == SRV_API_OPENAI ? v >= 0 : v > 0)
        c->logprobs = true;
    c->n_top = v > 0 ? (int)v : 0;
    return true;
}

static bool dump(json_t *v, char **out, srv_err *err) {
    if (!(*out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY))) {
        srv_err_set(err, 500, "server_error", "out of memory");
        return false;
    }
    return true;
}

/* response_format: "text"; "json_object" (with llama-server's optional
 * "schema"); "json_schema" with json_schema.schema (or "schema"). */
static bool parse_response_format(json_t *rf, srv_completion *c, srv_err *err) {
    const char *type = json_string_value(json_object_get(rf, "type"));
    if (!json_is_object(rf) || !type)
        return bad(err, "response_format", "an object with a \"type\"");
    json_t *schema = field(rf, "schema");
    if (!strcmp(type, "text"))
        return true;
    if (!strcmp(type, "json_schema")) {
        json_t *js = field(rf, "json_schema");
        if (js && !json_is_object(js))
            return bad(err, "response_format.json_schema", "an object");
        if (js && field(js, "schema"))
            schema = field(js, "schema");
        if (!schema) {
            srv_err_set(err, 400, "invalid_request_error",
                        "'response_format' of type json_schema needs json_schema.schema");
            return false;
        }
    } else if (strcmp(type, "json_object")) {
        return bad(err, "response_format.type", "\"text\", \"json_object\" or \"json_schema\"");
    }
    if (schema && !json_is_object(schema) && !json_is_boolean(schema))
        return bad(err, "response_format.schema", "an object");
    if (schema)
        return dump(schema, &c->json_schema, err);
    c->json_object = true;
    return true;
}

/* grammar, json_schema, response_format: at most one of them. */
static bool parse_constraints(json_t *o, srv_completion *c, srv_err *err) {
    json_t *g = field(o, "grammar"), *js = field(o, "json_schema");
    json_t *rf = field(o, "response_format");
    if (g && !json_is_string(g))
        return bad(err, "grammar", "a string (GBNF)");
    if (js && !json_is_object(js) && !json_is_boolean(js))
        return bad(err, "json_schema", "an object (a JSON Schema)");
    if (rf && json_is_string(json_object_get(rf, "type")) &&
        !strcmp(json_string_value(json_object_get(rf, "type")), "text"))
        rf = NULL;
    if (!!g + !!js + !!rf > 1) {
        srv_err_set(err, 400, "invalid_request_error",
                    "only one of 'grammar', 'json_schema' and 'response_format' may be given");
        return false;
    }
    if (g && json_string_length(g) && !dup_str(g, &c->grammar, NULL, err))
        return false;
    if (js && !dump(js, &c->json_schema, err))
        return false;
    return !rf || parse_response_format(rf, c, err);
}

/* tool_choice: "auto", "none", "required" or {"type": "function",
 * "function": {"name": N}}; parallel_tool_calls. */
static bool parse_tool_choice(json_t *o, srv_completion *c, srv_err *err) {
    c->parallel_tool_calls = true;
    if (!srv_get_bool(o, "parallel_tool_calls", &c->parallel_tool_calls, err))
        return false;
    json_t *tc = field(o, "tool_choice");
    const char *s = json_string_value(tc);
    if (!tc || (s && !strcmp(s, "auto")))
        c->tool_choice = SRV_TOOLS_AUTO;
    else if (s && !strcmp(s, "none"))
        c->tool_choice = SRV_TOOLS_NONE;
    else if (s && !strcmp(s, "required"))
        c->tool_choice = SRV_TOOLS_REQUIRED;
    else if (json_is_object(tc) &&
             json_is_string(json_object_get(json_object_get(tc, "function"), "name"))) {
        c->tool_choice = SRV_TOOLS_NAMED;
        return dup_str(json_object_get(json_object_get(tc, "function"), "name"), &c->tool_name,
                       NULL, err);
    } else {
        return bad(err, "tool_choice", "\"auto\", \"none\", \"required\" or "
                   "{\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
    return true;
}

/* The fields completions and chat share. */
static bool parse_common(json_t *o, enum srv_api api, int32_t n_vocab, srv_completion *c,
                         srv_err *err) {
    long long v;
    json_t *m = field(o, "model");
    if (m && !json_is_string(m))
        return bad(err, "model", "a string");
    if (m && !dup_str(m, &c->model, NULL, err))
        return false;
    v = 1;
    if (!srv_get_int(o, "n", LLONG_MIN, LLONG_MAX, &v, err))
        return false;
    if (v != 1) {
        srv_err_set(err, 400, "invalid_request_error",
                    "'n' must be 1: one completion per request is supported");
        return false;
    }
    v = -1;
    if (!srv_get_int(o, "max_tokens", -1, INT32_MAX, &v, err) ||
        !srv_get_int(o, "max_completion_tokens", -1, INT32_MAX, &v, err) ||
        !srv_get_int(o, "n_predict", -1, INT32_MAX, &v, err))
        return false;
    c->n_predict = (int)v;
    if (!srv_get_bool(o, "stream", &c->stream, err) ||
        !srv_get_bool(o, "ignore_eos", &c->ignore_eos, err) ||
        !srv_get_bool(o, "cache_prompt", &c->cache_prompt, err) ||
        !srv_get_bool(o, "return_tokens", &c->return_tokens, err))
        return false;
    json_t *so = field(o, "stream_options");
    if (so && !json_is_object(so))
        return bad(err, "stream_options", "an object");
    if (so && !srv_get_bool(so, "include_usage", &c->include_usage, err))
        return false;
    v = -1;
    if (!srv_get_int(o, "id_slot", -1, 64, &v, err))
        return false;
    c->id_slot = (int)v;
    if (!srv_get_float(o, "temperature", &c->sp.temp, err) ||
        !srv_get_float(o, "top_p", &c->sp.top_p, err) ||
        !srv_get_float(o, "min_p", &c->sp.min_p, err) ||
        !srv_get_float(o, "typical_p", &c->sp.typical_p, err) ||
        !srv_get_float(o, "repeat_penalty", &c->sp.repeat_penalty, err) ||
        !srv_get_float(o, "presence_penalty", &c->sp.presence_penalty, err) ||
        !srv_get_float(o, "frequency_penalty", &c->sp.frequency_penalty, err))
        return false;
    v = c->sp.top_k;
    if (!srv_get_int(o, "top_k", INT32_MIN, INT32_MAX, &v, err))
        return false;
    c->sp.top_k = (int32_t)v;
    v = c->sp.penalty_last_n;
    if (!srv_get_int(o, "repeat_last_n", -1, INT32_MAX, &v, err))
        return false;
    c->sp.penalty_last_n = (int32_t)v;
    v = -1;
    if (!srv_get_int(o, "seed", LLONG_MIN, LLONG_MAX, &v, err))
        return false;
    if (field(o, "seed"))
        c->sp.seed = v < 0 ? UINT64_MAX : (uint64_t)v;
    if (c->sp.top_p > 1.0f || c->sp.top_p < 0.0f)
        return bad(err, "top_p", "from 0 to 1");
    if (c->sp.min_p > 1.0f || c->sp.min_p < 0.0f)
        return bad(err, "min_p", "from 0 to 1");
    if (c->sp.top_p == 0.0f) /* OpenAI allows 0: only the most likely token */
        c->sp.top_k = 1, c->sp.top_p = 1.0f;
    if (!parse_logprobs(o, api, c, err))
        return false;
    if (!parse_stop(o, c, err) || !parse_bias(o, n_vocab, c, err))
        return false;
    c->sp.logit_bias = c->bias;
    c->sp.n_logit_bias = c->n_bias;
    return parse_constraints(o, c, err);
}

bool srv_parse_completion(const char *body, size_t len, enum srv_api api,
                          const lf_sampler_params *defaults, int32_t n_vocab,
                          srv_completion *c, srv_err *err) {
    init(c, defaults);
    json_t *o = srv_parse_object(body, len, err);
    if (!o)
        return false;
    bool ok = parse_prompt(o, n_vocab, c, err) && parse_common(o, api, n_vocab, c, err);
    json_decref(o);
    if (!ok)
        srv_completion_free(c);
    return ok;
}

bool srv_parse_chat(const char *body, size_t len, const lf_sampler_params *defaults,
                    int32_t n_vocab, srv_completion *c, srv_err *err) {
    init(c, defaults);
    json_t *o = srv_parse_object(body, len, err);
    if (!o)
        return false;
    bool ok = false;
    json_t *ms = json_object_get(o, "messages"), *tools = field(o, "tools");
    json_t *kw = field(o, "chat_template_kwargs");
    json_t *rsn = field(o, "reasoning_format");
    const char *rs = json_string_value(rsn);
    c->split_reasoning = !rs || strcmp(rs, "none");
    if (rsn && (!rs || (strcmp(rs, "none") && strcmp(rs, "auto") && strcmp(rs, "deepseek"))))
        bad(err, "reasoning_format", "\"none\", \"auto\" or \"deepseek\"");
    else if (!json_is_array(ms))
        bad(err, "messages", "an array");
    else if (tools && !json_is_array(tools))
        bad(err, "tools", "an array");
    else if (kw && !json_is_object(kw))
        bad(err, "chat_template_kwargs", "an object");
    else
        ok = dump(ms, &c->messages, err) && (!tools || dump(tools, &c->tools, err)) &&
             (!kw || dump(kw, &c->kwargs, err)) && parse_tool_choice(o, c, err) &&
             parse_common(o, SRV_API_CHAT, n_vocab, c, err);
    json_decref(o);
    if (!ok)
        srv_completion_free(c);
    return ok;
}

void srv_completion_free(srv_completion *c) {
    free(c->prompt);
    free(c->prompt_tokens);
    for (int i = 0; i < c->n_stops; i++)
        free(c->stops[i]);
    free(c->bias);
    free(c->model);
    free(c->messages);
    free(c->tools);
    free(c->kwargs);
    free(c->grammar);
    free(c->json_schema);
    free(c->tool_name);
    for (int i = 0; i < c->n_multi; i++) {
        free(c->multi[i].text);
        free(c->multi[i].toks);
    }
    free(c->multi);
    memset(c, 0, sizeof *c);
}

static bool dup_mem(const void *src, size_t n, void **out) {
    if (!src)
        return true;
    *out = malloc(n ? n : 1);
    if (*out)
        memcpy(*out, src, n);
    return *out != NULL;
}

bool srv_completion_pick(const srv_completion *c, int i, srv_completion *out, srv_err *err) {
    *out = *c;
    out->multi = NULL, out->n_multi = 0;
    out->prompt = NULL, out->prompt_tokens = NULL, out->bias = NULL, out->model = NULL;
    out->messages = out->tools = out->kwargs = NULL;
    out->grammar = out->json_schema = out->tool_name = NULL;
    out->n_stops = 0;
    const srv_prompt *p = &c->multi[i];
    bool ok = true;
    if (p->toks) {
        ok = dup_mem(p->toks, sizeof *p->toks * (size_t)p->n_toks, (void **)&out->prompt_tokens);
        out->n_prompt_tokens = p->n_toks;
    } else {
        ok = dup_mem(p->text, p->len + 1, (void **)&out->prompt);
        out->prompt_len = p->len;
    }
    ok = ok && dup_mem(c->bias, sizeof *c->bias * (size_t)c->n_bias, (void **)&out->bias) &&
         dup_mem(c->model, c->model ? strlen(c->model) + 1 : 0, (void **)&out->model) &&
         dup_mem(c->grammar, c->grammar ? strlen(c->grammar) + 1 : 0, (void **)&out->grammar);
    for (int k = 0; ok && k < c->n_stops; k++, out->n_stops++)
        ok = dup_mem(c->stops[k], strlen(c->stops[k]) + 1, (void **)&out->stops[k]);
    out->sp.logit_bias = out->bias;
    if (!ok) {
        srv_completion_free(out);
        srv_err_set(err, 500, "server_error", "out of memory");
    }
    return ok;
}
