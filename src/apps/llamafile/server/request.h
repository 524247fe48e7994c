/* request.h — JSON request bodies to parameters (no HTTP here, so the
 * fuzzer links it alone), and errors in OpenAI's shape. */
#ifndef LLAMAFILE_SERVER_REQUEST_H
#define LLAMAFILE_SERVER_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "llamafile.h"

/* An error for the client: HTTP status, OpenAI error type, message. */
typedef struct srv_err {
    int status;
    const char *type;
    char msg[384];
    int n_prompt_tokens, n_ctx; /* exceed_context_size_error: the sizes */
} srv_err;

void srv_err_set(srv_err *e, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* {"error":{"code":N,"message":...,"type":...}} (NULL when out of memory). */
json_t *srv_err_json(const srv_err *e);

enum srv_api { SRV_API_NATIVE, SRV_API_OPENAI, SRV_API_CHAT, SRV_API_ANTHROPIC };

#define SRV_MAX_STOPS 16
#define SRV_MAX_TOP 20 /* top_logprobs, logprobs, n_probs */

#define SRV_MAX_PROMPTS 64

enum srv_tool_choice { SRV_TOOLS_AUTO, SRV_TOOLS_NONE, SRV_TOOLS_REQUIRED, SRV_TOOLS_NAMED };

/* One of several prompts: text, or tokens when toks is set. */
typedef struct srv_prompt {
    char *text;
    size_t len;
    int32_t *toks;
    int n_toks;
} srv_prompt;

/* A completion request. The prompt is text or tokens (then n_prompt_tokens
 * >= 0 and prompt is NULL); several prompts are in multi instead. */
typedef struct srv_completion {
    char *prompt;
    size_t prompt_len;
    int32_t *prompt_tokens;
    int n_prompt_tokens;
    int n_predict; /* -1: until the end of the slot's context */
    bool stream, include_usage, ignore_eos, cache_prompt, return_tokens;
    bool logprobs; /* report each token's probability ... */
    int n_top;     /* ... and this many alternatives */
    int id_slot;   /* -1: any */
    char *stops[SRV_MAX_STOPS];
    int n_stops;
    lf_sampler_params sp;
    lf_logit_bias *bias;
    int n_bias;
    char *model;   /* as the client named it (reported back) */
    /* chat: the JSON texts of messages, tools and chat_template_kwargs */
    char *messages, *tools, *kwargs;
    bool split_reasoning; /* chat: reasoning_content apart (reasoning_format) */
    /* constrained output (constrain.c turns these into grammar): the
     * request's GBNF, a JSON Schema's text (json_schema, response_format's
     * schema), response_format json_object without a schema */
    char *grammar, *json_schema;
    const char *grammar_root; /* a static name; NULL: "root" */
    const char *grammar_trigger; /* static; set: the grammar starts at this text (lazy.c) */
    bool json_object;
    /* chat with tools: tool_choice, the function it names, parallel calls */
    int tool_choice; /* enum srv_tool_choice */
    char *tool_name;
    bool parallel_tool_calls;
    int tool_format; /* lf_toolcall_format the answer is parsed with (tools.c) */
    bool parse_tools; /* tools given and tool_choice not "none" */
    bool tools_grammar; /* the grammar is the tools' own: calls come out well-formed */
    srv_prompt *multi; /* a prompt array: each its own completion (NULL: one) */
    int n_multi;
} srv_completion;

/* A copy of c's parameters with multi[i] as its one prompt. */
bool srv_completion_pick(const srv_completion *c, int i, srv_completion *out, srv_err *err);

/* Parses a /completion (native) or /v1/completions (openai) body with the
 * server's defaults; on a bad body fills err (400, naming the field). */
bool srv_parse_completion(const char *body, size_t len, enum srv_api api,
                          const lf_sampler_params *defaults, int32_t n_vocab,
                          srv_completion *out, srv_err *err);
/* A /v1/chat/completions body: messages (an array), tools, and
 * chat_template_kwargs kept as JSON text for the chat template; the rest
 * as for completions (no prompt). */
bool srv_parse_chat(const char *body, size_t len, const lf_sampler_params *defaults,
                    int32_t n_vocab, srv_completion *out, srv_err *err);
void srv_completion_free(srv_completion *c);

/* Body → JSON object, or a 400 that says what is wrong. */
json_t *srv_parse_object(const char *body, size_t len, srv_err *err);
/* anthropic_request.c: an Anthropic Messages body as a chat completion
 * body for srv_parse_chat (counting: /v1/messages/count_tokens, where
 * max_tokens is not required); NULL with a 400 (500: out of memory) in err. */
json_t *srv_anthropic_to_chat(const char *body, size_t len, bool counting, srv_err *err);
/* Optional typed fields of an object: false (with a 400 naming the field)
 * when present with the wrong type; absent or null leaves *out as it is. */
bool srv_get_bool(json_t *o, const char *key, bool *out, srv_err *err);
bool srv_get_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                 srv_err *err);
bool srv_get_float(json_t *o, const char *key, float *out, srv_err *err);
/* An array of token ids each in [0, n_vocab); malloc'ed into *out. */
bool srv_get_tokens(json_t *v, const char *key, int32_t n_vocab, int32_t **out, int *n,
                    srv_err *err);

#endif
