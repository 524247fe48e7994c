/* fuzz_jinja.c — libFuzzer target: a Jinja template and a JSON render
 * context from one input, split at the first NUL (no NUL: an empty
 * context). What must hold: parsing and rendering never crash, hang or
 * leak; a result is NUL-terminated at its length; an error has a one-line
 * message. Small limits keep each input fast. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    lf_error err = {{0}};
    lf_jinja *t = lf_jinja_parse((const char *)data, tlen, &err);
    if (!t) {
        if (!err.msg[0] || strchr(err.msg, '\n')) abort();
        return 0;
    }
    json_t *ctx = nul ? json_loadb((const char *)nul + 1, size - tlen - 1, JSON_DECODE_ANY, NULL) : NULL;
    if (!ctx) ctx = json_object();
    lf_jinja_opts o = {.now = 1721952000, .max_output = 1 << 20, .max_steps = 100000, .max_depth = 64};
    size_t len = 0;
    bool raised = false;
    char *out = lf_jinja_render(t, ctx, &o, &len, &raised, &err);
    if (out) {
        if (out[len] != 0 || len > o.max_output) abort();
        free(out);
    } else if (!raised && (!err.msg[0] || strchr(err.msg, '\n'))) {
        abort();
    }
    json_decref(ctx);
    lf_jinja_free(t);
    return 0;
}
