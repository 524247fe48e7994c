/* error.h — filling an lf_error. */
#ifndef LF_BASE_ERROR_H
#define LF_BASE_ERROR_H

#include "llamafile.h"

/* Formats the message into err (if non-NULL) and returns false, so that
 * `return lf_fail(err, "...")` ends a failing bool function. */
bool lf_fail(lf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
