/* model.c — loading a model: architecture lookup, common hparams, binding
 * tensors by name with shape checks. */
#include "model/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "tensor/types.h"

static const struct lf_arch *const k_archs[] = {
    &lf_arch_llama,
    &lf_arch_granitehybrid,
    &lf_arch_qwen3,
    &lf_arch_gemma3,
    &lf_arch_bailingmoe2,
    &lf_arch_gpt_oss,
    &lf_arch_gemma3n,
};

const char *lf_supported_archs(void) {
    static char list[256];
    if (!list[0]) {
        size_t n = 0;
        for (size_t i = 0; i < sizeof k_archs / sizeof *k_archs; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", k_archs[i]->name);
    }
    return list;
}

const struct lf_arch *lf_arch_find(const char *name) {
    for (size_t i = 0; i < sizeof k_archs / sizeof *k_archs; i++)
        if (!strcmp(k_archs[i]->name, name))
            return k_archs[i];
    return NULL;
}

bool lf_arch_supported(const char *name) { return lf_arch_find(name) != NULL; }

static void key_name(char *buf, size_t n, const lf_model *m, const char *suffix) {
    snprintf(buf, n, "%s.%s", m->arch_name, suffix);
}

bool lf_model_int(const lf_model *m, const char *suffix, bool required, int64_t def,
                  int64_t *out, lf_error *err) {
    char key[160];
    key_name(key, sizeof key, m, suffix);
    if (lf_gguf_get_int(m->gguf, key, out))
        return true;
    if (lf_gguf_find_key(m->gguf, key) >= 0)
        return lf_fail(err, "metadata key '%s' is not an integer", key);
    if (required)
        return lf_fail(err, "metadata key '%s' is missing", key);
    *out = def;
    return true;
}

bool lf_model_float(const lf_model *m, const char *suffix, bool required, double def,
                    double *out, lf_error *err) {
    char key[160];
    key_name(key, sizeof key, m, suffix);
    if (lf_gguf_get_float(m->gguf, key, out))
        return true;
    int64_t i;
    if (lf_gguf_get_int(m->gguf, key, &i)) {
        *out = (double)i;
        return true;
    }
    if (lf_gguf_find_key(m->gguf, key) >= 0)
        return lf_fail(err, "metadata key '%s' is not a number", key);
    if (required)
        return lf_fail(err, "metadata key '%s' is missing", key);
    *out = def;
    return true;
}

static bool positive(int64_t v, const char *what, lf_error *err) {
    if (v <= 0 || v > (1 << 24))
        return lf_fail(err, "%s is %lld, which is out of range", what, (long long)v);
    return true;
}

bool lf_model_layer_ints(const lf_model *m, const char *suffix, bool required, int64_t def,
                         int64_t *out, lf_error *err) {
    char key[160];
    key_name(key, sizeof key, m, suffix);
    int64_t ki = lf_gguf_find_key(m->gguf, key), n = m->hp.n_layer;
    lf_gguf_value v = lf_gguf_kv_value(m->gguf, ki);
    if (ki < 0 || v.type != LF_GGUF_ARRAY) {
        int64_t x;
        if (!lf_model_int(m, suffix, required, def, &x, err))
            return false;
        for (int64_t i = 0; i < n; i++)
            out[i] = x;
        return true;
    }
    if (v.arr_n != (uint64_t)n)
        return lf_fail(err, "metadata key '%s' has %llu values for %lld layers", key,
                       (unsigned long long)v.arr_n, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        lf_gguf_value e;
        if (!lf_gguf_arr_get(m->gguf, ki, (uint64_t)i, &e))
            return lf_fail(err, "metadata key '%s': cannot read value %lld", key, (long long)i);
        if (e.type == LF_GGUF_UINT8 || e.type == LF_GGUF_UINT16 || e.type == LF_GGUF_UINT32 ||
            (e.type == LF_GGUF_UINT64 && e.v.u <= INT64_MAX))
            out[i] = (int64_t)e.v.u;
        else if (e.type == LF_GGUF_INT8 || e.type == LF_GGUF_INT16 || e.type == LF_GGUF_INT32 ||
                 e.type == LF_GGUF_INT64)
            out[i] = e.v.i;
        else
            return lf_fail(err, "metadata key '%s' holds a non-integer", key);
    }
    return true;
}

/* Keys such as head_count_kv and feed_forward_length may be given per layer
 * (granitehybrid: head_count_kv 0 marks a recurrent layer; gemma3n: n_ff per
 * layer); the common value is then the largest, and the architecture reads
 * the per-layer values with lf_model_layer_ints. */
static bool layer_max(lf_model *m, const char *suffix, int64_t def, int64_t *out, lf_error *err) {
    *out = def;
    if (m->hp.n_layer <= 0 || m->hp.n_layer > (1 << 24))
        return true; /* block_count is reported as out of range later */
    int64_t *v = lf_malloc(sizeof(int64_t) * (size_t)m->hp.n_layer);
    if (!v)
        return lf_fail(err, "out of memory");
    bool ok = lf_model_layer_ints(m, suffix, false, def, v, err);
    int64_t max = 0;
    for (int64_t i = 0; ok && i < m->hp.n_layer; i++)
        max = v[i] > max ? v[i] : max;
    free(v);
    if (ok)
        *out = max; /* 0 everywhere fails the callers' range checks */
    return ok;
}

bool lf_model_common_hparams(lf_model *m, lf_error *err) {
    lf_hparams *hp = &m->hp;
    double f;
    if (!lf_model_int(m, "context_length", true, 0, &hp->n_ctx_train, err) ||
        !lf_model_int(m, "embedding_length", true, 0, &hp->n_embd, err) ||
        !lf_model_int(m, "block_count", true, 0, &hp->n_layer, err) ||
        !layer_max(m, "feed_forward_length", 0, &hp->n_ff, err) ||
        !lf_model_int(m, "attention.head_count", false, 1, &hp->n_head, err) ||
        !layer_max(m, "attention.head_count_kv", hp->n_head, &hp->n_head_kv, err))
        return false;
    if (!positive(hp->n_embd, "embedding_length", err) ||
        !positive(hp->n_layer, "block_count", err) || !positive(hp->n_head, "head_count", err) ||
        !positive(hp->n_head_kv, "head_count_kv", err) ||
        !positive(hp->n_ctx_train, "context_length", err))
        return false;
    if (hp->n_head % hp->n_head_kv)
        return lf_fail(err, "head_count %lld is not a multiple of head_count_kv %lld",
                       (long long)hp->n_head, (long long)hp->n_head_kv);
    if (!lf_model_int(m, "attention.key_length", false, hp->n_embd / hp->n_head, &hp->head_dim_k, err) ||
        !lf_model_int(m, "attention.value_length", false, hp->n_embd / hp->n_head, &hp->head_dim_v, err) ||
        !lf_model_int(m, "rope.dimension_count", false, hp->head_dim_k, &hp->n_rot, err))
        return false;
    if (!positive(hp->head_dim_k, "key_length", err) || !positive(hp->head_dim_v, "value_length", err))
        return false;
    if (hp->head_dim_k > 1024 || hp->head_dim_v > 1024)
        return lf_fail(err, "head dimension over 1024 is not supported");
    if (hp->n_rot < 0 || hp->n_rot > hp->head_dim_k || hp->n_rot % 2)
        return lf_fail(err, "rope.dimension_count %lld is invalid for head dim %lld",
                       (long long)hp->n_rot, (long long)hp->head_dim_k);
    if (!lf_model_float(m, "attention.layer_norm_rms_epsilon", false, 1e-5, &f, err))
        return false;
    hp->eps = (float)f;

    lf_rope_params *rp = &hp->rope;
    rp->n_rot = (int)hp->n_rot;
    if (!lf_model_float(m, "rope.freq_base", false, 10000.0, &f, err))
        return false;
    rp->freq_base = (float)f;
    char key[160];
    key_name(key, sizeof key, m, "rope.scaling.type");
    lf_str type = {"linear", 6};
    lf_gguf_get_str(m->gguf, key, &type);
    double factor = 0, attn = 1;
    if (!lf_model_float(m, "rope.scaling.factor", false, 0, &factor, err) ||
        !lf_model_float(m, "rope.scaling.attn_factor", false, 1, &attn, err))
        return false;
    if (factor == 0 && !lf_model_float(m, "rope.scale_linear", false, 0, &factor, err))
        return false;
    rp->freq_scale = factor == 0 ? 1.0f : (float)(1.0 / factor);
    if (type.len == 4 && !memcmp(type.ptr, "none", 4))
        rp->freq_scale = 1.0f;
    int64_t orig;
    if (!lf_model_int(m, "rope.scaling.original_context_length", false, hp->n_ctx_train, &orig, err))
        return false;
    rp->n_ctx_orig = (int)orig;
    rp->beta_fast = 32.0f;
    rp->beta_slow = 1.0f;
    bool yarn = type.len == 4 && !memcmp(type.ptr, "yarn", 4);
    rp->ext_factor = yarn ? 1.0f : 0.0f;
    rp->attn_factor = (float)attn;
    if (yarn) {
        /* The kernel multiplies by (1 + 0.1 ln(1/s)); llama.cpp divides that
         * out again and applies get_mscale(1/s) instead (1 when 1/s <= 1). */
        float f1 = 1.0f / rp->freq_scale;
        float mscale = f1 <= 1.0f ? 1.0f : 1.0f + 0.1f * logf(f1);
        rp->attn_factor = (float)attn * mscale / (1.0f + 0.1f * logf(f1));
    }
    return true;
}

static const lf_gguf_tensor *find_tensor(const lf_model *m, const char *fmt, va_list ap,
                                         char *name, size_t n) {
    vsnprintf(name, n, fmt, ap);
    return lf_gguf_find_tensor(m->gguf, name);
}

static bool check_shape(const lf_gguf_tensor *t, const char *name, int n_dims, const int64_t *ne,
                        lf_error *err) {
    bool ok = true;
    for (int d = 0; d < 4; d++)
        ok &= t->ne[d] == (d < n_dims ? ne[d] : 1);
    if (ok)
        return true;
    char want[96], got[96];
    int a = 0, b = 0;
    for (int d = 0; d < n_dims; d++)
        a += snprintf(want + a, sizeof want - a, "%s%lld", d ? ", " : "", (long long)ne[d]);
    for (int d = 0; d < t->n_dims; d++)
        b += snprintf(got + b, sizeof got - b, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
    return lf_fail(err, "tensor '%s' has shape {%s}, expected {%s}", name, got, want);
}

bool lf_model_weight(const lf_model *m, lf_weight *W, bool required, int n_dims,
                     const int64_t *ne, lf_error *err, const char *fmt, ...) {
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    const lf_gguf_tensor *t = find_tensor(m, fmt, ap, name, sizeof name);
    va_end(ap);
    memset(W, 0, sizeof(*W));
    if (!t)
        return required ? lf_fail(err, "tensor '%s' is missing", name) : true;
    if (!check_shape(t, name, n_dims, ne, err))
        return false;
    if (!lf_type_supported(t->type))
        return lf_fail(err, "tensor '%s': type %s is not supported yet", name, lf_type_name(t->type));
    W->type = t->type;
    memcpy(W->ne, t->ne, sizeof W->ne);
    W->row_bytes = (size_t)lf_type_row_bytes(t->type, t->ne[0]);
    W->data = t->data;
    return lf_model_pack_choose((lf_model *)m, t, name, W, err);
}

bool lf_model_f32(const lf_model *m, const float **out, bool required, int64_t n,
                  lf_error *err, const char *fmt, ...) {
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    const lf_gguf_tensor *t = find_tensor(m, fmt, ap, name, sizeof name);
    va_end(ap);
    *out = NULL;
    if (!t)
        return required ? lf_fail(err, "tensor '%s' is missing", name) : true;
    if (!check_shape(t, name, 1, &n, err))
        return false;
    if (t->type == LF_TYPE_F32 && ((uintptr_t)t->data & 3) == 0) {
        *out = t->data;
        return true;
    }
    const lf_type_traits *tt = lf_type_traits_of(t->type);
    if (!tt || !tt->to_float)
        return lf_fail(err, "tensor '%s': type %s is not supported yet", name, lf_type_name(t->type));
    lf_model *mm = (lf_model *)m;
    void **owned = lf_realloc(mm->owned, sizeof(void *) * (size_t)(mm->n_owned + 1));
    float *copy = lf_malloc(sizeof(float) * (size_t)n);
    if (!owned || !copy) {
        free(copy);
        if (owned)
            mm->owned = owned;
        return lf_fail(err, "out of memory converting tensor '%s'", name);
    }
    mm->owned = owned;
    mm->owned[mm->n_owned++] = copy;
    tt->to_float(t->data, copy, n);
    *out = copy;
    return true;
}

float *lf_ctx_buffers(lf_context *c, int count, const size_t *floats, float **bufs,
                      lf_error *err) {
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += (floats[i] + 15) & ~(size_t)15;
    float *base = lf_scratch_get(&c->work, total * sizeof(float));
    if (!base) {
        lf_fail(err, "out of memory for %zu MiB of activations", total * 4 >> 20);
        return NULL;
    }
    size_t off = 0;
    for (int i = 0; i < count; i++) {
        bufs[i] = base + off;
        off += (floats[i] + 15) & ~(size_t)15;
    }
    return base;
}
