/* crc32.h — the zip/gzip CRC-32 (reflected polynomial 0xEDB88320). */
#ifndef LF_BASE_CRC32_H
#define LF_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of data following the bytes that gave crc (0 to start). */
uint32_t lf_crc32(uint32_t crc, const void *data, size_t n);
/* CRC after n zero bytes, in O(log n): lets a sparse file's holes be
 * checksummed without reading them. */
uint32_t lf_crc32_zeros(uint32_t crc, uint64_t n);

#endif
