/* test_model_locate.c — what -m names: a GGUF, a llamafile holding one,
 * ARCHIVE@MEMBER, /zip/NAME; and the errors when it is none of those.
 *
 * Run with --self-probe by tests/apps/test_selfzip.sh on a copy of this
 * program with members appended: it then prints what it finds inside
 * itself (.args merged with its arguments, the model it would load). */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "llamafile.h"
#include "zip_bytes.h"

static char g_dir[] = "/tmp/test_model_locate.XXXXXX";

static const char *in_dir(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", g_dir, name);
    return buf[k];
}

static bool write_gguf(const char *path, const char *arch) {
    lf_error err;
    lf_gguf_writer *w = lf_gguf_writer_new();
    bool ok = w && lf_gguf_set_str(w, "general.architecture", arch, &err) &&
              lf_gguf_writer_write(w, path, &err);
    lf_gguf_writer_free(w);
    return ok;
}

static bool write_bytes(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool pack(const char *archive, const char *a, const char *b) {
    const char *files[2] = {a, b};
    lf_zipalign_options opt = {.junk_paths = true};
    lf_error err;
    bool ok = write_bytes(archive, "\x7f" "ELF not really", 15) &&
              lf_zipalign(archive, files, b ? 2 : 1, &opt, &err);
    if (!ok)
        printf("# pack %s: %s\n", archive, err.msg);
    return ok;
}

/* The architecture of the GGUF spec names, or the error. */
static const char *arch_of(const char *spec, char *buf, size_t n) {
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open_any(spec, &err);
    lf_str s = {0};
    if (g && lf_gguf_get_str(g, "general.architecture", &s))
        snprintf(buf, n, "%.*s", (int)s.len, s.ptr);
    else
        snprintf(buf, n, "error: %s", err.msg);
    lf_gguf_close(g);
    return buf;
}

static void expect_error(const char *spec, const char *want) {
    lf_model_source src;
    lf_error err = {{0}};
    int r = lf_model_locate(spec, &src, &err);
    EXPECT(r == -1, "%s: located (%d)", spec, r);
    EXPECT(strstr(err.msg, want), "%s: message '%s' lacks '%s'", spec, err.msg, want);
    EXPECT(!strchr(err.msg, '\n'), "%s: message not one line", spec);
    if (r == 1)
        lf_model_source_free(&src);
}

static void test_locate(void) {
    TEST_BEGIN("locate: GGUF, llamafile, ARCHIVE@MEMBER, and errors");
    char buf[600];
    EXPECT(write_gguf(in_dir("m.gguf"), "llama") && write_gguf(in_dir("q.gguf"), "qwen3"),
           "cannot write GGUFs");
    write_bytes(in_dir("notes.txt"), "notes", 5);

    lf_model_source src;
    lf_error err = {{0}};
    EXPECT(lf_model_locate(in_dir("m.gguf"), &src, &err) == 1 && src.fd == -1 &&
           !strcmp(src.path, in_dir("m.gguf")), "plain: %s", err.msg);
    lf_model_source_free(&src);
    EXPECT(!strcmp(arch_of(in_dir("m.gguf"), buf, sizeof(buf)), "llama"), "plain: %s", buf);

    EXPECT(pack(in_dir("one.llamafile"), in_dir("m.gguf"), in_dir("notes.txt")), "pack");
    EXPECT(lf_model_locate(in_dir("one.llamafile"), &src, &err) == 1 && src.fd >= 0 &&
           src.offset % 65536 == 0 && src.size > 0, "llamafile: %s", err.msg);
    char want[300];
    snprintf(want, sizeof(want), "%s@m.gguf", in_dir("one.llamafile"));
    EXPECT(src.name && !strcmp(src.name, want), "name %s", src.name);
    lf_model_source_free(&src);
    EXPECT(!strcmp(arch_of(in_dir("one.llamafile"), buf, sizeof(buf)), "llama"), "%s", buf);

    EXPECT(pack(in_dir("two.llamafile"), in_dir("m.gguf"), in_dir("q.gguf")), "pack two");
    expect_error(in_dir("two.llamafile"), "holds 2 .gguf members ('m.gguf', 'q.gguf'); pick one with");
    snprintf(want, sizeof(want), "%s@q.gguf", in_dir("two.llamafile"));
    EXPECT(!strcmp(arch_of(want, buf, sizeof(buf)), "qwen3"), "@member: %s", buf);
    snprintf(want, sizeof(want), "%s@nope.gguf", in_dir("two.llamafile"));
    expect_error(want, "holds no member 'nope.gguf' (members: 'm.gguf', 'q.gguf')");

    EXPECT(pack(in_dir("none.zip"), in_dir("notes.txt"), NULL), "pack none");
    expect_error(in_dir("none.zip"), "holds no .gguf member (members: 'notes.txt')");
    expect_error(in_dir("notes.txt"), "neither a GGUF file (no GGUF magic) nor a llamafile or zip");
    expect_error(in_dir("missing.gguf"), "missing.gguf: cannot open: No such file or directory");
    expect_error(g_dir, "not a regular file (a directory)");
    /* A FIFO would block open() until a writer came: refused at once. */
    EXPECT(mkfifo(in_dir("fifo.gguf"), 0600) == 0, "mkfifo");
    expect_error(in_dir("fifo.gguf"), "fifo.gguf: not a regular file (a FIFO)");
    lf_error ferr;
    EXPECT(!lf_gguf_open(in_dir("fifo.gguf"), &ferr) && strstr(ferr.msg, "not a regular file (a FIFO)"),
           "lf_gguf_open on a FIFO: %s", ferr.msg);
    EXPECT(!lf_zip_open(in_dir("fifo.gguf"), &ferr) && strstr(ferr.msg, "not a regular file (a FIFO)"),
           "lf_zip_open on a FIFO: %s", ferr.msg);
    expect_error("/zip/model.gguf", "holds no member 'model.gguf' (members: none)");

    gb b = {0};
    zb_layout L;
    zb_build(&b, &L, &(zb_opts){.method = {0, 8}});
    write_bytes(in_dir("deflated.zip"), b.p, b.n);
    free(b.p);
    expect_error(in_dir("deflated.zip"), "member 'b.gguf' is compressed (method 8, deflate); re-add it with zipalign -0");

    /* This test program holds no zip: no model inside it. */
    EXPECT(lf_model_locate(NULL, &src, &err) == 0 && strstr(err.msg, "holds no .gguf"),
           "NULL spec: %s", err.msg);
    int argc = 0;
    char **argv = NULL, *in[] = {"prog", "x", NULL};
    EXPECT(lf_args_load_self(2, in, &argc, &argv, NULL, &err) && argc == 2 &&
           !strcmp(argv[1], "x"), "no .args: %s", err.msg);
    lf_args_free(argv);
    char path[4096];
    EXPECT(lf_self_exe_path(path, sizeof(path), &err) && strstr(path, "test_model_locate"),
           "self path %s", path);
    EXPECT(!lf_self_exe_path(path, 3, &err), "tiny buffer accepted");
    TEST_END();
}

/* Prints what this executable holds, for test_selfzip.sh. */
static int self_probe(int argc, char **argv) {
    lf_error err = {{0}};
    int n;
    char **args;
    if (!lf_args_load_self(argc - 1, argv + 1, &n, &args, NULL, &err)) {
        printf("args error: %s\n", err.msg);
        return 1;
    }
    printf("args:");
    for (int i = 1; i < n; i++)
        printf(" [%s]", args[i]);
    printf("\n");
    lf_args_free(args);
    const char *specs[] = {NULL, "/zip/model.gguf", "model.gguf", "/zip/.args"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        lf_model_source src;
        int r = lf_model_locate(specs[i], &src, &err);
        if (r == 1)
            printf("%s: %s offset %llu size %llu\n", specs[i] ? specs[i] : "(none)", src.name,
                   (unsigned long long)src.offset, (unsigned long long)src.size);
        else
            printf("%s: %d %s\n", specs[i] ? specs[i] : "(none)", r, err.msg);
        if (r == 1)
            lf_model_source_free(&src);
    }
    lf_gguf *g = lf_gguf_open_any("/zip/model.gguf", &err);
    printf("gguf: %s\n", g ? "opened" : err.msg);
    if (g)
        printf("tensors: %lld\n", (long long)lf_gguf_tensor_count(g));
    lf_gguf_close(g);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--self-probe"))
        return self_probe(argc, argv);
    if (!mkdtemp(g_dir)) {
        printf("FAIL locate: cannot make a temporary directory\n");
        return 1;
    }
    test_locate();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", g_dir);
    return test_summary();
}
