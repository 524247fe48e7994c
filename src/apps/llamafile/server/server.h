/* server.h — the HTTP server's shared state and the helpers its handlers
 * use. The files: http.c (libmicrohttpd glue), router.c (paths), auth.c
 * (key, Host, CORS), sse.c (event streams), engine.c (slots and the
 * decode thread), request.c (bodies to parameters, errors), serve.c (a
 * request's generations, whole or streamed), reasoning.c (reasoning_content),
 * api_*.c (one API family each), server.c (startup and shutdown). */
#ifndef LLAMAFILE_SERVER_SERVER_H
#define LLAMAFILE_SERVER_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "engine.h"
#include "llamafile.h"
#include "options.h"
#include "request.h"

typedef struct srv_run_params {
    const srv_options *opt;
    const char *model_path;
    int n_ctx, n_batch, n_threads, kv_type;
    lf_sampler_params sampling;
    bool quiet;
} srv_run_params;

/* Serves until SIGINT/SIGTERM; returns the exit status. */
int srv_run(lf_model *m, const srv_run_params *p);

typedef struct srv_server {
    const srv_options *opt;
    lf_model *m;
    srv_engine *eng;
    const char *model_name;
    int n_ctx, n_ctx_slot, n_vocab;
    lf_sampler_params defaults;
    bool loopback;
    time_t started;
    int n_batch, n_threads, kv_type;
    /* /v1/embeddings: a context of its own, made at the first request */
    pthread_mutex_t emb_mu;
    lf_context *emb;
} srv_server;

struct MHD_Connection;
struct MHD_Response;

/* One HTTP request. */
typedef struct srv_call {
    srv_server *s;
    struct MHD_Connection *conn;
    const char *method, *path;
    char *body;
    size_t body_len, body_cap;
    bool too_big;
    int status;
    struct MHD_Response *resp; /* set by the handler; NULL: close the connection */
} srv_call;

/* Request header (NULL if absent). */
const char *srv_header(srv_call *c, const char *name);
/* The client's socket hung up (checked without blocking). */
bool srv_client_gone(srv_call *c);

/* Replies; each takes over its argument. */
void srv_reply_json(srv_call *c, int status, json_t *j);
void srv_reply_error(srv_call *c, const srv_err *e);
void srv_reply_text(srv_call *c, int status, const char *content_type, char *text, size_t len);
void srv_reply_header(srv_call *c, const char *name, const char *value);

/* An event stream: fill appends bytes to out (waiting a little for them)
 * and returns false after the last ones; done runs once at the end (also
 * when the client went away). */
typedef struct srv_stream {
    bool (*fill)(struct srv_stream *st);
    void (*done)(struct srv_stream *st);
    void *user;
    char *out;
    size_t len, cap, off;
    bool ended;
    int fd;
} srv_stream;
void srv_reply_stream(srv_call *c, srv_stream *st);
/* Appends "data: JSON\n\n" (and takes j) or raw bytes to the stream. */
bool srv_sse_json(srv_stream *st, json_t *j);
bool srv_sse_raw(srv_stream *st, const char *s, size_t n);

/* router.c */
void srv_route(srv_call *c);

/* auth.c */
bool srv_host_allowed(srv_call *c);
bool srv_key_ok(srv_call *c);
bool srv_is_loopback_host(const char *host);

/* handlers */
void srv_h_completion(srv_call *c);
void srv_h_chat(srv_call *c);
void srv_h_apply_template(srv_call *c);
/* Renders req's messages with the chat template into req->prompt; false
 * with e set (400 for bad messages or a template that raised). */
bool srv_chat_prompt(srv_server *s, srv_completion *req, srv_err *e);
/* serve.c: tokenizes req's prompt (or each of req->multi) and serves it,
 * streamed or not, in api's shape (takes over req). */
void srv_run_completion(srv_call *c, enum srv_api api, srv_completion *req);
/* Replies with e in api's error shape. */
void srv_reply_api_error(srv_call *c, enum srv_api api, const srv_err *e);

/* One generation being served (one per prompt). */
typedef struct srv_gen {
    srv_server *s;
    srv_task *t;
    enum srv_api api;
    int index;       /* of its prompt in the request */
    char id[48];
    time_t created;
    srv_out out;     /* taken from the task, not yet sent */
    size_t text_off; /* of out's text in the whole completion (logprobs) */
    bool sent_final, sent_begin;
    /* chat with a thinking model: out's text (or tokens) split into
     * reasoning and content, not yet sent */
    lf_reasoning *rsn;
    char *part[2];
    size_t part_len[2], part_cap[2];
    int blk_open, blk_next; /* Anthropic stream: the open block's part (-1: none), next index */
    /* chat and /v1/messages with tools (tools.c): the call ids' seed, the streaming parser,
     * how many calls went out (finish_reason "tool_calls") */
    uint64_t tc_seed;
    lf_toolcall_stream *tcs;
    size_t n_calls;
} srv_gen;

/* constrain.c: req's grammar made from json_schema / response_format / the
 * tools and checked against the model; false with a 400 in e. */
bool srv_constrain(srv_server *s, srv_completion *req, srv_err *e);

/* tools.c: checks req's tools and tool_choice, and when the answer is to
 * be read for calls sets req->parse_tools and req->tool_format (the
 * model's format); false with a 400 in e. */
bool srv_tools_prepare(srv_server *s, srv_completion *req, srv_err *e);
/* The grammar of tool_choice "required" / a named function in the
 * format's syntax (hermes, llama3, generic; others: none). */
bool srv_tools_grammar(srv_server *s, srv_completion *req, srv_err *e);
/* A generation's tool-call state (the ids' seed, the stream's parser). */
void srv_tools_start(srv_gen *g);
/* The whole answer: message.content and tool_calls, finish_reason. */
void srv_tools_message(srv_gen *g, json_t *choice, const char *text, size_t n);
/* Streams text through the parser as content and tool_calls deltas (end:
 * the last), or for /v1/messages as its events; true when something was
 * written. */
bool srv_tools_send(srv_stream *st, srv_gen *g, const char *text, size_t n, bool end);

/* reasoning.c: the split of a chat answer (reasoning_content, content). */
/* Starts g's splitter when the model thinks and the request wants it. */
void srv_reasoning_start(srv_gen *g, const char *prompt, size_t len);
/* Moves out's new text (or tokens) into the two parts; done: the end. */
void srv_reasoning_take(srv_gen *g, bool done);
void srv_reasoning_free(srv_gen *g);
/* Streams the parts collected so far as chat deltas (reasoning_content,
 * then content); true when something was written. */
bool srv_reasoning_send(srv_stream *st, srv_gen *g);
/* The content so far (out's text when there is no splitter). */
const char *srv_gen_content(const srv_gen *g, size_t *len);
enum { SRV_PART_REASONING, SRV_PART_CONTENT };

/* api_completions.c: the response shapes of /completion, /v1/completions
 * and /v1/chat/completions (final: the last chunk, or with stream false
 * the whole response). */
json_t *srv_chunk_json(srv_gen *g, const char *text, size_t n, bool final, bool stream);
json_t *srv_chat_json(srv_gen *g, const char *text, size_t n, bool final, bool stream);
json_t *srv_chat_usage_json(srv_gen *g);
void srv_task_error(const srv_task *t, srv_err *e);
void srv_make_id(char *out, size_t n, const char *prefix);

/* api_anthropic.c: POST /v1/messages's shapes. */
void srv_h_messages(srv_call *c);
void srv_h_count_tokens(srv_call *c);
json_t *srv_anthropic_json(srv_gen *g);
void srv_anthropic_begin(srv_stream *st, srv_gen *g);
void srv_anthropic_text(srv_stream *st, srv_gen *g);
/* The split parts as thinking and text blocks; true when something was written. */
bool srv_anthropic_parts(srv_stream *st, srv_gen *g);
void srv_anthropic_end(srv_stream *st, srv_gen *g);
/* One tool-call stream delta as Anthropic's events: text and thinking to
 * their blocks, a call opening a tool_use block, its arguments as
 * input_json_delta. */
void srv_anthropic_tool_delta(srv_stream *st, srv_gen *g, const lf_toolcall_delta *d);
json_t *srv_anthropic_error_json(const srv_err *e);
void srv_h_v1_completions(srv_call *c);
void srv_h_health(srv_call *c);
void srv_h_models(srv_call *c);
void srv_h_props(srv_call *c);
void srv_h_tokenize(srv_call *c);
void srv_h_detokenize(srv_call *c);
void srv_h_metrics(srv_call *c);
void srv_h_slots(srv_call *c);
void srv_h_embeddings(srv_call *c);
void srv_h_embeddings_native(srv_call *c);

/* Generated text as a JSON string (bytes that are not UTF-8 become U+FFFD). */
json_t *srv_text_json(const char *s, size_t n);

/* api_logprobs.c: token probabilities in each API's shape. Chat:
 * {"content":[{token,logprob,bytes,top_logprobs}]}; legacy completions:
 * {tokens,token_logprobs,top_logprobs,text_offset} (*off advances by the
 * tokens' text); native: [{id,token,logprob,bytes,top_logprobs}]. */
json_t *srv_logprobs_chat(const srv_server *s, const srv_tokprob *p, int n);
json_t *srv_logprobs_legacy(const srv_server *s, const srv_tokprob *p, int n, size_t *off);
json_t *srv_probs_native(const srv_server *s, const srv_tokprob *p, int n);

/* Sampling parameters as llama-server reports them. */
json_t *srv_params_json(const srv_server *s, const srv_completion *req);

#endif
