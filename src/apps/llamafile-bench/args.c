/* args.c — llamafile-bench's command line: llama-bench's options, values
 * as comma-separated lists and ranges (first-last, first-last+step,
 * first-last*mult); every combination becomes a test. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char k_usage[] =
    "usage: llamafile-bench [options]\n"
    "\n"
    "Measures prompt processing (ppN: one batch of N random tokens) and text\n"
    "generation (tgN: N single-token decodes) speed, as llama.cpp's llama-bench\n"
    "does, and prints the results in its formats.\n"
    "\n"
    "options:\n"
    "  -h, --help\n"
    "  --version                   print the version and exit\n"
    "  -m, --model FILE            model: a GGUF or a llamafile; repeat or\n"
    "                              separate with commas for several\n"
    "  -p, --n-prompt N            prompt tokens (default: 512)\n"
    "  -n, --n-gen N               generated tokens (default: 128)\n"
    "  -pg PP,TG                   a prompt of PP tokens then TG generated ones,\n"
    "                              timed together (repeatable)\n"
    "  -d, --n-depth N             tokens already in the cache (default: 0)\n"
    "  -b, --batch-size N          tokens per decode call (default: 2048)\n"
    "  -ub, --ubatch-size N        tokens per forward pass (default: 512)\n"
    "  -t, --threads N             threads (default: physical cores)\n"
    "  -ctk, --cache-type-k T      KV cache type f16 or f32 (default: f16)\n"
    "  -ctv, --cache-type-v T      (the same; both must match)\n"
    "  -ngl, --n-gpu-layers N      accepted for compatibility; runs on the CPU\n"
    "  -r, --repetitions N         timed runs of each test (default: 5)\n"
    "  --delay SECONDS             pause before each test (default: 0)\n"
    "  -o, --output FMT            md, csv, json or jsonl on stdout (default: md)\n"
    "  -oe, --output-err FMT       the same on stderr (default: none)\n"
    "  --progress                  print progress on stderr\n"
    "  --no-warmup                 skip the untimed warm-up run\n"
    "  -v, --verbose               more messages on stderr\n"
    "\n"
    "N values may be lists: 128,256 or ranges first-last, first-last+step,\n"
    "first-last*mult; each combination is a test. Every run starts from an\n"
    "empty KV cache; the first token of a prompt is BOS when the model adds\n"
    "one. t/s is (prompt + generated tokens) / time, mean ± sample stddev.\n"
    "Exit status 1: bad arguments, a model that cannot be loaded, or output\n"
    "that cannot be written.\n";

static bool fail(const char *fmt, const char *a) {
    fprintf(stderr, "llamafile-bench: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    return false;
}

static bool push(int_list *l, int v) {
    int *p = realloc(l->v, sizeof(int) * (size_t)(l->n + 1));
    if (!p)
        return false;
    l->v = p;
    l->v[l->n++] = v;
    return true;
}

static bool parse_num(const char **s, bool neg, long *out) {
    char *end;
    errno = 0;
    long v = strtol(*s, &end, 10);
    if (end == *s || errno || v > 1 << 24 || v < (neg ? -(1 << 24) : 0))
        return false;
    if (!neg && **s == '-')
        return false;
    *s = end;
    *out = v;
    return true;
}

/* Appends the values of a list like "1,8-64*2,100" to l. */
static bool parse_range_list(const char *s, bool neg, int_list *l) {
    for (;;) {
        long first, last, step = 1;
        char op = '+';
        if (!parse_num(&s, neg, &first))
            return false;
        last = first;
        if (*s == '-') {
            s++;
            if (!parse_num(&s, false, &last))
                return false;
            if (*s == '+' || *s == '*') {
                op = *s++;
                if (!parse_num(&s, false, &step))
                    return false;
            }
        }
        for (long i = first; i <= last;) {
            if (!push(l, (int)i))
                return false;
            long next = op == '+' ? i + step : i * step;
            if (next <= i)
                return false; /* a range that would not end */
            i = next;
        }
        if (*s == 0)
            return true;
        if (*s++ != ',')
            return false;
    }
}

static bool parse_format(const char *s, enum bench_format *f) {
    static const struct {
        const char *name;
        enum bench_format fmt;
    } k[] = {{"none", FMT_NONE}, {"md", FMT_MD}, {"csv", FMT_CSV},
             {"json", FMT_JSON}, {"jsonl", FMT_JSONL}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(s, k[i].name)) {
            *f = k[i].fmt;
            return true;
        }
    return false;
}

static bool add_models(bench_params *p, char *list) {
    for (char *save = NULL, *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        const char **v = realloc(p->models, sizeof(char *) * (size_t)(p->n_models + 1));
        if (!v)
            return false;
        p->models = v;
        p->models[p->n_models++] = m;
    }
    return true;
}

static bool parse_pg(bench_params *p, const char *s) {
    const char *c = s;
    long a, b;
    if (!parse_num(&c, false, &a) || *c++ != ',' || !parse_num(&c, false, &b) || *c)
        return false;
    int(*v)[2] = realloc(p->pg, sizeof *v * (size_t)(p->n_pg + 1));
    if (!v)
        return false;
    p->pg = v;
    p->pg[p->n_pg][0] = (int)a;
    p->pg[p->n_pg][1] = (int)b;
    p->n_pg++;
    return true;
}

static bool parse_kv_type(const char *s, int *type) {
    *type = lf_type_from_name(s);
    return *type == LF_TYPE_F16 || *type == LF_TYPE_F32;
}

/* Options that take a list of numbers, and where the list goes. */
static int_list *list_option(bench_params *p, const char *a, bool *neg) {
    *neg = false;
    if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) return &p->n_prompt;
    if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) return &p->n_gen;
    if (!strcmp(a, "-d") || !strcmp(a, "--n-depth")) return &p->n_depth;
    if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) return &p->n_batch;
    if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch-size")) return &p->n_ubatch;
    if (!strcmp(a, "-t") || !strcmp(a, "--threads")) return &p->n_threads;
    *neg = true;
    if (!strcmp(a, "-ngl") || !strcmp(a, "--n-gpu-layers")) return &p->n_gpu_layers;
    return NULL;
}

static bool set_default(int_list *l, int v) { return l->n || push(l, v); }

static bool check_positive(const int_list *l, const char *what) {
    for (int i = 0; i < l->n; i++)
        if (l->v[i] < 1)
            return fail("%s must be at least 1", what);
    return true;
}

bool bench_parse_args(int argc, char **argv, bench_params *p) {
    memset(p, 0, sizeof *p);
    p->reps = 5;
    p->fmt = FMT_MD;
    p->fmt_err = FMT_NONE;
    p->type_k = p->type_v = LF_TYPE_F16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool neg;
        int_list *l;
        if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--version")) {
            fputs(strcmp(a, "--version") ? k_usage : "llamafile-bench " LF_VERSION_STRING "\n",
                  stdout);
            p->done = true;
            return true;
        } else if (!strcmp(a, "--progress")) {
            p->progress = true;
        } else if (!strcmp(a, "--no-warmup")) {
            p->no_warmup = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            p->verbose = true;
        } else if (i + 1 >= argc) {
            return fail(a[0] == '-' ? "option %s needs a value (see --help)"
                                    : "unexpected argument '%s' (see --help)", a);
        } else if ((l = list_option(p, a, &neg))) {
            if (!parse_range_list(argv[++i], neg, l))
                return fail("invalid value list '%s'", argv[i]);
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!add_models(p, argv[++i]))
                return fail("%s", "out of memory");
        } else if (!strcmp(a, "-pg")) {
            if (!parse_pg(p, argv[++i]))
                return fail("invalid -pg value '%s' (expected PP,TG)", argv[i]);
        } else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) {
            int_list r = {0};
            bool ok = parse_range_list(argv[++i], false, &r) && r.n == 1 && r.v[0] >= 1;
            p->reps = ok ? r.v[0] : 0;
            free(r.v);
            if (!ok)
                return fail("invalid repetition count '%s'", argv[i]);
        } else if (!strcmp(a, "--delay")) {
            int_list r = {0};
            bool ok = parse_range_list(argv[++i], false, &r) && r.n == 1;
            p->delay = ok ? r.v[0] : 0;
            free(r.v);
            if (!ok)
                return fail("invalid delay '%s'", argv[i]);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!parse_format(argv[++i], &p->fmt))
                return fail("unknown output format '%s' (md, csv, json, jsonl)", argv[i]);
        } else if (!strcmp(a, "-oe") || !strcmp(a, "--output-err")) {
            if (!parse_format(argv[++i], &p->fmt_err))
                return fail("unknown output format '%s' (md, csv, json, jsonl)", argv[i]);
        } else if (!strcmp(a, "-ctk") || !strcmp(a, "--cache-type-k")) {
            if (!parse_kv_type(argv[++i], &p->type_k))
                return fail("unsupported cache type '%s' (f16 or f32)", argv[i]);
        } else if (!strcmp(a, "-ctv") || !strcmp(a, "--cache-type-v")) {
            if (!parse_kv_type(argv[++i], &p->type_v))
                return fail("unsupported cache type '%s' (f16 or f32)", argv[i]);
        } else {
            return fail("unknown option '%s' (see --help)", a);
        }
    }
    if (!p->n_models)
        return fail("%s", "no model given (-m FILE; see --help)");
    if (p->type_k != p->type_v)
        return fail("%s", "-ctk and -ctv must be the same type");
    if (!check_positive(&p->n_batch, "-b") || !check_positive(&p->n_ubatch, "-ub") ||
        !check_positive(&p->n_threads, "-t"))
        return false;
    bool ok = set_default(&p->n_prompt, 512) && set_default(&p->n_gen, 128) &&
              set_default(&p->n_depth, 0) && set_default(&p->n_batch, 2048) &&
              set_default(&p->n_ubatch, 512) && set_default(&p->n_threads, 0) &&
              set_default(&p->n_gpu_layers, -1);
    return ok || fail("%s", "out of memory");
}

void bench_params_free(bench_params *p) {
    free(p->models);
    int_list *lists[] = {&p->n_prompt, &p->n_gen,     &p->n_depth,      &p->n_batch,
                         &p->n_ubatch, &p->n_threads, &p->n_gpu_layers};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        free(lists[i]->v);
    free(p->pg);
}
