/* test_jinja_goldens.c — every case of every $SHARED/templates/NAME.jinja.json
 * through the Jinja engine: rendered cases byte-identical to HF's output,
 * raise_exception cases failing with exactly the template's message, the
 * other error cases failing. Prints the count passed and each failure; the
 * test passes only when every case does. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "text/jinja/jinja.h"

#define PINNED_NOW 1721952000 /* 2024-07-26T00:00:00 */

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* First differing byte, for the failure listing. */
static void show_diff(const char *want, const char *got, size_t glen) {
    size_t i = 0, wl = strlen(want);
    while (i < wl && i < glen && want[i] == got[i]) i++;
    size_t from = i > 30 ? i - 30 : 0;
    printf("      at byte %zu: want \"", i);
    for (size_t k = from; k < wl && k < i + 40; k++) putchar(want[k] == '\n' ? '|' : want[k]);
    printf("\"\n      got          \"");
    for (size_t k = from; k < glen && k < i + 40; k++) putchar(got[k] == '\n' ? '|' : got[k]);
    printf("\"\n");
}

int main(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/templates", test_shared_dir());
    DIR *d = opendir(dir);
    if (!d) {
        SKIP("jinja goldens", "no %s", dir);
        return test_summary();
    }
    char *names[256];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 256) {
        size_t l = strlen(e->d_name);
        if (l > 11 && !strcmp(e->d_name + l - 11, ".jinja.json")) names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmpstr);
    int total = 0, passed = 0, listed = 0;
    const char *verbose = getenv("JINJA_VERBOSE");
    for (int t = 0; t < nn; t++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[t]);
        json_error_t je;
        json_t *g = json_load_file(path, 0, &je);
        if (!g) { printf("  cannot read %s: %s\n", path, je.text); total++; continue; }
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(g, "template")));
        size_t tlen = 0;
        char *text = test_slurp(path, &tlen);
        lf_error err = {{0}};
        lf_jinja *tpl = text ? lf_jinja_parse(text, tlen, &err) : NULL;
        json_t *cases = json_object_get(g, "cases");
        int tpass = 0, tn = (int)json_array_size(cases);
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            total++;
            const char *cname = json_string_value(json_object_get(c, "name"));
            json_t *ctx = json_object();
            json_object_set(ctx, "messages", json_object_get(c, "messages"));
            json_object_set(ctx, "tools", json_object_get(c, "tools") ? json_object_get(c, "tools") : json_null());
            json_object_set_new(ctx, "documents", json_null());
            json_object_set(ctx, "add_generation_prompt", json_object_get(c, "add_generation_prompt"));
            json_object_set(ctx, "bos_token", json_object_get(g, "bos_token"));
            json_object_set(ctx, "eos_token", json_object_get(g, "eos_token"));
            json_object_update(ctx, json_object_get(c, "extra"));
            const char *want = json_string_value(json_object_get(c, "expected"));
            const char *want_err = json_string_value(json_object_get(c, "error"));
            bool want_raised = json_is_true(json_object_get(c, "raised_by_template"));
            char *out = NULL;
            size_t olen = 0;
            bool raised = false;
            if (tpl) {
                lf_jinja_opts o = {.now = PINNED_NOW};
                out = lf_jinja_render(tpl, ctx, &o, &olen, &raised, &err);
            }
            bool ok;
            if (want) ok = out && olen == strlen(want) && !memcmp(out, want, olen);
            else if (want_raised) ok = !out && raised && !strcmp(err.msg, want_err);
            else ok = !out;
            if (ok) passed++, tpass++;
            else if (listed++ < 200 || verbose) {
                printf("  FAIL %s / %s: ", names[t], cname);
                if (!tpl) printf("parse error: %s\n", err.msg);
                else if (want && !out) printf("error: %s\n", err.msg);
                else if (want) { printf("output differs\n"); show_diff(want, out, olen); }
                else if (want_raised && !out) printf("message \"%s\", want \"%s\"\n", err.msg, want_err);
                else printf("rendered, want error \"%s\"\n", want_err);
            }
            free(out);
            json_decref(ctx);
        }
        if (verbose) printf("  %s: %d/%d\n", names[t], tpass, tn);
        lf_jinja_free(tpl);
        free(text);
        json_decref(g);
        free(names[t]);
    }
    printf("# jinja goldens: %d of %d cases pass\n", passed, total);
    TEST_BEGIN("jinja goldens: every case of every template");
    EXPECT(total > 0 && passed == total, "%d of %d cases pass", passed, total);
    TEST_END();
    return test_summary();
}
