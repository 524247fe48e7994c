/* test_quantize_rmse.c — model quantization (model/quantize.h) against
 * llama.cpp's llama-quantize.
 *
 *  - llama-F32.gguf (the master of ../shared/vectors) quantized to each of
 *    the 14 llama types: the tensors (order, names, types) equal the
 *    manifest's list for llama.cpp's file, and the error of every tensor
 *    against the master is within 3% of llama.cpp's. Tensors and files whose
 *    bytes equal llama.cpp's are counted (printed as # lines).
 *  - The type mix for every other model of the manifest (MoE, tied
 *    embeddings, hybrid, MXFP4_MOE...) equals the manifest's list.
 *  - --pure gives every quantizable tensor the base type; a row length that
 *    is not a multiple of 256 falls back as llama.cpp does. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "llamafile.h"
#include "model/quantize.h"
#include "tensor/types.h"

static char g_dir[1024];

static void vec_path(char *buf, size_t n, const char *file) {
    snprintf(buf, n, "%s/vectors/%s", test_shared_dir(), file);
}

static int64_t n_elements(const lf_gguf_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static bool name_is(lf_str s, const char *z) {
    return s.len == strlen(z) && !memcmp(s.ptr, z, s.len);
}

/* RMS of (dequantized t - master m). */
static double rmse(const lf_gguf_tensor *t, const lf_gguf_tensor *m) {
    int64_t n = n_elements(t);
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    double ss = -1;
    const lf_type_traits *tt = lf_type_traits_of(t->type), *mt = lf_type_traits_of(m->type);
    if (x && y && tt && tt->to_float && mt && mt->to_float) {
        tt->to_float(t->data, x, n);
        mt->to_float(m->data, y, n);
        ss = 0;
        for (int64_t i = 0; i < n; i++)
            ss += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        ss = sqrt(ss / (double)n);
    }
    free(x);
    free(y);
    return ss;
}

static json_t *manifest_model(json_t *manifest, const char *name) {
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(manifest, "models"), i, m) {
        const char *s = json_string_value(json_object_get(m, "name"));
        if (s && !strcmp(s, name))
            return m;
    }
    return NULL;
}

/* The tensors of g in its order equal the manifest's list (names, types). */
static void expect_tensor_list(const lf_gguf *g, json_t *model, const char *what) {
    json_t *list = json_object_get(model, "tensors");
    EXPECT(json_is_array(list) && (int64_t)json_array_size(list) == lf_gguf_tensor_count(g),
           "%s: %lld tensors, the manifest lists %zu", what,
           (long long)lf_gguf_tensor_count(g), json_array_size(list));
    for (int64_t i = 0; list && i < lf_gguf_tensor_count(g) && i < (int64_t)json_array_size(list);
         i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
        json_t *e = json_array_get(list, (size_t)i);
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *type = json_string_value(json_object_get(e, "type"));
        EXPECT(name && name_is(t->name, name), "%s: tensor %lld is %.*s, manifest %s", what,
               (long long)i, (int)t->name.len, t->name.ptr, name ? name : "?");
        EXPECT(type && lf_type_from_name(type) == t->type, "%s: %.*s is %s, manifest %s", what,
               (int)t->name.len, t->name.ptr, lf_type_name(t->type), type ? type : "?");
    }
}

static bool same_file(const char *a, const char *b) {
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    bool same = f && g;
    while (same) {
        int c = fgetc(f), d = fgetc(g);
        same = c == d;
        if (c == EOF)
            break;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

/* ------------------------------------------- the llama ladder vs llama.cpp */

typedef struct summary {
    const char *type;
    int n_tensors, n_same, n_quantized;
    double worst_ratio, rms_ours, rms_theirs;
    bool file_same;
} summary;

static void test_llama_type(json_t *manifest, const lf_gguf *master, const char *type,
                            summary *s) {
    char name[256], ref_path[1024], out[1200], master_path[1024];
    snprintf(name, sizeof name, "quantize llama-F32 to %s: mix and error match llama.cpp", type);
    memset(s, 0, sizeof *s);
    s->type = type;
    char file[64];
    snprintf(file, sizeof file, "llama-%s.gguf", type);
    vec_path(ref_path, sizeof ref_path, file);
    vec_path(master_path, sizeof master_path, "llama-F32.gguf");
    snprintf(out, sizeof out, "%s/%s", g_dir, file);
    lf_error err = {{0}};
    lf_gguf *ref = lf_gguf_open(ref_path, &err);
    snprintf(file, sizeof file, "llama-%s", type);
    json_t *model = manifest_model(manifest, file);
    if (!ref || !master || !model) {
        SKIP(name, "missing %s, llama-F32.gguf or its manifest entry", ref_path);
        if (ref)
            lf_gguf_close(ref);
        return;
    }
    TEST_BEGIN(name);
    lf_quantize_params p = {.ftype = lf_ftype_from_name(type), .n_threads = 2};
    bool ok = lf_model_quantize(master_path, out, &p, &err);
    EXPECT(ok, "%s", err.msg);
    lf_gguf *g = ok ? lf_gguf_open(out, &err) : NULL;
    EXPECT(!ok || g, "%s", err.msg);
    if (g) {
        expect_tensor_list(g, model, type);
        int64_t v;
        EXPECT(lf_gguf_get_int(g, "general.file_type", &v) && v == p.ftype,
               "general.file_type is not %d", p.ftype);
        s->file_same = same_file(out, ref_path);
        double ss_ours = 0, ss_theirs = 0;
        int64_t n_all = 0;
        for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++) {
            const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
            char tn[128];
            snprintf(tn, sizeof tn, "%.*s", (int)t->name.len, t->name.ptr);
            const lf_gguf_tensor *r = lf_gguf_find_tensor(ref, tn);
            const lf_gguf_tensor *m = lf_gguf_find_tensor(master, tn);
            EXPECT(r && m && r->type == t->type && r->nbytes == t->nbytes,
                   "%s: not in llama.cpp's file with the same type", tn);
            if (!r || !m || r->type != t->type || r->nbytes != t->nbytes)
                continue;
            s->n_tensors++;
            s->n_same += !memcmp(r->data, t->data, t->nbytes);
            if (t->type == LF_TYPE_F32)
                continue;
            s->n_quantized++;
            double a = rmse(t, m), b = rmse(r, m);
            EXPECT(a >= 0 && b >= 0, "%s: cannot dequantize %s", tn, lf_type_name(t->type));
            double ratio = b > 0 ? a / b : a == 0 ? 1 : INFINITY;
            EXPECT(ratio <= 1.03, "%s: rmse %.6g vs llama.cpp's %.6g (ratio %.4f)", tn, a, b,
                   ratio);
            s->worst_ratio = fmax(s->worst_ratio, ratio);
            ss_ours += a * a * (double)n_elements(t);
            ss_theirs += b * b * (double)n_elements(t);
            n_all += n_elements(t);
        }
        s->rms_ours = n_all ? sqrt(ss_ours / (double)n_all) : 0;
        s->rms_theirs = n_all ? sqrt(ss_theirs / (double)n_all) : 0;
        lf_gguf_close(g);
    }
    unlink(out);
    lf_gguf_close(ref);
    TEST_END();
}

/* ----------------------------------------------- the mix of other models */

static void test_manifest_mixes(json_t *manifest) {
    size_t i;
    json_t *m;
    int n_models = 0;
    TEST_BEGIN("type mix of every manifest model equals llama.cpp's");
    json_array_foreach(json_object_get(manifest, "models"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *path = json_string_value(
            json_object_get(json_object_get(json_object_get(m, "files"), "gguf"), "path"));
        if (!name || !path)
            continue;
        char full[1024];
        vec_path(full, sizeof full, path);
        lf_error err = {{0}};
        lf_gguf *g = lf_gguf_open(full, &err);
        EXPECT(g, "%s", err.msg);
        int64_t ftype;
        if (!g || !lf_gguf_get_int(g, "general.file_type", &ftype) || ftype == 0) {
            if (g)
                lf_gguf_close(g); /* the F32 masters have no mix */
            continue;
        }
        lf_quantize_params p = {.ftype = (int)ftype};
        lf_quantize_plan plan;
        bool ok = lf_quantize_plan_make(g, &p, &plan, &err);
        EXPECT(ok, "%s: %s", name, err.msg);
        json_t *list = json_object_get(m, "tensors");
        for (int64_t k = 0; ok && k < plan.n; k++) {
            const lf_gguf_tensor *t = lf_gguf_tensor_at(g, plan.order[k]);
            json_t *e = json_array_get(list, (size_t)k);
            const char *en = json_string_value(json_object_get(e, "name"));
            const char *et = json_string_value(json_object_get(e, "type"));
            EXPECT(en && name_is(t->name, en), "%s: tensor %lld is %.*s, manifest %s", name,
                   (long long)k, (int)t->name.len, t->name.ptr, en ? en : "?");
            EXPECT(et && lf_type_from_name(et) == plan.type[k], "%s: %.*s gets %s, manifest %s",
                   name, (int)t->name.len, t->name.ptr, lf_type_name(plan.type[k]),
                   et ? et : "?");
        }
        if (ok) {
            EXPECT(plan.n == (int64_t)json_array_size(list), "%s: %lld tensors, manifest %zu",
                   name, (long long)plan.n, json_array_size(list));
            lf_quantize_plan_free(&plan);
            n_models++;
        }
        lf_gguf_close(g);
    }
    EXPECT(n_models >= 20, "only %d models checked", n_models);
    printf("# type mix checked on %d models\n", n_models);
    TEST_END();
}

/* --------------------------------------------------- pure and fallbacks */

/* A llama model whose ffn_down rows (320) are not a multiple of 256. */
static bool make_odd_model(const char *path) {
    lf_gguf_writer *w = lf_gguf_writer_new();
    lf_error err;
    bool ok = w && lf_gguf_set_str(w, "general.architecture", "llama", &err) &&
              lf_gguf_set_u32(w, "llama.block_count", 1, &err) &&
              lf_gguf_set_u32(w, "llama.attention.head_count", 4, &err) &&
              lf_gguf_set_u32(w, "llama.attention.head_count_kv", 1, &err);
    static float data[320 * 256];
    for (int i = 0; i < 320 * 256; i++)
        data[i] = sinf((float)i * 0.37f) * 0.05f;
    const struct {
        const char *name;
        int64_t ne0, ne1;
    } k[] = {
        {"token_embd.weight", 256, 64},      {"output.weight", 256, 64},
        {"output_norm.weight", 256, 1},      {"blk.0.attn_v.weight", 256, 64},
        {"blk.0.ffn_down.weight", 320, 256}, {"blk.0.ffn_up.weight", 256, 320},
        {"blk.0.attn_q.weight", 256, 256},
    };
    for (size_t i = 0; ok && i < sizeof k / sizeof k[0]; i++) {
        int64_t ne[2] = {k[i].ne0, k[i].ne1};
        ok = lf_gguf_add_tensor(w, k[i].name, LF_TYPE_F32, k[i].ne1 > 1 ? 2 : 1, ne, data, &err);
    }
    ok = ok && lf_gguf_writer_write(w, path, &err);
    lf_gguf_writer_free(w);
    return ok;
}

static int planned_type(const lf_gguf *g, const lf_quantize_plan *plan, const char *name) {
    for (int64_t i = 0; i < plan->n; i++)
        if (name_is(lf_gguf_tensor_at(g, plan->order[i])->name, name))
            return plan->type[i];
    return -1;
}

static void test_pure_and_fallback(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/odd.gguf", g_dir);
    TEST_BEGIN("quantize: --pure, tied/untied output, fallbacks for odd row lengths");
    EXPECT(make_odd_model(path), "cannot write %s", path);
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open(path, &err);
    EXPECT(g, "%s", err.msg);
    static const struct {
        int ftype;
        bool pure;
        const char *tensor;
        int type;
    } k[] = {
        /* 1 layer: ffn_down and attn_v get more bits; 320 columns: Q6_K -> Q8_0 */
        {LF_FTYPE_Q4_K_M, false, "blk.0.ffn_down.weight", LF_TYPE_Q8_0},
        {LF_FTYPE_Q4_K_M, false, "blk.0.ffn_up.weight", LF_TYPE_Q4_K},
        {LF_FTYPE_Q4_K_M, false, "output.weight", LF_TYPE_Q6_K},
        {LF_FTYPE_Q4_K_M, false, "output_norm.weight", LF_TYPE_F32},
        {LF_FTYPE_Q4_K_M, false, "blk.0.attn_v.weight", LF_TYPE_Q6_K},
        {LF_FTYPE_Q4_K_M, true, "output.weight", LF_TYPE_Q4_K},
        {LF_FTYPE_Q4_K_M, true, "blk.0.attn_v.weight", LF_TYPE_Q4_K},
        {LF_FTYPE_Q4_K_M, true, "blk.0.ffn_down.weight", LF_TYPE_Q5_0},
        {LF_FTYPE_Q2_K, false, "blk.0.attn_v.weight", LF_TYPE_Q4_K},       /* n_gqa 4 */
        {LF_FTYPE_Q2_K, false, "blk.0.ffn_down.weight", LF_TYPE_Q4_0},
        {LF_FTYPE_Q5_K_M, true, "blk.0.ffn_down.weight", LF_TYPE_Q5_1},
        {LF_FTYPE_IQ4_XS, false, "blk.0.ffn_down.weight", LF_TYPE_IQ4_NL},
        {LF_FTYPE_IQ4_XS, false, "blk.0.attn_v.weight", LF_TYPE_Q5_K},
        {LF_FTYPE_Q6_K, false, "blk.0.ffn_down.weight", LF_TYPE_Q8_0},
        {LF_FTYPE_Q8_0, false, "output.weight", LF_TYPE_Q8_0},
        {LF_FTYPE_F16, false, "blk.0.ffn_down.weight", LF_TYPE_F16},
        {LF_FTYPE_F16, false, "output.weight", LF_TYPE_F16},
    };
    for (size_t i = 0; g && i < sizeof k / sizeof k[0]; i++) {
        lf_quantize_params p = {.ftype = k[i].ftype, .pure = k[i].pure};
        lf_quantize_plan plan;
        bool ok = lf_quantize_plan_make(g, &p, &plan, &err);
        EXPECT(ok, "%s", err.msg);
        if (!ok)
            continue;
        int t = planned_type(g, &plan, k[i].tensor);
        EXPECT(t == k[i].type, "%s%s: %s gets %s, want %s", lf_ftype_name(k[i].ftype),
               k[i].pure ? " --pure" : "", k[i].tensor, lf_type_name(t) ? lf_type_name(t) : "?",
               lf_type_name(k[i].type));
        lf_quantize_plan_free(&plan);
    }
    /* the whole file converts, and the fallback tensor has the right size */
    char out[1300];
    snprintf(out, sizeof out, "%s/odd-q4km.gguf", g_dir);
    lf_quantize_params p = {.ftype = LF_FTYPE_Q4_K_M, .n_threads = 3};
    EXPECT(lf_model_quantize(path, out, &p, &err), "%s", err.msg);
    lf_gguf *q = lf_gguf_open(out, &err);
    const lf_gguf_tensor *t = q ? lf_gguf_find_tensor(q, "blk.0.ffn_down.weight") : NULL;
    EXPECT(t && t->type == LF_TYPE_Q8_0 && t->nbytes == 256 * 10 * 34, "fallback tensor wrong");
    /* an already-quantized input needs allow_requantize */
    char out2[1300];
    snprintf(out2, sizeof out2, "%s/odd-q8.gguf", g_dir);
    lf_quantize_params p2 = {.ftype = LF_FTYPE_Q8_0};
    EXPECT(q && !lf_model_quantize(out, out2, &p2, &err) && strstr(err.msg, "requantiz"),
           "requantizing Q4_K_M without allow_requantize did not fail");
    char partial[1400];
    snprintf(partial, sizeof partial, "%s.partial", out2);
    EXPECT(access(out2, F_OK) != 0 && access(partial, F_OK) != 0, "a failed run left %s", out2);
    p2.allow_requantize = true;
    EXPECT(q && lf_model_quantize(out, out2, &p2, &err), "%s", err.msg);
    if (q)
        lf_gguf_close(q);
    if (g)
        lf_gguf_close(g);
    unlink(path);
    unlink(out);
    unlink(out2);
    TEST_END();
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/lf-test-quantize-XXXXXX");
    if (!mkdtemp(g_dir)) {
        printf("FAIL setup: cannot create a temporary directory\n");
        return 1;
    }
    char mpath[1024];
    vec_path(mpath, sizeof mpath, "manifest.json");
    json_error_t jerr;
    json_t *manifest = json_load_file(mpath, 0, &jerr);
    char master_path[1024];
    vec_path(master_path, sizeof master_path, "llama-F32.gguf");
    lf_error err;
    lf_gguf *master = lf_gguf_open(master_path, &err);
    if (!manifest || !master) {
        SKIP("quantize vs llama.cpp", "no %s or %s", mpath, master_path);
    } else {
        static const char *const k_types[] = {"F16",    "BF16",   "Q8_0",   "Q4_0", "Q4_1",
                                              "Q5_0",   "Q5_1",   "Q2_K",   "Q3_K_M", "Q4_K_M",
                                              "Q5_K_M", "Q6_K",   "IQ4_NL", "IQ4_XS"};
        enum { N = sizeof k_types / sizeof k_types[0] };
        summary s[N];
        for (int i = 0; i < N; i++)
            test_llama_type(manifest, master, k_types[i], &s[i]);
        printf("# type    tensors  bytes=llama.cpp  file=llama.cpp  rms(ours)    rms(llama.cpp)  "
               "worst tensor ratio\n");
        for (int i = 0; i < N; i++)
            printf("# %-7s %7d  %7d/%-7d  %-14s  %-11.6g  %-14.6g  %.4f\n", s[i].type,
                   s[i].n_tensors, s[i].n_same, s[i].n_tensors, s[i].file_same ? "identical" : "differs",
                   s[i].rms_ours, s[i].rms_theirs, s[i].worst_ratio);
        test_manifest_mixes(manifest);
    }
    test_pure_and_fallback();
    if (master)
        lf_gguf_close(master);
    json_decref(manifest);
    rmdir(g_dir);
    return test_summary();
}
