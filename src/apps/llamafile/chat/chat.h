/* chat.h — the terminal chatbot: a conversation engine (session.c,
 * generate.c) that keeps the KV cache in step with the rendered prompt, and
 * the program around it (repl.c, commands.c, save.c). */
#ifndef LLAMAFILE_CHAT_H
#define LLAMAFILE_CHAT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "llamafile.h"

enum chat_reasoning { CHAT_REASONING_SHOW = 0, CHAT_REASONING_OFF = 1, CHAT_REASONING_HIDE = 2 };
enum chat_text { CHAT_CONTENT = 0, CHAT_REASONING = 1 };

typedef struct chat_msg {
    char *role, *content, *reasoning; /* reasoning may be NULL */
} chat_msg;

/* What happens while an answer streams: each piece of text, as content
 * or reasoning. */
typedef void chat_text_fn(void *ud, int kind, const char *text, size_t len);

typedef struct chat_turn_stats {
    int turn;
    int n_prompt, n_decoded, n_reused, n_gen;
    double t_prompt, t_gen, ttft; /* seconds */
    int n_dropped;                /* exchanges dropped to make room */
} chat_turn_stats;

enum chat_result {
    CHAT_OK = 0,
    CHAT_ERROR = 1,       /* a failure: message printed */
    CHAT_REFUSED = 2,     /* the turn cannot fit the context; the user turn was taken back */
    CHAT_INTERRUPTED = 3, /* stopped by the user; what was said is kept */
};

typedef struct chat_session {
    lf_model *m;
    lf_context *ctx;
    chat_msg *msgs;
    int n_msgs, cap_msgs;
    int32_t *cache; /* the tokens the KV cache holds for sequence 0, in order */
    int n_cache, cap_cache;
    lf_sampler_params sp;
    const char *grammar; /* GBNF every answer must match (--grammar), or NULL */
    int n_predict;         /* -1: until end of generation or a full context */
    int reasoning;         /* enum chat_reasoning */
    int think;             /* /think: -1 the template's default, 0 off, 1 on */
    bool harmony, verbose, quiet;
    bool prompt_opens;     /* the prompt ends with <think>: the answer starts in reasoning */
    lf_harmony *h;
    const char *stop_text; /* a turn end the vocabulary lacks as a token (fallback) */
    chat_text_fn *on_text;
    void *ud;
    volatile sig_atomic_t *stop; /* set (by SIGINT) to stop an answer */
    chat_turn_stats last;
    int turns;
} chat_session;

/* session.c */
bool chat_session_init(chat_session *s, lf_model *m, lf_context *ctx, lf_error *err);
void chat_session_free(chat_session *s);
bool chat_add(chat_session *s, const char *role, const char *content, const char *reasoning);
/* Removes messages [i, n_msgs). */
void chat_truncate(chat_session *s, int i);
/* Index of the system message, or -1. */
int chat_system_index(const chat_session *s);
bool chat_set_system(chat_session *s, const char *text);
/* The conversation as the template renders it (malloc'd); gen: with the
 * assistant's turn opened, as the prompt of an answer. */
char *chat_render(chat_session *s, bool gen, size_t *len, lf_error *err);
/* The rendered text as tokens (malloc'd), or NULL. */
int32_t *chat_tokenize(chat_session *s, const char *text, size_t len, int *n);
/* Answers the conversation (whose last message is the user's): renders,
 * makes room, decodes what the cache lacks and generates. */
int chat_respond(chat_session *s);
/* The conversation as OpenAI-shaped JSON messages (malloc'd). */
char *chat_to_json(const chat_session *s, size_t *len, lf_error *err);
bool chat_from_json(chat_session *s, const char *json, size_t len, lf_error *err);

/* generate.c: samples the answer after the prompt s->cache holds, whose
 * last token's logits are ready; *content / *reasoning get the texts. */
int chat_generate(chat_session *s, char **content, char **reasoning);

/* commands.c: a line starting with '/'. Returns 0 to go on, 1 to leave. */
typedef struct chat_app chat_app;
int chat_command(chat_app *app, const char *line);
void chat_help(FILE *f, const char *cmd);

#endif
