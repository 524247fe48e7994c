/* fuzz_gbnf.c — libFuzzer target: the input up to its first NUL byte is a
 * GBNF grammar, the rest text fed to it byte by byte. What must hold: no
 * crash, hang or leak; a grammar either parses or fails with a "gbnf:"
 * message; text accepted in pieces is accepted whole by lf_grammar_check,
 * with the same answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t glen = nul ? (size_t)(nul - data) : size;
    char *gbnf = malloc(glen + 1);
    if (!gbnf)
        return 0;
    memcpy(gbnf, data, glen);
    gbnf[glen] = 0;
    const char *text = nul ? (const char *)nul + 1 : "";
    size_t tlen = nul ? size - glen - 1 : 0;
    lf_error err;
    lf_grammar *g = lf_grammar_new(NULL, gbnf, NULL, &err);
    if (!g) {
        if (strncmp(err.msg, "gbnf:", 5))
            __builtin_trap();
        free(gbnf);
        return 0;
    }
    size_t ok = 0; /* bytes accepted one at a time */
    while (ok < tlen && lf_grammar_accept_text(g, text + ok, 1))
        ok++;
    int whole = lf_grammar_check(gbnf, NULL, text, ok, &err);
    int want = lf_grammar_is_complete(g) ? LF_GRAMMAR_COMPLETE : LF_GRAMMAR_PREFIX;
    if (whole >= 0 && whole != want)
        __builtin_trap();
    lf_grammar_reset(g);
    if (ok && !lf_grammar_accept_text(g, text, ok) && whole >= 0)
        __builtin_trap();
    lf_grammar_free(g);
    free(gbnf);
    return 0;
}
