/* The "model" summary: the key hyperparameters of general.architecture,
 * read as "<arch>.<suffix>" keys from the table below, and the kinds of
 * layers wherever the metadata says which layer is which. Generic: a new
 * architecture shows up through the keys it shares with the others. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_dump.h"

static const char *const k_gating[] = {"none", "softmax", "sigmoid", "softmax_weight",
                                       "sqrt_softplus"};

/* An item: the key's suffix and its label; NAMED with names for integer
 * values; SCALAR when an array value is shown only as layer kinds. */
#define K(suffix, label) {suffix, label, NULL, 0, false}
#define NAMED(suffix, label, names) \
    {suffix, label, names, (int)(sizeof names / sizeof *names), false}
#define SCALAR(suffix, label) {suffix, label, NULL, 0, true}

/* Rows of the text form; JSON uses the suffixes as keys, in this order. */
const struct dump_row dump_rows[] = {
    {"layers", {K("block_count", "")}},
    {"context length", {K("context_length", "")}},
    {"embedding length", {K("embedding_length", ""),
                          K("embedding_length_per_layer_input", "per-layer input")}},
    {"vocabulary", {K("vocab_size", "")}},
    {"attention heads", {K("attention.head_count", ""), K("attention.head_count_kv", "KV")}},
    {"head dims", {K("attention.key_length", "key"), K("attention.value_length", "value")}},
    {"feed-forward length", {K("feed_forward_length", "")}},
    {"experts", {K("expert_count", ""), K("expert_used_count", "used"),
                 K("expert_shared_count", "shared"), K("expert_group_count", "groups"),
                 K("expert_group_used_count", "groups used")}},
    {"expert widths", {K("expert_feed_forward_length", "routed"),
                       K("expert_shared_feed_forward_length", "shared")}},
    {"expert weights", {NAMED("expert_gating_func", "gating", k_gating),
                        K("expert_weights_norm", "normalised"), K("expert_weights_scale", "scale")}},
    {"leading dense blocks", {K("leading_dense_block_count", "")}},
    {"MTP (NextN) blocks", {K("nextn_predict_layers", "")}},
    {"sliding window", {K("attention.sliding_window", ""),
                        SCALAR("attention.sliding_window_pattern", "pattern")}},
    {"shared-KV layers", {K("attention.shared_kv_layers", "")}},
    {"AltUp streams", {K("altup.num_inputs", ""), K("altup.active_idx", "active")}},
    {"RoPE", {K("rope.dimension_count", "dims"), K("rope.freq_base", "base"),
              K("rope.freq_base_swa", "SWA base"), K("rope.scaling.type", "scaling"),
              K("rope.scaling.factor", "factor"),
              K("rope.scaling.original_context_length", "original context"),
              K("rope.scaling.finetuned", "finetuned")}},
    {"SSM", {K("ssm.inner_size", "inner"), K("ssm.state_size", "state"),
             K("ssm.time_step_rank", "heads"), K("ssm.group_count", "groups"),
             K("ssm.conv_kernel", "conv")}},
    {"scales", {K("embedding_scale", "embedding"), K("residual_scale", "residual"),
                K("attention.scale", "attention"), K("logit_scale", "logit")}},
    {"soft-capping", {K("final_logit_softcapping", "final"),
                      K("attn_logit_softcapping", "attention")}},
    {"RMS norm epsilon", {K("attention.layer_norm_rms_epsilon", "")}},
};
const int dump_row_count = (int)(sizeof dump_rows / sizeof dump_rows[0]);

/* Layer l slides iff l % p < p - 1 for a scalar sliding_window_pattern p
 * (0: every layer). Without the key, these architectures hard-code p. */
static const struct {
    const char *arch;
    int64_t period;
} k_swa_period[] = {{"gemma3", 6}, {"gemma3n", 5}, {"gpt-oss", 2}};

enum { MAX_LAYERS = 1 << 16 };

int64_t dump_model_key(const lf_gguf *g, const struct dump_model *m, const char *suffix) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", m->arch, suffix);
    return lf_gguf_find_key(g, key);
}

static bool get_int(const lf_gguf *g, const struct dump_model *m, const char *suffix,
                    int64_t *out) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", m->arch, suffix);
    return lf_gguf_get_int(g, key, out);
}

/* Element j of an array of integers or bools, as an integer. */
static bool arr_int(const lf_gguf *g, int64_t id, uint64_t j, int64_t *out) {
    lf_gguf_value e;
    if (!lf_gguf_arr_get(g, id, j, &e))
        return false;
    switch (e.type) {
    case LF_GGUF_UINT8: case LF_GGUF_UINT16: case LF_GGUF_UINT32: case LF_GGUF_UINT64:
        *out = (int64_t)e.v.u;
        return true;
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        *out = e.v.i;
        return true;
    case LF_GGUF_BOOL:
        *out = e.v.b;
        return true;
    case LF_GGUF_FLOAT32: case LF_GGUF_FLOAT64:
        *out = e.v.f != 0;
        return true;
    default:
        return false;
    }
}

/* The key's per-layer array (one number or bool per layer), or -1. */
static int64_t layer_array(const lf_gguf *g, const struct dump_model *m, const char *suffix) {
    int64_t id = dump_model_key(g, m, suffix), x;
    if (id < 0)
        return -1;
    lf_gguf_value v = lf_gguf_kv_value(g, id);
    if (v.type != LF_GGUF_ARRAY || v.arr_n != (uint64_t)m->n_layer || !arr_int(g, id, 0, &x))
        return -1;
    return id;
}

static struct dump_kinds *new_kinds(struct dump_model *m, const char *name, const char *label,
                                    const char *rule) {
    if (m->n_kinds == DUMP_MAX_KINDS)
        return NULL;
    const char **layer = calloc((size_t)m->n_layer, sizeof(*layer));
    if (!layer)
        return NULL;
    struct dump_kinds *k = &m->kinds[m->n_kinds++];
    k->name = name;
    k->label = label;
    k->layer = layer;
    snprintf(k->rule, sizeof k->rule, "%s", rule);
    return k;
}

/* head_count_kv given per layer, 0 marking a recurrent (Mamba) layer. */
static void kinds_mixer(const lf_gguf *g, struct dump_model *m) {
    int64_t id = layer_array(g, m, "attention.head_count_kv"), x;
    bool any = false;
    for (int64_t l = 0; id >= 0 && l < m->n_layer; l++)
        any |= arr_int(g, id, (uint64_t)l, &x) && x == 0;
    struct dump_kinds *k = any ? new_kinds(m, "mixer", "mixer", "head_count_kv 0: recurrent") : NULL;
    for (int64_t l = 0; k && l < m->n_layer; l++)
        k->layer[l] = arr_int(g, id, (uint64_t)l, &x) && x == 0 ? "recurrent" : "attention";
}

static void kinds_swa(const lf_gguf *g, struct dump_model *m) {
    int64_t window = 0, period = -1;
    if (!get_int(g, m, "attention.sliding_window", &window) || window <= 0)
        return;
    int64_t id = layer_array(g, m, "attention.sliding_window_pattern");
    char rule[128] = "sliding_window_pattern per layer";
    if (id < 0 && get_int(g, m, "attention.sliding_window_pattern", &period)) {
        snprintf(rule, sizeof rule, "sliding_window_pattern %lld", (long long)period);
    } else if (id < 0) {
        for (size_t i = 0; i < sizeof k_swa_period / sizeof k_swa_period[0]; i++)
            if (!strcmp(m->arch, k_swa_period[i].arch))
                period = k_swa_period[i].period;
        snprintf(rule, sizeof rule, "%s default period %lld", m->arch, (long long)period);
    }
    if (id < 0 && period < 0)
        return; /* neither the key nor a known convention */
    struct dump_kinds *k = new_kinds(m, "attention", "attention", rule);
    for (int64_t l = 0, x; k && l < m->n_layer; l++) {
        bool swa = id >= 0 ? arr_int(g, id, (uint64_t)l, &x) && x != 0
                           : period == 0 || l % period < period - 1;
        k->layer[l] = swa ? "SWA" : "global";
    }
}

/* The last attention.shared_kv_layers layers reuse earlier layers' K/V. */
static void kinds_shared_kv(const lf_gguf *g, struct dump_model *m) {
    int64_t n;
    if (!get_int(g, m, "attention.shared_kv_layers", &n) || n <= 0 || n >= m->n_layer)
        return;
    struct dump_kinds *k = new_kinds(m, "kv_cache", "KV cache", "the last shared_kv_layers");
    for (int64_t l = 0; k && l < m->n_layer; l++)
        k->layer[l] = l >= m->n_layer - n ? "shared" : "own";
}

/* Dense feed-forward in the first leading_dense_block_count layers, then
 * mixtures of experts. */
static void kinds_ffn(const lf_gguf *g, struct dump_model *m) {
    int64_t experts = 0, dense = 0;
    if (!get_int(g, m, "expert_count", &experts) || experts <= 0 ||
        !get_int(g, m, "leading_dense_block_count", &dense) || dense <= 0)
        return;
    struct dump_kinds *k = new_kinds(m, "feed_forward", "feed-forward",
                                     "the first leading_dense_block_count dense");
    for (int64_t l = 0; k && l < m->n_layer; l++)
        k->layer[l] = l < dense ? "dense" : "MoE";
}

/* Gaussian top-k sparsity where activation_sparsity_scale is not 0. */
static void kinds_sparsity(const lf_gguf *g, struct dump_model *m) {
    int64_t id = layer_array(g, m, "activation_sparsity_scale"), x;
    struct dump_kinds *k = id >= 0 ? new_kinds(m, "activation_sparsity", "activation sparsity",
                                               "activation_sparsity_scale non-zero") : NULL;
    for (int64_t l = 0; k && l < m->n_layer; l++)
        k->layer[l] = arr_int(g, id, (uint64_t)l, &x) && x ? "sparse" : "full";
}

/* Trailing multi-token-prediction blocks that inference does not run. */
static void kinds_mtp(const lf_gguf *g, struct dump_model *m) {
    int64_t n;
    if (!get_int(g, m, "nextn_predict_layers", &n) || n <= 0 || n >= m->n_layer)
        return;
    struct dump_kinds *k = new_kinds(m, "block", "blocks", "the last nextn_predict_layers");
    for (int64_t l = 0; k && l < m->n_layer; l++)
        k->layer[l] = l >= m->n_layer - n ? "MTP" : "decoder";
}

bool dump_model_init(const lf_gguf *g, struct dump_model *m) {
    memset(m, 0, sizeof(*m));
    lf_str arch;
    if (!lf_gguf_get_str(g, "general.architecture", &arch) || arch.len == 0 ||
        arch.len >= sizeof m->arch)
        return false;
    for (uint64_t i = 0; i < arch.len; i++)
        if ((unsigned char)arch.ptr[i] <= ' ' || (unsigned char)arch.ptr[i] >= 0x7f)
            return false; /* architecture names are plain ASCII words */
    memcpy(m->arch, arch.ptr, arch.len);
    int64_t heads = 0, embd = 0;
    if (get_int(g, m, "embedding_length", &embd) && get_int(g, m, "attention.head_count", &heads) &&
        embd > 0 && heads > 0) {
        m->head_dim_k = m->head_dim_v = embd / heads; /* the default of both */
        m->head_dims_derived = true;
    }
    if (get_int(g, m, "attention.key_length", &m->head_dim_k))
        m->head_dims_derived = false;
    if (get_int(g, m, "attention.value_length", &m->head_dim_v))
        m->head_dims_derived = false;
    if (!get_int(g, m, "block_count", &m->n_layer) || m->n_layer <= 0 || m->n_layer > MAX_LAYERS) {
        m->n_layer = 0;
        return true;
    }
    kinds_mtp(g, m);
    kinds_mixer(g, m);
    kinds_swa(g, m);
    kinds_shared_kv(g, m);
    kinds_ffn(g, m);
    kinds_sparsity(g, m);
    return true;
}

void dump_model_free(struct dump_model *m) {
    for (int i = 0; i < m->n_kinds; i++)
        free(m->kinds[i].layer);
    m->n_kinds = 0;
}

struct sbuf {
    char *buf;
    size_t size, len;
};

static void add(struct sbuf *b, const char *fmt, ...) {
    if (b->len >= b->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len = b->len + (size_t)n < b->size ? b->len + (size_t)n : b->size;
}

static int64_t count_runs(const struct dump_kinds *k, int64_t n) {
    int64_t runs = n > 0;
    for (int64_t l = 1; l < n; l++)
        runs += strcmp(k->layer[l], k->layer[l - 1]) != 0;
    return runs;
}

/* Runs of equal kinds over layers [0, n), at most max_runs: "0-3 SWA, 4 global". */
static void add_runs(struct sbuf *b, const struct dump_kinds *k, int64_t n, int64_t max_runs) {
    int64_t runs = 0;
    for (int64_t l = 0; l < n; runs++) {
        if (runs == max_runs) {
            add(b, ", ... (%lld runs)", (long long)count_runs(k, n));
            return;
        }
        int64_t e = l;
        while (e + 1 < n && !strcmp(k->layer[e + 1], k->layer[l]))
            e++;
        if (e > l)
            add(b, "%s%lld-%lld %s", runs ? ", " : "", (long long)l, (long long)e, k->layer[l]);
        else
            add(b, "%s%lld %s", runs ? ", " : "", (long long)l, k->layer[l]);
        l = e + 1;
    }
}

/* The smallest period (up to 64 layers) that repeats at least twice, or 0. */
static int64_t find_period(const struct dump_kinds *k, int64_t n) {
    for (int64_t p = 1; p <= n / 2 && p <= 64; p++) {
        int64_t l = p;
        while (l < n && !strcmp(k->layer[l], k->layer[l - p]))
            l++;
        if (l == n)
            return p;
    }
    return 0;
}

char *dump_kinds_summary(const struct dump_model *m, const struct dump_kinds *k, bool full) {
    int64_t n = m->n_layer, period = find_period(k, n);
    /* a run takes at most "65535-65535 " + a kind name + ", " */
    size_t size = (size_t)(full ? count_runs(k, n) : 64) * 48 + 512;
    struct sbuf b = {malloc(size), size, 0};
    if (!b.buf)
        return NULL;
    b.buf[0] = 0;
    if (period > 1) {
        add_runs(&b, k, period, INT64_MAX);
        add(&b, ", repeating every %lld layers", (long long)period);
    } else {
        add_runs(&b, k, n, full ? INT64_MAX : 8);
        if (count_runs(k, n) <= 2)
            return b.buf; /* the runs say it all */
    }
    /* how many layers of each kind, in order of first appearance */
    const char *names[8];
    int64_t counts[8];
    int kinds = 0;
    for (int64_t l = 0; l < n; l++) {
        int j = 0;
        while (j < kinds && strcmp(names[j], k->layer[l]))
            j++;
        if (j == kinds && kinds == 8)
            continue;
        if (j == kinds)
            names[kinds] = k->layer[l], counts[kinds++] = 0;
        counts[j]++;
    }
    for (int j = 0; j < kinds; j++)
        add(&b, "%s%lld %s", j ? ", " : " (", (long long)counts[j], names[j]);
    add(&b, ")");
    return b.buf;
}
