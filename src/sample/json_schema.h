/* json_schema.h — what the JSON Schema → GBNF converter's files share: an
 * arena that is freed in one go, growable strings in it, GBNF quoting, and
 * the error exit (a longjmp back to lf_json_schema_value_to_gbnf, which
 * frees the arena, so no function below checks for failure). */
#ifndef LF_SAMPLE_JSON_SCHEMA_H
#define LF_SAMPLE_JSON_SCHEMA_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llamafile.h"

typedef struct js_chunk js_chunk;

/* Past this many arena bytes a schema is refused as too large. */
#define JS_MAX_BYTES (64 << 20)

typedef struct js_rule {
    const char *name;
    const char *body; /* NULL: the name is reserved (a $ref being built) */
} js_rule;

typedef struct js_ref {
    const char *ref, *name;
} js_ref;

typedef struct js_conv {
    jmp_buf jb;
    lf_error *err;
    js_chunk *chunks;
    size_t total;
    const struct json_t *root;
    js_rule *rules;
    size_t nrules, caprules;
    js_ref *refs;
    size_t nrefs, caprefs;
    struct json_t **owned; /* merged schemas, released at the end */
    size_t nowned, capowned;
    unsigned used; /* primitive rules referenced (JS_USE_*) */
    int depth;
    size_t pathlen;
    char path[512];
} js_conv;

/* A string being built, its bytes in the converter's arena. */
typedef struct {
    js_conv *c;
    char *p;
    size_t n, cap;
} js_buf;

/* Fails the conversion: formats the message into the caller's lf_error and
 * jumps out. */
_Noreturn void js_fail(js_conv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The JSON pointer of the schema being converted, for error messages. */
const char *js_path(js_conv *c);

void *js_alloc(js_conv *c, size_t n);
void js_arena_free(js_conv *c);
char *js_strdup(js_conv *c, const char *s);
char *js_printf(js_conv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void js_buf_init(js_buf *b, js_conv *c);
void js_buf_add(js_buf *b, const char *s, size_t n);
void js_buf_puts(js_buf *b, const char *s);
void js_buf_printf(js_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text so far, NUL-terminated (the buffer stays usable). */
char *js_buf_str(js_buf *b);

/* Appends s[0..n) as a GBNF string literal, quotes included. */
void js_put_literal(js_buf *b, const char *s, size_t n);
/* Appends one code point as it may appear inside a GBNF [...] class. */
void js_put_class_char(js_buf *b, uint32_t cp);

/* json_schema_ref.c: annotations (keywords that change nothing), owning a
 * jansson value until the end, $ref lookup, and merging schemas. */
struct json_t;
bool js_is_annotation(const char *k);
void js_own(js_conv *c, struct json_t *j);
const struct json_t *js_resolve(js_conv *c, const char *ref);
/* s with bare-$ref hops followed (a loop of them is an error). */
const struct json_t *js_deref(js_conv *c, const struct json_t *s);
bool js_arr_has(const struct json_t *a, const struct json_t *v);
void js_merge_into(js_conv *c, struct json_t *a, const struct json_t *b);
/* A new schema: a's keywords (less skip), then b's (b may be NULL). */
struct json_t *js_merged(js_conv *c, const struct json_t *a, const struct json_t *b,
                         const char *skip);

/* The digits of an integer range as a GBNF expression (a parenthesised
 * alternation, no trailing space rule); has_lo/has_hi false: unbounded on
 * that side (then at most 15 digits). lo <= hi when both are given.
 * json_schema_num.c. */
char *js_int_range(js_conv *c, bool has_lo, int64_t lo, bool has_hi, int64_t hi);
/* A number (fraction allowed) whose value lies in [lo, hi] on the sides
 * given, bounds already rounded inwards to integers. */
char *js_num_range(js_conv *c, bool has_lo, int64_t lo, bool has_hi, int64_t hi);

/* A regular expression (`pattern`) as a GBNF expression for the characters
 * of a JSON string that matches it (quotes not included). Anchors ^ and $
 * are accepted only at the ends; an unanchored pattern is treated as
 * anchored (a subset of what it matches). json_schema_regex.c. */
char *js_regex(js_conv *c, const char *re);

#endif
