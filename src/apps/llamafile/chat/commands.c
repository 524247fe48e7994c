/* commands.c — the chatbot's slash commands. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static const struct command {
    const char *name, *args, *help;
} k_commands[] = {
    {"exit", "", "leave the chat (also /bye, Ctrl-D, or Ctrl-C at the prompt)"},
    {"bye", "", "leave the chat"},
    {"clear", "", "start a new conversation (the system prompt stays)"},
    {"undo", "", "remove the last exchange (your message and the answer)"},
    {"regen", "", "answer the last message again"},
    {"system", "[TEXT]", "set the system prompt to TEXT (alone: show it)"},
    {"think", "on|off", "let the model think first or not (templates with enable_thinking)"},
    {"set", "[NAME VALUE]", "set temp, top-k, top-p, min-p, seed or n-predict (alone: show them)"},
    {"stats", "", "tokens in the context, prompt and generation speed of the last answer"},
    {"context", "", "tokens used of the context, as a bar"},
    {"save", "FILE", "save the conversation as OpenAI-style JSON messages"},
    {"load", "FILE", "load a conversation saved by /save (or any messages array)"},
    {"upload", "FILE", "add a text file to your next message, as a fenced block"},
    {"dump", "", "print the conversation as the chat template renders it"},
    {"help", "[CMD]", "list the commands, or explain one"},
};
#define N_COMMANDS (int)(sizeof k_commands / sizeof *k_commands)

void chat_help(FILE *f, const char *cmd) {
    for (int i = 0; i < N_COMMANDS; i++) {
        const struct command *c = &k_commands[i];
        if (cmd && strcmp(cmd, c->name))
            continue;
        char head[40];
        snprintf(head, sizeof head, "/%s%s%s", c->name, *c->args ? " " : "", c->args);
        fprintf(f, "  %-18s %s\n", head, c->help);
        if (cmd)
            return;
    }
    if (cmd)
        fprintf(f, "llamafile: no command /%s (try /help)\n", cmd);
    else
        fputs("  \"\"\" ... \"\"\"          a message of several lines; a line ending in \\ goes on\n"
              "  Ctrl-C             stop the answer being written\n", f);
}

static void show_settings(const chat_session *s) {
    long long seed = s->sp.seed == UINT64_MAX || s->sp.seed == 0xffffffff ? -1 : (long long)s->sp.seed;
    printf("temp %g\ntop-k %d\ntop-p %g\nmin-p %g\nseed %lld\nn-predict %d\n",
           (double)s->sp.temp, s->sp.top_k, (double)s->sp.top_p, (double)s->sp.min_p, seed,
           s->n_predict);
}

static int set(chat_session *s, const char *arg) {
    char name[32], value[64];
    if (!*arg) {
        show_settings(s);
        return 0;
    }
    if (sscanf(arg, "%31s %63s", name, value) != 2) {
        fprintf(stderr, "llamafile: usage: /set NAME VALUE (/help set)\n");
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    bool ok = *end == 0 && errno == 0 && isfinite(v);
    bool integer = ok && v == floor(v);
    if (!strcmp(name, "temp") && ok && v >= 0) s->sp.temp = (float)v;
    else if (!strcmp(name, "top-k") && integer && v >= 0 && v <= INT_MAX) s->sp.top_k = (int)v;
    else if (!strcmp(name, "top-p") && ok && v > 0 && v <= 1) s->sp.top_p = (float)v;
    else if (!strcmp(name, "min-p") && ok && v >= 0 && v <= 1) s->sp.min_p = (float)v;
    else if (!strcmp(name, "seed") && integer && v >= -1 && v <= UINT32_MAX)
        s->sp.seed = v < 0 ? UINT64_MAX : (uint64_t)v;
    else if (!strcmp(name, "n-predict") && integer && v >= -1 && v <= INT_MAX)
        s->n_predict = (int)v;
    else {
        bool known = strstr(" temp top-k top-p min-p seed n-predict ", name) && !strchr(name, ' ');
        if (known)
            fprintf(stderr, "llamafile: bad value '%s' for %s\n", value, name);
        else
            fprintf(stderr, "llamafile: /set knows temp, top-k, top-p, min-p, seed, n-predict\n");
        return 0;
    }
    printf("%s = %s\n", name, value);
    return 0;
}

static int last_role(const chat_session *s, const char *role) {
    for (int i = s->n_msgs - 1; i >= 0; i--)
        if (!strcmp(s->msgs[i].role, role))
            return i;
    return -1;
}

static void stats(const chat_session *s) {
    const chat_turn_stats *t = &s->last;
    printf("context: %d of %d tokens\n", s->n_cache, lf_n_ctx(s->ctx));
    if (!t->turn) {
        printf("no answer yet\n");
        return;
    }
    printf("last prompt: %d tokens, %d decoded (%.1f ms, %.2f tokens per second), %d reused\n",
           t->n_prompt, t->n_decoded, t->t_prompt * 1e3,
           t->t_prompt > 0 ? t->n_decoded / t->t_prompt : 0.0, t->n_reused);
    printf("last answer: %d tokens (%.1f ms, %.2f tokens per second), first after %.1f ms\n",
           t->n_gen, t->t_gen * 1e3, t->t_gen > 0 ? t->n_gen / t->t_gen : 0.0, t->ttft * 1e3);
}

static void context_bar(const chat_session *s) {
    int n_ctx = lf_n_ctx(s->ctx), w = 40;
    int fill = (int)((long long)s->n_cache * w / (n_ctx > 0 ? n_ctx : 1));
    printf("[");
    for (int i = 0; i < w; i++)
        putchar(i < fill ? '#' : '.');
    printf("] %d / %d tokens (%d%%)\n", s->n_cache, n_ctx, (int)(100LL * s->n_cache / n_ctx));
}

static void save(chat_session *s, const char *path) {
    lf_error err;
    size_t len;
    char *json = chat_to_json(s, &len, &err);
    FILE *f = json ? fopen(path, "wb") : NULL;
    bool ok = f && fwrite(json, 1, len, f) == len && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok)
        printf("saved %d messages to %s\n", s->n_msgs, path);
    else
        fprintf(stderr, "llamafile: /save %s: %s\n", path, json ? strerror(errno) : err.msg);
    free(json);
}

static void load(chat_session *s, const char *path) {
    lf_error err;
    size_t len;
    char *text = lf_read_text(path, LF_TEXT_MAX, &len, &err);
    if (text && chat_from_json(s, text, len, &err))
        printf("loaded %d messages from %s\n", s->n_msgs, path);
    else
        fprintf(stderr, "llamafile: /load %s: %s\n", path, err.msg);
    free(text);
}

static void upload(chat_app *app, const char *path) {
    lf_error err;
    size_t len;
    char *text = lf_read_text(path, LF_TEXT_MAX, &len, &err);
    if (!text) {
        fprintf(stderr, "llamafile: /upload: %s\n", err.msg);
        return;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *fence = strstr(text, "```") ? "````" : "```";
    size_t old = app->pending ? strlen(app->pending) : 0;
    size_t need = old + strlen(base) + len + 32;
    char *p = realloc(app->pending, need);
    if (p) {
        snprintf(p + old, need - old, "%s\n%s\n%s%s%s\n\n", base, fence, text,
                 len && text[len - 1] == '\n' ? "" : "\n", fence);
        app->pending = p;
        printf("added %s (%zu bytes) to your next message\n", base, len);
    } else {
        fprintf(stderr, "llamafile: out of memory\n");
    }
    free(text);
}

static void dump(chat_session *s) {
    lf_error err;
    size_t len;
    char *text = s->n_msgs ? chat_render(s, false, &len, &err) : strdup("");
    if (text)
        fwrite(text, 1, strlen(text), stdout);
    else
        fprintf(stderr, "llamafile: chat template: %s\n", err.msg);
    if (text && *text && text[strlen(text) - 1] != '\n')
        putchar('\n');
    free(text);
}

int chat_command(chat_app *app, const char *line) {
    chat_session *s = &app->s;
    char cmd[32];
    size_t n = strcspn(line + 1, " \t\n");
    snprintf(cmd, sizeof cmd, "%.*s", (int)(n < sizeof cmd ? n : sizeof cmd - 1), line + 1);
    const char *arg = line + 1 + n;
    arg += strspn(arg, " \t\n");
    bool needs_arg = !strcmp(cmd, "save") || !strcmp(cmd, "load") || !strcmp(cmd, "upload");
    if (needs_arg && !*arg) {
        fprintf(stderr, "llamafile: usage: /%s FILE\n", cmd);
        return 0;
    }
    if (!strcmp(cmd, "exit") || !strcmp(cmd, "bye") || !strcmp(cmd, "quit"))
        return 1;
    if (!strcmp(cmd, "clear")) {
        chat_truncate(s, chat_system_index(s) + 1);
        printf("new conversation\n");
    } else if (!strcmp(cmd, "undo")) {
        int i = last_role(s, "user");
        if (i < 0)
            fprintf(stderr, "llamafile: nothing to undo\n");
        else
            chat_truncate(s, i);
    } else if (!strcmp(cmd, "regen")) {
        int i = last_role(s, "user");
        if (i < 0) {
            fprintf(stderr, "llamafile: no message to answer again\n");
            return 0;
        }
        chat_truncate(s, i + 1);
        return chat_answer(app) == CHAT_ERROR ? 2 : 0;
    } else if (!strcmp(cmd, "system")) {
        int i = chat_system_index(s);
        if (!*arg)
            printf("%s\n", i < 0 ? "(no system prompt)" : s->msgs[i].content);
        else if (!chat_set_system(s, arg))
            fprintf(stderr, "llamafile: out of memory\n");
    } else if (!strcmp(cmd, "think")) {
        lf_str t = {0};
        lf_gguf_get_str(lf_model_gguf(s->m), "tokenizer.chat_template", &t);
        bool has = t.ptr && memmem(t.ptr, t.len, "enable_thinking", 15);
        if (!has)
            fprintf(stderr, "llamafile: this model's template has no enable_thinking switch\n");
        else if (!strcmp(arg, "on") || !strcmp(arg, "off"))
            printf("thinking %s\n", (s->think = !strcmp(arg, "on")) ? "on" : "off");
        else
            fprintf(stderr, "llamafile: usage: /think on|off\n");
    } else if (!strcmp(cmd, "set")) {
        return set(s, arg);
    } else if (!strcmp(cmd, "stats")) {
        stats(s);
    } else if (!strcmp(cmd, "context")) {
        context_bar(s);
    } else if (!strcmp(cmd, "save")) {
        save(s, arg);
    } else if (!strcmp(cmd, "load")) {
        load(s, arg);
    } else if (!strcmp(cmd, "upload")) {
        upload(app, arg);
    } else if (!strcmp(cmd, "dump")) {
        dump(s);
    } else if (!strcmp(cmd, "help")) {
        chat_help(stdout, *arg ? arg + (*arg == '/') : NULL);
    } else {
        fprintf(stderr, "llamafile: unknown command /%s (/help lists them)\n", cmd);
    }
    return 0;
}
