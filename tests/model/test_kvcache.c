/* The KV cache with sliding-window groups: windowed layers keep only
 * window * n_seq + n_batch cells, evict what no query can see any more, keep
 * positions and rows consistent, survive cut-backs (dropping a sequence
 * whose window is gone), and give gemma3 the same logits as a full cache.
 * The full-history group keeps each sequence in attention tiles of its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "model/kvcache.h"
#include "model/model.h"
#include "tensor/fp16.h"
#include "tensor/kernels.h"

enum { W = 4, NB = 2, NSEQ = 2, NCELLS = 64, ROW = 8 };

static bool make_cache(lf_kvcache *c, const int32_t *window, int64_t n_cells) {
    static const int64_t rows[3] = {ROW, ROW, ROW};
    lf_kvcache_layout l = {
        .type = LF_TYPE_F32, .n_layer = 3, .n_cells = n_cells, .k_row = rows, .v_row = rows,
        .window = window, .n_batch = NB, .n_seq = NSEQ,
    };
    lf_error err;
    if (lf_kvcache_init_layout(c, &l, &err))
        return true;
    fprintf(stderr, "init: %s\n", err.msg);
    return false;
}

/* Places n tokens of seq from p0 and stores pos + 1000 * layer in every row. */
static bool put(lf_kvcache *c, int32_t seq, int32_t p0, int n, lf_error *err) {
    int32_t pos[NB], sq[NB], cells[3 * NB];
    for (int i = 0; i < n; i++)
        pos[i] = p0 + i, sq[i] = seq;
    if (!lf_kvcache_alloc(c, n, pos, sq, cells, err))
        return false;
    for (int l = 0; l < c->n_layer; l++)
        for (int t = 0; t < n; t++) {
            float row[ROW];
            for (int i = 0; i < ROW; i++)
                row[i] = (float)(pos[t] + 1000 * l + 100000 * seq);
            lf_kvcache_store(c, l, lf_kvcache_cell(c, l, cells, n, t), row, row);
        }
    return true;
}

/* Positions of seq held by layer's group, as a bit set (pos < 64), and
 * whether every live row holds what put() stored for its cell. */
static uint64_t held(const lf_kvcache *c, int layer, int32_t seq, bool *rows_ok) {
    lf_attn_kv kv = lf_kvcache_view(c, layer);
    uint64_t set = 0;
    for (int64_t i = 0; i < kv.n_cells; i++) {
        if (kv.pos[i] < 0 || !((kv.seqs[i] >> seq) & 1))
            continue;
        set |= 1ull << kv.pos[i];
        const float *k = (const float *)((const char *)kv.k + i * kv.k_row_bytes);
        const float *v = (const float *)((const char *)kv.v + i * kv.v_row_bytes);
        float want = (float)(kv.pos[i] + 1000 * layer + 100000 * seq);
        *rows_ok &= k[0] == want && v[ROW - 1] == want;
    }
    return set;
}

static uint64_t range(int lo, int hi) { /* bits lo..hi inclusive */
    uint64_t s = 0;
    for (int p = lo < 0 ? 0 : lo; p <= hi; p++)
        s |= 1ull << p;
    return s;
}

static void test_layout(void) {
    lf_kvcache c;
    static const int32_t window[3] = {W, 0, W};
    TEST_BEGIN("windowed layers get window * n_seq + n_batch cells");
    bool ok = make_cache(&c, window, NCELLS);
    EXPECT(ok, "init failed");
    if (ok) {
        EXPECT(c.n_group == 2, "%d groups", c.n_group);
        EXPECT(lf_kvcache_view(&c, 0).n_cells == W * NSEQ + NB, "window cells %lld",
               (long long)lf_kvcache_view(&c, 0).n_cells);
        EXPECT(lf_kvcache_view(&c, 1).n_cells == NCELLS, "full cells %lld",
               (long long)lf_kvcache_view(&c, 1).n_cells);
        size_t row = 2 * ROW * sizeof(float);
        EXPECT(lf_kvcache_bytes(&c) == (2 * (W * NSEQ + NB) + NCELLS) * row, "%zu bytes",
               lf_kvcache_bytes(&c));
        lf_kvcache_free(&c);
    }
    TEST_END();

    TEST_BEGIN("without windows the cache is one full group");
    static const int64_t rows[3] = {ROW, 0, ROW};
    lf_error err;
    ok = lf_kvcache_init(&c, LF_TYPE_F16, 3, NCELLS, rows, rows, &err);
    EXPECT(ok, "init: %s", err.msg);
    if (ok) {
        EXPECT(c.n_group == 1, "%d groups", c.n_group);
        EXPECT(lf_kvcache_bytes(&c) == 2 * NCELLS * 2 * ROW * 2, "%zu bytes", lf_kvcache_bytes(&c));
        EXPECT(c.k[1] == NULL, "a layer with k_row 0 got storage");
        lf_kvcache_free(&c);
    }
    TEST_END();
}

static void test_eviction(void) {
    lf_kvcache c;
    static const int32_t window[3] = {W, 0, W};
    if (!make_cache(&c, window, NCELLS))
        return;
    lf_error err;
    bool placed = true, rows_ok = true, window_ok = true, full_ok = true;
    /* two sequences, interleaved ubatches of NB tokens, 30 positions each */
    for (int p = 0; p < 30; p += NB)
        for (int s = 0; s < NSEQ; s++) {
            placed &= put(&c, s, p, NB, &err);
            /* a query at p can see p - W + 1 .. p + NB - 1 */
            window_ok &= held(&c, 0, s, &rows_ok) == range(p - W + 1, p + NB - 1);
            window_ok &= held(&c, 2, s, &rows_ok) == range(p - W + 1, p + NB - 1);
            full_ok &= held(&c, 1, s, &rows_ok) == range(0, p + NB - 1);
        }
    TEST_BEGIN("a window keeps exactly the positions its queries can see");
    EXPECT(placed, "alloc failed: %s", err.msg);
    EXPECT(window_ok, "windowed group holds other positions");
    EXPECT(full_ok, "full group lost positions");
    EXPECT(rows_ok, "a cell's row does not belong to its position");
    EXPECT(lf_kvcache_seq_pos_max(&c, 1) == 29, "pos max %d", lf_kvcache_seq_pos_max(&c, 1));
    TEST_END();

    TEST_BEGIN("cutting back within the window keeps the sequence");
    /* seq 1 holds 25..29; a query at 29 needs 26..28 */
    lf_kvcache_remove(&c, 1, 29, -1);
    EXPECT(lf_kvcache_seq_pos_max(&c, 1) == 28, "pos max %d", lf_kvcache_seq_pos_max(&c, 1));
    EXPECT(held(&c, 0, 1, &rows_ok) == range(25, 28), "window after cut");
    placed = put(&c, 1, 29, 1, &err);
    EXPECT(placed, "re-decode failed: %s", err.msg);
    EXPECT(held(&c, 0, 1, &rows_ok) == range(26, 29), "window after re-decode");
    EXPECT(rows_ok, "rows after re-decode");
    TEST_END();

    TEST_BEGIN("cutting back past the window drops the sequence");
    lf_kvcache_remove(&c, 0, 20, -1); /* 17..19 were evicted */
    EXPECT(lf_kvcache_seq_pos_max(&c, 0) == -1, "pos max %d", lf_kvcache_seq_pos_max(&c, 0));
    EXPECT(held(&c, 1, 0, &rows_ok) == 0 && held(&c, 0, 0, &rows_ok) == 0, "cells left");
    EXPECT(lf_kvcache_seq_pos_max(&c, 1) == 29, "other sequence touched");
    EXPECT(put(&c, 0, 0, NB, &err), "decoding again from 0 failed: %s", err.msg);
    EXPECT(held(&c, 0, 0, &rows_ok) == range(0, NB - 1), "fresh window");
    TEST_END();

    TEST_BEGIN("middle removal and release keep the counts right");
    int64_t used = c.group[0].used, used_w = c.group[1].used;
    int32_t pos[NB] = {40, 41}, sq[NB] = {1, 1}, cells[3 * NB];
    EXPECT(lf_kvcache_alloc(&c, NB, pos, sq, cells, &err), "alloc: %s", err.msg);
    lf_kvcache_release(&c, NB, cells);
    EXPECT(c.group[0].used == used, "full group used %lld, was %lld",
           (long long)c.group[0].used, (long long)used);
    EXPECT(c.group[1].used <= used_w, "window group grew on release");
    lf_kvcache_remove(&c, 1, 5, 10);
    EXPECT(held(&c, 1, 1, &rows_ok) == (range(0, 29) & ~range(5, 9)), "middle removal");
    EXPECT(lf_kvcache_seq_pos_max(&c, 1) == 29, "pos max after middle removal");
    lf_kvcache_remove(&c, -1, 0, -1);
    EXPECT(c.group[0].used == 0 && c.group[1].used == 0, "clear left cells");
    TEST_END();

    TEST_BEGIN("bad sequences and a full context are errors");
    sq[0] = NSEQ;
    EXPECT(!lf_kvcache_alloc(&c, 1, pos, sq, cells, &err), "sequence %d accepted", NSEQ);
    lf_kvcache_free(&c);
    EXPECT(make_cache(&c, window, 3), "small cache");
    EXPECT(put(&c, 0, 0, 2, &err) && !put(&c, 0, 2, 2, &err), "4 tokens fit in 3 cells");
    EXPECT(strstr(err.msg, "context is full") != NULL, "message: %s", err.msg);
    lf_kvcache_free(&c);
    TEST_END();
}

/* Decodes one batch of n tokens in a fresh context; out gets every row's
 * logits; *bytes the KV cache's size. */
static bool run_batch(lf_model *m, int n_batch, int n_seq, int n, const int32_t *tok,
                      const int32_t *pos, const int32_t *seq, float *out, size_t *bytes,
                      lf_error *err) {
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 256;
    p.n_threads = 2;
    p.n_batch = n_batch;
    p.n_seq_max = (uint32_t)n_seq;
    lf_context *c = lf_context_new(m, &p, err);
    if (!c)
        return false;
    int8_t want[64];
    for (int i = 0; i < n; i++)
        want[i] = 1;
    lf_batch b = {n, tok, pos, seq, want};
    bool ok = lf_decode(c, &b, err);
    int nv = lf_model_n_vocab(m);
    for (int i = 0; ok && i < n; i++)
        memcpy(out + (size_t)i * nv, lf_get_logits_ith(c, i), sizeof(float) * nv);
    *bytes = lf_kvcache_bytes(&c->kv);
    lf_context_free(c);
    return ok;
}

/* max |a - b| over n rows, and whether every row has the same argmax */
static double compare_rows(const float *a, const float *b, int n, int nv, bool *argmax_ok) {
    double max = 0;
    for (int t = 0; t < n; t++) {
        const float *x = a + (size_t)t * nv, *y = b + (size_t)t * nv;
        int ia = 0, ib = 0;
        for (int j = 0; j < nv; j++) {
            max = fmax(max, fabs((double)x[j] - y[j]));
            ia = x[j] > x[ia] ? j : ia;
            ib = y[j] > y[ib] ? j : ib;
        }
        *argmax_ok &= ia == ib;
    }
    return max;
}

/* gemma3 (layer 0 slides over 8 positions): a small ubatch gives a small
 * window cache and the same logits as one big batch, up to the order in
 * which the ring's cells are summed (~2e-3 on these random-weight models;
 * the reference tolerance is 1.8e-2); so do two sequences in one batch. */
static void test_gemma3(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/gemma3-F16.gguf", test_shared_dir());
    lf_error err;
    lf_model *m = lf_model_load(path, &err);
    if (!m) {
        SKIP("gemma3 windowed cache", "%s", err.msg);
        return;
    }
    enum { N = 40 };
    int nv = lf_model_n_vocab(m);
    float *ref = malloc(sizeof(float) * N * (size_t)nv * 3);
    float *got = ref + (size_t)N * nv, *ref_b = got + (size_t)N * nv;
    int32_t tok[N], pos[N], seq[N] = {0}, tok2[N], pos2[N], seq2[N];
    for (int i = 0; i < N; i++)
        tok[i] = (i * 37 + 11) % nv, pos[i] = i;
    size_t bytes_full = 0, bytes_win = 0, bytes2 = 0;
    bool argmax_ok = true;
    bool ok = ref && run_batch(m, 256, 1, N, tok, pos, seq, ref, &bytes_full, &err) &&
              run_batch(m, 3, 1, N, tok, pos, seq, got, &bytes_win, &err);
    double max = ok ? compare_rows(got, ref, N, nv, &argmax_ok) : 0;
    TEST_BEGIN("gemma3: a 3-token window cache gives the full cache's logits");
    EXPECT(ok, "%s", err.msg);
    EXPECT(max < 1e-2 && argmax_ok, "max |d| %.3g, argmax same: %d", max, argmax_ok);
    /* 2 KV heads x 64 dims x f16, K and V: 512 bytes per cell per layer */
    EXPECT(bytes_win == (size_t)(256 + 8 + 3) * 512, "%zu bytes of KV with n_batch 3", bytes_win);
    EXPECT(bytes_full == (size_t)(256 + 256) * 512, "%zu bytes with n_batch 256", bytes_full);
    TEST_END();

    /* sequence 0 = tok[0..20), sequence 1 = tok[20..40), interleaved */
    for (int i = 0; i < N; i++) {
        int s = i % 2, k = i / 2;
        tok2[i] = tok[s * N / 2 + k], pos2[i] = k, seq2[i] = s;
    }
    ok = ok && run_batch(m, 256, 1, N / 2, tok + N / 2, pos, seq, ref_b, &bytes_full, &err) &&
         run_batch(m, 4, 2, N, tok2, pos2, seq2, got, &bytes2, &err);
    max = 0;
    argmax_ok = true;
    for (int i = 0; ok && i < N; i++) {
        const float *want = (i % 2 ? ref_b : ref) + (size_t)(i / 2) * nv;
        max = fmax(max, compare_rows(got + (size_t)i * nv, want, 1, nv, &argmax_ok));
    }
    TEST_BEGIN("gemma3: two sequences in one batch through a window cache match each alone");
    EXPECT(ok, "%s", err.msg);
    EXPECT(max < 1e-2 && argmax_ok, "max |d| %.3g, argmax same: %d", max, argmax_ok);
    EXPECT(bytes2 == (size_t)(256 + 8 * 2 + 4) * 512, "%zu bytes of KV", bytes2);
    TEST_END();
    free(ref);
    lf_model_free(m);
}

/* The cell of seq at position p in the full-history group, -1 if none. */
static int64_t cell_of(const lf_kvcache *c, int32_t seq, int32_t p) {
    for (int64_t i = 0; i < c->group[0].n_cells; i++)
        if (c->group[0].pos[i] == p && lf_kvcache_has_seq(&c->group[0], i, seq))
            return i;
    return -1;
}

static void test_tiles(void) {
    enum { T = LF_ATTN_TILE };
    lf_kvcache c;
    lf_error err;
    bool ok = true;
    TEST_BEGIN("one sequence fills the cells in order");
    EXPECT(make_cache(&c, NULL, 4 * T), "cache");
    for (int p = 0; p < T + 6; p++)
        ok &= put(&c, 0, p, 1, &err) && cell_of(&c, 0, p) == p;
    EXPECT(ok, "position %lld not in its cell", (long long)c.group[0].used - 1);
    lf_kvcache_free(&c);
    TEST_END();

    TEST_BEGIN("sequences decoded together keep to tiles of their own");
    EXPECT(make_cache(&c, NULL, 4 * T), "cache");
    for (int p = 0; p < T + 10 && ok; p++)
        ok = put(&c, 0, p, 1, &err) && put(&c, 1, p, 1, &err);
    EXPECT(ok, "put: %s", err.msg);
    for (int p = 1; p < T + 10; p++)
        for (int s = 0; s < 2; s++) {
            int64_t a = cell_of(&c, s, p - 1), b = cell_of(&c, s, p);
            EXPECT(b > a, "sequence %d: position %d in cell %lld after %lld", s, p, (long long)b,
                   (long long)a);
        }
    for (int64_t t0 = 0; t0 < 4 * T; t0 += T) {
        uint64_t m = 0;
        for (int64_t i = t0; i < t0 + T; i++)
            m |= c.group[0].seqs[i];
        EXPECT(m != 3, "tile at cell %lld holds both sequences", (long long)t0);
    }
    TEST_END();

    TEST_BEGIN("a cut-back sequence refills its own tile; a full cache still takes every cell");
    lf_kvcache_remove(&c, 0, 10, -1);
    int64_t last = cell_of(&c, 0, 9);
    EXPECT(put(&c, 0, 10, 1, &err) && cell_of(&c, 0, 10) == last + 1, "refill: cell %lld",
           (long long)cell_of(&c, 0, 10));
    int p = 11;
    while (c.group[0].used < c.group[0].n_cells && put(&c, (int32_t)(p % 2), 1000 + p, 1, &err))
        p++;
    EXPECT(c.group[0].used == c.group[0].n_cells, "stopped at %lld of %lld cells: %s",
           (long long)c.group[0].used, (long long)c.group[0].n_cells, err.msg);
    lf_kvcache_free(&c);
    TEST_END();
}

int main(void) {
    test_layout();
    test_eviction();
    test_gemma3();
    test_tiles();
    return test_summary();
}
