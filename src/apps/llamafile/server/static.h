/* static.h — the web page: the files embedded at build time (gzipped once,
 * with ETags), or a user's directory (--webui-dir). */
#ifndef LLAMAFILE_SERVER_STATIC_H
#define LLAMAFILE_SERVER_STATIC_H

#include <stdbool.h>

struct srv_call;

/* Replies to a GET or HEAD of a page file and returns true; false (nothing
 * replied) when the page is off (--no-webui) or the path names no file. */
bool srv_static(struct srv_call *c);

#endif
