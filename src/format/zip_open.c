/* zip_open.c — opening an archive from a path, an fd, memory or the
 * running executable; closing it; the entry table. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "format/zip.h"
#include "platform/mapfile.h"
#include "platform/self_exe.h"

lf_zip *lf_zip_new_empty(const char *name, lf_error *err) {
    lf_zip *z = calloc(1, sizeof(*z));
    if (z)
        z->name = strdup(name);
    if (!z || !z->name) {
        free(z);
        lf_fail(err, "%s: out of memory", name);
        return NULL;
    }
    z->src.fd = -1;
    z->own_fd = -1;
    return z;
}

void lf_zip_close(lf_zip *z) {
    if (!z)
        return;
    if (z->own_fd >= 0)
        close(z->own_fd);
    free(z->name);
    free(z->cd);
    free(z->names);
    free(z->recs);
    free(z->comment);
    free(z);
}

/* Parses an fd that z will own (closed on failure). allow_none: a file
 * without a zip gives an empty archive instead of an error. */
static lf_zip *open_owned_fd(int fd, const char *name, bool allow_none, lf_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        lf_fail(err, "%s: cannot stat: %s", name, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        lf_fail(err, "%s: not a regular file", name);
        close(fd);
        return NULL;
    }
    lf_zip_src src = {NULL, fd, (uint64_t)st.st_size};
    lf_zip *z;
    int r = lf_zip_parse(&src, name, &z, err);
    uint64_t image = r == 0 && allow_none ? lf_elf_image_end(fd) : 0;
    if (image && image < src.size) {
        lf_fail(err, "%s: the zip archive appended to this program (bytes %llu to %llu) is "
                "damaged: it has no end of central directory record", name,
                (unsigned long long)image, (unsigned long long)src.size);
    } else if (r == 0 && allow_none) {
        z = lf_zip_new_empty(name, err);
        if (z)
            z->src = src;
    }
    if (!z) {
        close(fd);
        return NULL;
    }
    z->own_fd = fd;
    return z;
}

lf_zip *lf_zip_open(const char *path, lf_error *err) {
    int fd = lf_open_regular(path, err);
    return fd < 0 ? NULL : open_owned_fd(fd, path, false, err);
}

lf_zip *lf_zip_open_fd(int fd, const char *name, lf_error *err) {
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
        lf_fail(err, "%s: cannot duplicate the file descriptor: %s", name, strerror(errno));
        return NULL;
    }
    return open_owned_fd(own, name, false, err);
}

lf_zip *lf_zip_open_memory(const void *data, size_t size, const char *name,
                           lf_error *err) {
    static const uint8_t empty[1];
    lf_zip_src src = {data ? data : empty, -1, size};
    lf_zip *z;
    lf_zip_parse(&src, name, &z, err);
    return z;
}

lf_zip *lf_zip_open_self(lf_error *err) {
    char path[PATH_MAX];
    int fd = lf_self_exe_open(path, sizeof(path), err);
    return fd < 0 ? NULL : open_owned_fd(fd, path, true, err);
}

const char *lf_zip_name(const lf_zip *z) {
    return z->name;
}

int64_t lf_zip_count(const lf_zip *z) {
    return z->n;
}

const lf_zip_entry *lf_zip_entry_at(const lf_zip *z, int64_t i) {
    return i >= 0 && i < z->n ? &z->recs[i].e : NULL;
}

int lf_zip_fd(const lf_zip *z) {
    return z->src.buf ? -1 : z->src.fd;
}
