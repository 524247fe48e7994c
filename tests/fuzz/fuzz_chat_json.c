/* fuzz_chat_json.c — libFuzzer target: the chat message parser on any
 * bytes. What must hold: it accepts or refuses with a one-line message;
 * what it accepts has a consistent C view, and its JSON read back gives
 * the same messages (and adding each viewed message from C succeeds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static int same(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_error err;
    err.msg[0] = 0;
    lf_chat_messages *ms = lf_chat_messages_from_json((const char *)data, size, &err);
    if (!ms) {
        if (!err.msg[0] || strchr(err.msg, '\n'))
            abort();
        return 0;
    }
    size_t n = lf_chat_messages_count(ms), len;
    char *json = lf_chat_messages_to_json(ms, &len, &err);
    lf_chat_messages *back = json ? lf_chat_messages_from_json(json, len, &err) : NULL;
    lf_chat_messages *copy = lf_chat_messages_new(&err);
    if (!back || !copy || lf_chat_messages_count(back) != n)
        abort();
    for (size_t i = 0; i < n; i++) {
        const lf_chat_message *a = lf_chat_messages_at(ms, i), *b = lf_chat_messages_at(back, i);
        if (!a || !b || !same(a->role, b->role) || !same(a->content, b->content) ||
            a->n_parts != b->n_parts || a->n_tool_calls != b->n_tool_calls ||
            !same(a->name, b->name) || !same(a->tool_call_id, b->tool_call_id) ||
            !same(a->reasoning_content, b->reasoning_content))
            abort();
        for (size_t j = 0; j < a->n_parts; j++)
            if (!same(a->parts[j].type, b->parts[j].type) || !same(a->parts[j].text, b->parts[j].text))
                abort();
        for (size_t j = 0; j < a->n_tool_calls; j++)
            if (!same(a->tool_calls[j].name, b->tool_calls[j].name) ||
                !same(a->tool_calls[j].arguments, b->tool_calls[j].arguments))
                abort();
        /* The view is a valid C message (names of parts that are not text
         * are kept, their other keys are not). */
        if (!lf_chat_messages_add(copy, a, &err))
            abort();
    }
    if (lf_chat_messages_count(copy) != n || lf_chat_messages_at(ms, n))
        abort();
    lf_chat_messages_free(copy);
    lf_chat_messages_free(back);
    lf_chat_messages_free(ms);
    free(json);
    return 0;
}
