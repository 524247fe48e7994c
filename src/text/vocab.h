/* vocab.h — a model's vocabulary and its tokenizer (SPM or byte-level BPE),
 * loaded from GGUF metadata and matching llama.cpp token for token.
 *
 * A vocab is immutable after lf_vocab_load and every call below may run
 * from several threads at once. Token ids are int32; -1 means "none". */
#ifndef LF_TEXT_VOCAB_H
#define LF_TEXT_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llamafile.h"

typedef struct lf_vocab lf_vocab;

enum lf_vocab_kind {
    LF_VOCAB_SPM = 1, /* tokenizer.ggml.model "llama" */
    LF_VOCAB_BPE = 2, /* tokenizer.ggml.model "gpt2" */
};

/* Token attributes (llama.cpp's llama_token_attr bits). */
enum lf_token_attr {
    LF_TOKEN_ATTR_UNDEFINED = 0,
    LF_TOKEN_ATTR_UNKNOWN = 1 << 0,
    LF_TOKEN_ATTR_UNUSED = 1 << 1,
    LF_TOKEN_ATTR_NORMAL = 1 << 2,
    LF_TOKEN_ATTR_CONTROL = 1 << 3,
    LF_TOKEN_ATTR_USER_DEFINED = 1 << 4,
    LF_TOKEN_ATTR_BYTE = 1 << 5,
    LF_TOKEN_ATTR_NORMALIZED = 1 << 6,
    LF_TOKEN_ATTR_LSTRIP = 1 << 7,
    LF_TOKEN_ATTR_RSTRIP = 1 << 8,
    LF_TOKEN_ATTR_SINGLE_WORD = 1 << 9,
};

/* Reads tokenizer.ggml.* from g. Everything needed is copied: g may be
 * closed afterwards. NULL with a message on missing or malformed metadata,
 * an unsupported tokenizer model or pre-tokenizer, or out-of-memory. */
lf_vocab *lf_vocab_load(const lf_gguf *g, lf_error *err);
void lf_vocab_free(lf_vocab *v);

/* Tokenizes len bytes of text (any bytes; invalid UTF-8 is handled like
 * llama.cpp). add_special: BOS/EOS as the metadata asks. parse_special:
 * text of CONTROL tokens becomes those tokens (USER_DEFINED tokens are
 * always matched). Returns the token count; if it exceeds n_max, nothing
 * useful is in out and the result is minus the count needed. INT64_MIN on
 * out-of-memory (or a stretch of text between special tokens over 1 GiB). */
int64_t lf_vocab_tokenize(const lf_vocab *v, const char *text, size_t len, bool add_special,
                          bool parse_special, int32_t *out, int64_t n_max);

/* The same for ordinary text only: no special or user-defined token is
 * matched, so "<|start|>" in the text stays text (harmony's
 * encode_ordinary). No BOS/EOS. */
int64_t lf_vocab_tokenize_plain(const lf_vocab *v, const char *text, size_t len, int32_t *out,
                                int64_t n_max);

/* The bytes of one token (no NUL added). CONTROL and UNKNOWN tokens give
 * nothing unless special. Returns the length, or minus the length needed
 * when n is too small; 0 for an id out of range. */
int64_t lf_vocab_token_to_piece(const lf_vocab *v, int32_t id, char *buf, size_t n,
                                bool special);

/* The text of n tokens as llama_detokenize makes it: the leading space of
 * the first token is dropped when the vocab adds a space prefix (SPM);
 * remove_special drops a leading BOS / trailing EOS the vocab adds;
 * unparse_special renders CONTROL tokens; BPE vocabs with clean_spaces get
 * llama.cpp's " ." / " 's" cleanup. Returns the length, or minus the length
 * needed when cap is too small (buf is then partly written). */
int64_t lf_vocab_detokenize(const lf_vocab *v, const int32_t *ids, int64_t n, char *buf,
                            size_t cap, bool remove_special, bool unparse_special);

/* ---------------------------------------------------------------- lookups */

int lf_vocab_kind(const lf_vocab *v);
const char *lf_vocab_model_name(const lf_vocab *v); /* "llama", "gpt2" */
const char *lf_vocab_pre_name(const lf_vocab *v);   /* tokenizer.ggml.pre or "default" */
int32_t lf_vocab_n_tokens(const lf_vocab *v);
int32_t lf_vocab_bos(const lf_vocab *v);
int32_t lf_vocab_eos(const lf_vocab *v);
int32_t lf_vocab_eot(const lf_vocab *v);
int32_t lf_vocab_eom(const lf_vocab *v);
int32_t lf_vocab_unk(const lf_vocab *v);
int32_t lf_vocab_sep(const lf_vocab *v);
int32_t lf_vocab_pad(const lf_vocab *v);
int32_t lf_vocab_nl(const lf_vocab *v);
bool lf_vocab_add_bos(const lf_vocab *v);
bool lf_vocab_add_eos(const lf_vocab *v);
bool lf_vocab_add_space_prefix(const lf_vocab *v);
/* Whether detokenize applies llama.cpp's clean_up_tokenization_spaces. */
bool lf_vocab_clean_spaces(const lf_vocab *v);
/* End of generation: EOS, EOT, EOM and the tokens llama.cpp marks by text. */
bool lf_vocab_is_eog(const lf_vocab *v, int32_t id);
/* The EOG ids, ascending; returns how many (writes at most cap). */
int32_t lf_vocab_eog_ids(const lf_vocab *v, int32_t *out, int32_t cap);
bool lf_vocab_is_control(const lf_vocab *v, int32_t id);

/* Raw token text (not NUL-terminated), or NULL for an id out of range. */
const char *lf_vocab_token_text(const lf_vocab *v, int32_t id, size_t *len);
float lf_vocab_token_score(const lf_vocab *v, int32_t id);
uint32_t lf_vocab_token_attr(const lf_vocab *v, int32_t id); /* 0 if out of range */
/* Id of the token whose text is exactly s[0..len), or -1. */
int32_t lf_vocab_find(const lf_vocab *v, const char *s, size_t len);

#endif
