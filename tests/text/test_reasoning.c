/* test_reasoning.c — the reasoning splitter: <think> text cut at every
 * point (and byte by byte) splits the same way; what is held back is never
 * more than a possible marker; unclosed, late and nested-looking markers;
 * harmony tokens against the parser's own Chat Completions mapping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

/* The parts as "|R:..." / "|C:..." with adjacent pieces of a part joined. */
typedef struct rec {
    char s[8192];
    size_t n;
    int last;
    int calls;
    bool bad; /* an empty piece or an unknown part */
    char part[3][2048]; /* each part's text joined */
    size_t pn[3];
} rec;

static void on_part(void *ud, int part, const char *t, size_t len) {
    rec *r = ud;
    r->calls++;
    if (!len || (part != LF_PART_REASONING && part != LF_PART_CONTENT))
        r->bad = true;
    if (part != r->last && r->n + 3 < sizeof r->s) {
        memcpy(r->s + r->n, part == LF_PART_REASONING ? "|R:" : "|C:", 3);
        r->n += 3;
    }
    r->last = part;
    if (part >= 1 && part <= 2 && r->pn[part] + len < sizeof r->part[part]) {
        memcpy(r->part[part] + r->pn[part], t, len);
        r->pn[part] += len;
        r->part[part][r->pn[part]] = 0;
    }
    if (r->n + len < sizeof r->s) {
        memcpy(r->s + r->n, t, len);
        r->n += len;
    }
    r->s[r->n] = 0;
}

/* Pushes text cut at a and b (a <= b <= n), or byte by byte (a < 0). */
static bool run(int format, bool starts, const char *text, int a, int b, rec *out) {
    memset(out, 0, sizeof *out);
    lf_error err;
    lf_reasoning *r = lf_reasoning_new(NULL, format, starts, &err);
    if (!r)
        return false;
    size_t n = strlen(text);
    bool ok = true;
    if (a < 0) {
        for (size_t i = 0; ok && i < n; i++)
            ok = lf_reasoning_push(r, text + i, 1, on_part, out, &err);
    } else {
        ok = lf_reasoning_push(r, text, (size_t)a, on_part, out, &err) &&
             lf_reasoning_push(r, text + a, (size_t)(b - a), on_part, out, &err) &&
             lf_reasoning_push(r, text + b, n - (size_t)b, on_part, out, &err);
    }
    ok = ok && lf_reasoning_finish(r, on_part, out, &err);
    lf_reasoning_free(r);
    return ok && !out->bad;
}

/* Every pair of cut points and byte by byte give want. */
static void check_case(const char *name, int format, bool starts, const char *text,
                       const char *want) {
    TEST_BEGIN(name);
    rec out;
    int n = (int)strlen(text), fails = 0;
    EXPECT(run(format, starts, text, -1, -1, &out) && !strcmp(out.s, want),
           "byte by byte: got '%s', want '%s'", out.s, want);
    for (int a = 0; a <= n && fails < 3; a++)
        for (int b = a; b <= n && fails < 3; b++)
            if (!run(format, starts, text, a, b, &out) || strcmp(out.s, want)) {
                fails++;
                EXPECT(false, "cut at %d,%d: got '%s', want '%s'", a, b, out.s, want);
            }
    TEST_END();
}

static void test_think_cases(void) {
    const int T = LF_REASONING_THINK;
    check_case("think: Qwen3 answer", T, false,
               "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
               "|R:Let me think.\n|C:The answer is 4.");
    check_case("think: starts in reasoning (R1 prompt)", T, true, "Okay.\n</think>\n\nHi",
               "|R:Okay.\n|C:Hi");
    check_case("think: starts in reasoning, <think> repeated", T, true,
               "\n<think>\nhmm</think>ok", "|R:hmm|C:ok");
    check_case("think: unclosed", T, false, "<think>abc def", "|R:abc def");
    check_case("think: unclosed, cut inside the closing marker", T, false, "<think>abc</thi",
               "|R:abc</thi");
    check_case("think: starts in reasoning, never closed", T, true, "just thinking",
               "|R:just thinking");
    check_case("think: text before <think> is all content", T, false, "Sure. <think>x</think>y",
               "|C:Sure. <think>x</think>y");
    check_case("think: whitespace before <think>", T, false, " \n\n<think>x</think>y",
               "|R:x|C:y");
    check_case("think: nested-looking markers", T, false, "<think>a<think>b</think>c</think>d",
               "|R:a<think>b|C:c</think>d");
    check_case("think: near-miss markers", T, false, "<think>a</thinking>b<</think>c<think>",
               "|R:a</thinking>b<|C:c<think>");
    check_case("think: <<think> is content", T, false, "<<think>x</think>", "|C:<<think>x</think>");
    check_case("think: <thinker> is content", T, false, "<thinker>x", "|C:<thinker>x");
    check_case("think: empty reasoning", T, false, "<think></think>answer", "|C:answer");
    check_case("think: no reasoning at all", T, false, "Hello <b>world</b>",
               "|C:Hello <b>world</b>");
    check_case("think: only whitespace", T, false, "  \n", "");
    check_case("think: a cut-off opening marker", T, false, "<thin", "|C:<thin");
    check_case("think: UTF-8", T, false, "<think>é💖</think>ü", "|R:é💖|C:ü");
    check_case("none: verbatim", LF_REASONING_NONE, false, "  <think>x</think>",
               "|C:  <think>x</think>");
}

/* Text goes out with the push that brought it; only a possible marker waits. */
static void test_incremental(void) {
    TEST_BEGIN("think: only a possible marker is held back");
    lf_error err;
    lf_reasoning *r = lf_reasoning_new(NULL, LF_REASONING_THINK, false, &err);
    rec out = {0};
    EXPECT(r, "new: %s", err.msg);
    if (r) {
        lf_reasoning_push(r, "<thi", 4, on_part, &out, &err);
        EXPECT(out.n == 0, "after '<thi': '%s'", out.s);
        EXPECT(!lf_reasoning_in_reasoning(r), "in reasoning before the marker ended");
        lf_reasoning_push(r, "nk>hello", 8, on_part, &out, &err);
        EXPECT(!strcmp(out.s, "|R:hello"), "after '<think>hello': '%s'", out.s);
        EXPECT(lf_reasoning_in_reasoning(r), "not in reasoning");
        lf_reasoning_push(r, " </th", 5, on_part, &out, &err);
        EXPECT(!strcmp(out.s, "|R:hello "), "after '</th': '%s'", out.s);
        lf_reasoning_push(r, "x", 1, on_part, &out, &err);
        EXPECT(!strcmp(out.s, "|R:hello </thx"), "after 'x': '%s'", out.s);
        lf_reasoning_push(r, "</think>A", 9, on_part, &out, &err);
        EXPECT(!strcmp(out.s, "|R:hello </thx|C:A"), "after the answer: '%s'", out.s);
        EXPECT(!lf_reasoning_in_reasoning(r), "still in reasoning");
        int calls = out.calls;
        lf_reasoning_finish(r, on_part, &out, &err);
        EXPECT(out.calls == calls, "finish emitted more");
        /* reset: a new answer, starting inside reasoning */
        EXPECT(lf_reasoning_reset(r, true, &err), "reset: %s", err.msg);
        memset(&out, 0, sizeof out);
        lf_reasoning_push(r, "x</think>y", 10, on_part, &out, &err);
        EXPECT(!strcmp(out.s, "|R:x|C:y"), "after reset: '%s'", out.s);
    }
    lf_reasoning_free(r);
    TEST_END();
}

static void test_helpers(void) {
    TEST_BEGIN("prompt_opens: the template opened <think>");
    const char *r1 = "<｜User｜>hi<｜Assistant｜><think>\n";
    const char *qwen_off = "<|im_start|>assistant\n<think>\n\n</think>\n\n";
    EXPECT(lf_reasoning_prompt_opens(r1, strlen(r1)), "R1 prompt");
    EXPECT(lf_reasoning_prompt_opens("<think>", 7), "bare marker");
    EXPECT(!lf_reasoning_prompt_opens(qwen_off, strlen(qwen_off)), "Qwen3 thinking off");
    EXPECT(!lf_reasoning_prompt_opens("", 0), "empty");
    EXPECT(!lf_reasoning_prompt_opens("<|im_start|>assistant\n", 22), "ChatML");
    TEST_END();

    TEST_BEGIN("split: whole texts");
    char *rs, *cs;
    lf_error err;
    bool ok = lf_reasoning_split(LF_REASONING_THINK, false, "<think>r</think>c", 17, &rs, &cs,
                                 &err);
    EXPECT(ok && !strcmp(rs, "r") && !strcmp(cs, "c"), "got %d '%s' '%s'", ok, ok ? rs : "",
           ok ? cs : "");
    if (ok)
        free(rs), free(cs);
    ok = lf_reasoning_split(LF_REASONING_THINK, false, "plain", 5, &rs, &cs, &err);
    EXPECT(ok && !strcmp(rs, "") && !strcmp(cs, "plain"), "no reasoning");
    if (ok)
        free(rs), free(cs);
    EXPECT(!lf_reasoning_split(LF_REASONING_HARMONY, false, "x", 1, &rs, &cs, &err),
           "harmony text accepted");
    EXPECT(!lf_reasoning_new(NULL, 7, false, &err) && strstr(err.msg, "format"),
           "format 7: %s", err.msg);
    EXPECT(lf_reasoning_format_name(LF_REASONING_HARMONY) &&
               !strcmp(lf_reasoning_format_name(LF_REASONING_HARMONY), "harmony"),
           "name");
    TEST_END();
}

static void test_format_for(const char *shared) {
    char path[1024];
    const char *names[] = {"Qwen-Qwen3-0.6B", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
                           "meta-llama-Llama-3.1-8B-Instruct"};
    int want[] = {LF_REASONING_THINK, LF_REASONING_THINK, LF_REASONING_NONE};
    for (int i = 0; i < 3; i++) {
        char title[200];
        snprintf(title, sizeof title, "format_for_template: %s", names[i]);
        snprintf(path, sizeof path, "%s/templates/%s.jinja", shared, names[i]);
        size_t n;
        char *t = test_slurp(path, &n);
        if (!t) {
            SKIP(title, "template missing");
            continue;
        }
        TEST_BEGIN(title);
        int f = lf_reasoning_format_for_template(t, n);
        EXPECT(f == want[i], "got %d, want %d", f, want[i]);
        TEST_END();
        free(t);
    }
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", shared);
    lf_error err;
    lf_model *m = lf_model_load_vocab(path, &err);
    if (!m) {
        SKIP("format_for: stories260K", "%s", err.msg);
        return;
    }
    TEST_BEGIN("format_for: a model without a template");
    EXPECT(lf_reasoning_format_for(m) == LF_REASONING_NONE, "not none");
    EXPECT(!lf_reasoning_new(m, LF_REASONING_HARMONY, false, &err), "harmony without its vocab");
    TEST_END();
    lf_model_free(m);
}

/* ------------------------------------------------------------- harmony */

static int push_tokens(lf_reasoning *r, const int32_t *t, int64_t n, rec *out) {
    lf_error err;
    int failed = 0;
    for (int64_t i = 0; i < n; i++)
        failed += !lf_reasoning_push_token(r, t[i], on_part, out, &err);
    failed += !lf_reasoning_finish(r, on_part, out, &err);
    return failed;
}

static void harmony_case(lf_model *m, lf_harmony *h, const char *name, const char *text,
                         const char *want) {
    TEST_BEGIN(name);
    int32_t t[1024];
    int64_t n = lf_tokenize(m, text, strlen(text), t, 1024, false, true);
    lf_error err;
    lf_reasoning *r = lf_reasoning_new(m, LF_REASONING_HARMONY, false, &err);
    EXPECT(r && n > 0, "new: %s", err.msg);
    if (r && n > 0) {
        rec out = {0};
        EXPECT(!push_tokens(r, t, n, &out), "a push failed");
        EXPECT(!strcmp(out.s, want), "got '%s', want '%s'", out.s, want);
        EXPECT(!out.bad, "an empty piece");
        /* The parser's own mapping agrees on the joined parts. */
        lf_harmony_msg *msgs;
        size_t nm;
        lf_oai_message o;
        uint64_t seed = 1;
        if (lf_harmony_parse_completion(h, t, (size_t)n, LF_HARMONY_ROLE_ASSISTANT, false, &msgs,
                                        &nm, &err) &&
            lf_harmony_to_openai(msgs, nm, "stop", &seed, &o, &err)) {
            const char *rc = o.reasoning_content ? o.reasoning_content : "";
            const char *cc = o.content ? o.content : "";
            EXPECT(!strcmp(rc, out.part[1]) && !strcmp(cc, out.part[2]),
                   "to_openai: '%s' '%s', streamed '%s' '%s'", rc, cc, out.part[1], out.part[2]);
            lf_oai_message_free(&o);
            lf_harmony_msgs_free(msgs, nm);
        } else {
            EXPECT(false, "parse: %s", err.msg);
        }
        EXPECT(!lf_reasoning_push(r, "x", 1, on_part, &out, &err), "text accepted");
    }
    lf_reasoning_free(r);
    TEST_END();
}

static void test_harmony(const char *shared) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-oss.gguf", shared);
    lf_error err;
    lf_model *m = lf_model_load_vocab(path, &err);
    lf_harmony *h = m ? lf_harmony_new(m, &err) : NULL;
    if (!h) {
        SKIP("harmony", "%s", err.msg);
        lf_model_free(m);
        return;
    }
    TEST_BEGIN("format_for: gpt-oss vocab is harmony");
    EXPECT(lf_reasoning_format_for(m) == LF_REASONING_HARMONY, "not harmony");
    TEST_END();
    harmony_case(m, h, "harmony: analysis then final",
                 "<|channel|>analysis<|message|>Let me think.<|end|>"
                 "<|start|>assistant<|channel|>final<|message|>The answer: 4.<|return|>",
                 "|R:Let me think.|C:The answer: 4.");
    harmony_case(m, h, "harmony: two analysis messages, a preamble, a tool call",
                 "<|channel|>analysis<|message|>First.<|end|>"
                 "<|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>"
                 "<|start|>assistant<|channel|>analysis<|message|>Second.<|end|>"
                 "<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json"
                 "<|message|>{\"a\":1}<|call|>",
                 "|R:First.|C:Checking.|R:\nSecond.");
    harmony_case(m, h, "harmony: final only, cut by EOS", "<|channel|>final<|message|>Hi 💖 there",
                 "|C:Hi 💖 there");

    TEST_BEGIN("harmony: in_reasoning follows the channel");
    lf_reasoning *r = lf_reasoning_new(m, LF_REASONING_HARMONY, false, &err);
    const char *s = "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>final"
                    "<|message|>b";
    int32_t t[64];
    int64_t n = lf_tokenize(m, s, strlen(s), t, 64, false, true);
    rec out = {0};
    bool seen_in = false, in_at_end = true;
    for (int64_t i = 0; r && i < n; i++) {
        lf_reasoning_push_token(r, t[i], on_part, &out, &err);
        seen_in |= lf_reasoning_in_reasoning(r);
        in_at_end = lf_reasoning_in_reasoning(r);
    }
    EXPECT(seen_in && !in_at_end, "in reasoning: seen %d, at the end %d", seen_in, in_at_end);
    lf_reasoning_free(r);
    TEST_END();

    TEST_BEGIN("think tokens through the detokenizer");
    r = lf_reasoning_new(m, LF_REASONING_THINK, false, &err);
    s = "<think>Hmm, 💖.</think>\n\nYes.";
    n = lf_tokenize(m, s, strlen(s), t, 64, false, false);
    memset(&out, 0, sizeof out);
    EXPECT(r && n > 0 && !push_tokens(r, t, n, &out), "push failed");
    EXPECT(!strcmp(out.s, "|R:Hmm, 💖.|C:Yes."), "got '%s'", out.s);
    lf_reasoning_free(r);
    TEST_END();

    lf_harmony_free(h);
    lf_model_free(m);
}

int main(void) {
    const char *shared = getenv("SHARED");
    if (!shared || !*shared)
        shared = "../shared";
    test_think_cases();
    test_incremental();
    test_helpers();
    test_format_for(shared);
    test_harmony(shared);
    return test_summary();
}
