/* bench.h — llamafile-bench: llama-bench's command line, tests and output
 * formats on top of the public API. */
#ifndef LF_APPS_BENCH_H
#define LF_APPS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "llamafile.h"

enum bench_format { FMT_NONE, FMT_MD, FMT_CSV, FMT_JSON, FMT_JSONL };

typedef struct int_list {
    int *v;
    int n;
} int_list;

typedef struct bench_params {
    const char **models;
    int n_models;
    int_list n_prompt, n_gen, n_depth, n_batch, n_ubatch, n_threads, n_gpu_layers;
    int (*pg)[2];
    int n_pg;
    int type_k, type_v;
    int reps, delay;
    enum bench_format fmt, fmt_err;
    bool progress, no_warmup, verbose;
    bool done; /* --help or --version printed: exit 0 */
} bench_params;

/* One row of results: a test on a model with its settings and timings. */
typedef struct bench_test {
    const char *model_filename;
    char model_type[128];
    uint64_t model_size, model_n_params;
    int n_batch, n_ubatch, n_threads, n_gpu_layers, type_k, type_v;
    int n_prompt, n_gen, n_depth;
    char test_time[32];
    uint64_t *samples_ns;
    int n_samples;
} bench_test;

/* Parses the command line (exits on --help). false: message already printed. */
bool bench_parse_args(int argc, char **argv, bench_params *p);
void bench_params_free(bench_params *p);

/* Runs every test; returns the process exit status. */
int bench_run(const bench_params *p);

/* Output in one format: a header, one record per test, a footer. */
typedef struct bench_printer {
    enum bench_format fmt;
    FILE *f;
    bool first;
    const bench_params *params;
} bench_printer;

void bench_print_header(bench_printer *pr);
void bench_print_test(bench_printer *pr, const bench_test *t);
void bench_print_footer(bench_printer *pr);

/* llama.cpp's description of a general.file_type value ("Q4_K - Medium"). */
const char *bench_ftype_name(int64_t ftype);

/* Tokens per second of each sample, their mean and sample stddev. */
double bench_avg_ts(const bench_test *t);
double bench_stddev_ts(const bench_test *t);

#endif
