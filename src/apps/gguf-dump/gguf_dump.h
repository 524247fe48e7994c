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

/* model.c: the "model" summary between metadata and tensors. A row of the
 * text form shows the keys "<arch>.<suffix>" of its items that are present. */
enum { DUMP_ROW_ITEMS = 8, DUMP_MAX_KINDS = 8 };
struct dump_item {
    const char *suffix, *label;  /* label "" for the row's main value */
    const char *const *names;    /* names of integer values, or NULL */
    int n_names;
    bool scalar_only;            /* arrays are shown as layer kinds instead */
};
struct dump_row {
    const char *label;
    struct dump_item items[DUMP_ROW_ITEMS];
};
extern const struct dump_row dump_rows[];
extern const int dump_row_count;

/* One kind per layer ("SWA" / "global"), derived from the metadata. */
struct dump_kinds {
    const char *name;    /* "mixer", "kv_cache", ...: the JSON key */
    const char *label;   /* "mixer", "KV cache", ...: the text form's */
    const char **layer;  /* n_layer static strings */
    char rule[128];      /* what the kinds were derived from */
};
struct dump_model {
    char arch[64];
    int64_t n_layer;     /* block_count; 0 when absent or out of range */
    int64_t head_dim_k, head_dim_v; /* 0 when unknown */
    bool head_dims_derived;         /* embedding_length / head_count */
    int n_kinds;
    struct dump_kinds kinds[DUMP_MAX_KINDS];
};

/* False when the file names no usable general.architecture. */
bool dump_model_init(const lf_gguf *g, struct dump_model *m);
void dump_model_free(struct dump_model *m);
/* Index of the key "<arch>.<suffix>", or -1. */
int64_t dump_model_key(const lf_gguf *g, const struct dump_model *m, const char *suffix);
/* The kinds as runs of layers, "0-3 SWA, 4 global, repeating every 5 layers
 * (20 SWA, 5 global)", in a string to free (NULL: out of memory); without
 * full, at most 8 runs are listed. */
char *dump_kinds_summary(const struct dump_model *m, const struct dump_kinds *k, bool full);

int dump_text(const lf_gguf *g, const char *path, const struct dump_options *opt);
int dump_json(const lf_gguf *g, const char *path, const struct dump_options *opt);

#endif
