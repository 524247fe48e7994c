/* test_stop_match.c — lf_stop_matcher: nothing that may still become a
 * stop string is emitted; the text before a stop string is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "llamafile.h"

/* Pushes each chunk (NULL-terminated list), then flushes; the outputs are
 * joined with '|' between pushes into out. Returns the stop found. */
static int run(const char *const *stops, int n_stops, const char *const *chunks, char *out) {
    lf_error err;
    lf_stop_matcher *s = lf_stop_matcher_new(stops, n_stops, &err);
    size_t len = 0;
    const char *t;
    for (int i = 0; chunks[i]; i++) {
        int64_t k = lf_stop_matcher_push(s, chunks[i], strlen(chunks[i]), &t, &err);
        memcpy(out + len, t, (size_t)k), len += (size_t)k;
        out[len++] = '|';
    }
    int64_t k = lf_stop_matcher_flush(s, &t);
    memcpy(out + len, t, (size_t)k), len += (size_t)k;
    out[len] = 0;
    int found = lf_stop_matcher_found(s);
    lf_stop_matcher_free(s);
    return found;
}

#define CASE(title, stops, chunks, want_out, want_found)                                \
    do {                                                                                \
        TEST_BEGIN(title);                                                              \
        char out[1024];                                                                 \
        const char *const st[] = stops;                                                 \
        int found = run(st, (int)(sizeof st / sizeof *st), (const char *const[])chunks, out); \
        EXPECT(strcmp(out, want_out) == 0, "got '%s', want '%s'", out, want_out);       \
        EXPECT(found == (want_found), "found %d, want %d", found, want_found);          \
        TEST_END();                                                                     \
    } while (0)

#define L(...) {__VA_ARGS__}

int main(void) {
    CASE("stop: split across pushes", L("</s>"), L("Hello <", "/", "s>", " more", NULL),
         "Hello ||||", 0);
    CASE("stop: a prefix that is no stop string is emitted later", L("</s>"),
         L("a <", "/x", " b", NULL), "a |</x| b|", -1);
    CASE("stop: a held prefix comes out at the end", L("STOP"), L("go ST", NULL), "go |ST", -1);
    CASE("stop: multi-byte stop string split inside a character", L("\xE2\x82\xAC!"),
         L("5 \xE2", "\x82", "\xAC", "!", "x", NULL), "5 |||||", 0);
    CASE("stop: multi-byte text that only starts like one", L("\xE2\x82\xAC!"),
         L("\xE2\x82", "\xAC?", NULL), "|\xE2\x82\xAC?|", -1);
    CASE("stop: one stop string a prefix of another: the first to complete wins",
         L("abc", "ab"), L("xa", "bc", NULL), "x||", 1);
    CASE("stop: the longer is held while it may still complete", L("ab", "xaby"),
         L("xa", "b", NULL), "|x|", 0);
    CASE("stop: the earliest end wins over an earlier start", L("abcd", "bc"),
         L("abc", "d", NULL), "a||", 1);
    CASE("stop: two ending at the same byte: the longer wins", L("b", "ab"), L("xab", NULL),
         "x|", 1);
    CASE("stop: at the very start", L("###"), L("###", "text", NULL), "||", 0);
    CASE("stop: no stop strings", L("x"), L("abc", NULL), "abc|", -1);
    CASE("stop: a stop string inside one push", L("END"), L("one END two", "three", NULL),
         "one ||", 0);
    CASE("stop: overlapping prefix a-a-b", L("aab"), L("a", "a", "a", "b", "c", NULL),
         "||a|||", 0);

    TEST_BEGIN("stop: an empty stop string is an error");
    lf_error err;
    const char *const bad[] = {"x", ""};
    EXPECT(!lf_stop_matcher_new(bad, 2, &err) && strstr(err.msg, "empty"), "no error");
    lf_stop_matcher *none = lf_stop_matcher_new(NULL, 0, &err);
    const char *t;
    EXPECT(none && lf_stop_matcher_push(none, "ab", 2, &t, &err) == 2 &&
               lf_stop_matcher_flush(none, &t) == 0, "no stop strings: not passed through");
    lf_stop_matcher_free(none);
    TEST_END();

    TEST_BEGIN("stop: reset starts over after a stop");
    const char *const st[] = {"#"};
    lf_stop_matcher *s = lf_stop_matcher_new(st, 1, &err);
    int64_t a = lf_stop_matcher_push(s, "a#b", 3, &t, &err);
    int64_t b = lf_stop_matcher_push(s, "cd", 2, &t, &err);
    lf_stop_matcher_reset(s);
    int64_t c = lf_stop_matcher_push(s, "cd", 2, &t, &err);
    EXPECT(a == 1 && b == 0 && c == 2 && memcmp(t, "cd", 2) == 0 &&
               lf_stop_matcher_found(s) == -1, "%lld %lld %lld", (long long)a, (long long)b,
           (long long)c);
    lf_stop_matcher_free(s);
    TEST_END();
    return test_summary();
}
