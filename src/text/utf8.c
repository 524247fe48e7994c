/* utf8.c — llama.cpp-compatible UTF-8 decoding and the GPT-2 byte table. */
#include "text/utf8.h"

static bool is_cont(const char *s, size_t i) {
    return ((uint8_t)s[i] & 0xC0) == 0x80;
}

uint32_t lf_utf8_decode(const char *s, size_t n, size_t *off) {
    size_t i = *off;
    uint8_t c = (uint8_t)s[i];
    if (c < 0x80) {
        *off = i + 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        if (i + 1 < n && is_cont(s, i + 1)) {
            *off = i + 2;
            return ((uint32_t)(c & 0x1F) << 6) | ((uint8_t)s[i + 1] & 0x3F);
        }
    } else if ((c & 0xF0) == 0xE0) {
        if (i + 2 < n && is_cont(s, i + 1) && is_cont(s, i + 2)) {
            *off = i + 3;
            return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)((uint8_t)s[i + 1] & 0x3F) << 6) |
                   ((uint8_t)s[i + 2] & 0x3F);
        }
    } else if ((c & 0xF8) == 0xF0) {
        if (i + 3 < n && is_cont(s, i + 1) && is_cont(s, i + 2) && is_cont(s, i + 3)) {
            uint32_t cp = ((uint32_t)(c & 0x07) << 18) |
                          ((uint32_t)((uint8_t)s[i + 1] & 0x3F) << 12) |
                          ((uint32_t)((uint8_t)s[i + 2] & 0x3F) << 6) | ((uint8_t)s[i + 3] & 0x3F);
            if (cp <= 0x10FFFF) {
                *off = i + 4;
                return cp;
            }
        }
    }
    *off = i + 1;
    return 0xFFFD;
}

int lf_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool lf_utf8_valid(const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        /* Fast path over ASCII, 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            __builtin_memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t min, cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* GPT-2 maps the printable bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF to
 * themselves and the other 68 bytes, in order, to U+0100..U+0143. */
static uint32_t gpt2_cp(unsigned b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        return b;
    if (b <= 0x20)
        return 0x100 + b;
    if (b <= 0xA0)
        return 0x100 + 0x21 + (b - 0x7F);
    return 0x100 + 0x21 + 0x22; /* 0xAD */
}

void lf_gpt2_byte_table(lf_byte_char out[256]) {
    for (unsigned b = 0; b < 256; b++) {
        char buf[4];
        int len = lf_utf8_encode(gpt2_cp(b), buf);
        out[b].s[0] = buf[0];
        out[b].s[1] = len > 1 ? buf[1] : 0;
        out[b].len = (uint8_t)len;
    }
}

int lf_gpt2_cp_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp >= 0x100 && cp <= 0x120)
        return (int)(cp - 0x100);
    if (cp >= 0x121 && cp <= 0x142)
        return (int)(0x7F + (cp - 0x121));
    if (cp == 0x143)
        return 0xAD;
    return -1;
}
