/* app.h — the chatbot program's state, shared by repl.c and commands.c. */
#ifndef LLAMAFILE_CHAT_APP_H
#define LLAMAFILE_CHAT_APP_H

#include "../cli.h"
#include "chat.h"
#include "markdown.h"

struct chat_app {
    chat_session s;
    const cli_options *o;
    bool tty;       /* stdin and stdout are terminals: prompts, line editing */
    bool color;     /* ANSI colours on stdout */
    char *pending;  /* /upload'ed files, sent with the next message */
    char *history;  /* the line-editing history file, or NULL */
    int shown;      /* the kind of text last shown (-1: none yet this answer) */
    bool at_bol;    /* the output is at the start of a line */
    md_renderer *md; /* the answer's content, lightly rendered on a colour terminal */
};

/* Writes text on stdout (the chat's output). */
void chat_out(chat_app *app, const char *text, size_t len);
/* Answers the conversation and shows the answer; the result of chat_respond. */
int chat_answer(chat_app *app);

#endif
