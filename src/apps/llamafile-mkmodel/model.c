/* model.c — building a model description: tensors and metadata. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

void mk_add(mk_model *m, bool f32, float mean, float std, int64_t ne0, int64_t ne1,
            int64_t ne2, const char *fmt, ...) {
    if (m->oom)
        return;
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 256;
        mk_tensor *t = realloc(m->t, sizeof *t * (size_t)cap);
        if (!t) {
            m->oom = true;
            return;
        }
        m->t = t;
        m->cap = cap;
    }
    mk_tensor *t = &m->t[m->n++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->n_dims = ne2 ? 3 : ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->ne[2] = ne2 ? ne2 : 1;
    t->type = f32 || t->n_dims == 1 ? LF_TYPE_F32 : LF_TYPE_F16;
    t->mean = mean;
    t->std = std;
}

void mk_uniform(mk_model *m, float lo, float hi) {
    if (m->n && !m->oom) {
        m->t[m->n - 1].lo = lo;
        m->t[m->n - 1].hi = hi;
    }
}

static void arch_key(const mk_model *m, const char *key, char *buf, size_t n) {
    snprintf(buf, n, "%s.%s", m->arch, key);
}

bool mk_u32(mk_model *m, const char *key, uint32_t v, lf_error *err) {
    char k[128];
    arch_key(m, key, k, sizeof k);
    return lf_gguf_set_u32(m->w, k, v, err);
}

bool mk_f32(mk_model *m, const char *key, float v, lf_error *err) {
    char k[128];
    arch_key(m, key, k, sizeof k);
    return lf_gguf_set_f32(m->w, k, v, err);
}

bool mk_bool(mk_model *m, const char *key, bool v, lf_error *err) {
    char k[128];
    arch_key(m, key, k, sizeof k);
    return lf_gguf_set_scalar(m->w, k, LF_GGUF_BOOL, &v, err);
}

bool mk_str(mk_model *m, const char *key, const char *v, lf_error *err) {
    char k[128];
    arch_key(m, key, k, sizeof k);
    return lf_gguf_set_str(m->w, k, v, err);
}

bool mk_common(mk_model *m, const char *name, int n_ctx, int n_embd, int n_layer, int n_head,
               float eps, lf_error *err) {
    char desc[128];
    snprintf(desc, sizeof desc, "%s (random weights)", name);
    return lf_gguf_set_str(m->w, "general.architecture", m->arch, err) &&
           lf_gguf_set_str(m->w, "general.name", desc, err) &&
           mk_u32(m, "context_length", (uint32_t)n_ctx, err) &&
           mk_u32(m, "embedding_length", (uint32_t)n_embd, err) &&
           mk_u32(m, "block_count", (uint32_t)n_layer, err) &&
           mk_u32(m, "attention.head_count", (uint32_t)n_head, err) &&
           mk_f32(m, "attention.layer_norm_rms_epsilon", eps, err);
}

bool mk_fail(lf_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return false;
}
