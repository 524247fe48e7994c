/* sse.c — server-sent events: "data: JSON" records appended to a stream's
 * buffer, which http.c hands to the client as it fills. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

bool srv_sse_raw(srv_stream *st, const char *s, size_t n) {
    if (st->len + n > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + n)
            cap *= 2;
        char *p = realloc(st->out, cap);
        if (!p)
            return false;
        st->out = p, st->cap = cap;
    }
    memcpy(st->out + st->len, s, n);
    st->len += n;
    return true;
}

bool srv_sse_json(srv_stream *st, json_t *j) {
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    bool ok = s && srv_sse_raw(st, "data: ", 6) && srv_sse_raw(st, s, strlen(s)) &&
              srv_sse_raw(st, "\n\n", 2);
    free(s);
    return ok;
}
