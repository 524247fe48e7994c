/* zipalign.c — appending aligned, stored members to an archive.
 *
 * The archive's existing bytes are never written: new members, the new
 * central directory and end records all go after its end, and any failure
 * truncates the file back to its old size. Termination signals are held
 * while the file is longer than it was, and checked between chunks, so an
 * interrupted run also rolls back before the signal takes effect. Holes
 * in sparse inputs stay holes in the archive.
 *
 * A file without an end record at its end is taken as a fresh archive (an
 * executable about to get its first members) unless its last bytes hold
 * zip records that agree with each other: then it is a zip whose end is
 * damaged, and writing a directory of only the new members would lose the
 * old ones, so it is refused. Inputs and the archive must be regular files
 * (a FIFO would block, a device would be written), and member names may
 * not lead out of the folder an unzip tool extracts into. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/crc32.h"
#include "base/error.h"
#include "format/zip.h"
#include "platform/replace_file.h"

#define DEFAULT_ALIGNMENT 65536
#define MAX_ALIGNMENT (1ull << 30)
#define FIXED_TIME 1700000000 /* the date members get without -N */
#define CHUNK (4u << 20)
/* How much of a file's end is searched for the records of a damaged zip:
 * an end record with the longest comment, ZIP64 records and more. */
#define PROBE_TAIL (128u << 10)

typedef struct input {
    const char *path;
    char *name;
    int fd;
    struct stat st;
    lf_zip_rec rec;
} input;

typedef struct job {
    const char *archive;
    const lf_zipalign_options *opt;
    uint64_t align;
    input *in;
    int n_in;
    int fd;
    bool created;
    uint64_t orig_size;
    lf_zip *old; /* the archive's directory before this run */
    sigset_t held;
    lf_error *err;
} job;

/* A name with a ".." component would let an unzip tool write outside the
 * folder it extracts into ('\\' counts as a separator, as on Windows). */
static bool has_dot_dot(const char *name) {
    for (const char *c = name; *c;) {
        size_t n = strcspn(c, "/\\");
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return true;
        c += n + (c[n] != 0);
    }
    return false;
}

/* The member name for a path: its base name with -j, else the path less
 * any leading "./". Absolute paths and ".." components are refused. */
static bool member_name(const char *path, bool junk, char **out, lf_error *err) {
    const char *s = path;
    if (junk) {
        const char *slash = strrchr(path, '/');
        s = slash ? slash + 1 : path;
    } else {
        if (s[0] == '/')
            return lf_fail(err, "%s: absolute path: not stored as a member name "
                           "(unzip tools would write outside their folder; -j stores "
                           "the base name)", path);
        while (s[0] == '.' && s[1] == '/') {
            s += 2;
            while (*s == '/')
                s++;
        }
    }
    if (has_dot_dot(s))
        return lf_fail(err, "%s: a '..' in the member name is not allowed (unzip tools "
                       "would write outside their folder; -j stores the base name)", path);
    if (!(*out = strdup(s)))
        return lf_fail(err, "out of memory");
    return true;
}

static void dos_time(time_t t, bool local, uint16_t *tm_out, uint16_t *date_out) {
    struct tm b;
    if (!(local ? localtime_r(&t, &b) : gmtime_r(&t, &b)) || b.tm_year < 80) {
        *tm_out = 0;
        *date_out = 1 << 5 | 1; /* 1980-01-01 */
        return;
    }
    if (b.tm_year > 207)
        b.tm_year = 207;
    *tm_out = (uint16_t)(b.tm_hour << 11 | b.tm_min << 5 | b.tm_sec / 2);
    *date_out = (uint16_t)((b.tm_year - 80) << 9 | (b.tm_mon + 1) << 5 | b.tm_mday);
}

static bool not_regular(job *j, const char *path, mode_t mode) {
    return lf_fail(j->err, "%s: not a regular file (%s)", path, lf_file_kind(mode));
}

/* Names, open inputs and their records; all checked before anything is
 * written. */
static bool prepare_inputs(job *j, const char *const *files) {
    for (int i = 0; i < j->n_in; i++) {
        input *in = &j->in[i];
        in->path = files[i];
        in->fd = -1;
        if (!member_name(files[i], j->opt->junk_paths, &in->name, j->err))
            return false;
        size_t len = strlen(in->name);
        if (len == 0)
            return lf_fail(j->err, "%s: no file name to store it under", in->path);
        if (len > 0xffff)
            return lf_fail(j->err, "%s: name longer than 65535 bytes", in->path);
        for (int k = 0; k < i; k++)
            if (!strcmp(j->in[k].name, in->name))
                return lf_fail(j->err, "%s: member name '%s' given twice (also by %s)",
                               in->path, in->name, j->in[k].path);
        /* checked before opening, and opened without blocking: opening
         * a FIFO waits for a writer */
        if (stat(in->path, &in->st) != 0)
            return lf_fail(j->err, "%s: cannot open: %s", in->path, strerror(errno));
        if (!S_ISREG(in->st.st_mode))
            return not_regular(j, in->path, in->st.st_mode);
        in->fd = open(in->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (in->fd < 0)
            return lf_fail(j->err, "%s: cannot open: %s", in->path, strerror(errno));
        if (fstat(in->fd, &in->st) != 0)
            return lf_fail(j->err, "%s: cannot stat: %s", in->path, strerror(errno));
        if (!S_ISREG(in->st.st_mode))
            return not_regular(j, in->path, in->st.st_mode);
        lf_zip_rec *r = &in->rec;
        r->e.name = in->name;
        r->e.name_len = len;
        r->e.size = r->e.compressed_size = (uint64_t)in->st.st_size;
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)in->name[k] >= 0x80)
                r->e.flags = 1 << 11; /* the name is UTF-8 */
        r->made_by = 3 << 8 | 45;
        r->needed = 10;
        r->e.mode = in->st.st_mode & 0111 ? 0100755 : 0100644;
        r->eattr = r->e.mode << 16;
        dos_time(j->opt->use_mtime ? in->st.st_mtime : FIXED_TIME, j->opt->use_mtime,
                 &r->mtime, &r->mdate);
    }
    return true;
}

/* The signature at off, or 0 where there is none to read. */
static uint32_t sig_at(const job *j, uint64_t off) {
    uint8_t b[4];
    if (off > j->orig_size || j->orig_size - off < 4 ||
        pread(j->fd, b, 4, (off_t)off) != 4)
        return 0;
    return lf_get32(b);
}

static bool damaged(job *j, uint64_t at, const char *what) {
    return lf_fail(j->err, "%s: offset %llu: a damaged zip archive (%s, and no valid end "
                   "record ends the file); refused, as adding to it would drop its members",
                   j->archive, (unsigned long long)at, what);
}

/* An end record at at (buf holds the file's bytes from base): damaged if
 * it is cut short or sits right at the end, or if its fields agree with
 * each other and with a central directory or ZIP64 locator before it. */
static bool check_end(job *j, const uint8_t *buf, uint64_t base, uint64_t at) {
    uint64_t size = j->orig_size;
    if (size - at <= LF_ZIP_END_SIZE)
        return damaged(j, at, size - at < LF_ZIP_END_SIZE
                                  ? "an end of central directory record cut short"
                                  : "an end of central directory record with a wrong "
                                    "comment length");
    const uint8_t *e = buf + (at - base);
    uint64_t n = lf_get16(e + 10), cd_size = lf_get32(e + 12), cd_off = lf_get32(e + 16);
    if (lf_get16(e + 4) != lf_get16(e + 6) || lf_get16(e + 8) != n)
        return true;
    if ((n == 0 && cd_size == 0) ||
        (cd_size <= at && sig_at(j, at - cd_size) == LF_ZIP_CENTRAL_SIG) ||
        sig_at(j, cd_off) == LF_ZIP_CENTRAL_SIG ||
        (at >= LF_ZIP64_LOCATOR_SIZE &&
         sig_at(j, at - LF_ZIP64_LOCATOR_SIZE) == LF_ZIP64_LOCATOR_SIG))
        return damaged(j, at, "an end of central directory record that does not end "
                       "the file: a wrong comment length, or bytes after it");
    return true;
}

/* A ZIP64 locator: damaged if it is cut short or its end record is there. */
static bool check_locator(job *j, const uint8_t *buf, uint64_t base, uint64_t at) {
    if (j->orig_size - at < LF_ZIP64_LOCATOR_SIZE)
        return damaged(j, at, "a ZIP64 end locator cut short");
    uint64_t z64 = lf_get64(buf + (at - base) + 8);
    if ((at >= LF_ZIP64_END_SIZE && sig_at(j, at - LF_ZIP64_END_SIZE) == LF_ZIP64_END_SIG) ||
        sig_at(j, z64) == LF_ZIP64_END_SIG)
        return damaged(j, at, "a ZIP64 end locator and its ZIP64 end record here");
    return true;
}

/* A central directory record: damaged if another record or an end record
 * follows it exactly, or its local header is where it says. */
static bool check_central(job *j, const uint8_t *buf, uint64_t base, uint64_t at,
                          uint64_t have) {
    if (at + LF_ZIP_CENTRAL_SIZE > base + have)
        return true;
    const uint8_t *c = buf + (at - base);
    uint16_t nlen = lf_get16(c + 28);
    uint64_t next = at + LF_ZIP_CENTRAL_SIZE + nlen + lf_get16(c + 30) + lf_get16(c + 32);
    uint32_t s = sig_at(j, next);
    if (s == LF_ZIP_CENTRAL_SIG || s == LF_ZIP_END_SIG || s == LF_ZIP64_END_SIG)
        return damaged(j, at, "central directory records here");
    uint64_t lho = lf_get32(c + 42);
    uint8_t h[LF_ZIP_LOCAL_SIZE + 64];
    size_t cmp = nlen < 64 ? nlen : 64;
    if (nlen == 0 || at + LF_ZIP_CENTRAL_SIZE + cmp > base + have || lho >= at ||
        at - lho < LF_ZIP_LOCAL_SIZE + cmp ||
        pread(j->fd, h, LF_ZIP_LOCAL_SIZE + cmp, (off_t)lho) != (ssize_t)(LF_ZIP_LOCAL_SIZE + cmp))
        return true;
    if (lf_get32(h) == LF_ZIP_LOCAL_SIG && lf_get16(h + 26) == nlen &&
        !memcmp(h + LF_ZIP_LOCAL_SIZE, c + LF_ZIP_CENTRAL_SIZE, cmp))
        return damaged(j, at, "a central directory record and its member's local header "
                       "here");
    return true;
}

/* For a file without an end record at its end: false (err set) when its
 * last bytes hold the records of a zip whose end is damaged. */
static bool check_not_damaged(job *j) {
    uint64_t size = j->orig_size, have = size < PROBE_TAIL ? size : PROBE_TAIL;
    uint64_t base = size - have;
    if (have < 4)
        return true;
    uint8_t *buf = malloc((size_t)have);
    if (!buf)
        return lf_fail(j->err, "out of memory");
    lf_zip_src src = {NULL, j->fd, size};
    bool ok = lf_zip_src_read(&src, base, buf, (size_t)have, j->archive, j->err);
    for (uint64_t i = have - 4 + 1; ok && i-- > 0;) {
        uint32_t s = lf_get32(buf + i);
        if (s == LF_ZIP_END_SIG)
            ok = check_end(j, buf, base, base + i);
        else if (s == LF_ZIP64_LOCATOR_SIG)
            ok = check_locator(j, buf, base, base + i);
        else if (s == LF_ZIP_CENTRAL_SIG)
            ok = check_central(j, buf, base, base + i, have);
    }
    free(buf);
    return ok;
}

static bool open_archive(job *j) {
    struct stat st;
    if (stat(j->archive, &st) == 0 && !S_ISREG(st.st_mode))
        return not_regular(j, j->archive, st.st_mode);
    if (lstat(j->archive, &st) == 0 && S_ISLNK(st.st_mode) && stat(j->archive, &st) != 0)
        return lf_fail(j->err, "%s: cannot follow the symbolic link: %s", j->archive,
                       strerror(errno));
    j->fd = open(j->archive, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (j->fd < 0 && errno == ENOENT) {
        j->fd = open(j->archive, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        j->created = j->fd >= 0;
    }
    if (j->fd < 0)
        return lf_fail(j->err, "%s: cannot open for writing: %s", j->archive,
                       strerror(errno));
    if (fstat(j->fd, &st) != 0)
        return lf_fail(j->err, "%s: cannot stat: %s", j->archive, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return not_regular(j, j->archive, st.st_mode);
    int fl = fcntl(j->fd, F_GETFL);
    if (fl >= 0)
        fcntl(j->fd, F_SETFL, fl & ~O_NONBLOCK);
    for (int i = 0; i < j->n_in; i++)
        if (j->in[i].st.st_dev == st.st_dev && j->in[i].st.st_ino == st.st_ino)
            return lf_fail(j->err, "%s: is the archive itself", j->in[i].path);
    j->orig_size = (uint64_t)st.st_size;
    lf_zip_src src = {NULL, j->fd, j->orig_size};
    int r = lf_zip_parse(&src, j->archive, &j->old, j->err);
    if (r == 0 && !check_not_damaged(j))
        return false;
    if (r == 0)
        j->old = lf_zip_new_empty(j->archive, j->err);
    return r >= 0 && j->old;
}

static bool write_all(job *j, const void *buf, size_t n, uint64_t off) {
    const char *p = buf;
    while (n) {
        ssize_t w = pwrite(j->fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return lf_fail(j->err, "%s: cannot write at offset %llu: %s", j->archive,
                           (unsigned long long)off, w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return true;
}

/* True (with err set) when a termination signal that is not ignored is
 * waiting. */
static bool interrupted(job *j) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    sigset_t pending;
    if (sigpending(&pending) != 0)
        return false;
    struct sigaction sa;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigismember(&pending, sigs[i]) && /* ignored (nohup): no reason to stop */
            !(sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)) {
            lf_fail(j->err, "%s: interrupted by signal %d", j->archive, sigs[i]);
            return true;
        }
    return false;
}

/* Copies an input's bytes to dst in the archive, computing their CRC;
 * holes are skipped (and checksummed as zeros). */
static bool copy_data(job *j, input *in, uint64_t dst, uint8_t *buf) {
    uint64_t size = in->rec.e.size, off = 0;
    uint32_t crc = 0;
    while (off < size) {
        off_t d = lseek(in->fd, (off_t)off, SEEK_DATA);
        uint64_t data = d < 0 ? (errno == ENXIO ? size : off) : (uint64_t)d;
        if (data > size)
            data = size;
        if (data > off) {
            crc = lf_crc32_zeros(crc, data - off);
            off = data;
            continue;
        }
        off_t h = lseek(in->fd, (off_t)off, SEEK_HOLE);
        uint64_t end = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
        if (end <= off)
            end = size;
        while (off < end) {
            if (interrupted(j))
                return false;
            size_t want = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
            ssize_t r = pread(in->fd, buf, want, (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return lf_fail(j->err, "%s: cannot read at offset %llu: %s", in->path,
                               (unsigned long long)off,
                               r < 0 ? strerror(errno) : "the file shrank while reading");
            crc = lf_crc32(crc, buf, (size_t)r);
            if (!write_all(j, buf, (size_t)r, dst + off))
                return false;
            off += (uint64_t)r;
        }
    }
    in->rec.e.crc32 = crc;
    return true;
}

/* Appends every input at its aligned place; returns the end of the data. */
static bool write_members(job *j, uint64_t *end) {
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        return lf_fail(j->err, "out of memory");
    uint64_t pos = j->orig_size;
    bool ok = true;
    for (int i = 0; ok && i < j->n_in; i++) {
        lf_zip_rec *r = &j->in[i].rec;
        uint64_t hdr = lf_zip_local_size(r);
        uint64_t data = (pos + hdr + j->align - 1) & ~(j->align - 1);
        r->e.header_offset = data - hdr;
        r->e.data_offset = data;
        ok = copy_data(j, &j->in[i], data, buf);
        if (ok) {
            uint8_t *p = lf_zip_put_local(buf, r);
            ok = write_all(j, buf, (size_t)(p - buf), r->e.header_offset);
        }
        pos = data + r->e.size;
        if (ok && j->opt->verbose)
            fprintf(stderr, "%s -> %s\n", j->in[i].path, j->in[i].name);
    }
    free(buf);
    *end = pos;
    return ok;
}

static bool replaced(const job *j, const lf_zip_entry *e) {
    for (int i = 0; i < j->n_in; i++)
        if (j->in[i].rec.e.name_len == e->name_len &&
            !memcmp(j->in[i].rec.e.name, e->name, e->name_len))
            return true;
    return false;
}

/* The kept old records, then the new ones, then the end records. */
static bool write_directory(job *j, uint64_t cd_offset) {
    uint64_t n = 0, cd_size = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t count = pass == 0 ? j->old->n : j->n_in;
        for (int64_t i = 0; i < count; i++) {
            const lf_zip_rec *r = pass == 0 ? &j->old->recs[i] : &j->in[i].rec;
            if (pass == 0 && replaced(j, &r->e))
                continue;
            size_t s = lf_zip_central_size(r);
            if (s == 0)
                return lf_fail(j->err, "%s: member '%s': extra fields too long to rewrite",
                               j->archive, r->e.name);
            cd_size += s;
            n++;
        }
    }
    size_t total = (size_t)cd_size + lf_zip_end_size(n, cd_offset, cd_size, j->old->comment_len);
    uint8_t *buf = malloc(total), *p = buf;
    if (!buf)
        return lf_fail(j->err, "out of memory");
    for (int64_t i = 0; i < j->old->n; i++)
        if (!replaced(j, &j->old->recs[i].e))
            p = lf_zip_put_central(p, &j->old->recs[i]);
    for (int i = 0; i < j->n_in; i++)
        p = lf_zip_put_central(p, &j->in[i].rec);
    p = lf_zip_put_end(p, n, cd_offset, cd_size, j->old->comment, j->old->comment_len);
    bool ok = write_all(j, buf, (size_t)(p - buf), cd_offset);
    free(buf);
    return ok;
}

/* Reads the result back: every new member must be listed where it was
 * written. */
static bool verify(job *j) {
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return lf_fail(j->err, "%s: cannot stat: %s", j->archive, strerror(errno));
    lf_zip_src src = {NULL, j->fd, (uint64_t)st.st_size};
    lf_zip *z;
    if (lf_zip_parse(&src, j->archive, &z, j->err) <= 0)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < j->n_in; i++) {
        const lf_zip_entry *e = lf_zip_find(z, j->in[i].name);
        ok = e && e->data_offset == j->in[i].rec.e.data_offset &&
             e->size == j->in[i].rec.e.size && e->data_offset % j->align == 0;
    }
    lf_zip_close(z);
    return ok || lf_fail(j->err, "%s: internal error: the new directory does not read back",
                         j->archive);
}

static bool append(job *j) {
    uint64_t cd_offset = 0;
    if (!write_members(j, &cd_offset) || !write_directory(j, cd_offset) || !verify(j))
        return false;
    if (fsync(j->fd) != 0)
        return lf_fail(j->err, "%s: cannot sync: %s", j->archive, strerror(errno));
    return true;
}

/* Truncates the archive back to its old size (a created one is removed
 * by the caller). */
static void roll_back(job *j) {
    if (j->created)
        return;
    if (ftruncate(j->fd, (off_t)j->orig_size) != 0) {
        size_t len = strlen(j->err->msg);
        snprintf(j->err->msg + len, sizeof(j->err->msg) - len,
                 "; truncating it back to %llu bytes failed: %s",
                 (unsigned long long)j->orig_size, strerror(errno));
        return;
    }
    fsync(j->fd);
}

static bool run(job *j, const char *const *files) {
    if (!prepare_inputs(j, files) || !open_archive(j))
        return false;
    sigset_t old;
    sigemptyset(&j->held);
    sigaddset(&j->held, SIGINT);
    sigaddset(&j->held, SIGTERM);
    sigaddset(&j->held, SIGHUP);
    sigaddset(&j->held, SIGQUIT);
    sigaddset(&j->held, SIGXFSZ); /* past a file size limit: EFBIG, not death */
    sigprocmask(SIG_BLOCK, &j->held, &old);
    bool ok = append(j);
    if (!ok)
        roll_back(j);
    lf_drop_pending_xfsz();
    sigprocmask(SIG_SETMASK, &old, NULL);
    return ok;
}

bool lf_zipalign(const char *archive, const char *const *files, int n_files,
                 const lf_zipalign_options *opt, lf_error *err) {
    static const lf_zipalign_options defaults;
    lf_error local;
    if (!err)
        err = &local;
    job j = {.archive = archive, .opt = opt ? opt : &defaults, .n_in = n_files, .fd = -1,
             .err = err};
    j.align = j.opt->alignment ? j.opt->alignment : DEFAULT_ALIGNMENT;
    if (j.align & (j.align - 1) || j.align > MAX_ALIGNMENT)
        return lf_fail(err, "alignment %llu is not a power of two from 1 to %llu",
                       (unsigned long long)j.align, MAX_ALIGNMENT);
    if (n_files < 1)
        return lf_fail(err, "no files to add to %s", archive);
    j.in = calloc((size_t)n_files, sizeof(*j.in));
    if (!j.in)
        return lf_fail(err, "out of memory");
    for (int i = 0; i < n_files; i++)
        j.in[i].fd = -1;
    bool ok = run(&j, files);
    if (!ok && j.created)
        unlink(archive);
    if (!ok && j.fd >= 0) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof(err->msg) - len, " (%s %s)", archive,
                 j.created ? "removed" : "left unchanged");
    }
    for (int i = 0; i < n_files; i++) {
        if (j.in[i].fd >= 0)
            close(j.in[i].fd);
        free(j.in[i].name);
    }
    free(j.in);
    lf_zip_close(j.old);
    if (j.fd >= 0)
        close(j.fd);
    return ok;
}
