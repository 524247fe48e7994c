/* fuzz_args.c — libFuzzer target: split any bytes as a .args file, merged
 * with a fixed command line; the user's arguments must come through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char *argv[] = {"prog", "USER1", "USER 2", NULL};
    static int once;
    if (!once) {
        setenv("FUZZ_VAR", "a value with spaces", 1);
        once = 1;
    }
    int n = 0;
    char **out = NULL;
    lf_error err;
    if (lf_args_merge((const char *)data, size, 3, argv, &n, &out, &err)) {
        int user = 0;
        for (int i = 0; i < n; i++)
            user += !strcmp(out[i], "USER 2");
        if (n < 3 || strcmp(out[0], "prog") || out[n] || user < 1)
            __builtin_trap();
        lf_args_free(out);
    } else if (strncmp(err.msg, ".args: line ", 12) || strchr(err.msg, '\n')) {
        __builtin_trap();
    }
    return 0;
}
