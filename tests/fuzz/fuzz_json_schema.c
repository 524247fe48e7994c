/* fuzz_json_schema.c — libFuzzer target: the JSON Schema → GBNF converter
 * on any bytes. What must hold: it returns a grammar with a root rule, or
 * refuses with a one-line message; never a crash, hang or leak; and the
 * grammar parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    lf_error err;
    err.msg[0] = 0;
    char *g = lf_json_schema_to_gbnf(text, &err);
    free(text);
    if (!g) {
        if (!err.msg[0] || strchr(err.msg, '\n'))
            abort();
        return 0;
    }
    if (strncmp(g, "root ::= ", 9))
        abort();
    lf_grammar *gr = lf_grammar_new(NULL, g, NULL, &err);
    if (!gr)
        abort();
    lf_grammar_free(gr);
    free(g);
    return 0;
}
