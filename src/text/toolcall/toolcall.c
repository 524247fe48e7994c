/* toolcall.c — the public tool-call API: which family a template's output
 * is (decided from the template text as llama.cpp's common/chat.cpp
 * decides it), the one-shot parse, the streaming parse, and the OpenAI
 * message JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/toolcall/toolcall.h"
#include "text/utf8.h"

/* First match wins, in llama.cpp's order (common_chat_templates_apply_jinja
 * before its autoparser): every string of a rule must occur in the
 * template. */
static const struct {
    lf_toolcall_format f;
    const char *all[3];
} RULES[] = {
    {LF_TOOLCALL_DEEPSEEK, {"<｜tool▁calls▁begin｜>"}},
    {LF_TOOLCALL_COMMAND_R7B, {"<|END_THINKING|><|START_ACTION|>"}},
    {LF_TOOLCALL_GRANITE, {"elif thinking", "<|tool_call|>"}},
    {LF_TOOLCALL_QWEN3_CODER, {"<tool_call>", "<function=", "<parameter="}},
    {LF_TOOLCALL_HERMES, {"<tool_call>"}},
    {LF_TOOLCALL_GPT_OSS, {"<|channel|>"}},
    {LF_TOOLCALL_FUNCTIONARY_V3_2, {">>>all"}},
    {LF_TOOLCALL_FIREFUNCTION_V2, {" functools["}},
    {LF_TOOLCALL_FUNCTIONARY_V3_1, {"<|start_header_id|>", "<function="}},
    {LF_TOOLCALL_LLAMA3, {"<|start_header_id|>ipython<|end_header_id|>"}},
    {LF_TOOLCALL_MISTRAL, {"[TOOL_CALLS]"}},
};

lf_toolcall_format lf_toolcall_detect(const char *template_text) {
    if (!template_text)
        return LF_TOOLCALL_GENERIC;
    for (size_t r = 0; r < sizeof RULES / sizeof *RULES; r++) {
        bool all = true;
        for (int k = 0; k < 3 && RULES[r].all[k] && all; k++)
            all = strstr(template_text, RULES[r].all[k]) != NULL;
        if (all)
            return RULES[r].f;
    }
    return LF_TOOLCALL_GENERIC;
}

const char *lf_toolcall_format_name(lf_toolcall_format f) {
    return (unsigned)f < LF_TOOLCALL_N_FORMATS ? lf_tc_families[f].name : "unknown";
}

bool lf_toolcall_format_from_name(const char *name, lf_toolcall_format *out) {
    for (int f = 0; name && f < LF_TOOLCALL_N_FORMATS; f++)
        if (!strcmp(name, lf_tc_families[f].name)) {
            *out = (lf_toolcall_format)f;
            return true;
        }
    return false;
}

/* Runs family f over text into o (partial: more text may follow). */
static bool run(lf_toolcall_format f, const char *text, size_t n, bool partial, bool eager,
                tc_out *o, lf_error *err) {
    memset(o, 0, sizeof *o);
    if ((unsigned)f >= LF_TOOLCALL_N_FORMATS) {
        snprintf(err->msg, sizeof err->msg, "tool calls: unknown format %d", (int)f);
        return false;
    }
    if (n > TC_MAX_TEXT) {
        snprintf(err->msg, sizeof err->msg, "tool calls: output over %u bytes", TC_MAX_TEXT);
        return false;
    }
    tc_ctx c = {text ? text : "", text ? n : 0, partial, partial && eager, o};
    const tc_family *fam = &lf_tc_families[f];
    if (fam->whole)
        fam->whole(&c);
    else
        tc_scan(&c, fam);
    if (o->oom) {
        tc_out_free(o);
        snprintf(err->msg, sizeof err->msg, "tool calls: out of memory");
        return false;
    }
    return true;
}

static bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The trimmed view [*a, *b) of a buffer. */
static void trimmed(const tc_buf *t, size_t *a, size_t *b) {
    *a = 0, *b = t->n;
    while (*a < *b && ws(t->p[*a]))
        (*a)++;
    while (*b > *a && ws(t->p[*b - 1]))
        (*b)--;
}

static char *trimmed_copy(const tc_buf *t, bool *oom) {
    size_t a, b;
    trimmed(t, &a, &b);
    if (a == b)
        return NULL;
    char *p = malloc(b - a + 1);
    if (!p)
        return *oom = true, NULL;
    memcpy(p, t->p + a, b - a);
    p[b - a] = 0;
    return p;
}

static char *dup(const char *s, bool *oom) {
    char *p = strdup(s);
    if (!p)
        *oom = true;
    return p;
}

/* o as an lf_oai_message; ids[i] (or fresh ones from rng) for the calls. */
static bool to_message(tc_out *o, char (*ids)[32], uint64_t *rng, lf_oai_message *out,
                       lf_error *err) {
    bool oom = false;
    memset(out, 0, sizeof *out);
    out->content = trimmed_copy(&o->content, &oom);
    out->reasoning_content = trimmed_copy(&o->reasoning, &oom);
    if (o->n_calls && !(out->tool_calls = calloc(o->n_calls, sizeof *out->tool_calls)))
        oom = true;
    for (size_t i = 0; !oom && i < o->n_calls; i++) {
        char id[32];
        if (ids)
            memcpy(id, ids[i], 32);
        else
            lf_harmony_tool_call_id(rng, id);
        lf_oai_tool_call *c = &out->tool_calls[out->n_tool_calls++];
        c->id = dup(id, &oom);
        c->name = dup(o->calls[i].name, &oom);
        c->arguments = dup(o->calls[i].args, &oom);
    }
    out->finish_reason = out->n_tool_calls ? "tool_calls" : "stop";
    if (oom) {
        lf_oai_message_free(out);
        snprintf(err->msg, sizeof err->msg, "tool calls: out of memory");
        return false;
    }
    return true;
}

bool lf_toolcall_parse(lf_toolcall_format f, const char *text, size_t n, uint64_t *rng,
                       lf_oai_message *out, lf_error *err) {
    tc_out o;
    memset(out, 0, sizeof *out);
    if (!run(f, text, n, false, false, &o, err))
        return false;
    bool ok = to_message(&o, NULL, rng, out, err);
    tc_out_free(&o);
    return ok;
}

/* ------------------------------------------------------------- streaming */

struct lf_toolcall_stream {
    lf_toolcall_format f;
    uint64_t rng;
    tc_buf text;
    tc_out last;        /* the latest parse; deltas point into it */
    size_t sent_content, sent_reasoning, sent_calls;
    char (*ids)[32];
    lf_toolcall_delta *deltas;
    size_t cap_deltas;
    bool ended;
    bool eager;
    bool open;        /* eager: call sent_calls - 1 is announced, its arguments not all sent */
    size_t open_sent; /* how many bytes of them are */
};

void lf_toolcall_stream_set_eager(lf_toolcall_stream *s, bool on) { s->eager = on; }

lf_toolcall_stream *lf_toolcall_stream_new(lf_toolcall_format f, const uint64_t *seed,
                                           lf_error *err) {
    if ((unsigned)f >= LF_TOOLCALL_N_FORMATS) {
        snprintf(err->msg, sizeof err->msg, "tool calls: unknown format %d", (int)f);
        return NULL;
    }
    lf_toolcall_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err->msg, sizeof err->msg, "tool calls: out of memory");
        return NULL;
    }
    s->f = f;
    if (seed) {
        s->rng = *seed;
    } else {
        char id[32]; /* a clock-seeded draw, used as the seed */
        lf_harmony_tool_call_id(NULL, id);
        for (int i = 0; id[i]; i++)
            s->rng = s->rng * 131 + (unsigned char)id[i];
    }
    return s;
}

void lf_toolcall_stream_free(lf_toolcall_stream *s) {
    if (!s)
        return;
    tc_buf_free(&s->text);
    tc_out_free(&s->last);
    free(s->ids);
    free(s->deltas);
    free(s);
}

static bool add_delta(lf_toolcall_stream *s, size_t *k, lf_toolcall_delta d) {
    if (*k == s->cap_deltas) {
        size_t cap = s->cap_deltas ? 2 * s->cap_deltas : 8;
        lf_toolcall_delta *p = realloc(s->deltas, cap * sizeof *p);
        if (!p)
            return false;
        s->deltas = p, s->cap_deltas = cap;
    }
    s->deltas[(*k)++] = d;
    return true;
}

/* The unsent part of a trimmed buffer; trailing whitespace waits until
 * text follows it (or the end), so what is sent never needs taking back. */
static bool text_delta(lf_toolcall_stream *s, size_t *k, int kind, const tc_buf *b, size_t *sent) {
    size_t a, e;
    trimmed(b, &a, &e);
    if (e - a <= *sent)
        return true;
    lf_toolcall_delta d = {.kind = kind, .text = b->p + a + *sent, .len = e - a - *sent};
    *sent = e - a;
    return add_delta(s, k, d);
}

/* n less an incomplete UTF-8 sequence at its end (a delta may become a
 * JSON string on its own). */
static size_t utf8_whole(const char *p, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char b = (unsigned char)p[n - k];
        if ((b & 0xC0) != 0x80) {
            size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return need > k ? n - k : n;
        }
    }
    return n;
}

/* A CALL delta for call i, with a fresh id. */
static bool call_delta(lf_toolcall_stream *s, size_t *k, size_t i, const char *name) {
    lf_harmony_tool_call_id(&s->rng, s->ids[i]);
    s->sent_calls = i + 1;
    lf_toolcall_delta d = {.kind = LF_TOOLCALL_DELTA_CALL, .index = i, .id = s->ids[i],
                           .name = name};
    return add_delta(s, k, d);
}

static bool args_delta(lf_toolcall_stream *s, size_t *k, size_t i, const char *p, size_t n) {
    lf_toolcall_delta d = {.kind = LF_TOOLCALL_DELTA_ARGS, .index = i, .text = p, .len = n};
    return add_delta(s, k, d);
}

/* The calls' deltas: the complete ones (the rest of the open one first),
 * then in eager mode the one being written. */
static bool call_deltas(lf_toolcall_stream *s, size_t *k, const tc_out *o) {
    const tc_pending *p = &o->pending;
    size_t need = o->n_calls + (p->name ? 1 : 0);
    if (need > s->sent_calls) {
        char (*ids)[32] = realloc(s->ids, need * sizeof *ids);
        if (!ids)
            return false;
        s->ids = ids;
    }
    for (size_t i = s->open ? s->sent_calls - 1 : s->sent_calls; i < o->n_calls; i++) {
        const char *a = o->calls[i].args;
        size_t len = strlen(a);
        if (i + 1 == s->sent_calls) { /* the open call, complete now */
            size_t from = s->open_sent < len ? s->open_sent : len;
            s->open = false;
            if (len > from && !args_delta(s, k, i, a + from, len - from))
                return false;
        } else if (!call_delta(s, k, i, o->calls[i].name) || !args_delta(s, k, i, a, len)) {
            return false;
        }
    }
    size_t i = o->n_calls;
    if (!p->name)
        return true;
    if (i == s->sent_calls && !s->open) {
        if (!call_delta(s, k, i, p->name))
            return false;
        s->open = true, s->open_sent = 0;
    }
    if (s->open && i + 1 == s->sent_calls && p->args) {
        size_t ready = utf8_whole(p->args, p->args_len);
        if (ready > s->open_sent) {
            if (!args_delta(s, k, i, p->args + s->open_sent, ready - s->open_sent))
                return false;
            s->open_sent = ready;
        }
    }
    return true;
}

int64_t lf_toolcall_stream_push(lf_toolcall_stream *s, const char *text, size_t n, bool end,
                                const lf_toolcall_delta **deltas, lf_error *err) {
    *deltas = NULL;
    if (s->ended) {
        snprintf(err->msg, sizeof err->msg, "tool calls: the stream has ended");
        return -1;
    }
    tc_out scratch = {0};
    if (n > TC_MAX_TEXT || s->text.n + n > TC_MAX_TEXT) {
        snprintf(err->msg, sizeof err->msg, "tool calls: output over %u bytes", TC_MAX_TEXT);
        return -1;
    }
    if (!tc_add(&scratch, &s->text, text, n)) {
        snprintf(err->msg, sizeof err->msg, "tool calls: out of memory");
        return -1;
    }
    tc_out o;
    if (!run(s->f, s->text.p, s->text.n, !end, s->eager, &o, err))
        return -1;
    tc_out_free(&s->last);
    s->last = o;
    s->ended = end;
    size_t k = 0;
    bool ok = text_delta(s, &k, LF_TOOLCALL_DELTA_REASONING, &o.reasoning, &s->sent_reasoning) &&
              text_delta(s, &k, LF_TOOLCALL_DELTA_CONTENT, &o.content, &s->sent_content) &&
              call_deltas(s, &k, &s->last);
    if (!ok) {
        snprintf(err->msg, sizeof err->msg, "tool calls: out of memory");
        return -1;
    }
    *deltas = s->deltas;
    return (int64_t)k;
}

bool lf_toolcall_stream_result(const lf_toolcall_stream *s, lf_oai_message *out, lf_error *err) {
    memset(out, 0, sizeof *out);
    if (!s->ended) {
        snprintf(err->msg, sizeof err->msg, "tool calls: the stream has not ended");
        return false;
    }
    tc_out o = s->last; /* to_message only reads it */
    return to_message(&o, s->ids, NULL, out, err);
}

/* --------------------------------------------------------- OpenAI JSON */

/* A JSON string of s; invalid UTF-8 becomes U+FFFD. */
static json_t *jstr(const char *s) {
    size_t n = strlen(s);
    if (lf_utf8_valid(s, n))
        return json_stringn(s, n);
    char *p = malloc(3 * n + 1);
    if (!p)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        char one[4];
        uint32_t cp = lf_utf8_decode(s, n, &i);
        /* a surrogate, or an overlong form (C0 80 is not a NUL) */
        if ((cp >= 0xD800 && cp <= 0xDFFF) || (size_t)lf_utf8_encode(cp, one) != i - at)
            cp = 0xFFFD;
        k += (size_t)lf_utf8_encode(cp, p + k);
    }
    json_t *v = json_stringn(p, k);
    free(p);
    return v;
}

char *lf_toolcall_to_openai_json(const lf_oai_message *m, size_t *len, lf_error *err) {
    json_t *o = json_object(), *calls = NULL;
    bool ok = o && !json_object_set_new(o, "role", json_string("assistant")) &&
              !json_object_set_new(o, "content", m->content ? jstr(m->content) : json_null());
    if (ok && m->reasoning_content)
        ok = !json_object_set_new(o, "reasoning_content", jstr(m->reasoning_content));
    if (ok && m->n_tool_calls)
        ok = (calls = json_array()) && !json_object_set_new(o, "tool_calls", calls);
    for (size_t i = 0; ok && i < m->n_tool_calls; i++) {
        const lf_oai_tool_call *c = &m->tool_calls[i];
        json_t *fn = json_object(), *tc = json_object();
        if (!fn || !tc) {
            json_decref(fn);
            json_decref(tc);
            ok = false;
            break;
        }
        /* set_new takes its value even when it fails */
        ok = !json_object_set_new(tc, "id", jstr(c->id)) &&
             !json_object_set_new(tc, "type", json_string("function"));
        if (!ok)
            json_decref(fn);
        ok = ok && !json_object_set_new(tc, "function", fn) &&
             !json_object_set_new(fn, "name", jstr(c->name)) &&
             !json_object_set_new(fn, "arguments", jstr(c->arguments));
        if (ok)
            ok = !json_array_append_new(calls, tc);
        else
            json_decref(tc);
    }
    char *out = ok ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!out) {
        snprintf(err->msg, sizeof err->msg, "tool calls: out of memory");
        return NULL;
    }
    if (len)
        *len = strlen(out);
    return out;
}
