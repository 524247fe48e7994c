/* pack.c — the packed weight layouts (pack.h), portable C: the packing
 * done at load and the way back to plain blocks (lf_weight_row, tests). */
#include "tensor/pack.h"

#include <string.h>

#include "llamafile.h"
#include "tensor/blocks.h"
#include "tensor/types.h"

enum { Q4K_GROUP = LF_PACK_ROWS * LF_Q4_K_BYTES, Q4K_D = 2048, Q4K_DMIN = 2080,
       Q4K_WORDS = 2112 };

static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian hosts only (x86-64, aarch64) */
}

enum { Q6K_GROUP = LF_PACK_ROWS * LF_Q6_K_BYTES, Q6K_SC = 3072, Q6K_D = 3328 };

/* A packed Q6_K super-block in the order the kernel reads it: per 16-element
 * sub-block pair u, the low-nibble vectors 2u and 2u+1, then crumb vector u. */
static size_t q6k_low(int t) {
    return 192 * (size_t)(t / 2) + 64 * (size_t)(t % 2);
}
static size_t q6k_high(int u) {
    return 192 * (size_t)u + 128;
}

enum { Q40_GROUP = LF_PACK_ROWS * LF_Q4_0_BYTES, Q40_D = 256 };
enum { Q80_GROUP = LF_PACK_ROWS * LF_Q8_0_BYTES, Q80_D = 512 };

enum { FLOAT_CHUNK = 32, FLOAT_GROUP = LF_PACK_ROWS * 64 }; /* elements, bytes */

static bool is_float(int type) {
    return type == LF_TYPE_F16 || type == LF_TYPE_BF16;
}

bool lf_pack_has(int type) {
    return type == LF_TYPE_Q4_K || type == LF_TYPE_Q6_K || type == LF_TYPE_Q4_0 || type == LF_TYPE_IQ4_NL ||
           type == LF_TYPE_Q8_0 || is_float(type);
}

bool lf_pack_fits(int type, int64_t k) {
    return lf_pack_has(type) && (!is_float(type) || k % FLOAT_CHUNK == 0);
}

/* F16 / BF16: the 64 bytes of row r's chunk c. */
static size_t float_at(int64_t c, int r) {
    return (size_t)c * FLOAT_GROUP + 64 * (size_t)r;
}

/* The 4-bit codes of one vector packed for row r: elements 8t .. 8t+7 of
 * code[] (one per byte), 4 in the low nibbles of vec[4r ..], 4 in the high. */
static void put_codes(const uint8_t *code8, uint8_t *vec, int r) {
    uint64_t n = rd64(code8) & 0x0f0f0f0f0f0f0f0full;
    uint32_t w = (uint32_t)n | (uint32_t)(n >> 32) << 4;
    memcpy(vec + 4 * r, &w, 4);
}

/* Row r's 4-bit code of element e, as put_codes placed it in vec (the
 * vector of elements e / 8 * 8 ..). */
static int get_code(const uint8_t *vec, int e, int r) {
    return vec[4 * r + e % 4] >> (e % 8 < 4 ? 0 : 4) & 15;
}

/* Q4_0 / IQ4_NL row r's block -> its slots: element e < 16 is the low
 * nibble of qs[e], e >= 16 the high nibble of qs[e - 16]. */
static void pack_q40_block(const uint8_t *blk, int r, uint8_t *dst) {
    uint8_t code[32];
    for (int e = 0; e < 16; e++) {
        code[e] = blk[2 + e] & 15;
        code[e + 16] = blk[2 + e] >> 4;
    }
    for (int t = 0; t < 4; t++)
        put_codes(code + 8 * t, dst + 64 * t, r);
    memcpy(dst + Q40_D + 2 * r, blk, 2);
}

/* Q8_0 row r's block -> its slots: code vector t, byte 4r + j holds
 * element 4t + j + 128 (as u8, what the kernels multiply), d at 512 + 2r. */
static void pack_q80_block(const uint8_t *blk, int r, uint8_t *dst) {
    for (int t = 0; t < 8; t++) {
        uint32_t w;
        memcpy(&w, blk + 2 + 4 * t, 4);
        w ^= 0x80808080u;
        memcpy(dst + 64 * t + 4 * r, &w, 4);
    }
    memcpy(dst + Q80_D + 2 * r, blk, 2);
}

static void unpack_q80(const uint8_t *src, int r, uint8_t *out) {
    memcpy(out, src + Q80_D + 2 * r, 2);
    for (int e = 0; e < 32; e++)
        out[2 + e] = src[64 * (e / 4) + 4 * r + e % 4] ^ 0x80;
}

static void unpack_q40(const uint8_t *src, int r, uint8_t *out) {
    memcpy(out, src + Q40_D + 2 * r, 2);
    for (int e = 0; e < 16; e++)
        out[2 + e] = (uint8_t)(get_code(src + 64 * (e / 8), e, r) | get_code(src + 64 * (e / 8 + 2), e + 16, r) << 4);
}

/* Q6_K's 6-bit codes in element order (ggml's dequantize_row_q6_K). */
static void q6k_codes(const uint8_t *blk, uint8_t *code) {
    const uint8_t *ql = blk, *qh = blk + 128;
    for (int n = 0; n < 2; n++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *a = ql + 64 * n, h = qh[32 * n + l];
            uint8_t *c = code + 128 * n;
            c[l] = (uint8_t)((a[l] & 15) | (h & 3) << 4);
            c[l + 32] = (uint8_t)((a[l + 32] & 15) | (h >> 2 & 3) << 4);
            c[l + 64] = (uint8_t)((a[l] >> 4) | (h >> 4 & 3) << 4);
            c[l + 96] = (uint8_t)((a[l + 32] >> 4) | (h >> 6 & 3) << 4);
        }
}

static void q6k_block(const uint8_t *code, uint8_t *blk) {
    uint8_t *ql = blk, *qh = blk + 128;
    for (int n = 0; n < 2; n++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *c = code + 128 * n;
            ql[64 * n + l] = (uint8_t)((c[l] & 15) | (c[l + 64] & 15) << 4);
            ql[64 * n + l + 32] = (uint8_t)((c[l + 32] & 15) | (c[l + 96] & 15) << 4);
            qh[32 * n + l] = (uint8_t)(c[l] >> 4 | (c[l + 32] >> 4) << 2 | (c[l + 64] >> 4) << 4 | (c[l + 96] >> 4) << 6);
        }
}

/* Q6_K row r's block -> its slots: low nibbles as Q4_K's codes (vector t
 * at q6k_low(t)), the high two bits of elements 16u + 4s + j at bits 2s of
 * byte 4r + j of crumb vector u (at q6k_high(u)), the 16 int8 scales of
 * sub-block q at [3072 + 16q + r], d at 3328 + 2r. */
static void pack_q6k_block(const uint8_t *blk, int r, uint8_t *dst) {
    uint8_t code[QK_K];
    q6k_codes(blk, code);
    for (int t = 0; t < 32; t++)
        put_codes(code + 8 * t, dst + q6k_low(t), r);
    for (int u = 0; u < 16; u++) { /* codes are 6 bits: >> 4 leaves bits 4-5 alone in each byte's low bits */
        uint64_t x0 = rd64(code + 16 * u) >> 4 & 0x0303030303030303ull;
        uint64_t x1 = rd64(code + 16 * u + 8) >> 4 & 0x0303030303030303ull;
        uint32_t w = (uint32_t)x0 | (uint32_t)(x0 >> 32) << 2 | (uint32_t)x1 << 4 | (uint32_t)(x1 >> 32) << 6;
        memcpy(dst + q6k_high(u) + 4 * r, &w, 4);
    }
    for (int q = 0; q < 16; q++)
        dst[Q6K_SC + 16 * q + r] = blk[192 + q];
    memcpy(dst + Q6K_D + 2 * r, blk + 208, 2);
}

/* Q4_K row r's block -> its slots in the packed super-block dst. Elements
 * 8t .. 8t+7 lie in one half of a 64-element chunk: the low nibbles of
 * qs[32c + 8(t%4) ...] for the first half, the high nibbles for the second. */
static void pack_q4k_block(const uint8_t *blk, int r, uint8_t *dst) {
    const uint8_t *qs = blk + 16;
    for (int t = 0; t < 32; t++) {
        uint64_t x = rd64(qs + 32 * (t / 8) + 8 * (t % 4));
        uint64_t n = ((t % 8) < 4 ? x : x >> 4) & 0x0f0f0f0f0f0f0f0full;
        uint32_t w = (uint32_t)n | (uint32_t)(n >> 32) << 4;
        memcpy(dst + 64 * t + 4 * r, &w, 4);
    }
    memcpy(dst + Q4K_D + 2 * r, blk, 2);
    memcpy(dst + Q4K_DMIN + 2 * r, blk + 2, 2);
    for (int w = 0; w < 3; w++)
        memcpy(dst + Q4K_WORDS + 64 * w + 4 * r, blk + 4 + 4 * w, 4);
}

void lf_pack_group_from(int type, uint8_t *group, const uint8_t *src, int64_t k) {
    if (!lf_pack_fits(type, k))
        return;
    const int64_t nb = k / lf_type_traits_of(type)->blck;
    const size_t bs = lf_type_traits_of(type)->type_size, row = (size_t)nb * bs;
    if (is_float(type)) {
        for (int64_t c = 0; c < k / FLOAT_CHUNK; c++)
            for (int r = 0; r < LF_PACK_ROWS; r++)
                memcpy(group + float_at(c, r), src + (size_t)r * row + 64 * (size_t)c, 64);
        return;
    }
    for (int64_t b = 0; b < nb; b++)
        for (int r = 0; r < LF_PACK_ROWS; r++) {
            const uint8_t *blk = src + (size_t)r * row + (size_t)b * bs;
            uint8_t *dst = group + (size_t)b * LF_PACK_ROWS * bs;
            if (type == LF_TYPE_Q4_K)
                pack_q4k_block(blk, r, dst);
            else if (type == LF_TYPE_Q6_K)
                pack_q6k_block(blk, r, dst);
            else if (type == LF_TYPE_Q8_0)
                pack_q80_block(blk, r, dst);
            else
                pack_q40_block(blk, r, dst);
        }
}

void lf_pack_group(int type, uint8_t *group, int64_t k, uint8_t *tmp) {
    if (!lf_pack_fits(type, k))
        return;
    memcpy(tmp, group, LF_PACK_ROWS * (size_t)lf_type_row_bytes(type, k));
    lf_pack_group_from(type, group, tmp, k);
}

static void unpack_q6k(const uint8_t *src, int r, uint8_t *out) {
    uint8_t code[QK_K];
    for (int e = 0; e < QK_K; e++) {
        int u = e / 16, s = e % 16 / 4;
        int hi = src[q6k_high(u) + 4 * r + e % 4] >> (2 * s) & 3;
        code[e] = (uint8_t)(get_code(src + q6k_low(e / 8), e, r) | hi << 4);
    }
    q6k_block(code, out);
    for (int q = 0; q < 16; q++)
        out[192 + q] = src[Q6K_SC + 16 * q + r];
    memcpy(out + 208, src + Q6K_D + 2 * r, 2);
}

void lf_unpack_block(int type, const uint8_t *group, int64_t k, int r, int64_t b, uint8_t *out) {
    (void)k;
    if (is_float(type)) {
        memcpy(out, group + float_at(b / FLOAT_CHUNK, r) + 2 * (size_t)(b % FLOAT_CHUNK), 2);
        return;
    }
    if (type == LF_TYPE_Q6_K) {
        unpack_q6k(group + (size_t)b * Q6K_GROUP, r, out);
        return;
    }
    if (type == LF_TYPE_Q8_0) {
        unpack_q80(group + (size_t)b * Q80_GROUP, r, out);
        return;
    }
    if (type == LF_TYPE_Q4_0 || type == LF_TYPE_IQ4_NL) {
        unpack_q40(group + (size_t)b * Q40_GROUP, r, out);
        return;
    }
    if (type != LF_TYPE_Q4_K)
        return;
    const uint8_t *src = group + (size_t)b * Q4K_GROUP;
    memcpy(out, src + Q4K_D + 2 * r, 2);
    memcpy(out + 2, src + Q4K_DMIN + 2 * r, 2);
    for (int w = 0; w < 3; w++)
        memcpy(out + 4 + 4 * w, src + Q4K_WORDS + 64 * w + 4 * r, 4);
    uint8_t code[QK_K];
    for (int e = 0; e < QK_K; e++)
        code[e] = (uint8_t)get_code(src + 64 * (e / 8), e, r);
    uint8_t *qs = out + 16;
    for (int i = 0; i < 128; i++)
        qs[i] = (uint8_t)(code[64 * (i / 32) + i % 32] | code[64 * (i / 32) + 32 + i % 32] << 4);
}
