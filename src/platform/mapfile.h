/* mapfile.h — read-only memory maps of a whole file or of a byte range. */
#ifndef LF_PLATFORM_MAPFILE_H
#define LF_PLATFORM_MAPFILE_H

#include "llamafile.h"

typedef struct lf_map {
    const uint8_t *data; /* first byte of the requested range */
    uint64_t size;       /* bytes in the range */
    void *base;          /* what mmap returned (page aligned), or NULL */
    size_t base_size;
} lf_map;

/* Opens a regular file for reading, without blocking on a FIFO; anything
 * else (a directory, pipe, device, socket) is an error naming it. */
int lf_open_regular(const char *path, lf_error *err);
/* Maps a whole file. An empty file gives data == NULL, size == 0. */
bool lf_map_file(lf_map *m, const char *path, lf_error *err);
/* Maps [offset, offset+size) of an open file; fails if it is past the end. */
bool lf_map_range(lf_map *m, int fd, uint64_t offset, uint64_t size,
                  const char *name, lf_error *err);
void lf_unmap(lf_map *m);

#endif
