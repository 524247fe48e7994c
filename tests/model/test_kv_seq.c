/* Sequences in the KV cache: a prefix decoded once and shared with
 * lf_kv_copy continues in two sequences of one batch as each would alone;
 * lf_kv_keep leaves one; a removed range decoded again matches the
 * uninterrupted run; lf_kv_shift moves positions and re-applies RoPE (a
 * prefix decoded at 10.. and shifted to 0.. continues like one decoded at
 * 0..); pos_min / pos_max follow; what cannot be done in part (a window
 * already evicted, a recurrent state) is reported. On stories260K (llama),
 * gemma3 (local and global RoPE, a sliding window) and granitehybrid
 * (Mamba-2 state). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"
#include "model/model.h"
#include "model_util.h"

enum { NP = 20, NX = 5, S = 10, NMAX = NP + 2 * NX + 4 };

typedef struct setup {
    const char *name;
    lf_model *m;
    int nv, kv_type, n_batch;
    double tol;   /* logits of the same tokens by different cache paths */
    bool windowed, recurrent;
} setup;

static int32_t P[NP], X[NX], Y[NX], Z[NX];

static lf_context *ctx(const setup *su, int n_seq, int kv_type) {
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 128;
    p.n_threads = 2;
    p.n_batch = su->n_batch;
    p.n_seq_max = (uint32_t)n_seq;
    p.kv_type = kv_type;
    lf_error err;
    lf_context *c = lf_context_new(su->m, &p, &err);
    if (!c)
        fprintf(stderr, "context: %s\n", err.msg);
    return c;
}

/* Decodes n entries (all logits wanted) and copies the logits to out. */
static bool run(lf_context *c, int n, const int32_t *tok, const int32_t *pos, const int32_t *seq,
                float *out, int nv) {
    int8_t want[NMAX];
    for (int i = 0; i < n; i++)
        want[i] = 1;
    lf_batch b = {n, tok, pos, seq, want};
    lf_error err;
    if (!c || !lf_decode(c, &b, &err)) {
        fprintf(stderr, "decode: %s\n", c ? err.msg : "no context");
        return false;
    }
    for (int i = 0; out && i < n; i++)
        memcpy(out + (size_t)i * nv, lf_get_logits_ith(c, i), sizeof(float) * (size_t)nv);
    return true;
}

/* Tokens a then b (na + nb <= NMAX) of one sequence from position p0, in a
 * fresh context: out gets b's rows. */
static bool alone(const setup *su, int kv_type, int p0, const int32_t *a, int na,
                  const int32_t *b, int nb, float *out) {
    int32_t tok[NMAX], pos[NMAX], seq[NMAX] = {0};
    for (int i = 0; i < na + nb; i++)
        tok[i] = i < na ? a[i] : b[i - na], pos[i] = p0 + i;
    float *all = malloc(sizeof(float) * (size_t)(na + nb) * (size_t)su->nv);
    lf_context *c = ctx(su, 1, kv_type);
    bool ok = all && run(c, na + nb, tok, pos, seq, all, su->nv);
    if (ok)
        memcpy(out, all + (size_t)na * su->nv, sizeof(float) * (size_t)nb * (size_t)su->nv);
    lf_context_free(c);
    free(all);
    return ok;
}

/* n tokens of seq from p0: the entries of a batch. */
static void entries(int32_t *tok, int32_t *pos, int32_t *seq, const int32_t *t, int n, int s,
                    int p0) {
    for (int i = 0; i < n; i++)
        tok[i] = t[i], pos[i] = p0 + i, seq[i] = s;
}

static double diff_rows(const float *a, const float *b, int rows, int nv) {
    return max_diff(a, b, rows * nv);
}

/* Rows 2k (seq 0) and 2k+1 (seq 1) of an interleaved batch into a and b. */
static void split(const float *got, float *a, float *b, int n, int nv) {
    for (int k = 0; k < n; k++) {
        memcpy(a + (size_t)k * nv, got + (size_t)(2 * k) * nv, sizeof(float) * (size_t)nv);
        memcpy(b + (size_t)k * nv, got + (size_t)(2 * k + 1) * nv, sizeof(float) * (size_t)nv);
    }
}

static void interleave(int32_t *tok, int32_t *pos, int32_t *seq, const int32_t *a, int pa,
                       const int32_t *b, int pb, int n) {
    for (int k = 0; k < n; k++) {
        tok[2 * k] = a[k], pos[2 * k] = pa + k, seq[2 * k] = 0;
        tok[2 * k + 1] = b[k], pos[2 * k + 1] = pb + k, seq[2 * k + 1] = 1;
    }
}

static void test_copy_keep(const setup *su, float *buf) {
    int nv = su->nv;
    float *ref_x = buf, *ref_y = ref_x + NX * nv, *got = ref_y + NX * nv;
    float *got_x = got + 2 * NX * nv, *got_y = got_x + NX * nv, *ref_z = got_y + NX * nv;
    int32_t tok[NMAX], pos[NMAX], seq[NMAX];
    char name[160];
    snprintf(name, sizeof name, "%s: a copied prefix continues in two sequences as each alone",
             su->name);
    TEST_BEGIN(name);
    lf_context *c = ctx(su, 2, su->kv_type);
    lf_error err;
    entries(tok, pos, seq, P, NP, 0, 0);
    bool ok = alone(su, su->kv_type, 0, P, NP, X, NX, ref_x) &&
              alone(su, su->kv_type, 0, P, NP, Y, NX, ref_y) && run(c, NP, tok, pos, seq, NULL, nv);
    lf_kv_status st = ok ? lf_kv_copy(c, 0, 1, 0, -1, &err) : LF_KV_FAILED;
    EXPECT(st == LF_KV_DONE, "copy: %d %s", st, st == LF_KV_FAILED ? err.msg : "");
    EXPECT(lf_kv_seq_pos_max(c, 1) == NP - 1, "pos max of the copy %d", lf_kv_seq_pos_max(c, 1));
    EXPECT(c && c->kv.group[0].used == NP, "the copy took cells: %lld used",
           c ? (long long)c->kv.group[0].used : -1LL);
    interleave(tok, pos, seq, X, NP, Y, NP, NX);
    ok = ok && st == LF_KV_DONE && run(c, 2 * NX, tok, pos, seq, got, nv);
    EXPECT(ok, "decode");
    if (ok)
        split(got, got_x, got_y, NX, nv);
    EXPECT(ok && diff_rows(got_x, ref_x, NX, nv) < su->tol, "sequence 0 differs by %g",
           ok ? diff_rows(got_x, ref_x, NX, nv) : -1);
    EXPECT(ok && diff_rows(got_y, ref_y, NX, nv) < su->tol, "sequence 1 differs by %g",
           ok ? diff_rows(got_y, ref_y, NX, nv) : -1);
    EXPECT(c && c->kv.group[0].used == NP + 2 * NX, "%lld cells used",
           c ? (long long)c->kv.group[0].used : -1LL);
    TEST_END();

    snprintf(name, sizeof name, "%s: keep leaves one sequence, which carries on", su->name);
    TEST_BEGIN(name);
    lf_kv_keep(c, 1);
    EXPECT(lf_kv_seq_pos_max(c, 0) == -1, "sequence 0 still at %d", lf_kv_seq_pos_max(c, 0));
    EXPECT(lf_kv_seq_pos_max(c, 1) == NP + NX - 1, "sequence 1 at %d", lf_kv_seq_pos_max(c, 1));
    EXPECT(c->kv.group[0].used == NP + NX, "%lld cells used", (long long)c->kv.group[0].used);
    int32_t py[NP + NX];
    memcpy(py, P, sizeof P);
    memcpy(py + NP, Y, sizeof Y);
    ok = ok && alone(su, su->kv_type, 0, py, NP + NX, Z, NX, ref_z);
    entries(tok, pos, seq, Z, NX, 1, NP + NX);
    ok = ok && run(c, NX, tok, pos, seq, got, nv);
    EXPECT(ok && diff_rows(got, ref_z, NX, nv) < su->tol, "sequence 1 differs by %g",
           ok ? diff_rows(got, ref_z, NX, nv) : -1);
    /* sequence 0 starts over with nothing left of its old state */
    entries(tok, pos, seq, X, NX, 0, 0);
    ok = ok && alone(su, su->kv_type, 0, NULL, 0, X, NX, ref_x) &&
         run(c, NX, tok, pos, seq, got, nv);
    EXPECT(ok && diff_rows(got, ref_x, NX, nv) < su->tol, "fresh sequence 0 differs by %g",
           ok ? diff_rows(got, ref_x, NX, nv) : -1);
    lf_context_free(c);
    TEST_END();
}

/* A tail removed and decoded again (other tokens) matches the run that
 * never had it; a middle range removed and decoded again with the same
 * tokens matches the uninterrupted run. */
static void test_remove(const setup *su, float *buf) {
    int nv = su->nv;
    float *ref = buf, *got = ref + (NP + NX) * nv;
    int32_t tok[NMAX], pos[NMAX], seq[NMAX];
    char name[160];
    snprintf(name, sizeof name, "%s: a removed tail decoded again matches a run without it",
             su->name);
    TEST_BEGIN(name);
    lf_context *c = ctx(su, 1, su->kv_type);
    entries(tok, pos, seq, P, NP, 0, 0);
    bool ok = run(c, NP, tok, pos, seq, NULL, nv);
    entries(tok, pos, seq, X, 2, 0, NP);
    ok = ok && run(c, 2, tok, pos, seq, NULL, nv);
    lf_kv_status st = lf_kv_remove(c, 0, NP, -1);
    EXPECT(st == LF_KV_DONE, "status %d", st);
    EXPECT(lf_kv_seq_pos_max(c, 0) == NP - 1, "pos max %d", lf_kv_seq_pos_max(c, 0));
    entries(tok, pos, seq, Y, NX, 0, NP);
    ok = ok && alone(su, su->kv_type, 0, P, NP, Y, NX, ref) && run(c, NX, tok, pos, seq, got, nv);
    EXPECT(ok && diff_rows(got, ref, NX, nv) < su->tol, "differs by %g",
           ok ? diff_rows(got, ref, NX, nv) : -1);
    lf_context_free(c);
    TEST_END();
    if (su->windowed)
        return; /* the window no longer holds the middle */

    snprintf(name, sizeof name, "%s: a middle range removed and decoded again matches",
             su->name);
    TEST_BEGIN(name);
    c = ctx(su, 1, su->kv_type);
    entries(tok, pos, seq, P, NP, 0, 0);
    ok = alone(su, su->kv_type, 0, NULL, 0, P, NP, ref) && run(c, NP, tok, pos, seq, NULL, nv);
    st = lf_kv_remove(c, 0, 4, 9);
    EXPECT(st == LF_KV_DONE, "status %d", st);
    EXPECT(lf_kv_seq_pos_min(c, 0) == 0 && lf_kv_seq_pos_max(c, 0) == NP - 1, "bounds %d %d",
           lf_kv_seq_pos_min(c, 0), lf_kv_seq_pos_max(c, 0));
    entries(tok, pos, seq, P + 4, 5, 0, 4);
    ok = ok && run(c, 5, tok, pos, seq, got, nv);
    EXPECT(ok && diff_rows(got, ref + 4 * nv, 5, nv) < su->tol, "re-decoded rows differ by %g",
           ok ? diff_rows(got, ref + 4 * nv, 5, nv) : -1);
    lf_kv_remove(c, 0, 0, 2);
    EXPECT(lf_kv_seq_pos_min(c, 0) == 2, "pos min %d after removing 0..1",
           lf_kv_seq_pos_min(c, 0));
    lf_context_free(c);
    TEST_END();
}

/* A prefix at S.. shared by two sequences; sequence 1 shifted by -S
 * continues like a prefix decoded at 0.., sequence 0 where it was. */
static void test_shift(const setup *su, int kv_type, double tol, float *buf) {
    int nv = su->nv;
    float *ref0 = buf, *ref1 = ref0 + NX * nv, *got = ref1 + NX * nv;
    float *got0 = got + 2 * NX * nv, *got1 = got0 + NX * nv;
    int32_t tok[NMAX], pos[NMAX], seq[NMAX];
    char name[160];
    snprintf(name, sizeof name, "%s: a shifted prefix (KV %s) continues like one decoded there",
             su->name, kv_type == LF_TYPE_F32 ? "f32" : "f16");
    TEST_BEGIN(name);
    lf_context *c = ctx(su, 2, kv_type);
    lf_error err;
    entries(tok, pos, seq, P, NP, 0, S);
    bool ok = alone(su, kv_type, S, P, NP, X, NX, ref0) && alone(su, kv_type, 0, P, NP, X, NX, ref1) &&
              run(c, NP, tok, pos, seq, NULL, nv);
    lf_kv_status st = ok ? lf_kv_copy(c, 0, 1, -1, -1, &err) : LF_KV_FAILED;
    st = st == LF_KV_DONE ? lf_kv_shift(c, 1, 0, -1, -S, &err) : st;
    EXPECT(st == LF_KV_DONE, "status %d %s", st, st == LF_KV_FAILED ? err.msg : "");
    EXPECT(lf_kv_seq_pos_max(c, 1) == NP - 1, "pos max %d", lf_kv_seq_pos_max(c, 1));
    EXPECT(lf_kv_seq_pos_max(c, 0) == S + NP - 1, "sequence 0 moved: %d",
           lf_kv_seq_pos_max(c, 0));
    if (!su->windowed && !su->recurrent) {
        EXPECT(lf_kv_seq_pos_min(c, 1) == 0, "pos min %d", lf_kv_seq_pos_min(c, 1));
        EXPECT(lf_kv_seq_pos_min(c, 0) == S, "pos min of 0: %d", lf_kv_seq_pos_min(c, 0));
    }
    interleave(tok, pos, seq, X, S + NP, X, NP, NX);
    ok = ok && st == LF_KV_DONE && run(c, 2 * NX, tok, pos, seq, got, nv);
    if (ok)
        split(got, got0, got1, NX, nv);
    EXPECT(ok && diff_rows(got1, ref1, NX, nv) < tol, "shifted sequence differs by %g",
           ok ? diff_rows(got1, ref1, NX, nv) : -1);
    EXPECT(ok && diff_rows(got0, ref0, NX, nv) < su->tol, "unshifted sequence differs by %g",
           ok ? diff_rows(got0, ref0, NX, nv) : -1);
    lf_context_free(c);
    TEST_END();
}

/* Positions > window behind the end are evicted: a cut there drops the
 * whole sequence and says so; a cut of the last token does not. */
static void test_window_drop(const setup *su) {
    char name[160];
    snprintf(name, sizeof name, "%s: a cut behind the window reports the dropped sequence",
             su->name);
    TEST_BEGIN(name);
    int32_t tok[NMAX], pos[NMAX], seq[NMAX];
    lf_context *c = ctx(su, 1, su->kv_type);
    entries(tok, pos, seq, P, NP, 0, 0);
    bool ok = run(c, NP, tok, pos, seq, NULL, su->nv);
    EXPECT(ok, "decode");
    EXPECT(lf_kv_seq_pos_min(c, 0) > 0, "pos min %d: nothing evicted", lf_kv_seq_pos_min(c, 0));
    lf_kv_status st = lf_kv_remove(c, 0, NP - 1, -1);
    EXPECT(st == LF_KV_DONE && lf_kv_seq_pos_max(c, 0) == NP - 2, "tail cut: %d, pos max %d",
           st, lf_kv_seq_pos_max(c, 0));
    st = lf_kv_remove(c, 0, 3, -1);
    EXPECT(st == LF_KV_DROPPED, "status %d", st);
    EXPECT(lf_kv_seq_pos_max(c, 0) == -1, "pos max %d", lf_kv_seq_pos_max(c, 0));
    lf_context_free(c);
    TEST_END();

    snprintf(name, sizeof name, "%s: a context shift keeps the window, or reports the drop",
             su->name);
    TEST_BEGIN(name);
    c = ctx(su, 1, su->kv_type);
    lf_error err;
    ok = run(c, NP, tok, pos, seq, NULL, su->nv);
    /* keep 2, discard 5: the window (8) of the new end sees nothing evicted */
    st = ok ? lf_kv_remove(c, 0, 2, 7) : LF_KV_FAILED;
    EXPECT(st == LF_KV_DONE, "remove: %d", st);
    st = st == LF_KV_DONE ? lf_kv_shift(c, 0, 7, -1, -5, &err) : st;
    EXPECT(st == LF_KV_DONE && lf_kv_seq_pos_max(c, 0) == NP - 6, "shift: %d, pos max %d", st,
           lf_kv_seq_pos_max(c, 0));
    /* keep 2, discard 12 of the 15 left: evicted positions come within the window */
    st = lf_kv_remove(c, 0, 2, 14);
    st = st == LF_KV_DONE ? lf_kv_shift(c, 0, 14, -1, -12, &err) : st;
    EXPECT(st == LF_KV_DROPPED && lf_kv_seq_pos_max(c, 0) == -1, "second shift: %d, pos max %d",
           st, lf_kv_seq_pos_max(c, 0));
    lf_context_free(c);
    TEST_END();
}

/* A recurrent state cannot be cut, nor copied, in part. */
static void test_recurrent(const setup *su) {
    char name[160];
    snprintf(name, sizeof name, "%s: a partial cut or copy of a recurrent state is reported",
             su->name);
    TEST_BEGIN(name);
    int32_t tok[NMAX], pos[NMAX], seq[NMAX];
    lf_context *c = ctx(su, 2, su->kv_type);
    lf_error err;
    err.msg[0] = 0;
    entries(tok, pos, seq, P, NP, 0, 0);
    bool ok = run(c, NP, tok, pos, seq, NULL, su->nv);
    EXPECT(ok, "decode");
    EXPECT(lf_kv_seq_pos_min(c, 0) == NP - 1, "pos min %d", lf_kv_seq_pos_min(c, 0));
    lf_kv_status st = lf_kv_copy(c, 0, 1, 0, NP - 1, &err);
    EXPECT(st == LF_KV_FAILED && strstr(err.msg, "recurrent"), "copy status %d: %s", st, err.msg);
    EXPECT(lf_kv_seq_pos_max(c, 1) == -1, "the failed copy left cells");
    st = lf_kv_remove(c, 0, NP, -1);
    EXPECT(st == LF_KV_DONE && lf_kv_seq_pos_max(c, 0) == NP - 1, "no-op cut: %d", st);
    st = lf_kv_remove(c, 0, 5, -1);
    EXPECT(st == LF_KV_DROPPED && lf_kv_seq_pos_max(c, 0) == -1, "cut: %d, pos max %d", st,
           lf_kv_seq_pos_max(c, 0));
    lf_context_free(c);
    TEST_END();
}

static void run_all(setup *su) {
    su->nv = lf_model_n_vocab(su->m);
    for (int i = 0; i < NP; i++)
        P[i] = (i * 37 + 11) % su->nv;
    for (int i = 0; i < NX; i++)
        X[i] = (i * 53 + 7) % su->nv, Y[i] = (i * 29 + 101) % su->nv, Z[i] = (i * 71 + 3) % su->nv;
    float *buf = malloc(sizeof(float) * (size_t)su->nv * 8 * NMAX);
    if (!buf)
        return;
    test_copy_keep(su, buf);
    if (!su->recurrent) /* test_recurrent: it cannot be cut */
        test_remove(su, buf);
    test_shift(su, LF_TYPE_F32, su->tol, buf);
    if (!su->recurrent)
        test_shift(su, LF_TYPE_F16, su->tol * 10, buf);
    if (su->windowed)
        test_window_drop(su);
    if (su->recurrent)
        test_recurrent(su);
    free(buf);
}

static lf_model *load_vector(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/%s", test_shared_dir(), file);
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m)
        SKIP(file, "%s", err.msg);
    return m;
}

static void test_limit(lf_model *m) {
    TEST_BEGIN("n_seq_max above 64 is refused, naming the limit");
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 64;
    p.n_seq_max = 65;
    lf_error err;
    err.msg[0] = 0;
    lf_context *c = lf_context_new(m, &p, &err);
    EXPECT(!c && strstr(err.msg, "64"), "context made, or message: %s", err.msg);
    lf_context_free(c);
    p.n_seq_max = 64;
    c = lf_context_new(m, &p, &err);
    EXPECT(c, "64 sequences refused: %s", err.msg);
    lf_context_free(c);
    TEST_END();
}

int main(void) {
    lf_model *m = load_stories("kv_seq");
    if (m) {
        setup su = {.name = "stories260K", .m = m, .kv_type = LF_TYPE_F16, .n_batch = 512,
                    .tol = 1e-3};
        run_all(&su);
        test_limit(m);
        lf_model_free(m);
    }
    /* small ubatches: gemma3's window of 8 keeps 8 * n_seq + 4 cells */
    if ((m = load_vector("gemma3-F16.gguf"))) {
        setup su = {.name = "gemma3", .m = m, .kv_type = LF_TYPE_F16, .n_batch = 4,
                    .tol = 1e-2, .windowed = true};
        run_all(&su);
        lf_model_free(m);
    }
    if ((m = load_vector("granitehybrid-F16.gguf"))) {
        setup su = {.name = "granitehybrid", .m = m, .kv_type = LF_TYPE_F16, .n_batch = 512,
                    .tol = 5e-3, .recurrent = true};
        run_all(&su);
        lf_model_free(m);
    }
    return test_summary();
}
