/* model_api.c — the public model API: load a GGUF (file or byte range),
 * pick its architecture, load its vocabulary and bind its weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"
#include "sample/grammar.h"
#include "text/chat.h"
#include "text/vocab.h"

static lf_model *finish_load(lf_gguf *g, const char *name, bool vocab_only, lf_error *err) {
    if (!g)
        return NULL;
    lf_model *m = lf_calloc(1, sizeof(*m));
    if (!m) {
        lf_gguf_close(g);
        lf_fail(err, "out of memory");
        return NULL;
    }
    m->gguf = g;
    lf_str arch;
    if (!lf_gguf_get_str(g, "general.architecture", &arch)) {
        lf_fail(err, "%s: metadata key 'general.architecture' is missing", name);
        goto fail;
    }
    snprintf(m->arch_name, sizeof m->arch_name, "%.*s",
             (int)(arch.len < 63 ? arch.len : 63), arch.ptr);
    lf_error e2;
    if (vocab_only) {
        if (!(m->vocab = lf_vocab_load(g, &e2))) {
            lf_fail(err, "%s: %s", name, e2.msg);
            goto fail;
        }
        m->hp.n_vocab = lf_vocab_n_tokens(m->vocab);
        return m;
    }
    if (!(m->arch = lf_arch_find(m->arch_name))) {
        lf_fail(err, "%s: architecture %s is not supported (supported: %s)", name, m->arch_name,
                lf_supported_archs());
        goto fail;
    }
    const lf_gguf_tensor *embd = lf_gguf_find_tensor(g, "token_embd.weight");
    if (!embd) {
        lf_fail(err, "%s: tensor 'token_embd.weight' is missing", name);
        goto fail;
    }
    m->hp.n_vocab = embd->ne[1];
    if (!(m->vocab = lf_vocab_load(g, &e2))) {
        lf_fail(err, "%s: %s", name, e2.msg);
        goto fail;
    }
    if (lf_vocab_n_tokens(m->vocab) > m->hp.n_vocab) {
        lf_fail(err, "%s: the vocabulary has %d tokens but token_embd.weight only %lld rows", name,
                lf_vocab_n_tokens(m->vocab), (long long)m->hp.n_vocab);
        goto fail;
    }
    if (!m->arch->load(m, &e2) || !lf_model_pack(m, &e2)) {
        lf_fail(err, "%s: %s", name, e2.msg);
        goto fail;
    }
    return m;
fail:
    lf_model_free(m);
    return NULL;
}

lf_model *lf_model_load(const char *path, lf_error *err) {
    return finish_load(lf_gguf_open(path, err), path, false, err);
}

lf_model *lf_model_load_fd(int fd, uint64_t offset, uint64_t size, const char *name,
                           lf_error *err) {
    return finish_load(lf_gguf_open_range(fd, offset, size, name, err), name, false, err);
}

void lf_model_free(lf_model *m) {
    if (!m)
        return;
    if (m->arch && m->arch->free_weights)
        m->arch->free_weights(m);
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    lf_chat_cache_free(m->chat);
    lf_gvocab_free(m->gvocab);
    lf_model_pack_free(m);
    lf_vocab_free(m->vocab);
    lf_gguf_close(m->gguf);
    free(m);
}

const char *lf_model_arch(const lf_model *m) { return m->arch_name; }
int32_t lf_model_n_vocab(const lf_model *m) { return (int32_t)m->hp.n_vocab; }
int32_t lf_model_n_ctx_train(const lf_model *m) { return (int32_t)m->hp.n_ctx_train; }
int32_t lf_model_n_embd(const lf_model *m) { return (int32_t)m->hp.n_embd; }
int32_t lf_model_n_layer(const lf_model *m) { return (int32_t)m->hp.n_layer; }
const lf_gguf *lf_model_gguf(const lf_model *m) { return m->gguf; }
void lf_model_held(const lf_model *m, int *n_held, uint64_t *bytes, int *n_packed, double *ms) {
    *n_held = m->n_held;
    *bytes = m->held_bytes;
    *n_packed = m->n_packed;
    *ms = lf_model_pack_settled(m) ? m->pack_ms : -1;
}

uint64_t lf_model_n_params(const lf_model *m) {
    uint64_t n = 0;
    for (int64_t i = 0; i < lf_gguf_tensor_count(m->gguf); i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(m->gguf, i);
        n += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    }
    return n;
}

uint64_t lf_model_size(const lf_model *m) {
    uint64_t n = 0;
    for (int64_t i = 0; i < lf_gguf_tensor_count(m->gguf); i++)
        n += lf_gguf_tensor_at(m->gguf, i)->nbytes;
    return n;
}

static lf_model *load_spec(const char *spec, bool vocab_only, lf_error *err) {
    lf_model_source src;
    int found = lf_model_locate(spec, &src, err);
    if (found == 0)
        lf_fail(err, "no model given and none inside this executable");
    if (found <= 0)
        return NULL;
    lf_gguf *g = src.fd >= 0 ? lf_gguf_open_range(src.fd, src.offset, src.size, src.name, err)
                             : lf_gguf_open(src.path, err);
    lf_model *m = finish_load(g, src.name, vocab_only, err);
    lf_model_source_free(&src);
    return m;
}

lf_model *lf_model_load_any(const char *spec, lf_error *err) {
    return load_spec(spec, false, err);
}

lf_model *lf_model_load_vocab(const char *spec, lf_error *err) {
    return load_spec(spec, true, err);
}

bool lf_model_has_weights(const lf_model *m) { return m->arch != NULL; }
