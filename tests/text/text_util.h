/* text_util.h — helpers for the tokenizer tests (header-only). */
#ifndef LF_TESTS_TEXT_UTIL_H
#define LF_TESTS_TEXT_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"
#include "text/utf8.h"
#include "text/vocab.h"

/* Reads a whole file; NULL if it cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            char *p = realloc(buf, 2 * cap + 1);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p, cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

/* Opens a GGUF and loads its vocab; on failure returns NULL with the
 * message in err (and *gp NULL). */
static inline lf_vocab *tu_load_vocab(const char *path, lf_gguf **gp, lf_error *err) {
    *gp = lf_gguf_open(path, err);
    if (!*gp)
        return NULL;
    lf_vocab *v = lf_vocab_load(*gp, err);
    if (!v) {
        lf_gguf_close(*gp);
        *gp = NULL;
    }
    return v;
}

/* Tokenizes into a malloc'd array; *n gets the count (negative on error). */
static inline int32_t *tu_tokenize(const lf_vocab *v, const char *s, size_t len, bool add_special,
                                   bool parse_special, int64_t *n) {
    int64_t cap = (int64_t)len + 16;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    *n = lf_vocab_tokenize(v, s, len, add_special, parse_special, ids, cap);
    if (*n < 0 && *n != INT64_MIN) {
        cap = -*n;
        free(ids);
        ids = malloc((size_t)cap * sizeof *ids);
        *n = lf_vocab_tokenize(v, s, len, add_special, parse_special, ids, cap);
    }
    return ids;
}

/* Detokenizes into a malloc'd NUL-terminated string; *n gets the length. */
static inline char *tu_detokenize(const lf_vocab *v, const int32_t *ids, int64_t n_ids,
                                  bool remove_special, bool unparse_special, int64_t *n) {
    size_t cap = 64;
    char *buf = malloc(cap + 1);
    *n = lf_vocab_detokenize(v, ids, n_ids, buf, cap, remove_special, unparse_special);
    if (*n < 0) {
        cap = (size_t)-*n;
        free(buf);
        buf = malloc(cap + 1);
        *n = lf_vocab_detokenize(v, ids, n_ids, buf, cap, remove_special, unparse_special);
    }
    buf[*n > 0 ? *n : 0] = 0;
    return buf;
}

/* Prints up to max ids of a list into buf. */
static inline void tu_fmt_ids(char *buf, size_t cap, const int32_t *ids, int64_t n, int max) {
    size_t o = 0;
    buf[0] = 0;
    for (int64_t i = 0; i < n && i < max && o + 16 < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%d", i ? " " : "", ids[i]);
    if (n > max && o + 8 < cap)
        snprintf(buf + o, cap - o, " ...(%lld)", (long long)n);
}

#endif
