/* textfile.c — reading a text input whole (a prompt file, a pipe, stdin)
 * with a size cap, and checking that standard output was really written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "llamafile.h"

char *lf_read_text(const char *path, size_t max, size_t *len, lf_error *err) {
    const char *name = path ? path : "standard input";
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : 0;
    if (fd < 0) {
        lf_fail(err, "%s: cannot open: %s", name, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        lf_fail(err, "%s: is a directory", name);
        if (path)
            close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    const char *why = NULL;
    while (buf) {
        if (n == cap) {
            if (cap > max) {
                why = "too large";
                break;
            }
            char *b2 = realloc(buf, 2 * cap + 1);
            if (!b2) {
                why = "out of memory";
                break;
            }
            buf = b2, cap *= 2;
        }
        size_t want = cap - n;
        if (want > max + 1 - n) /* one byte past the cap tells "too large" */
            want = max + 1 - n;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            why = strerror(errno);
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            why = "too large";
            break;
        }
    }
    if (path)
        close(fd);
    if (!buf || why) {
        free(buf);
        if (why && !strcmp(why, "too large"))
            lf_fail(err, "%s: larger than the %zu MiB limit for text input", name, max >> 20);
        else
            lf_fail(err, "%s: cannot read: %s", name, why ? why : "out of memory");
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* The reason the first failed write to stdout gave: stdio keeps only a
 * flag, and by the time the program ends errno says something else. */
static int g_stdout_errno;

bool lf_stdout_flush(void) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return true;
    if (!g_stdout_errno)
        g_stdout_errno = errno;
    return false;
}

bool lf_stdout_close(lf_error *err) {
    bool bad = !lf_stdout_flush();
    errno = 0;
    if (fclose(stdout) != 0 && !bad) {
        bad = true;
        g_stdout_errno = errno;
    }
    if (bad)
        return lf_fail(err, "cannot write output: %s",
                       g_stdout_errno ? strerror(g_stdout_errno) : "write error");
    return true;
}
