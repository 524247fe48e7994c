/* to_openai.c — parsed harmony messages as an OpenAI Chat Completions
 * assistant message (spec/harmony.md §7, as vLLM/SGLang and llama.cpp map
 * them): analysis → reasoning_content, final and preambles → content,
 * commentary to functions.NAME → tool_calls; built-in tool calls stay out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llamafile.h"

static const char FUNCTIONS[] = "functions.";

static bool is(const char *s, const char *t) { return s && !strcmp(s, t); }

int lf_harmony_route_of(const lf_harmony_msg *msg, const char **name) {
    if (name)
        *name = NULL;
    if (!msg || msg->role != LF_HARMONY_ROLE_ASSISTANT)
        return LF_HARMONY_ROUTE_NONE;
    const char *r = msg->recipient;
    if (r && *r && !is(r, "all")) {
        /* only commentary carries function calls (omlx#2143); a call to
         * anything else (python, browser.*) is the runtime's business */
        size_t n = sizeof FUNCTIONS - 1;
        bool commentary = !msg->channel || is(msg->channel, "commentary");
        if (!commentary || strncmp(r, FUNCTIONS, n) || !r[n])
            return LF_HARMONY_ROUTE_NONE;
        if (name)
            *name = r + n;
        return LF_HARMONY_ROUTE_TOOL_CALL;
    }
    if (is(msg->channel, "analysis"))
        return LF_HARMONY_ROUTE_REASONING;
    return LF_HARMONY_ROUTE_CONTENT;
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void lf_harmony_tool_call_id(uint64_t *rng, char out[32]) {
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t local;
    if (!rng) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        local = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uintptr_t)out;
        rng = &local;
    }
    memcpy(out, "call_", 5);
    for (int i = 0; i < 24; i++)
        out[5 + i] = ALNUM[splitmix64(rng) % (sizeof ALNUM - 1)];
    out[29] = 0;
}

typedef struct sbuf {
    char *p;
    size_t n;
    bool used;
} sbuf;

/* Appends "\n" (after the first piece) and s[0..n). */
static bool join(sbuf *b, const char *s, size_t n) {
    size_t sep = b->used ? 1 : 0;
    char *q = realloc(b->p, b->n + sep + n + 1);
    if (!q)
        return false;
    b->p = q;
    if (sep)
        b->p[b->n++] = '\n';
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    b->used = true;
    return true;
}

static char *copy_str(const char *s, size_t n) {
    char *q = malloc(n + 1);
    if (q) {
        memcpy(q, s, n);
        q[n] = 0;
    }
    return q;
}

void lf_oai_message_free(lf_oai_message *m) {
    if (!m)
        return;
    free(m->content);
    free(m->reasoning_content);
    for (size_t i = 0; i < m->n_tool_calls; i++) {
        free(m->tool_calls[i].id);
        free(m->tool_calls[i].name);
        free(m->tool_calls[i].arguments);
    }
    free(m->tool_calls);
    memset(m, 0, sizeof *m);
}

bool lf_harmony_to_openai(const lf_harmony_msg *msgs, size_t n, const char *finish_reason,
                          uint64_t *rng, lf_oai_message *out, lf_error *err) {
    memset(out, 0, sizeof *out);
    sbuf content = {0}, reasoning = {0};
    bool ok = true;
    size_t n_calls = 0;
    for (size_t i = 0; i < n; i++)
        n_calls += lf_harmony_route_of(&msgs[i], NULL) == LF_HARMONY_ROUTE_TOOL_CALL;
    if (n_calls && !(out->tool_calls = calloc(n_calls, sizeof *out->tool_calls)))
        ok = false;
    for (size_t i = 0; ok && i < n; i++) {
        const lf_harmony_msg *m = &msgs[i];
        const char *text = m->text ? m->text : "";
        const char *name;
        switch (lf_harmony_route_of(m, &name)) {
        case LF_HARMONY_ROUTE_REASONING:
            ok = join(&reasoning, text, m->text_len);
            break;
        case LF_HARMONY_ROUTE_CONTENT:
            ok = join(&content, text, m->text_len);
            break;
        case LF_HARMONY_ROUTE_TOOL_CALL: {
            lf_oai_tool_call *c = &out->tool_calls[out->n_tool_calls++];
            char id[32];
            lf_harmony_tool_call_id(rng, id);
            c->id = copy_str(id, strlen(id));
            c->name = copy_str(name, strlen(name));
            c->arguments = copy_str(text, m->text_len);
            ok = c->id && c->name && c->arguments;
            break;
        }
        default:
            break;
        }
    }
    out->content = content.p;
    out->reasoning_content = reasoning.p;
    if (!ok) {
        lf_oai_message_free(out);
        snprintf(err->msg, sizeof err->msg, "harmony to OpenAI: out of memory");
        return false;
    }
    out->finish_reason = out->n_tool_calls ? "tool_calls" : finish_reason ? finish_reason : "stop";
    return true;
}
