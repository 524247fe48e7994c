/* utf8.h — UTF-8 the way llama.cpp's tokenizers read it, and the GPT-2
 * byte <-> unicode table used by byte-level BPE vocabularies. */
#ifndef LF_TEXT_UTF8_H
#define LF_TEXT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of the character a lead byte starts, from its high nibble only
 * (0x0-0xB: 1, 0xC-0xD: 2, 0xE: 3, 0xF: 4); no validation. */
static inline size_t lf_utf8_lead_len(uint8_t c) {
    static const uint8_t n[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return n[c >> 4];
}

/* Decodes one code point at s[*off] (*off < n) and advances *off.
 * Follows llama.cpp: continuation bytes are checked but overlong forms and
 * surrogates are accepted; anything else invalid gives U+FFFD and advances
 * one byte. Unlike llama.cpp (which throws later), a 4-byte form above
 * U+10FFFF is also invalid here. */
uint32_t lf_utf8_decode(const char *s, size_t n, size_t *off);

/* Encodes cp (<= 0x10FFFF; surrogates are encoded as-is) into out; returns
 * the length (1-4). */
int lf_utf8_encode(uint32_t cp, char out[4]);

/* True when s is strict UTF-8 (shortest forms, no surrogates, <= U+10FFFF):
 * then decoding and re-encoding as above gives back the same bytes. */
bool lf_utf8_valid(const char *s, size_t n);

/* GPT-2 byte-level table: the UTF-8 text of the code point byte b maps to. */
typedef struct lf_byte_char {
    char s[2];
    uint8_t len;
} lf_byte_char;
void lf_gpt2_byte_table(lf_byte_char out[256]);

/* The byte a GPT-2 code point stands for, or -1. */
int lf_gpt2_cp_to_byte(uint32_t cp);

#endif
