/* test_zip_read.c — reading valid archives (plain, ZIP64, with bytes
 * prepended, with a comment) from memory and from files; member lookups;
 * and no crash on any truncation or corruption of a valid archive. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "llamafile.h"
#include "zip_bytes.h"

static char g_dir[] = "/tmp/test_zip_read.XXXXXX";

static void check_valid(const char *title, const zb_opts *o) {
    TEST_BEGIN(title);
    gb b = {0};
    zb_layout L;
    zb_build(&b, &L, o);
    lf_error err = {{0}};
    lf_zip *z = lf_zip_open_memory(b.p, b.n, "ok.zip", &err);
    EXPECT(z, "rejected: %s", err.msg);
    if (z) {
        EXPECT(lf_zip_count(z) == 2, "count %lld", (long long)lf_zip_count(z));
        for (int i = 0; i < 2 && lf_zip_count(z) == 2; i++) {
            const lf_zip_entry *e = lf_zip_entry_at(z, i);
            EXPECT(!strcmp(e->name, i ? "b.gguf" : "a.txt"), "name %s", e->name);
            EXPECT(e->header_offset == L.lh[i], "entry %d header at %llu, want %zu", i,
                   (unsigned long long)e->header_offset, L.lh[i]);
            EXPECT(e->data_offset == L.data[i], "entry %d data at %llu, want %zu", i,
                   (unsigned long long)e->data_offset, L.data[i]);
            EXPECT(e->size == L.data_size[i] && e->compressed_size == e->size, "entry %d size", i);
            EXPECT(e->mode == 0100644, "mode %o", e->mode);
        }
        EXPECT(lf_zip_entry_at(z, 2) == NULL && lf_zip_entry_at(z, -1) == NULL, "out of range");
        const lf_zip_entry *g = lf_zip_find_gguf(z, &err);
        EXPECT(g && !strcmp(g->name, "b.gguf"), "find_gguf: %s", err.msg);
        const lf_zip_entry *a = lf_zip_find(z, "a.txt");
        EXPECT(a && !lf_zip_find(z, "a.tx") && !lf_zip_find(z, "a.txt2"), "find");
        uint64_t off = 0, size = 0;
        EXPECT(a && lf_zip_stored_range(z, a, &off, &size, &err) && off == L.data[0] &&
               size == 5, "stored range %llu+%llu", (unsigned long long)off,
               (unsigned long long)size);
        char *text = NULL;
        size_t n = 0;
        EXPECT(a && lf_zip_read_member(z, a, &text, &n, &err) && n == 5 &&
               !strcmp(text, "hello"), "read member: %s", err.msg);
        free(text);
        EXPECT(lf_zip_fd(z) == -1, "memory archive has an fd");
    }
    lf_zip_close(z);
    free(b.p);
    TEST_END();
}

static void test_valid(void) {
    check_valid("zip: plain archive", &(zb_opts){0});
    check_valid("zip: ZIP64 end records and extra fields", &(zb_opts){.zip64_end = true, .zip64_extra = true});
    check_valid("zip: ZIP64 end records only", &(zb_opts){.zip64_end = true});
    check_valid("zip: bytes prepended (offsets relative to the archive)", &(zb_opts){.prefix = 100});
    check_valid("zip: ZIP64 with bytes prepended", &(zb_opts){.prefix = 77, .zip64_end = true, .zip64_extra = true});
    check_valid("zip: archive comment", &(zb_opts){.comment = "PK\x05\x06 a comment"});
}

static void test_lookups(void) {
    TEST_BEGIN("zip: empty archive, compressed member, several .gguf");
    static const uint8_t empty[22] = {0x50, 0x4b, 5, 6};
    lf_error err = {{0}};
    lf_zip *z = lf_zip_open_memory(empty, sizeof(empty), "e.zip", &err);
    EXPECT(z && lf_zip_count(z) == 0, "empty archive: %s", err.msg);
    EXPECT(z && !lf_zip_find_gguf(z, &err) &&
           !strcmp(err.msg, "e.zip: holds no .gguf member (members: none)"), "%s", err.msg);
    lf_zip_close(z);

    gb b = {0};
    zb_layout L;
    zb_build(&b, &L, &(zb_opts){.method = {0, 8}});
    z = lf_zip_open_memory(b.p, b.n, "c.zip", &err);
    EXPECT(z, "compressed member: %s", err.msg);
    const lf_zip_entry *g = z ? lf_zip_find_gguf(z, &err) : NULL;
    uint64_t off, size;
    EXPECT(g && !lf_zip_stored_range(z, g, &off, &size, &err) &&
           strstr(err.msg, "member 'b.gguf' is compressed (method 8, deflate); re-add it with zipalign -0"),
           "%s", err.msg);
    EXPECT(!strncmp(err.msg, "c.zip: offset 40: ", 18), "%s", err.msg);
    lf_zip_close(z);
    free(b.p);

    b = (gb){0};
    zb_build(&b, &L, &(zb_opts){.names = {"x.gguf", "y.GGUF"}});
    z = lf_zip_open_memory(b.p, b.n, "two.zip", &err);
    EXPECT(z && !lf_zip_find_gguf(z, &err), "two .gguf accepted");
    EXPECT(!strcmp(err.msg, "two.zip: holds 2 .gguf members ('x.gguf', 'y.GGUF'); pick one "
                   "with two.zip@MEMBER"), "%s", err.msg);
    lf_zip_close(z);
    free(b.p);

    b = (gb){0};
    zb_build(&b, &L, &(zb_opts){.names = {"x.txt", "y.bin"}});
    z = lf_zip_open_memory(b.p, b.n, "none.zip", &err);
    EXPECT(z && !lf_zip_find_gguf(z, &err) &&
           !strcmp(err.msg, "none.zip: holds no .gguf member (members: 'x.txt', 'y.bin')"),
           "%s", err.msg);
    lf_zip_close(z);
    free(b.p);
    TEST_END();
}

static bool write_file(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_files(void) {
    TEST_BEGIN("zip: from a path and an fd, same results and messages as memory");
    gb b = {0};
    zb_layout L;
    zb_build(&b, &L, &(zb_opts){.prefix = 10, .zip64_end = true, .zip64_extra = true});
    char path[64];
    snprintf(path, sizeof(path), "%s/x.zip", g_dir);
    EXPECT(write_file(path, b.p, b.n), "cannot write %s", path);
    lf_error err = {{0}};
    lf_zip *z = lf_zip_open(path, &err);
    EXPECT(z && lf_zip_count(z) == 2 && lf_zip_fd(z) >= 0, "open: %s", err.msg);
    const lf_zip_entry *a = z ? lf_zip_find(z, "a.txt") : NULL;
    char *text = NULL;
    size_t n;
    EXPECT(a && a->data_offset == L.data[0] && lf_zip_read_member(z, a, &text, &n, &err) &&
           !strcmp(text, "hello"), "read: %s", err.msg);
    free(text);
    lf_zip_close(z);

    int fd = open(path, O_RDONLY);
    z = lf_zip_open_fd(fd, "by-fd", &err);
    close(fd);
    EXPECT(z && lf_zip_count(z) == 2 && !strcmp(lf_zip_name(z), "by-fd"), "fd: %s", err.msg);
    a = z ? lf_zip_find(z, "a.txt") : NULL;
    EXPECT(a && lf_zip_read_member(z, a, &text, &n, &err) && !strcmp(text, "hello"),
           "read after closing the caller's fd: %s", err.msg);
    free(text);
    lf_zip_close(z);

    zb_set16(&b, L.lh[1] + 26, 4);
    EXPECT(write_file(path, b.p, b.n), "cannot write %s", path);
    lf_error e1 = {{0}}, e2 = {{0}};
    z = lf_zip_open(path, &e1);
    EXPECT(!z, "accepted a bad file");
    lf_zip_close(z);
    z = lf_zip_open_memory(b.p, b.n, path, &e2);
    EXPECT(!z && !strcmp(e1.msg, e2.msg), "file '%s' vs memory '%s'", e1.msg, e2.msg);
    lf_zip_close(z);

    EXPECT(!lf_zip_open(g_dir, &err) && strstr(err.msg, "not a regular file"), "%s", err.msg);
    snprintf(path, sizeof(path), "%s/missing", g_dir);
    EXPECT(!lf_zip_open(path, &err) && strstr(err.msg, "cannot open: No such file"), "%s", err.msg);
    free(b.p);
    TEST_END();
}

/* Every accepted archive keeps its entries inside the buffer; every
 * rejection is one line naming the archive. */
static bool sane(const uint8_t *p, size_t n, char *why, size_t why_n) {
    lf_error err = {{0}};
    lf_zip *z = lf_zip_open_memory(p, n, "m.zip", &err);
    bool ok = true;
    if (!z) {
        ok = !strncmp(err.msg, "m.zip: ", 7) && !strchr(err.msg, '\n');
        snprintf(why, why_n, "bad message '%s'", err.msg);
    }
    for (int64_t i = 0; z && i < lf_zip_count(z); i++) {
        const lf_zip_entry *e = lf_zip_entry_at(z, i);
        if (e->data_offset > n || e->compressed_size > n - e->data_offset ||
            strlen(e->name) != e->name_len) {
            snprintf(why, why_n, "entry %lld out of bounds", (long long)i);
            ok = false;
        }
    }
    lf_zip_close(z);
    return ok;
}

static void test_corruption(void) {
    TEST_BEGIN("zip: every truncation and byte corruption is handled");
    gb b = {0};
    zb_layout L;
    zb_build(&b, &L, &(zb_opts){.zip64_end = true, .zip64_extra = true});
    char why[600] = "";
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.p, n);
        bad += !sane(copy, n, why, sizeof(why));
        free(copy);
    }
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < b.n; i++)
        for (size_t k = 0; k < sizeof(masks); k++) {
            b.p[i] ^= masks[k];
            bad += !sane(b.p, b.n, why, sizeof(why));
            b.p[i] ^= masks[k];
        }
    EXPECT(bad == 0, "%d failures, last: %s", bad, why);
    free(b.p);
    TEST_END();
}

int main(void) {
    if (!mkdtemp(g_dir)) {
        printf("FAIL zip: cannot make a temporary directory\n");
        return 1;
    }
    test_valid();
    test_lookups();
    test_files();
    test_corruption();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", g_dir);
    return test_summary();
}
