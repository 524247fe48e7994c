/* vocab_impl.h — the inside of lf_vocab, shared by the src/text files. */
#ifndef LF_TEXT_VOCAB_IMPL_H
#define LF_TEXT_VOCAB_IMPL_H

#include <stdlib.h>

#include "text/pretokenize.h"
#include "text/symbols.h"
#include "text/textmap.h"
#include "text/utf8.h"
#include "text/vocab.h"

/* One node of the byte trie of special-token texts. prio_* index
 * v->special (priority order); -1 if no special token ends here. */
typedef struct lf_trie_node {
    int32_t child, sibling;
    int32_t prio_any;  /* first token ending here, any special type */
    int32_t prio_user; /* first one that is matched without parse_special */
    uint8_t byte;
} lf_trie_node;

struct lf_vocab {
    int kind;
    char model[32];
    char pre[64];

    int32_t n_tokens;
    char *text;           /* every token's text, back to back */
    lf_textkey *tok_keys; /* token id -> its text in `text` */
    float *scores;
    uint32_t *attrs;
    lf_textmap tok_map; /* text -> id; the last id wins on duplicates */

    /* BPE merges: "left right" stored as left+right split at len(left). */
    char *merge_text;
    lf_textkey *merge_keys;
    int32_t n_merges;
    lf_textmap merge_map; /* -> rank; the first rank wins on duplicates */
    lf_pretok *pretok;
    lf_byte_char gpt2[256];

    /* SPM byte fallback ("<0xXX>", else the 1-byte text) and the token of
     * each 1-byte text (BPE's last resort); -1 if none. */
    int32_t byte_token[256];
    int32_t char_token[256];

    /* special ids (-1: none) and flags */
    int32_t bos, eos, eot, eom, unk, sep, pad, mask, nl;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    bool add_bos, add_eos, add_sep, add_space_prefix, remove_extra_ws;
    bool ignore_merges, clean_spaces;
    bool spm_split_at_space; /* U+2581 only leads tokens (see spm.c) */

    int32_t *eog; /* ascending */
    int32_t n_eog;

    /* CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first (ties:
     * lower id first); the trie finds which of them occur in a text. */
    int32_t *special;
    int32_t n_special;
    lf_trie_node *trie;
    int32_t n_trie;

    /* token_to_piece(id, special=true) for every token */
    char *piece_text;
    lf_textkey *pieces;
};

static inline bool lf_vocab_valid_id(const lf_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_tokens;
}

static inline const char *lf_tok_text(const lf_vocab *v, int32_t id, size_t *len) {
    *len = v->tok_keys[id].len;
    return v->text + v->tok_keys[id].off;
}

/* A growable array of token ids. */
typedef struct lf_tokbuf {
    int32_t *v;
    size_t n, cap;
    bool oom;
} lf_tokbuf;

static inline void lf_tokbuf_push(lf_tokbuf *b, int32_t id) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int32_t *p = (int32_t *)realloc(b->v, cap * sizeof *p);
        if (!p) {
            b->oom = true;
            return;
        }
        b->v = p, b->cap = cap;
    }
    b->v[b->n++] = id;
}

/* A growable byte buffer for per-call scratch text. */
typedef struct lf_bytebuf {
    char *p;
    size_t n, cap;
} lf_bytebuf;

bool lf_bytebuf_reserve(lf_bytebuf *b, size_t cap);

/* Post-load steps (vocab_special.c): token attribute fix-ups, EOG set,
 * the special-token priority list and trie. */
bool lf_vocab_setup_special(lf_vocab *v, const char *general_name, const char *general_arch,
                            lf_error *err);

/* A fragment of the input after special-token partitioning. */
typedef struct lf_fragment {
    int32_t token; /* >= 0: a special token; -1: raw text */
    size_t off, len;
} lf_fragment;

typedef struct lf_fragments {
    lf_fragment *v;
    size_t n, cap;
} lf_fragments;

/* Splits text into raw fragments and special tokens like llama.cpp's
 * tokenizer_st_partition. False on out-of-memory. */
bool lf_vocab_partition(const lf_vocab *v, const char *text, size_t len, bool parse_special,
                        lf_fragments *out);

/* Tokenizer scratch space, reused across fragments and words. */
typedef struct lf_tok_scratch {
    lf_bytebuf a, b, word;
    lf_symbuf syms;
    lf_heap heap;
    lf_pretok_state *pre;
} lf_tok_scratch;

/* SPM: tokenizes one raw fragment (prefix_space adds the leading space). */
bool lf_spm_tokenize(const lf_vocab *v, lf_tok_scratch *s, const char *text, size_t len,
                     bool prefix_space, lf_tokbuf *out);
/* BPE: pre-tokenizes and tokenizes one raw fragment. */
bool lf_bpe_tokenize(const lf_vocab *v, lf_tok_scratch *s, const char *text, size_t len,
                     lf_tokbuf *out);

/* Fills v->pieces (detokenize.c). */
bool lf_vocab_build_pieces(lf_vocab *v);

#endif
