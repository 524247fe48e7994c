/* llamafile-tokenize — text to token ids and pieces (flags as llama.cpp's
 * llama-tokenize). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static const char k_usage[] =
    "usage: llamafile-tokenize -m MODEL (-p TEXT | -f FILE | --stdin) [options]\n"
    "\n"
    "Tokenizes text with the model's tokenizer and prints one token per line\n"
    "as 'ID -> 'PIECE'', or with --ids a list [ID, ID, ...].\n"
    "\n"
    "  -m, --model FILE      GGUF model (its vocabulary is enough)\n"
    "  -p, --prompt TEXT     text to tokenize\n"
    "  -f, --file FILE       tokenize the contents of FILE (up to 256 MiB)\n"
    "  --stdin               tokenize standard input\n"
    "  --ids                 print only the ids, as [1, 2, 3]\n"
    "  --no-bos              do not add the BOS/EOS tokens the model asks for\n"
    "  --no-parse-special    treat the text of special tokens as plain text\n"
    "  --show-count          print the number of tokens at the end\n"
    "  --log-disable         accepted for compatibility (nothing is logged)\n"
    "  --version             print the version and exit\n"
    "  -h, --help            this help\n";

static int die(const char *fmt, const char *arg) {
    fprintf(stderr, "llamafile-tokenize: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

static int finish(int rc) {
    lf_error err;
    if (lf_stdout_close(&err))
        return rc;
    return die("%s", err.msg);
}

/* Prints a piece with control bytes escaped, so one token stays on one line. */
static void put_piece(const char *s, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20) printf("\\x%02x", c);
        else putchar(c);
    }
}

int main(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *file = NULL;
    bool use_stdin = false, ids = false, bos = true, parse_special = true, show_count = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(k_usage, stdout); return finish(0); }
        else if (!strcmp(a, "--version")) { puts("llamafile-tokenize " LF_VERSION_STRING); return finish(0); }
        else if (!strcmp(a, "--stdin")) use_stdin = true;
        else if (!strcmp(a, "--ids")) ids = true;
        else if (!strcmp(a, "--no-bos")) bos = false;
        else if (!strcmp(a, "--no-parse-special")) parse_special = false;
        else if (!strcmp(a, "--show-count")) show_count = true;
        else if (!strcmp(a, "--log-disable")) continue;
        else if (i + 1 < argc && (!strcmp(a, "-m") || !strcmp(a, "--model"))) model = argv[++i];
        else if (i + 1 < argc && (!strcmp(a, "-p") || !strcmp(a, "--prompt"))) prompt = argv[++i];
        else if (i + 1 < argc && (!strcmp(a, "-f") || !strcmp(a, "--file"))) file = argv[++i];
        else
            return die("unknown option or missing value: '%s' (see --help)", a);
    }
    if (!model)
        return die("%s", "no model given: use -m FILE (see --help)");
    if (!!prompt + !!file + use_stdin != 1)
        return die("%s", "give exactly one of -p TEXT, -f FILE or --stdin");
    size_t len = 0;
    char *text = NULL;
    lf_error err;
    if (prompt) {
        text = strdup(prompt);
        len = strlen(prompt);
    } else {
        text = lf_read_text(use_stdin ? NULL : file, LF_TEXT_MAX, &len, &err);
        if (!text)
            return die("%s", err.msg);
    }
    lf_model *m = lf_model_load_vocab(model, &err);
    if (!m) {
        free(text);
        return die("%s", err.msg);
    }
    int32_t *toks;
    int64_t n = lf_tokenize_alloc(m, text, len, &toks, bos, parse_special);
    if (n < 0) {
        free(text);
        lf_model_free(m);
        return die("%s", "out of memory");
    }
    if (ids) {
        putchar('[');
        for (int64_t i = 0; i < n; i++)
            printf("%s%d", i ? ", " : "", toks[i]);
        puts("]");
    } else {
        char piece[1024];
        for (int64_t i = 0; i < n; i++) {
            int64_t pn = lf_token_to_piece(m, toks[i], piece, sizeof piece, true);
            printf("%6d -> '", toks[i]);
            put_piece(piece, pn > 0 ? pn : 0);
            puts("'");
        }
    }
    if (show_count)
        printf("Total number of tokens: %lld\n", (long long)n);
    free(toks);
    free(text);
    lf_model_free(m);
    return finish(0);
}
