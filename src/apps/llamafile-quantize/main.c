/* llamafile-quantize — requantize a GGUF model, as llama-quantize does:
 * the same per-tensor type mix, the same quantizers, the same layout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llamafile.h"

static void usage(FILE *f) {
    fputs("usage: llamafile-quantize [options] IN.gguf OUT.gguf TYPE [THREADS]\n"
          "\n"
          "Writes OUT.gguf with the weights of IN.gguf (a GGUF or a llamafile)\n"
          "converted to TYPE. Each tensor gets the type llama.cpp's llama-quantize\n"
          "would give it (the _M mixes keep some tensors in more bits; the output\n"
          "tensor is Q6_K; norms stay F32), with the same bytes as llama-quantize\n"
          "without an importance matrix.\n"
          "\n"
          "OUT.gguf is written as a temporary file beside it and renamed into\n"
          "place when complete, so an existing OUT.gguf stays intact on any\n"
          "failure. An existing OUT.gguf must be a regular file; a symbolic link\n"
          "is written through (the file it leads to is replaced and the link\n"
          "kept, as cp does); a directory, FIFO, device or dangling link is\n"
          "refused.\n"
          "\n"
          "options:\n"
          "  --pure               every quantizable tensor in TYPE's base type\n"
          "  --allow-requantize   accept already-quantized input tensors\n"
          "  -t, --threads N      threads (default: physical cores)\n"
          "  -q, --quiet          no progress lines\n"
          "  -h, --help           this help\n"
          "      --version        print the version and exit\n"
          "\n"
          "TYPE is one of:",
          f);
    for (int i = 0; lf_ftype_names[i]; i++)
        fprintf(f, "%s %s", i % 8 ? "" : "\n ", lf_ftype_names[i]);
    fputs("\n(Q3_K, Q4_K, Q5_K are Q3_K_M, Q4_K_M, Q5_K_M)\n", f);
}

static int die(const char *fmt, const char *arg) {
    fprintf(stderr, "llamafile-quantize: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

/* Flushes and closes stdout: an error writing it (a full disk) fails the
 * run instead of going unreported. */
static int finish(int rc) {
    lf_error err;
    if (lf_stdout_close(&err))
        return rc;
    fprintf(stderr, "llamafile-quantize: %s\n", err.msg);
    return 1;
}

static bool parse_threads(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 512)
        return false;
    *out = (int)v;
    return true;
}

typedef struct totals {
    uint64_t in_bytes, out_bytes, n_elements;
    int n_fallback;
    bool quiet;
} totals;

static void on_progress(void *ud, const lf_quantize_progress *pr) {
    totals *t = ud;
    const lf_gguf_tensor *x = pr->tensor;
    t->in_bytes += x->nbytes;
    t->out_bytes += pr->bytes;
    t->n_elements += (uint64_t)(x->ne[0] * x->ne[1] * x->ne[2] * x->ne[3]);
    t->n_fallback += pr->wanted >= 0;
    if (t->quiet)
        return;
    fprintf(stderr, "[%4lld/%4lld] %-36.*s - [%5lld, %5lld, %5lld, %5lld], type = %6s, ",
            (long long)pr->i + 1, (long long)pr->n, (int)x->name.len, x->name.ptr,
            (long long)x->ne[0], (long long)x->ne[1], (long long)x->ne[2], (long long)x->ne[3],
            lf_type_name(x->type));
    if (pr->type == x->type)
        fprintf(stderr, "size = %8.3f MiB\n", (double)x->nbytes / 1048576);
    else
        fprintf(stderr, "converting to %s%s%s .. size = %8.2f MiB -> %8.2f MiB\n",
                lf_type_name(pr->type), pr->wanted >= 0 ? " (fallback from " : "",
                pr->wanted >= 0 ? lf_type_name(pr->wanted) : "", (double)x->nbytes / 1048576,
                (double)pr->bytes / 1048576);
}

int main(int argc, char **argv) {
    const char *pos[4];
    int n_pos = 0;
    lf_quantize_params p = {.ftype = -1};
    totals tot = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return finish(0);
        } else if (!strcmp(a, "--version")) {
            printf("llamafile-quantize %s\n", LF_VERSION_STRING);
            return finish(0);
        } else if (!strcmp(a, "--pure")) {
            p.pure = true;
        } else if (!strcmp(a, "--allow-requantize")) {
            p.allow_requantize = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            tot.quiet = true;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc || !parse_threads(argv[++i], &p.n_threads))
                return die("%s needs a thread count from 1 to 512", a);
        } else if (a[0] == '-' && a[1]) {
            return die("unknown option '%s' (see --help)", a);
        } else if (n_pos < 4) {
            pos[n_pos++] = a;
        } else {
            return die("unexpected argument '%s' (see --help)", a);
        }
    }
    if (n_pos < 3) {
        usage(stderr);
        return 1;
    }
    if (n_pos == 4 && !parse_threads(pos[3], &p.n_threads))
        return die("invalid thread count '%s'", pos[3]);
    p.ftype = lf_ftype_from_name(pos[2]);
    if (p.ftype < 0)
        return die("unknown or unsupported type '%s' (see --help)", pos[2]);
    p.progress = on_progress;
    p.progress_ud = &tot;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fprintf(stderr, "llamafile-quantize: %s -> %s as %s%s\n", pos[0], pos[1],
            lf_ftype_name(p.ftype), p.pure ? " (pure)" : "");
    lf_error err;
    if (!lf_model_quantize(pos[0], pos[1], &p, &err))
        return die("%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double n = tot.n_elements ? (double)tot.n_elements : 1;
    fprintf(stderr, "model size = %8.2f MiB (%.2f BPW)\n", (double)tot.in_bytes / 1048576,
            (double)tot.in_bytes * 8 / n);
    fprintf(stderr, "quant size = %8.2f MiB (%.2f BPW)\n", (double)tot.out_bytes / 1048576,
            (double)tot.out_bytes * 8 / n);
    if (tot.n_fallback)
        fprintf(stderr, "warning: %d tensor(s) needed a fallback type (rows not a multiple of "
                        "the block size)\n", tot.n_fallback);
    fprintf(stderr, "quantize time = %.2f s\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return finish(0);
}
