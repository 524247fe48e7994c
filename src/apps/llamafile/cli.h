/* cli.h — options of the llamafile command. */
#ifndef LLAMAFILE_CLI_H
#define LLAMAFILE_CLI_H

#include <stdio.h>

#include "llamafile.h"
#include "server/options.h"

typedef struct cli_options {
    const char *model;
    char *prompt;
    int n_predict, n_ctx, n_batch, n_threads, n_gpu_layers, kv_type;
    bool ngl_given, ctx_given, escape, display_prompt, ignore_eos, verbose, quiet, help, version;
    lf_sampler_params sampling;
    bool embedding;      /* --embedding: print the prompt's embedding, not a continuation */
    int pooling;         /* --pooling (enum lf_pooling_type) */
    int embd_normalize;  /* --embd-normalize */
    char *grammar;       /* --grammar, --grammar-file: GBNF text */

    bool chat;           /* --chat / -cnv */
    bool no_color;       /* --no-color */
    char *system_prompt; /* --system-prompt, --system-prompt-file */
    int reasoning;       /* --reasoning: enum chat_reasoning (0 on, 1 off, 2 hide) */

    srv_options server; /* --server and its flags */
} cli_options;

/* Parses argv, where argv[user_first..user_end) are the user's own and the
 * rest came from .args; on a bad argument prints one line on stderr (saying
 * "in .args" for those) and returns false. */
bool cli_parse(int argc, char **argv, int user_first, int user_end, cli_options *o);
void cli_free(cli_options *o);
void cli_print_help(FILE *f);
/* held.c: a warning on stderr (unless quiet) for an LLAMAFILE_REPACK that
 * is none of 0, load, background; one line on stderr on the weights copied
 * into memory (or to be copied): at_start adds how to keep them mapped;
 * without it, nothing is said unless some were copied and the copy is over. */
void cli_check_repack_env(bool quiet);
void cli_print_held(const lf_model *m, bool at_start);
/* The prompt's tokens (BOS alone for an empty prompt) into *toks (the
 * caller's), with room more tokens left in the context; -1 after one line
 * on stderr (out of memory, or it does not fit). */
int64_t cli_prompt_tokens(lf_model *m, lf_context *ctx, const cli_options *o, int room,
                          int32_t **toks);
/* --embedding: decodes the prompt in one batch and prints its embedding
 * vectors; returns the exit status. */
int cli_embed(lf_model *m, lf_context *ctx, const cli_options *o);

/* --chat: the terminal chatbot (chat/repl.c); returns the exit status. */
int cli_chat(lf_model *m, lf_context *ctx, const cli_options *o);

#endif
