/* chat_template.c — which template a model's chat uses (its
 * tokenizer.chat_template, a named variant, or our ChatML fallback), parsed
 * once and cached on the model, with the bos_token / eos_token it gets. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"
#include "text/chat.h"
#include "text/jinja/jinja.h"

struct lf_chat_template {
    lf_jinja *jinja;
    char *bos, *eos;
    char *origin;
    bool fallback;
};

/* Plain ChatML: roles and text only (list content keeps its text parts);
 * tool calls and tools are not shown, as no format for them is known. */
static const char k_fallback[] =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message.role + '\\n' -}}\n"
    "{%- if message.content is string -%}\n"
    "{{- message.content -}}\n"
    "{%- elif message.content is iterable -%}\n"
    "{%- for part in message.content -%}\n"
    "{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

const char *lf_chat_fallback_template(void) { return k_fallback; }

static char *dup_or_empty(const char *s, size_t n) {
    char *d = lf_malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static lf_chat_template *make(const char *text, size_t len, const char *bos, size_t bos_len,
                              const char *eos, size_t eos_len, const char *origin,
                              lf_error *err) {
    lf_chat_template *t = lf_calloc(1, sizeof *t);
    if (!t || !(t->bos = dup_or_empty(bos, bos_len)) || !(t->eos = dup_or_empty(eos, eos_len)) ||
        !(t->origin = dup_or_empty(origin, strlen(origin)))) {
        lf_chat_template_free(t);
        lf_fail(err, "out of memory");
        return NULL;
    }
    lf_error e;
    if (!(t->jinja = lf_jinja_parse(text, len, &e))) {
        lf_fail(err, "%s: %s", origin, e.msg);
        lf_chat_template_free(t);
        return NULL;
    }
    return t;
}

lf_chat_template *lf_chat_template_new(const char *text, size_t len, const char *bos_token,
                                       const char *eos_token, lf_error *err) {
    return make(text, len, bos_token ? bos_token : "", bos_token ? strlen(bos_token) : 0,
                eos_token ? eos_token : "", eos_token ? strlen(eos_token) : 0, "template",
                err);
}

void lf_chat_template_free(lf_chat_template *t) {
    if (!t)
        return;
    lf_jinja_free(t->jinja);
    free(t->bos);
    free(t->eos);
    free(t->origin);
    free(t);
}

bool lf_chat_template_is_fallback(const lf_chat_template *t) { return t->fallback; }
const char *lf_chat_template_origin(const lf_chat_template *t) { return t->origin; }
const char *lf_chat_template_bos(const lf_chat_template *t) { return t->bos; }
const char *lf_chat_template_eos(const lf_chat_template *t) { return t->eos; }

/* ------------------------------------------------------- the model's cache */

typedef struct entry {
    char *name; /* "" for the default */
    lf_chat_template *t;
} entry;

struct lf_chat_cache {
    pthread_mutex_t mu;
    entry *v;
    size_t n;
};

void lf_chat_cache_free(lf_chat_cache *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        lf_chat_template_free(c->v[i].t);
    }
    free(c->v);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static lf_chat_cache *cache_of(const lf_model *m, lf_error *err) {
    lf_chat_cache **slot = &((lf_model *)m)->chat;
    lf_chat_cache *c = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (c)
        return c;
    if (!(c = lf_calloc(1, sizeof *c))) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    lf_chat_cache *seen = NULL;
    if (!__atomic_compare_exchange_n(slot, &seen, c, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        lf_chat_cache_free(c);
        c = seen;
    }
    return c;
}

/* The text of a special token as HF passes it ("" when there is none). */
static char *token_text(const lf_model *m, int32_t id, size_t *len) {
    *len = 0;
    if (id < 0)
        return dup_or_empty("", 0);
    int64_t n = lf_token_to_piece(m, id, NULL, 0, true);
    if (n < 0)
        n = -n;
    char *s = lf_malloc((size_t)n + 1);
    if (!s)
        return NULL;
    int64_t got = lf_token_to_piece(m, id, s, (size_t)n + 1, true);
    if (got < 0)
        got = 0;
    s[got] = 0;
    *len = (size_t)got;
    return s;
}

static bool gguf_text(const lf_model *m, const char *key, lf_str *out) {
    return lf_gguf_get_str(lf_model_gguf(m), key, out) && out->len > 0;
}

static lf_chat_template *load(const lf_model *m, const char *name, lf_error *err) {
    char key[256];
    lf_str text;
    bool fallback = false;
    if (name && *name) {
        snprintf(key, sizeof key, "tokenizer.chat_template.%s", name);
        if (!gguf_text(m, key, &text)) {
            lf_fail(err, "the model has no chat template named '%s' (no %s)", name, key);
            return NULL;
        }
    } else {
        snprintf(key, sizeof key, "tokenizer.chat_template");
        if (!gguf_text(m, key, &text)) {
            snprintf(key, sizeof key, "tokenizer.chat_template.tool_use");
            if (!gguf_text(m, key, &text)) {
                snprintf(key, sizeof key, "fallback (ChatML)");
                text.ptr = k_fallback;
                text.len = sizeof k_fallback - 1;
                fallback = true;
            }
        }
    }
    size_t bos_len, eos_len;
    char *bos = token_text(m, lf_token_bos(m), &bos_len);
    char *eos = token_text(m, lf_token_eos(m), &eos_len);
    lf_chat_template *t = NULL;
    if (!bos || !eos)
        lf_fail(err, "out of memory");
    else
        t = make(text.ptr, (size_t)text.len, bos, bos_len, eos, eos_len, key, err);
    free(bos);
    free(eos);
    if (t)
        t->fallback = fallback;
    return t;
}

const lf_chat_template *lf_chat_template_from_model(const lf_model *m, const char *name,
                                                    lf_error *err) {
    lf_chat_cache *c = cache_of(m, err);
    if (!c)
        return NULL;
    if (!name)
        name = "";
    pthread_mutex_lock(&c->mu);
    lf_chat_template *t = NULL;
    for (size_t i = 0; i < c->n && !t; i++)
        if (!strcmp(c->v[i].name, name))
            t = c->v[i].t;
    if (!t && (t = load(m, name, err))) {
        entry *v = lf_realloc(c->v, (c->n + 1) * sizeof *v);
        char *key = dup_or_empty(name, strlen(name));
        if (!v || !key) {
            if (v)
                c->v = v;
            free(key);
            lf_chat_template_free(t);
            t = NULL;
            lf_fail(err, "out of memory");
        } else {
            c->v = v;
            c->v[c->n++] = (entry){key, t};
        }
    }
    pthread_mutex_unlock(&c->mu);
    return t;
}

const lf_chat_template *lf_chat_template_for_request(const lf_model *m, bool has_tools,
                                                     lf_error *err) {
    lf_str text;
    if (has_tools && gguf_text(m, "tokenizer.chat_template.tool_use", &text))
        return lf_chat_template_from_model(m, "tool_use", err);
    return lf_chat_template_from_model(m, NULL, err);
}

const lf_jinja *lf_chat_template_jinja(const lf_chat_template *t) { return t->jinja; }
