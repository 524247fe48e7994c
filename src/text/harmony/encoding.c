/* encoding.c — harmony's special tokens, looked up in the model's own
 * vocabulary (no download), and text <-> tokens through the public
 * tokenizer, with special tokens inserted by id only. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"
#include "text/harmony/harmony.h"
#include "text/vocab.h"

static const char *const special_text[LF_HARMONY_N_SPECIAL] = {
    [LF_HARMONY_START] = "<|start|>",
    [LF_HARMONY_END] = "<|end|>",
    [LF_HARMONY_MESSAGE] = "<|message|>",
    [LF_HARMONY_CHANNEL] = "<|channel|>",
    [LF_HARMONY_CONSTRAIN] = "<|constrain|>",
    [LF_HARMONY_RETURN] = "<|return|>",
    [LF_HARMONY_CALL] = "<|call|>",
    [LF_HARMONY_STARTOFTEXT] = "<|startoftext|>",
    [LF_HARMONY_ENDOFTEXT] = "<|endoftext|>",
};

const char *lf_harmony_special_text(enum lf_harmony_special which) {
    if ((unsigned)which >= LF_HARMONY_N_SPECIAL)
        return NULL;
    return special_text[which];
}

/* Any token that is not ordinary text: control (<|return|>), user-defined
 * (llama.cpp's converter makes <|start|> etc. visible that way), unused
 * (<|reserved_N|>, padding). */
static bool is_special_attr(const lf_vocab *v, int32_t id) {
    uint32_t a = lf_vocab_token_attr(v, id);
    return a != 0 && !(a & (LF_TOKEN_ATTR_NORMAL | LF_TOKEN_ATTR_BYTE));
}

/* The id of a special token's exact text in the vocabulary, or -1. */
static int32_t find_special(const lf_vocab *v, const char *text) {
    int32_t id = lf_vocab_find(v, text, strlen(text));
    if (id < 0 || !is_special_attr(v, id))
        return -1;
    return id;
}

lf_harmony *lf_harmony_new(const lf_model *m, lf_error *err) {
    if (!m) {
        lf_fail(err, "harmony: no model");
        return NULL;
    }
    const lf_vocab *v = m->vocab;
    int32_t nv = v ? lf_vocab_n_tokens(v) : 0;
    if (nv <= 0) {
        lf_fail(err, "harmony: the model has no vocabulary");
        return NULL;
    }
    lf_harmony *h = lf_calloc(1, sizeof *h);
    if (!h) {
        lf_fail(err, "harmony: out of memory");
        return NULL;
    }
    h->model = m;
    h->n_vocab = nv;
    for (int i = 0; i < LF_HARMONY_N_SPECIAL; i++) {
        h->ids[i] = find_special(v, special_text[i]);
        bool optional = i == LF_HARMONY_STARTOFTEXT || i == LF_HARMONY_ENDOFTEXT;
        if (h->ids[i] < 0 && !optional) {
            lf_fail(err, "not a harmony model: the vocabulary has no special token %s",
                    special_text[i]);
            lf_harmony_free(h);
            return NULL;
        }
    }
    h->special = lf_calloc((size_t)nv, 1);
    if (!h->special) {
        lf_fail(err, "harmony: out of memory");
        lf_harmony_free(h);
        return NULL;
    }
    for (int32_t id = 0; id < nv; id++)
        h->special[id] = is_special_attr(v, id);
    return h;
}

void lf_harmony_free(lf_harmony *h) {
    if (!h)
        return;
    free(h->special);
    free(h);
}

const lf_model *lf_harmony_model(const lf_harmony *h) { return h->model; }

int32_t lf_harmony_token(const lf_harmony *h, enum lf_harmony_special which) {
    if ((unsigned)which >= LF_HARMONY_N_SPECIAL)
        return -1;
    return h->ids[which];
}

int32_t lf_harmony_start(const lf_harmony *h) { return h->ids[LF_HARMONY_START]; }
int32_t lf_harmony_end(const lf_harmony *h) { return h->ids[LF_HARMONY_END]; }
int32_t lf_harmony_message(const lf_harmony *h) { return h->ids[LF_HARMONY_MESSAGE]; }
int32_t lf_harmony_channel(const lf_harmony *h) { return h->ids[LF_HARMONY_CHANNEL]; }
int32_t lf_harmony_constrain(const lf_harmony *h) { return h->ids[LF_HARMONY_CONSTRAIN]; }
int32_t lf_harmony_return(const lf_harmony *h) { return h->ids[LF_HARMONY_RETURN]; }
int32_t lf_harmony_call(const lf_harmony *h) { return h->ids[LF_HARMONY_CALL]; }

int lf_harmony_stop_tokens(const lf_harmony *h, int32_t out[3]) {
    out[0] = h->ids[LF_HARMONY_RETURN];
    out[1] = h->ids[LF_HARMONY_CALL];
    out[2] = h->ids[LF_HARMONY_END];
    return 3;
}

int lf_harmony_stop_tokens_for_assistant_actions(const lf_harmony *h, int32_t out[2]) {
    out[0] = h->ids[LF_HARMONY_RETURN];
    out[1] = h->ids[LF_HARMONY_CALL];
    return 2;
}

bool lf_harmony_is_stop_token(const lf_harmony *h, int32_t token) {
    return token >= 0 && (token == h->ids[LF_HARMONY_RETURN] || token == h->ids[LF_HARMONY_CALL] ||
                          token == h->ids[LF_HARMONY_END]);
}

bool lf_harmony_is_special(const lf_harmony *h, int32_t token) {
    return token >= 0 && token < h->n_vocab && h->special[token];
}

void lf_harmony_tokens_free(lf_harmony_tokens *t) {
    if (!t)
        return;
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static bool reserve(lf_harmony_tokens *t, int64_t need, lf_error *err) {
    if (need <= t->cap)
        return true;
    int64_t cap = t->cap ? t->cap : 64;
    while (cap < need)
        cap = cap > INT64_MAX / 4 ? need : cap * 2;
    if ((uint64_t)cap > SIZE_MAX / sizeof(int32_t))
        return lf_fail(err, "harmony: out of memory");
    int32_t *v = lf_realloc(t->v, (size_t)cap * sizeof(int32_t));
    if (!v)
        return lf_fail(err, "harmony: out of memory");
    t->v = v;
    t->cap = cap;
    return true;
}

bool lf_harmony_append_text(const lf_harmony *h, lf_harmony_tokens *t, const char *text,
                            size_t len, lf_error *err) {
    if (len == 0)
        return true;
    if (len > LF_HARMONY_MAX_TEXT)
        return lf_fail(err, "harmony: text of %zu bytes is over the %zu-byte limit", len,
                       LF_HARMONY_MAX_TEXT);
    /* A byte-level BPE gives at most one token per byte; retry if not. */
    int64_t want = (int64_t)len + 1;
    for (int tries = 0; tries < 3; tries++) {
        if (!reserve(t, t->n + want, err))
            return false;
        int64_t n = lf_vocab_tokenize_plain(h->model->vocab, text, len, t->v + t->n, t->cap - t->n);
        if (n == INT64_MIN)
            return lf_fail(err, "harmony: out of memory while tokenizing");
        if (n >= 0) {
            t->n += n;
            return true;
        }
        want = -n;
    }
    return lf_fail(err, "harmony: the tokenizer's count changed between calls");
}

bool lf_harmony_append_special(const lf_harmony *h, lf_harmony_tokens *t,
                               enum lf_harmony_special which, lf_error *err) {
    int32_t id = lf_harmony_token(h, which);
    if (id < 0)
        return lf_fail(err, "harmony: the vocabulary has no %s",
                       lf_harmony_special_text(which) ? lf_harmony_special_text(which) : "such token");
    if (!reserve(t, t->n + 1, err))
        return false;
    t->v[t->n++] = id;
    return true;
}

char *lf_harmony_decode(const lf_harmony *h, const int32_t *tokens, int64_t n, size_t *len,
                        lf_error *err) {
    lf_hstr s = {0};
    char buf[256];
    for (int64_t i = 0; i < n; i++) {
        int32_t id = tokens[i];
        if (id < 0 || id >= h->n_vocab) {
            lf_hstr_free(&s);
            lf_fail(err, "harmony: token id %d is outside the vocabulary (0..%d)", (int)id,
                    (int)h->n_vocab - 1);
            return NULL;
        }
        int64_t k = lf_token_to_piece(h->model, id, buf, sizeof buf, true);
        if (k < 0) {
            char *big = lf_malloc((size_t)-k);
            if (!big) {
                lf_hstr_free(&s);
                lf_fail(err, "harmony: out of memory");
                return NULL;
            }
            k = lf_token_to_piece(h->model, id, big, (size_t)-k, true);
            lf_hstr_append(&s, big, k > 0 ? (size_t)k : 0);
            free(big);
        } else {
            lf_hstr_append(&s, buf, (size_t)k);
        }
    }
    if (!lf_hstr_append(&s, "", 0)) {
        lf_hstr_free(&s);
        lf_fail(err, "harmony: decoded text too large or out of memory");
        return NULL;
    }
    if (len)
        *len = s.n;
    return s.p;
}

bool lf_hstr_append(lf_hstr *s, const char *p, size_t n) {
    if (s->failed)
        return false;
    if (n > LF_HARMONY_MAX_TEXT || s->n > LF_HARMONY_MAX_TEXT - n) {
        s->failed = true;
        return false;
    }
    if (s->n + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->n + n + 1)
            cap *= 2;
        char *q = lf_realloc(s->p, cap);
        if (!q) {
            s->failed = true;
            return false;
        }
        s->p = q;
        s->cap = cap;
    }
    if (n)
        memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = 0;
    return true;
}

bool lf_hstr_puts(lf_hstr *s, const char *p) { return lf_hstr_append(s, p, strlen(p)); }

void lf_hstr_free(lf_hstr *s) {
    free(s->p);
    s->p = NULL;
    s->n = s->cap = 0;
}
