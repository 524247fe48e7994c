/* Replacing an output file: the temporary file lies beside the real target
 * (a symbolic link's destination), the link is kept, anything but a regular
 * file is refused, and no temporary file outlives a failure. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "base/error.h"
#include "platform/replace_file.h"

static char base[256];

static void path_of(char *out, const char *name) {
    snprintf(out, PATH_MAX, "%s/%s", base, name);
}

static int count_entries(const char *sub) {
    char p[PATH_MAX];
    path_of(p, sub);
    DIR *d = opendir(p);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static bool file_is(const char *path, const char *want) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

static bool put(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);
    if (fd >= 0)
        close(fd);
    return ok;
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/lf_replace_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(base)) {
        SKIP("replace_file", "cannot make a temporary directory");
        return test_summary();
    }
    char a[PATH_MAX], b[PATH_MAX], target[PATH_MAX], link[PATH_MAX], fresh[PATH_MAX],
        fifo[PATH_MAX], real_b[PATH_MAX];
    path_of(a, "a");
    path_of(b, "b");
    path_of(target, "b/target");
    path_of(link, "a/link");
    path_of(fresh, "a/fresh");
    path_of(fifo, "b/fifo");
    lf_error err = {{0}};
    lf_replace r;

    TEST_BEGIN("a symbolic link: the temporary file lies beside its target, which is replaced");
    EXPECT(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0 && put(target, "old") &&
           symlink("../b/target", link) == 0 && realpath(b, real_b), "setup");
    EXPECT(lf_replace_begin(&r, link, &err), "begin: %s", err.msg);
    size_t nb = strlen(real_b);
    EXPECT(r.tmp && !strncmp(r.tmp, real_b, nb) && r.tmp[nb] == '/' &&
           !strchr(r.tmp + nb + 1, '/'), "temporary file %s is not in %s", r.tmp, real_b);
    EXPECT(count_entries("a") == 1 && count_entries("b") == 2, "entries: a %d, b %d",
           count_entries("a"), count_entries("b"));
    EXPECT(r.fd >= 0 && write(r.fd, "new", 3) == 3, "write");
    EXPECT(lf_replace_commit(&r, &err), "commit: %s", err.msg);
    struct stat st;
    EXPECT(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link is gone");
    EXPECT(file_is(target, "new"), "target not replaced");
    EXPECT(stat(target, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o, want 600",
           (unsigned)(st.st_mode & 0777));
    EXPECT(count_entries("a") == 1 && count_entries("b") == 1, "temporary file left");
    TEST_END();

    TEST_BEGIN("a new file: created beside it; abort leaves nothing");
    EXPECT(lf_replace_begin(&r, fresh, &err), "begin: %s", err.msg);
    EXPECT(r.tmp && !strncmp(r.tmp, fresh, strlen(fresh)), "temporary file %s", r.tmp);
    lf_replace_abort(&r);
    EXPECT(count_entries("a") == 1 && access(fresh, F_OK) != 0, "abort left files");
    lf_replace_abort(&r); /* twice is harmless */
    TEST_END();

    TEST_BEGIN("not a regular file: refused before anything is created");
    EXPECT(mkfifo(fifo, 0644) == 0, "mkfifo");
    EXPECT(!lf_replace_begin(&r, fifo, &err) && strstr(err.msg, "a FIFO"), "FIFO: %s", err.msg);
    EXPECT(!lf_replace_begin(&r, a, &err) && strstr(err.msg, "a directory"), "dir: %s", err.msg);
    EXPECT(count_entries("a") == 1 && count_entries("b") == 2, "files created");
    TEST_END();

    TEST_BEGIN("the target turned into a FIFO before the rename: refused, FIFO kept");
    EXPECT(put(target, "old") && lf_replace_begin(&r, target, &err), "begin: %s", err.msg);
    EXPECT(unlink(target) == 0 && mkfifo(target, 0644) == 0, "swap");
    EXPECT(!lf_replace_commit(&r, &err) && strstr(err.msg, "a FIFO"), "commit: %s", err.msg);
    EXPECT(lstat(target, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    EXPECT(count_entries("b") == 2, "temporary file left");
    TEST_END();

    unlink(target);
    unlink(fifo);
    unlink(link);
    rmdir(a);
    rmdir(b);
    rmdir(base);
    return test_summary();
}
