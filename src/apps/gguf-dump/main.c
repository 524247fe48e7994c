/* gguf-dump — prints the metadata and tensor table of a GGUF file. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"
#include "gguf_dump.h"

static const char k_usage[] =
    "usage: gguf-dump [--full] [--json] FILE\n"
    "\n"
    "Prints a GGUF file: its version, tensor and metadata counts, every\n"
    "metadata key with its type and value, a summary of the model (the\n"
    "architecture's key hyperparameters and which layers are of which kind:\n"
    "recurrent or attention, sliding-window or global, dense or MoE, ...),\n"
    "the tensor table (name, shape, type, offset, bytes) and totals\n"
    "(parameters, bytes, bits per weight, a histogram of tensor types).\n"
    "FILE may be the first shard of a split model (NAME-00001-of-0000N.gguf):\n"
    "all shards are read; or a llamafile, or ARCHIVE@MEMBER.\n"
    "\n"
    "  --full     print long arrays and strings in full (default: the first\n"
    "             items and the count)\n"
    "  --json     print the same information as one JSON object\n"
    "  --version  print the version and exit\n"
    "  -h, --help show this help\n"
    "\n"
    "Exit status: 0 on success, 1 if the file cannot be read or is not a\n"
    "valid GGUF (the reason is printed on stderr) or the output cannot be\n"
    "written, 2 on bad usage.\n";

static int finish(int rc) {
    lf_error err;
    if (lf_stdout_close(&err))
        return rc;
    fprintf(stderr, "gguf-dump: %s\n", err.msg);
    return 1;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    struct dump_options opt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--full")) {
            opt.full = true;
        } else if (!strcmp(a, "--json")) {
            opt.json = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "--version")) {
            fputs(strcmp(a, "--version") ? k_usage : "gguf-dump " LF_VERSION_STRING "\n", stdout);
            return finish(0);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "gguf-dump: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (path) {
            fprintf(stderr, "gguf-dump: only one FILE may be given (see --help)\n");
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        fputs(k_usage, stderr);
        return 2;
    }
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open_any(path, &err);
    if (!g) {
        fprintf(stderr, "gguf-dump: %s\n", err.msg);
        return 1;
    }
    int rc = opt.json ? dump_json(g, path, &opt) : dump_text(g, path, &opt);
    lf_gguf_close(g);
    return finish(rc);
}
