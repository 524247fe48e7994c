/* test_jinja_errors.c — hostile and malformed templates: syntax errors name
 * the line and column, runtime errors are one-line messages, and the limits
 * (nesting, recursion, loop steps, output size) stop each case within a
 * second of CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../harness.h"
#include "text/jinja/jinja.h"

/* CPU time, not wall time: the build machine is shared and often loaded. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Parses and renders src with ctx (JSON text or NULL); returns the output
 * or NULL with the message in err. *secs: the time both took. */
static char *run(const char *src, const char *ctx_json, const lf_jinja_opts *o, lf_error *err, bool *raised,
                 double *secs) {
    double t0 = now_s();
    lf_jinja *t = lf_jinja_parse(src, strlen(src), err);
    char *out = NULL;
    if (t) {
        json_t *ctx = ctx_json ? json_loads(ctx_json, 0, NULL) : json_object();
        size_t len;
        out = lf_jinja_render(t, ctx, o, &len, raised, err);
        json_decref(ctx);
        lf_jinja_free(t);
    }
    *secs = now_s() - t0;
    return out;
}

static char *repeat(const char *a, int n, const char *mid, const char *b) {
    size_t la = strlen(a), lb = strlen(b), lm = strlen(mid);
    char *s = malloc(la * (size_t)n + lb * (size_t)n + lm + 1), *p = s;
    for (int i = 0; i < n; i++) memcpy(p, a, la), p += la;
    memcpy(p, mid, lm), p += lm;
    for (int i = 0; i < n; i++) memcpy(p, b, lb), p += lb;
    *p = 0;
    return s;
}

/* A hang guard, not a speed test: a second of CPU time per case, twenty
 * under an emulator (tests/run.sh's RUNNER, qemu for check-aarch64). */
static double time_limit(void) {
    const char *r = getenv("RUNNER");
    return r && *r ? 20.0 : 1.0;
}

/* Expects failure within the time limit with a message containing want. */
static void expect_error(const char *title, const char *src, const char *ctx, const lf_jinja_opts *o,
                         const char *want) {
    lf_error err = {{0}};
    bool raised = false;
    double secs;
    TEST_BEGIN(title);
    char *out = run(src, ctx, o, &err, &raised, &secs);
    EXPECT(!out, "rendered instead of failing (%zu bytes)", out ? strlen(out) : 0);
    EXPECT(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
    EXPECT(!strchr(err.msg, '\n'), "message has more than one line: \"%s\"", err.msg);
    EXPECT(secs < time_limit(), "took %.2f s", secs);
    TEST_END();
    free(out);
}

int main(void) {
    /* Syntax errors: line and column of the offending token. */
    expect_error("unclosed if", "a\n{% if x %}abc", NULL, NULL, "unexpected end of template, expected 'endif'");
    expect_error("unclosed if: position", "a\n{% if x %}abc", NULL, NULL, "line 2, column 14");
    expect_error("unclosed for", "{% for x in y %}{{ x }}", NULL, NULL, "expected 'endfor'");
    expect_error("unclosed print", "hello {{ name", NULL, NULL, "line 1, column 14: unexpected end of template");
    expect_error("unclosed comment", "x\n\n  {# note", NULL, NULL, "line 3, column 3: missing end of comment tag");
    expect_error("unclosed string", "{{ 'abc }}", NULL, NULL, "line 1, column 4: unexpected end of string");
    expect_error("missing operand", "a\n{{ 1 + }}", NULL, NULL, "line 2, column 8: unexpected 'end of print statement'");
    expect_error("unbalanced paren", "{{ (1 }}", NULL, NULL, "line 1, column 7: expected ')'");
    expect_error("unknown tag", "{% frobnicate %}", NULL, NULL, "line 1, column 4: Encountered unknown tag 'frobnicate'");
    expect_error("stray endif", "{% endif %}", NULL, NULL, "Encountered unknown tag 'endif'");
    expect_error("bad character", "{{ a ? b }}", NULL, NULL, "line 1, column 6: unexpected char '?'");
    expect_error("set without value", "{% set %}", NULL, NULL, "line 1, column 8: expected a name");

    /* 10,000-deep nesting of every kind: a syntax error, not a stack overflow. */
    const char *deep[][3] = {{"(", "1", ")"}, {"[", "1", "]"}, {"{'a': ", "1", "}"}, {"not ", "1", ""},
                             {"-", "1", ""}, {"1 if a else ", "2", ""}};
    for (int i = 0; i < 6; i++) {
        char *inner = repeat(deep[i][0], 10000, deep[i][1], deep[i][2]);
        char *src = malloc(strlen(inner) + 16);
        sprintf(src, "{{ %s }}", inner);
        char title[64];
        snprintf(title, sizeof title, "10,000-deep nesting of '%s'", deep[i][0]);
        expect_error(title, src, NULL, NULL, "nested too deeply");
        free(inner);
        free(src);
    }
    char *ifs = repeat("{% if true %}", 10000, "x", "{% endif %}");
    expect_error("10,000 nested if blocks", ifs, NULL, NULL, "nested too deeply");
    free(ifs);
    char *fors = repeat("{% for a in [1] %}", 10000, "x", "{% endfor %}");
    expect_error("10,000 nested for blocks", fors, NULL, NULL, "nested too deeply");
    free(fors);

    /* Run-time limits. */
    expect_error("range(10**9)", "{% for x in range(10**9) %}{{ x }}{% endfor %}", NULL, NULL, "Range too big");
    expect_error("loop steps", "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
                 NULL, NULL, "steps");
    lf_jinja_opts few = {.max_steps = 1000};
    expect_error("loop steps: max_steps", "{% for a in range(2000) %}{% endfor %}", NULL, &few, "1000 steps");
    expect_error("100 MB output", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", NULL, NULL,
                 "output exceeds the limit");
    expect_error("100 MB string", "{{ 'x' * 100000000 }}", NULL, NULL, "exceeds the output limit");
    lf_jinja_opts small = {.max_output = 1000};
    expect_error("max_output", "{% for i in range(300) %}hello{% endfor %}", NULL, &small, "1000 bytes");
    expect_error("doubling string", "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                 NULL, NULL, "exceeds the output limit");
    expect_error("macro recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, NULL,
                 "recursion deeper than");
    lf_jinja_opts shallow = {.max_depth = 5};
    expect_error("macro recursion: max_depth", "{% macro f(n) %}{{ n }}{{ f(n + 1) if n < 10 }}{% endmacro %}{{ f(0) }}",
                 NULL, &shallow, "deeper than 5");

    /* Run-time errors are values. */
    expect_error("attribute of undefined", "{{ nothing.here }}", NULL, NULL, "'nothing' is undefined");
    expect_error("str + list", "{{ 'a' + [1] }}", NULL, NULL, "unsupported operand");
    expect_error("str + none", "{{ x + 'a' }}", "{\"x\": null}", NULL, "unsupported operand");
    expect_error("unknown filter", "{{ x | from_json }}", "{\"x\": \"{}\"}", NULL, "No filter named 'from_json' found.");
    expect_error("unknown test", "{{ x is frob }}", "{\"x\": 1}", NULL, "No test named 'frob'");
    expect_error("sandbox: list.append", "{% set l = [] %}{{ l.append(1) }}", NULL, NULL, "unsafe");
    expect_error("sandbox: dict.update", "{{ d.update({'a': 1}) }}", "{\"d\": {}}", NULL, "unsafe");
    expect_error("calling undefined", "{{ nope() }}", NULL, NULL, "'nope' is undefined");
    expect_error("division by zero", "{{ 1 // 0 }}", NULL, NULL, "division");
    expect_error("tojson of undefined", "{{ nope | tojson }}", NULL, NULL, "not JSON serializable");
    {
        json_t *ctx = json_object(), *inner = json_array();
        json_object_set_new(ctx, "x", inner);
        for (int i = 0; i < 10000; i++) {
            json_t *a = json_array();
            json_array_append_new(inner, a);
            inner = a;
        }
        lf_error err = {{0}};
        lf_jinja *t = lf_jinja_parse("{{ x }}", 7, &err);
        size_t len;
        bool raised;
        TEST_BEGIN("10,000-deep JSON context");
        char *out = lf_jinja_render(t, ctx, NULL, &len, &raised, &err);
        EXPECT(!out, "rendered");
        EXPECT(strstr(err.msg, "nested too deeply"), "message \"%s\"", err.msg);
        TEST_END();
        free(out);
        lf_jinja_free(t);
        json_decref(ctx);
    }

    /* raise_exception: exactly the message, and the flag. */
    {
        lf_error err = {{0}};
        bool raised = false;
        double secs;
        TEST_BEGIN("raise_exception gives exactly its message");
        char *out = run("a{{ raise_exception('Only user and assistant roles are supported!') }}b", NULL, NULL, &err,
                        &raised, &secs);
        EXPECT(!out, "rendered");
        EXPECT(raised, "raised flag not set");
        EXPECT(!strcmp(err.msg, "Only user and assistant roles are supported!"), "message \"%s\"", err.msg);
        TEST_END();
        free(out);
        out = run("{{ x.y }}", NULL, NULL, &err, &raised, &secs);
        TEST_BEGIN("other errors do not set the raised flag");
        EXPECT(!out && !raised, "raised=%d", raised);
        TEST_END();
        free(out);
    }
    return test_summary();
}
