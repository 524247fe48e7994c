/* zipalign — appends files to a llamafile (or any file) as stored zip
 * members whose data is aligned for mapping in place. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static const char k_usage[] =
    "usage: zipalign [-j] [-0] [-a ALIGN] [-N] [-v] ARCHIVE FILE...\n"
    "\n"
    "Appends each FILE to ARCHIVE (typically a copy of o//llamafile/llamafile;\n"
    "created if missing) as a stored (uncompressed) zip member whose data\n"
    "starts at a multiple of ALIGN, so that it can be mapped in place, and\n"
    "writes a new central directory listing the earlier members and the new\n"
    "ones. A member of the same name is replaced. ZIP64 records are written\n"
    "where sizes or offsets need them. On any failure ARCHIVE is left exactly\n"
    "as it was. The old directory stays behind as unused bytes, so add all\n"
    "files in one call.\n"
    "\n"
    "ARCHIVE and each FILE must be regular files; a symbolic link is\n"
    "followed (the file it leads to is appended to, and the link kept).\n"
    "A FIFO, directory or device is refused. An ARCHIVE with no zip at its\n"
    "end (a plain executable) gets a new one; an ARCHIVE whose zip end\n"
    "records are damaged is refused, since its members would be lost.\n"
    "\n"
    "  -j        store each FILE under its base name (default: its path,\n"
    "            less any leading ./; an absolute path, or one with a ..\n"
    "            component, is refused without -j)\n"
    "  -0        store without compression (the default and the only mode:\n"
    "            llamafile maps members in place)\n"
    "  -a ALIGN  alignment of each member's data: a power of two from 1 to\n"
    "            1073741824 (default 65536)\n"
    "  -N        give members their files' modification times (default: a\n"
    "            fixed date, 2023-11-14 22:13:20 UTC, so builds reproduce)\n"
    "  -v        print FILE -> NAME for each member\n"
    "  -h, --help  show this help\n"
    "  --version   print the version and exit\n"
    "\n"
    "Example: cp o//llamafile/llamafile m.llamafile &&\n"
    "         zipalign -j0 m.llamafile model.gguf .args\n"
    "\n"
    "Exit status: 0 on success, 1 on failure (the reason is printed on\n"
    "stderr), 2 on bad usage.\n";

static int usage_error(const char *fmt, const char *arg) {
    fputs("zipalign: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see --help)\n", stderr);
    return 2;
}

/* Flushes and closes stdout: an error writing it (a full disk) fails the
 * run instead of going unreported. */
static int finish(int rc) {
    lf_error err;
    if (lf_stdout_close(&err))
        return rc;
    fprintf(stderr, "zipalign: %s\n", err.msg);
    return 1;
}

/* A decimal power of two from 1 to 2^30, or 0. */
static uint64_t parse_alignment(const char *s) {
    uint64_t v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (1u << 30))
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v && v <= (1u << 30) && !(v & (v - 1)) ? v : 0;
}

int main(int argc, char **argv) {
    lf_zipalign_options opt = {0};
    int i = 1;
    for (int k = 1; k < argc && strcmp(argv[k], "--"); k++) {
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            fputs(k_usage, stdout);
            return finish(0);
        }
        if (!strcmp(argv[k], "--version")) {
            printf("zipalign %s\n", LF_VERSION_STRING);
            return finish(0);
        }
    }
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[1] == '-')
            return usage_error("unknown option '%s'", a);
        for (const char *f = a + 1; *f; f++) {
            if (*f == 'j') {
                opt.junk_paths = true;
            } else if (*f == '0') {
            } else if (*f == 'N') {
                opt.use_mtime = true;
            } else if (*f == 'v') {
                opt.verbose = true;
            } else if (*f == 'a') {
                const char *v = f[1] ? f + 1 : i + 1 < argc ? argv[++i] : NULL;
                if (!v)
                    return usage_error("%s: missing ALIGN", "-a");
                if (!(opt.alignment = parse_alignment(v)))
                    return usage_error("-a %s: ALIGN must be a power of two from 1 to "
                                       "1073741824", v);
                break;
            } else if (*f >= '1' && *f <= '9') {
                return usage_error("-%s: compression is not supported: llamafile maps "
                                   "members in place, so they are stored (-0)",
                                   (char[]){*f, 0});
            } else {
                return usage_error("unknown option '-%s'", (char[]){*f, 0});
            }
        }
    }
    if (argc - i < 2)
        return usage_error("%s", argc - i < 1 ? "missing ARCHIVE and FILE" : "missing FILE");
    lf_error err = {{0}};
    if (!lf_zipalign(argv[i], (const char *const *)argv + i + 1, argc - i - 1, &opt, &err)) {
        fprintf(stderr, "zipalign: %s\n", err.msg);
        return finish(1);
    }
    return finish(0);
}
