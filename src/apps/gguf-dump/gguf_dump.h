/* gguf_dump.h — the two output formats of gguf-dump and what they share. */
#ifndef GGUF_DUMP_H
#define GGUF_DUMP_H

#include "llamafile.h"

struct dump_options {
    bool full; /* print long arrays and strings in full */
    bool json;
};

/* Items of an array (and bytes of a string) shown when not --full. */
enum { DUMP_ARRAY_ITEMS = 8, DUMP_STRING_BYTES = 120 };

struct dump_totals {
    int64_t params;
    uint64_t tensor_bytes;
    uint64_t file_bytes; /* all shards */
    int64_t type_count[LF_TYPE_COUNT];
    uint64_t type_bytes[LF_TYPE_COUNT];
};

void dump_compute_totals(const lf_gguf *g, struct dump_totals *t);
int64_t dump_tensor_elements(const lf_gguf_tensor *t);

int dump_text(const lf_gguf *g, const char *path, const struct dump_options *opt);
int dump_json(const lf_gguf *g, const char *path, const struct dump_options *opt);

#endif
