/* llamafile — run a GGUF model: print the prompt and its continuation. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "server/server.h"

static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void print_version(void) {
    printf("llamafile %s\n", LF_VERSION_STRING);
    printf("build: %s\n", LF_BUILD_INFO);
    printf("CPU features: %s\n", lf_cpu_features());
    printf("kernels: %s\n", lf_kernel_isa());
    char gpu[512];
    lf_gpu_describe(gpu, sizeof gpu);
    printf("%s\n", gpu);
}

static bool put_text(const char *text, int64_t n) {
    if (n > 0)
        fwrite(text, 1, (size_t)n, stdout);
    return lf_stdout_flush();
}

/* Writes what the detokenizer lets out after one more token (a character
 * split over tokens waits for its last byte); false if stdout failed. */
static bool put_token(lf_detok *d, int32_t tok) {
    const char *text;
    lf_error err;
    int64_t n = lf_detok_push(d, tok, &text, &err);
    if (n < 0) {
        fflush(stdout);
        fprintf(stderr, "\nllamafile: %s\n", err.msg);
        return false;
    }
    return put_text(text, n);
}

struct run_stats {
    double t_load, t_prompt, t_gen;
    int64_t n_prompt, n_gen;
};

int64_t cli_prompt_tokens(lf_model *m, lf_context *ctx, const cli_options *o, int room,
                          int32_t **toks) {
    const char *prompt = o->prompt ? o->prompt : "";
    int64_t n = lf_tokenize_alloc(m, prompt, strlen(prompt), toks, true, true);
    if (n < 0) {
        fprintf(stderr, "llamafile: out of memory tokenizing the prompt\n");
        return -1;
    }
    if (n == 0) { /* nothing to condition on: start from BOS like llama.cpp */
        int32_t bos = lf_token_bos(m);
        (*toks)[n++] = bos >= 0 ? bos : 0;
    }
    if (n + room > lf_n_ctx(ctx)) {
        fprintf(stderr, "llamafile: the prompt is %lld tokens, which does not fit the context of "
                "%d (raise -c)\n", (long long)n, lf_n_ctx(ctx));
        free(*toks);
        return -1;
    }
    return n;
}

static int generate(lf_model *m, lf_context *ctx, const cli_options *o, struct run_stats *st) {
    lf_error err;
    int32_t *toks;
    int64_t n = cli_prompt_tokens(m, ctx, o, 1, &toks);
    if (n < 0)
        return 1;
    lf_sampler *smp = lf_sampler_chain_new(lf_model_n_vocab(m), &err);
    if (smp && ((o->grammar && !lf_sampler_add_grammar(smp, m, o->grammar, NULL, &err)) ||
                !lf_sampler_add_params(smp, &o->sampling, &err))) {
        lf_sampler_free(smp);
        smp = NULL;
    }
    lf_detok *detok = smp ? lf_detok_new(m, false, false, &err) : NULL;
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)n), *seq = calloc((size_t)n, sizeof(int32_t));
    int8_t *want = calloc((size_t)n, 1);
    int rc = 0;
    if (!smp || !detok || !pos || !seq || !want) {
        fprintf(stderr, "llamafile: %s\n", smp && detok ? "out of memory" : err.msg);
        rc = 1;
        goto done;
    }
    if (o->display_prompt) {
        fputs(o->prompt ? o->prompt : "", stdout);
        lf_stdout_flush();
    }
    for (int64_t i = 0; i < n; i++) {
        pos[i] = (int32_t)i;
        lf_sampler_accept(smp, toks[i]);
    }
    want[n - 1] = 1;
    double t0 = now();
    lf_batch b = {(int32_t)n, toks, pos, seq, want};
    if (!lf_decode(ctx, &b, &err)) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    st->t_prompt = now() - t0;
    st->n_prompt = n;
    t0 = now();
    int32_t p = (int32_t)n;
    for (int i = 0; o->n_predict < 0 || i < o->n_predict; i++) {
        if (g_interrupted) {
            rc = 130;
            break;
        }
        int32_t tok = lf_sampler_sample(smp, lf_get_logits_ith(ctx, -1));
        if (tok == LF_SAMPLE_NONFINITE) {
            fflush(stdout);
            fprintf(stderr, "\nllamafile: the model produced non-finite logits at token %d\n", p);
            rc = 1;
            break;
        }
        if (tok == LF_SAMPLE_NONE) { /* the grammar allows no token: it is complete */
            if (!o->quiet)
                fprintf(stderr, "\nllamafile: the grammar allows no further token\n");
            break;
        }
        if (lf_token_is_eog(m, tok) && !o->ignore_eos)
            break;
        if (!put_token(detok, tok)) {
            rc = 1;
            break;
        }
        st->n_gen++;
        lf_sampler_accept(smp, tok);
        if (o->n_predict >= 0 && i + 1 >= o->n_predict)
            break; /* the last token's logits would go unread */
        if (p >= lf_n_ctx(ctx)) {
            if (!o->quiet)
                fprintf(stderr, "\nllamafile: context full (%d tokens); stopping\n", lf_n_ctx(ctx));
            break;
        }
        int32_t zero = 0;
        int8_t one = 1;
        lf_batch nb = {1, &tok, &p, &zero, &one};
        if (!lf_decode(ctx, &nb, &err)) {
            fprintf(stderr, "\nllamafile: %s\n", err.msg);
            rc = 1;
            break;
        }
        p++;
    }
    st->t_gen = now() - t0;
    if (rc != 1) { /* the end of the text: a character left incomplete shows as U+FFFD */
        const char *text;
        int64_t k = lf_detok_flush(detok, &text);
        if (!put_text(text, k))
            rc = 1;
    }
    if (rc == 130 && !o->quiet)
        fprintf(stderr, "\nllamafile: interrupted\n");
done:
    lf_sampler_free(smp);
    lf_detok_free(detok);
    free(toks);
    free(pos);
    free(seq);
    free(want);
    return rc;
}

static void print_stats(const struct run_stats *st) {
    fprintf(stderr, "\nllamafile: load time   %10.2f ms\n", st->t_load * 1e3);
    fprintf(stderr, "llamafile: prompt      %10.2f ms / %lld tokens (%.2f tokens per second)\n",
            st->t_prompt * 1e3, (long long)st->n_prompt,
            st->t_prompt > 0 ? (double)st->n_prompt / st->t_prompt : 0.0);
    fprintf(stderr, "llamafile: generation  %10.2f ms / %lld tokens (%.2f tokens per second)\n",
            st->t_gen * 1e3, (long long)st->n_gen,
            st->t_gen > 0 ? (double)st->n_gen / st->t_gen : 0.0);
}

/* The model -m names (a GGUF, a llamafile or zip holding one, X@MEMBER,
 * /zip/NAME), or without -m the one inside this executable. */
static lf_model *load_model(const cli_options *o, lf_error *err) {
    lf_model_source src;
    int found = lf_model_locate(o->model, &src, err);
    if (found == 0) {
        fputs("usage: llamafile [options] [-m MODEL] [-p PROMPT | -f FILE] (see --help)\n", stderr);
        return NULL;
    }
    if (found < 0) {
        fprintf(stderr, "llamafile: %s\n", err->msg);
        return NULL;
    }
    lf_model *m = src.fd >= 0 ? lf_model_load_fd(src.fd, src.offset, src.size, src.name, err)
                              : lf_model_load(src.path, err);
    if (!m)
        fprintf(stderr, "llamafile: %s\n", err->msg);
    lf_model_source_free(&src);
    return m;
}

static int run(int argc, char **argv, int user_first, int user_end) {
    cli_options o;
    if (!cli_parse(argc, argv, user_first, user_end, &o)) {
        cli_free(&o);
        return 1;
    }
    if (o.help || o.version) {
        o.help ? cli_print_help(stdout) : print_version();
        cli_free(&o);
        return 0;
    }

    if (o.ngl_given && o.n_gpu_layers != 0 && !o.quiet)
        fprintf(stderr, "llamafile: no GPU support in this build; running on the CPU\n");

    struct run_stats st = {0};
    double t0 = now();
    lf_error err;
    /* the weights are copied into memory (faster generation) by the
     * decodes after the first prompt, which runs from the file */
    lf_set_repack(LF_REPACK_BACKGROUND);
    cli_check_repack_env(o.quiet);
    lf_model *m = load_model(&o, &err);
    if (!m) {
        cli_free(&o);
        return 1;
    }
    /* The chatbot: asked for, or the default on a terminal without a prompt. */
    bool chat = o.chat || (!o.prompt && !o.server.enabled && !o.embedding && isatty(0) &&
                           isatty(1));
    if (chat && o.embedding) {
        fprintf(stderr, "llamafile: --chat and --embedding do not go together\n");
        lf_model_free(m);
        cli_free(&o);
        return 1;
    }
    int n_train = lf_model_n_ctx_train(m);
    if (chat && !o.ctx_given)
        o.n_ctx = 8192;
    if (!o.ctx_given) /* llama.cpp's default: the training context, here at most 4096 */
        o.n_ctx = n_train > 0 && n_train < o.n_ctx ? n_train : o.n_ctx;
    else if (n_train > 0 && o.n_ctx > n_train && !o.quiet)
        fprintf(stderr, "llamafile: warning: -c %d is more than the %d tokens the model was "
                "trained on; output past that may degrade\n", o.n_ctx, n_train);
    if (o.server.enabled) {
        srv_run_params sp = {&o.server, o.model, o.n_ctx, o.n_batch, o.n_threads, o.kv_type,
                             o.sampling, o.quiet};
        int rc = srv_run(m, &sp);
        lf_model_free(m);
        cli_free(&o);
        return rc;
    }
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = o.n_ctx;
    cp.n_batch = o.n_batch;
    cp.n_threads = o.n_threads;
    cp.kv_type = o.kv_type;
    cp.embeddings = o.embedding;
    cp.pooling_type = o.pooling;
    cp.embd_normalize = o.embd_normalize;
    if (o.sampling.penalty_last_n < 0)
        o.sampling.penalty_last_n = o.n_ctx ? o.n_ctx : lf_model_n_ctx_train(m);
    lf_context *ctx = lf_context_new(m, &cp, &err);
    if (!ctx) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        lf_model_free(m);
        cli_free(&o);
        return 1;
    }
    st.t_load = now() - t0;
    if (o.verbose)
        fprintf(stderr, "llamafile: %s model, %d layers, %d embd, %d vocab, %.2f M params, "
                "context %d, %d threads\n", lf_model_arch(m), lf_model_n_layer(m),
                lf_model_n_embd(m), lf_model_n_vocab(m), lf_model_n_params(m) / 1e6,
                lf_n_ctx(ctx), lf_n_threads(ctx));
    if (o.verbose)
        cli_print_held(m, true);
    signal(SIGINT, on_sigint);
    int rc = o.embedding ? cli_embed(m, ctx, &o) : chat ? cli_chat(m, ctx, &o)
                                                        : generate(m, ctx, &o, &st);
    if (rc != 1 && !o.embedding && !chat) /* llama.cpp ends its output with a blank line; so do we */
        fputs("\n\n", stdout);
    if (o.verbose && !chat)
        print_stats(&st);
    if (o.verbose) {
        int held, packed;
        uint64_t bytes;
        double ms;
        lf_model_held(m, &held, &bytes, &packed, &ms);
        if (held && ms >= 0)
            fprintf(stderr, "llamafile: weights copied into memory in %.0f ms\n", ms);
        else if (held)
            fprintf(stderr, "llamafile: weights still being copied into memory at the end\n");
    }
    lf_context_free(ctx);
    lf_model_free(m);
    cli_free(&o);
    return rc;
}

/* Arguments from the executable's own .args member come first, then the
 * user's (or in place of its "..."), so the user's flags win. */
int main(int argc, char **argv) {
    lf_error err;
    int n, user_first;
    char **args;
    if (!lf_args_load_self(argc, argv, &n, &args, &user_first, &err)) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        return 1;
    }
    int rc = run(n, args, user_first, user_first + (argc > 0 ? argc - 1 : 0));
    lf_args_free(args);
    if (!lf_stdout_close(&err)) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        return 1;
    }
    return rc;
}
