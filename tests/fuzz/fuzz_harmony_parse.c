/* fuzz_harmony_parse.c — libFuzzer target: random token streams through
 * the harmony streaming parser (gpt-oss vocab from $SHARED/vocab). The
 * first byte picks strict/lenient and the starting role; then each 3 bytes
 * are a token: mostly harmony's special tokens and header words (so real
 * structure appears), else any id, including negative and out-of-range
 * ones. What must hold: no crash, events in order, deltas valid UTF-8 that
 * add up to each message's text, the batch wrapper agreeing with the
 * stream, and the Chat Completions mapping of the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"
#include "text/utf8.h"

static lf_model *g_m;
static lf_harmony *g_h;
static int32_t g_table[64];
static int g_nt;

static void add_table(const char *text, bool special) {
    int32_t t[16];
    int64_t n = lf_tokenize(g_m, text, strlen(text), t, 16, false, special);
    for (int64_t i = 0; i < n && g_nt < 64; i++)
        g_table[g_nt++] = t[i];
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *shared = getenv("SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf",
             shared && *shared ? shared : "../shared");
    lf_error err;
    if (!(g_m = lf_model_load_vocab(path, &err)) || !(g_h = lf_harmony_new(g_m, &err))) {
        fprintf(stderr, "fuzz_harmony_parse: %s: %s\n", path, err.msg);
        exit(1);
    }
    add_table("<|start|><|message|><|end|><|call|><|return|><|channel|><|constrain|>"
              "<|endoftext|><|reserved_200013|>",
              true);
    add_table("assistant", false);
    add_table("analysis", false);
    add_table("final", false);
    add_table("commentary", false);
    add_table(" to=functions.get_weather", false);
    add_table(" to=", false);
    add_table(" json", false);
    add_table("browser.search", false);
    add_table("Hello 💖 world", false);
    int32_t extra[] = {9552, 132990, -1, lf_model_n_vocab(g_m), 0};
    for (size_t i = 0; i < sizeof extra / sizeof *extra && g_nt < 64; i++)
        g_table[g_nt++] = extra[i];
    return 0;
}

enum { MAX_TOKENS = 4096 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    bool strict = data[0] & 1;
    int role = (int)((data[0] >> 1) % 6) - 1; /* -1 .. TOOL */
    int32_t toks[MAX_TOKENS];
    int n = 0, nv = lf_model_n_vocab(g_m);
    for (size_t i = 1; i + 3 <= size && n < MAX_TOKENS; i += 3) {
        if (data[i] < 160)
            toks[n++] = g_table[data[i + 1] % g_nt];
        else
            toks[n++] = (int32_t)((((uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 |
                                    data[i + 2]) % (uint32_t)(nv + 64))) - 32;
    }

    lf_error err;
    lf_harmony_parser *p = lf_harmony_parser_new(g_h, role, strict, &err);
    if (!p)
        abort();
    static char text[1 << 20];
    size_t len = 0;
    int done = 0;
    bool open = false;
    for (int i = 0; i <= n; i++) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        int k = i < n ? lf_harmony_parser_push(p, toks[i], ev, &err)
                      : lf_harmony_parser_eos(p, ev, &err);
        if (k < -1 || k > LF_HARMONY_MAX_EVENTS)
            abort();
        if (k == -1) {
            if (!strict && i == n)
                abort(); /* lenient EOS never fails */
            if (open && lf_harmony_parser_state(p) != LF_HARMONY_PS_CONTENT)
                abort(); /* only header errors (and bad ids) exist */
            continue;
        }
        int last = 0;
        for (int j = 0; j < k; j++) {
            if (ev[j].type <= last)
                abort(); /* HEADER, DELTA, DONE in that order, once each */
            last = ev[j].type;
            if (ev[j].type == LF_HARMONY_EV_HEADER) {
                len = 0;
                open = true;
            } else if (ev[j].type == LF_HARMONY_EV_DELTA) {
                if (!open || !ev[j].len || !lf_utf8_valid(ev[j].text, ev[j].len))
                    abort();
                if (len + ev[j].len > sizeof text)
                    abort();
                memcpy(text + len, ev[j].text, ev[j].len);
                len += ev[j].len;
            } else {
                const lf_harmony_msg *m = ev[j].msg;
                if (!open || m->text_len != len || memcmp(m->text, text, len) ||
                    m->text[len] != 0)
                    abort();
                open = false;
                done++;
            }
        }
        const lf_harmony_msg *cur = lf_harmony_parser_current(p);
        if (open != (cur != NULL))
            abort();
        if (cur && (cur->text_len != len || memcmp(cur->text, text, len)))
            abort();
    }
    lf_harmony_parser_free(p);

    lf_harmony_msg *msgs;
    size_t nm;
    if (lf_harmony_parse_completion(g_h, toks, (size_t)n, role, strict, &msgs, &nm, &err)) {
        if ((int)nm != done)
            abort(); /* the wrapper stops at nothing that the stream survived */
        lf_oai_message o;
        uint64_t seed = size;
        if (lf_harmony_to_openai(msgs, nm, "stop", &seed, &o, &err)) {
            for (size_t i = 0; i < o.n_tool_calls; i++)
                if (strncmp(o.tool_calls[i].id, "call_", 5) || !o.tool_calls[i].name[0])
                    abort();
            lf_oai_message_free(&o);
        }
        lf_harmony_msgs_free(msgs, nm);
    } else if (!strict) {
        abort(); /* lenient parsing fails only for out of memory */
    }
    return 0;
}
