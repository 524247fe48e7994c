/* Conformance: every model in ../shared/vectors/manifest.json whose
 * architecture we run, in batch mode and one token at a time, against
 * llama.cpp's logits within the manifest's suggested tolerance:
 * rms and max |Δ|, and the same top-1 wherever the reference's top-1/top-2
 * margin exceeds top1_required_where_ref_margin_gt. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

typedef struct tolerance {
    double max_abs, rms, margin;
} tolerance;

static float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    float *v = malloc(n * sizeof(float));
    bool ok = f && v && fread(v, sizeof(float), n, f) == n;
    if (f)
        fclose(f);
    if (!ok) {
        free(v);
        return NULL;
    }
    return v;
}

static int argmax(const float *x, int n, float *margin) {
    int a = 0, b = -1;
    for (int i = 1; i < n; i++) {
        if (x[i] > x[a]) {
            b = a;
            a = i;
        } else if (b < 0 || x[i] > x[b]) {
            b = i;
        }
    }
    if (margin)
        *margin = x[a] - x[b];
    return a;
}

/* Runs the tokens through a fresh context; out gets n_tok rows of logits. */
static bool run(lf_model *m, const int32_t *tok, int n_tok, bool sequential, float *out,
                lf_error *err) {
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 2;
    lf_context *c = lf_context_new(m, &cp, err);
    if (!c)
        return false;
    int nv = lf_model_n_vocab(m), step = sequential ? 1 : n_tok;
    int32_t pos[256], seq[256] = {0};
    int8_t want[256];
    for (int i = 0; i < n_tok; i++)
        pos[i] = i, want[i] = 1;
    bool ok = true;
    for (int i0 = 0; ok && i0 < n_tok; i0 += step) {
        lf_batch b = {step, tok + i0, pos + i0, seq + i0, want + i0};
        ok = lf_decode(c, &b, err);
        for (int i = 0; ok && i < step; i++)
            memcpy(out + (size_t)(i0 + i) * nv, lf_get_logits_ith(c, i), sizeof(float) * nv);
    }
    lf_context_free(c);
    return ok;
}

/* Sequence 0 = tok, sequence 1 = tok rotated by half, interleaved in one
 * batch; out gets sequence 0's rows. */
static bool run_two(lf_model *m, const int32_t *tok, int n_tok, float *out, lf_error *err) {
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = 512;
    cp.n_threads = 2;
    cp.n_seq_max = 2;
    lf_context *c = lf_context_new(m, &cp, err);
    if (!c)
        return false;
    int32_t t2[512], pos[512], seq[512];
    int8_t want[512];
    for (int i = 0; i < n_tok; i++) {
        t2[2 * i] = tok[i], pos[2 * i] = i, seq[2 * i] = 0, want[2 * i] = 1;
        t2[2 * i + 1] = tok[(i + n_tok / 2) % n_tok], pos[2 * i + 1] = i, seq[2 * i + 1] = 1;
        want[2 * i + 1] = 1;
    }
    lf_batch b = {2 * n_tok, t2, pos, seq, want};
    bool ok = lf_decode(c, &b, err);
    int nv = lf_model_n_vocab(m);
    for (int i = 0; ok && i < n_tok; i++)
        memcpy(out + (size_t)i * nv, lf_get_logits_ith(c, 2 * i), sizeof(float) * nv);
    lf_context_free(c);
    return ok;
}

static void compare(const char *name, const float *got, const float *ref, int n_tok, int nv,
                    const tolerance *tol) {
    double max = 0, ss = 0;
    int top1_bad = 0, first_bad = -1;
    for (int t = 0; t < n_tok; t++) {
        const float *g = got + (size_t)t * nv, *r = ref + (size_t)t * nv;
        for (int i = 0; i < nv; i++) {
            double d = fabs((double)g[i] - r[i]);
            max = d > max ? d : max;
            ss += d * d;
        }
        float margin;
        int rt = argmax(r, nv, &margin);
        if (margin > tol->margin && argmax(g, nv, NULL) != rt && top1_bad++ == 0)
            first_bad = t;
    }
    double rms = sqrt(ss / ((double)n_tok * nv));
    TEST_BEGIN(name);
    EXPECT(rms <= tol->rms, "rms %.4g > %.4g (max %.4g)", rms, tol->rms, max);
    EXPECT(max <= tol->max_abs, "max |d| %.4g > %.4g (rms %.4g)", max, tol->max_abs, rms);
    EXPECT(top1_bad == 0, "top-1 differs at %d required positions (first: %d)", top1_bad,
           first_bad);
    TEST_END();
}

static void test_model(const char *dir, json_t *entry, const int32_t *tok, int n_tok) {
    const char *name = json_string_value(json_object_get(entry, "name"));
    const char *arch = json_string_value(json_object_get(entry, "arch"));
    json_t *files = json_object_get(entry, "files"), *st = json_object_get(entry, "suggested_tolerance");
    int nv = (int)json_integer_value(json_object_get(entry, "n_vocab"));
    if (!name || !arch || !files || !st || nv <= 0) {
        TEST_BEGIN("manifest entry");
        EXPECT(0, "malformed manifest entry");
        TEST_END();
        return;
    }
    char label[160];
    bool known = lf_arch_supported(arch);
    if (!known) {
        snprintf(label, sizeof label, "%s logits", name);
        SKIP(label, "architecture %s is not supported yet", arch);
        return;
    }
    tolerance tol = {
        json_real_value(json_object_get(st, "max_abs")),
        json_real_value(json_object_get(st, "rms")),
        json_real_value(json_object_get(st, "top1_required_where_ref_margin_gt")),
    };
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir,
             json_string_value(json_object_get(json_object_get(files, "gguf"), "path")));
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m || lf_model_n_vocab(m) != nv) {
        snprintf(label, sizeof label, "%s load", name);
        TEST_BEGIN(label);
        EXPECT(0, "%s", m ? "vocabulary size differs from the manifest" : err.msg);
        TEST_END();
        lf_model_free(m);
        return;
    }
    float *got = malloc(sizeof(float) * (size_t)n_tok * nv);
    static const char *const modes[2] = {"logits", "logits_seq"};
    for (int seq = 0; seq < 2; seq++) {
        snprintf(label, sizeof label, "%s %s", name, seq ? "one token at a time" : "batch");
        snprintf(path, sizeof path, "%s/%s", dir,
                 json_string_value(json_object_get(json_object_get(files, modes[seq]), "path")));
        float *ref = read_f32(path, (size_t)n_tok * nv);
        if (!ref || !got || !run(m, tok, n_tok, seq, got, &err)) {
            TEST_BEGIN(label);
            EXPECT(0, "%s", !ref ? "cannot read reference logits" : err.msg);
            TEST_END();
        } else {
            compare(label, got, ref, n_tok, nv, &tol);
        }
        free(ref);
    }
    /* several sequences in one batch: sequence 0 must give the logits it
     * gives alone, with another sequence interleaved in the same batch */
    snprintf(label, sizeof label, "%s two sequences in one batch", name);
    float *two = malloc(sizeof(float) * (size_t)n_tok * nv);
    TEST_BEGIN(label);
    bool ok = got && two && run(m, tok, n_tok, false, got, &err) &&
              run_two(m, tok, n_tok, two, &err);
    EXPECT(ok, "%s", err.msg);
    double worst = 0;
    for (size_t i = 0; ok && i < (size_t)n_tok * nv; i++)
        worst = fmax(worst, fabs((double)got[i] - two[i]));
    EXPECT(worst <= 1e-3, "sequence 0 differs by %.3g when batched with sequence 1", worst);
    TEST_END();
    free(two);
    free(got);
    lf_model_free(m);
}

int main(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/vectors", test_shared_dir());
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        SKIP("logits vectors", "cannot read %s: %s", path, jerr.text);
        return test_summary();
    }
    json_t *toks = json_object_get(root, "tokens"), *models = json_object_get(root, "models");
    int32_t tok[256];
    int n_tok = (int)json_array_size(toks);
    if (n_tok <= 0 || n_tok > 256 || !json_is_array(models)) {
        TEST_BEGIN("manifest");
        EXPECT(0, "manifest has no tokens or models");
        TEST_END();
        json_decref(root);
        return test_summary();
    }
    for (int i = 0; i < n_tok; i++)
        tok[i] = (int32_t)json_integer_value(json_array_get(toks, (size_t)i));
    size_t i;
    json_t *entry;
    json_array_foreach(models, i, entry) test_model(dir, entry, tok, n_tok);
    json_decref(root);
    return test_summary();
}
