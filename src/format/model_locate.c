/* model_locate.c — from what the user names with -m to the bytes of a GGUF:
 * a plain file, or a stored member of a zip (a llamafile, or the running
 * executable itself), mapped later without a copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "format/zip.h"
#include "platform/mapfile.h"

#define SELF_PREFIX "/zip/"

void lf_model_source_free(lf_model_source *src) {
    if (!src)
        return;
    free(src->path);
    free(src->name);
    if (src->fd >= 0)
        close(src->fd);
    memset(src, 0, sizeof(*src));
    src->fd = -1;
}

/* Fills src with member e of z; display is the name for messages. */
static int take_member(lf_zip *z, const lf_zip_entry *e, const char *display,
                       lf_model_source *src, lf_error *err) {
    bool ok = lf_zip_stored_range(z, e, &src->offset, &src->size, err);
    if (ok) {
        src->fd = fcntl(lf_zip_fd(z), F_DUPFD_CLOEXEC, 0);
        src->path = strdup(lf_zip_name(z));
        src->name = strdup(display);
        if (src->fd < 0)
            ok = lf_fail(err, "%s: cannot duplicate the file descriptor: %s",
                         lf_zip_name(z), strerror(errno));
        else if (!src->path || !src->name)
            ok = lf_fail(err, "%s: out of memory", display);
    }
    lf_zip_close(z);
    if (!ok)
        lf_model_source_free(src);
    return ok ? 1 : -1;
}

/* Member `member` of z (which it closes); an error lists what z holds. */
static int named_member(lf_zip *z, const char *member, const char *display,
                        lf_model_source *src, lf_error *err) {
    const lf_zip_entry *e = lf_zip_find(z, member);
    if (!e) {
        char names[360] = "";
        size_t o = 0;
        for (int64_t i = 0; i < lf_zip_count(z) && o + 80 < sizeof(names); i++) {
            char q[64];
            const lf_zip_entry *x = lf_zip_entry_at(z, i);
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s'%s'", i ? ", " : "",
                                  lf_zip_quote(x->name, x->name_len, q, sizeof(q)));
        }
        lf_fail(err, "%s: %s holds no member '%s' (members: %s)", display, lf_zip_name(z),
                member, o ? names : "none");
        lf_zip_close(z);
        return -1;
    }
    return take_member(z, e, display, src, err);
}

static int self_gguf(lf_model_source *src, lf_error *err) {
    lf_zip *z = lf_zip_open_self(err);
    if (!z)
        return -1;
    const lf_zip_entry *e = lf_zip_find_gguf(z, err);
    if (!e) {
        bool none = true;
        for (int64_t i = 0; i < lf_zip_count(z); i++) {
            const lf_zip_entry *x = lf_zip_entry_at(z, i);
            none &= !(x->name_len > 5 && !strcasecmp(x->name + x->name_len - 5, ".gguf"));
        }
        lf_zip_close(z);
        return none ? 0 : -1;
    }
    char display[600];
    snprintf(display, sizeof(display), SELF_PREFIX "%s", e->name);
    return take_member(z, e, display, src, err);
}

static int self_member(const char *member, const char *display, lf_model_source *src,
                       lf_error *err) {
    lf_zip *z = lf_zip_open_self(err);
    return z ? named_member(z, member, display, src, err) : -1;
}

/* An existing file: a GGUF, or an archive holding one .gguf. */
static int from_file(const char *path, lf_model_source *src, lf_error *err) {
    int fd = lf_open_regular(path, err);
    if (fd < 0)
        return -1;
    char magic[4] = {0};
    ssize_t got = pread(fd, magic, 4, 0);
    close(fd);
    if (got == 4 && !memcmp(magic, "GGUF", 4)) {
        src->path = strdup(path);
        src->name = strdup(path);
        if (!src->path || !src->name) {
            lf_model_source_free(src);
            return lf_fail(err, "%s: out of memory", path), -1;
        }
        return 1;
    }
    lf_zip *z = lf_zip_open(path, err);
    if (!z) {
        if (strstr(err->msg, "not a zip archive"))
            lf_fail(err, "%s: neither a GGUF file (no GGUF magic) nor a llamafile or zip "
                    "(no end of central directory record)", path);
        return -1;
    }
    const lf_zip_entry *e = lf_zip_find_gguf(z, err);
    if (!e) {
        lf_zip_close(z);
        return -1;
    }
    char display[600];
    snprintf(display, sizeof(display), "%s@%s", path, e->name);
    return take_member(z, e, display, src, err);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ARCHIVE@MEMBER, trying each '@' from the right: 1, -1, or 0 when no
 * prefix names a file. */
static int from_at(const char *spec, lf_model_source *src, lf_error *err) {
    char *copy = strdup(spec);
    if (!copy)
        return lf_fail(err, "%s: out of memory", spec), -1;
    int r = 0;
    for (char *at = strrchr(copy, '@'); at && r == 0; at = strrchr(copy, '@')) {
        *at = 0;
        if (is_file(copy)) {
            lf_zip *z = lf_zip_open(copy, err);
            r = z ? named_member(z, at + 1, spec, src, err) : -1;
        }
    }
    free(copy);
    return r;
}

int lf_model_locate(const char *spec, lf_model_source *src, lf_error *err) {
    lf_error local;
    if (!err)
        err = &local;
    memset(src, 0, sizeof(*src));
    src->fd = -1;
    if (!spec) {
        int r = self_gguf(src, err);
        if (r == 0)
            lf_fail(err, "no model given (-m FILE) and the executable holds no .gguf");
        return r;
    }
    if (!strncmp(spec, SELF_PREFIX, strlen(SELF_PREFIX)) && spec[strlen(SELF_PREFIX)])
        return self_member(spec + strlen(SELF_PREFIX), spec, src, err);
    if (is_file(spec))
        return from_file(spec, src, err);
    int r = strchr(spec, '@') ? from_at(spec, src, err) : 0;
    if (r != 0)
        return r;
    /* Not a file: the executable may hold a member of that name. */
    lf_zip *z = lf_zip_open_self(err);
    const lf_zip_entry *e = z ? lf_zip_find(z, spec) : NULL;
    if (e)
        return take_member(z, e, spec, src, err);
    lf_zip_close(z);
    return lf_fail(err, "%s: cannot open: %s", spec, strerror(ENOENT)), -1;
}

lf_gguf *lf_gguf_open_any(const char *spec, lf_error *err) {
    lf_model_source src;
    if (!spec)
        return lf_fail(err, "no model given"), NULL;
    if (lf_model_locate(spec, &src, err) <= 0)
        return NULL;
    lf_gguf *g = src.fd >= 0 ? lf_gguf_open_range(src.fd, src.offset, src.size, src.name, err)
                             : lf_gguf_open(src.path, err);
    lf_model_source_free(&src);
    return g;
}
