/* test_markdown.c — the chatbot's streaming markdown renderer
 * (src/apps/llamafile/chat/markdown.c, compiled in here): each construct's
 * ANSI output, code blocks verbatim, colour off = the input byte for byte,
 * and the same output for any cutting of the input into pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/apps/llamafile/chat/markdown.c"
#include "../harness.h"

typedef struct sink {
    char s[16384];
    size_t n;
    int writes;
} sink;

static void to_sink(void *ud, const char *s, size_t n) {
    sink *k = ud;
    k->writes++;
    if (k->n + n < sizeof k->s) {
        memcpy(k->s + k->n, s, n);
        k->n += n;
    }
    k->s[k->n] = 0;
}

/* Renders text cut at a and b (a < 0: byte by byte), then finishes. */
static void render(bool colour, const char *text, int a, int b, sink *out) {
    memset(out, 0, sizeof *out);
    md_renderer *m = md_new(colour, to_sink, out);
    size_t n = strlen(text);
    if (a < 0) {
        for (size_t i = 0; i < n; i++)
            md_push(m, text + i, 1);
    } else {
        md_push(m, text, (size_t)a);
        md_push(m, text + a, (size_t)(b - a));
        md_push(m, text + b, n - (size_t)b);
    }
    md_finish(m);
    md_free(m);
}

/* Printable form of escapes for messages: ESC as '~'. */
static const char *show(const char *s) {
    static char buf[4][2048];
    static int k;
    char *b = buf[k++ % 4];
    size_t i = 0;
    for (; *s && i + 1 < sizeof buf[0]; s++)
        b[i++] = *s == '\033' ? '~' : *s;
    b[i] = 0;
    return b;
}

/* The output for every pair of cut points and byte by byte equals want. */
static void check(const char *name, bool colour, const char *text, const char *want) {
    TEST_BEGIN(name);
    sink out;
    int n = (int)strlen(text), fails = 0;
    render(colour, text, -1, -1, &out);
    EXPECT(!strcmp(out.s, want), "byte by byte: got '%s', want '%s'", show(out.s), show(want));
    for (int a = 0; a <= n && fails < 2; a++)
        for (int b = a; b <= n && fails < 2; b++) {
            render(colour, text, a, b, &out);
            if (strcmp(out.s, want)) {
                fails++;
                EXPECT(false, "cut at %d,%d: got '%s'", a, b, show(out.s));
            }
        }
    TEST_END();
}

#define B1 "\033[1m"
#define B0 "\033[22m"
#define C1 "\033[36m"
#define C0 "\033[39m"
#define H1 "\033[1;4m"
#define H0 "\033[22;24m"
#define F1 "\033[2m"
#define F0 "\033[22m"

static void test_constructs(void) {
    check("bold", true, "a **b** c\n", "a " B1 "b" B0 " c\n");
    check("bold left open ends with its line", true, "a **b\nc", "a " B1 "b" B0 "\nc");
    check("single stars stay", true, "* item\n2 * 3 = 6*\n", "* item\n2 * 3 = 6*\n");
    check("inline code", true, "use `ls -l` here", "use " C1 "ls -l" C0 " here");
    check("no bold inside inline code", true, "`a**b`", C1 "a**b" C0);
    check("headings", true, "# Title\n### Sub **x**\nbody\n",
          H1 "# Title" H0 "\n" H1 "### Sub **x**" H0 "\nbody\n");
    check("not headings", true, "#hashtag\n####### seven\n", "#hashtag\n####### seven\n");
    check("a heading at the end", true, "## End", H1 "## End" H0);
    check("fenced code: language shown, lines verbatim", true,
          "Code:\n```python\nx = **y** # `z`\n# not a heading\n```\nafter **b**\n",
          "Code:\n" F1 "```python" F0 "\nx = **y** # `z`\n# not a heading\n" F1 "```" F0
          "\nafter " B1 "b" B0 "\n");
    check("tilde fence, a longer closing fence, indented fences", true,
          "  ~~~\n```\n~~~~  \nok\n", F1 "  ~~~" F0 "\n```\n" F1 "~~~~  " F0 "\nok\n");
    check("a short run does not close the fence", true, "````\n```\n````\n",
          F1 "````" F0 "\n```\n" F1 "````" F0 "\n");
    check("an unclosed fence runs to the end", true, "```sh\necho **hi**",
          F1 "```sh" F0 "\necho **hi**");
    check("a fence cut off before its newline", true, "text\n```js", "text\n" F1 "```js" F0);
    check("backticks in a fence's language: inline code", true, "```a`b\n",
          C1 C0 C1 "a" C0 "b\n");
    check("UTF-8 passes", true, "**é💖** `ü`", B1 "é💖" B0 " " C1 "ü" C0);
    check("a lone star at the end", true, "x*", "x*");
}

static const char k_doc[] =
    "# Plan\n\nSome **bold** text, `code`, and * stars *.\n\n## Steps\n"
    "1. Run `make`\n2. **Check**\n\n```c\nint main(void) { return **argv; }\n```\n"
    "~~~\n```\n~~~\n   ```\nindented\n   ```\nEnd with **open bold\n#\n";

static void test_streaming(void) {
    check("colour off: the input byte for byte", false, k_doc, k_doc);
    TEST_BEGIN("colour on: any cutting gives the same output");
    sink whole, out;
    render(true, k_doc, 0, 0, &whole);
    EXPECT(strstr(whole.s, B1 "bold" B0) && strstr(whole.s, F1 "```c" F0) &&
               strstr(whole.s, "int main(void) { return **argv; }\n"),
           "rendering: '%s'", show(whole.s));
    int n = (int)strlen(k_doc), fails = 0;
    render(true, k_doc, -1, -1, &out);
    EXPECT(!strcmp(out.s, whole.s), "byte by byte differs: '%s'", show(out.s));
    for (int a = 0; a <= n && fails < 2; a++)
        for (int b = a; b <= n && fails < 2; b += 7) {
            render(true, k_doc, a, b, &out);
            if (strcmp(out.s, whole.s)) {
                fails++;
                EXPECT(false, "cut at %d,%d: '%s'", a, b, show(out.s));
            }
        }
    TEST_END();

    TEST_BEGIN("text is written by the push that brought it");
    out.n = 0, out.s[0] = 0;
    md_renderer *m = md_new(true, to_sink, &out);
    md_push(m, "hello wor", 9);
    EXPECT(!strcmp(out.s, "hello wor"), "after a push: '%s'", show(out.s));
    md_push(m, "ld *", 4);
    EXPECT(!strcmp(out.s, "hello world "), "a star waits: '%s'", show(out.s));
    md_push(m, "x\n``", 4);
    EXPECT(!strcmp(out.s, "hello world *x\n"), "a line start waits: '%s'", show(out.s));
    md_push(m, "`py", 3);
    EXPECT(!strcmp(out.s, "hello world *x\n"), "a fence line waits: '%s'", show(out.s));
    md_push(m, "\nq\n", 3);
    EXPECT(!strcmp(out.s, "hello world *x\n" F1 "```py" F0 "\nq\n"), "fence: '%s'", show(out.s));
    md_finish(m);
    /* A new answer starts outside the fence the last one left open. */
    out.n = 0, out.s[0] = 0;
    md_push(m, "**b**", 5);
    md_finish(m);
    EXPECT(!strcmp(out.s, B1 "b" B0), "after finish: '%s'", show(out.s));
    md_free(m);
    TEST_END();

    TEST_BEGIN("FILE output");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    m = md_new_file(true, f);
    EXPECT(m != NULL, "md_new_file");
    md_push(m, "# T\n", 4);
    md_finish(m);
    md_free(m);
    fclose(f);
    EXPECT(buf && !strcmp(buf, H1 "# T" H0 "\n"), "got '%s'", buf ? show(buf) : "(null)");
    free(buf);
    TEST_END();
}

int main(void) {
    test_constructs();
    test_streaming();
    return test_summary();
}
