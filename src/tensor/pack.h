/* pack.h — weights repacked once at load for kernels that read 16 rows
 * abreast (quantized types: lanes along rows, no horizontal sums, no
 * per-row scale gathers; F16/BF16: one stream instead of 16).
 *
 * A packed weight keeps its size and its place: the rows of every slice
 * (ne[1] rows each) are taken 16 at a time and each group of 16 rows is
 * permuted in place; the last ne[1] % 16 rows of a slice stay plain. Only
 * a kernel set whose lf_mm_kernel.packed is set reads the packed layout
 * (lf_matmul refuses the others); lf_weight_row reads both.
 *
 * Q4_K group, per super-block b (2304 = 16 x 144 bytes at b * 2304):
 *   [0, 2048)     codes: 32 vectors of 64 bytes; in vector t, byte 4r + j
 *                 holds row r's code of element 8t + j (low nibble) and of
 *                 element 8t + 4 + j (high nibble)
 *   [2048, 2080)  d of the 16 rows (fp16), then [2080, 2112) dmin
 *   [2112, 2304)  the 12 scale bytes of each row as three words: bytes
 *                 0-3 of rows 0..15, then bytes 4-7, then bytes 8-11
 * Q5_K group, per super-block b (2816 = 16 x 176 bytes at b * 2816):
 *   [0, 2560)     8 runs of 320 bytes, one per 32-element sub-block q, in
 *                 the order the kernel reads them: Q4_K's code vectors
 *                 4q .. 4q+3 (the low four bits), then a vector of their
 *                 fifth bits: bit s of byte 4r + j belongs to row r's
 *                 element 32q + 8s + j, bit 4 + s to element 32q + 8s + 4 + j
 *   [2560, 2816)  d, dmin and the scale words, laid out as Q4_K's [2048, 2304)
 * Q6_K group, per super-block b (3360 = 16 x 210 bytes at b * 3360):
 *   [0, 3072)     16 runs of 192 bytes, in the order the kernel reads them
 *                 (one stream): run u is the low four bits of elements
 *                 16u .. 16u+15 as two of Q4_K's code vectors (2u, 2u+1),
 *                 then a vector of their high two bits: bits 2s, 2s+1 of
 *                 byte 4r + j belong to row r's element 16u + 4s + j
 *   [3072, 3328)  the int8 scale of sub-block q of row r at 16q + r
 *   [3328, 3360)  d of the 16 rows (fp16)
 * Q2_K group, per super-block b (1344 = 16 x 84 bytes at b * 1344):
 *   [0, 1024)     16 crumb vectors, one per 16-element sub-block q: bits
 *                 2s, 2s+1 of byte 4r + j of vector q hold row r's code of
 *                 element 16q + 4s + j
 *   [1024, 1280)  row r's scale byte of sub-block q (scale | min << 4) at
 *                 32(q/2) + 2r + q%2
 *   [1280, 1312)  d of the 16 rows (fp16), then [1312, 1344) dmin
 * Q3_K group, per super-block b (1760 = 16 x 110 bytes at b * 1760):
 *   [0, 1536)     8 runs of 192 bytes, one per sub-block pair h, in the
 *                 order the kernel reads them: Q2_K's crumb vectors 2h and
 *                 2h + 1 (the low two bits), then a vector of their third
 *                 bits: bit 4i + s of byte 4r + j belongs to row r's
 *                 element 16(2h + i) + 4s + j
 *   [1536, 1728)  the 12 scale bytes of each row as three words, as Q4_K's
 *   [1728, 1760)  d of the 16 rows (fp16)
 * Q4_0 and IQ4_NL group, per 32-element block b (288 = 16 x 18 bytes at
 * b * 288):
 *   [0, 256)      codes: 4 vectors of 64 bytes, as Q4_K's (vector t, byte
 *                 4r + j: element 8t + j low, 8t + 4 + j high)
 *   [256, 288)    d of the 16 rows (fp16)
 * Q8_0 group, per 32-element block b (544 = 16 x 34 bytes at b * 544):
 *   [0, 512)      codes: 8 vectors of 64 bytes; in vector t, byte 4r + j
 *                 holds row r's element 4t + j plus 128 (as a u8)
 *   [512, 544)    d of the 16 rows (fp16)
 * F16 and BF16 group, per 32 elements c (1024 = 16 x 64 bytes at c * 1024;
 * k a multiple of 32): row r's elements 32c .. 32c+31 at 64r. The rows are
 * unchanged within, so a kernel keeps its sums; what changes is that 16
 * rows read side by side are one stream, not 16. */
#ifndef LF_TENSOR_PACK_H
#define LF_TENSOR_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { LF_PACK_ROWS = 16 };

/* Byte offsets inside a packed group of one super-block (or block) of the
 * 16 rows, as laid out above: written by pack.c, read by the kernels
 * (kernels_avx512vnni_dec.h). _SB: the group's bytes (16 plain blocks').
 * Q4_K and Q5_K: the tail (d, dmin, scale words at _K_D, _K_DMIN, _K_WORDS)
 * follows the codes, which Q5_K stores as runs of a sub-block's four code
 * vectors and their fifth bits (_Q5K_RUN). Q6_K, Q2_K, Q3_K: scales (_SC)
 * or scale words (_WORDS), d (and dmin) after the codes; Q3_K's codes in
 * runs of two crumb vectors and their third bits (_Q3K_RUN). Q4_0, Q8_0
 * (and IQ4_NL as Q4_0): the 16 d after the codes. */
enum {
    LF_PK_Q4K_SB = 2304, LF_PK_Q5K_SB = 2816, LF_PK_Q5K_RUN = 320,
    LF_PK_K_D = 0, LF_PK_K_DMIN = 32, LF_PK_K_WORDS = 64,
    LF_PK_Q6K_SB = 3360, LF_PK_Q6K_SC = 3072, LF_PK_Q6K_D = 3328,
    LF_PK_Q2K_SB = 1344, LF_PK_Q2K_SC = 1024, LF_PK_Q2K_D = 1280, LF_PK_Q2K_DMIN = 1312,
    LF_PK_Q3K_SB = 1760, LF_PK_Q3K_RUN = 192, LF_PK_Q3K_WORDS = 1536, LF_PK_Q3K_D = 1728,
    LF_PK_Q40_SB = 288, LF_PK_Q40_D = 256, LF_PK_Q80_SB = 544, LF_PK_Q80_D = 512,
};

/* Whether `type` has a packed layout (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q4_0,
 * IQ4_NL, Q8_0, F16, BF16). */
bool lf_pack_has(int type);
/* Whether rows of k elements of `type` can be packed (F16, BF16: k a
 * multiple of 32). */
bool lf_pack_fits(int type, int64_t k);

/* Rows of a slice of m rows that are stored packed (whole groups). */
static inline int64_t lf_pack_rows(int64_t m) {
    return m / LF_PACK_ROWS * LF_PACK_ROWS;
}

/* Packs one group of 16 plain rows of k elements (contiguous, row_bytes
 * apart) in place; tmp holds 16 rows' bytes. */
void lf_pack_group(int type, uint8_t *group, int64_t k, uint8_t *tmp);
/* The same from 16 plain rows at src into group (not overlapping). */
void lf_pack_group_from(int type, uint8_t *group, const uint8_t *src, int64_t k);

/* The plain bytes of block b of row r (< 16) of a packed group (F16,
 * BF16: element b). */
void lf_unpack_block(int type, const uint8_t *group, int64_t k, int r, int64_t b, uint8_t *out);

#endif
