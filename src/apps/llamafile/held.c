/* held.c — what the llamafile program says about the weights it copies
 * into memory (model/repack.c does the copying). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_check_repack_env(bool quiet) {
    const char *e = getenv("LLAMAFILE_REPACK");
    if (e && strcmp(e, "0") && strcmp(e, "load") && strcmp(e, "background") && !quiet)
        fprintf(stderr, "llamafile: warning: LLAMAFILE_REPACK=%s is not 0, load or background; "
                "ignored\n", e);
}

void cli_print_held(const lf_model *m, bool at_start) {
    int held, packed;
    uint64_t bytes;
    double ms;
    lf_model_held(m, &held, &bytes, &packed, &ms);
    if (!at_start && (!held || ms < 0))
        return;
    const char *hint = at_start ? " (--no-repack reads them from the file instead)" : "";
    if (ms >= 0)
        fprintf(stderr, "llamafile: %d weight matrices (%.0f MiB) copied into memory, %d of them "
                "repacked, in %.0f ms%s\n", held, bytes / 1048576.0, packed, ms, hint);
    else
        fprintf(stderr, "llamafile: %d weight matrices (%.0f MiB) to copy into memory, %d of them "
                "repacked, in the background%s\n", held, bytes / 1048576.0, packed, hint);
}
