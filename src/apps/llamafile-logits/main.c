/* llamafile-logits — float32 logits of every position of a token sequence,
 * decoded as one batch or one token at a time: the conformance tool. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static const char k_usage[] =
    "usage: llamafile-logits -m MODEL --tokens ID,ID,... -o OUT.f32 [options]\n"
    "\n"
    "Runs the model over the given token ids and writes the logits of every\n"
    "position as raw little-endian float32, shape [n_tokens][n_vocab] (row i is\n"
    "the prediction after tokens 0..i).\n"
    "\n"
    "  -m, --model FILE     GGUF model\n"
    "  --tokens LIST        comma-separated token ids (no BOS is added)\n"
    "  -o, --output FILE    where to write the logits\n"
    "  --sequential         decode one token at a time (default: one batch)\n"
    "  -t, --threads N      threads (default: physical cores)\n"
    "  -c, --ctx-size N     context size; fewer than the tokens given is an error\n"
    "                       (default: 256, or the number of tokens if more)\n"
    "  -b, --batch-size N   tokens per forward pass (default: 512)\n"
    "  -ctk TYPE            KV cache type f16 (default) or f32\n"
    "  --version            print the version and exit\n"
    "  -h, --help           this help\n";

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llamafile-logits: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int finish(int rc) {
    lf_error err;
    if (lf_stdout_close(&err))
        return rc;
    return die("%s", err.msg);
}

static int parse_tokens(const char *s, int32_t **out) {
    int n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    int32_t *t = malloc(sizeof(int32_t) * (size_t)n);
    if (!t)
        return -1;
    int k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            free(t);
            return -1;
        }
        t[k++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    *out = t;
    return k;
}

static bool parse_int(const char *s, int max, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return false;
    *out = (int)v;
    return true;
}

int main(int argc, char **argv) {
    const char *model = NULL, *tokens = NULL, *output = NULL;
    bool sequential = false, ctx_given = false;
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--version")) {
            fputs(strcmp(a, "--version") ? k_usage : "llamafile-logits " LF_VERSION_STRING "\n",
                  stdout);
            return finish(0);
        }
        if (!strcmp(a, "--sequential")) {
            sequential = true;
            continue;
        }
        if (i + 1 >= argc)
            return die("option %s needs a value (see --help)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--tokens")) tokens = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) output = v;
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (!parse_int(v, 512, &cp.n_threads)) return die("invalid value '%s' for -t (expected an integer from 0 to 512)", v); }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { if (!parse_int(v, 1 << 24, &cp.n_ctx)) return die("invalid value '%s' for -c (expected an integer from 0 to 16777216)", v); ctx_given = true; }
        else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) { if (!parse_int(v, 1 << 20, &cp.n_batch) || !cp.n_batch) return die("invalid value '%s' for -b (expected an integer from 1 to 1048576)", v); }
        else if (!strcmp(a, "-ctk")) {
            cp.kv_type = lf_type_from_name(v);
            if (cp.kv_type != LF_TYPE_F16 && cp.kv_type != LF_TYPE_F32)
                return die("invalid KV cache type '%s' (f16 or f32)", v);
        } else
            return die("unknown option '%s' (see --help)", a);
    }
    if (!model || !tokens || !output)
        return die("%s", "-m, --tokens and -o are required (see --help)");
    int32_t *toks = NULL;
    int n = parse_tokens(tokens, &toks);
    if (n <= 0)
        return die("invalid token list '%s' (expected ids like 1,2,3)", tokens);

    lf_error err;
    lf_model *m = lf_model_load_any(model, &err);
    if (!m) {
        free(toks);
        return die("%s", err.msg);
    }
    if (ctx_given && cp.n_ctx < n) {
        free(toks);
        lf_model_free(m);
        return die("%d tokens do not fit the context of %d (raise -c)", n, cp.n_ctx);
    }
    if (cp.n_ctx < n)
        cp.n_ctx = n;
    lf_context *ctx = lf_context_new(m, &cp, &err);
    FILE *f = ctx ? fopen(output, "wb") : NULL;
    int rc = 0;
    if (!ctx)
        rc = die("%s", err.msg);
    else if (!f)
        rc = die("cannot create '%s': %s", output, strerror(errno));
    size_t nv = (size_t)lf_model_n_vocab(m);
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)n), *seq = calloc((size_t)n, sizeof(int32_t));
    int8_t *want = malloc((size_t)n);
    for (int i = 0; !rc && i < n; i++)
        pos[i] = i, want[i] = 1;
    int step = sequential ? 1 : n;
    for (int i0 = 0; !rc && i0 < n; i0 += step) {
        lf_batch b = {step, toks + i0, pos + i0, seq + i0, want + i0};
        if (!lf_decode(ctx, &b, &err)) {
            rc = die("%s", err.msg);
            break;
        }
        for (int i = 0; !rc && i < step; i++)
            if (fwrite(lf_get_logits_ith(ctx, i), sizeof(float), nv, f) != nv)
                rc = die("cannot write '%s': %s", output, strerror(errno));
    }
    if (f && fclose(f) && !rc)
        rc = die("cannot write '%s': %s", output, strerror(errno));
    free(pos);
    free(seq);
    free(want);
    free(toks);
    lf_context_free(ctx);
    lf_model_free(m);
    return rc;
}
