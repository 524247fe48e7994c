/* detokenize.c — token pieces and detokenization, as llama.cpp's
 * token_to_piece and detokenize produce them. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "text/vocab_impl.h"

static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte of a BYTE token "<0xXX>": strtol of the two characters after
 * "<0x" (0 where they are not hex). */
static uint8_t byte_token_value(const char *t, size_t len) {
    unsigned val = 0;
    for (size_t i = 3; i < len && i < 5; i++) {
        int d = hex_digit(t[i]);
        if (d < 0)
            break;
        val = val * 16 + (unsigned)d;
    }
    return (uint8_t)val;
}

/* BPE text -> bytes: every code point goes back through the GPT-2 table;
 * one outside it becomes "[UNK_BYTE_0x<its utf-8 in hex><the whole token>]"
 * (llama.cpp's llama_decode_text). Writes to out if non-NULL; returns the
 * length. */
static uint64_t decode_bpe(const char *t, size_t len, char *out) {
    uint64_t n = 0;
    for (size_t off = 0; off < len;) {
        uint32_t cp = lf_utf8_decode(t, len, &off);
        int b = lf_gpt2_cp_to_byte(cp);
        if (b >= 0) {
            if (out)
                out[n] = (char)b;
            n++;
            continue;
        }
        char u[4], hex[9];
        int ulen = lf_utf8_encode(cp, u);
        for (int k = 0; k < ulen; k++)
            snprintf(hex + 2 * k, 3, "%02x", (uint8_t)u[k]);
        if (out) {
            memcpy(out + n, "[UNK_BYTE_0x", 12);
            memcpy(out + n + 12, hex, (size_t)ulen * 2);
            memcpy(out + n + 12 + ulen * 2, t, len);
            out[n + 12 + (size_t)ulen * 2 + len] = ']';
        }
        n += 12 + (uint64_t)ulen * 2 + len + 1;
    }
    return n;
}

/* SPM text -> bytes: U+2581 back to ' '. */
static uint64_t decode_spm(const char *t, size_t len, char *out) {
    uint64_t n = 0;
    for (size_t i = 0; i < len;) {
        if (i + 3 <= len && memcmp(t + i, "\xE2\x96\x81", 3) == 0) {
            if (out)
                out[n] = ' ';
            n++, i += 3;
        } else {
            if (out)
                out[n] = t[i];
            n++, i++;
        }
    }
    return n;
}

/* The piece of a token with special = true; out may be NULL. */
static uint64_t make_piece(const lf_vocab *v, int32_t id, char *out) {
    size_t len;
    const char *t = lf_tok_text(v, id, &len);
    uint32_t attr = v->attrs[id];
    if (attr & (LF_TOKEN_ATTR_UNKNOWN | LF_TOKEN_ATTR_CONTROL | LF_TOKEN_ATTR_USER_DEFINED)) {
        if (out)
            memcpy(out, t, len);
        return len;
    }
    if (attr & LF_TOKEN_ATTR_NORMAL)
        return v->kind == LF_VOCAB_SPM ? decode_spm(t, len, out) : decode_bpe(t, len, out);
    if ((attr & LF_TOKEN_ATTR_BYTE) && len >= 3) {
        if (out)
            out[0] = (char)byte_token_value(t, len);
        return 1;
    }
    return 0; /* UNUSED, UNDEFINED */
}

bool lf_vocab_build_pieces(lf_vocab *v) {
    uint64_t total = 0;
    for (int32_t id = 0; id < v->n_tokens; id++)
        total += make_piece(v, id, NULL);
    if (total >= (1ull << 31))
        return false;
    v->piece_text = lf_malloc(total + 1);
    v->pieces = lf_malloc((size_t)v->n_tokens * sizeof *v->pieces);
    if (!v->piece_text || !v->pieces)
        return false;
    uint32_t off = 0;
    for (int32_t id = 0; id < v->n_tokens; id++) {
        uint32_t n = (uint32_t)make_piece(v, id, v->piece_text + off);
        v->pieces[id] = (lf_textkey){off, n, 0};
        off += n;
    }
    return true;
}

/* The piece of id as token_to_piece renders it; NULL/0 when not shown. */
static const char *piece(const lf_vocab *v, int32_t id, bool special, size_t *len) {
    *len = 0;
    if (!lf_vocab_valid_id(v, id))
        return NULL;
    if (!special && (v->attrs[id] & (LF_TOKEN_ATTR_UNKNOWN | LF_TOKEN_ATTR_CONTROL)))
        return NULL;
    *len = v->pieces[id].len;
    return v->piece_text + v->pieces[id].off;
}

int64_t lf_vocab_token_to_piece(const lf_vocab *v, int32_t id, char *buf, size_t n,
                                bool special) {
    size_t len;
    const char *p = piece(v, id, special, &len);
    if (len > n)
        return -(int64_t)len;
    if (len)
        memcpy(buf, p, len);
    return (int64_t)len;
}

/* llama.cpp's clean_up_tokenization_spaces, in place, in three passes:
 * " ?", " !", " .", " ," lose the space; " ' " loses both spaces; " 's",
 * " 'm", " 're", " 've" lose the space. */
static int64_t clean_spaces(char *text, int64_t total) {
    int64_t total1 = total;
    total = total ? 1 : 0;
    for (int64_t i = 1; i < total1; ++i) {
        const char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
            total--;
        text[total++] = x;
    }
    int64_t total2 = total;
    total = total ? 1 : 0;
    for (int64_t i = 1; i < total2; ++i) {
        const char x = text[i];
        if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
            total--;
            text[++i] = '\0';
        }
        text[total++] = x;
    }
    int64_t total3 = total;
    total = total ? 1 : 0;
    for (int64_t i = 1; i < total3; ++i) {
        const char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3) {
            const char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm')
                total--;
            else if (i + 2 < total3 && ((x1 == 'r' && text[i + 2] == 'e') ||
                                        (x1 == 'v' && text[i + 2] == 'e')))
                total--;
        }
        text[total++] = x;
    }
    return total;
}

int64_t lf_vocab_detokenize(const lf_vocab *v, const int32_t *ids, int64_t n, char *buf,
                            size_t cap, bool remove_special, bool unparse_special) {
    bool remove_space = v->add_space_prefix;
    if (remove_special && v->add_bos && n > 0 && ids[0] == v->bos) {
        remove_space = false; /* sic: llama.cpp keeps the space after a removed BOS */
        ids++, n--;
    }
    if (remove_special && v->add_eos && n > 0 && ids[n - 1] == v->eos)
        n--;
    int64_t total = 0;
    bool overflow = false;
    for (int64_t i = 0; i < n; i++) {
        size_t len;
        const char *p = piece(v, ids[i], unparse_special, &len);
        if (remove_space && len && *p == ' ')
            p++, len--;
        remove_space = false;
        if (!overflow && (uint64_t)total + len <= cap) {
            if (len)
                memcpy(buf + total, p, len);
        } else {
            overflow = true;
        }
        total += (int64_t)len;
    }
    if (overflow)
        return -total;
    if (v->clean_spaces)
        total = clean_spaces(buf, total);
    return total;
}
