/* print.c — llama-bench's output formats: a markdown table (model, size,
 * params, backend, threads, test, t/s), and csv/json/jsonl records with
 * llama-bench's field names, in its order, so scripts read both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---------------------------------------------------------------- timing */

static double sample_ts(const bench_test *t, int i) {
    return 1e9 * (t->n_prompt + t->n_gen) / (double)t->samples_ns[i];
}

double bench_avg_ts(const bench_test *t) {
    double s = 0;
    for (int i = 0; i < t->n_samples; i++)
        s += sample_ts(t, i);
    return t->n_samples ? s / t->n_samples : 0;
}

/* Sample standard deviation of value(t, i) over the samples. */
static double stddev(const bench_test *t, double (*value)(const bench_test *, int)) {
    int n = t->n_samples;
    if (n <= 1)
        return 0;
    double mean = 0, ss = 0;
    for (int i = 0; i < n; i++)
        mean += value(t, i);
    mean /= n;
    for (int i = 0; i < n; i++)
        ss += (value(t, i) - mean) * (value(t, i) - mean);
    return sqrt(ss / (n - 1));
}

double bench_stddev_ts(const bench_test *t) { return stddev(t, sample_ts); }

static double sample_ns(const bench_test *t, int i) { return (double)t->samples_ns[i]; }

static uint64_t avg_ns(const bench_test *t) {
    uint64_t s = 0;
    for (int i = 0; i < t->n_samples; i++)
        s += t->samples_ns[i];
    return t->n_samples ? s / (uint64_t)t->n_samples : 0;
}

static uint64_t stddev_ns(const bench_test *t) { return (uint64_t)stddev(t, sample_ns); }

/* ---------------------------------------------------------------- fields */

enum kind { STR, BOOL, INT, FLOAT };

typedef struct field {
    const char *name;
    enum kind kind;
} field;

static const field k_fields[] = {
    {"build_commit", STR},   {"build_number", INT},  {"cpu_info", STR},
    {"gpu_info", STR},       {"backends", STR},      {"model_filename", STR},
    {"model_type", STR},     {"model_size", INT},    {"model_n_params", INT},
    {"n_batch", INT},        {"n_ubatch", INT},      {"n_threads", INT},
    {"cpu_mask", STR},       {"cpu_strict", BOOL},   {"poll", INT},
    {"type_k", STR},         {"type_v", STR},        {"n_gpu_layers", INT},
    {"n_cpu_moe", INT},      {"split_mode", STR},    {"main_gpu", INT},
    {"no_kv_offload", BOOL}, {"flash_attn", INT},    {"devices", STR},
    {"tensor_split", STR},   {"tensor_buft_overrides", STR},
    {"load_mode", STR},      {"embeddings", BOOL},   {"no_op_offload", INT},
    {"no_host", BOOL},       {"fit_target", INT},    {"fit_min_ctx", INT},
    {"n_prompt", INT},       {"n_gen", INT},         {"n_depth", INT},
    {"test_time", STR},      {"avg_ns", INT},        {"stddev_ns", INT},
    {"avg_ts", FLOAT},       {"stddev_ts", FLOAT},
};
#define N_FIELDS (sizeof k_fields / sizeof k_fields[0])

static const char *cpu_info(void) {
    static char name[256];
    if (name[0])
        return name;
    snprintf(name, sizeof name, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && c) {
            c += 1 + (c[1] == ' ');
            c[strcspn(c, "\n")] = 0;
            snprintf(name, sizeof name, "%s", c);
            break;
        }
    }
    if (f)
        fclose(f);
    return name;
}

static const char *kv_name(int type) { return type == LF_TYPE_F32 ? "f32" : "f16"; }

/* Value i of a test, as text (before quoting). */
static void field_value(const bench_test *t, size_t i, char *buf, size_t n) {
    const char *s = NULL;
    long long v = 0;
    double f = 0;
    switch (i) {
    case 0: s = "llamafile-" LF_VERSION_STRING; break;
    case 1: v = 0; break;
    case 2: s = cpu_info(); break;
    case 3: s = ""; break;
    case 4: s = "CPU"; break;
    case 5: s = t->model_filename; break;
    case 6: s = t->model_type; break;
    case 7: v = (long long)t->model_size; break;
    case 8: v = (long long)t->model_n_params; break;
    case 9: v = t->n_batch; break;
    case 10: v = t->n_ubatch; break;
    case 11: v = t->n_threads; break;
    case 12: s = "0x0"; break;
    case 13: v = 0; break;
    case 14: v = 50; break;
    case 15: s = kv_name(t->type_k); break;
    case 16: s = kv_name(t->type_v); break;
    case 17: v = t->n_gpu_layers; break;
    case 18: v = 0; break;
    case 19: s = "layer"; break;
    case 20: v = 0; break;
    case 21: v = 0; break;
    case 22: v = 1; break; /* attention is always the online-softmax kind */
    case 23: s = "auto"; break;
    case 24: s = "0.00"; break;
    case 25: s = "none"; break;
    case 26: s = "mmap"; break;
    case 27: case 28: case 29: case 30: case 31: v = 0; break;
    case 32: v = t->n_prompt; break;
    case 33: v = t->n_gen; break;
    case 34: v = t->n_depth; break;
    case 35: s = t->test_time; break;
    case 36: v = (long long)avg_ns(t); break;
    case 37: v = (long long)stddev_ns(t); break;
    case 38: f = bench_avg_ts(t); break;
    case 39: f = bench_stddev_ts(t); break;
    }
    if (s)
        snprintf(buf, n, "%s", s);
    else if (k_fields[i].kind == FLOAT)
        snprintf(buf, n, "%f", f);
    else
        snprintf(buf, n, "%lld", v);
}

static void put_csv(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_json(FILE *f, const char *s, enum kind k) {
    if (k == BOOL) {
        fputs(strcmp(s, "0") ? "true" : "false", f);
        return;
    }
    if (k != STR) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* "[ a, b, c ]" of the samples, in ns or in tokens/s */
static void put_samples(FILE *f, const bench_test *t, bool ts) {
    fputs("[ ", f);
    for (int i = 0; i < t->n_samples; i++) {
        if (i)
            fputs(", ", f);
        if (ts)
            fprintf(f, "%g", sample_ts(t, i));
        else
            fprintf(f, "%llu", (unsigned long long)t->samples_ns[i]);
    }
    fputs(" ]", f);
}

static void print_json_record(FILE *f, const bench_test *t, bool multiline) {
    const char *ind = multiline ? "    " : "", *sep = multiline ? ",\n" : ", ";
    fputs(multiline ? "  {\n" : "{", f);
    char buf[512];
    for (size_t i = 0; i < N_FIELDS; i++) {
        field_value(t, i, buf, sizeof buf);
        fprintf(f, "%s\"%s\": ", ind, k_fields[i].name);
        put_json(f, buf, k_fields[i].kind);
        fputs(sep, f);
    }
    fprintf(f, "%s\"samples_ns\": ", ind);
    put_samples(f, t, false);
    fputs(multiline ? ",\n" : ",", f);
    fprintf(f, "%s\"samples_ts\": ", ind);
    put_samples(f, t, true);
    fputs(multiline ? "\n  }" : "}\n", f);
}

/* -------------------------------------------------------------- markdown */

typedef struct column {
    const char *title;
    int width; /* negative: left-aligned */
} column;

/* The columns llama-bench shows for a CPU backend, plus those whose values
 * differ from the defaults. */
static int md_columns(const bench_params *p, column *c) {
    int n = 0;
    c[n++] = (column){"model", -30};
    c[n++] = (column){"size", 10};
    c[n++] = (column){"params", 10};
    c[n++] = (column){"backend", -10};
    c[n++] = (column){"threads", 7};
    if (p->n_batch.n > 1 || p->n_batch.v[0] != 2048)
        c[n++] = (column){"n_batch", 7};
    if (p->n_ubatch.n > 1 || p->n_ubatch.v[0] != 512)
        c[n++] = (column){"n_ubatch", 8};
    if (p->type_k != LF_TYPE_F16)
        c[n++] = (column){"type_k", 6};
    if (p->type_v != LF_TYPE_F16)
        c[n++] = (column){"type_v", 6};
    c[n++] = (column){"test", 15};
    c[n++] = (column){"t/s", 20};
    return n;
}

static void md_cell(const bench_test *t, const char *title, char *buf, size_t n) {
    if (!strcmp(title, "model")) {
        snprintf(buf, n, "%s", t->model_type);
    } else if (!strcmp(title, "size")) {
        double b = (double)t->model_size;
        if (b < 1024.0 * 1024 * 1024)
            snprintf(buf, n, "%.2f MiB", b / 1024 / 1024);
        else
            snprintf(buf, n, "%.2f GiB", b / 1024 / 1024 / 1024);
    } else if (!strcmp(title, "params")) {
        double v = (double)t->model_n_params;
        if (v < 1e9)
            snprintf(buf, n, "%.2f M", v / 1e6);
        else
            snprintf(buf, n, "%.2f B", v / 1e9);
    } else if (!strcmp(title, "backend")) {
        snprintf(buf, n, "CPU");
    } else if (!strcmp(title, "threads")) {
        snprintf(buf, n, "%d", t->n_threads);
    } else if (!strcmp(title, "n_batch")) {
        snprintf(buf, n, "%d", t->n_batch);
    } else if (!strcmp(title, "n_ubatch")) {
        snprintf(buf, n, "%d", t->n_ubatch);
    } else if (!strcmp(title, "type_k")) {
        snprintf(buf, n, "%s", kv_name(t->type_k));
    } else if (!strcmp(title, "type_v")) {
        snprintf(buf, n, "%s", kv_name(t->type_v));
    } else if (!strcmp(title, "test")) {
        int k;
        if (t->n_prompt > 0 && t->n_gen == 0)
            k = snprintf(buf, n, "pp%d", t->n_prompt);
        else if (t->n_gen > 0 && t->n_prompt == 0)
            k = snprintf(buf, n, "tg%d", t->n_gen);
        else
            k = snprintf(buf, n, "pp%d+tg%d", t->n_prompt, t->n_gen);
        if (t->n_depth > 0 && k > 0 && (size_t)k < n)
            snprintf(buf + k, n - (size_t)k, " @ d%d", t->n_depth);
    } else {
        snprintf(buf, n, "%.2f ± %.2f", bench_avg_ts(t), bench_stddev_ts(t));
    }
}

/* ------------------------------------------------------------ the printer */

void bench_print_header(bench_printer *pr) {
    pr->first = true;
    column c[16];
    int n;
    switch (pr->fmt) {
    case FMT_MD:
        n = md_columns(pr->params, c);
        fputc('|', pr->f);
        for (int i = 0; i < n; i++)
            fprintf(pr->f, " %*s |", c[i].width, c[i].title);
        fputs("\n|", pr->f);
        for (int i = 0; i < n; i++) {
            fputc(' ', pr->f);
            for (int k = 0; k < abs(c[i].width) - 1; k++)
                fputc('-', pr->f);
            fprintf(pr->f, "%c |", c[i].width > 0 ? ':' : '-');
        }
        fputc('\n', pr->f);
        break;
    case FMT_CSV:
        for (size_t i = 0; i < N_FIELDS; i++)
            fprintf(pr->f, "%s%s", i ? "," : "", k_fields[i].name);
        fputc('\n', pr->f);
        break;
    case FMT_JSON: fputs("[\n", pr->f); break;
    default: break;
    }
    pr->f == stdout ? (void)lf_stdout_flush() : (void)fflush(pr->f);
}

void bench_print_test(bench_printer *pr, const bench_test *t) {
    char buf[512];
    column c[16];
    int n;
    switch (pr->fmt) {
    case FMT_MD:
        n = md_columns(pr->params, c);
        fputc('|', pr->f);
        for (int i = 0; i < n; i++) {
            md_cell(t, c[i].title, buf, sizeof buf);
            /* "±" is two bytes but one column */
            int w = c[i].width + (!strcmp(c[i].title, "t/s") ? 1 : 0);
            fprintf(pr->f, " %*s |", w, buf);
        }
        fputc('\n', pr->f);
        break;
    case FMT_CSV:
        for (size_t i = 0; i < N_FIELDS; i++) {
            field_value(t, i, buf, sizeof buf);
            if (i)
                fputc(',', pr->f);
            put_csv(pr->f, buf);
        }
        fputc('\n', pr->f);
        break;
    case FMT_JSON:
        if (!pr->first)
            fputs(",\n", pr->f);
        print_json_record(pr->f, t, true);
        break;
    case FMT_JSONL: print_json_record(pr->f, t, false); break;
    default: break;
    }
    pr->first = false;
    pr->f == stdout ? (void)lf_stdout_flush() : (void)fflush(pr->f);
}

void bench_print_footer(bench_printer *pr) {
    if (pr->fmt == FMT_JSON)
        fputs("\n]\n", pr->f);
    pr->f == stdout ? (void)lf_stdout_flush() : (void)fflush(pr->f);
}
