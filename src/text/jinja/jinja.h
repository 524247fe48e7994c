/*
 * jinja.h — a Jinja2 template engine, exact against Hugging Face
 * transformers' apply_chat_template environment (trim_blocks, lstrip_blocks,
 * the immutable sandbox, HF's tojson, loopcontrols, {% generation %}).
 */
#ifndef LF_TEXT_JINJA_H
#define LF_TEXT_JINJA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llamafile.h"

typedef struct lf_jinja lf_jinja;              /* a parsed template, immutable, shareable across threads */
lf_jinja *lf_jinja_parse(const char *text, size_t len, lf_error *err);  /* syntax error: "line L, column C: ..." */
void lf_jinja_free(lf_jinja *t);
typedef struct lf_jinja_opts {
    int64_t now;           /* strftime_now's time, seconds since the epoch, local time; INT64_MIN: the clock */
    size_t max_output;     /* 0: default limit */
    int max_depth;         /* 0: default */
    int64_t max_steps;     /* loop iterations + calls; 0: default */
} lf_jinja_opts;
/* Renders with the variables of ctx (a JSON object, jansson: key order kept,
 * ints apart from floats, null = none). Returns a malloc'd NUL-terminated
 * string (*len its length; text, no NULs), or NULL with err set: a runtime error's one-line
 * message; for raise_exception(msg), exactly msg, and *raised = true.
 * o may be NULL (defaults: the clock, 64 MiB output, depth 256, 10^7 steps). */
char *lf_jinja_render(const lf_jinja *t, const json_t *ctx, const lf_jinja_opts *o,
                      size_t *len, bool *raised, lf_error *err);

#define LF_JINJA_DEFAULT_MAX_OUTPUT ((size_t)64 << 20)
#define LF_JINJA_DEFAULT_MAX_DEPTH 256
#define LF_JINJA_DEFAULT_MAX_STEPS ((int64_t)10000000)

#endif
