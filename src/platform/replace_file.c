/* replace_file.c — see replace_file.h. The checks run before the temporary
 * file is made and again just before the rename, since rename(2) would
 * replace a FIFO or a device node (or a link, losing it) without a word. */
#include "platform/replace_file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"

const char *lf_file_kind(mode_t mode) {
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return S_ISREG(mode) ? "a regular file" : "a special file";
}

static bool not_regular(const char *path, mode_t mode, lf_error *err) {
    return lf_fail(err, "%s: exists and is %s, not a regular file (not replacing it)", path,
                   lf_file_kind(mode));
}

/* The file to replace (malloc'd) and, when it exists, its permissions. */
static char *resolve(const char *path, mode_t *mode, lf_error *err) {
    struct stat st;
    *mode = 0644;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) {
            lf_fail(err, "%s: cannot stat: %s", path, strerror(errno));
            return NULL;
        }
        char *t = strdup(path);
        if (!t)
            lf_fail(err, "%s: out of memory", path);
        return t;
    }
    char *t = S_ISLNK(st.st_mode) ? realpath(path, NULL) : strdup(path);
    if (!t) {
        if (S_ISLNK(st.st_mode) && errno == ENOENT)
            lf_fail(err, "%s: is a symbolic link to a missing file (not writing through it)",
                    path);
        else if (S_ISLNK(st.st_mode))
            lf_fail(err, "%s: cannot follow the symbolic link: %s", path, strerror(errno));
        else
            lf_fail(err, "%s: out of memory", path);
        return NULL;
    }
    if (S_ISLNK(st.st_mode) && stat(t, &st) != 0) {
        lf_fail(err, "%s: cannot stat %s: %s", path, t, strerror(errno));
        free(t);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        not_regular(path, st.st_mode, err);
        free(t);
        return NULL;
    }
    *mode = st.st_mode & 0777;
    return t;
}

bool lf_replace_begin(lf_replace *r, const char *path, lf_error *err) {
    *r = (lf_replace){.path = path, .fd = -1};
    mode_t mode;
    if (!(r->target = resolve(path, &mode, err)))
        return false;
    size_t n = strlen(r->target) + 16;
    if (!(r->tmp = malloc(n))) {
        lf_replace_abort(r);
        return lf_fail(err, "%s: out of memory", path);
    }
    snprintf(r->tmp, n, "%s.tmp.XXXXXX", r->target);
    r->fd = mkostemp(r->tmp, O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        free(r->tmp);
        r->tmp = NULL;
        lf_replace_abort(r);
        return lf_fail(err, "%s: cannot create a temporary file beside it: %s", path,
                       strerror(e));
    }
    (void)fchmod(r->fd, mode);
    return true;
}

bool lf_replace_commit(lf_replace *r, lf_error *err) {
    bool ok = true;
    if (r->fd >= 0) {
        if (fsync(r->fd) != 0)
            ok = lf_fail(err, "%s: cannot write: %s", r->path, strerror(errno));
        if (close(r->fd) != 0 && ok)
            ok = lf_fail(err, "%s: cannot write: %s", r->path, strerror(errno));
        r->fd = -1;
    }
    struct stat st;
    if (ok && lstat(r->target, &st) == 0 && !S_ISREG(st.st_mode))
        ok = not_regular(r->path, st.st_mode, err);
    if (ok && rename(r->tmp, r->target) != 0)
        ok = lf_fail(err, "%s: cannot rename %s into place: %s", r->path, r->tmp,
                     strerror(errno));
    if (ok) {
        free(r->tmp);
        r->tmp = NULL;
    }
    lf_replace_abort(r);
    return ok;
}

void lf_replace_abort(lf_replace *r) {
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->tmp)
        unlink(r->tmp);
    free(r->tmp);
    free(r->target);
    r->tmp = r->target = NULL;
}

void lf_drop_pending_xfsz(void) {
    sigset_t xfsz;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&xfsz, NULL, &zero) == SIGXFSZ) {
    }
}
