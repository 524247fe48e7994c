/* test_jinja_threads.c — one parsed template rendered from several threads
 * at once gives every thread the single-threaded output (lf_jinja is
 * immutable and shareable). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "text/jinja/jinja.h"

#define THREADS 4
#define ROUNDS 50

static const char *TPL =
    "{% macro show(v) %}{% if v is mapping %}{% for k, x in v.items() %}{{ k }}={{ show(x) }};{% endfor %}"
    "{% elif v is string %}{{ v | upper }}{% else %}{{ v | tojson }}{% endif %}{% endmacro %}"
    "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m.content | length %}"
    "<{{ m.role }}>{{ show(m) }}{{ m.content[1:] }}</{{ m.role }}>\n{% endfor %}{{ ns.n }} {{ strftime_now('%d %b %Y') }}";
static const char *CTX =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"héllo wörld\", \"n\": 1.5},"
    " {\"role\": \"assistant\", \"content\": \"ok\", \"tool\": {\"a\": [1, null, true]}}]}";

static lf_jinja *tpl;
static json_t *ctx;
static char *want;

static void *worker(void *arg) {
    int *bad = arg;
    lf_jinja_opts o = {.now = 1721952000};
    for (int i = 0; i < ROUNDS; i++) {
        lf_error err;
        size_t len;
        bool raised;
        char *out = lf_jinja_render(tpl, ctx, &o, &len, &raised, &err);
        if (!out || strcmp(out, want)) (*bad)++;
        free(out);
    }
    return NULL;
}

int main(void) {
    lf_error err = {{0}};
    tpl = lf_jinja_parse(TPL, strlen(TPL), &err);
    ctx = json_loads(CTX, 0, NULL);
    size_t len;
    bool raised;
    lf_jinja_opts o = {.now = 1721952000};
    want = tpl && ctx ? lf_jinja_render(tpl, ctx, &o, &len, &raised, &err) : NULL;
    TEST_BEGIN("jinja: one template rendered from several threads");
    EXPECT(want, "single-threaded render failed: %s", err.msg);
    EXPECT(want && strstr(want, "26 Jul 2024"), "pinned date missing: %s", want ? want : "");
    if (want) {
        pthread_t th[THREADS];
        int bad[THREADS] = {0};
        for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, &bad[i]);
        for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
        for (int i = 0; i < THREADS; i++) EXPECT(!bad[i], "thread %d: %d renders differ", i, bad[i]);
    }
    TEST_END();
    free(want);
    json_decref(ctx);
    lf_jinja_free(tpl);
    return test_summary();
}
