/* gpt_oss.c — gpt-oss output given as text: harmony messages
 * "<|start|>HEADER<|message|>BODY<|end|>" (the first one usually without
 * "<|start|>assistant", which the prompt ended with). Headers are read here
 * from text; where a message goes (reasoning, content, a call to
 * functions.NAME, or nowhere: built-in tools) is lf_harmony_route_of's
 * decision, as for the token parser. A server that has the tokens should
 * use lf_harmony_parser and lf_harmony_to_openai instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/toolcall/toolcall.h"

static const char *const STOPS[] = {"<|end|>", "<|call|>", "<|return|>", "<|start|>"};

typedef struct header {
    char role[32], channel[32], recipient[300], ctype[64];
} header;

/* Copies the word at h[*i] (up to a space or '<') into out. */
static void word(const char *h, size_t n, size_t *i, char *out, size_t cap) {
    size_t k = 0;
    while (*i < n && h[*i] != ' ' && h[*i] != '<') {
        if (k + 1 < cap)
            out[k++] = h[*i];
        (*i)++;
    }
    out[k] = 0;
}

static void parse_header(const char *h, size_t n, header *hd) {
    memset(hd, 0, sizeof *hd);
    size_t i = 0;
    if (!tc_starts(h, n, 0, "<|channel|>"))
        word(h, n, &i, hd->role, sizeof hd->role);
    else
        strcpy(hd->role, "assistant");
    while (i < n) {
        if (h[i] == ' ') {
            i++;
        } else if (tc_starts(h, n, i, "<|channel|>")) {
            i += 11;
            word(h, n, &i, hd->channel, sizeof hd->channel);
        } else if (tc_starts(h, n, i, "<|constrain|>")) {
            strcpy(hd->ctype, "<|constrain|>");
            i += 13;
            word(h, n, &i, hd->ctype + 13, sizeof hd->ctype - 13);
        } else if (tc_starts(h, n, i, "to=")) {
            i += 3;
            word(h, n, &i, hd->recipient, sizeof hd->recipient);
        } else {
            char w[64];
            size_t at = i;
            word(h, n, &i, w, sizeof w);
            if (i == at)
                i++; /* a stray '<' */
            else if (!hd->ctype[0])
                snprintf(hd->ctype, sizeof hd->ctype, "%s", w);
        }
    }
}

/* The first of lits[0..k) in s[from..n): its position (n: none), *which. */
static size_t first_of(const char *s, size_t n, size_t from, const char *const *lits, size_t k,
                       size_t *which) {
    for (size_t i = from; i < n; i++)
        if (s[i] == '<')
            for (size_t w = 0; w < k; w++)
                if (tc_starts(s, n, i, lits[w])) {
                    *which = w;
                    return i;
                }
    return n;
}

static void join(tc_out *o, tc_buf *b, bool *used, const char *s, size_t n) {
    if (*used)
        tc_add(o, b, "\n", 1);
    *used = true;
    tc_add(o, b, s, n);
}

void lf_tc_gpt_oss(tc_ctx *c) {
    const char *s = c->s;
    size_t n = c->n, i = 0;
    tc_out *o = c->o;
    bool used_content = false, used_reasoning = false;
    while (i < n && !o->oom) {
        size_t h = i;
        if (tc_starts(s, n, i, "<|start|>")) {
            h = i + 9;
        } else if (!tc_starts(s, n, i, "<|channel|>")) {
            /* text outside any message: content, up to the next message */
            static const char *const OPEN[] = {"<|start|>", "<|channel|>"};
            size_t w, next = first_of(s, n, i, OPEN, 2, &w);
            if (next == n && c->partial)
                for (size_t p = i; p < n && next == n; p++)
                    if (tc_prefix_of(s, n, p, "<|start|>") || tc_prefix_of(s, n, p, "<|channel|>"))
                        next = p;
            if (next > i)
                join(o, &o->content, &used_content, s + i, next - i);
            if (next == n ||
                !(tc_starts(s, n, next, "<|start|>") || tc_starts(s, n, next, "<|channel|>")))
                return; /* the end, or a held tail */
            i = next;
            continue;
        }
        size_t m = tc_find(s, n, h, "<|message|>");
        if (m == n) { /* a header without its message */
            if (!c->partial)
                join(o, &o->content, &used_content, s + i, n - i);
            return;
        }
        header hd;
        parse_header(s + h, m - h, &hd);
        size_t body = m + 11, w = 0, stop = first_of(s, n, body, STOPS, 4, &w);
        size_t after = stop == n ? n : w == 3 ? stop : stop + strlen(STOPS[w]);
        bool open = stop == n && c->partial;
        lf_harmony_msg msg = {.role = LF_HARMONY_ROLE_ASSISTANT,
                              .channel = hd.channel[0] ? hd.channel : NULL,
                              .recipient = hd.recipient[0] ? hd.recipient : NULL};
        if (strcmp(hd.role, "assistant"))
            msg.role = LF_HARMONY_ROLE_TOOL;
        const char *name = NULL;
        int route = lf_harmony_route_of(&msg, &name);
        size_t shown = stop;
        if (open) /* hold back a tail that may start a stop marker */
            for (size_t p = body; p < n && shown == n; p++)
                for (size_t k = 0; k < 4; k++)
                    if (tc_prefix_of(s, n, p, STOPS[k]))
                        shown = p;
        if (route == LF_HARMONY_ROUTE_REASONING) {
            join(o, &o->reasoning, &used_reasoning, s + body, shown - body);
        } else if (route == LF_HARMONY_ROUTE_CONTENT) {
            join(o, &o->content, &used_content, s + body, shown - body);
        } else if (route == LF_HARMONY_ROUTE_TOOL_CALL) {
            if (open) { /* eager: the arguments so far, less what trimming may drop */
                size_t a = tc_skip_ws(s, shown, body), e = shown;
                while (e > a && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' ||
                                 s[e - 1] == '\r'))
                    e--;
                tc_set_pending(c, name, strlen(name), a, e);
                return;
            }
            if (tc_add_call_text(c, name, strlen(name), s + body, stop - body) != TC_OK)
                join(o, &o->content, &used_content, s + body, stop - body);
        }
        if (open)
            return;
        i = after;
    }
}
