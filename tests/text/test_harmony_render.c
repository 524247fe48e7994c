/* Harmony encoding and renderer: special ids from the gpt-oss vocabulary,
 * text <-> tokens, the render fixtures of ../shared/harmony (byte-exact
 * after trimming trailing whitespace), and spec/harmony.md §5's survival
 * cases for the renderer. */
#include "../harness.h"
#include "text_util.h"

static const char *shared_dir(void) {
    const char *s = getenv("SHARED");
    return s && *s ? s : "../shared";
}

static lf_model *load_vocab(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/%s", shared_dir(), name);
    lf_error err = {{0}};
    return lf_model_load_vocab(path, &err);
}

static void test_encoding(lf_model *m) {
    lf_error err = {{0}};
    TEST_BEGIN("harmony encoding: special ids and stop tokens");
    lf_harmony *h = lf_harmony_new(m, &err);
    EXPECT(h, "lf_harmony_new: %s", err.msg);
    if (h) {
        EXPECT(lf_harmony_start(h) == 200006, "start %d", lf_harmony_start(h));
        EXPECT(lf_harmony_end(h) == 200007, "end %d", lf_harmony_end(h));
        EXPECT(lf_harmony_message(h) == 200008, "message %d", lf_harmony_message(h));
        EXPECT(lf_harmony_channel(h) == 200005, "channel %d", lf_harmony_channel(h));
        EXPECT(lf_harmony_constrain(h) == 200003, "constrain %d", lf_harmony_constrain(h));
        EXPECT(lf_harmony_return(h) == 200002, "return %d", lf_harmony_return(h));
        EXPECT(lf_harmony_call(h) == 200012, "call %d", lf_harmony_call(h));
        EXPECT(lf_harmony_token(h, LF_HARMONY_ENDOFTEXT) == 199999, "eot");
        int32_t st[3], sa[2];
        EXPECT(lf_harmony_stop_tokens(h, st) == 3 && st[0] == 200002 && st[1] == 200012 &&
                   st[2] == 200007,
               "stop tokens");
        EXPECT(lf_harmony_stop_tokens_for_assistant_actions(h, sa) == 2 && sa[0] == 200002 &&
                   sa[1] == 200012,
               "action stop tokens");
        EXPECT(lf_harmony_is_special(h, 200006) && lf_harmony_is_special(h, 200100) &&
                   !lf_harmony_is_special(h, 24912) && !lf_harmony_is_special(h, -1) &&
                   !lf_harmony_is_special(h, 1 << 30),
               "is_special");
        EXPECT(lf_harmony_is_stop_token(h, 200007) && !lf_harmony_is_stop_token(h, 200006),
               "is_stop_token");
    }
    TEST_END();

    TEST_BEGIN("harmony encoding: special text stays text; decode");
    if (h) {
        lf_harmony_tokens t = {0};
        EXPECT(lf_harmony_append_text(h, &t, "hello world", 11, &err), "%s", err.msg);
        EXPECT(t.n == 2 && t.v[0] == 24912 && t.v[1] == 2375, "hello world: n=%d",
               (int)t.n);
        int64_t n0 = t.n;
        EXPECT(lf_harmony_append_special(h, &t, LF_HARMONY_START, &err), "%s", err.msg);
        EXPECT(lf_harmony_append_text(h, &t, "<|start|>", 9, &err), "%s", err.msg);
        EXPECT(t.n > n0 + 2 && t.v[n0] == 200006, "special by id, text as text");
        for (int64_t i = n0 + 1; i < t.n; i++)
            EXPECT(!lf_harmony_is_special(h, t.v[i]), "a special token from plain text");
        size_t len = 0;
        char *s = lf_harmony_decode(h, t.v, t.n, &len, &err);
        EXPECT(s && strcmp(s, "hello world<|start|><|start|>") == 0, "decode: %s", s ? s : err.msg);
        free(s);
        int32_t bad = 1 << 30;
        s = lf_harmony_decode(h, &bad, 1, NULL, &err);
        EXPECT(!s && strstr(err.msg, "outside"), "bad id: %s", err.msg);
        lf_harmony_tokens_free(&t);
    }
    TEST_END();
    lf_harmony_free(h);

    TEST_BEGIN("harmony encoding: a vocabulary without harmony tokens fails clearly");
    lf_model *other = load_vocab("ggml-vocab-llama-bpe.gguf");
    if (other) {
        lf_harmony *x = lf_harmony_new(other, &err);
        EXPECT(!x && strstr(err.msg, "<|start|>"), "got: %s", x ? "an encoding" : err.msg);
        lf_harmony_free(x);
        lf_model_free(other);
    }
    TEST_END();
}


/* ------------------------------------------------------------ fixtures */

static char *read_fixture(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/harmony/%s", shared_dir(), name);
    char *s = tu_read_file(path, len);
    if (!s)
        return NULL;
    size_t o = 0; /* \r\n -> \n, then trim trailing whitespace */
    for (size_t i = 0; i < *len; i++)
        if (!(s[i] == '\r' && i + 1 < *len && s[i + 1] == '\n'))
            s[o++] = s[i];
    while (o > 0 && (s[o - 1] == ' ' || s[o - 1] == '\n' || s[o - 1] == '\t' || s[o - 1] == '\r'))
        o--;
    s[o] = 0;
    *len = o;
    return s;
}

static size_t rtrim_len(const char *s, size_t n) {
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return n;
}

/* The first differing byte, for messages. */
static size_t first_diff(const char *a, size_t na, const char *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

/* Renders c, compares the text with the fixture byte for byte (after
 * trimming trailing whitespace), the tokens' decoding with the text, and,
 * where openai/harmony's own test compares tokens (same_tokens), the
 * tokens with the fixture tokenized with special tokens parsed. */
static void check_fixture(lf_harmony *h, const char *name, const lf_harmony_msg *msgs, int n,
                          lf_harmony_render_opts o, bool same_tokens) {
    char title[200];
    snprintf(title, sizeof title, "harmony render fixture %s", name);
    TEST_BEGIN(title);
    size_t flen = 0;
    char *want = read_fixture(name, &flen);
    EXPECT(want, "cannot read %s", name);
    lf_harmony_convo c = {msgs, n, NULL};
    lf_harmony_tokens t = {0};
    char *text = NULL;
    size_t tlen = 0;
    lf_error err = {{0}};
    bool ok = lf_harmony_render(h, &c, &o, &t, &text, &tlen, &err);
    EXPECT(ok, "render: %s", err.msg);
    if (want && ok) {
        size_t n1 = rtrim_len(text, tlen);
        size_t d = first_diff(text, n1, want, flen);
        EXPECT(n1 == flen && d == flen, "differs at byte %zu: got \"%.60s\" want \"%.60s\"", d,
               text + d, want + (d < flen ? d : flen));
        size_t dlen = 0;
        char *dec = lf_harmony_decode(h, t.v, t.n, &dlen, &err);
        EXPECT(dec && dlen == tlen && memcmp(dec, text, tlen) == 0, "tokens decode differently");
        free(dec);
        if (same_tokens) {
            int32_t *ft = NULL;
            int64_t fn = lf_tokenize_alloc(lf_harmony_model(h), want, flen, &ft, false, true);
            EXPECT(fn == t.n && memcmp(ft, t.v, (size_t)fn * sizeof *ft) == 0,
                   "tokens differ from the fixture's (%lld vs %lld)", (long long)t.n,
                   (long long)fn);
            free(ft);
        }
    }
    free(text);
    free(want);
    lf_harmony_tokens_free(&t);
    TEST_END();
}

#define TXT(role_, s) {.role = (role_), .kind = LF_HARMONY_CONTENT_TEXT, .text = (s), .text_len = sizeof(s) - 1}
#define SYS(p) {.role = LF_HARMONY_ROLE_SYSTEM, .kind = LF_HARMONY_CONTENT_SYSTEM, .system = (p)}
#define DEV(p) {.role = LF_HARMONY_ROLE_DEVELOPER, .kind = LF_HARMONY_CONTENT_DEVELOPER, .developer = (p)}
#define U LF_HARMONY_ROLE_USER
#define A LF_HARMONY_ROLE_ASSISTANT

static const lf_harmony_render_opts COMPLETION = {LF_HARMONY_FOR_COMPLETION,
                                                  LF_HARMONY_ROLE_ASSISTANT, LF_HARMONY_DROP_NONE};
static const lf_harmony_render_opts COMPLETION_AUTO = {
    LF_HARMONY_FOR_COMPLETION, LF_HARMONY_ROLE_ASSISTANT, LF_HARMONY_DROP_AUTO};

static void test_fixtures(lf_harmony *h) {
    lf_harmony_system sys;
    lf_harmony_system_init(&sys);
    {
        lf_harmony_msg m[] = {SYS(&sys), TXT(U, "What is 2 + 2?")};
        check_fixture(h, "test_simple_convo.txt", m, 2, COMPLETION, true);
    }
    static const char *const effort_files[3][2] = {
        {"test_simple_convo_low_effort.txt", "test_simple_convo_low_effort_no_instruction.txt"},
        {"test_simple_convo_medium_effort.txt", "test_simple_convo_medium_effort_no_instruction.txt"},
        {"test_simple_convo_high_effort.txt", "test_simple_convo_high_effort_no_instruction.txt"},
    };
    for (int ef = 0; ef < 3; ef++) {
        lf_harmony_system s2;
        lf_harmony_system_init(&s2);
        s2.reasoning_effort = (enum lf_harmony_effort)ef;
        lf_harmony_developer dev = {.instructions = "Answer the user's questions like a robot."};
        lf_harmony_msg m1[] = {SYS(&s2), DEV(&dev),
                               TXT(U, "What is the capital of the largest country in the world?")};
        lf_harmony_msg m2[] = {SYS(&s2),
                               TXT(U, "What is the capital of the largest country in the world?")};
        check_fixture(h, effort_files[ef][0], m1, 3, COMPLETION, true);
        check_fixture(h, effort_files[ef][1], m2, 2, COMPLETION, true);
    }
    static const char *const two[] = {"analysis", "final"};
    {
        lf_harmony_system s2;
        lf_harmony_system_init(&s2);
        s2.channels = two, s2.n_channels = 2;
        lf_harmony_msg m[] = {SYS(&s2), TXT(U, "What is 2 + 2?")};
        check_fixture(h, "test_reasoning_system_message.txt", m, 2, COMPLETION, true);
        s2.reasoning_effort = LF_HARMONY_EFFORT_HIGH;
        lf_harmony_msg m2[] = {SYS(&s2), TXT(U, "What is the best place to eat candy in the world?")};
        check_fixture(h, "test_reasoning_system_message_no_instruction.txt", m2, 2, COMPLETION, true);
        s2.reasoning_effort = LF_HARMONY_EFFORT_MEDIUM;
        s2.conversation_start_date = "2021-01-01";
        s2.knowledge_cutoff = "2021-01";
        lf_harmony_msg m3[] = {SYS(&s2), TXT(U, "What is 42 * pi?")};
        check_fixture(h, "test_reasoning_system_message_with_dates.txt", m3, 2, COMPLETION, true);
    }
    {
        lf_harmony_system s2;
        lf_harmony_system_init(&s2);
        s2.conversation_start_date = "2025-06-28";
        lf_harmony_msg m[] = {SYS(&s2)};
        check_fixture(h, "test_no_tools.txt", m, 1, COMPLETION_AUTO, false);
        lf_harmony_namespace both[2] = {*lf_harmony_python_tool(), *lf_harmony_browser_tool()};
        s2.tools = both + 1, s2.n_tools = 1;
        check_fixture(h, "test_browser_tool_only.txt", m, 1, COMPLETION_AUTO, false);
        s2.tools = both, s2.n_tools = 2; /* python first: sorted by name anyway */
        check_fixture(h, "test_browser_and_python_tool.txt", m, 1, COMPLETION_AUTO, false);
        s2.tools = both + 1, s2.n_tools = 1;
        lf_harmony_tool fn = {
            "lookup_weather",
            "Use this tool to lookup the weather in a given location. Call it with the parameter "
            "'location', can be any textual description of a location.",
            "{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}}, "
            "\"required\": [\"location\"]}"};
        lf_harmony_namespace fns = {"functions", NULL, &fn, 1};
        lf_harmony_developer dev = {.tools = &fns, .n_tools = 1};
        lf_harmony_msg m2[] = {SYS(&s2), DEV(&dev)};
        check_fixture(h, "test_browser_and_function_tool.txt", m2, 2, COMPLETION_AUTO, false);
    }
    {
        lf_harmony_system s2;
        lf_harmony_system_init(&s2);
        s2.reasoning_effort = LF_HARMONY_EFFORT_HIGH;
        s2.conversation_start_date = "2025-06-28";
        lf_harmony_tool fns[] = {
            {"get_location", "Gets the location of the user.", NULL},
            {"get_current_weather", "Gets the current weather in the provided location.",
             "{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\","
             "\"description\":\"The city and state, e.g. San Francisco, CA\"},\"format\":{"
             "\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"],\"default\":\"celsius\"}},"
             "\"required\":[\"location\"]}"},
            {"get_multiple_weathers", "Gets the current weather in the provided list of locations.",
             "{\"type\":\"object\",\"properties\":{\"locations\":{\"type\":\"array\",\"items\":{"
             "\"type\":\"string\"},\"description\":\"List of city and state, e.g. [\\\"San "
             "Francisco, CA\\\", \\\"New York, NY\\\"]\"},\"format\":{\"type\":\"string\",\"enum\":"
             "[\"celsius\",\"fahrenheit\"],\"default\":\"celsius\"}},\"required\":[\"locations\"]}"},
            {"kitchensink", "A function with various complex schemas.",
             "{\"description\":\"params object\",\"type\":\"object\",\"properties\":{\"string\":{"
             "\"type\":\"string\",\"title\":\"STRING\",\"description\":\"A string\",\"examples\":["
             "\"hello\",\"world\"]},\"string_nullable\":{\"type\":\"string\",\"nullable\":true,"
             "\"description\":\"A nullable string\",\"default\":\"the default\"},\"string_enum\":{"
             "\"type\":\"string\",\"enum\":[\"a\",\"b\",\"c\"]},\"oneof_string_or_number\":{"
             "\"oneOf\":[{\"type\":\"string\",\"default\":\"default_string_in_oneof\"},{\"type\":"
             "\"number\",\"description\":\"numbers can happen too\"}],\"description\":\"a oneof\","
             "\"default\":20}}}"},
        };
        lf_harmony_namespace ns = {"functions", NULL, fns, 4};
        lf_harmony_developer dev = {.instructions = "Always respond in riddles", .tools = &ns,
                                    .n_tools = 1};
        lf_harmony_msg m[] = {SYS(&s2), DEV(&dev), TXT(U, "What is the weather like in SF?")};
        check_fixture(h, "test_render_functions_with_parameters.txt", m, 3, COMPLETION, false);
    }
    {
        lf_harmony_msg m[] = {
            TXT(U, "What is 2 + 2?"),
            {.role = A, .channel = "analysis", .text = "User asks: \xe2\x80\x9cWhat is 2 + 2?\xe2\x80\x9d Simple arithmetic. Provide answer.",
             .text_len = strlen("User asks: \xe2\x80\x9cWhat is 2 + 2?\xe2\x80\x9d Simple arithmetic. Provide answer.")},
            {.role = A, .channel = "final", .text = "2 + 2 equals 4.", .text_len = 15},
            TXT(U, "What about 9 / 2?"),
        };
        check_fixture(h, "test_dropping_cot_by_default.txt", m, 4, COMPLETION_AUTO, false);
        static const char pres[] = "User asks a simple question: \"What is 2 + 2?\" The answer: 4.";
        m[1].text = pres, m[1].text_len = sizeof pres - 1;
        check_fixture(h, "test_preserve_cot.txt", m, 4, COMPLETION, false);
    }
    {
        static const char an[] = "User asks: \xe2\x80\x9cWhat is the weather in SF?\xe2\x80\x9d We need to use lookup_weather tool.";
        static const char call[] = "{\"location\": \"San Francisco\"}";
        static const char res[] = "{\"temperature\": 20, \"description\": \"sunny\"}";
        lf_harmony_msg m[] = {
            TXT(U, "What is the weather in SF?"),
            {.role = A, .channel = "analysis", .text = an, .text_len = sizeof an - 1},
            {.role = A, .channel = "commentary", .recipient = "functions.lookup_weather",
             .content_type = "<|constrain|>json", .text = call, .text_len = sizeof call - 1},
            {.role = LF_HARMONY_ROLE_TOOL, .name = "functions.lookup_weather", .text = res,
             .text_len = sizeof res - 1},
        };
        check_fixture(h, "test_does_not_drop_if_ongoing_analysis.txt", m, 4, COMPLETION_AUTO, false);
    }
    {
        lf_harmony_msg m[] = {
            TXT(U, "What is 2 + 2?"),
            {.role = A, .channel = "analysis", .text = "thinking 2+2", .text_len = 12},
            {.role = A, .channel = "final", .text = "4", .text_len = 1},
            TXT(U, "What is 3 + 5?"),
            {.role = A, .channel = "analysis", .text = "thinking 3+5", .text_len = 12},
            {.role = A, .channel = "final", .text = "8", .text_len = 1},
        };
        lf_harmony_render_opts plain = {LF_HARMONY_PLAIN, 0, LF_HARMONY_DROP_AUTO};
        check_fixture(h, "test_keep_analysis_between_finals.txt", m, 6, plain, false);
    }
}


/* ------------------------------------------------------- OpenAI input */

static char *render_text(lf_harmony *h, const lf_harmony_convo *c, enum lf_harmony_drop drop,
                         lf_error *err) {
    lf_harmony_render_opts o = {LF_HARMONY_FOR_COMPLETION, LF_HARMONY_ROLE_ASSISTANT, drop};
    lf_harmony_tokens t = {0};
    char *text = NULL;
    size_t len = 0;
    bool ok = lf_harmony_render(h, c, &o, &t, &text, &len, err);
    if (ok) { /* the tokens must decode to the same text */
        char *dec = lf_harmony_decode(h, t.v, t.n, NULL, err);
        if (!dec || strcmp(dec, text) != 0) {
            free(text);
            text = NULL;
            snprintf(err->msg, sizeof err->msg, "tokens decode differently");
        }
        free(dec);
    }
    lf_harmony_tokens_free(&t);
    return ok ? text : NULL;
}

static void test_from_openai(lf_harmony *h) {
    lf_harmony_system sys;
    lf_harmony_system_init(&sys);
    sys.conversation_start_date = "2025-06-28";
    lf_error err = {{0}};

    TEST_BEGIN("harmony from OpenAI: tools, system, reasoning, tool call and result");
    static const char req[] =
        "{\"reasoning_effort\":\"high\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"description\":\"Gets the weather.\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":\"Weather in SF?\"},"
        "{\"role\":\"assistant\",\"reasoning_content\":\"Need the tool.\",\"content\":null,"
        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"SF\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"{\\\"sunny\\\":true}\"}]}";
    static const char want[] =
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\nCurrent date: 2025-06-28\n\nReasoning: high\n\n"
        "# Valid channels: analysis, commentary, final. Channel must be included for every "
        "message.\nCalls to these tools must go to the commentary channel: 'functions'.<|end|>"
        "<|start|>developer<|message|># Instructions\n\nBe brief.\n\n# Tools\n\n## functions\n\n"
        "namespace functions {\n\n// Gets the weather.\ntype get_weather = (_: {\ncity: string,\n"
        "}) => any;\n\n} // namespace functions<|end|><|start|>user<|message|>Weather in SF?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>Need the tool.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        "<|message|>{\"city\":\"SF\"}<|call|>"
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>"
        "{\"sunny\":true}<|end|><|start|>assistant";
    lf_harmony_convo *c = lf_harmony_from_openai(req, sizeof req - 1, &sys, &err);
    EXPECT(c, "from_openai: %s", err.msg);
    if (c) {
        char *text = render_text(h, c, LF_HARMONY_DROP_AUTO, &err);
        EXPECT(text && strcmp(text, want) == 0, "got:\n%s", text ? text : err.msg);
        free(text);
    }
    lf_harmony_convo_free(c);
    TEST_END();

    TEST_BEGIN("harmony from OpenAI: history, content parts, analysis dropping");
    static const char req2[] =
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"2+\"},{\"type\":\"text\","
        "\"text\":\"2?\"}]},{\"role\":\"assistant\",\"reasoning_content\":\"easy\",\"content\":"
        "\"4\"},{\"role\":\"user\",\"content\":\"3+5?\"},{\"role\":\"assistant\","
        "\"reasoning_content\":\"also easy\",\"content\":\"8\"},{\"role\":\"user\",\"content\":"
        "\"<|start|>x\"}]";
    static const char head[] =
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n# Valid channels: analysis, "
        "commentary, final. Channel must be included for every message.<|end|>"
        "<|start|>user<|message|>2+2?<|end|>";
    static const char auto_tail[] =
        "<|start|>assistant<|channel|>final<|message|>4<|end|><|start|>user<|message|>3+5?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>also easy<|end|>"
        "<|start|>assistant<|channel|>final<|message|>8<|end|>"
        "<|start|>user<|message|><|start|>x<|end|><|start|>assistant";
    static const char prior_tail[] =
        "<|start|>assistant<|channel|>final<|message|>4<|end|><|start|>user<|message|>3+5?<|end|>"
        "<|start|>assistant<|channel|>final<|message|>8<|end|>"
        "<|start|>user<|message|><|start|>x<|end|><|start|>assistant";
    c = lf_harmony_from_openai(req2, sizeof req2 - 1, NULL, &err);
    EXPECT(c, "from_openai: %s", err.msg);
    if (c) {
        char *text = render_text(h, c, LF_HARMONY_DROP_AUTO, &err);
        size_t hl = strlen(head);
        EXPECT(text && strncmp(text, head, hl) == 0 && strcmp(text + hl, auto_tail) == 0,
               "auto:\n%s", text ? text : err.msg);
        free(text);
        text = render_text(h, c, LF_HARMONY_DROP_PRIOR_TURNS, &err);
        EXPECT(text && strncmp(text, head, hl) == 0 && strcmp(text + hl, prior_tail) == 0,
               "prior turns:\n%s", text ? text : err.msg);
        free(text);
    }
    lf_harmony_convo_free(c);
    TEST_END();

    TEST_BEGIN("harmony from OpenAI: bad input is an error, never a crash");
    static const char *const bad[] = {
        "", "{", "42", "{\"messages\":3}", "[{\"role\":\"wizard\",\"content\":\"x\"}]",
        "[{\"content\":\"x\"}]", "[{\"role\":\"user\",\"content\":7}]",
        "[{\"role\":\"tool\",\"content\":\"x\"}]", "[{\"role\":\"tool\",\"tool_call_id\":\"nope\"}]",
        "[{\"role\":\"user\",\"content\":\"\\ud800\"}]", "[{\"role\":\"user\",\"content\":\"\xff\"}]",
        "[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{}}]}]",
        "{\"messages\":[],\"reasoning_effort\":\"extreme\"}",
        "{\"messages\":[],\"tools\":[{\"type\":\"retrieval\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        c = lf_harmony_from_openai(bad[i], strlen(bad[i]), NULL, &err);
        EXPECT(!c && err.msg[0], "accepted bad input %zu: %s", i, bad[i]);
        lf_harmony_convo_free(c);
    }
    /* a request nested 10,000 deep */
    size_t depth = 10000, n = 0;
    char *deep = malloc(2 * depth + 64);
    n += (size_t)sprintf(deep, "{\"messages\":[],\"x\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    c = lf_harmony_from_openai(deep, n, NULL, &err);
    EXPECT(!c, "a 10,000-deep request was accepted");
    lf_harmony_convo_free(c);
    free(deep);
    TEST_END();
}

int main(void) {
    lf_model *m = load_vocab("ggml-vocab-gpt-oss.gguf");
    if (!m) {
        SKIP("harmony", "no ../shared/vocab/ggml-vocab-gpt-oss.gguf");
        return test_summary();
    }
    test_encoding(m);
    lf_error err = {{0}};
    lf_harmony *h = lf_harmony_new(m, &err);
    if (h) {
        test_fixtures(h);
        test_from_openai(h);
    }
    lf_harmony_free(h);
    lf_model_free(m);
    return test_summary();
}
