/* Embeddings contexts on stories260K: the per-token hidden states against
 * a reference in plain C (output.weight times the state gives the logits
 * of a normal context; the state divided by output_norm has unit RMS),
 * mean/cls/last pooling against those states, normalisation, two
 * sequences in one batch, a batch split into ubatches, the refusals; and
 * llama.cpp's own embedding vectors (../shared/vectors/embeddings) for the
 * models of that set we load. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "model_util.h"

enum { E_MAX = 1024, T_MAX = 64 };

static const int32_t toks[] = {1, 403, 407, 261, 378, 291, 376, 400, 428, 352, 303, 267};
enum { NT = sizeof toks / sizeof toks[0] };

static lf_context *embd_ctx(lf_model *m, int pooling, int norm, int n_batch, int n_seq,
                            lf_error *err) {
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 256;
    p.n_threads = 2;
    p.n_batch = n_batch;
    p.n_seq_max = (uint32_t)n_seq;
    p.embeddings = true;
    p.pooling_type = pooling;
    p.embd_normalize = norm;
    return lf_context_new(m, &p, err);
}

/* Decodes t[0..n) as sequence seq from position 0, every flag set. */
static bool run(lf_context *c, const int32_t *t, int n, int seq) {
    return decode(c, t, n, seq, 0);
}

static double rel_diff(const float *a, const float *b, int n) {
    if (!a || !b)
        return INFINITY;
    double m = 0, s = 0;
    for (int i = 0; i < n; i++) {
        m = fmax(m, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return m / (s > 0 ? s : 1);
}

static double norm2(const float *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return sqrt(s);
}

static double cosine(const float *a, const double *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++)
        ab += a[i] * b[i], aa += (double)a[i] * a[i], bb += b[i] * b[i];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static float states[NT][E_MAX]; /* pooling none, unnormalised */

static void test_none(lf_model *m) {
    int E = lf_model_n_embd(m), V = lf_model_n_vocab(m);
    lf_error err;
    const lf_gguf_tensor *W = lf_gguf_find_tensor(lf_model_gguf(m), "output.weight");
    const lf_gguf_tensor *N = lf_gguf_find_tensor(lf_model_gguf(m), "output_norm.weight");
    TEST_BEGIN("embeddings: pooling none gives the hidden states behind the logits");
    EXPECT(E <= E_MAX && W && W->type == LF_TYPE_F32 && N && N->type == LF_TYPE_F32,
           "stories260K should have F32 output weights of width <= %d", E_MAX);
    lf_context *lc = new_ctx(m, 2, 512, 1);
    lf_context *ec = embd_ctx(m, LF_POOLING_TYPE_NONE, -1, 512, 1, &err);
    EXPECT(ec, "context: %s", err.msg);
    if (E <= E_MAX && W && N && ec && run(lc, toks, NT, 0) && run(ec, toks, NT, 0)) {
        const float *w = W->data, *nw = N->data;
        double worst_logit = 0, worst_rms = 0;
        for (int t = 0; t < NT; t++) {
            const float *e = lf_get_embeddings_ith(ec, t), *l = lf_get_logits_ith(lc, t);
            EXPECT(e && l, "token %d: embeddings %p logits %p", t, (void *)e, (void *)l);
            if (!e || !l)
                break;
            memcpy(states[t], e, sizeof(float) * (size_t)E);
            double lmax = 0, d = 0;
            for (int v = 0; v < V; v++) {
                double dot = 0;
                for (int i = 0; i < E; i++)
                    dot += (double)w[(size_t)v * E + i] * e[i];
                d = fmax(d, fabs(dot - l[v]));
                lmax = fmax(lmax, fabs(l[v]));
            }
            worst_logit = fmax(worst_logit, d / lmax);
            double ss = 0; /* rms_norm's output has unit RMS before output_norm */
            for (int i = 0; i < E; i++)
                ss += ((double)e[i] / nw[i]) * ((double)e[i] / nw[i]);
            worst_rms = fmax(worst_rms, fabs(sqrt(ss / E) - 1));
        }
        EXPECT(worst_logit < 1e-4, "output.weight x state differs from the logits by %.3g",
               worst_logit);
        EXPECT(worst_rms < 1e-3, "state / output_norm has RMS off 1 by %.3g", worst_rms);
        EXPECT(lf_get_embeddings_ith(ec, -1) == lf_get_embeddings_ith(ec, NT - 1),
               "index -1 should be the last row");
        EXPECT(lf_get_embeddings(ec) == lf_get_embeddings_ith(ec, 0), "rows start at entry 0");
        EXPECT(!lf_get_logits_ith(ec, 0), "an embeddings context gives no logits");
        EXPECT(!lf_get_embeddings_seq(ec, 0), "pooling none gives no pooled vector");
        EXPECT(lf_pooling_type(ec) == LF_POOLING_TYPE_NONE, "pooling %d", lf_pooling_type(ec));
    } else {
        EXPECT(0, "decode failed");
    }
    /* only the flagged entries are outputs */
    int32_t pos[3] = {0, 1, 2}, sq[3] = {0};
    int8_t want[3] = {0, 1, 0};
    lf_kv_remove(ec, -1, 0, -1);
    lf_batch b = {3, toks, pos, sq, want};
    EXPECT(ec && lf_decode(ec, &b, &err), "decode: %s", err.msg);
    EXPECT(!lf_get_embeddings_ith(ec, 0) && !lf_get_embeddings_ith(ec, 2) &&
               rel_diff(lf_get_embeddings_ith(ec, 1), states[1], E) < 1e-5,
           "entries without their flag have no row; entry 1 equals the full run's");
    lf_context_free(lc);
    lf_context_free(ec);
    TEST_END();
}

static void test_off(lf_model *m) {
    TEST_BEGIN("embeddings: a normal context has none");
    lf_context_params p = lf_context_default_params();
    EXPECT(!p.embeddings && p.pooling_type == LF_POOLING_TYPE_UNSPECIFIED &&
               p.embd_normalize == 2,
           "defaults: embeddings %d pooling %d normalize %d", p.embeddings, p.pooling_type,
           p.embd_normalize);
    lf_context *c = new_ctx(m, 2, 512, 1);
    EXPECT(c && run(c, toks, 4, 0), "decode");
    EXPECT(c && !lf_get_embeddings_ith(c, 0) && !lf_get_embeddings_ith(c, -1) &&
               !lf_get_embeddings(c) && !lf_get_embeddings_seq(c, 0),
           "every embeddings getter should return NULL");
    EXPECT(c && lf_get_logits_ith(c, 0), "logits are there");
    EXPECT(c && lf_pooling_type(c) == LF_POOLING_TYPE_NONE, "pooling of a normal context");
    lf_context_free(c);
    TEST_END();
}

static void expect_pooled(lf_model *m, int pooling, const char *name, const float *want) {
    int E = lf_model_n_embd(m);
    lf_error err;
    char label[128];
    snprintf(label, sizeof label, "embeddings: %s pooling", name);
    TEST_BEGIN(label);
    lf_context *c = embd_ctx(m, pooling, -1, 512, 1, &err);
    EXPECT(c, "context: %s", err.msg);
    EXPECT(c && run(c, toks, NT, 0), "decode");
    double d = c ? rel_diff(lf_get_embeddings_seq(c, 0), want, E) : INFINITY;
    EXPECT(d < 1e-5, "pooled vector differs by %.3g", d);
    EXPECT(c && !lf_get_embeddings_ith(c, 0) && !lf_get_embeddings(c),
           "a pooled context gives no per-token rows");
    EXPECT(c && !lf_get_embeddings_seq(c, 1) && !lf_get_embeddings_seq(c, -1),
           "no vector for a sequence outside n_seq_max");
    EXPECT(c && lf_pooling_type(c) == pooling, "pooling %d", c ? lf_pooling_type(c) : -9);
    /* the same through ubatches of 5 tokens */
    lf_context *c5 = embd_ctx(m, pooling, -1, 5, 1, &err);
    EXPECT(c5 && run(c5, toks, NT, 0), "decode in ubatches");
    d = c5 ? rel_diff(lf_get_embeddings_seq(c5, 0), want, E) : INFINITY;
    EXPECT(d < 1e-5, "over ubatches of 5 the pooled vector differs by %.3g", d);
    lf_context_free(c5);
    lf_context_free(c);
    TEST_END();
}

static void test_pooling(lf_model *m) {
    int E = lf_model_n_embd(m);
    float mean[E_MAX];
    for (int i = 0; i < E; i++) {
        double s = 0;
        for (int t = 0; t < NT; t++)
            s += states[t][i];
        mean[i] = (float)(s / NT);
    }
    expect_pooled(m, LF_POOLING_TYPE_MEAN, "mean", mean);
    expect_pooled(m, LF_POOLING_TYPE_CLS, "cls", states[0]);
    expect_pooled(m, LF_POOLING_TYPE_LAST, "last", states[NT - 1]);
}

static void test_normalize(lf_model *m) {
    int E = lf_model_n_embd(m);
    lf_error err;
    TEST_BEGIN("embeddings: L2 normalisation gives unit vectors along the raw ones");
    lf_context *c = embd_ctx(m, LF_POOLING_TYPE_NONE, 2, 512, 1, &err);
    EXPECT(c && run(c, toks, NT, 0), "decode");
    for (int t = 0; c && t < NT; t++) {
        const float *e = lf_get_embeddings_ith(c, t);
        float want[E_MAX];
        double n = norm2(states[t], E);
        for (int i = 0; i < E; i++)
            want[i] = (float)(states[t][i] / n);
        EXPECT(e && fabs(norm2(e, E) - 1) < 1e-5, "token %d: length %g", t, e ? norm2(e, E) : 0);
        EXPECT(rel_diff(e, want, E) < 1e-5, "token %d: not raw / |raw|", t);
    }
    lf_context_free(c);
    c = embd_ctx(m, LF_POOLING_TYPE_MEAN, 2, 512, 1, &err);
    EXPECT(c && run(c, toks, NT, 0), "decode");
    const float *v = c ? lf_get_embeddings_seq(c, 0) : NULL;
    EXPECT(v && fabs(norm2(v, E) - 1) < 1e-5, "mean: length %g", v ? norm2(v, E) : 0);
    lf_context_free(c);
    /* the other norms, on a small vector */
    float x[4] = {3, -4, 0, 0}, y[4];
    lf_embd_normalize(x, y, 4, 1);
    EXPECT(fabsf(y[0] - 3.0f / 7) < 1e-7 && fabsf(y[1] + 4.0f / 7) < 1e-7, "taxicab");
    lf_embd_normalize(x, y, 4, 0);
    EXPECT(fabsf(y[1] + 32760) < 1e-2 && fabsf(y[0] - 24570) < 1e-2, "max-abs to int16");
    lf_embd_normalize(x, y, 4, -1);
    EXPECT(!memcmp(x, y, sizeof x), "-1: unchanged");
    float z[4] = {0}, zo[4] = {1, 1, 1, 1};
    lf_embd_normalize(z, zo, 4, 2);
    EXPECT(!zo[0] && !zo[3], "a zero vector stays zero");
    TEST_END();
}

/* Sequence 0 gets toks[0..8), sequence 1 toks[4..12) relabelled from
 * position 0, interleaved in one batch: each pools as it does alone. */
static void test_two_seqs(lf_model *m, int pooling, const char *name) {
    int E = lf_model_n_embd(m);
    lf_error err;
    char label[128];
    snprintf(label, sizeof label, "embeddings: two sequences in one batch pool apart (%s)",
             name);
    TEST_BEGIN(label);
    float alone[2][E_MAX];
    for (int s = 0; s < 2; s++) {
        lf_context *c = embd_ctx(m, pooling, 2, 512, 1, &err);
        EXPECT(c && run(c, toks + 4 * s, 8, 0), "decode alone");
        const float *v = c ? lf_get_embeddings_seq(c, 0) : NULL;
        if (v)
            memcpy(alone[s], v, sizeof(float) * (size_t)E);
        lf_context_free(c);
    }
    int32_t t2[16], pos[16], sq[16];
    int8_t want[16] = {0}; /* a pooled context ignores the flags */
    for (int i = 0; i < 8; i++) {
        t2[2 * i] = toks[i], pos[2 * i] = i, sq[2 * i] = 0;
        t2[2 * i + 1] = toks[4 + i], pos[2 * i + 1] = i, sq[2 * i + 1] = 1;
    }
    lf_context *c = embd_ctx(m, pooling, 2, 512, 3, &err);
    lf_batch b = {16, t2, pos, sq, want};
    EXPECT(c && lf_decode(c, &b, &err), "decode: %s", err.msg);
    for (int s = 0; c && s < 2; s++) {
        double d = rel_diff(lf_get_embeddings_seq(c, s), alone[s], E);
        EXPECT(d < 1e-5, "sequence %d differs from its run alone by %.3g", s, d);
    }
    EXPECT(c && !lf_get_embeddings_seq(c, 2), "sequence 2 had no tokens");
    /* a later batch of sequence 1 alone: sequence 0 has no vector any more */
    int32_t p8 = 8, s1 = 1;
    int8_t w1 = 1;
    lf_batch b1 = {1, toks, &p8, &s1, &w1};
    EXPECT(c && lf_decode(c, &b1, &err), "decode: %s", err.msg);
    EXPECT(c && !lf_get_embeddings_seq(c, 0) && lf_get_embeddings_seq(c, 1),
           "after a batch of sequence 1 only, sequence 0 has no vector");
    lf_context_free(c);
    TEST_END();
}

static void test_refusals(lf_model *m) {
    lf_error err;
    TEST_BEGIN("embeddings: bad pooling types are refused, the model's default is none");
    lf_context *c = embd_ctx(m, LF_POOLING_TYPE_RANK, 2, 512, 1, &err);
    EXPECT(!c && strstr(err.msg, "rank"), "rank pooling: %s", c ? "accepted" : err.msg);
    lf_context_free(c);
    c = embd_ctx(m, 7, 2, 512, 1, &err);
    EXPECT(!c && strstr(err.msg, "pooling"), "pooling 7: %s", c ? "accepted" : err.msg);
    lf_context_free(c);
    c = embd_ctx(m, LF_POOLING_TYPE_MEAN, -2, 512, 1, &err);
    EXPECT(!c && strstr(err.msg, "embd_normalize"), "normalize -2: %s", c ? "accepted" : err.msg);
    lf_context_free(c);
    c = embd_ctx(m, LF_POOLING_TYPE_UNSPECIFIED, 2, 512, 1, &err);
    EXPECT(c && lf_pooling_type(c) == LF_POOLING_TYPE_NONE,
           "stories260K has no pooling_type key: none (%s)", c ? "made" : err.msg);
    lf_context_free(c);
    TEST_END();
}

static int pooling_of(const char *s) {
    return !strcmp(s, "mean") ? LF_POOLING_TYPE_MEAN
           : !strcmp(s, "cls") ? LF_POOLING_TYPE_CLS
           : !strcmp(s, "last") ? LF_POOLING_TYPE_LAST
           : !strcmp(s, "none") ? LF_POOLING_TYPE_NONE
                                : -9;
}

/* One case of llama.cpp's embeddings.json: worst cosine, or -1 on error. */
static double run_case(lf_model *m, json_t *cs, char *why, size_t why_n) {
    json_t *ids = json_object_get(cs, "token_ids"), *vecs = json_object_get(cs, "embeddings");
    int pooling = pooling_of(json_string_value(json_object_get(cs, "pooling")));
    int n = (int)json_array_size(ids), E = lf_model_n_embd(m);
    if (n <= 0 || n > T_MAX || pooling < -1 || E > E_MAX ||
        json_array_size(vecs) != (pooling ? 1u : (size_t)n)) {
        snprintf(why, why_n, "malformed case");
        return -1;
    }
    int32_t t[T_MAX];
    for (int i = 0; i < n; i++)
        t[i] = (int32_t)json_integer_value(json_array_get(ids, (size_t)i));
    lf_error err;
    lf_context *c = embd_ctx(m, pooling, 2, 512, 1, &err);
    if (!c || !run(c, t, n, 0)) {
        snprintf(why, why_n, "%.200s", c ? "decode failed" : err.msg);
        lf_context_free(c);
        return -1;
    }
    double worst = 1;
    for (size_t r = 0; r < json_array_size(vecs); r++) {
        json_t *ref = json_array_get(vecs, r);
        const float *got = pooling ? lf_get_embeddings_seq(c, 0)
                                   : lf_get_embeddings_ith(c, (int32_t)r);
        double want[E_MAX];
        if (!got || json_array_size(ref) != (size_t)E) {
            snprintf(why, why_n, "no vector %zu, or a reference of another width", r);
            worst = -1;
            break;
        }
        for (int i = 0; i < E; i++)
            want[i] = json_number_value(json_array_get(ref, (size_t)i));
        worst = fmin(worst, cosine(got, want, E));
    }
    lf_context_free(c);
    return worst;
}

static void test_llama_cpp_vectors(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/embeddings/embeddings.json", test_shared_dir());
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        SKIP("embeddings: llama.cpp vectors", "%s: %s", path, je.text);
        return;
    }
    json_t *cases = json_object_get(root, "cases");
    const char *models[] = {"stories260K", "llama-F16", "qwen3-F16"};
    for (int k = 0; k < 3; k++) {
        if (k == 0)
            snprintf(path, sizeof path, "%s/models/stories260K.gguf", test_shared_dir());
        else
            snprintf(path, sizeof path, "%s/vectors/%s.gguf", test_shared_dir(), models[k]);
        char label[160];
        snprintf(label, sizeof label, "embeddings: llama.cpp's vectors for %s", models[k]);
        lf_error err;
        lf_model *m = lf_model_load(path, &err);
        if (!m) {
            SKIP(label, "%s", err.msg);
            continue;
        }
        TEST_BEGIN(label);
        int n_cases = 0;
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *cs = json_array_get(cases, i);
            const char *name = json_string_value(json_object_get(cs, "model"));
            if (!name || strcmp(name, models[k]))
                continue;
            char why[256] = "";
            double cos = run_case(m, cs, why, sizeof why);
            const char *pool = json_string_value(json_object_get(cs, "pooling"));
            EXPECT(cos >= 0.9999, "case %zu (%s): cosine %.6f %s", i, pool ? pool : "?", cos, why);
            n_cases++;
        }
        EXPECT(n_cases >= 15, "only %d cases for %s", n_cases, models[k]);
        lf_model_free(m);
        TEST_END();
    }
    json_decref(root);
}

/* Every architecture's forward writes the normed states (gemma3n has its
 * own output step; gemma3 and granitehybrid have logit-only steps after
 * it): each token's state divided by output_norm has unit RMS. */
static void test_archs(void) {
    const char *files[] = {"llama-Q8_0", "qwen3-Q8_0", "gemma3-Q8_0", "gemma3n-Q4_K_M",
                           "granitehybrid-Q8_0", "bailingmoe2-Q8_0", "gpt-oss-Q8_0"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        char path[1024], label[160];
        snprintf(path, sizeof path, "%s/vectors/%s.gguf", test_shared_dir(), files[k]);
        snprintf(label, sizeof label, "embeddings: %s gives the normed final states", files[k]);
        lf_error err;
        lf_model *m = lf_model_load(path, &err);
        if (!m) {
            SKIP(label, "%s", err.msg);
            continue;
        }
        TEST_BEGIN(label);
        int E = lf_model_n_embd(m);
        const lf_gguf_tensor *N = lf_gguf_find_tensor(lf_model_gguf(m), "output_norm.weight");
        EXPECT(N && N->type == LF_TYPE_F32 && E <= E_MAX, "an F32 output_norm of width %d", E);
        lf_context *c = embd_ctx(m, LF_POOLING_TYPE_NONE, -1, 512, 1, &err);
        EXPECT(c, "context: %s", err.msg);
        if (c && N && N->type == LF_TYPE_F32 && run(c, toks, NT, 0)) {
            const float *nw = N->data;
            double worst = 0;
            for (int t = 0; t < NT; t++) {
                const float *e = lf_get_embeddings_ith(c, t);
                double ss = 0;
                for (int i = 0; e && i < E; i++)
                    ss += ((double)e[i] / nw[i]) * ((double)e[i] / nw[i]);
                worst = e ? fmax(worst, fabs(sqrt(ss / E) - 1)) : INFINITY;
            }
            EXPECT(worst < 2e-3, "state / output_norm has RMS off 1 by %.3g", worst);
            EXPECT(!lf_get_logits_ith(c, 0), "no logits");
        } else {
            EXPECT(0, "decode failed");
        }
        lf_context_free(c);
        lf_model_free(m);
        TEST_END();
    }
}

int main(void) {
    lf_model *m = load_stories("embeddings");
    if (!m)
        return test_summary();
    test_off(m);
    test_none(m);
    test_pooling(m);
    test_normalize(m);
    test_two_seqs(m, LF_POOLING_TYPE_MEAN, "mean");
    test_two_seqs(m, LF_POOLING_TYPE_LAST, "last");
    test_two_seqs(m, LF_POOLING_TYPE_CLS, "cls");
    test_refusals(m);
    lf_model_free(m);
    test_llama_cpp_vectors();
    test_archs();
    return test_summary();
}
