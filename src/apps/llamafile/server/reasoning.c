/* reasoning.c — a chat answer split into reasoning_content and content for
 * a thinking model (<think> blocks, gpt-oss's analysis channel) with the
 * library's streaming splitter (lf_reasoning_*). The engine's output (text
 * after the stop strings, and the tokens) goes in as it arrives; each part
 * collects what is not yet sent. reasoning_format "none" leaves it whole.
 * Anthropic's /v1/messages gets the reasoning as thinking blocks. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

void srv_reasoning_start(srv_gen *g, const char *prompt, size_t len) {
    if ((g->api != SRV_API_CHAT && g->api != SRV_API_ANTHROPIC) || !g->t->req.split_reasoning)
        return;
    if (g->t->req.parse_tools && g->t->req.tool_format == LF_TOOLCALL_GPT_OSS)
        return; /* the call parser splits gpt-oss's answer (tools.c) */
    int fmt = lf_reasoning_format_for(g->s->m);
    if (fmt == LF_REASONING_NONE)
        return;
    lf_error err;
    bool opens = fmt == LF_REASONING_THINK && prompt && lf_reasoning_prompt_opens(prompt, len);
    g->rsn = lf_reasoning_new(g->s->m, fmt, opens, &err); /* NULL: left whole */
}

static void on_part(void *ud, int part, const char *text, size_t len) {
    srv_gen *g = ud;
    int k = part == LF_PART_REASONING ? SRV_PART_REASONING : SRV_PART_CONTENT;
    if (g->part_len[k] + len + 1 > g->part_cap[k]) {
        size_t cap = 2 * (g->part_len[k] + len + 1);
        char *p = realloc(g->part[k], cap);
        if (!p)
            return;
        g->part[k] = p, g->part_cap[k] = cap;
    }
    memcpy(g->part[k] + g->part_len[k], text, len);
    g->part_len[k] += len;
}

void srv_reasoning_take(srv_gen *g, bool done) {
    if (!g->rsn)
        return;
    lf_error err;
    if (lf_reasoning_format(g->rsn) == LF_REASONING_HARMONY) {
        for (int i = 0; i < g->out.n_toks; i++)
            lf_reasoning_push_token(g->rsn, g->out.toks[i], on_part, g, &err);
    } else if (g->out.len) {
        lf_reasoning_push(g->rsn, g->out.text, g->out.len, on_part, g, &err);
    }
    if (done)
        lf_reasoning_finish(g->rsn, on_part, g, &err);
    g->out.len = 0, g->out.n_toks = 0;
}

void srv_reasoning_free(srv_gen *g) {
    lf_reasoning_free(g->rsn);
    free(g->part[0]);
    free(g->part[1]);
}

const char *srv_gen_content(const srv_gen *g, size_t *len) {
    if (!g->rsn) {
        *len = g->out.len;
        return g->out.text;
    }
    *len = g->part_len[SRV_PART_CONTENT];
    return g->part[SRV_PART_CONTENT];
}

bool srv_reasoning_send(srv_stream *st, srv_gen *g) {
    bool wrote = false;
    size_t *rl = &g->part_len[SRV_PART_REASONING], *cl = &g->part_len[SRV_PART_CONTENT];
    if (*rl) {
        json_t *j = srv_chat_json(g, "", 0, false, true);
        json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
        json_t *delta = json_object_get(choice, "delta");
        json_object_del(delta, "content");
        json_object_set_new(delta, "reasoning_content",
                            srv_text_json(g->part[SRV_PART_REASONING], *rl));
        json_object_set_new(choice, "logprobs", json_null());
        srv_sse_json(st, j);
        *rl = 0, wrote = true;
    }
    if (*cl) {
        if (g->tcs)
            srv_tools_send(st, g, g->part[SRV_PART_CONTENT], *cl, false);
        else
            srv_sse_json(st, srv_chat_json(g, g->part[SRV_PART_CONTENT], *cl, false, true));
        *cl = 0, wrote = true;
        g->out.n_probs = 0;
    }
    return wrote;
}
