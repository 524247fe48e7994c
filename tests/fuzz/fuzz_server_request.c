/* fuzz_server_request.c — libFuzzer target: the server's request parsers
 * on arbitrary bytes: a JSON body to completion parameters as both
 * completion APIs, and an Anthropic Messages body to a chat body
 * (srv_anthropic_to_chat, as /v1/messages and count_tokens take it) then
 * to chat parameters (srv_parse_chat). What must hold: no crash or leak; a
 * refusal is a 4xx/5xx with a message; a chat body has a messages array of
 * objects with a role and a string content;
 * an accepted request has one prompt (text or in-range token ids) or
 * several (each such, each picked out as a request of its own), at most
 * SRV_MAX_STOPS non-empty stop strings, n_predict >= -1, in-range logit
 * biases, top_p/min_p within [0, 1] and top logprobs within [0, 20]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/llamafile/server/request.h"

enum { N_VOCAB = 512 };

static void check(const srv_completion *c);

/* Several prompts: none at the top, each of multi text xor in-range ids,
 * and each picked out as a request of its own passes the checks. */
static void check_multi(const srv_completion *c) {
    if (c->prompt || c->n_prompt_tokens >= 0 || c->n_multi < 2 || c->n_multi > SRV_MAX_PROMPTS)
        abort();
    for (int i = 0; i < c->n_multi; i++) {
        srv_completion one;
        srv_err e;
        if (!!c->multi[i].text == !!c->multi[i].toks)
            abort();
        if (!srv_completion_pick(c, i, &one, &e)) /* only out of memory */
            continue;
        check(&one);
        srv_completion_free(&one);
    }
}

static void check(const srv_completion *c) {
    if (c->n_multi) {
        check_multi(c);
        return;
    }
    if (!!c->prompt == (c->n_prompt_tokens >= 0))
        abort();
    if (c->n_top < 0 || c->n_top > SRV_MAX_TOP || (c->n_top && !c->logprobs))
        abort();
    for (int i = 0; i < c->n_prompt_tokens; i++)
        if (c->prompt_tokens[i] < 0 || c->prompt_tokens[i] >= N_VOCAB)
            abort();
    if (c->n_stops < 0 || c->n_stops > SRV_MAX_STOPS || c->n_predict < -1)
        abort();
    for (int i = 0; i < c->n_stops; i++)
        if (!c->stops[i] || !c->stops[i][0])
            abort();
    if (c->sp.n_logit_bias != c->n_bias || (c->n_bias && c->sp.logit_bias != c->bias))
        abort();
    for (int i = 0; i < c->n_bias; i++)
        if (c->bias[i].token < 0 || c->bias[i].token >= N_VOCAB || c->bias[i].bias != c->bias[i].bias)
            abort();
    if (!(c->sp.top_p >= 0 && c->sp.top_p <= 1) || !(c->sp.min_p >= 0 && c->sp.min_p <= 1))
        abort();
}

static void refused(const srv_err *e) {
    if (e->status < 400 || e->status > 599 || !e->msg[0] || !e->type)
        abort();
    json_t *j = srv_err_json(e);
    json_decref(j);
}

/* The Anthropic body made a chat body, then parsed as one. */
static void anthropic(const uint8_t *data, size_t size, bool counting, const lf_sampler_params *d) {
    srv_err e;
    json_t *chat = srv_anthropic_to_chat((const char *)data, size, counting, &e);
    if (!chat) {
        refused(&e);
        return;
    }
    json_t *ms = json_object_get(chat, "messages");
    if (!json_is_array(ms))
        abort();
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        if (!json_is_string(json_object_get(m, "role")) || !json_is_string(json_object_get(m, "content")))
            abort();
    }
    char *body = json_dumps(chat, JSON_COMPACT);
    json_decref(chat);
    srv_completion c;
    if (body && srv_parse_chat(body, strlen(body), d, N_VOCAB, &c, &e))
        srv_completion_free(&c);
    else if (body)
        refused(&e);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_sampler_params d = lf_sampler_default_params();
    anthropic(data, size, false, &d);
    anthropic(data, size, true, &d);
    for (int api = 0; api < 2; api++) {
        srv_completion c;
        srv_err e;
        if (srv_parse_completion((const char *)data, size, api ? SRV_API_OPENAI : SRV_API_NATIVE,
                                 &d, N_VOCAB, &c, &e)) {
            check(&c);
            srv_completion_free(&c);
        } else {
            refused(&e);
        }
    }
    return 0;
}
