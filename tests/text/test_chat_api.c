/* test_chat_api.c — the public chat API: messages from JSON (and their
 * errors) and from C, the render context (tools none, kwargs override),
 * raise_exception, the ChatML fallback, the tool_use variant, bos/eos from
 * a model's vocabulary, and the per-model cache. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "llamafile.h"

static lf_chat_messages *from_json(const char *json, lf_error *err) {
    return lf_chat_messages_from_json(json, strlen(json), err);
}

static void test_from_json(void) {
    TEST_BEGIN("chat messages from JSON");
    const char *json =
        "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},{\"type\":\"text\",\"text\":\"b\"}]},"
        "{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"hmm\","
        "\"tool_calls\":[{\"id\":\"call00001\",\"type\":\"function\",\"function\":"
        "{\"name\":\"get_time\",\"arguments\":{\"timezone\":\"UTC\",\"n\":1}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": 2}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call00001\",\"name\":\"get_time\",\"content\":\"12:00\","
        "\"thinking\":\"kept\"}]";
    lf_error err = {{0}};
    lf_chat_messages *ms = from_json(json, &err);
    EXPECT(ms, "%s", err.msg);
    if (ms) {
        EXPECT(lf_chat_messages_count(ms) == 4, "count %zu", lf_chat_messages_count(ms));
        const lf_chat_message *m = lf_chat_messages_at(ms, 0);
        EXPECT(!strcmp(m->role, "system") && !strcmp(m->content, "Be brief.") && !m->n_parts,
               "system message");
        m = lf_chat_messages_at(ms, 1);
        EXPECT(!m->content && m->n_parts == 3 && !strcmp(m->parts[0].text, "a") &&
                   !strcmp(m->parts[1].type, "image_url") && !m->parts[1].text &&
                   !strcmp(m->parts[2].text, "b"),
               "parts");
        m = lf_chat_messages_at(ms, 2);
        EXPECT(!m->content && !strcmp(m->reasoning_content, "hmm") && m->n_tool_calls == 2,
               "assistant");
        if (m->n_tool_calls == 2) {
            EXPECT(!strcmp(m->tool_calls[0].id, "call00001") &&
                       !strcmp(m->tool_calls[0].name, "get_time") &&
                       m->tool_calls[0].arguments_object &&
                       !strcmp(m->tool_calls[0].arguments, "{\"timezone\":\"UTC\",\"n\":1}"),
                   "call 0: %s", m->tool_calls[0].arguments);
            EXPECT(!m->tool_calls[1].id && !m->tool_calls[1].arguments_object &&
                       !strcmp(m->tool_calls[1].arguments, "{\"a\": 2}"),
                   "call 1");
        }
        m = lf_chat_messages_at(ms, 3);
        EXPECT(!strcmp(m->tool_call_id, "call00001") && !strcmp(m->name, "get_time"), "tool");
        EXPECT(!lf_chat_messages_at(ms, 4), "out of range");
        /* Every key is kept, in order, for the template. */
        size_t n;
        char *back = lf_chat_messages_to_json(ms, &n, &err);
        EXPECT(back && strstr(back, "\"content\":\"12:00\",\"thinking\":\"kept\"}]"), "%s", back);
        free(back);
    }
    lf_chat_messages_free(ms);
    TEST_END();
}

static void test_json_errors(void) {
    TEST_BEGIN("chat messages: bad JSON names the place");
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"[{\"role\":\"user\",", "messages: invalid JSON at line 1"},
        {"{\"role\":\"user\"}", "messages: expected an array"},
        {"[1]", "messages[0]: expected an object"},
        {"[{\"role\":\"user\",\"content\":\"x\"},{\"content\":\"y\"}]", "messages[1].role: missing"},
        {"[{\"role\":7}]", "messages[0].role: expected a string"},
        {"[{\"role\":\"user\",\"content\":5}]", "messages[0].content: expected a string"},
        {"[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}]", "messages[0].content[0].type:"},
        {"[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]", "messages[0].content[0].text:"},
        {"[{\"role\":\"user\",\"name\":1}]", "messages[0].name: expected a string"},
        {"[{\"role\":\"assistant\",\"tool_calls\":{}}]", "messages[0].tool_calls: expected an array"},
        {"[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}]",
         "messages[0].tool_calls[0].function.name: missing"},
        {"[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":3}}]}]",
         "messages[0].tool_calls[0].function.arguments: expected a string or an object"},
        {"[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":4,\"function\":{\"name\":\"f\"}}]}]",
         "messages[0].tool_calls[0].id: expected a string"},
        {"[{\"role\":\"tool\",\"tool_call_id\":[]}]", "messages[0].tool_call_id: expected a string"},
        {"[{\"role\":\"assistant\",\"reasoning_content\":1}]", "messages[0].reasoning_content:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lf_error err = {{0}};
        lf_chat_messages *ms = from_json(bad[i].json, &err);
        EXPECT(!ms && !strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)) && !strchr(err.msg, '\n'),
               "%s: got '%s'", bad[i].json, err.msg);
        lf_chat_messages_free(ms);
    }
    TEST_END();
}

static void test_from_c(void) {
    TEST_BEGIN("chat messages from C");
    lf_error err = {{0}};
    lf_chat_messages *ms = lf_chat_messages_new(&err);
    lf_chat_part parts[] = {{"text", "look"}, {NULL, "here"}};
    lf_chat_tool_call calls[] = {{"call00001", "get_time", "{\"timezone\": \"UTC\"}", true},
                                 {NULL, "noop", NULL, false}};
    lf_chat_message msgs[] = {
        {.role = "user", .parts = parts, .n_parts = 2, .name = "bob"},
        {.role = "assistant", .tool_calls = calls, .n_tool_calls = 2, .reasoning_content = "r"},
        {.role = "tool", .content = "12:00", .tool_call_id = "call00001"},
    };
    for (int i = 0; i < 3; i++)
        EXPECT(lf_chat_messages_add(ms, &msgs[i], &err), "add %d: %s", i, err.msg);
    char *json = lf_chat_messages_to_json(ms, NULL, &err);
    const char *want =
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},{\"type\":\"text\","
        "\"text\":\"here\"}],\"name\":\"bob\"},{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"id\":\"call00001\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_time\",\"arguments\":{\"timezone\":\"UTC\"}}},{\"type\":\"function\",\"function\":"
        "{\"name\":\"noop\",\"arguments\":\"{}\"}}],\"reasoning_content\":\"r\"},{\"role\":\"tool\","
        "\"content\":\"12:00\",\"tool_call_id\":\"call00001\"}]";
    EXPECT(json && !strcmp(json, want), "got %s", json);
    free(json);
    const lf_chat_message *m = lf_chat_messages_at(ms, 1);
    EXPECT(m && m->n_tool_calls == 2 && !strcmp(m->tool_calls[0].arguments, "{\"timezone\":\"UTC\"}"),
           "view of a C message");
    /* A bad message is refused and leaves the list as it was. */
    lf_chat_message bad_utf8 = {.role = "user", .content = "\xff"};
    EXPECT(!lf_chat_messages_add(ms, &bad_utf8, &err) &&
               !strcmp(err.msg, "messages[3].content: not valid UTF-8"), "%s", err.msg);
    lf_chat_tool_call bad_args = {NULL, "f", "{oops", true};
    lf_chat_message bad_call = {.role = "assistant", .tool_calls = &bad_args, .n_tool_calls = 1};
    EXPECT(!lf_chat_messages_add(ms, &bad_call, &err) &&
               !strncmp(err.msg, "messages[3].tool_calls[0].function.arguments: invalid JSON", 58),
           "%s", err.msg);
    lf_chat_message no_role = {.content = "x"};
    EXPECT(!lf_chat_messages_add(ms, &no_role, &err) && !strcmp(err.msg, "messages[3].role: missing"),
           "%s", err.msg);
    EXPECT(lf_chat_messages_count(ms) == 3, "count %zu", lf_chat_messages_count(ms));
    lf_chat_messages_free(ms);
    TEST_END();
}

/* Renders text with messages_json and p; NULL on error (err set). */
static char *render(const char *text, const char *messages_json, const lf_chat_params *p,
                    bool *raised, lf_error *err) {
    lf_chat_template *t = lf_chat_template_new(text, strlen(text), "<B>", "<E>", err);
    lf_chat_messages *ms = from_json(messages_json, err);
    char *out = t && ms ? lf_chat_apply(t, ms, p, NULL, raised, err) : NULL;
    lf_chat_messages_free(ms);
    lf_chat_template_free(t);
    return out;
}

static const char k_user[] = "[{\"role\":\"user\",\"content\":\"hi\"}]";

static void test_context(void) {
    TEST_BEGIN("chat apply: the context as HF builds it, kwargs override");
    lf_error err = {{0}};
    lf_chat_params p = {.add_generation_prompt = true};
    char *out = render("{{ messages[0].content }}|{{ tools is none }}|{{ documents is none }}|"
                       "{{ add_generation_prompt }}|{{ bos_token }}|{{ eos_token }}|"
                       "{{ enable_thinking is defined }}",
                       k_user, &p, NULL, &err);
    EXPECT(out && !strcmp(out, "hi|True|True|True|<B>|<E>|False"), "got %s (%s)", out, err.msg);
    free(out);
    p = (lf_chat_params){.tools = "[{\"type\":\"function\"}]", .bos_token = "<b2>",
                         .kwargs = "{\"enable_thinking\":false,\"eos_token\":\"<e3>\","
                                   "\"add_generation_prompt\":true,\"documents\":[1]}"};
    out = render("{{ tools | length }}|{{ documents }}|{{ add_generation_prompt }}|{{ bos_token }}|"
                 "{{ eos_token }}|{{ enable_thinking }}",
                 k_user, &p, NULL, &err);
    EXPECT(out && !strcmp(out, "1|[1]|True|<b2>|<e3>|False"), "got %s (%s)", out, err.msg);
    free(out);
    p = (lf_chat_params){.tools = "{}"};
    out = render("x", k_user, &p, NULL, &err);
    EXPECT(!out && !strcmp(err.msg, "tools: expected an array or null"), "%s", err.msg);
    p = (lf_chat_params){.kwargs = "[1]"};
    out = render("x", k_user, &p, NULL, &err);
    EXPECT(!out && !strcmp(err.msg, "template variables: expected an object"), "%s", err.msg);
    TEST_END();
}

static void test_raise(void) {
    TEST_BEGIN("chat apply: raise_exception's message, exactly");
    lf_error err = {{0}};
    bool raised = false;
    char *out = render("{% if messages[0].role == 'user' %}{{ raise_exception('No users here.') }}"
                       "{% endif %}",
                       k_user, NULL, &raised, &err);
    EXPECT(!out && raised && !strcmp(err.msg, "No users here."), "raised %d: %s", raised, err.msg);
    free(out);
    raised = true;
    out = render("{{ 1 + [] }}", k_user, NULL, &raised, &err);
    EXPECT(!out && !raised && err.msg[0], "a runtime error is not raised: %s", err.msg);
    free(out);
    out = render("{% for %}", k_user, NULL, &raised, &err);
    EXPECT(!out && strstr(err.msg, "line 1"), "syntax error: %s", err.msg);
    TEST_END();
}

static char *vocab_path(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/vocab/%s", test_shared_dir(), name);
    return p;
}

static void test_fallback(void) {
    TEST_BEGIN("chat template: ChatML fallback for a model without one");
    lf_error err = {{0}};
    lf_model *m = lf_model_load_vocab(vocab_path("ggml-vocab-llama-spm.gguf"), &err);
    if (!m) {
        SKIP("chat template: ChatML fallback for a model without one", "%s", err.msg);
        return;
    }
    const lf_chat_template *t = lf_chat_template_from_model(m, NULL, &err);
    EXPECT(t && lf_chat_template_is_fallback(t), "fallback: %s", err.msg);
    EXPECT(t && !strcmp(lf_chat_template_origin(t), "fallback (ChatML)"), "origin");
    EXPECT(t && !strcmp(lf_chat_template_bos(t), "<s>") && !strcmp(lf_chat_template_eos(t), "</s>"),
           "bos/eos");
    EXPECT(!lf_chat_template_from_model(m, "tool_use", &err) &&
               strstr(err.msg, "tokenizer.chat_template.tool_use"),
           "a named variant the model lacks: %s", err.msg);
    lf_chat_messages *ms = from_json(
        "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},{\"role\":\"assistant\",\"content\":null}]",
        &err);
    lf_chat_params p = {.add_generation_prompt = true};
    const lf_chat_template *used = NULL;
    char *out = ms ? lf_chat_apply_model(m, ms, &p, NULL, NULL, &used, &err) : NULL;
    EXPECT(out && !strcmp(out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nab<|im_end|>\n"
                               "<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n"),
           "got '%s' (%s)", out, err.msg);
    EXPECT(used == t, "the cached template");
    free(out);
    lf_chat_messages_free(ms);
    lf_model_free(m);
    TEST_END();
}

/* A small SPM vocabulary with a default template and a tool_use variant. */
static bool write_variant_gguf(const char *path, lf_error *err) {
    static const char *const toks[] = {"<unk>", "<s>", "</s>", "a"};
    const int32_t types[] = {2, 3, 3, 1};
    const float scores[] = {0, 0, 0, -1};
    lf_gguf_writer *w = lf_gguf_writer_new();
    bool ok = w && lf_gguf_set_str(w, "general.architecture", "llama", err) &&
              lf_gguf_set_str(w, "tokenizer.ggml.model", "llama", err) &&
              lf_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4, err) &&
              lf_gguf_set_arr(w, "tokenizer.ggml.token_type", LF_GGUF_INT32, types, 4, err) &&
              lf_gguf_set_arr(w, "tokenizer.ggml.scores", LF_GGUF_FLOAT32, scores, 4, err) &&
              lf_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1, err) &&
              lf_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2, err) &&
              lf_gguf_set_str(w, "tokenizer.chat_template", "default {{ bos_token }}", err) &&
              lf_gguf_set_str(w, "tokenizer.chat_template.tool_use",
                              "tool_use {{ tools | length }} {{ eos_token }}", err) &&
              lf_gguf_writer_write(w, path, err);
    lf_gguf_writer_free(w);
    return ok;
}

static void test_variants(void) {
    TEST_BEGIN("chat template: the tool_use variant when tools are given");
    char path[] = "/tmp/test_chat_api_XXXXXX";
    int fd = mkstemp(path);
    lf_error err = {{0}};
    lf_model *m = NULL;
    if (fd >= 0)
        close(fd);
    EXPECT(fd >= 0 && write_variant_gguf(path, &err), "write: %s", err.msg);
    EXPECT((m = lf_model_load_vocab(path, &err)), "load: %s", err.msg);
    if (m) {
        lf_chat_messages *ms = from_json(k_user, &err);
        const char *tools[] = {NULL, "null", "[]", "[{\"type\":\"function\"}]"};
        const char *want[] = {"default <s>", "default <s>", "default <s>", "tool_use 1 </s>"};
        const char *origin[] = {"tokenizer.chat_template", "tokenizer.chat_template",
                                "tokenizer.chat_template", "tokenizer.chat_template.tool_use"};
        for (int i = 0; i < 4; i++) {
            lf_chat_params p = {.tools = tools[i]};
            const lf_chat_template *used = NULL;
            char *out = lf_chat_apply_model(m, ms, &p, NULL, NULL, &used, &err);
            EXPECT(out && !strcmp(out, want[i]), "tools %s: got '%s' (%s)", tools[i], out, err.msg);
            EXPECT(used && !lf_chat_template_is_fallback(used) &&
                       !strcmp(lf_chat_template_origin(used), origin[i]),
                   "tools %s: origin", tools[i]);
            free(out);
        }
        const lf_chat_template *a = lf_chat_template_from_model(m, "tool_use", &err);
        EXPECT(a && a == lf_chat_template_for_request(m, true, &err), "cached once");
        lf_chat_messages_free(ms);
    }
    lf_model_free(m);
    unlink(path);
    TEST_END();
}

static void test_model_tokens(void) {
    TEST_BEGIN("chat template: bos/eos from a vocab GGUF that carries a template");
    lf_error err = {{0}};
    lf_model *m = lf_model_load_vocab(vocab_path("ggml-vocab-llama-bpe.gguf"), &err);
    EXPECT(m, "%s", err.msg);
    const lf_chat_template *t = m ? lf_chat_template_from_model(m, NULL, &err) : NULL;
    EXPECT(t && !lf_chat_template_is_fallback(t) &&
               !strcmp(lf_chat_template_origin(t), "tokenizer.chat_template"),
           "the GGUF's template: %s", err.msg);
    EXPECT(t && !strcmp(lf_chat_template_bos(t), "<|begin_of_text|>") &&
               !strcmp(lf_chat_template_eos(t), "<|end_of_text|>"),
           "bos '%s' eos '%s'", t ? lf_chat_template_bos(t) : "", t ? lf_chat_template_eos(t) : "");
    lf_model_free(m);
    m = lf_model_load_vocab(vocab_path("ggml-vocab-gpt-oss.gguf"), &err);
    t = m ? lf_chat_template_from_model(m, NULL, &err) : NULL;
    EXPECT(t && !strcmp(lf_chat_template_bos(t), "<|startoftext|>") &&
               !strcmp(lf_chat_template_eos(t), "<|return|>"),
           "gpt-oss bos/eos (%s)", err.msg);
    lf_model_free(m);
    TEST_END();
}

typedef struct race {
    const lf_model *m;
    const lf_chat_messages *ms;
    const lf_chat_template *got;
    char *out;
} race;

static void *race_main(void *arg) {
    race *r = arg;
    lf_error err;
    r->got = lf_chat_template_from_model(r->m, NULL, &err);
    lf_chat_params p = {.add_generation_prompt = true, .kwargs = "{\"enable_thinking\":false}"};
    r->out = lf_chat_apply_model(r->m, r->ms, &p, NULL, NULL, NULL, &err);
    return NULL;
}

static void test_threads(void) {
    TEST_BEGIN("chat template: one parse shared by threads, rendering the same messages");
    lf_error err = {{0}};
    lf_model *m = lf_model_load_vocab(vocab_path("ggml-vocab-qwen2.gguf"), &err);
    lf_chat_messages *ms = from_json(k_user, &err);
    EXPECT(m && ms, "%s", err.msg);
    if (m && ms) {
        race r[8];
        pthread_t th[8];
        for (int i = 0; i < 8; i++) {
            r[i] = (race){m, ms, NULL, NULL};
            pthread_create(&th[i], NULL, race_main, &r[i]);
        }
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < 8; i++)
            EXPECT(r[i].got && r[i].got == r[0].got, "thread %d", i);
        const char *want = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
        for (int i = 0; i < 8; i++) {
            EXPECT(r[i].out && !strcmp(r[i].out, want), "thread %d: %s", i, r[i].out);
            free(r[i].out);
        }
    }
    lf_chat_messages_free(ms);
    lf_model_free(m);
    TEST_END();
}

int main(void) {
    test_from_json();
    test_json_errors();
    test_from_c();
    test_context();
    test_raise();
    test_fallback();
    test_variants();
    test_model_tokens();
    test_threads();
    return test_summary();
}
