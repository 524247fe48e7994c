/* pretokenize.h — splitting text into words with a list of regexes, the
 * way llama.cpp's unicode_regex_split does, using PCRE2. */
#ifndef LF_TEXT_PRETOKENIZE_H
#define LF_TEXT_PRETOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llamafile.h"

enum {
    LF_PRE_NO_CLEAN_SPACES = 1 << 0,
    LF_PRE_IGNORE_MERGES = 1 << 1,
    LF_PRE_ADD_BOS = 1 << 2,
    LF_PRE_NO_BOS_ID = 1 << 3,
    LF_PRE_ADD_SEP = 1 << 4,
};

typedef struct lf_pre_info {
    const char *const *regexes; /* NULL-terminated, llama.cpp's dialect */
    unsigned flags;
} lf_pre_info;

/* The regexes and flags for a tokenizer.ggml.pre name; false if unknown. */
bool lf_pre_lookup(const char *name, lf_pre_info *out);

/* Translates one regex from llama.cpp's std::regex dialect to PCRE2 (see
 * pretokenize.c). Returns a malloc'd string, or NULL with a message. */
char *lf_pre_translate(const char *re, lf_error *err);

typedef struct lf_pretok lf_pretok;

lf_pretok *lf_pretok_new(const char *const *regexes, lf_error *err);
void lf_pretok_free(lf_pretok *p);

/* A piece of the subject: bytes [off, off+len). */
typedef struct lf_piece {
    size_t off, len;
} lf_piece;

typedef struct lf_pieces {
    lf_piece *v;
    size_t n, cap;
} lf_pieces;

/* Per-call state (PCRE2 match data, JIT stack, piece buffers). */
typedef struct lf_pretok_state lf_pretok_state;
lf_pretok_state *lf_pretok_state_new(const lf_pretok *p);
void lf_pretok_state_free(lf_pretok_state *st);

/* Splits s[0..len) (valid UTF-8) into words; the result lives in st until
 * the next call. Each regex in turn splits every piece left by the one
 * before: matches and the gaps between them both become pieces. NULL on
 * out-of-memory. */
const lf_pieces *lf_pretok_split(const lf_pretok *p, lf_pretok_state *st, const char *s,
                                 size_t len);

#endif
