/* test_chat_tools.c — tools rendered through the public chat API: every
 * golden case with tools (and tool calls, tool results) of the Qwen3,
 * Llama 3.1, Hermes 2 Pro / 3 and gpt-oss templates, through
 * lf_chat_messages_from_json + lf_chat_apply (tools as JSON text, the
 * case's extra variables as kwargs), byte-equal to Hugging Face's render
 * or failing as it fails. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

#define PINNED_NOW 1721952000 /* 2024-07-26T00:00:00, as the goldens */

static const char *const TEMPLATES[] = {
    "Qwen-Qwen3-0.6B",
    "meta-llama-Llama-3.1-8B-Instruct",
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use",
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use",
    "openai-gpt-oss-120b",
};

static void check_template(const char *name) {
    char tname[256];
    snprintf(tname, sizeof tname, "chat tools: %s", name);
    char path[1024];
    snprintf(path, sizeof path, "%s/templates/%s.jinja.json", test_shared_dir(), name);
    json_error_t je;
    json_t *g = json_load_file(path, 0, &je);
    if (!g) {
        SKIP(tname, "no %s", path);
        return;
    }
    TEST_BEGIN(tname);
    snprintf(path, sizeof path, "%s/templates/%s.jinja", test_shared_dir(), name);
    size_t tlen = 0;
    char *text = test_slurp(path, &tlen);
    lf_error err = {{0}};
    lf_chat_template *t =
        text ? lf_chat_template_new(text, tlen, json_string_value(json_object_get(g, "bos_token")),
                                    json_string_value(json_object_get(g, "eos_token")), &err)
             : NULL;
    EXPECT(t, "template: %s", err.msg);
    json_t *cases = json_object_get(g, "cases");
    int n_tools = 0;
    for (size_t i = 0; t && i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        json_t *tools = json_object_get(c, "tools");
        if (!json_is_array(tools))
            continue;
        n_tools++;
        const char *cname = json_string_value(json_object_get(c, "name"));
        char *msgs = json_dumps(json_object_get(c, "messages"), JSON_COMPACT);
        char *tools_text = json_dumps(tools, JSON_COMPACT);
        char *kwargs = json_dumps(json_object_get(c, "extra"), JSON_COMPACT);
        lf_chat_messages *ms = lf_chat_messages_from_json(msgs, strlen(msgs), &err);
        lf_chat_params p = {.tools = tools_text,
                            .add_generation_prompt =
                                json_is_true(json_object_get(c, "add_generation_prompt")),
                            .kwargs = kwargs,
                            .pin_now = true,
                            .now = PINNED_NOW};
        const char *want = json_string_value(json_object_get(c, "expected"));
        size_t len = 0;
        char *out = ms ? lf_chat_apply(t, ms, &p, &len, NULL, &err) : NULL;
        if (want)
            EXPECT(out && len == strlen(want) && !memcmp(out, want, len), "%s: %s", cname,
                   out ? "differs from the golden text" : err.msg);
        else
            EXPECT(!out, "%s: rendered, want an error", cname);
        free(out);
        lf_chat_messages_free(ms);
        free(msgs), free(tools_text), free(kwargs);
    }
    EXPECT(n_tools >= 5, "only %d cases with tools", n_tools);
    lf_chat_template_free(t);
    free(text);
    json_decref(g);
    TEST_END();
}

int main(void) {
    for (size_t i = 0; i < sizeof TEMPLATES / sizeof *TEMPLATES; i++)
        check_template(TEMPLATES[i]);
    return test_summary();
}
