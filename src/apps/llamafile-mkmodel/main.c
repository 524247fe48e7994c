/* llamafile-mkmodel — writes a model with random weights and real shapes,
 * for benchmarks and tests without downloads. The tokenizer (tokenizer.*
 * metadata) is copied from a vocabulary GGUF, truncated if the preset asks
 * for fewer tokens. Weights are deterministic for a seed: every element is
 * a hash of (seed, tensor name, index), so the file does not depend on how
 * it is generated. The data is streamed: the file's layout is written
 * first, then each tensor a chunk at a time, so memory stays small. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llamafile.h"

typedef struct preset {
    const char *name;
    int n_layer, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
} preset;

static const preset k_presets[] = {
    {"tinyllama-1.1b", 22, 2048, 5632, 32, 4, 32000, 2048},
    {"tiny", 2, 256, 512, 4, 2, 512, 2048},
};

static const char k_usage[] =
    "usage: llamafile-mkmodel --arch llama --preset NAME OUT.gguf [options]\n"
    "\n"
    "Writes a GGUF model with random weights and the shapes of a real one.\n"
    "\n"
    "  --arch NAME          architecture (llama)\n"
    "  --preset NAME        tinyllama-1.1b (22 layers, n_embd 2048, n_ff 5632,\n"
    "                       32 heads, 4 KV heads, 32000 tokens) or tiny (2\n"
    "                       layers, n_embd 256, n_ff 512, 4 heads, 2 KV heads,\n"
    "                       512 tokens)\n"
    "  --type T             F16 (default), BF16 or F32 for the 2-D weights\n"
    "                       (norms are F32); quantize with llamafile-quantize\n"
    "  --vocab FILE         GGUF whose tokenizer.* keys are copied (default:\n"
    "                       $SHARED/vocab/ggml-vocab-llama-spm.gguf, SHARED\n"
    "                       defaulting to ../shared)\n"
    "  --chat-template FILE stores FILE's text as tokenizer.chat_template\n"
    "                       (replacing the vocab file's, if it has one)\n"
    "  --seed N             weight seed (default: 1)\n"
    "  --n-layer N, --n-embd N, --n-ff N, --n-head N, --n-head-kv N,\n"
    "  --n-vocab N, --n-ctx N   override the preset\n"
    "  --version            print the version and exit\n"
    "  -h, --help           this help\n";

static int die(const char *fmt, const char *arg) {
    fprintf(stderr, "llamafile-mkmodel: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

/* ------------------------------------------------------------ the weights */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t name_hash(uint64_t seed, const char *s) {
    uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15ull);
    for (; *s; s++)
        h = mix64(h ^ (unsigned char)*s);
    return h;
}

/* An approximately normal value (sum of four 16-bit uniforms, variance 1). */
static float gauss(uint64_t key, int64_t i) {
    uint64_t r = mix64(key + (uint64_t)i * 0x9e3779b97f4a7c15ull);
    double s = (double)(r & 0xffff) + (double)(r >> 16 & 0xffff) + (double)(r >> 32 & 0xffff) +
               (double)(r >> 48);
    return (float)((s / 65536.0 - 2.0) * 1.7320508075688772);
}

static uint16_t to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = x >> 16 & 0x8000, ax = x & 0x7fffffff;
    if (ax >= 0x477ff000u) /* large values (never made here) saturate to inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax < 0x38800000u) { /* subnormal half: let the FPU round */
        float m = fabsf(f) * 16777216.0f;
        return (uint16_t)(sign | (uint32_t)lrintf(m));
    }
    uint32_t r = ax - (112u << 23);
    r += 0xfff + (r >> 13 & 1);
    return (uint16_t)(sign | r >> 13);
}

static uint16_t to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)((x + 0x7fff + (x >> 16 & 1)) >> 16);
}

typedef struct wtensor {
    char name[64];
    int n_dims;
    int64_t ne[2];
    int type;
    float mean, std;
} wtensor;

/* Element i of tensor t, converted to its type at out. */
static void fill(const wtensor *t, uint64_t key, int64_t i0, int64_t n, uint8_t *out) {
    for (int64_t i = 0; i < n; i++) {
        float v = t->mean + t->std * gauss(key, i0 + i);
        if (t->type == LF_TYPE_F32)
            memcpy(out + 4 * i, &v, 4);
        else {
            uint16_t h = t->type == LF_TYPE_F16 ? to_f16(v) : to_bf16(v);
            memcpy(out + 2 * i, &h, 2);
        }
    }
}

/* ------------------------------------------------------------- the model */

static int add(wtensor *t, int n, const char *name, int64_t ne0, int64_t ne1, int type,
               float mean, float std) {
    wtensor *w = &t[n];
    snprintf(w->name, sizeof w->name, "%s", name);
    w->n_dims = ne1 ? 2 : 1;
    w->ne[0] = ne0;
    w->ne[1] = ne1 ? ne1 : 1;
    w->type = ne1 ? type : LF_TYPE_F32;
    w->mean = mean;
    w->std = std;
    return n + 1;
}

/* The tensors of a llama model: norms N(1, 0.02), weights N(0, 0.02). */
static int llama_tensors(const preset *p, int type, wtensor *t) {
    int64_t hd = p->n_embd / p->n_head, kv = hd * p->n_head_kv;
    int n = add(t, 0, "token_embd.weight", p->n_embd, p->n_vocab, type, 0, 0.02f);
    char s[64];
    for (int l = 0; l < p->n_layer; l++) {
#define NAME(x) (snprintf(s, sizeof s, "blk.%d." x, l), s)
        n = add(t, n, NAME("attn_norm.weight"), p->n_embd, 0, type, 1, 0.02f);
        n = add(t, n, NAME("attn_q.weight"), p->n_embd, p->n_embd, type, 0, 0.02f);
        n = add(t, n, NAME("attn_k.weight"), p->n_embd, kv, type, 0, 0.02f);
        n = add(t, n, NAME("attn_v.weight"), p->n_embd, kv, type, 0, 0.02f);
        n = add(t, n, NAME("attn_output.weight"), p->n_embd, p->n_embd, type, 0, 0.02f);
        n = add(t, n, NAME("ffn_norm.weight"), p->n_embd, 0, type, 1, 0.02f);
        n = add(t, n, NAME("ffn_gate.weight"), p->n_embd, p->n_ff, type, 0, 0.02f);
        n = add(t, n, NAME("ffn_up.weight"), p->n_embd, p->n_ff, type, 0, 0.02f);
        n = add(t, n, NAME("ffn_down.weight"), p->n_ff, p->n_embd, type, 0, 0.02f);
#undef NAME
    }
    n = add(t, n, "output_norm.weight", p->n_embd, 0, type, 1, 0.02f);
    return add(t, n, "output.weight", p->n_embd, p->n_vocab, type, 0, 0.02f);
}

static bool llama_hparams(lf_gguf_writer *w, const preset *p, const char *name, int type,
                          lf_error *err) {
    uint32_t ftype = type == LF_TYPE_F32 ? 0 : type == LF_TYPE_F16 ? 1 : 32;
    char desc[128];
    snprintf(desc, sizeof desc, "%s (random weights)", name);
    return lf_gguf_set_str(w, "general.architecture", "llama", err) &&
           lf_gguf_set_str(w, "general.name", desc, err) &&
           lf_gguf_set_u32(w, "general.file_type", ftype, err) &&
           lf_gguf_set_u32(w, "general.quantization_version", 2, err) &&
           lf_gguf_set_u32(w, "llama.context_length", (uint32_t)p->n_ctx, err) &&
           lf_gguf_set_u32(w, "llama.embedding_length", (uint32_t)p->n_embd, err) &&
           lf_gguf_set_u32(w, "llama.block_count", (uint32_t)p->n_layer, err) &&
           lf_gguf_set_u32(w, "llama.feed_forward_length", (uint32_t)p->n_ff, err) &&
           lf_gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)(p->n_embd / p->n_head),
                           err) &&
           lf_gguf_set_u32(w, "llama.attention.head_count", (uint32_t)p->n_head, err) &&
           lf_gguf_set_u32(w, "llama.attention.head_count_kv", (uint32_t)p->n_head_kv, err) &&
           lf_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f, err) &&
           lf_gguf_set_f32(w, "llama.rope.freq_base", 10000.0f, err) &&
           lf_gguf_set_u32(w, "llama.vocab_size", (uint32_t)p->n_vocab, err);
}

/* ------------------------------------------------------------ the vocab */

/* Copies array kv i of v, keeping its first n elements. */
static bool copy_array(lf_gguf_writer *w, const lf_gguf *v, int64_t i, const char *key,
                       uint64_t n, lf_error *err) {
    lf_gguf_value a = lf_gguf_kv_value(v, i);
    if (a.arr_type == LF_GGUF_ARRAY)
        return true;
    if (a.arr_type == LF_GGUF_STRING) {
        char **s = calloc(n ? n : 1, sizeof *s);
        bool ok = s != NULL;
        for (uint64_t j = 0; ok && j < n; j++) {
            lf_gguf_value e;
            ok = lf_gguf_arr_get(v, i, j, &e) && (s[j] = strndup(e.v.s.ptr, e.v.s.len));
        }
        ok = ok ? lf_gguf_set_arr_str(w, key, (const char *const *)s, n, err)
                : (snprintf(err->msg, sizeof err->msg, "out of memory"), false);
        for (uint64_t j = 0; s && j < n; j++)
            free(s[j]);
        free(s);
        return ok;
    }
    static const int k_size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    int es = a.arr_type >= 0 && a.arr_type < 13 ? k_size[a.arr_type] : 0;
    uint8_t *raw = malloc(n * (uint64_t)es + 1);
    if (!raw || !es) {
        free(raw);
        snprintf(err->msg, sizeof err->msg, "%.400s: unsupported array", key);
        return false;
    }
    for (uint64_t j = 0; j < n; j++) {
        lf_gguf_value e;
        lf_gguf_arr_get(v, i, j, &e);
        uint8_t *d = raw + j * (uint64_t)es;
        uint64_t u = e.v.u;
        if (e.type == LF_GGUF_FLOAT32) {
            float f = (float)e.v.f;
            memcpy(d, &f, 4);
        } else if (e.type == LF_GGUF_FLOAT64) {
            memcpy(d, &e.v.f, 8);
        } else if (e.type == LF_GGUF_BOOL) {
            d[0] = e.v.b;
        } else {
            if (e.type == LF_GGUF_INT8 || e.type == LF_GGUF_INT16 || e.type == LF_GGUF_INT32 ||
                e.type == LF_GGUF_INT64)
                u = (uint64_t)e.v.i;
            for (int b = 0; b < es; b++)
                d[b] = (uint8_t)(u >> 8 * b);
        }
    }
    bool ok = lf_gguf_set_arr(w, key, a.arr_type, raw, n, err);
    free(raw);
    return ok;
}

static bool copy_scalar(lf_gguf_writer *w, const lf_gguf_value *v, const char *key,
                        lf_error *err) {
    uint8_t raw[8];
    uint64_t u = v->v.u;
    switch (v->type) {
    case LF_GGUF_STRING: {
        char *s = strndup(v->v.s.ptr, v->v.s.len);
        bool ok = s && lf_gguf_set_str(w, key, s, err);
        free(s);
        return ok;
    }
    case LF_GGUF_BOOL: return lf_gguf_set_scalar(w, key, v->type, &v->v.b, err);
    case LF_GGUF_FLOAT32: return lf_gguf_set_f32(w, key, (float)v->v.f, err);
    case LF_GGUF_FLOAT64: return lf_gguf_set_scalar(w, key, v->type, &v->v.f, err);
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        u = (uint64_t)v->v.i;
        /* fall through */
    default:
        for (int b = 0; b < 8; b++)
            raw[b] = (uint8_t)(u >> 8 * b);
        return lf_gguf_set_scalar(w, key, v->type, raw, err);
    }
}

static const char k_tmpl_key[] = "tokenizer.chat_template";

/* Copies the tokenizer.* keys of the vocab file; token arrays are cut to
 * n_vocab entries. A template (not NULL) replaces the file's chat template. */
static bool copy_vocab(lf_gguf_writer *w, const char *path, int n_vocab, const char *tmpl,
                       lf_error *err) {
    lf_gguf *v = lf_gguf_open(path, err);
    if (!v)
        return false;
    int64_t it = lf_gguf_find_key(v, "tokenizer.ggml.tokens");
    uint64_t n_tokens = it >= 0 ? lf_gguf_kv_value(v, it).arr_n : 0;
    bool ok = true;
    if (!n_tokens || (uint64_t)n_vocab > n_tokens) {
        snprintf(err->msg, sizeof err->msg, "%.400s: has %llu tokens, %d wanted", path,
                 (unsigned long long)n_tokens, n_vocab);
        ok = false;
    }
    for (int64_t i = 0; ok && i < lf_gguf_kv_count(v); i++) {
        lf_str k = lf_gguf_kv_key(v, i);
        if (k.len < 10 || memcmp(k.ptr, "tokenizer.", 10))
            continue;
        if (tmpl && k.len == strlen(k_tmpl_key) && !memcmp(k.ptr, k_tmpl_key, k.len))
            continue;
        char *key = strndup(k.ptr, k.len);
        lf_gguf_value val = lf_gguf_kv_value(v, i);
        if (!key)
            ok = false;
        else if (val.type == LF_GGUF_ARRAY)
            ok = copy_array(w, v, i, key, val.arr_n == n_tokens ? (uint64_t)n_vocab : val.arr_n,
                            err);
        else
            ok = copy_scalar(w, &val, key, err);
        free(key);
    }
    lf_gguf_close(v);
    return ok && (!tmpl || lf_gguf_set_str(w, k_tmpl_key, tmpl, err));
}

/* ------------------------------------------------------------ the file */

static bool write_data(const char *tmp, const wtensor *t, int n, uint64_t seed, lf_error *err) {
    lf_gguf *g = lf_gguf_open(tmp, err);
    if (!g)
        return false;
    uint64_t *off = malloc(sizeof(uint64_t) * (size_t)n);
    for (int i = 0; off && i < n; i++)
        off[i] = lf_gguf_tensor_at(g, i)->file_offset;
    lf_gguf_close(g);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK * 4);
    int fd = open(tmp, O_RDWR | O_CLOEXEC);
    bool ok = off && buf && fd >= 0;
    if (!ok)
        snprintf(err->msg, sizeof err->msg, "%.400s: %s", tmp, fd < 0 ? strerror(errno) : "out of memory");
    for (int i = 0; ok && i < n; i++) {
        int64_t total = t[i].ne[0] * t[i].ne[1], es = t[i].type == LF_TYPE_F32 ? 4 : 2;
        uint64_t key = name_hash(seed, t[i].name);
        for (int64_t i0 = 0; ok && i0 < total; i0 += CHUNK) {
            int64_t k = total - i0 < CHUNK ? total - i0 : CHUNK;
            fill(&t[i], key, i0, k, buf);
            ok = pwrite(fd, buf, (size_t)(k * es), (off_t)(off[i] + (uint64_t)(i0 * es))) ==
                 (ssize_t)(k * es);
            if (!ok)
                snprintf(err->msg, sizeof err->msg, "%.400s: cannot write: %s", tmp, strerror(errno));
        }
    }
    if (ok && fsync(fd) != 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: cannot write: %s", tmp, strerror(errno));
        ok = false;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    free(off);
    return ok;
}

static bool make_model(const char *out, const preset *p, int type, const char *vocab,
                       const char *tmpl, uint64_t seed, lf_error *err) {
    int max = 4 + 9 * p->n_layer;
    wtensor *t = calloc((size_t)max, sizeof *t);
    lf_gguf_writer *w = lf_gguf_writer_new();
    char *tmp = malloc(strlen(out) + 16);
    if (!t || !w || !tmp) {
        free(t);
        free(tmp);
        lf_gguf_writer_free(w);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    sprintf(tmp, "%s.partial", out);
    int n = llama_tensors(p, type, t);
    bool ok = llama_hparams(w, p, p->name, type, err) && copy_vocab(w, vocab, p->n_vocab, tmpl, err);
    for (int i = 0; ok && i < n; i++)
        ok = lf_gguf_add_tensor(w, t[i].name, t[i].type, t[i].n_dims, t[i].ne, NULL, err);
    ok = ok && lf_gguf_writer_write(w, tmp, err);
    lf_gguf_writer_free(w);
    bool created = ok;
    ok = ok && write_data(tmp, t, n, seed, err);
    if (ok && rename(tmp, out) != 0) {
        snprintf(err->msg, sizeof err->msg, "%.400s: cannot rename into place: %s", out,
                 strerror(errno));
        ok = false;
    }
    if (!ok && created)
        unlink(tmp);
    free(tmp);
    free(t);
    return ok;
}

/* ------------------------------------------------------------ main */

static bool parse_u(const char *s, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return false;
    *out = v;
    return true;
}

/* Options that override a preset field, in the order of preset's ints. */
static const char *const k_overrides[] = {
    "--n-layer", "--n-embd", "--n-ff", "--n-head", "--n-head-kv", "--n-vocab", "--n-ctx",
};
enum { N_OVERRIDES = sizeof k_overrides / sizeof k_overrides[0] };

static int override_index(const char *a) {
    for (int i = 0; i < N_OVERRIDES; i++)
        if (!strcmp(a, k_overrides[i]))
            return i;
    return -1;
}

int main(int argc, char **argv) {
    const char *arch = NULL, *preset_name = NULL, *out = NULL, *vocab = NULL;
    const char *tmpl_path = NULL;
    int type = LF_TYPE_F16;
    long seed = 1;
    long over[N_OVERRIDES] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k;
        if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--version")) {
            fputs(strcmp(a, "--version") ? k_usage : "llamafile-mkmodel " LF_VERSION_STRING "\n",
                  stdout);
            lf_error err;
            return lf_stdout_close(&err) ? 0 : die("%s", err.msg);
        }
        if (a[0] != '-') {
            if (out)
                return die("unexpected argument '%s' (see --help)", a);
            out = a;
            continue;
        }
        if (i + 1 >= argc)
            return die("option %s needs a value (see --help)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--arch")) arch = v;
        else if (!strcmp(a, "--preset")) preset_name = v;
        else if (!strcmp(a, "--vocab")) vocab = v;
        else if (!strcmp(a, "--chat-template")) tmpl_path = v;
        else if (!strcmp(a, "--type")) {
            type = lf_type_from_name(v);
            if (type != LF_TYPE_F16 && type != LF_TYPE_BF16 && type != LF_TYPE_F32)
                return die("unsupported --type '%s' (F16, BF16 or F32)", v);
        } else if (!strcmp(a, "--seed")) {
            if (!parse_u(v, 1L << 30, &seed))
                return die("invalid seed '%s'", v);
        } else if ((k = override_index(a)) >= 0) {
            if (!parse_u(v, 1 << 20, &over[k]))
                return die("invalid value '%s'", v);
        } else
            return die("unknown option '%s' (see --help)", a);
    }
    if (!arch || !preset_name || !out)
        return die("%s", "--arch, --preset and an output file are required (see --help)");
    if (strcmp(arch, "llama"))
        return die("unsupported architecture '%s' (llama)", arch);
    preset p = {0};
    for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++)
        if (!strcmp(preset_name, k_presets[i].name))
            p = k_presets[i];
    if (!p.name)
        return die("unknown preset '%s' (tinyllama-1.1b, tiny)", preset_name);
    int *fields[N_OVERRIDES] = {&p.n_layer, &p.n_embd,    &p.n_ff, &p.n_head,
                                &p.n_head_kv, &p.n_vocab, &p.n_ctx};
    for (int k = 0; k < N_OVERRIDES; k++)
        if (over[k])
            *fields[k] = (int)over[k];
    if (p.n_embd % p.n_head || p.n_head % p.n_head_kv)
        return die("%s", "n_embd must be a multiple of n_head, n_head of n_head_kv");
    char def[4096];
    if (!vocab) {
        const char *sh = getenv("SHARED");
        snprintf(def, sizeof def, "%.4000s/vocab/ggml-vocab-llama-spm.gguf", sh && *sh ? sh : "../shared");
        vocab = def;
    }
    lf_error err;
    char *tmpl = NULL;
    if (tmpl_path) {
        size_t len;
        if (!(tmpl = lf_read_text(tmpl_path, LF_TEXT_MAX, &len, &err)))
            return die("%s", err.msg);
        if (strlen(tmpl) != len) {
            free(tmpl);
            return die("%s: the chat template has a NUL byte", tmpl_path);
        }
    }
    bool ok = make_model(out, &p, type, vocab, tmpl, (uint64_t)seed, &err);
    free(tmpl);
    if (!ok)
        return die("%s", err.msg);
    return 0;
}
