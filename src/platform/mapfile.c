#include "platform/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "platform/replace_file.h"

bool lf_map_range(lf_map *m, int fd, uint64_t offset, uint64_t size,
                  const char *name, lf_error *err) {
    memset(m, 0, sizeof(*m));
    struct stat st;
    if (fstat(fd, &st) != 0)
        return lf_fail(err, "%s: cannot stat: %s", name, strerror(errno));
    uint64_t fsize = (uint64_t)st.st_size;
    if (offset > fsize || size > fsize - offset)
        return lf_fail(err, "%s: range [%llu, +%llu) is past the end of the file (%llu bytes)",
                       name, (unsigned long long)offset, (unsigned long long)size,
                       (unsigned long long)fsize);
    if (size == 0)
        return true;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t start = offset & ~(page - 1);
    uint64_t span = offset - start + size;
    if (span != (size_t)span)
        return lf_fail(err, "%s: range too large to map", name);
    /* Shared, so the file's pages are visibly the process's own (what
     * `ls /proc/PID/map_files` and the packaging tests look for). */
    void *p = mmap(NULL, (size_t)span, PROT_READ, MAP_SHARED, fd, (off_t)start);
    if (p == MAP_FAILED)
        return lf_fail(err, "%s: cannot map %llu bytes: %s", name,
                       (unsigned long long)size, strerror(errno));
    m->base = p;
    m->base_size = (size_t)span;
    m->data = (const uint8_t *)p + (offset - start);
    m->size = size;
    return true;
}

/* O_NONBLOCK keeps open() from waiting for a writer when path is a FIFO;
 * it is cleared again once the file is known to be regular. */
int lf_open_regular(const char *path, lf_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return lf_fail(err, "%s: cannot open: %s", path, strerror(errno)), -1;
    struct stat st;
    bool ok = false;
    if (fstat(fd, &st) != 0)
        lf_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        lf_fail(err, "%s: not a regular file (%s)", path, lf_file_kind(st.st_mode));
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        lf_fail(err, "%s: %s", path, strerror(errno));
    else
        ok = true;
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

bool lf_map_file(lf_map *m, const char *path, lf_error *err) {
    memset(m, 0, sizeof(*m));
    int fd = lf_open_regular(path, err);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok;
    if (fstat(fd, &st) != 0)
        ok = lf_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    else
        ok = lf_map_range(m, fd, 0, (uint64_t)st.st_size, path, err);
    close(fd);
    return ok;
}

void lf_unmap(lf_map *m) {
    if (m->base)
        munmap(m->base, m->base_size);
    memset(m, 0, sizeof(*m));
}
