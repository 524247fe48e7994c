/* self_exe.c — the running executable, through /proc/self/exe (which still
 * opens after the file was renamed or deleted), else the path the kernel
 * was asked to execute (AT_EXECFN). */
#include "platform/self_exe.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "base/error.h"

bool lf_self_exe_path(char *buf, size_t n, lf_error *err) {
    if (n == 0)
        return lf_fail(err, "executable path: no room");
    ssize_t r = readlink("/proc/self/exe", buf, n);
    if (r > 0 && (size_t)r < n) {
        buf[r] = 0;
        return true;
    }
    if (r >= 0)
        return lf_fail(err, "executable path: longer than %zu bytes", n - 1);
    const char *fn = (const char *)getauxval(AT_EXECFN);
    if (fn && strlen(fn) < n) {
        memcpy(buf, fn, strlen(fn) + 1);
        return true;
    }
    return lf_fail(err, "executable path: cannot read /proc/self/exe: %s", strerror(errno));
}

int lf_self_exe_open(char *name, size_t n, lf_error *err) {
    if (!lf_self_exe_path(name, n, err))
        return -1;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        lf_fail(err, "%s: cannot open the running executable: %s", name, strerror(errno));
    return fd;
}
