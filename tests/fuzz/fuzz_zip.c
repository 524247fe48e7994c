/* fuzz_zip.c — libFuzzer target: read any bytes as a zip archive and, when
 * accepted, look every member up and check its bytes lie in the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static volatile uint64_t sink;

static void walk(const lf_zip *z, size_t size) {
    lf_error err;
    for (int64_t i = 0; i < lf_zip_count(z); i++) {
        const lf_zip_entry *e = lf_zip_entry_at(z, i);
        if (e->data_offset > size || e->compressed_size > size - e->data_offset ||
            strlen(e->name) != e->name_len || lf_zip_find(z, e->name) != e)
            __builtin_trap();
        uint64_t off, n;
        if (lf_zip_stored_range(z, e, &off, &n, &err)) {
            char *text;
            size_t len;
            if (n <= 4096 && lf_zip_read_member(z, e, &text, &len, &err)) {
                sink += len ? (uint8_t)text[len - 1] : 0;
                free(text);
            }
        } else if (strchr(err.msg, '\n')) {
            __builtin_trap();
        }
    }
    const lf_zip_entry *g = lf_zip_find_gguf(z, &err);
    sink += g ? g->size : strlen(err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_error err;
    lf_zip *z = lf_zip_open_memory(data, size, "fuzz.zip", &err);
    if (z) {
        walk(z, size);
        lf_zip_close(z);
    } else if (strncmp(err.msg, "fuzz.zip: ", 10) || strchr(err.msg, '\n')) {
        __builtin_trap(); /* every message names the file and is one line */
    }
    return 0;
}
