/* cli.h — options of the llamafile command. */
#ifndef LLAMAFILE_CLI_H
#define LLAMAFILE_CLI_H

#include <stdio.h>

#include "llamafile.h"

typedef struct cli_options {
    const char *model;
    char *prompt;
    int n_predict, n_ctx, n_batch, n_threads, n_gpu_layers, kv_type;
    bool ngl_given, escape, display_prompt, ignore_eos, verbose, quiet, help, version;
    lf_sampler_params sampling;
} cli_options;

/* Parses argv; on a bad argument prints one line on stderr, returns false. */
bool cli_parse(int argc, char **argv, cli_options *o);
void cli_free(cli_options *o);
void cli_print_help(FILE *f);

#endif
