/* harmony.h — internals of the harmony encoding and renderer (gpt-oss's
 * conversation format, ../shared/spec/harmony.md). Public API: the
 * harmony section of include/llamafile.h. */
#ifndef LF_TEXT_HARMONY_H
#define LF_TEXT_HARMONY_H

#include "llamafile.h"

struct lf_harmony {
    const lf_model *model;
    int32_t n_vocab;
    int32_t ids[LF_HARMONY_N_SPECIAL];
    uint8_t *special; /* n_vocab flags: control tokens */
};

/* A growable string; every append fails (and stays failed) past
 * LF_HARMONY_MAX_TEXT or on out-of-memory. */
typedef struct lf_hstr {
    char *p;
    size_t n, cap;
    bool failed;
} lf_hstr;

bool lf_hstr_append(lf_hstr *s, const char *p, size_t n);
bool lf_hstr_puts(lf_hstr *s, const char *p);
void lf_hstr_free(lf_hstr *s);

/* Schema depth beyond which a schema renders as "any". */
#define LF_HARMONY_SCHEMA_DEPTH 32

/* JSON Schema (JSON text) -> harmony's TypeScript for a function's
 * parameters, appended to out; false when the text is not JSON (err). */
bool lf_harmony_schema_ts(const char *json, lf_hstr *out, lf_error *err);
/* The same from a parsed schema (a jansson json_t *); false only when out
 * has failed. */
bool lf_harmony_schema_ts_json(const void *schema, lf_hstr *out);

#endif
