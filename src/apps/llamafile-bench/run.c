/* run.c — the tests, as llama-bench runs them: for each model and setting,
 * a fresh context sized for the test, one untimed warm-up (the whole
 * prompt, one generated token), then r timed repetitions, each from an
 * empty KV cache: ppN = the prompt decoded in batches of n_batch tokens,
 * tgN = N decodes of one token. Tokens are random (BOS first when the
 * model adds one); only the last token of each call asks for logits. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct runner {
    lf_model *model;
    lf_context *ctx;
    int32_t n_vocab, pos;
    int n_batch;
    uint64_t rng;
    int32_t *tok, *posv, *seq;
    int8_t *want;
} runner;

static int32_t random_token(runner *r) {
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return (int32_t)(r->rng % (uint64_t)r->n_vocab);
}

/* Decodes n prompt tokens in calls of at most n_batch tokens. */
static bool run_prompt(runner *r, int n, lf_error *err) {
    for (int done = 0; done < n;) {
        int k = n - done < r->n_batch ? n - done : r->n_batch;
        for (int i = 0; i < k; i++) {
            bool bos = r->pos == 0 && i == 0 && lf_add_bos(r->model) && lf_token_bos(r->model) >= 0;
            r->tok[i] = bos ? lf_token_bos(r->model) : random_token(r);
            r->posv[i] = r->pos + i;
            r->seq[i] = 0;
            r->want[i] = i == k - 1;
        }
        lf_batch b = {k, r->tok, r->posv, r->seq, r->want};
        if (!lf_decode(r->ctx, &b, err))
            return false;
        r->pos += k;
        done += k;
    }
    return true;
}

static bool run_gen(runner *r, int n, lf_error *err) {
    bool bos = lf_add_bos(r->model) && lf_token_bos(r->model) >= 0;
    int32_t token = bos ? lf_token_bos(r->model) : random_token(r);
    for (int i = 0; i < n; i++) {
        int32_t seq = 0;
        int8_t want = 1;
        lf_batch b = {1, &token, &r->pos, &seq, &want};
        if (!lf_decode(r->ctx, &b, err))
            return false;
        r->pos++;
        token = random_token(r);
    }
    return true;
}

static void clear_kv(runner *r) {
    lf_kv_remove(r->ctx, -1, 0, -1);
    r->pos = 0;
}

/* Opens a model named like llama-bench's -m, or a llamafile member. */
static lf_model *load_model(const char *spec, lf_error *err) {
    lf_model_source src;
    int found = lf_model_locate(spec, &src, err);
    if (found <= 0) {
        if (!found)
            snprintf(err->msg, sizeof err->msg, "%s: no model found", spec);
        return NULL;
    }
    lf_model *m = src.fd >= 0 ? lf_model_load_fd(src.fd, src.offset, src.size, src.name, err)
                              : lf_model_load(src.path, err);
    lf_model_source_free(&src);
    return m;
}

/* Without general.file_type, llama.cpp names the most common tensor type. */
static int64_t guess_ftype(const lf_gguf *g) {
    int64_t count[LF_TYPE_COUNT] = {0};
    int best = LF_TYPE_F32;
    for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++) {
        int t = lf_gguf_tensor_at(g, i)->type;
        if (t >= 0 && t < LF_TYPE_COUNT && ++count[t] > count[best])
            best = t;
    }
    static const int k_ftype[LF_TYPE_COUNT] = {
        [LF_TYPE_F32] = 0,     [LF_TYPE_F16] = 1,     [LF_TYPE_Q4_0] = 2,  [LF_TYPE_Q4_1] = 3,
        [LF_TYPE_Q5_0] = 8,    [LF_TYPE_Q5_1] = 9,    [LF_TYPE_Q8_0] = 7,  [LF_TYPE_Q2_K] = 10,
        [LF_TYPE_Q3_K] = 12,   [LF_TYPE_Q4_K] = 15,   [LF_TYPE_Q5_K] = 17, [LF_TYPE_Q6_K] = 18,
        [LF_TYPE_IQ4_NL] = 25, [LF_TYPE_IQ4_XS] = 30, [LF_TYPE_BF16] = 32, [LF_TYPE_MXFP4] = 38,
    };
    return best == LF_TYPE_F32 || k_ftype[best] ? k_ftype[best] : -1;
}

static void describe_model(lf_model *m, char *buf, size_t n) {
    uint64_t np = lf_model_n_params(m);
    char size[32];
    if (np >= 1000000000u)
        snprintf(size, sizeof size, "%lluB", (unsigned long long)((np + 500000000u) / 1000000000u));
    else if (np >= 1000000u)
        snprintf(size, sizeof size, "%lluM", (unsigned long long)((np + 500000u) / 1000000u));
    else
        snprintf(size, sizeof size, "%lluK", (unsigned long long)((np + 500u) / 1000u));
    const lf_gguf *g = lf_model_gguf(m);
    int64_t ft;
    bool guessed = !lf_gguf_get_int(g, "general.file_type", &ft);
    if (guessed)
        ft = guess_ftype(g);
    snprintf(buf, n, "%s %s %s%s", lf_model_arch(m), size, guessed ? "(guessed) " : "",
             bench_ftype_name(ft));
}

/* One test: a context, the warm-up, the timed runs. */
static bool run_test(runner *r, const bench_params *p, bench_test *t, int idx, int count,
                     lf_error *err) {
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = t->n_prompt + t->n_gen + t->n_depth;
    cp.n_batch = t->n_ubatch;
    cp.n_threads = t->n_threads;
    cp.kv_type = t->type_k;
    if (!(r->ctx = lf_context_new(r->model, &cp, err)))
        return false;
    t->n_threads = lf_n_threads(r->ctx);
    r->n_batch = t->n_batch;
    int nb = t->n_batch > 0 ? t->n_batch : 1;
    r->tok = malloc(sizeof(int32_t) * (size_t)nb);
    r->posv = malloc(sizeof(int32_t) * (size_t)nb);
    r->seq = malloc(sizeof(int32_t) * (size_t)nb);
    r->want = malloc((size_t)nb);
    t->samples_ns = calloc((size_t)p->reps, sizeof(uint64_t));
    if (!r->tok || !r->posv || !r->seq || !r->want || !t->samples_ns) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    if (p->delay > 0)
        sleep((unsigned)p->delay);
    clear_kv(r);
    if (!p->no_warmup) {
        if (p->progress && t->n_prompt > 0)
            fprintf(stderr, "llamafile-bench: benchmark %d/%d: warmup prompt run\n", idx, count);
        if (t->n_prompt > 0 && !run_prompt(r, t->n_prompt, err))
            return false;
        if (p->progress && t->n_gen > 0)
            fprintf(stderr, "llamafile-bench: benchmark %d/%d: warmup generation run\n", idx, count);
        if (t->n_gen > 0 && !run_gen(r, 1, err))
            return false;
    }
    for (int i = 0; i < p->reps; i++) {
        clear_kv(r);
        if (t->n_depth > 0) {
            if (p->progress)
                fprintf(stderr, "llamafile-bench: benchmark %d/%d: depth run %d/%d\n", idx, count,
                        i + 1, p->reps);
            if (!run_prompt(r, t->n_depth, err))
                return false;
        }
        uint64_t t0 = now_ns();
        if (t->n_prompt > 0) {
            if (p->progress)
                fprintf(stderr, "llamafile-bench: benchmark %d/%d: prompt run %d/%d\n", idx, count,
                        i + 1, p->reps);
            if (!run_prompt(r, t->n_prompt, err))
                return false;
        }
        if (t->n_gen > 0) {
            if (p->progress)
                fprintf(stderr, "llamafile-bench: benchmark %d/%d: generation run %d/%d\n", idx,
                        count, i + 1, p->reps);
            if (!run_gen(r, t->n_gen, err))
                return false;
        }
        uint64_t dt = now_ns() - t0;
        t->samples_ns[t->n_samples++] = dt ? dt : 1;
    }
    return true;
}

static void end_test(runner *r, bench_test *t) {
    lf_context_free(r->ctx);
    r->ctx = NULL;
    free(r->tok);
    free(r->posv);
    free(r->seq);
    free(r->want);
    r->tok = r->posv = r->seq = NULL;
    r->want = NULL;
    free(t->samples_ns);
    t->samples_ns = NULL;
    t->n_samples = 0;
}

/* The tests of one setting, in llama-bench's order: pp, tg, then pp+tg. */
static int tests_of(const bench_params *p, int k, int *n_prompt, int *n_gen) {
    int np = 0, i;
    for (i = 0; i < p->n_prompt.n; i++)
        if (p->n_prompt.v[i] > 0 && np++ == k) {
            *n_prompt = p->n_prompt.v[i];
            *n_gen = 0;
            return 1;
        }
    for (i = 0; i < p->n_gen.n; i++)
        if (p->n_gen.v[i] > 0 && np++ == k) {
            *n_prompt = 0;
            *n_gen = p->n_gen.v[i];
            return 1;
        }
    for (i = 0; i < p->n_pg; i++)
        if ((p->pg[i][0] > 0 || p->pg[i][1] > 0) && np++ == k) {
            *n_prompt = p->pg[i][0];
            *n_gen = p->pg[i][1];
            return 1;
        }
    return 0;
}

static int count_tests(const bench_params *p) {
    int a, b, k = 0;
    while (tests_of(p, k, &a, &b))
        k++;
    return k;
}

int bench_run(const bench_params *p) {
    bench_printer out = {.fmt = p->fmt, .f = stdout, .params = p};
    bench_printer err_out = {.fmt = p->fmt_err, .f = stderr, .params = p};
    bench_print_header(&out);
    bench_print_header(&err_out);
    int per_setting = count_tests(p);
    int count = p->n_models * p->n_gpu_layers.n * p->n_batch.n * p->n_ubatch.n *
                p->n_threads.n * p->n_depth.n * per_setting;
    int idx = 0, rc = 0;
    runner r = {.rng = 0x9e3779b97f4a7c15ull};
    lf_error err;
    for (int mi = 0; mi < p->n_models && !rc; mi++) {
        if (!(r.model = load_model(p->models[mi], &err))) {
            fprintf(stderr, "llamafile-bench: error: failed to load model '%s': %s\n",
                    p->models[mi], err.msg);
            rc = 1;
            break;
        }
        r.n_vocab = lf_model_n_vocab(r.model);
        if (p->verbose)
            fprintf(stderr, "llamafile-bench: %s: %s, %d layers, %llu parameters\n",
                    p->models[mi], lf_model_arch(r.model), lf_model_n_layer(r.model),
                    (unsigned long long)lf_model_n_params(r.model));
        bench_test t = {.model_filename = p->models[mi]};
        describe_model(r.model, t.model_type, sizeof t.model_type);
        t.model_size = lf_model_size(r.model);
        t.model_n_params = lf_model_n_params(r.model);
        t.type_k = p->type_k;
        t.type_v = p->type_v;
        for (int a = 0; a < p->n_gpu_layers.n && !rc; a++)
        for (int b = 0; b < p->n_batch.n && !rc; b++)
        for (int c = 0; c < p->n_ubatch.n && !rc; c++)
        for (int d = 0; d < p->n_threads.n && !rc; d++)
        for (int e = 0; e < p->n_depth.n && !rc; e++)
        for (int k = 0; k < per_setting && !rc; k++) {
            tests_of(p, k, &t.n_prompt, &t.n_gen);
            t.n_gpu_layers = p->n_gpu_layers.v[a];
            t.n_batch = p->n_batch.v[b];
            t.n_ubatch = p->n_ubatch.v[c];
            t.n_threads = p->n_threads.v[d];
            t.n_depth = p->n_depth.v[e];
            time_t now = time(NULL);
            strftime(t.test_time, sizeof t.test_time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
            if (p->progress)
                fprintf(stderr, "llamafile-bench: benchmark %d/%d: starting\n", ++idx, count);
            else
                ++idx;
            if (run_test(&r, p, &t, idx, count, &err)) {
                bench_print_test(&out, &t);
                bench_print_test(&err_out, &t);
            } else {
                fprintf(stderr, "llamafile-bench: error: %s: %s\n", p->models[mi], err.msg);
                rc = 1;
            }
            end_test(&r, &t);
        }
        lf_model_free(r.model);
        r.model = NULL;
    }
    bench_print_footer(&out);
    bench_print_footer(&err_out);
    return rc;
}
