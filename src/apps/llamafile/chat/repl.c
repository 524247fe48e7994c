/* repl.c — the chatbot's loop: read a turn (line editing and history on a
 * terminal, plain lines from a pipe), run a command or answer it. */
#include <editline/readline.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1;
}

/* Ctrl-C interrupts the read of a turn (so a pipe's getline returns), but
 * while an answer is written the writes are restarted: a write to stdout
 * cut short by EINTR would lose the bytes stdio had buffered. */
static void on_sigint_restarts(bool restart) {
    struct sigaction sa = {.sa_handler = on_sigint, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

void chat_out(chat_app *app, const char *text, size_t len) {
    if (len == 0)
        return;
    fwrite(text, 1, len, stdout);
    app->at_bol = text[len - 1] == '\n';
    lf_stdout_flush();
}

#define DIM "\033[2m"
#define RESET "\033[0m"

/* Streams the answer: reasoning dimmed on a colour terminal (marked
 * otherwise) or hidden, then the content. */
static void on_text(void *ud, int kind, const char *text, size_t len) {
    chat_app *app = ud;
    if (kind == CHAT_REASONING && app->s.reasoning != CHAT_REASONING_SHOW)
        return;
    if (kind != app->shown) {
        if (app->shown == CHAT_CONTENT)
            md_finish(app->md);
        if (app->shown == CHAT_REASONING)
            chat_out(app, app->color ? RESET "\n\n" : "\n\n", app->color ? 6 : 2);
        if (kind == CHAT_REASONING)
            chat_out(app, app->color ? DIM : "thinking: ", app->color ? 4 : 10);
        app->shown = kind;
    }
    if (kind == CHAT_CONTENT)
        md_push(app->md, text, len);
    else
        chat_out(app, text, len);
}

static void md_write(void *ud, const char *s, size_t n) {
    chat_out(ud, s, n);
}

int chat_answer(chat_app *app) {
    g_stop = 0;
    app->shown = -1;
    app->at_bol = true;
    int rc = chat_respond(&app->s);
    if (app->shown == CHAT_CONTENT)
        md_finish(app->md);
    if (app->shown == CHAT_REASONING && app->color)
        chat_out(app, RESET, 4);
    if (rc == CHAT_INTERRUPTED)
        fputs(app->at_bol ? "(interrupted)\n" : "\n(interrupted)\n", stderr);
    if (rc != CHAT_REFUSED && rc != CHAT_ERROR)
        chat_out(app, "\n", 1);
    if (app->tty && rc == CHAT_OK)
        chat_out(app, "\n", 1);
    const chat_turn_stats *t = &app->s.last;
    if (app->s.verbose && rc != CHAT_REFUSED)
        fprintf(stderr, "llamafile: turn %d: %d prompt tokens decoded, %d reused; first token "
                "after %.2f ms; %d tokens generated\n", t->turn, t->n_decoded, t->n_reused,
                t->ttft * 1e3, t->n_gen);
    g_stop = 0;
    return rc;
}

/* One line without its newline (malloc'd), or NULL at the end of input
 * or on Ctrl-C. */
static char *read_line_raw(chat_app *app, const char *prompt) {
    if (app->tty) {
        char *line = readline(prompt);
        if (line && *line && app->history) {
            add_history(line);
            write_history(app->history);
        }
        return g_stop ? (free(line), NULL) : line;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0 || g_stop) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = 0;
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = 0;
    return line;
}

/* While the chatbot waits for a turn, a thread copies the weights into
 * memory (lf_repack_step: the context is idle until the turn is read, and
 * the thread is joined, within a step's ~100 ms, before it is used). */
struct idle_copy {
    lf_context *ctx;
    atomic_bool stop;
    pthread_t thread;
    bool running;
};

static void *copy_while_idle(void *arg) {
    struct idle_copy *ic = arg;
    while (!atomic_load(&ic->stop) && lf_repack_step(ic->ctx))
        ;
    return NULL;
}

static void idle_copy_start(struct idle_copy *ic, chat_app *app) {
    int held, packed;
    uint64_t bytes;
    double ms;
    lf_model_held(app->s.m, &held, &bytes, &packed, &ms);
    *ic = (struct idle_copy){.ctx = app->s.ctx};
    if (!held || ms >= 0)
        return; /* nothing left to copy */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* Ctrl-C stays the reader's */
    ic->running = pthread_create(&ic->thread, NULL, copy_while_idle, ic) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void idle_copy_stop(struct idle_copy *ic) {
    if (!ic->running)
        return;
    atomic_store(&ic->stop, true);
    pthread_join(ic->thread, NULL);
}

static char *read_line(chat_app *app, const char *prompt) {
    struct idle_copy ic;
    idle_copy_start(&ic, app);
    on_sigint_restarts(false);
    char *line = read_line_raw(app, prompt);
    on_sigint_restarts(true);
    idle_copy_stop(&ic);
    return line;
}

static bool append(char **s, const char *a, const char *b) {
    size_t n = *s ? strlen(*s) : 0;
    char *t = realloc(*s, n + strlen(a) + strlen(b) + 1);
    if (!t)
        return false;
    strcpy(stpcpy(t + n, a), b);
    *s = t;
    return true;
}

/* A turn: one line; lines ending in a backslash go on; """ starts text
 * that runs to the next """. NULL at the end of input. */
static char *read_turn(chat_app *app) {
    char *line = read_line(app, ">>> ");
    if (!line)
        return NULL;
    char *text = NULL;
    if (!strncmp(line, "\"\"\"", 3)) {
        char *rest = line + 3;
        for (int i = 0; i < 1 << 20; i++) {
            size_t n = strlen(rest);
            bool end = n >= 3 && !strcmp(rest + n - 3, "\"\"\"") && (i > 0 || n > 0);
            if (end)
                rest[n - 3] = 0;
            if (!append(&text, i > 0 ? "\n" : "", rest))
                break;
            if (end)
                break;
            free(line);
            if (!(line = rest = read_line(app, "... ")))
                break; /* the end of input ends the text */
        }
        free(line);
        return text ? text : strdup("");
    }
    for (int i = 0; line && i < 1 << 20; i++) {
        size_t n = strlen(line);
        bool more = n > 0 && line[n - 1] == '\\';
        if (more)
            line[n - 1] = 0;
        if (!append(&text, i > 0 ? "\n" : "", line))
            break;
        free(line);
        line = more ? read_line(app, "... ") : NULL;
    }
    free(line);
    return text;
}

/* A user turn, with files /upload'ed before it. */
static int user_turn(chat_app *app, const char *text) {
    char *msg = NULL;
    if (!append(&msg, app->pending ? app->pending : "", text) ||
        !chat_add(&app->s, "user", msg, NULL)) {
        free(msg);
        fprintf(stderr, "llamafile: out of memory\n");
        return CHAT_ERROR;
    }
    free(msg);
    free(app->pending);
    app->pending = NULL;
    return chat_answer(app);
}

static bool want_color(const cli_options *o) {
    const char *nc = getenv("NO_COLOR");
    return !o->no_color && !(nc && *nc) && isatty(1);
}

int cli_chat(lf_model *m, lf_context *ctx, const cli_options *o) {
    chat_app app = {.o = o, .tty = isatty(0) && isatty(1), .color = want_color(o)};
    lf_error err;
    if (!chat_session_init(&app.s, m, ctx, &err)) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        return 1;
    }
    chat_session *s = &app.s;
    if (!(app.md = md_new(app.color, md_write, &app))) {
        fprintf(stderr, "llamafile: out of memory\n");
        chat_session_free(s);
        return 1;
    }
    s->sp = o->sampling;
    s->grammar = o->grammar;
    s->n_predict = o->n_predict;
    s->reasoning = o->reasoning;
    s->verbose = o->verbose;
    s->quiet = o->quiet;
    s->on_text = on_text;
    s->ud = &app;
    s->stop = &g_stop;
    if (!s->harmony && !o->quiet) {
        const lf_chat_template *t = lf_chat_template_from_model(m, NULL, &err);
        if (t && lf_chat_template_is_fallback(t))
            fprintf(stderr, "llamafile: the model has no chat template; using a plain ChatML "
                    "fallback\n");
    }
    if (o->system_prompt && !chat_set_system(s, o->system_prompt)) {
        md_free(app.md);
        chat_session_free(s);
        return 1;
    }
    on_sigint_restarts(true);
    if (app.tty) {
        const char *home = getenv("HOME");
        if (home && *home && append(&app.history, home, "/.llamafile_history")) {
            using_history();
            read_history(app.history);
        }
        if (!o->quiet)
            fprintf(stderr, "llamafile: chatting with %s (context %d tokens); /help for "
                    "commands, Ctrl-D or /bye to leave\n", lf_model_arch(m), lf_n_ctx(ctx));
    }
    int rc = 0;
    if (o->prompt && *o->prompt && user_turn(&app, o->prompt) == CHAT_ERROR)
        rc = 1;
    for (int i = 0; rc == 0 && i < 1 << 30; i++) {
        g_stop = 0;
        char *text = read_turn(&app);
        if (!text)
            break;
        const char *t = text + strspn(text, " \t\n");
        int r = 0;
        if (*t == '/')
            r = chat_command(&app, t);
        else if (*t && user_turn(&app, text) == CHAT_ERROR)
            r = 2;
        free(text);
        if (r == 1)
            break;
        if (r == 2)
            rc = 1;
        if (!lf_stdout_flush())
            rc = 1;
    }
    if (app.tty && !app.at_bol)
        chat_out(&app, "\n", 1);
    free(app.pending);
    free(app.history);
    md_free(app.md);
    chat_session_free(s);
    return rc;
}
