/* embed.c — --embedding: the prompt's embedding vectors on stdout, one
 * line "embedding N: v1 v2 ..." per vector (per token with pooling none,
 * else one for the whole prompt), as llama.cpp's llama-embedding prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_vector(int index, const float *v, int n) {
    printf("embedding %d:", index);
    for (int i = 0; i < n; i++)
        printf(" %9.6f", v[i]);
    putchar('\n');
}

int cli_embed(lf_model *m, lf_context *ctx, const cli_options *o) {
    lf_error err;
    int32_t *toks;
    int64_t n = cli_prompt_tokens(m, ctx, o, 0, &toks);
    if (n < 0)
        return 1;
    int rc = 1;
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)n), *seq = calloc((size_t)n, sizeof(int32_t));
    int8_t *want = malloc((size_t)n);
    if (!pos || !seq || !want) {
        fprintf(stderr, "llamafile: out of memory\n");
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        pos[i] = (int32_t)i, want[i] = 1;
    if (!lf_decode(ctx, &(lf_batch){(int32_t)n, toks, pos, seq, want}, &err)) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        goto done;
    }
    int n_embd = lf_model_n_embd(m);
    if (lf_pooling_type(ctx) == LF_POOLING_TYPE_NONE)
        for (int64_t i = 0; i < n; i++)
            print_vector((int)i, lf_get_embeddings_ith(ctx, (int32_t)i), n_embd);
    else
        print_vector(0, lf_get_embeddings_seq(ctx, 0), n_embd);
    rc = 0;
done:
    free(toks);
    free(pos);
    free(seq);
    free(want);
    return rc;
}
