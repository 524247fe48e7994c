/* test_args.c — the .args parser: splitting, quoting, escapes, comments,
 * environment variables, where the user's arguments go, and errors. */
#include "../harness.h"
#include "llamafile.h"

/* Each case: the .args text, the user's command line (argv[0] first,
 * separated by '|'), and the merged result joined with '|', or the error
 * message (starting with ".args:"). */
static const struct args_case {
    const char *name, *text, *user, *want;
} k_cases[] = {
    {"one per line", "-m\nmodel.gguf\n-n\n64\n", "prog", "prog|-m|model.gguf|-n|64"},
    {"several per line", "-m model.gguf  -n\t64\r\n", "prog", "prog|-m|model.gguf|-n|64"},
    {"user args at the end", "-n 64", "prog|-n|10", "prog|-n|64|-n|10"},
    {"... replaced by user args", "-n 64\n...\n--temp 0", "prog|-p|hi there",
     "prog|-n|64|-p|hi there|--temp|0"},
    {"... with no user args", "-a\n...\n-b", "prog", "prog|-a|-b"},
    {"only the first ... expands", "... -x ...", "prog|u", "prog|u|-x"},
    {"quoted ... is literal", "'...' \"...\" ...x", "prog", "prog|...|...|...x"},
    {"argv[0] kept", "-x", "/path/to/my.llamafile|y", "/path/to/my.llamafile|-x|y"},
    {"single quotes", "-p 'Once upon a time' x", "prog", "prog|-p|Once upon a time|x"},
    {"single quotes are literal", "'a\\nb $HOME \"c\"'", "prog", "prog|a\\nb $HOME \"c\""},
    {"double quotes", "-p \"Once upon a time\"", "prog", "prog|-p|Once upon a time"},
    {"double quote escapes", "\"a\\tb\\\\c\\\"d\\$e\"", "prog", "prog|a\tb\\c\"d$e"},
    {"hex and octal escapes", "\"\\x41\\x4a\\101\\0611\"", "prog", "prog|AJA11"},
    {"quotes join a word", "ab'c d'\"e f\"g", "prog", "prog|abc de fg"},
    {"empty quoted word", "'' \"\" x", "prog", "prog|||x"},
    {"backslash escapes outside quotes", "a\\ b c\\'d \\#e", "prog", "prog|a b|c'd|#e"},
    {"backslash letter escapes", "a\\tb", "prog", "prog|a\tb"},
    {"backslash-newline joins lines", "ab\\\ncd \"x\\\ny\"", "prog", "prog|abcd|xy"},
    {"comments", "# a comment\n-n 64 # trailing 'comment\n#last", "prog", "prog|-n|64"},
    {"# inside a word is literal", "a#b 'c'#d", "prog", "prog|a#b|c#d"},
    {"$VAR", "-m $LF_TEST_MODEL", "prog", "prog|-m|/models/my model.gguf"},
    {"${VAR} inside a word", "--x=${LF_TEST_N}0", "prog", "prog|--x=40"},
    {"$VAR never splits", "$LF_TEST_MODEL", "prog", "prog|/models/my model.gguf"},
    {"$VAR in double quotes", "\"n=$LF_TEST_N!\"", "prog", "prog|n=4!"},
    {"unset variable is empty", "a$LF_TEST_UNSET-b $LF_TEST_UNSET", "prog", "prog|a-b|"},
    {"lone $ is literal", "$ a$ $-x \"$\"", "prog", "prog|$|a$|$-x|$"},
    {"empty text", "", "prog|a|b", "prog|a|b"},
    {"only comments and space", "  # x\n\n\t", "prog|a", "prog|a"},
    {"unterminated single quote", "a\n'bc\nd", "prog", ".args: line 2: unterminated single quote"},
    {"unterminated double quote", "\"abc", "prog", ".args: line 1: unterminated double quote"},
    {"unterminated ${", "x ${HOME", "prog", ".args: line 1: unterminated ${ (no closing brace)"},
    {"bad ${} name", "${A-B}", "prog", ".args: line 1: bad variable name in ${...}"},
    {"empty ${}", "${}", "prog", ".args: line 1: bad variable name"},
    {"trailing backslash", "a\n\nb\\", "prog", ".args: line 3: backslash at the end of the file"},
    {"\\x without digits", "\"\\xg\"", "prog", ".args: line 1: \\x with no hex digits"},
    {"escape gives NUL", "\"a\\0b\"", "prog", ".args: line 1: an escape gives a NUL byte"},
    {"octal too large", "\"\\777\"", "prog", ".args: line 1: octal escape \\777 is larger than a byte"},
};

/* Splits s at '|' into a NULL-terminated array (static storage). */
static int split(const char *s, char **out, char *storage, size_t cap) {
    int n = 0;
    snprintf(storage, cap, "%s", s);
    out[n++] = storage;
    for (char *p = storage; *p; p++)
        if (*p == '|') {
            *p = 0;
            out[n++] = p + 1;
        }
    out[n] = NULL;
    return n;
}

static void test_cases(void) {
    setenv("LF_TEST_MODEL", "/models/my model.gguf", 1);
    setenv("LF_TEST_N", "4", 1);
    unsetenv("LF_TEST_UNSET");
    for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
        const struct args_case *c = &k_cases[i];
        char title[128];
        snprintf(title, sizeof(title), "args: %s", c->name);
        TEST_BEGIN(title);
        char storage[256], *argv[16];
        int argc = split(c->user, argv, storage, sizeof(storage));
        int out_argc = -1;
        char **out = NULL;
        lf_error err = {{0}};
        bool ok = lf_args_merge(c->text, strlen(c->text), argc, argv, &out_argc, &out, &err);
        if (!strncmp(c->want, ".args:", 6)) {
            EXPECT(!ok, "accepted");
            EXPECT(!strncmp(err.msg, c->want, strlen(c->want)), "message '%s', want '%s'",
                   err.msg, c->want);
            EXPECT(!strchr(err.msg, '\n'), "message is not one line");
        } else {
            EXPECT(ok, "rejected: %s", err.msg);
            char got[512] = "";
            size_t o = 0;
            for (int k = 0; ok && k < out_argc; k++)
                o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", k ? "|" : "", out[k]);
            EXPECT(!ok || !strcmp(got, c->want), "got '%s', want '%s'", got, c->want);
            EXPECT(!ok || out[out_argc] == NULL, "not NULL-terminated");
        }
        lf_args_free(out);
        TEST_END();
    }
}

static void test_edges(void) {
    TEST_BEGIN("args: NUL in the text, no argv[0], long lines, many words");
    char **out = NULL;
    int n = 0;
    lf_error err = {{0}};
    EXPECT(!lf_args_merge("a\nb\0c", 5, 0, NULL, &n, &out, &err) &&
           !strcmp(err.msg, ".args: line 2: NUL byte in the text"), "%s", err.msg);
    EXPECT(lf_args_merge("x", 1, 0, NULL, &n, &out, &err) && n == 2 && !strcmp(out[0], "") &&
           !strcmp(out[1], "x"), "argc 0");
    lf_args_free(out);
    EXPECT(lf_args_merge(NULL, 0, 0, NULL, &n, &out, &err) && n == 1, "NULL text");
    lf_args_free(out);
    size_t big = 100000;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 3 == 2 ? '\n' : 'w';
    text[big] = 0;
    EXPECT(lf_args_merge(text, big, 0, NULL, &n, &out, &err) && n == 1 + (int)((big + 2) / 3),
           "many words: %d", n);
    lf_args_free(out);
    memset(text, 'z', big);
    EXPECT(lf_args_merge(text, big, 0, NULL, &n, &out, &err) && n == 2 &&
           strlen(out[1]) == big, "one long word");
    lf_args_free(out);
    free(text);
    TEST_END();
}

int main(void) {
    test_cases();
    test_edges();
    return test_summary();
}
