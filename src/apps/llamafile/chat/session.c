/* session.c — the conversation engine: the messages, their rendering by the
 * model's chat template (harmony for gpt-oss), and the KV cache kept in
 * step with the rendered prompt, so a turn decodes only what is new. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool stop_requested(void *user) {
    volatile sig_atomic_t *stop = user;
    return stop && *stop;
}

bool chat_session_init(chat_session *s, lf_model *m, lf_context *ctx, lf_error *err) {
    memset(s, 0, sizeof(*s));
    s->m = m;
    s->ctx = ctx;
    s->n_predict = -1;
    s->think = -1;
    s->sp = lf_sampler_default_params();
    s->harmony = lf_chat_is_harmony(m);
    if (s->harmony && !(s->h = lf_harmony_new(m, err)))
        return false;
    s->cap_cache = lf_n_ctx(ctx) + 1;
    s->cache = malloc(sizeof(int32_t) * (size_t)s->cap_cache);
    if (!s->cache) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    /* A ChatML turn end the vocabulary does not have as a token (the
     * fallback template on a model without a template) is a stop string. */
    if (!s->harmony) {
        int32_t t[4];
        if (lf_tokenize(m, "<|im_end|>", 10, t, 4, false, true) != 1 || !lf_token_is_eog(m, t[0]))
            s->stop_text = "<|im_end|>";
    }
    return true;
}

static void msg_free(chat_msg *g) {
    free(g->role);
    free(g->content);
    free(g->reasoning);
}

void chat_session_free(chat_session *s) {
    chat_truncate(s, 0);
    free(s->msgs);
    free(s->cache);
    lf_harmony_free(s->h);
}

/* Length of the valid UTF-8 character at p (at most n bytes), or 0. */
static size_t utf8_char(const unsigned char *p, size_t n) {
    size_t k = p[0] < 0x80 ? 1 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : p[0] >= 0xe0 && p[0] < 0xf0 ? 3
             : p[0] >= 0xf0 && p[0] < 0xf5 ? 4 : 0;
    if (k == 0 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((k == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (k == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (k == 4 && p[0] == 0xf0 && p[1] < 0x90) || (k == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return k;
}

/* A copy of text where each byte that is not part of valid UTF-8 is
 * U+FFFD (a model may write anything; messages must be UTF-8). */
static char *utf8_dup(const char *text) {
    size_t n = strlen(text);
    char *out = malloc(n * 3 + 1), *o = out;
    for (size_t i = 0; out && i < n;) {
        size_t k = utf8_char((const unsigned char *)text + i, n - i);
        if (k) {
            memcpy(o, text + i, k);
            o += k, i += k;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3, i++;
        }
    }
    if (out)
        *o = 0;
    return out;
}

bool chat_add(chat_session *s, const char *role, const char *content, const char *reasoning) {
    if (s->n_msgs == s->cap_msgs) {
        int cap = s->cap_msgs ? s->cap_msgs * 2 : 16;
        chat_msg *g = realloc(s->msgs, sizeof(*g) * (size_t)cap);
        if (!g)
            return false;
        s->msgs = g;
        s->cap_msgs = cap;
    }
    chat_msg g = {strdup(role), utf8_dup(content ? content : ""),
                  reasoning && *reasoning ? utf8_dup(reasoning) : NULL};
    if (!g.role || !g.content || (reasoning && *reasoning && !g.reasoning)) {
        msg_free(&g);
        return false;
    }
    s->msgs[s->n_msgs++] = g;
    return true;
}

void chat_truncate(chat_session *s, int i) {
    while (s->n_msgs > i)
        msg_free(&s->msgs[--s->n_msgs]);
}

int chat_system_index(const chat_session *s) {
    return s->n_msgs > 0 && !strcmp(s->msgs[0].role, "system") ? 0 : -1;
}

bool chat_set_system(chat_session *s, const char *text) {
    char *t = strdup(text);
    if (!t)
        return false;
    if (chat_system_index(s) == 0) {
        free(s->msgs[0].content);
        s->msgs[0].content = t;
        return true;
    }
    if (!chat_add(s, "system", t, NULL)) {
        free(t);
        return false;
    }
    chat_msg g = s->msgs[s->n_msgs - 1];
    memmove(s->msgs + 1, s->msgs, sizeof(*s->msgs) * (size_t)(s->n_msgs - 1));
    s->msgs[0] = g;
    free(t);
    return true;
}

static lf_chat_messages *build(const chat_session *s, lf_error *err) {
    lf_chat_messages *ms = lf_chat_messages_new(err);
    for (int i = 0; ms && i < s->n_msgs; i++) {
        lf_chat_message msg = {.role = s->msgs[i].role, .content = s->msgs[i].content,
                               .reasoning_content = s->msgs[i].reasoning};
        if (!lf_chat_messages_add(ms, &msg, err)) {
            lf_chat_messages_free(ms);
            ms = NULL;
        }
    }
    return ms;
}

char *chat_render(chat_session *s, bool gen, size_t *len, lf_error *err) {
    lf_chat_messages *ms = build(s, err);
    if (!ms)
        return NULL;
    lf_chat_params p = {.add_generation_prompt = gen};
    if ((s->reasoning == CHAT_REASONING_OFF && s->think < 0) || s->think == 0)
        p.kwargs = "{\"enable_thinking\": false}";
    else if (s->think == 1)
        p.kwargs = "{\"enable_thinking\": true}";
    char *text = lf_chat_apply_model(s->m, ms, &p, len, NULL, NULL, err);
    lf_chat_messages_free(ms);
    return text;
}

int32_t *chat_tokenize(chat_session *s, const char *text, size_t len, int *n) {
    int32_t *toks;
    int64_t k = lf_tokenize_alloc(s->m, text, len, &toks, false, true);
    if (k < 0)
        return NULL;
    int32_t bos = lf_token_bos(s->m);
    if (lf_add_bos(s->m) && bos >= 0 && (k == 0 || toks[0] != bos)) {
        memmove(toks + 1, toks, sizeof(int32_t) * (size_t)k);
        toks[0] = bos;
        k++;
    }
    *n = (int)k;
    return toks;
}

char *chat_to_json(const chat_session *s, size_t *len, lf_error *err) {
    lf_chat_messages *ms = build(s, err);
    char *json = ms ? lf_chat_messages_to_json(ms, len, err) : NULL;
    lf_chat_messages_free(ms);
    return json;
}

bool chat_from_json(chat_session *s, const char *json, size_t len, lf_error *err) {
    lf_chat_messages *ms = lf_chat_messages_from_json(json, len, err);
    if (!ms)
        return false;
    chat_truncate(s, 0);
    bool ok = true;
    for (size_t i = 0; ok && i < lf_chat_messages_count(ms); i++) {
        const lf_chat_message *g = lf_chat_messages_at(ms, i);
        const char *content = g->content;
        if (!content && g->n_parts > 0 && g->parts[0].text) /* the first text part */
            content = g->parts[0].text;
        ok = chat_add(s, g->role, content, g->reasoning_content);
    }
    lf_chat_messages_free(ms);
    if (!ok)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    return ok;
}

/* The first exchange after the system prompt: [i, j) to drop, or false
 * when only the last user turn is left. */
static bool oldest_exchange(const chat_session *s, int *i, int *j) {
    int last_user = -1;
    for (int k = s->n_msgs - 1; k >= 0 && last_user < 0; k--)
        if (!strcmp(s->msgs[k].role, "user"))
            last_user = k;
    *i = chat_system_index(s) + 1;
    if (last_user <= *i)
        return false;
    *j = *i + 1;
    while (*j < last_user && strcmp(s->msgs[*j].role, "user"))
        (*j)++;
    return true;
}

/* The prompt for the answer, rendered and tokenized, after dropping the
 * oldest exchanges while it leaves too little room to answer. */
static int32_t *fit_prompt(chat_session *s, int *n, int *result) {
    int n_ctx = lf_n_ctx(s->ctx);
    int reserve = s->n_predict > 0 ? s->n_predict : n_ctx / 4;
    if (reserve > n_ctx / 2)
        reserve = n_ctx / 2;
    for (;;) {
        lf_error err;
        size_t len;
        char *text = chat_render(s, true, &len, &err);
        if (!text) { /* e.g. the template's raise_exception: take the turn back */
            fprintf(stderr, "llamafile: chat template: %s\n", err.msg);
            chat_truncate(s, s->n_msgs - 1);
            *result = CHAT_REFUSED;
            return NULL;
        }
        int32_t *toks = chat_tokenize(s, text, len, n);
        s->prompt_opens = lf_reasoning_prompt_opens(text, len);
        free(text);
        if (!toks) {
            fprintf(stderr, "llamafile: out of memory tokenizing the prompt\n");
            *result = CHAT_ERROR;
            return NULL;
        }
        if (*n + reserve <= n_ctx)
            return toks;
        int i, j;
        if (oldest_exchange(s, &i, &j)) {
            free(toks);
            for (int k = i; k < j; k++)
                free(s->msgs[k].role), free(s->msgs[k].content), free(s->msgs[k].reasoning);
            memmove(s->msgs + i, s->msgs + j, sizeof(*s->msgs) * (size_t)(s->n_msgs - j));
            s->n_msgs -= j - i;
            s->last.n_dropped++;
            continue;
        }
        if (*n < n_ctx)
            return toks;
        fprintf(stderr, "llamafile: this turn is %d tokens (with the system prompt and the "
                "template) but the context holds %d; not sent (shorten it or raise -c)\n",
                *n, n_ctx);
        free(toks);
        chat_truncate(s, s->n_msgs - 1);
        *result = CHAT_REFUSED;
        return NULL;
    }
}

/* Makes the KV cache hold toks[0..n-1]: keeps the common prefix with what
 * it holds, decodes the rest (at least the last token, for its logits). */
static int sync_cache(chat_session *s, const int32_t *toks, int n) {
    int common = 0;
    while (common < s->n_cache && common < n && s->cache[common] == toks[common])
        common++;
    if (common >= n)
        common = n - 1;
    if (common < s->n_cache && lf_kv_remove(s->ctx, 0, common, -1) == LF_KV_DROPPED)
        common = 0; /* a sliding window or a recurrent state: decode it all again */
    s->n_cache = common;
    int k = n - common;
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)k), *seq = calloc((size_t)k, sizeof(int32_t));
    int8_t *want = calloc((size_t)k, 1);
    int rc = CHAT_OK;
    if (!pos || !seq || !want) {
        fprintf(stderr, "llamafile: out of memory\n");
        rc = CHAT_ERROR;
    } else {
        for (int i = 0; i < k; i++)
            pos[i] = common + i;
        want[k - 1] = 1;
        lf_batch b = {k, toks + common, pos, seq, want};
        lf_error err;
        lf_set_abort_callback(s->ctx, stop_requested, (void *)s->stop);
        if (lf_decode(s->ctx, &b, &err)) {
            memcpy(s->cache + common, toks + common, sizeof(int32_t) * (size_t)k);
            s->n_cache = n;
        } else if (s->stop && *s->stop) {
            rc = CHAT_INTERRUPTED;
        } else {
            fprintf(stderr, "llamafile: %s\n", err.msg);
            rc = CHAT_ERROR;
        }
        lf_set_abort_callback(s->ctx, NULL, NULL);
    }
    s->last.n_decoded = k;
    s->last.n_reused = common;
    free(pos);
    free(seq);
    free(want);
    return rc;
}

int chat_respond(chat_session *s) {
    double t0 = now();
    memset(&s->last, 0, sizeof s->last);
    s->last.turn = ++s->turns;
    int n, rc = CHAT_OK;
    int32_t *toks = fit_prompt(s, &n, &rc);
    if (!toks)
        return rc;
    if (s->last.n_dropped && !s->quiet) {
        char what[48] = "the oldest exchange";
        if (s->last.n_dropped > 1)
            snprintf(what, sizeof what, "the %d oldest exchanges", s->last.n_dropped);
        fprintf(stderr, "llamafile: the context is full: dropped %s (the prompt is now %d of "
                "%d tokens)\n", what, n, lf_n_ctx(s->ctx));
    }
    s->last.n_prompt = n;
    rc = sync_cache(s, toks, n);
    free(toks);
    s->last.t_prompt = now() - t0;
    if (rc == CHAT_INTERRUPTED) {
        chat_truncate(s, s->n_msgs - 1); /* nothing was said: take the question back */
        return rc;
    }
    if (rc != CHAT_OK)
        return rc;
    char *content = NULL, *reasoning = NULL;
    double t1 = now();
    rc = chat_generate(s, &content, &reasoning);
    s->last.t_gen = now() - t1;
    s->last.ttft += t1 - t0;
    if (content && !chat_add(s, "assistant", content, reasoning)) {
        fprintf(stderr, "llamafile: out of memory\n");
        rc = CHAT_ERROR;
    }
    free(content);
    free(reasoning);
    return rc;
}
