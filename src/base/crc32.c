/* crc32.c — table-driven CRC-32, eight bytes a step ("slicing by 8"). */
#include "base/crc32.h"

#include <pthread.h>
#include <string.h>

static uint32_t g_table[8][256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        g_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            g_table[t][i] = g_table[0][g_table[t - 1][i] & 255] ^ (g_table[t - 1][i] >> 8);
}

uint32_t lf_crc32(uint32_t crc, const void *data, size_t n) {
    pthread_once(&g_once, init_tables);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = g_table[7][lo & 255] ^ g_table[6][lo >> 8 & 255] ^ g_table[5][lo >> 16 & 255] ^
            g_table[4][lo >> 24] ^ g_table[3][hi & 255] ^ g_table[2][hi >> 8 & 255] ^
            g_table[1][hi >> 16 & 255] ^ g_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = g_table[0][(c ^ *p++) & 255] ^ (c >> 8);
    return ~c;
}

/* The register update for one zero byte is linear over GF(2), so a 32x32
 * bit matrix (one column per input bit) represents it; squaring the matrix
 * gives the update for 2, 4, 8, ... zero bytes. */
static uint32_t mat_vec(const uint32_t m[32], uint32_t v) {
    uint32_t r = 0;
    for (int i = 0; v; i++, v >>= 1)
        if (v & 1)
            r ^= m[i];
    return r;
}

static void mat_square(uint32_t out[32], const uint32_t m[32]) {
    for (int i = 0; i < 32; i++)
        out[i] = mat_vec(m, m[i]);
}

uint32_t lf_crc32_zeros(uint32_t crc, uint64_t n) {
    pthread_once(&g_once, init_tables);
    uint32_t m[32], sq[32];
    for (int i = 0; i < 32; i++) {
        uint32_t r = 1u << i;
        m[i] = g_table[0][r & 255] ^ (r >> 8);
    }
    uint32_t c = ~crc;
    while (n) {
        if (n & 1)
            c = mat_vec(m, c);
        n >>= 1;
        if (n) {
            mat_square(sq, m);
            memcpy(m, sq, sizeof(m));
        }
    }
    return ~c;
}
