/* Allocation-failure injection (SQLite style) beyond llama load + decode
 * (test_alloc_failure.c): tokenization (SPM on stories260K, BPE with its
 * pre-tokenizer on gpt-2's vocab, and loading that vocab), the streaming
 * detokenizer and stop matcher, the GGUF writer, quantization, the sampler
 * chain, a MoE model's load + decode and an embeddings context. For
 * n = 0, 1, 2, ... the n-th allocation of the operation fails (once); the
 * operation must then report out of memory (its documented way), never
 * succeed anyway, never crash, and free everything (run under
 * SANITIZE=address for leaks). The walk ends at the first n past every
 * allocation the operation makes, where the result must equal the
 * reference from an uninjected run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "base/alloc.h"
#include "llamafile.h"
#include "model_util.h"

enum { LIMIT = 20000, OUT_MAX = 4096 };

/* What an operation gives: a result to compare with the reference, and
 * whether it failed with out-of-memory (or failed otherwise). */
typedef struct result {
    enum { RES_OK, RES_OOM, RES_OTHER } kind;
    unsigned char out[OUT_MAX];
    size_t n;
    char msg[600];
} result;

typedef void op_fn(void *ud, result *r);

static void fail_with(result *r, bool oom, const char *msg) {
    r->kind = oom ? RES_OOM : RES_OTHER;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static void fail_err(result *r, const lf_error *err) {
    fail_with(r, strstr(err->msg, "out of memory") != NULL, err->msg);
}

static void put(result *r, const void *p, size_t n) {
    if (r->n + n > OUT_MAX)
        n = OUT_MAX - r->n;
    memcpy(r->out + r->n, p, n);
    r->n += n;
}

static void walk(const char *name, op_fn *op, void *ud) {
    static result ref, r;
    memset(&ref, 0, sizeof ref);
    op(ud, &ref);
    TEST_BEGIN(name);
    EXPECT(ref.kind == RES_OK, "the uninjected run failed: %s", ref.msg);
    int n = 0, oom = 0;
    bool ended = false;
    for (; ref.kind == RES_OK && n < LIMIT && !ended; n++) {
        long before = lf_alloc_failures();
        memset(&r, 0, sizeof r);
        lf_alloc_fail_after(n);
        op(ud, &r);
        lf_alloc_fail_after(-1);
        bool injected = lf_alloc_failures() > before;
        if (!injected) {
            ended = true;
            EXPECT(r.kind == RES_OK, "n=%d: failed with nothing injected: %s", n, r.msg);
        } else {
            EXPECT(r.kind != RES_OTHER, "n=%d: failed without saying out of memory: %s", n, r.msg);
            EXPECT(r.kind != RES_OK, "n=%d: an allocation failed but the operation succeeded", n);
            oom += r.kind == RES_OOM;
        }
        if (r.kind == RES_OK)
            EXPECT(r.n == ref.n && !memcmp(r.out, ref.out, r.n),
                   "n=%d: %s a result that differs from the reference", n,
                   injected ? "an allocation failed but it gave" : "gave");
    }
    EXPECT(ended, "more than %d allocations", LIMIT);
    printf("# %s: %d allocations, %d reported out of memory\n", name, n - 1, oom);
    TEST_END();
}

/* ---- tokenization ---- */

typedef struct tok_case {
    lf_model *m;          /* a loaded vocab, or NULL: load path each time */
    const char *path;
    const char *text;
} tok_case;

static void op_tokenize(void *ud, result *r) {
    tok_case *tc = ud;
    lf_error err;
    lf_model *m = tc->m ? tc->m : lf_model_load_vocab(tc->path, &err);
    if (!m) {
        fail_err(r, &err);
        return;
    }
    int32_t *tok = NULL;
    int64_t n = lf_tokenize_alloc(m, tc->text, strlen(tc->text), &tok, true, true);
    if (n < 0) {
        fail_with(r, n == -1, "lf_tokenize_alloc failed");
    } else {
        int32_t buf[512];
        int64_t k = lf_tokenize(m, tc->text, strlen(tc->text), buf, 512, true, true);
        if (k == INT64_MIN)
            fail_with(r, true, "lf_tokenize: out of memory");
        else if (k != n || memcmp(buf, tok, sizeof(int32_t) * (size_t)n))
            fail_with(r, false, "lf_tokenize and lf_tokenize_alloc disagree");
        else
            put(r, tok, sizeof(int32_t) * (size_t)n);
        char text[2048];
        int64_t len = r->kind == RES_OK ? lf_detokenize(m, tok, n, text, sizeof text, false, true)
                                      : 0;
        if (len < 0)
            fail_with(r, false, "lf_detokenize failed");
        else
            put(r, text, (size_t)len);
    }
    free(tok);
    if (!tc->m)
        lf_model_free(m);
}

/* ---- streaming text ---- */

static void op_stream(void *ud, result *r) {
    tok_case *tc = ud;
    lf_error err;
    int32_t *tok = NULL;
    lf_detok *d = NULL;
    lf_stop_matcher *s = NULL;
    const char *stops[] = {"park and", "zzz"};
    int64_t n = lf_tokenize_alloc(tc->m, tc->text, strlen(tc->text), &tok, false, false);
    if (n < 0) {
        fail_with(r, true, "tokenize: out of memory");
        goto done;
    }
    if (!(d = lf_detok_new(tc->m, false, true, &err)) ||
        !(s = lf_stop_matcher_new(stops, 2, &err))) {
        fail_err(r, &err);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        const char *t, *o;
        int64_t k = lf_detok_push(d, tok[i], &t, &err);
        int64_t j = k < 0 ? -1 : lf_stop_matcher_push(s, t, (size_t)k, &o, &err);
        if (j < 0) {
            fail_err(r, &err);
            goto done;
        }
        put(r, o, (size_t)j);
    }
    const char *o;
    int64_t j = lf_stop_matcher_flush(s, &o);
    put(r, o, (size_t)j);
    put(r, &(int){lf_stop_matcher_found(s)}, sizeof(int));
done:
    free(tok);
    lf_detok_free(d);
    lf_stop_matcher_free(s);
}

/* ---- GGUF writer ---- */

static void op_writer(void *ud, result *r) {
    (void)ud;
    lf_error err;
    static float data[64 * 4];
    for (int i = 0; i < 64 * 4; i++)
        data[i] = (float)i / 7;
    const char *strs[] = {"a", "bb", "ccc"};
    uint32_t arr[5] = {1, 2, 3, 4, 5};
    void *mem = NULL;
    size_t size = 0;
    lf_gguf_writer *w = lf_gguf_writer_new();
    if (!w) {
        fail_with(r, true, "lf_gguf_writer_new: NULL");
        return;
    }
    bool ok = lf_gguf_set_str(w, "general.architecture", "llama", &err) &&
              lf_gguf_set_u32(w, "llama.block_count", 2, &err) &&
              lf_gguf_set_f32(w, "llama.rope.freq_base", 1e4f, &err) &&
              lf_gguf_set_u32(w, "llama.block_count", 3, &err) &&
              lf_gguf_set_arr(w, "x.arr", LF_GGUF_UINT32, arr, 5, &err) &&
              lf_gguf_set_arr_str(w, "x.strs", strs, 3, &err) &&
              lf_gguf_add_tensor(w, "a.weight", LF_TYPE_F32, 2, (int64_t[]){64, 4}, data, &err) &&
              lf_gguf_add_tensor(w, "b.weight", LF_TYPE_F32, 1, (int64_t[]){64}, NULL, &err) &&
              lf_gguf_writer_to_memory(w, &mem, &size, &err);
    if (!ok)
        fail_err(r, &err);
    else
        put(r, mem, size);
    char path[] = "/tmp/lf_alloc_walk_XXXXXX";
    int fd = ok ? mkstemp(path) : -1;
    if (fd >= 0) {
        close(fd);
        if (!lf_gguf_writer_write(w, path, &err)) {
            fail_err(r, &err);
        } else {
            lf_gguf *g = lf_gguf_open(path, &err);
            if (!g)
                fail_err(r, &err);
            else
                put(r, &(int64_t){lf_gguf_kv_count(g)}, sizeof(int64_t));
            lf_gguf_close(g);
        }
        unlink(path);
    }
    free(mem);
    lf_gguf_writer_free(w);
}

/* ---- quantization ---- */

static void op_quantize(void *ud, result *r) {
    const char *in = ud;
    char out[] = "/tmp/lf_alloc_walk_q_XXXXXX";
    int fd = mkstemp(out);
    if (fd < 0) {
        fail_with(r, false, "mkstemp");
        return;
    }
    close(fd);
    unlink(out);
    lf_quantize_params p = {.ftype = LF_FTYPE_Q8_0, .n_threads = 2};
    lf_error err;
    if (!lf_model_quantize(in, out, &p, &err)) {
        fail_err(r, &err);
        if (access(out, F_OK) == 0)
            fail_with(r, false, "a failed quantize left its output behind");
    } else {
        FILE *f = fopen(out, "rb");
        uint64_t h = 14695981039346656037u, size = 0; /* FNV-1a of the whole file */
        for (int ch; f && (ch = getc(f)) != EOF; size++)
            h = (h ^ (uint64_t)ch) * 1099511628211u;
        if (f)
            fclose(f);
        put(r, &h, sizeof h);
        put(r, &size, sizeof size);
    }
    unlink(out);
}

/* ---- sampler chain ---- */

static void op_sampler(void *ud, result *r) {
    (void)ud;
    enum { NV = 512 };
    static float logits[NV];
    for (int i = 0; i < NV; i++)
        logits[i] = sinf((float)i * 0.37f) * 4;
    lf_logit_bias bias[2] = {{5, 2.0f}, {7, -INFINITY}};
    lf_sampler_params p = lf_sampler_default_params();
    p.seed = 42;
    p.repeat_penalty = 1.1f;
    p.presence_penalty = 0.2f;
    p.frequency_penalty = 0.1f;
    p.penalty_last_n = 16;
    p.typical_p = 0.95f;
    p.min_p = 0.02f;
    p.logit_bias = bias;
    p.n_logit_bias = 2;
    lf_error err;
    lf_sampler *s = lf_sampler_new(&p, NV, &err);
    if (!s) {
        fail_err(r, &err);
        return;
    }
    for (int i = 0; i < 20; i++) {
        int32_t t = lf_sampler_sample(s, logits);
        lf_sampler_accept(s, t);
        put(r, &t, sizeof t);
    }
    lf_candidate top[4];
    float pc;
    int32_t k = lf_sampler_last_probs(s, &pc, 4, top);
    put(r, top, sizeof(lf_candidate) * (size_t)k);
    lf_sampler_free(s);
}

/* ---- decoding: a MoE model, an embeddings context ---- */

typedef struct decode_case {
    const char *path;
    bool embeddings;
} decode_case;

static void op_decode(void *ud, result *r) {
    decode_case *dc = ud;
    static const int32_t toks[] = {1, 48, 396, 336, 226, 223, 440, 46};
    lf_error err;
    lf_context *c = NULL;
    lf_model *m = lf_model_load(dc->path, &err);
    if (!m) {
        fail_err(r, &err);
        return;
    }
    lf_context_params p = lf_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 2;
    p.n_batch = 5; /* two ubatches */
    p.n_seq_max = 2;
    p.embeddings = dc->embeddings;
    p.pooling_type = LF_POOLING_TYPE_MEAN;
    if (!(c = lf_context_new(m, &p, &err))) {
        fail_err(r, &err);
        goto done;
    }
    int32_t pos[8], seq[8];
    int8_t want[8];
    for (int i = 0; i < 8; i++)
        pos[i] = i % 4, seq[i] = i / 4, want[i] = 1;
    if (!lf_decode(c, &(lf_batch){8, toks, pos, seq, want}, &err)) {
        fail_err(r, &err);
        goto done;
    }
    int width = dc->embeddings ? lf_model_n_embd(m) : lf_model_n_vocab(m);
    for (int i = 0; i < (dc->embeddings ? 2 : 8); i++) {
        const float *v = dc->embeddings ? lf_get_embeddings_seq(c, i) : lf_get_logits_ith(c, i);
        if (!v) {
            fail_with(r, false, "no output row after a successful decode");
            break;
        }
        put(r, v, sizeof(float) * (size_t)(width < 64 ? width : 64));
    }
done:
    lf_context_free(c);
    lf_model_free(m);
}

int main(void) {
    const char *dir = test_shared_dir();
    char stories[1024], gpt2[1024], moe[1024], embd[1024], f32[1024];
    snprintf(stories, sizeof stories, "%s/models/stories260K.gguf", dir);
    snprintf(gpt2, sizeof gpt2, "%s/vocab/ggml-vocab-gpt-2.gguf", dir);
    snprintf(moe, sizeof moe, "%s/vectors/bailingmoe2-Q8_0.gguf", dir);
    snprintf(embd, sizeof embd, "%s/models/stories260K.gguf", dir);
    snprintf(f32, sizeof f32, "%s/vectors/llama-F32.gguf", dir);
    const char *text = "Once upon a time, the little dog ran to the park and saw a big red "
                       "ball. <s> It's 2024!  \xc3\xa9t\xc3\xa9 \xe2\x80\x94 ok\n\n  x";
    lf_error err;

    lf_model *spm = lf_model_load_vocab(stories, &err);
    if (!spm) {
        SKIP("allocation walk: SPM tokenize", "%s", err.msg);
    } else {
        tok_case tc = {spm, stories, text};
        walk("allocation walk: SPM tokenize, detokenize", op_tokenize, &tc);
        walk("allocation walk: streaming detokenizer and stop matcher", op_stream, &tc);
        lf_model_free(spm);
    }
    lf_model *bpe = lf_model_load_vocab(gpt2, &err);
    if (!bpe) {
        SKIP("allocation walk: BPE tokenize", "%s", err.msg);
    } else {
        tok_case tc = {bpe, gpt2, text};
        walk("allocation walk: BPE pre-tokenize, tokenize, detokenize", op_tokenize, &tc);
        lf_model_free(bpe);
        tc.m = NULL;
        walk("allocation walk: BPE vocab load and tokenize", op_tokenize, &tc);
    }
    walk("allocation walk: GGUF writer", op_writer, NULL);
    if (access(f32, R_OK) != 0)
        SKIP("allocation walk: quantize", "%s is missing", f32);
    else
        walk("allocation walk: quantize llama-F32 to Q8_0", op_quantize, f32);
    walk("allocation walk: sampler chain", op_sampler, NULL);
    if (access(moe, R_OK) != 0) {
        SKIP("allocation walk: MoE decode", "%s is missing", moe);
    } else {
        decode_case dc = {moe, false};
        walk("allocation walk: MoE (bailingmoe2) load and decode", op_decode, &dc);
    }
    decode_case ec = {embd, true};
    walk("allocation walk: embeddings context and pooled decode", op_decode, &ec);
    return test_summary();
}
