/* pack.c — the packed weight layouts (pack.h), portable C: the packing
 * done at load and the way back to plain blocks (lf_weight_row, tests). */
#include "tensor/pack.h"

#include <string.h>

#include "llamafile.h"
#include "tensor/blocks.h"
#include "tensor/types.h"

/* Q4_K and Q5_K: where code vector t and the tail (d, dmin, the scale
 * words at +0, +32, +64) of a packed super-block lie; Q5_K's fifth bits of
 * sub-block q follow its four code vectors. */

static size_t k_group(int type) {
    return LF_PACK_ROWS * (size_t)(type == LF_TYPE_Q5_K ? LF_Q5_K_BYTES : LF_Q4_K_BYTES);
}
static size_t k_code(int type, int t) {
    return type == LF_TYPE_Q5_K ? LF_PK_Q5K_RUN * (size_t)(t / 4) + 64 * (size_t)(t % 4) : 64 * (size_t)t;
}
static size_t k_tail(int type) {
    return type == LF_TYPE_Q5_K ? 8 * LF_PK_Q5K_RUN : 2048;
}
static size_t q5k_high(int q) {
    return LF_PK_Q5K_RUN * (size_t)q + 256;
}

_Static_assert(LF_PK_Q4K_SB == LF_PACK_ROWS * LF_Q4_K_BYTES && LF_PK_Q5K_SB == LF_PACK_ROWS * LF_Q5_K_BYTES &&
                   LF_PK_Q6K_SB == LF_PACK_ROWS * LF_Q6_K_BYTES && LF_PK_Q2K_SB == LF_PACK_ROWS * LF_Q2_K_BYTES &&
                   LF_PK_Q3K_SB == LF_PACK_ROWS * LF_Q3_K_BYTES && LF_PK_Q40_SB == LF_PACK_ROWS * LF_Q4_0_BYTES &&
                   LF_PK_Q80_SB == LF_PACK_ROWS * LF_Q8_0_BYTES,
               "a packed group holds 16 plain blocks' bytes");

static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian hosts only (x86-64, aarch64) */
}


/* A packed Q6_K super-block in the order the kernel reads it: per 16-element
 * sub-block pair u, the low-nibble vectors 2u and 2u+1, then crumb vector u. */
static size_t q6k_low(int t) {
    return 192 * (size_t)(t / 2) + 64 * (size_t)(t % 2);
}
static size_t q6k_high(int u) {
    return 192 * (size_t)u + 128;
}

/* Q2_K and Q3_K: 16-element sub-block q's 2-bit codes in one vector (at
 * 64q for Q2_K; Q3_K: in runs of two such vectors and their third bits;
 * Q6_K's high two bits: q6k_high(q)). */

static size_t crumbs_at(int type, int q) {
    return type == LF_TYPE_Q6_K   ? q6k_high(q)
           : type == LF_TYPE_Q3_K ? LF_PK_Q3K_RUN * (size_t)(q / 2) + 64 * (size_t)(q % 2)
                                  : 64 * (size_t)q;
}


enum { FLOAT_CHUNK = 32, FLOAT_GROUP = LF_PACK_ROWS * 64 }; /* elements, bytes */

static bool is_float(int type) {
    return type == LF_TYPE_F16 || type == LF_TYPE_BF16;
}

bool lf_pack_has(int type) {
    return type == LF_TYPE_Q2_K || type == LF_TYPE_Q3_K || type == LF_TYPE_Q4_K || type == LF_TYPE_Q5_K ||
           type == LF_TYPE_Q6_K || type == LF_TYPE_Q4_0 || type == LF_TYPE_IQ4_NL || type == LF_TYPE_Q8_0 ||
           is_float(type);
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
    memcpy(dst + LF_PK_Q40_D + 2 * r, blk, 2);
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
    memcpy(dst + LF_PK_Q80_D + 2 * r, blk, 2);
}

static void unpack_q80(const uint8_t *src, int r, uint8_t *out) {
    memcpy(out, src + LF_PK_Q80_D + 2 * r, 2);
    for (int e = 0; e < 32; e++)
        out[2 + e] = src[64 * (e / 4) + 4 * r + e % 4] ^ 0x80;
}

static void unpack_q40(const uint8_t *src, int r, uint8_t *out) {
    memcpy(out, src + LF_PK_Q40_D + 2 * r, 2);
    for (int e = 0; e < 16; e++)
        out[2 + e] = (uint8_t)(get_code(src + 64 * (e / 8), e, r) | get_code(src + 64 * (e / 8 + 2), e + 16, r) << 4);
}

/* Q6_K's 6-bit codes (element order) -> its block (ggml's dequantize_row_q6_K
 * read backwards). */
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

/* Bits p and p + d of x exchanged for every p in m (a delta swap). */
static inline uint64_t swap_bits(uint64_t x, int d, uint64_t m) {
    uint64_t t = (x ^ x >> d) & m;
    return x ^ t ^ t << d;
}

/* Bit p + d of *lo and bit p of *hi exchanged for every p in m: a swap of
 * bit addresses across two words of a longer bit string. */
static inline void swap_words(uint64_t *lo, uint64_t *hi, int d, uint64_t m) {
    uint64_t t = (*lo >> d ^ *hi) & m;
    *hi ^= t;
    *lo ^= t << d;
}

/* Q5_K's fifth bits (bit q of qh[l] for element 32q + l) as the 8 words of
 * the packed bit vectors of one row: byte j of sub-block q's word has bit s
 * for element 32q + 8s + j and bit 4 + s for element 32q + 8s + 4 + j;
 * word q in w[q / 2] at bit 32(q % 2). With l = 8s + 4u + j, bit address
 * 64s + 32u + 8j + q of qh goes to 32q + 8j + 4u + s: address bits 0, 1, 2,
 * 5, 6, 7 go to 5, 6, 7, 2, 0, 1, a cycle made of five swaps with bit 0. */
static void q5k_fifth_bits(const uint8_t *qh, uint64_t w[4]) {
    for (int i = 0; i < 4; i++) {
        w[i] = rd64(qh + 8 * i);
        w[i] = swap_bits(w[i], 31, 0x00000000aaaaaaaaull); /* 0 <-> 5 */
        w[i] = swap_bits(w[i], 3, 0x0a0a0a0a0a0a0a0aull);  /* 0 <-> 2 */
    }
    swap_words(&w[0], &w[2], 1, 0x5555555555555555ull); /* 0 <-> 7 */
    swap_words(&w[1], &w[3], 1, 0x5555555555555555ull);
    for (int i = 0; i < 4; i++)
        w[i] = swap_bits(w[i], 1, 0x2222222222222222ull); /* 0 <-> 1 */
    swap_words(&w[0], &w[1], 1, 0x5555555555555555ull); /* 0 <-> 6 */
    swap_words(&w[2], &w[3], 1, 0x5555555555555555ull);
}

/* Row r's 2-bit codes (Q2_K, Q3_K; Q6_K's high two bits) -> crumb vector
 * q, byte 4r + j, bits 2s: element 16q + 4s + j. Element 128n + 32j + l is
 * bits 2j of qs[32n + l] (ggml's dequantize_row_q2_K; Q6_K's qh the same),
 * so sub-block q reads the 16 bytes qs[32(q/8) + 16(q%2) ...] at shift
 * 2((q%8)/2): four sub-blocks share each 16 bytes. */
static inline __attribute__((always_inline)) void put_crumbs(int type, const uint8_t *qs, int r, uint8_t *dst) {
    for (int i = 0; i < 4; i++) {
        /* bit a of the 16 bytes: crumb (a >> 1) & 3 of byte (a >> 3) & 3 of
         * word a >> 5; swapping the crumb and word fields of a (bits 1 <-> 5,
         * 2 <-> 6) makes word j hold crumb j of every byte, at bits 2s of byte
         * j' for word s: the crumb words of the four sub-blocks at once */
        uint64_t x0 = swap_bits(rd64(qs + 16 * i), 30, 0x00000000ccccccccull);
        uint64_t x1 = swap_bits(rd64(qs + 16 * i + 8), 30, 0x00000000ccccccccull);
        swap_words(&x0, &x1, 4, 0x0f0f0f0f0f0f0f0full);
        const uint32_t w[4] = {(uint32_t)x0, (uint32_t)(x0 >> 32), (uint32_t)x1, (uint32_t)(x1 >> 32)};
        for (int j = 0; j < 4; j++)
            memcpy(dst + crumbs_at(type, 8 * (i / 2) + 2 * j + i % 2) + 4 * r, &w[j], 4);
    }
}

/* Q6_K row r's block -> its slots: low nibbles as Q4_K's codes (vector t
 * at q6k_low(t)), the high two bits of elements 16u + 4s + j at bits 2s of
 * byte 4r + j of crumb vector u (at q6k_high(u)), the 16 int8 scales of
 * sub-block q at [3072 + 16q + r], d at 3328 + 2r. Element
 * 128n + 32j + 8i + e (e < 8) is the low nibble of ql[64n + 32j + 8i + e]
 * and element 64 later its high nibble: 8 bytes of ql give the words of
 * vectors t = 16n + 4j + i and t + 8. */
static void pack_q6k_block(const uint8_t *blk, int r, uint8_t *dst) {
    const uint8_t *ql = blk;
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < 4; i++) {
                uint64_t x = rd64(ql + 64 * n + 32 * j + 8 * i);
                uint32_t a = (uint32_t)x, b = (uint32_t)(x >> 32);
                uint32_t lo = (a & 0x0f0f0f0fu) | (b << 4 & 0xf0f0f0f0u), hi = (a >> 4 & 0x0f0f0f0fu) | (b & 0xf0f0f0f0u);
                const int t = 16 * n + 4 * j + i;
                memcpy(dst + q6k_low(t) + 4 * r, &lo, 4);
                memcpy(dst + q6k_low(t + 8) + 4 * r, &hi, 4);
            }
    put_crumbs(LF_TYPE_Q6_K, blk + 128, r, dst);
    for (int q = 0; q < 16; q++)
        dst[LF_PK_Q6K_SC + 16 * q + r] = blk[192 + q];
    memcpy(dst + LF_PK_Q6K_D + 2 * r, blk + 208, 2);
}

/* Q2_K row r's block -> its slots: the crumbs, the scale byte of
 * sub-block q (scale | min << 4) at 1024 + 32(q/2) + 2r + q%2, d at
 * 1280 + 2r, dmin at 1312 + 2r. */
static void pack_q2k_block(const uint8_t *blk, int r, uint8_t *dst) {
    put_crumbs(LF_TYPE_Q2_K, blk + 16, r, dst);
    for (int p = 0; p < 8; p++)
        memcpy(dst + LF_PK_Q2K_SC + 32 * p + 2 * r, blk + 2 * p, 2);
    memcpy(dst + LF_PK_Q2K_D + 2 * r, blk + 80, 2);
    memcpy(dst + LF_PK_Q2K_DMIN + 2 * r, blk + 82, 2);
}

/* Q3_K row r's block -> its slots: the crumbs; the third bits (bit
 * (q%8)/2 + 4(q/8) of hmask[16(q%2) + 4s + j] for element 16q + 4s + j)
 * in the run's third vector, bit 4(q%2) + s of byte 4r + j; the 12 scale
 * bytes as three words at 1536 + 64w + 4r; d at 1728 + 2r. Run h = q/2
 * takes bit h of every hmask byte m to byte m%4, bit m/4: in the 256 bits
 * of hmask, bit address 32(m/4) + 8(m%4) + h goes to 32h + 8(m%4) + m/4,
 * a swap of address bits 0-2 with 5-7 (three delta swaps). */
static void pack_q3k_block(const uint8_t *blk, int r, uint8_t *dst) {
    put_crumbs(LF_TYPE_Q3_K, blk + 32, r, dst);
    uint64_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = swap_bits(rd64(blk + 8 * i), 31, 0x00000000aaaaaaaaull); /* 0 <-> 5 */
    swap_words(&x[0], &x[1], 2, 0x3333333333333333ull); /* 1 <-> 6 */
    swap_words(&x[2], &x[3], 2, 0x3333333333333333ull);
    swap_words(&x[0], &x[2], 4, 0x0f0f0f0f0f0f0f0full); /* 2 <-> 7 */
    swap_words(&x[1], &x[3], 4, 0x0f0f0f0f0f0f0f0full);
    for (int h = 0; h < 8; h++) {
        uint32_t w = (uint32_t)(x[h / 2] >> 32 * (h % 2));
        memcpy(dst + LF_PK_Q3K_RUN * h + 128 + 4 * r, &w, 4);
    }
    for (int w = 0; w < 3; w++)
        memcpy(dst + LF_PK_Q3K_WORDS + 64 * w + 4 * r, blk + 96 + 4 * w, 4);
    memcpy(dst + LF_PK_Q3K_D + 2 * r, blk + 108, 2);
}

/* Q4_K / Q5_K row r's block -> its slots in the packed super-block dst.
 * Elements 8t .. 8t+7 lie in one half of a 64-element chunk: the low
 * nibbles of qs[32c + 8(t%4) ...] for the first half, the high nibbles for
 * the second. Q5_K's fifth bit of element e is bit e / 32 of qh[e % 32]. */
static inline __attribute__((always_inline)) void pack_k4_block(int type, const uint8_t *blk, int r,
                                                                 uint8_t *dst) {
    const uint8_t *qs = blk + (type == LF_TYPE_Q5_K ? 48 : 16);
    for (int t = 0; t < 32; t += 8)
        for (int i = 0; i < 4; i++) {
            uint64_t x = rd64(qs + 4 * t + 8 * i);
            uint32_t a = (uint32_t)x, b = (uint32_t)(x >> 32);
            uint32_t lo = (a & 0x0f0f0f0fu) | (b << 4 & 0xf0f0f0f0u), hi = (a >> 4 & 0x0f0f0f0fu) | (b & 0xf0f0f0f0u);
            memcpy(dst + k_code(type, t + i) + 4 * r, &lo, 4);
            memcpy(dst + k_code(type, t + i + 4) + 4 * r, &hi, 4);
        }
    uint8_t *tail = dst + k_tail(type);
    memcpy(tail + LF_PK_K_D + 2 * r, blk, 2);
    memcpy(tail + LF_PK_K_DMIN + 2 * r, blk + 2, 2);
    for (int w = 0; w < 3; w++)
        memcpy(tail + LF_PK_K_WORDS + 64 * w + 4 * r, blk + 4 + 4 * w, 4);
    if (type != LF_TYPE_Q5_K)
        return;
    uint64_t w[4];
    q5k_fifth_bits(blk + 16, w);
    for (int q = 0; q < 8; q++) {
        uint32_t x = (uint32_t)(w[q / 2] >> 32 * (q % 2));
        memcpy(dst + q5k_high(q) + 4 * r, &x, 4);
    }
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
                pack_k4_block(LF_TYPE_Q4_K, blk, r, dst);
            else if (type == LF_TYPE_Q5_K)
                pack_k4_block(LF_TYPE_Q5_K, blk, r, dst);
            else if (type == LF_TYPE_Q6_K)
                pack_q6k_block(blk, r, dst);
            else if (type == LF_TYPE_Q8_0)
                pack_q80_block(blk, r, dst);
            else if (type == LF_TYPE_Q2_K)
                pack_q2k_block(blk, r, dst);
            else if (type == LF_TYPE_Q3_K)
                pack_q3k_block(blk, r, dst);
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
        out[192 + q] = src[LF_PK_Q6K_SC + 16 * q + r];
    memcpy(out + 208, src + LF_PK_Q6K_D + 2 * r, 2);
}

/* Row r's 2-bit code of element e in a packed Q2_K / Q3_K super-block. */
static int get_crumb(int type, const uint8_t *src, int e, int r) {
    return src[crumbs_at(type, e / 16) + 4 * r + e % 4] >> (2 * (e % 16 / 4)) & 3;
}

static void unpack_q23k(int type, const uint8_t *src, int r, uint8_t *out) {
    uint8_t *qs = out + (type == LF_TYPE_Q3_K ? 32 : 16);
    memset(qs, 0, 64);
    if (type == LF_TYPE_Q3_K)
        memset(out, 0, 32);
    for (int e = 0; e < QK_K; e++) {
        int n = e / 128, j = e % 128 / 32, l = e % 32;
        qs[32 * n + l] |= (uint8_t)(get_crumb(type, src, e, r) << 2 * j);
        if (type == LF_TYPE_Q3_K) {
            int q = e / 16, s = e % 16 / 4;
            int bit = src[LF_PK_Q3K_RUN * (q / 2) + 128 + 4 * r + e % 4] >> (4 * (q % 2) + s) & 1;
            out[l] |= (uint8_t)(bit << (4 * n + j));
        }
    }
    if (type == LF_TYPE_Q2_K) {
        for (int p = 0; p < 8; p++)
            memcpy(out + 2 * p, src + LF_PK_Q2K_SC + 32 * p + 2 * r, 2);
        memcpy(out + 80, src + LF_PK_Q2K_D + 2 * r, 2);
        memcpy(out + 82, src + LF_PK_Q2K_DMIN + 2 * r, 2);
        return;
    }
    for (int w = 0; w < 3; w++)
        memcpy(out + 96 + 4 * w, src + LF_PK_Q3K_WORDS + 64 * w + 4 * r, 4);
    memcpy(out + 108, src + LF_PK_Q3K_D + 2 * r, 2);
}

static void unpack_k4(int type, const uint8_t *src, int r, uint8_t *out) {
    const uint8_t *tail = src + k_tail(type);
    memcpy(out, tail + LF_PK_K_D + 2 * r, 2);
    memcpy(out + 2, tail + LF_PK_K_DMIN + 2 * r, 2);
    for (int w = 0; w < 3; w++)
        memcpy(out + 4 + 4 * w, tail + LF_PK_K_WORDS + 64 * w + 4 * r, 4);
    uint8_t code[QK_K];
    for (int e = 0; e < QK_K; e++) {
        code[e] = (uint8_t)get_code(src + k_code(type, e / 8), e, r);
        if (type == LF_TYPE_Q5_K) {
            int s = e % 32 / 8, bit = e % 8 < 4 ? s : 4 + s;
            code[e] |= (uint8_t)((src[q5k_high(e / 32) + 4 * r + e % 4] >> bit & 1) << 4);
        }
    }
    uint8_t *qs = out + (type == LF_TYPE_Q5_K ? 48 : 16);
    for (int i = 0; i < 128; i++)
        qs[i] = (uint8_t)((code[64 * (i / 32) + i % 32] & 15) | (code[64 * (i / 32) + 32 + i % 32] & 15) << 4);
    if (type != LF_TYPE_Q5_K)
        return;
    for (int l = 0; l < 32; l++) {
        uint8_t h = 0;
        for (int q = 0; q < 8; q++)
            h |= (uint8_t)((code[32 * q + l] >> 4) << q);
        out[16 + l] = h;
    }
}

void lf_unpack_block(int type, const uint8_t *group, int64_t k, int r, int64_t b, uint8_t *out) {
    (void)k;
    if (is_float(type)) {
        memcpy(out, group + float_at(b / FLOAT_CHUNK, r) + 2 * (size_t)(b % FLOAT_CHUNK), 2);
        return;
    }
    if (type == LF_TYPE_Q6_K) {
        unpack_q6k(group + (size_t)b * LF_PK_Q6K_SB, r, out);
        return;
    }
    if (type == LF_TYPE_Q2_K || type == LF_TYPE_Q3_K) {
        unpack_q23k(type, group + (size_t)b * (type == LF_TYPE_Q2_K ? LF_PK_Q2K_SB : LF_PK_Q3K_SB), r, out);
        return;
    }
    if (type == LF_TYPE_Q8_0) {
        unpack_q80(group + (size_t)b * LF_PK_Q80_SB, r, out);
        return;
    }
    if (type == LF_TYPE_Q4_0 || type == LF_TYPE_IQ4_NL) {
        unpack_q40(group + (size_t)b * LF_PK_Q40_SB, r, out);
        return;
    }
    if (type == LF_TYPE_Q4_K || type == LF_TYPE_Q5_K)
        unpack_k4(type, group + (size_t)b * k_group(type), r, out);
}
