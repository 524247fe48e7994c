/* fuzz_toolcall.c — libFuzzer target: random text through every tool-call
 * family. The first byte picks the family, the second the stream's chunk
 * size; the rest is the model's output. What must hold: no crash; every
 * call has a name and arguments that are a JSON object; the OpenAI JSON of
 * the message parses; and the stream's deltas, pushed in chunks, add up to
 * the one-shot parse (same content, reasoning, calls and ids); in eager
 * mode they stay in order and in bounds and the result is the parse. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static void cat(char **s, size_t *n, const char *p, size_t len) {
    char *q = realloc(*s, *n + len + 1);
    if (!q)
        abort();
    *s = q;
    memcpy(*s + *n, p, len);
    *n += len;
    (*s)[*n] = 0;
}

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* Eager mode (lf_toolcall_stream_set_eager) on the same text: on text
 * that is not well-formed what was sent may differ from the final parse,
 * but the deltas stay in order (a call's arguments after its CALL, calls
 * numbered from 0) and within the text, and the result is the parse. */
static void eager(lf_toolcall_format f, const char *text, size_t n, size_t chunk,
                  const lf_oai_message *m) {
    lf_error err = {{0}};
    uint64_t seed = 5;
    lf_toolcall_stream *s = lf_toolcall_stream_new(f, &seed, &err);
    if (!s)
        abort();
    lf_toolcall_stream_set_eager(s, true);
    size_t calls = 0;
    for (size_t at = 0;;) {
        size_t take = at + chunk > n ? n - at : chunk;
        bool end = at + take == n;
        const lf_toolcall_delta *d;
        int64_t k = lf_toolcall_stream_push(s, text + at, take, end, &d, &err);
        if (k < 0)
            abort();
        for (int64_t i = 0; i < k; i++) {
            if (d[i].kind == LF_TOOLCALL_DELTA_CALL) {
                if (d[i].index != calls++ || !d[i].name[0])
                    abort();
            } else if (d[i].kind == LF_TOOLCALL_DELTA_ARGS && d[i].index + 1 != calls) {
                abort();
            }
            if (d[i].kind != LF_TOOLCALL_DELTA_CALL) {
                volatile char sink = 0; /* touch every byte (ASan) */
                for (size_t b = 0; b < d[i].len; b++)
                    sink ^= d[i].text[b];
                (void)sink;
            }
        }
        at += take;
        if (end)
            break;
    }
    lf_oai_message r;
    if (!lf_toolcall_stream_result(s, &r, &err) || r.n_tool_calls != m->n_tool_calls ||
        calls < m->n_tool_calls || !same(r.content, m->content))
        abort();
    for (size_t i = 0; i < r.n_tool_calls; i++)
        if (strcmp(r.tool_calls[i].id, m->tool_calls[i].id) ||
            strcmp(r.tool_calls[i].arguments, m->tool_calls[i].arguments))
            abort();
    lf_oai_message_free(&r);
    lf_toolcall_stream_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    lf_toolcall_format f = (lf_toolcall_format)(data[0] % LF_TOOLCALL_N_FORMATS);
    size_t chunk = data[1] % 16 + 1;
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    lf_error err = {{0}};
    uint64_t rng = 5, seed = 5;
    lf_oai_message m;
    if (!lf_toolcall_parse(f, text, n, &rng, &m, &err))
        abort();
    for (size_t i = 0; i < m.n_tool_calls; i++) {
        json_error_t je;
        json_t *v = json_loads(m.tool_calls[i].arguments, 0, &je);
        if (!m.tool_calls[i].name[0] || !v || !json_is_object(v))
            abort();
        json_decref(v);
    }
    char *j = lf_toolcall_to_openai_json(&m, NULL, &err);
    json_error_t je;
    json_t *v = j ? json_loads(j, 0, &je) : NULL;
    if (!v)
        abort();
    json_decref(v);
    free(j);

    lf_toolcall_stream *s = lf_toolcall_stream_new(f, &seed, &err);
    if (!s)
        abort();
    char *content = NULL, *reasoning = NULL, *args = NULL;
    size_t nc = 0, nr = 0, na = 0, calls = 0;
    for (size_t at = 0;;) {
        size_t take = at + chunk > n ? n - at : chunk;
        bool end = at + take == n;
        const lf_toolcall_delta *d;
        int64_t k = lf_toolcall_stream_push(s, text + at, take, end, &d, &err);
        if (k < 0)
            abort();
        for (int64_t i = 0; i < k; i++) {
            if (d[i].kind == LF_TOOLCALL_DELTA_CONTENT) {
                cat(&content, &nc, d[i].text, d[i].len);
            } else if (d[i].kind == LF_TOOLCALL_DELTA_REASONING) {
                cat(&reasoning, &nr, d[i].text, d[i].len);
            } else if (d[i].kind == LF_TOOLCALL_DELTA_CALL) {
                if (d[i].index != calls || calls >= m.n_tool_calls ||
                    strcmp(d[i].name, m.tool_calls[calls].name) ||
                    strcmp(d[i].id, m.tool_calls[calls].id))
                    abort();
                calls++;
                na = 0;
            } else {
                if (d[i].index + 1 != calls)
                    abort();
                cat(&args, &na, d[i].text, d[i].len);
                if (strcmp(args, m.tool_calls[calls - 1].arguments))
                    abort();
            }
        }
        at += take;
        if (end)
            break;
    }
    if (calls != m.n_tool_calls || !same(content, m.content) || !same(reasoning, m.reasoning_content))
        abort();
    free(content), free(reasoning), free(args);
    lf_toolcall_stream_free(s);
    eager(f, text, n, chunk, &m);
    lf_oai_message_free(&m);
    return 0;
}
