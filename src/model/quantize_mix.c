/* quantize_mix.c — which type each tensor gets when a model is quantized to
 * a file type: llama.cpp's rules (src/llama-quant.cpp) for the file types
 * this build can write, including the per-layer "use more bits" choices of
 * the _M mixes, the output/embedding rules and the fallbacks for rows that
 * are not a multiple of the block size. Decisions depend on the order the
 * tensors are visited in, so the plan also fixes llama.cpp's order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/quantize.h"

/* ------------------------------------------------------------ file types */

static const struct {
    const char *name;
    int ftype;
} k_names[] = {
    {"Q4_0", LF_FTYPE_Q4_0},     {"Q4_1", LF_FTYPE_Q4_1},     {"MXFP4_MOE", LF_FTYPE_MXFP4_MOE},
    {"Q5_0", LF_FTYPE_Q5_0},     {"Q5_1", LF_FTYPE_Q5_1},     {"Q2_K", LF_FTYPE_Q2_K},
    {"Q3_K", LF_FTYPE_Q3_K_M},   {"Q3_K_S", LF_FTYPE_Q3_K_S}, {"Q3_K_M", LF_FTYPE_Q3_K_M},
    {"Q3_K_L", LF_FTYPE_Q3_K_L}, {"IQ4_NL", LF_FTYPE_IQ4_NL}, {"IQ4_XS", LF_FTYPE_IQ4_XS},
    {"Q4_K", LF_FTYPE_Q4_K_M},   {"Q4_K_S", LF_FTYPE_Q4_K_S}, {"Q4_K_M", LF_FTYPE_Q4_K_M},
    {"Q5_K", LF_FTYPE_Q5_K_M},   {"Q5_K_S", LF_FTYPE_Q5_K_S}, {"Q5_K_M", LF_FTYPE_Q5_K_M},
    {"Q6_K", LF_FTYPE_Q6_K},     {"Q8_0", LF_FTYPE_Q8_0},     {"F16", LF_FTYPE_F16},
    {"BF16", LF_FTYPE_BF16},     {"F32", LF_FTYPE_ALL_F32},
};
#define N_NAMES (sizeof k_names / sizeof k_names[0])

const char *const lf_ftype_names[] = {
    "Q4_0",   "Q4_1",   "MXFP4_MOE", "Q5_0",   "Q5_1",   "Q2_K", "Q3_K", "Q3_K_S",
    "Q3_K_M", "Q3_K_L", "IQ4_NL",    "IQ4_XS", "Q4_K",   "Q4_K_S", "Q4_K_M", "Q5_K",
    "Q5_K_S", "Q5_K_M", "Q6_K",      "Q8_0",   "F16",    "BF16", "F32",  NULL,
};

int lf_ftype_from_name(const char *name) {
    for (size_t i = 0; i < N_NAMES; i++)
        if (!strcasecmp(k_names[i].name, name))
            return k_names[i].ftype;
    return -1;
}

const char *lf_ftype_name(int ftype) {
    /* the canonical name is the last one listed for the type (after aliases) */
    const char *r = NULL;
    for (size_t i = 0; i < N_NAMES; i++)
        if (k_names[i].ftype == ftype)
            r = k_names[i].name;
    return r;
}

int lf_ftype_base_type(int ftype) {
    switch (ftype) {
    case LF_FTYPE_ALL_F32: return LF_TYPE_F32;
    case LF_FTYPE_F16: return LF_TYPE_F16;
    case LF_FTYPE_BF16: return LF_TYPE_BF16;
    case LF_FTYPE_Q4_0: return LF_TYPE_Q4_0;
    case LF_FTYPE_Q4_1: return LF_TYPE_Q4_1;
    case LF_FTYPE_Q5_0: return LF_TYPE_Q5_0;
    case LF_FTYPE_Q5_1: return LF_TYPE_Q5_1;
    case LF_FTYPE_Q8_0: return LF_TYPE_Q8_0;
    case LF_FTYPE_MXFP4_MOE: return LF_TYPE_MXFP4;
    case LF_FTYPE_Q2_K: return LF_TYPE_Q2_K;
    case LF_FTYPE_Q3_K_S:
    case LF_FTYPE_Q3_K_M:
    case LF_FTYPE_Q3_K_L: return LF_TYPE_Q3_K;
    case LF_FTYPE_Q4_K_S:
    case LF_FTYPE_Q4_K_M: return LF_TYPE_Q4_K;
    case LF_FTYPE_Q5_K_S:
    case LF_FTYPE_Q5_K_M: return LF_TYPE_Q5_K;
    case LF_FTYPE_Q6_K: return LF_TYPE_Q6_K;
    case LF_FTYPE_IQ4_NL: return LF_TYPE_IQ4_NL;
    case LF_FTYPE_IQ4_XS: return LF_TYPE_IQ4_XS;
    default: return -1;
    }
}

/* ------------------------------------------------------------ categories */

enum category {
    CAT_TOKEN_EMBD,
    CAT_ATTN_Q,
    CAT_ATTN_V,
    CAT_ATTN_K,
    CAT_ATTN_QKV,
    CAT_ATTN_KV_B,
    CAT_ATTN_OUTPUT,
    CAT_FFN_UP,
    CAT_FFN_GATE,
    CAT_FFN_DOWN,
    CAT_OUTPUT,
    CAT_OTHER,
};

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static enum category category_of(const char *name) {
    if (!strcmp(name, "output.weight"))
        return CAT_OUTPUT;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight"))
        return CAT_TOKEN_EMBD;
    static const struct {
        const char *sub;
        enum category cat;
    } k_subs[] = {
        {"attn_qkv.weight", CAT_ATTN_QKV},       {"attn_kv_b.weight", CAT_ATTN_KV_B},
        {"attn_v.weight", CAT_ATTN_V},           {"attn_k.weight", CAT_ATTN_K},
        {"attn_q.weight", CAT_ATTN_Q},           {"attn_output.weight", CAT_ATTN_OUTPUT},
        {"ffn_up", CAT_FFN_UP},                  {"ffn_gate", CAT_FFN_GATE},
        {"ffn_down", CAT_FFN_DOWN},
    };
    for (size_t i = 0; i < sizeof k_subs / sizeof k_subs[0]; i++)
        if (has(name, k_subs[i].sub))
            return k_subs[i].cat;
    return CAT_OTHER;
}

static bool is_attn_v(enum category c) {
    return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B;
}

/* Dimensions up to the last one above 1 (ggml_n_dims). */
static int n_dims_of(const lf_gguf_tensor *t) {
    for (int i = 3; i >= 1; i--)
        if (t->ne[i] > 1)
            return i + 1;
    return 1;
}

/* llama.cpp quantizes 2-D and 3-D weights except norms, routers, and a list
 * of small or position-like tensors. */
static bool allows_quantization(const char *name, int n_dims) {
    size_t len = strlen(name);
    if (n_dims < 2 || len < 6 || strcmp(name + len - 6, "weight"))
        return false;
    if (!strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight"))
        return false;
    static const char *const k_skip[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
        "indexer.k_proj.weight", "indexer.q_proj.weight", "time_mix_first.weight",
        "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
        "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight",
        "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
        "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
        ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    };
    for (size_t i = 0; i < sizeof k_skip / sizeof k_skip[0]; i++)
        if (has(name, k_skip[i]))
            return false;
    return true;
}

/* ----------------------------------------------------------------- state */

typedef struct mix {
    int ftype;
    bool falcon, is_70b;
    int n_layer, n_expert, n_gqa;
    bool tied; /* no output.weight: token_embd doubles as the output */
    int n_attn_v, i_attn_v, i_ffn_down, i_ffn_gate, i_ffn_up;
} mix;

static bool use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The layer of an FFN tensor: the running count, or for MoE models (whose
 * expert tensors are not in layer order) the number in the name. */
static bool layer_of(const mix *q, int counter, const char *name, int *layer, lf_error *err) {
    *layer = counter;
    if (q->n_expert <= 1)
        return true;
    if (sscanf(name, "blk.%d.", layer) != 1)
        return lf_fail(err, "failed to determine the layer of tensor %s", name);
    if (*layer < 0 || *layer >= q->n_layer)
        return lf_fail(err, "bad layer %d for tensor %s: must be in [0, %d)", *layer, name,
                       q->n_layer);
    return true;
}

static bool ft_is(const mix *q, int a, int b) { return q->ftype == a || q->ftype == b; }

static int type_attn_v(mix *q, int t) {
    int ft = q->ftype;
    if (ft == LF_FTYPE_Q2_K)
        t = q->n_gqa >= 4 ? LF_TYPE_Q4_K : LF_TYPE_Q3_K;
    else if (ft == LF_FTYPE_Q3_K_M)
        t = q->i_attn_v < 2 ? LF_TYPE_Q5_K : LF_TYPE_Q4_K;
    else if (ft == LF_FTYPE_Q3_K_L)
        t = LF_TYPE_Q5_K;
    else if (ft_is(q, LF_FTYPE_IQ4_NL, LF_FTYPE_IQ4_XS) && q->n_gqa >= 4)
        t = LF_TYPE_Q5_K;
    else if (ft_is(q, LF_FTYPE_Q4_K_M, LF_FTYPE_Q5_K_M) && use_more_bits(q->i_attn_v, q->n_attn_v))
        t = LF_TYPE_Q6_K;
    else if (ft == LF_FTYPE_Q4_K_S && q->i_attn_v < 4)
        t = LF_TYPE_Q5_K;
    /* 70B: 8 heads share each attn_v row, so more bits cost little */
    if (q->is_70b && (t == LF_TYPE_Q3_K || t == LF_TYPE_Q4_K))
        t = LF_TYPE_Q5_K;
    if (q->n_expert == 8)
        t = LF_TYPE_Q8_0;
    q->i_attn_v++;
    return t;
}

static bool type_ffn_down(mix *q, const char *name, int *t, lf_error *err) {
    int i, n = q->n_layer, ft = q->ftype;
    if (!layer_of(q, q->i_ffn_down, name, &i, err))
        return false;
    if (ft == LF_FTYPE_Q2_K)
        *t = LF_TYPE_Q3_K;
    else if (ft == LF_FTYPE_Q3_K_M)
        *t = i < n / 16 ? LF_TYPE_Q5_K
             : !q->falcon || use_more_bits(i, n) ? LF_TYPE_Q4_K
                                                 : LF_TYPE_Q3_K;
    else if (ft == LF_FTYPE_Q3_K_L)
        *t = q->falcon ? LF_TYPE_Q4_K : LF_TYPE_Q5_K;
    else if (ft == LF_FTYPE_Q4_K_M) {
        if (q->falcon)
            *t = i < n / 16 ? LF_TYPE_Q6_K : use_more_bits(i, n) ? LF_TYPE_Q5_K : LF_TYPE_Q4_K;
        else if (use_more_bits(i, n))
            *t = LF_TYPE_Q6_K;
    } else if (i < n / 8 && ft_is(q, LF_FTYPE_IQ4_NL, LF_FTYPE_IQ4_XS))
        *t = LF_TYPE_Q5_K; /* (without an importance matrix) */
    else if (ft == LF_FTYPE_Q5_K_M && use_more_bits(i, n))
        *t = LF_TYPE_Q6_K;
    else if (ft == LF_FTYPE_Q4_K_S && !q->falcon && i < n / 8)
        *t = LF_TYPE_Q5_K;
    q->i_ffn_down++;
    return true;
}

static int type_attn_output(const mix *q, int t) {
    int ft = q->ftype;
    if (q->falcon)
        return ft == LF_FTYPE_Q3_K_L ? LF_TYPE_Q4_K : t;
    if (q->n_expert == 8) {
        if (ft == LF_FTYPE_Q2_K || ft == LF_FTYPE_Q3_K_S || ft == LF_FTYPE_Q3_K_M ||
            ft == LF_FTYPE_IQ4_NL || ft == LF_FTYPE_Q4_K_S || ft == LF_FTYPE_Q4_K_M ||
            ft == LF_FTYPE_IQ4_XS)
            t = LF_TYPE_Q5_K;
        return t;
    }
    if (ft == LF_FTYPE_Q2_K)
        t = LF_TYPE_Q3_K;
    else if (ft == LF_FTYPE_Q3_K_M)
        t = LF_TYPE_Q4_K;
    else if (ft == LF_FTYPE_Q3_K_L)
        t = LF_TYPE_Q5_K;
    return t;
}

/* llama_tensor_get_type_impl for the file types above. */
static bool mix_type(mix *q, const lf_gguf_tensor *tensor, const char *name, enum category c,
                     int *t, lf_error *err) {
    int ft = q->ftype, i;
    if (c == CAT_OUTPUT || (q->tied && c == CAT_TOKEN_EMBD)) {
        if (ft == LF_FTYPE_MXFP4_MOE || q->falcon || tensor->ne[0] % lf_type_block_size(*t))
            *t = LF_TYPE_Q8_0;
        else if (*t != LF_TYPE_Q8_0)
            *t = LF_TYPE_Q6_K;
    } else if (ft == LF_FTYPE_MXFP4_MOE) {
        *t = tensor->ne[2] > 1 ? LF_TYPE_MXFP4 : LF_TYPE_Q8_0;
    } else if (c == CAT_TOKEN_EMBD) {
        /* only the IQ1/IQ2/IQ3/TQ file types change it */
    } else if (is_attn_v(c)) {
        *t = type_attn_v(q, *t);
    } else if (c == CAT_ATTN_K) {
        if (q->n_expert == 8)
            *t = LF_TYPE_Q8_0;
    } else if (c == CAT_FFN_DOWN) {
        return type_ffn_down(q, name, t, err);
    } else if (c == CAT_ATTN_OUTPUT) {
        *t = type_attn_output(q, *t);
    } else if (c == CAT_ATTN_QKV) {
        if (ft == LF_FTYPE_Q3_K_M || ft == LF_FTYPE_Q3_K_L)
            *t = LF_TYPE_Q4_K;
        else if (ft == LF_FTYPE_Q4_K_M)
            *t = LF_TYPE_Q5_K;
        else if (ft == LF_FTYPE_Q5_K_M)
            *t = LF_TYPE_Q6_K;
    } else if (c == CAT_FFN_GATE) {
        if (!layer_of(q, q->i_ffn_gate, name, &i, err))
            return false;
        q->i_ffn_gate++;
    } else if (c == CAT_FFN_UP) {
        if (!layer_of(q, q->i_ffn_up, name, &i, err))
            return false;
        q->i_ffn_up++;
    }
    return true;
}

/* A type whose block does not divide the rows is replaced (llama.cpp's
 * tensor_type_fallback); F16 when even the replacement does not fit. */
static bool fallback_type(const lf_gguf_tensor *t, const char *name, int *type, lf_error *err) {
    if (t->ne[0] % lf_type_block_size(*type) == 0)
        return true;
    int r;
    switch (*type) {
    case LF_TYPE_IQ4_XS: r = LF_TYPE_IQ4_NL; break;
    case LF_TYPE_Q2_K:
    case LF_TYPE_Q3_K: r = LF_TYPE_Q4_0; break;
    case LF_TYPE_Q4_K: r = LF_TYPE_Q5_0; break;
    case LF_TYPE_Q5_K: r = LF_TYPE_Q5_1; break;
    case LF_TYPE_Q6_K: r = LF_TYPE_Q8_0; break;
    default:
        return lf_fail(err, "tensor %s: %lld columns do not fit type %s and no fallback is defined",
                       name, (long long)t->ne[0], lf_type_name(*type));
    }
    *type = t->ne[0] % lf_type_block_size(r) ? LF_TYPE_F16 : r;
    return true;
}

/* ------------------------------------------------------------------ plan */

static int64_t meta_int(const lf_gguf *g, const char *arch, const char *key, int64_t dflt) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    int64_t v;
    if (lf_gguf_get_int(g, k, &v))
        return v;
    /* per-layer arrays (e.g. head_count_kv of hybrid models): layer 0 */
    int64_t i = lf_gguf_find_key(g, k);
    lf_gguf_value e;
    if (i >= 0 && lf_gguf_arr_get(g, i, 0, &e)) {
        switch (e.type) {
        case LF_GGUF_INT8:
        case LF_GGUF_INT16:
        case LF_GGUF_INT32:
        case LF_GGUF_INT64: return e.v.i;
        case LF_GGUF_UINT8:
        case LF_GGUF_UINT16:
        case LF_GGUF_UINT32:
        case LF_GGUF_UINT64: return (int64_t)e.v.u;
        default: break;
        }
    }
    return dflt;
}

static bool init_mix(const lf_gguf *g, int ftype, mix *q, lf_error *err) {
    memset(q, 0, sizeof *q);
    q->ftype = ftype;
    char arch[64] = "";
    lf_str s;
    if (lf_gguf_get_str(g, "general.architecture", &s))
        snprintf(arch, sizeof arch, "%.*s", (int)(s.len < 63 ? s.len : 63), s.ptr);
    int64_t n_layer = meta_int(g, arch, "block_count", 0);
    int64_t n_head = meta_int(g, arch, "attention.head_count", 0);
    int64_t n_head_kv = meta_int(g, arch, "attention.head_count_kv", n_head);
    int64_t n_expert = meta_int(g, arch, "expert_count", 0);
    if (n_layer < 0 || n_layer > 100000 || n_head < 0 || n_head_kv < 0 || n_expert < 0 ||
        n_expert > 1 << 20)
        return lf_fail(err, "implausible hyperparameters (%lld layers, %lld heads, %lld experts)",
                       (long long)n_layer, (long long)n_head, (long long)n_expert);
    q->n_layer = (int)n_layer;
    q->n_expert = (int)n_expert;
    q->n_gqa = n_head_kv ? (int)(n_head / n_head_kv) : 0;
    q->falcon = !strcmp(arch, "falcon");
    q->is_70b = !strcmp(arch, "llama") && n_layer == 80 && n_head != n_head_kv;
    q->tied = true;
    return true;
}

typedef struct entry {
    int64_t index;
    int layer;
    char name[80]; /* GGUF names have at most 63 bytes */
} entry;

static int cmp_entry(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->layer != b->layer)
        return a->layer < b->layer ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Tensor i: from the list when there is one, else from g. */
#define TENSOR_AT(i) (ts ? &ts[i] : lf_gguf_tensor_at(g, i))

static bool plan_make(const lf_gguf *g, const lf_gguf_tensor *ts, int64_t n,
                      const lf_quantize_params *p, lf_quantize_plan *plan, lf_error *err) {
    memset(plan, 0, sizeof *plan);
    int base = lf_ftype_base_type(p->ftype);
    if (base < 0)
        return lf_fail(err, "file type %d cannot be produced", p->ftype);
    mix q;
    if (!init_mix(g, p->ftype, &q, err))
        return false;
    entry *e = lf_calloc((size_t)n + 1, sizeof *e);
    plan->order = lf_calloc((size_t)n + 1, sizeof *plan->order);
    plan->type = lf_calloc((size_t)n + 1, sizeof *plan->type);
    plan->fallback = lf_calloc((size_t)n + 1, sizeof *plan->fallback);
    if (!e || !plan->order || !plan->type || !plan->fallback) {
        free(e);
        lf_quantize_plan_free(plan);
        return lf_fail(err, "out of memory");
    }
    plan->n = n;
    for (int64_t i = 0; i < n; i++) {
        const lf_gguf_tensor *t = TENSOR_AT(i);
        e[i].index = i;
        snprintf(e[i].name, sizeof e[i].name, "%.*s", (int)t->name.len, t->name.ptr);
        e[i].layer = -1;
        sscanf(e[i].name, "blk.%d.", &e[i].layer);
        enum category c = category_of(e[i].name);
        q.n_attn_v += is_attn_v(c);
        if (c == CAT_OUTPUT)
            q.tied = false;
    }
    qsort(e, (size_t)n, sizeof *e, cmp_entry);
    bool quantized = lf_type_block_size(base) > 1;
    for (int64_t i = 0; i < n; i++) {
        const lf_gguf_tensor *t = TENSOR_AT(e[i].index);
        int type = t->type;
        plan->order[i] = e[i].index;
        plan->fallback[i] = -1;
        if (allows_quantization(e[i].name, n_dims_of(t))) {
            type = base;
            if (quantized && !p->pure &&
                !mix_type(&q, t, e[i].name, category_of(e[i].name), &type, err))
                goto fail;
            int wanted = type;
            if (quantized && !fallback_type(t, e[i].name, &type, err))
                goto fail;
            if (type != wanted)
                plan->fallback[i] = wanted;
        }
        plan->type[i] = type;
    }
    free(e);
    return true;
fail:
    free(e);
    lf_quantize_plan_free(plan);
    return false;
}

bool lf_quantize_plan_make(const lf_gguf *g, const lf_quantize_params *p,
                           lf_quantize_plan *plan, lf_error *err) {
    return plan_make(g, NULL, lf_gguf_tensor_count(g), p, plan, err);
}

bool lf_quantize_types(const lf_gguf *meta, const lf_gguf_tensor *tensors, int64_t n,
                       const lf_quantize_params *p, int64_t *order, int *types,
                       lf_error *err) {
    lf_quantize_plan plan;
    if (n < 0 || (n && !tensors))
        return lf_fail(err, "no tensors");
    if (!plan_make(meta, tensors, n, p, &plan, err))
        return false;
    for (int64_t i = 0; i < n; i++) {
        order[i] = plan.order[i];
        types[plan.order[i]] = plan.type[i];
    }
    lf_quantize_plan_free(&plan);
    return true;
}

void lf_quantize_plan_free(lf_quantize_plan *plan) {
    free(plan->order);
    free(plan->type);
    free(plan->fallback);
    memset(plan, 0, sizeof *plan);
}
