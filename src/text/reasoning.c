/* reasoning.c — a model's answer split, as it streams, into reasoning and
 * content: "<think>...</think>" text (Qwen3, QwQ, DeepSeek-R1) or gpt-oss's
 * harmony channels (analysis / final) read by the harmony parser.
 *
 * The think splitter reads bytes through a small state machine. It holds
 * only a tail that may still become a marker ("<thi"), so every other byte
 * is handed out by the push that brought it, and the parts it hands out do
 * not depend on how the text was cut into pushes. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "llamafile.h"

static const char OPEN[] = "<think>", CLOSE[] = "</think>";
enum { MARK_MAX = sizeof CLOSE - 1 };

enum state {
    S_START,   /* nothing but whitespace yet: "<think>" may open reasoning */
    S_REASON,  /* inside reasoning: "</think>" closes it */
    S_CONTENT, /* the answer: no more markers */
};

struct lf_reasoning {
    int format;
    enum state st;
    bool fresh;           /* S_REASON / S_CONTENT: nothing emitted yet (whitespace dropped) */
    char hold[MARK_MAX];  /* a proper prefix of a watched marker */
    size_t n_hold;
    char *out;            /* the run being collected, of kind out_part */
    size_t n_out, cap_out;
    int out_part;
    lf_detok *detok;      /* push_token for think / none */
    lf_harmony *harmony;
    lf_harmony_parser *parser;
    int route;            /* harmony: the current message's route */
    bool said[3];         /* harmony: a part already has text (messages join with "\n") */
    bool new_msg;         /* harmony: no delta of the current message yet */
};

const char *lf_reasoning_format_name(int format) {
    switch (format) {
    case LF_REASONING_NONE: return "none";
    case LF_REASONING_THINK: return "think";
    case LF_REASONING_HARMONY: return "harmony";
    default: return NULL;
    }
}

static bool mentions(const char *s, size_t n, const char *w) {
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(s + i, w, k))
            return true;
    return false;
}

int lf_reasoning_format_for_template(const char *text, size_t len) {
    return text && (mentions(text, len, OPEN) || mentions(text, len, CLOSE))
               ? LF_REASONING_THINK
               : LF_REASONING_NONE;
}

int lf_reasoning_format_for(const lf_model *m) {
    if (lf_chat_is_harmony(m))
        return LF_REASONING_HARMONY;
    lf_str s;
    if (lf_gguf_get_str(lf_model_gguf(m), "tokenizer.chat_template", &s))
        return lf_reasoning_format_for_template(s.ptr, (size_t)s.len);
    return LF_REASONING_NONE;
}

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool lf_reasoning_prompt_opens(const char *prompt, size_t len) {
    while (len && is_space(prompt[len - 1]))
        len--;
    size_t k = sizeof OPEN - 1;
    return len >= k && !memcmp(prompt + len - k, OPEN, k);
}

bool lf_reasoning_reset(lf_reasoning *r, bool starts_in_reasoning, lf_error *err) {
    r->st = starts_in_reasoning ? S_REASON : S_START;
    r->fresh = true;
    r->n_hold = r->n_out = 0;
    r->route = LF_HARMONY_ROUTE_NONE;
    memset(r->said, 0, sizeof r->said);
    if (r->detok)
        lf_detok_reset(r->detok);
    if (r->harmony) {
        lf_harmony_parser_free(r->parser);
        r->parser = lf_harmony_parser_new(r->harmony, LF_HARMONY_ROLE_ASSISTANT, false, err);
        if (!r->parser)
            return false;
    }
    return true;
}

lf_reasoning *lf_reasoning_new(const lf_model *m, int format, bool starts_in_reasoning,
                               lf_error *err) {
    if (!lf_reasoning_format_name(format)) {
        lf_fail(err, "unknown reasoning format %d", format);
        return NULL;
    }
    if (format == LF_REASONING_HARMONY && !m) {
        lf_fail(err, "the harmony reasoning format needs the model");
        return NULL;
    }
    lf_reasoning *r = lf_calloc(1, sizeof *r);
    if (!r) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    r->format = format;
    bool ok = true;
    if (format == LF_REASONING_HARMONY)
        ok = (r->harmony = lf_harmony_new(m, err)) != NULL;
    else if (m)
        ok = (r->detok = lf_detok_new(m, false, false, err)) != NULL;
    if (!ok || !lf_reasoning_reset(r, starts_in_reasoning, err)) {
        lf_reasoning_free(r);
        return NULL;
    }
    return r;
}

void lf_reasoning_free(lf_reasoning *r) {
    if (!r)
        return;
    lf_harmony_parser_free(r->parser);
    lf_harmony_free(r->harmony);
    lf_detok_free(r->detok);
    free(r->out);
    free(r);
}

int lf_reasoning_format(const lf_reasoning *r) { return r->format; }

bool lf_reasoning_in_reasoning(const lf_reasoning *r) {
    if (r->format == LF_REASONING_HARMONY)
        return lf_harmony_parser_current(r->parser) && r->route == LF_HARMONY_ROUTE_REASONING;
    return r->format == LF_REASONING_THINK && r->st == S_REASON;
}

/* ----------------------------------------------------------- the output */

static void flush_out(lf_reasoning *r, lf_reasoning_emit emit, void *ud) {
    if (r->n_out)
        emit(ud, r->out_part, r->out, r->n_out);
    r->n_out = 0;
}

static bool put(lf_reasoning *r, int part, const char *s, size_t n, lf_reasoning_emit emit,
                void *ud, lf_error *err) {
    if (part != r->out_part)
        flush_out(r, emit, ud);
    r->out_part = part;
    if (r->n_out + n > r->cap_out) {
        size_t cap = r->cap_out ? r->cap_out : 256;
        while (cap < r->n_out + n)
            cap *= 2;
        char *p = lf_realloc(r->out, cap);
        if (!p)
            return lf_fail(err, "out of memory");
        r->out = p;
        r->cap_out = cap;
    }
    memcpy(r->out + r->n_out, s, n);
    r->n_out += n;
    return true;
}

/* ------------------------------------------------------ <think> ... </think> */

/* One byte of text in the current state (whitespace may be dropped). */
static bool emit_byte(lf_reasoning *r, char c, lf_reasoning_emit emit, void *ud, lf_error *err) {
    if (r->st == S_START) {
        if (is_space(c))
            return true;
        r->st = S_CONTENT;
        r->fresh = false;
    } else if (r->fresh) {
        if (is_space(c))
            return true;
        r->fresh = false;
    }
    return put(r, r->st == S_REASON ? LF_PART_REASONING : LF_PART_CONTENT, &c, 1, emit, ud, err);
}

/* The markers the state watches for: "<think>" before any text (and at
 * the start of reasoning, where R1-style models repeat the prompt's), and
 * "</think>" inside reasoning. */
static int watched(const lf_reasoning *r, const char *w[2]) {
    int n = 0;
    if (r->st == S_START || (r->st == S_REASON && r->fresh))
        w[n++] = OPEN;
    if (r->st == S_REASON)
        w[n++] = CLOSE;
    return n;
}

/* 2: the held bytes are a whole marker; 1: a proper prefix of one; 0: neither. */
static int match_hold(const lf_reasoning *r, const char **which) {
    const char *w[2];
    int n = watched(r, w), best = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(w[i]);
        if (r->n_hold <= k && !memcmp(r->hold, w[i], r->n_hold)) {
            if (r->n_hold == k) {
                *which = w[i];
                return 2;
            }
            best = 1;
        }
    }
    return best;
}

static bool think_byte(lf_reasoning *r, char c, lf_reasoning_emit emit, void *ud,
                       lf_error *err) {
    r->hold[r->n_hold++] = c;
    while (r->n_hold) {
        const char *which = NULL;
        int m = match_hold(r, &which);
        if (m == 2) {
            r->st = which == OPEN ? S_REASON : S_CONTENT;
            r->fresh = true;
            r->n_hold = 0;
        } else if (m == 1) {
            break;
        } else {
            /* The first held byte can no longer start a marker. */
            char b = r->hold[0];
            memmove(r->hold, r->hold + 1, --r->n_hold);
            if (!emit_byte(r, b, emit, ud, err))
                return false;
        }
    }
    return true;
}

static bool push_text(lf_reasoning *r, const char *text, size_t len, lf_reasoning_emit emit,
                      void *ud, lf_error *err) {
    bool ok = true;
    if (r->format == LF_REASONING_NONE)
        ok = put(r, LF_PART_CONTENT, text, len, emit, ud, err);
    else if (r->st == S_CONTENT && !r->fresh && !r->n_hold)
        ok = put(r, LF_PART_CONTENT, text, len, emit, ud, err); /* nothing left to watch */
    else
        for (size_t i = 0; ok && i < len; i++)
            ok = think_byte(r, text[i], emit, ud, err);
    return ok;
}

bool lf_reasoning_push(lf_reasoning *r, const char *text, size_t len, lf_reasoning_emit emit,
                       void *ud, lf_error *err) {
    if (r->format == LF_REASONING_HARMONY)
        return lf_fail(err, "harmony output is read as tokens (lf_reasoning_push_token)");
    bool ok = push_text(r, text, len, emit, ud, err);
    flush_out(r, emit, ud);
    return ok;
}

/* ------------------------------------------------------------- harmony */

static bool harmony_events(lf_reasoning *r, const lf_harmony_event *ev, int k,
                           lf_reasoning_emit emit, void *ud, lf_error *err) {
    bool ok = true;
    for (int i = 0; ok && i < k; i++) {
        if (ev[i].type == LF_HARMONY_EV_HEADER) {
            r->route = lf_harmony_route_of(ev[i].msg, NULL);
            r->new_msg = true;
        } else if (ev[i].type == LF_HARMONY_EV_DELTA) {
            int part = r->route == LF_HARMONY_ROUTE_REASONING ? LF_PART_REASONING
                       : r->route == LF_HARMONY_ROUTE_CONTENT ? LF_PART_CONTENT
                                                              : 0;
            if (!part)
                continue;
            /* A message's first delta after an earlier message of its part. */
            if (r->said[part] && r->new_msg)
                ok = put(r, part, "\n", 1, emit, ud, err);
            r->new_msg = false;
            ok = ok && put(r, part, ev[i].text, ev[i].len, emit, ud, err);
            r->said[part] = true;
        }
    }
    return ok;
}

bool lf_reasoning_push_token(lf_reasoning *r, int32_t token, lf_reasoning_emit emit, void *ud,
                             lf_error *err) {
    bool ok;
    if (r->format == LF_REASONING_HARMONY) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        int k = lf_harmony_parser_push(r->parser, token, ev, err);
        ok = k >= 0 && harmony_events(r, ev, k, emit, ud, err);
    } else if (!r->detok) {
        ok = lf_fail(err, "the splitter was made without a model: push text");
    } else {
        const char *t;
        int64_t n = lf_detok_push(r->detok, token, &t, err);
        ok = n >= 0 && push_text(r, t, (size_t)n, emit, ud, err);
    }
    flush_out(r, emit, ud);
    return ok;
}

bool lf_reasoning_finish(lf_reasoning *r, lf_reasoning_emit emit, void *ud, lf_error *err) {
    bool ok = true;
    if (r->format == LF_REASONING_HARMONY) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        int k = lf_harmony_parser_eos(r->parser, ev, err);
        ok = k >= 0 && harmony_events(r, ev, k, emit, ud, err);
    } else {
        const char *t = "";
        int64_t n = r->detok ? lf_detok_flush(r->detok, &t) : 0;
        ok = push_text(r, t, (size_t)n, emit, ud, err);
        /* A marker cut short by the end is text of the state it was in. */
        size_t nh = r->n_hold;
        r->n_hold = 0;
        for (size_t i = 0; ok && i < nh; i++)
            ok = emit_byte(r, r->hold[i], emit, ud, err);
    }
    flush_out(r, emit, ud);
    return ok;
}

/* ------------------------------------------------------------ whole text */

typedef struct {
    char *p[3];
    size_t n[3], cap[3];
    bool oom;
} split_acc;

static void acc_emit(void *ud, int part, const char *text, size_t len) {
    split_acc *a = ud;
    if (a->oom)
        return;
    if (a->n[part] + len + 1 > a->cap[part]) {
        size_t cap = (a->n[part] + len + 1) * 2;
        char *p = lf_realloc(a->p[part], cap);
        if (!p) {
            a->oom = true;
            return;
        }
        a->p[part] = p;
        a->cap[part] = cap;
    }
    memcpy(a->p[part] + a->n[part], text, len);
    a->n[part] += len;
    a->p[part][a->n[part]] = 0;
}

bool lf_reasoning_split(int format, bool starts_in_reasoning, const char *text, size_t len,
                        char **reasoning, char **content, lf_error *err) {
    *reasoning = *content = NULL;
    if (format == LF_REASONING_HARMONY)
        return lf_fail(err, "harmony output is read as tokens (lf_harmony_parse_completion)");
    lf_reasoning *r = lf_reasoning_new(NULL, format, starts_in_reasoning, err);
    if (!r)
        return false;
    split_acc a = {0};
    bool ok = lf_reasoning_push(r, text, len, acc_emit, &a, err) &&
              lf_reasoning_finish(r, acc_emit, &a, err);
    lf_reasoning_free(r);
    for (int i = 1; ok && !a.oom && i < 3; i++)
        if (!a.p[i]) {
            acc_emit(&a, i, "", 0);
            if (!a.p[i])
                a.oom = true;
        }
    if (ok && a.oom)
        ok = lf_fail(err, "out of memory");
    if (!ok) {
        free(a.p[1]);
        free(a.p[2]);
        return false;
    }
    *reasoning = a.p[LF_PART_REASONING];
    *content = a.p[LF_PART_CONTENT];
    return true;
}
