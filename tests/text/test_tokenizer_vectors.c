/* Tokenizer conformance against ../shared/vocab: every X.gguf.inp (and
 * ggml-vocab-N.stress.inp) whose GGUF is present is tokenized with
 * add_special = false, parse_special = false and compared id for id with
 * the .out file (llama.cpp's output). One line per file; then one line per
 * file for the detokenize round trip.
 *
 * Round trip: detokenize(tokenize(x)) == x is checked where llama.cpp
 * guarantees it, i.e. skipping cases where
 *  - x is not strict UTF-8 (BPE decodes bad bytes to U+FFFD),
 *  - a special token was matched (SPM puts a space after it, phi-3 strips
 *    white space after it),
 *  - SPM and x contains U+2581 (it detokenizes to a space),
 *  - the vocab cleans up spaces and x has " ?", " !", " .", " ," or " '". */
#include <dirent.h>

#include "../harness.h"
#include "text_util.h"

typedef struct test_case {
    const char *s;
    size_t len;
} test_case;

#define SEP "\n__ggml_vocab_test__\n"

/* Splits the .inp text in place into cases. */
static test_case *split_inp(char *text, size_t len, int *n) {
    int cap = 64;
    test_case *c = malloc((size_t)cap * sizeof *c);
    *n = 0;
    size_t sep = strlen(SEP), pos = 0;
    while (pos < len) {
        char *m = memmem(text + pos, len - pos, SEP, sep);
        if (!m)
            break;
        if (*n == cap)
            c = realloc(c, (size_t)(cap *= 2) * sizeof *c);
        c[(*n)++] = (test_case){text + pos, (size_t)(m - (text + pos))};
        pos = (size_t)(m - text) + sep;
    }
    return c;
}

/* Parses line i of the .out text (ids separated by spaces). */
static int32_t *parse_line(char **cursor, int64_t *n) {
    char *line = *cursor, *nl = strchr(line, '\n');
    if (nl)
        *nl = 0;
    *cursor = nl ? nl + 1 : line + strlen(line);
    int64_t cap = 16;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    *n = 0;
    for (char *p = line, *end; *p;) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (*n == cap)
            ids = realloc(ids, (size_t)(cap *= 2) * sizeof *ids);
        ids[(*n)++] = (int32_t)v;
        p = end;
    }
    return ids;
}

static bool has(const test_case *c, const char *sub) {
    return memmem(c->s, c->len, sub, strlen(sub)) != NULL;
}

static bool round_trip_expected(const lf_vocab *v, const test_case *c, const int32_t *ids,
                                int64_t n) {
    if (!lf_utf8_valid(c->s, c->len))
        return false;
    for (int64_t i = 0; i < n; i++)
        if (!(lf_vocab_token_attr(v, ids[i]) & (LF_TOKEN_ATTR_NORMAL | LF_TOKEN_ATTR_BYTE)) ||
            (lf_vocab_token_attr(v, ids[i]) & LF_TOKEN_ATTR_CONTROL))
            return false;
    if (lf_vocab_kind(v) == LF_VOCAB_SPM && has(c, "\xE2\x96\x81"))
        return false;
    if (lf_vocab_clean_spaces(v) &&
        (has(c, " ?") || has(c, " !") || has(c, " .") || has(c, " ,") || has(c, " '")))
        return false;
    return true;
}

static void run_file(const char *dir, const char *inp_name) {
    char inp[1024], out[1024], gguf[1024], name[512];
    size_t nlen = strlen(inp_name);
    int w1 = snprintf(inp, sizeof inp, "%s/%s", dir, inp_name);
    int w2 = snprintf(out, sizeof out, "%.*s.out", (int)(strlen(inp) - 4), inp);
    int w3;
    if (nlen > 11 && !strcmp(inp_name + nlen - 11, ".stress.inp"))
        w3 = snprintf(gguf, sizeof gguf, "%s/%.*s.gguf", dir, (int)(nlen - 11), inp_name);
    else
        w3 = snprintf(gguf, sizeof gguf, "%.*s", (int)(strlen(inp) - 4), inp);
    int w4 = snprintf(name, sizeof name, "vectors %s", inp_name);
    if (w1 >= (int)sizeof inp || w2 >= (int)sizeof out || w3 >= (int)sizeof gguf ||
        w4 >= (int)sizeof name)
        return;

    FILE *probe = fopen(gguf, "rb");
    if (!probe) {
        SKIP(name, "its GGUF is not in ../shared/vocab");
        return;
    }
    fclose(probe);
    lf_error err = {{0}};
    lf_gguf *g;
    lf_vocab *v = tu_load_vocab(gguf, &g, &err);
    if (!v && strstr(err.msg, "'bert'")) {
        SKIP(name, "WPM (bert) tokenizer not implemented");
        return;
    }
    size_t ilen = 0, olen = 0;
    char *itext = tu_read_file(inp, &ilen), *otext = tu_read_file(out, &olen);
    int n = 0;
    test_case *cases = itext ? split_inp(itext, ilen, &n) : NULL;
    int bad = 0, rt_checked = 0, rt_bad = 0;
    char first[600] = "", rt_first[600] = "";
    char *cursor = otext;
    TEST_BEGIN(name);
    EXPECT(v, "load: %s", err.msg);
    EXPECT(itext && otext && n > 0, "cannot read %s / .out", inp);
    for (int i = 0; v && otext && i < n; i++) {
        int64_t ne, ng;
        int32_t *want = parse_line(&cursor, &ne);
        int32_t *got = tu_tokenize(v, cases[i].s, cases[i].len, false, false, &ng);
        if (ng != ne || memcmp(want, got, (size_t)ne * sizeof *got) != 0) {
            if (!bad++) {
                char w[256], gt[256];
                tu_fmt_ids(w, sizeof w, want, ne, 12);
                tu_fmt_ids(gt, sizeof gt, got, ng, 12);
                snprintf(first, sizeof first, "case %d: want [%s] got [%s]", i, w, gt);
            }
        } else if (round_trip_expected(v, &cases[i], got, ng)) {
            int64_t dn;
            char *d = tu_detokenize(v, got, ng, false, false, &dn);
            rt_checked++;
            if (dn != (int64_t)cases[i].len || memcmp(d, cases[i].s, cases[i].len) != 0) {
                if (!rt_bad++)
                    snprintf(rt_first, sizeof rt_first, "case %d: got \"%.60s\"", i, d);
            }
            free(d);
        }
        free(want);
        free(got);
    }
    EXPECT(bad == 0, "%d of %d cases differ; first %s", bad, n, first);
    TEST_END();
    if (v) {
        char rname[600];
        snprintf(rname, sizeof rname, "round trip %s (%d of %d cases)", inp_name, rt_checked, n);
        TEST_BEGIN(rname);
        EXPECT(rt_bad == 0, "%d differ; first %s", rt_bad, rt_first);
        TEST_END();
    }
    free(cases);
    free(itext);
    free(otext);
    lf_vocab_free(v);
    lf_gguf_close(g);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/vocab", test_shared_dir());
    DIR *d = opendir(dir);
    if (!d) {
        SKIP("tokenizer vectors", "no %s", dir);
        return test_summary();
    }
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".inp"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        run_file(dir, names[i]);
        free(names[i]);
    }
    return test_summary();
}
