/* generate.c — one answer: tokens sampled after the prompt the KV cache
 * holds, streamed as text (content or reasoning) until an end-of-generation
 * token, the template's turn end, -n, a full context or the user's Ctrl-C. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"

typedef struct buf {
    char *p;
    size_t n, cap;
    bool oom;
} buf;

static void buf_put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* The answer being written: its content and reasoning as they stream. */
typedef struct answer {
    chat_session *s;
    buf text[2]; /* CHAT_CONTENT, CHAT_REASONING */
    int route;   /* harmony: where the current message goes */
    int n_msgs[2];
    lf_reasoning *split; /* <think> reasoning apart from the content, or NULL */
} answer;

static void emit(answer *a, int kind, const char *text, size_t len) {
    if (len == 0)
        return;
    buf_put(&a->text[kind], text, len);
    if (a->s->on_text)
        a->s->on_text(a->s->ud, kind, text, len);
}

static void split_emit(void *ud, int part, const char *text, size_t len) {
    emit(ud, part == LF_PART_REASONING ? CHAT_REASONING : CHAT_CONTENT, text, len);
}

/* Plain text after the stop matcher (the ChatML turn end as text). */
static bool put_text(answer *a, lf_stop_matcher *sm, const char *text, size_t len) {
    const char *out;
    lf_error err;
    int64_t k = sm ? lf_stop_matcher_push(sm, text, len, &out, &err) : (int64_t)len;
    if (!sm)
        out = text;
    if (k < 0)
        return false;
    if (a->split)
        return lf_reasoning_push(a->split, out, (size_t)k, split_emit, a, &err);
    emit(a, CHAT_CONTENT, out, (size_t)k);
    return true;
}

static void harmony_events(answer *a, const lf_harmony_event *ev, int n) {
    for (int i = 0; i < n; i++) {
        if (ev[i].type == LF_HARMONY_EV_HEADER) {
            a->route = lf_harmony_route_of(ev[i].msg, NULL);
            int kind = a->route == LF_HARMONY_ROUTE_REASONING ? CHAT_REASONING : CHAT_CONTENT;
            if (a->route != LF_HARMONY_ROUTE_NONE && a->n_msgs[kind]++ > 0)
                emit(a, kind, "\n", 1);
        } else if (ev[i].type == LF_HARMONY_EV_DELTA) {
            if (a->route == LF_HARMONY_ROUTE_REASONING)
                emit(a, CHAT_REASONING, ev[i].text, ev[i].len);
            else if (a->route == LF_HARMONY_ROUTE_CONTENT)
                emit(a, CHAT_CONTENT, ev[i].text, ev[i].len);
        }
    }
}

static bool is_stop(const chat_session *s, int32_t tok) {
    if (s->harmony) {
        int32_t t[2];
        lf_harmony_stop_tokens_for_assistant_actions(s->h, t);
        if (tok == t[0] || tok == t[1])
            return true;
        if (tok == lf_harmony_end(s->h)) /* ends analysis: the answer follows */
            return false;
    }
    return lf_token_is_eog(s->m, tok);
}

static char *take(buf *b) {
    char *p = b->p ? b->p : strdup("");
    b->p = NULL;
    return p;
}

int chat_generate(chat_session *s, char **content, char **reasoning) {
    lf_error err;
    answer a = {.s = s};
    int rc = CHAT_OK;
    lf_sampler *smp = lf_sampler_chain_new(lf_model_n_vocab(s->m), &err);
    if (smp && ((s->grammar && !lf_sampler_add_grammar(smp, s->m, s->grammar, NULL, &err)) ||
                !lf_sampler_add_params(smp, &s->sp, &err))) {
        lf_sampler_free(smp);
        smp = NULL;
    }
    lf_detok *detok = smp && !s->harmony ? lf_detok_new(s->m, false, true, &err) : NULL;
    lf_harmony_parser *hp = smp && s->harmony
        ? lf_harmony_parser_new(s->h, LF_HARMONY_ROLE_ASSISTANT, false, &err) : NULL;
    const char *stops[1] = {s->stop_text};
    lf_stop_matcher *sm = s->stop_text && detok ? lf_stop_matcher_new(stops, 1, &err) : NULL;
    if (detok && lf_reasoning_format_for(s->m) == LF_REASONING_THINK)
        a.split = lf_reasoning_new(s->m, LF_REASONING_THINK, s->prompt_opens, &err);
    if (!smp || (!detok && !hp) || (s->stop_text && !s->harmony && !sm) ||
        (detok && lf_reasoning_format_for(s->m) == LF_REASONING_THINK && !a.split)) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        rc = CHAT_ERROR;
        goto done;
    }
    for (int i = 0; i < s->n_cache; i++)
        lf_sampler_accept(smp, s->cache[i]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n_ctx = lf_n_ctx(s->ctx);
    for (int i = 0; s->n_predict < 0 || i < s->n_predict; i++) {
        if (s->stop && *s->stop) {
            rc = CHAT_INTERRUPTED;
            break;
        }
        int32_t tok = lf_sampler_sample(smp, lf_get_logits_ith(s->ctx, -1));
        if (i == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            s->last.ttft = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
        }
        if (tok == LF_SAMPLE_NONFINITE) {
            fprintf(stderr, "\nllamafile: the model produced non-finite logits\n");
            rc = CHAT_ERROR;
            break;
        }
        if (tok == LF_SAMPLE_NONE || is_stop(s, tok)) /* NONE: the grammar is complete */
            break;
        lf_sampler_accept(smp, tok);
        s->last.n_gen++;
        if (hp) {
            lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
            int k = lf_harmony_parser_push(hp, tok, ev, &err);
            if (k > 0)
                harmony_events(&a, ev, k);
        } else {
            const char *text;
            int64_t k = lf_detok_push(detok, tok, &text, &err);
            if (k < 0 || !put_text(&a, sm, text, (size_t)k)) {
                rc = CHAT_ERROR;
                break;
            }
            if (sm && lf_stop_matcher_found(sm) >= 0)
                break;
        }
        if (s->n_cache >= n_ctx) {
            if (!s->quiet)
                fprintf(stderr, "\nllamafile: the context is full (%d tokens): answer cut; the "
                        "oldest exchanges make room next turn\n", n_ctx);
            break;
        }
        int32_t pos = s->n_cache, seq = 0;
        int8_t one = 1;
        lf_batch b = {1, &tok, &pos, &seq, &one};
        if (!lf_decode(s->ctx, &b, &err)) {
            fprintf(stderr, "\nllamafile: %s\n", err.msg);
            rc = CHAT_ERROR;
            break;
        }
        s->cache[s->n_cache++] = tok;
    }
    if (hp) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        int k = lf_harmony_parser_eos(hp, ev, &err);
        if (k > 0)
            harmony_events(&a, ev, k);
    } else if (rc != CHAT_ERROR) {
        const char *text;
        int64_t k = lf_detok_flush(detok, &text);
        put_text(&a, sm, text, (size_t)k);
        if (sm && (k = lf_stop_matcher_flush(sm, &text)) > 0)
            put_text(&a, NULL, text, (size_t)k);
        if (a.split)
            lf_reasoning_finish(a.split, split_emit, &a, &err);
    }
    if (a.text[0].oom || a.text[1].oom) {
        fprintf(stderr, "llamafile: out of memory\n");
        rc = CHAT_ERROR;
    }
done:
    *content = take(&a.text[CHAT_CONTENT]);
    *reasoning = a.text[CHAT_REASONING].p;
    lf_sampler_free(smp);
    lf_detok_free(detok);
    lf_harmony_parser_free(hp);
    lf_stop_matcher_free(sm);
    lf_reasoning_free(a.split);
    return rc;
}
