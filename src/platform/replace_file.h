/* replace_file.h — writing an output file whole: the bytes go to a new
 * temporary file beside the real target and are renamed over it once
 * complete, so the old file stays intact until the new one is finished.
 *
 * What may be replaced: a missing path, a regular file, or a symbolic link
 * that leads to a regular file, in which case the file it leads to is
 * replaced and the link is kept (as cp writes through a link). A path that
 * exists as anything else (a directory, a FIFO, a device, a socket, a
 * dangling link) is refused before anything is created. */
#ifndef LF_PLATFORM_REPLACE_FILE_H
#define LF_PLATFORM_REPLACE_FILE_H

#include <sys/types.h>

#include "llamafile.h"

typedef struct lf_replace {
    const char *path; /* as given, for messages */
    char *target;     /* the file renamed over (path, or where its link leads) */
    char *tmp;        /* the temporary file, NULL once renamed or removed */
    int fd;           /* open on tmp for writing, or -1 */
} lf_replace;

/* Checks path and creates the temporary file (mode: the replaced file's,
 * else 0644). On failure nothing is left behind. */
bool lf_replace_begin(lf_replace *r, const char *path, lf_error *err);
/* Syncs and closes fd (unless the caller has set it to -1 after closing
 * it), then renames the temporary file over the target. On failure the
 * temporary file is removed. Frees r's memory either way. */
bool lf_replace_commit(lf_replace *r, lf_error *err);
/* Closes fd and removes the temporary file, if any; frees r's memory.
 * Harmless after a commit or a failed begin. */
void lf_replace_abort(lf_replace *r);

/* "a directory", "a FIFO", ... for messages about a file that is not a
 * regular one. */
const char *lf_file_kind(mode_t mode);

/* Discards a pending SIGXFSZ (blocked while writing): past a file size limit
 * the write already failed with EFBIG, and the signal must not then kill
 * the process. */
void lf_drop_pending_xfsz(void);

#endif
