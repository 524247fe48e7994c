/* fuzz_harmony_render.c — libFuzzer target: the renderer's JSON input.
 * The bytes after the first are an OpenAI request (messages, tools,
 * reasoning_effort) for lf_harmony_from_openai; what it accepts is
 * rendered, as text and as gpt-oss tokens, in the mode and dropping rule
 * the first byte picks. Checks: no crash, no leak, and the tokens decode
 * to the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static lf_model *g_model;
static lf_harmony *g_h;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *shared = getenv("SHARED");
    if (!shared || !*shared)
        shared = "../shared";
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf", shared);
    lf_error err;
    g_model = lf_model_load_vocab(path, &err);
    g_h = g_model ? lf_harmony_new(g_model, &err) : NULL;
    if (!g_h) {
        fprintf(stderr, "fuzz_harmony_render: %s: %s\n", path, err.msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    lf_harmony_system sys;
    lf_harmony_system_init(&sys);
    if (sel & 0x10)
        sys.conversation_start_date = "2025-06-28";
    lf_harmony_namespace builtins[2] = {*lf_harmony_browser_tool(), *lf_harmony_python_tool()};
    if (sel & 0x20)
        sys.tools = builtins, sys.n_tools = 2;
    lf_error err;
    lf_harmony_convo *c = lf_harmony_from_openai((const char *)data + 1, size - 1, &sys, &err);
    if (!c)
        return 0;
    lf_harmony_render_opts o = {(enum lf_harmony_mode)(sel % 3), LF_HARMONY_ROLE_ASSISTANT,
                                (enum lf_harmony_drop)((sel >> 2) % 3)};
    lf_harmony_tokens t = {0};
    char *text = NULL;
    size_t len = 0;
    if (lf_harmony_render(g_h, c, &o, &t, &text, &len, &err)) {
        size_t dlen = 0;
        char *dec = lf_harmony_decode(g_h, t.v, t.n, &dlen, &err);
        if (!dec || dlen != len || memcmp(dec, text, len) != 0) {
            fprintf(stderr, "tokens do not decode to the rendered text\n");
            abort();
        }
        free(dec);
        free(text);
    }
    lf_harmony_tokens_free(&t);
    lf_harmony_convo_free(c);
    return 0;
}
