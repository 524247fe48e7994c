/* toolcall.h — internals of the tool-call parsers (public API: the "tool
 * calls" section of include/llamafile.h). One parser per family, in a
 * table (family.c) like the tensor type-traits table. A parser reads the
 * model's whole output so far; in partial mode (streaming) it stops before
 * anything that might still become a call, so that what it reports is
 * always a prefix of what the final parse reports. In eager mode (a
 * stream of grammar-constrained output) it also reports the call it
 * stopped at, while it is still being written: tc_out.pending. */
#ifndef LF_TEXT_TOOLCALL_H
#define LF_TEXT_TOOLCALL_H

#include <stdbool.h>
#include <stddef.h>

#include "llamafile.h"

/* Outputs larger than this are refused (the parsers are linear, but a
 * stream re-parses its text on every push). */
#define TC_MAX_TEXT (64u << 20)

typedef struct tc_buf {
    char *p;
    size_t n, cap;
} tc_buf;

typedef struct tc_call {
    char *name;
    char *args; /* JSON object text */
} tc_call;

/* Eager mode: the call after the last complete one, still being written,
 * for families whose arguments are the model's own JSON object text. */
typedef struct tc_pending {
    char *name;       /* NULL: not known yet */
    const char *args; /* into the text: the arguments so far, every byte of it
                       * final (NULL: not begun, or built rather than copied) */
    size_t args_len;
} tc_pending;

typedef struct tc_out {
    tc_buf content;
    tc_buf reasoning; /* only gpt-oss fills it */
    tc_call *calls;
    size_t n_calls, cap_calls;
    tc_pending pending;
    bool oom;
} tc_out;

typedef struct tc_ctx {
    const char *s;
    size_t n;
    bool partial; /* more text may follow */
    bool eager;   /* partial: report the call being written (tc_out.pending),
                   * and the complete calls of an unfinished list of calls */
    tc_out *o;
} tc_ctx;

/* What a call parser found at a start marker. */
enum tc_res {
    TC_OK,         /* calls added, *end past them */
    TC_MORE,       /* might be a call, needs more text (partial mode only) */
    TC_BAD,        /* a malformed call: it and the rest become content */
    TC_NOT_A_CALL, /* the marker is ordinary text */
};

typedef struct tc_family {
    const char *name;
    /* the markers a call (or a piece of syntax the scanner consumes) starts with */
    const char *markers[4];
    /* parses at s[at], where markers[k] begins */
    enum tc_res (*at)(tc_ctx *c, size_t at, int k, size_t *end);
    /* a whole-output parser instead of the marker scanner (NULL: scan) */
    void (*whole)(tc_ctx *c);
} tc_family;

extern const tc_family lf_tc_families[LF_TOOLCALL_N_FORMATS];

/* buffers and results */
bool tc_add(tc_out *o, tc_buf *b, const char *s, size_t n);
void tc_buf_free(tc_buf *b);
bool tc_add_call(tc_out *o, const char *name, size_t name_len, const char *args, size_t args_len);
void tc_out_free(tc_out *o);
/* Drops the calls added after the first `keep` (no half results). */
void tc_drop_calls(tc_out *o, size_t keep);

/* The marker-driven scan shared by most families. */
void tc_scan(tc_ctx *c, const tc_family *f);

/* text helpers */
size_t tc_skip_ws(const char *s, size_t n, size_t i);
bool tc_starts(const char *s, size_t n, size_t i, const char *lit);
/* True when s[i..n) is a proper prefix of lit (more text could complete it). */
bool tc_prefix_of(const char *s, size_t n, size_t i, const char *lit);
/* Where lit next occurs in s[from..n), or n. */
size_t tc_find(const char *s, size_t n, size_t from, const char *lit);

/* JSON. tc_json_end: the end of the JSON value at s[i] (leading
 * whitespace skipped). */
enum tc_json { TC_JSON_OK, TC_JSON_MORE, TC_JSON_BAD };
enum tc_json tc_json_end(const char *s, size_t n, size_t i, size_t *end);
/* For a complete JSON object s[a..b): the raw text span of member key
 * (a top-level key); false when absent. */
bool tc_json_member(const char *s, size_t a, size_t b, const char *key, size_t *va, size_t *vb);
/* For the JSON object at s[a], complete or cut off at n: the value of the
 * first member named keys[k], s[va[k]..vb[k]) (vb[k] == n when it is cut
 * off; 0, 0 when the member has not begun). */
void tc_json_open_members(const char *s, size_t n, size_t a, const char *const *keys, int nk,
                          size_t *va, size_t *vb);
/* A JSON string value s[a..b) decoded (malloc'd, NUL-terminated), or NULL. */
char *tc_json_string(const char *s, size_t a, size_t b, size_t *len);
/* Adds a call from an object {NAME_KEY: "name", ARGS_KEY: {...} or "{...}"}
 * at s[a..b): TC_OK, or TC_BAD when it is not one. */
enum tc_res tc_add_json_call(tc_ctx *c, size_t a, size_t b, const char *name_key,
                             const char *const *args_keys);
/* Adds name with arguments s[a..b): a JSON object, or a JSON string whose
 * text is one. */
enum tc_res tc_add_call_args(tc_ctx *c, const char *name, size_t name_len, size_t a, size_t b);
/* A JSON array of call objects at s[i] (TC_MORE/TC_BAD as for a call). */
enum tc_res tc_json_call_array(tc_ctx *c, size_t i, const char *name_key,
                               const char *const *args_keys, size_t *end);

/* Eager mode (else nothing): the call being written is name (not yet
 * validated; NULL: unknown) with arguments s[a..e) so far (a == e: not
 * begun). */
void tc_set_pending(tc_ctx *c, const char *name, size_t name_len, size_t a, size_t e);
/* Eager mode: the call object at s[a] (cut off at the end of the text, or
 * complete but not yet closed by its family's syntax) as the pending call:
 * its name_key member once complete, and the value of args_keys[0] (the
 * key the final parse prefers) so far when it is an object. */
void tc_pending_object(tc_ctx *c, size_t a, const char *name_key, const char *const *args_keys);

/* Adds name with arguments text[0..n) (must be a JSON object). */
enum tc_res tc_add_call_text(tc_ctx *c, const char *name, size_t name_len, const char *text,
                             size_t n);
/* Appends s[0..n) to b as a JSON string literal. */
bool tc_json_quote(tc_out *o, tc_buf *b, const char *s, size_t n);
/* The end of a reasoning span (<think>...</think> and the like) opening at
 * s[i]: n when it is not closed; i when none opens there. */
size_t tc_think_skip(const char *s, size_t n, size_t i);

/* families that are not marker scans */
void lf_tc_gpt_oss(tc_ctx *c);
enum tc_res lf_tc_qwen3_coder_at(tc_ctx *c, size_t at, int k, size_t *end);
enum tc_res lf_tc_deepseek_at(tc_ctx *c, size_t at, int k, size_t *end);
void lf_tc_functionary_v32(tc_ctx *c);
void lf_tc_generic(tc_ctx *c);

#endif
