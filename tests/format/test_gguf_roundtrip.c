/* test_gguf_roundtrip.c — writer → reader round trips: every value type,
 * arrays, tensors, alignment, atomic file writes (through a symbolic link;
 * never over a FIFO or a directory), a GGUF embedded in a bigger file, and
 * split models. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "llamafile.h"

static lf_error err;

static bool str_eq(lf_str s, const char *c) {
    return s.len == strlen(c) && !memcmp(s.ptr, c, s.len);
}

static void set_all_scalars(lf_gguf_writer *w) {
    uint8_t u8 = 200; int8_t i8 = -100; uint16_t u16 = 60000; int16_t i16 = -30000;
    int32_t i32 = -2000000000; uint64_t u64 = 0xfedcba9876543210ull; int64_t i64 = -5000000000ll;
    double f64 = 3.141592653589793; bool b = true;
    lf_gguf_set_scalar(w, "t.u8", LF_GGUF_UINT8, &u8, &err);
    lf_gguf_set_scalar(w, "t.i8", LF_GGUF_INT8, &i8, &err);
    lf_gguf_set_scalar(w, "t.u16", LF_GGUF_UINT16, &u16, &err);
    lf_gguf_set_scalar(w, "t.i16", LF_GGUF_INT16, &i16, &err);
    lf_gguf_set_u32(w, "t.u32", 4000000000u, &err);
    lf_gguf_set_scalar(w, "t.i32", LF_GGUF_INT32, &i32, &err);
    lf_gguf_set_f32(w, "t.f32", 0.25f, &err);
    lf_gguf_set_scalar(w, "t.bool", LF_GGUF_BOOL, &b, &err);
    lf_gguf_set_str(w, "t.str", "héllo", &err);
    lf_gguf_set_scalar(w, "t.u64", LF_GGUF_UINT64, &u64, &err);
    lf_gguf_set_scalar(w, "t.i64", LF_GGUF_INT64, &i64, &err);
    lf_gguf_set_scalar(w, "t.f64", LF_GGUF_FLOAT64, &f64, &err);
}

static void check_all_scalars(const lf_gguf *g) {
    int64_t i;
    double f;
    bool b;
    lf_str s;
    EXPECT(lf_gguf_get_int(g, "t.u8", &i) && i == 200, "u8");
    EXPECT(lf_gguf_get_int(g, "t.i8", &i) && i == -100, "i8");
    EXPECT(lf_gguf_get_int(g, "t.u16", &i) && i == 60000, "u16");
    EXPECT(lf_gguf_get_int(g, "t.i16", &i) && i == -30000, "i16");
    EXPECT(lf_gguf_get_int(g, "t.u32", &i) && i == 4000000000ll, "u32");
    EXPECT(lf_gguf_get_int(g, "t.i32", &i) && i == -2000000000, "i32");
    EXPECT(lf_gguf_get_float(g, "t.f32", &f) && f == 0.25, "f32");
    EXPECT(lf_gguf_get_bool(g, "t.bool", &b) && b, "bool");
    EXPECT(lf_gguf_get_str(g, "t.str", &s) && str_eq(s, "héllo"), "str");
    EXPECT(!lf_gguf_get_int(g, "t.u64", &i), "u64 above INT64_MAX read as int");
    lf_gguf_value v = lf_gguf_kv_value(g, lf_gguf_find_key(g, "t.u64"));
    EXPECT(v.type == LF_GGUF_UINT64 && v.v.u == 0xfedcba9876543210ull, "u64");
    EXPECT(lf_gguf_get_int(g, "t.i64", &i) && i == -5000000000ll, "i64");
    EXPECT(lf_gguf_get_float(g, "t.f64", &f) && f == 3.141592653589793, "f64");
    EXPECT(!lf_gguf_get_str(g, "t.u8", &s) && !lf_gguf_get_float(g, "t.u8", &f) &&
           !lf_gguf_get_int(g, "t.str", &i) && !lf_gguf_get_int(g, "missing", &i), "type checks");
}

static void set_arrays(lf_gguf_writer *w) {
    static const int32_t ai[5] = {1, -2, 3, -4, 5};
    static const float af[3] = {0.5f, -1.5f, 1e-3f};
    static const uint8_t ab[4] = {1, 0, 0, 1};
    static const uint64_t au[2] = {1, 0xffffffffffffffffull};
    static const char *const as[4] = {"<unk>", "", "▁the", "a b"};
    lf_gguf_set_arr(w, "a.i32", LF_GGUF_INT32, ai, 5, &err);
    lf_gguf_set_arr(w, "a.f32", LF_GGUF_FLOAT32, af, 3, &err);
    lf_gguf_set_arr(w, "a.bool", LF_GGUF_BOOL, ab, 4, &err);
    lf_gguf_set_arr(w, "a.u64", LF_GGUF_UINT64, au, 2, &err);
    lf_gguf_set_arr(w, "a.empty", LF_GGUF_INT16, NULL, 0, &err);
    lf_gguf_set_arr_str(w, "a.str", as, 4, &err);
}

static void check_arrays(const lf_gguf *g) {
    lf_gguf_value v, e;
    int64_t k = lf_gguf_find_key(g, "a.i32");
    v = lf_gguf_kv_value(g, k);
    EXPECT(v.type == LF_GGUF_ARRAY && v.arr_type == LF_GGUF_INT32 && v.arr_n == 5, "a.i32 header");
    EXPECT(lf_gguf_arr_get(g, k, 3, &e) && e.type == LF_GGUF_INT32 && e.v.i == -4, "a.i32[3]");
    k = lf_gguf_find_key(g, "a.f32");
    EXPECT(lf_gguf_arr_get(g, k, 2, &e) && e.v.f == (double)1e-3f, "a.f32[2]");
    k = lf_gguf_find_key(g, "a.bool");
    EXPECT(lf_gguf_arr_get(g, k, 3, &e) && e.type == LF_GGUF_BOOL && e.v.b, "a.bool[3]");
    EXPECT(lf_gguf_arr_get(g, k, 1, &e) && !e.v.b, "a.bool[1]");
    k = lf_gguf_find_key(g, "a.u64");
    EXPECT(lf_gguf_arr_get(g, k, 1, &e) && e.v.u == 0xffffffffffffffffull, "a.u64[1]");
    k = lf_gguf_find_key(g, "a.empty");
    v = lf_gguf_kv_value(g, k);
    EXPECT(v.arr_n == 0 && v.arr_type == LF_GGUF_INT16 && !lf_gguf_arr_get(g, k, 0, &e), "a.empty");
    k = lf_gguf_find_key(g, "a.str");
    v = lf_gguf_kv_value(g, k);
    EXPECT(v.arr_type == LF_GGUF_STRING && v.arr_n == 4, "a.str header");
    EXPECT(lf_gguf_arr_get(g, k, 0, &e) && str_eq(e.v.s, "<unk>"), "a.str[0]");
    EXPECT(lf_gguf_arr_get(g, k, 1, &e) && e.v.s.len == 0, "a.str[1]");
    EXPECT(lf_gguf_arr_get(g, k, 2, &e) && str_eq(e.v.s, "▁the"), "a.str[2]");
    EXPECT(lf_gguf_arr_get(g, k, 3, &e) && str_eq(e.v.s, "a b"), "a.str[3]");
    EXPECT(!lf_gguf_arr_get(g, k, 4, &e) && !lf_gguf_arr_get(g, 0, 0, &e), "out of range");
}

/* Tensor payloads: a byte pattern per tensor. */
static uint8_t payload[4][4096];

static void add_tensors(lf_gguf_writer *w, const char *prefix) {
    static const int64_t ne_f32[2] = {4, 3}, ne_q4[2] = {64, 2}, ne_q8[1] = {32}, ne_f16[4] = {8, 2, 3, 1};
    static const int types[4] = {LF_TYPE_F32, LF_TYPE_Q4_0, LF_TYPE_Q8_0, LF_TYPE_F16};
    const int64_t *nes[4] = {ne_f32, ne_q4, ne_q8, ne_f16};
    static const int dims[4] = {2, 2, 1, 4};
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 4096; i++)
            payload[t][i] = (uint8_t)(i * 7 + t * 31 + 1);
        char name[64];
        snprintf(name, sizeof(name), "%s%d", prefix, t);
        EXPECT(lf_gguf_add_tensor(w, name, types[t], dims[t], nes[t], payload[t], &err),
               "add %s: %s", name, err.msg);
    }
}

static void check_tensors(const lf_gguf *g, const char *prefix, uint32_t align) {
    static const uint64_t sizes[4] = {48, 72, 34, 96};
    uint64_t want_offset = 0;
    EXPECT(lf_gguf_tensor_count(g) == 4, "tensor count %lld", (long long)lf_gguf_tensor_count(g));
    EXPECT(lf_gguf_data_offset(g, 0) % align == 0, "data offset not aligned");
    for (int t = 0; t < 4 && t < lf_gguf_tensor_count(g); t++) {
        const lf_gguf_tensor *x = lf_gguf_tensor_at(g, t);
        char name[64];
        snprintf(name, sizeof(name), "%s%d", prefix, t);
        EXPECT(str_eq(x->name, name) && lf_gguf_find_tensor(g, name) == x, "tensor %d name", t);
        EXPECT(x->nbytes == sizes[t], "tensor %d is %llu bytes", t, (unsigned long long)x->nbytes);
        EXPECT(x->offset == want_offset, "tensor %d at %llu, want %llu", t,
               (unsigned long long)x->offset, (unsigned long long)want_offset);
        EXPECT(!memcmp(x->data, payload[t], x->nbytes), "tensor %d data", t);
        EXPECT(x->file_offset == lf_gguf_data_offset(g, 0) + x->offset, "file offset");
        want_offset += (x->nbytes + align - 1) / align * align;
    }
    const lf_gguf_tensor *f16 = lf_gguf_tensor_at(g, 3);
    EXPECT(f16 && f16->n_dims == 4 && f16->ne[0] == 8 && f16->ne[1] == 2 && f16->ne[2] == 3 &&
           f16->ne[3] == 1, "f16 shape");
    const lf_gguf_tensor *q8 = lf_gguf_tensor_at(g, 2);
    EXPECT(q8 && q8->n_dims == 1 && q8->ne[1] == 1 && q8->type == LF_TYPE_Q8_0, "q8 shape");
    EXPECT(lf_gguf_data_offset(g, 0) + want_offset == lf_gguf_file_size(g, 0), "file size");
}

static void test_values_and_tensors(void) {
    TEST_BEGIN("gguf writer/reader round trip of every value type, arrays and tensors");
    lf_gguf_writer *w = lf_gguf_writer_new();
    lf_gguf_set_str(w, "general.architecture", "first", &err);
    set_all_scalars(w);
    set_arrays(w);
    EXPECT(lf_gguf_set_str(w, "general.architecture", "llama", &err), "reset");
    add_tensors(w, "blk.");
    void *buf = NULL;
    size_t n = 0;
    EXPECT(lf_gguf_writer_to_memory(w, &buf, &n, &err), "to_memory: %s", err.msg);
    lf_gguf *g = lf_gguf_open_memory(buf, n, "mem.gguf", &err);
    EXPECT(g, "open: %s", err.msg);
    if (g) {
        EXPECT(lf_gguf_version(g) == 3 && lf_gguf_alignment(g) == 32, "version/alignment");
        EXPECT(lf_gguf_kv_count(g) == 19, "kv count %lld", (long long)lf_gguf_kv_count(g));
        lf_str s;
        EXPECT(lf_gguf_get_str(g, "general.architecture", &s) && str_eq(s, "llama"), "last value kept");
        EXPECT(str_eq(lf_gguf_kv_key(g, 0), "general.architecture"), "first position kept");
        EXPECT(str_eq(lf_gguf_kv_key(g, 1), "t.u8") && str_eq(lf_gguf_kv_key(g, 18), "a.str"), "order");
        EXPECT(lf_gguf_kv_key(g, 19).ptr == NULL && lf_gguf_kv_value(g, -1).type < 0, "out of range");
        check_all_scalars(g);
        check_arrays(g);
        check_tensors(g, "blk.", 32);
        EXPECT(lf_gguf_shard_count(g) == 1 && lf_gguf_tensor_at(g, 0)->shard == 0, "shards");
        EXPECT(!lf_gguf_find_tensor(g, "blk.9") && !lf_gguf_tensor_at(g, 4), "missing tensor");
    }
    lf_gguf_close(g);
    free(buf);
    lf_gguf_writer_free(w);
    TEST_END();
}

static void test_alignment(void) {
    TEST_BEGIN("gguf writer honours general.alignment");
    uint32_t aligns[3] = {64, 1, 4096};
    for (int a = 0; a < 3; a++) {
        lf_gguf_writer *w = lf_gguf_writer_new();
        add_tensors(w, "t");
        EXPECT(lf_gguf_set_u32(w, "general.alignment", aligns[a], &err), "set: %s", err.msg);
        void *buf = NULL;
        size_t n = 0;
        EXPECT(lf_gguf_writer_to_memory(w, &buf, &n, &err), "to_memory: %s", err.msg);
        lf_gguf *g = lf_gguf_open_memory(buf, n, "align.gguf", &err);
        EXPECT(g, "open: %s", err.msg);
        if (g) {
            EXPECT(lf_gguf_alignment(g) == aligns[a], "alignment %u", lf_gguf_alignment(g));
            check_tensors(g, "t", aligns[a]);
        }
        lf_gguf_close(g);
        free(buf);
        lf_gguf_writer_free(w);
    }
    lf_gguf_writer *w = lf_gguf_writer_new();
    EXPECT(!lf_gguf_set_u32(w, "general.alignment", 48, &err) && strstr(err.msg, "power of two"),
           "48: %s", err.msg);
    EXPECT(!lf_gguf_set_u32(w, "general.alignment", 0, &err), "0 accepted");
    EXPECT(!lf_gguf_set_str(w, "general.alignment", "32", &err) && strstr(err.msg, "uint32"),
           "string: %s", err.msg);
    lf_gguf_writer_free(w);
    TEST_END();
}

static void test_writer_errors(void) {
    TEST_BEGIN("gguf writer rejects bad keys and tensors");
    lf_gguf_writer *w = lf_gguf_writer_new();
    int64_t ne[2] = {32, 2}, bad[2] = {48, 1}, zero[2] = {32, 0};
    char longname[70];
    memset(longname, 'x', 64);
    longname[64] = 0;
    EXPECT(lf_gguf_add_tensor(w, "a", LF_TYPE_Q8_0, 2, ne, NULL, &err), "add: %s", err.msg);
    EXPECT(!lf_gguf_add_tensor(w, "a", LF_TYPE_F32, 2, ne, NULL, &err) && strstr(err.msg, "duplicate"), "dup");
    EXPECT(!lf_gguf_add_tensor(w, "b", LF_TYPE_Q8_0, 2, bad, NULL, &err) && strstr(err.msg, "block size"), "block");
    EXPECT(!lf_gguf_add_tensor(w, "b", LF_TYPE_F32, 2, zero, NULL, &err) && strstr(err.msg, "positive"), "zero");
    EXPECT(!lf_gguf_add_tensor(w, "b", 4, 2, ne, NULL, &err) && strstr(err.msg, "unknown tensor type"), "type");
    EXPECT(!lf_gguf_add_tensor(w, "b", LF_TYPE_F32, 5, ne, NULL, &err) && strstr(err.msg, "n_dims"), "dims");
    EXPECT(!lf_gguf_add_tensor(w, longname, LF_TYPE_F32, 2, ne, NULL, &err) && strstr(err.msg, "longer than 63"), "name");
    EXPECT(!lf_gguf_add_tensor(w, "", LF_TYPE_F32, 2, ne, NULL, &err), "empty name");
    EXPECT(!lf_gguf_set_u32(w, "", 1, &err) && strstr(err.msg, "empty key"), "empty key");
    EXPECT(!lf_gguf_set_arr(w, "k", LF_GGUF_STRING, NULL, 0, &err), "string array via set_arr");
    EXPECT(!lf_gguf_set_scalar(w, "k", LF_GGUF_ARRAY, NULL, &err), "array as scalar");
    /* A NULL-data tensor is written as zeros. */
    void *buf = NULL;
    size_t n = 0;
    EXPECT(lf_gguf_writer_to_memory(w, &buf, &n, &err), "to_memory: %s", err.msg);
    lf_gguf *g = lf_gguf_open_memory(buf, n, "z.gguf", &err);
    const lf_gguf_tensor *t = g ? lf_gguf_find_tensor(g, "a") : NULL;
    EXPECT(t && t->nbytes == 68 && ((const uint8_t *)t->data)[67] == 0, "zero tensor");
    lf_gguf_close(g);
    free(buf);
    lf_gguf_writer_free(w);
    TEST_END();
}

static char tmpdir[256];

static void make_tmpdir(void) {
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/lf_gguf_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        tmpdir[0] = 0;
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

static int count_files(void) {
    int n = 0;
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_write_file_and_range(void) {
    TEST_BEGIN("gguf writer writes files atomically; lf_gguf_open_range reads an embedded GGUF");
    char path[512], outer[512];
    snprintf(path, sizeof(path), "%s/model.gguf", tmpdir);
    snprintf(outer, sizeof(outer), "%s/outer.bin", tmpdir);
    lf_gguf_writer *w = lf_gguf_writer_new();
    lf_gguf_set_str(w, "general.architecture", "llama", &err);
    lf_gguf_set_u32(w, "general.alignment", 64, &err);
    add_tensors(w, "x");
    EXPECT(lf_gguf_writer_write(w, path, &err), "write: %s", err.msg);
    EXPECT(lf_gguf_writer_write(w, path, &err), "overwrite: %s", err.msg);
    EXPECT(count_files() == 1, "temporary files left behind");
    char nodir[600];
    snprintf(nodir, sizeof(nodir), "%s/no/such/dir.gguf", tmpdir);
    EXPECT(!lf_gguf_writer_write(w, nodir, &err) && strstr(err.msg, nodir), "bad dir: %s", err.msg);
    lf_gguf *g = lf_gguf_open(path, &err);
    EXPECT(g, "open: %s", err.msg);
    if (g)
        check_tensors(g, "x", 64);
    lf_gguf_close(g);

    /* Embed at an odd offset with junk on both sides. */
    void *buf = NULL;
    size_t n = 0;
    lf_gguf_writer_to_memory(w, &buf, &n, &err);
    int fd = open(outer, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char junk[1001];
    memset(junk, 'J', sizeof(junk));
    EXPECT(fd >= 0 && write(fd, junk, 1001) == 1001 && write(fd, buf, n) == (ssize_t)n &&
           write(fd, junk, 500) == 500, "write outer");
    g = lf_gguf_open_range(fd, 1001, n, "outer.bin#model.gguf", &err);
    EXPECT(g, "open_range: %s", err.msg);
    if (g) {
        check_tensors(g, "x", 64);
        EXPECT(lf_gguf_file_size(g, 0) == n, "range size");
    }
    lf_gguf_close(g);
    /* Offsets in messages are relative to the range: corrupt the alignment
     * value (right after the first key) inside the embedded copy. */
    uint32_t bad = 48;
    size_t at = 24 + 8 + strlen("general.architecture") + 4 + 8 + 5 + 8 + strlen("general.alignment") + 4;
    EXPECT(pwrite(fd, &bad, 4, (off_t)(1001 + at)) == 4, "pwrite");
    g = lf_gguf_open_range(fd, 1001, n, "outer.bin#model.gguf", &err);
    char want[128];
    snprintf(want, sizeof(want), "outer.bin#model.gguf: offset %zu: key 'general.alignment': must be a power of two, got 48", at);
    EXPECT(!g && !strcmp(err.msg, want), "got '%s', want '%s'", err.msg, want);
    lf_gguf_close(g);
    EXPECT(!lf_gguf_open_range(fd, 1001, n + 1000, "outer", &err) && strstr(err.msg, "past the end"),
           "range past end: %s", err.msg);
    close(fd);
    free(buf);
    lf_gguf_writer_free(w);
    unlink(outer);
    unlink(path);
    EXPECT(!lf_gguf_open(path, &err) && strstr(err.msg, path), "missing file: %s", err.msg);
    TEST_END();
}

static void test_write_special_paths(void) {
    TEST_BEGIN("gguf writer: writes through a symbolic link, refuses FIFOs, directories, "
               "dangling links; leaves no temporary files");
    char target[512], link[512], fifo[512], dir[512], dangling[512], dirlink[512];
    snprintf(target, sizeof(target), "%s/target.bin", tmpdir);
    snprintf(link, sizeof(link), "%s/link.gguf", tmpdir);
    snprintf(fifo, sizeof(fifo), "%s/fifo.gguf", tmpdir);
    snprintf(dir, sizeof(dir), "%s/dir.gguf", tmpdir);
    snprintf(dangling, sizeof(dangling), "%s/dangling.gguf", tmpdir);
    snprintf(dirlink, sizeof(dirlink), "%s/dirlink.gguf", tmpdir);
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    EXPECT(fd >= 0 && write(fd, "old", 3) == 3 && fchmod(fd, 0640) == 0, "make target");
    close(fd);
    EXPECT(symlink("target.bin", link) == 0 && mkfifo(fifo, 0644) == 0 && mkdir(dir, 0755) == 0 &&
           symlink("missing.bin", dangling) == 0 && symlink("dir.gguf", dirlink) == 0, "setup");
    int before = count_files();
    lf_gguf_writer *w = lf_gguf_writer_new();
    lf_gguf_set_str(w, "general.architecture", "llama", &err);
    add_tensors(w, "x");

    EXPECT(lf_gguf_writer_write(w, link, &err), "write through the link: %s", err.msg);
    struct stat st;
    EXPECT(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    EXPECT(stat(target, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 3 &&
           (st.st_mode & 0777) == 0640, "target not rewritten with its mode (size %lld, mode %o)",
           (long long)st.st_size, (unsigned)(st.st_mode & 0777));
    lf_gguf *g = lf_gguf_open(target, &err);
    EXPECT(g, "target does not read back: %s", err.msg);
    lf_gguf_close(g);

    EXPECT(!lf_gguf_writer_write(w, fifo, &err) && strstr(err.msg, "a FIFO") &&
           strstr(err.msg, fifo), "FIFO: %s", err.msg);
    EXPECT(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    EXPECT(!lf_gguf_writer_write(w, dir, &err) && strstr(err.msg, "a directory"),
           "directory: %s", err.msg);
    EXPECT(!lf_gguf_writer_write(w, dirlink, &err) && strstr(err.msg, "a directory"),
           "link to a directory: %s", err.msg);
    EXPECT(lstat(dirlink, &st) == 0 && S_ISLNK(st.st_mode), "the link to a directory was replaced");
    EXPECT(!lf_gguf_writer_write(w, dangling, &err) && strstr(err.msg, "missing file"),
           "dangling link: %s", err.msg);
    EXPECT(lstat(dangling, &st) == 0 && S_ISLNK(st.st_mode), "the dangling link was replaced");
    EXPECT(count_files() == before, "%d files, want %d (temporary files left?)", count_files(),
           before);
    lf_gguf_writer_free(w);
    unlink(link);
    unlink(target);
    unlink(fifo);
    unlink(dangling);
    unlink(dirlink);
    rmdir(dir);
    TEST_END();
}

/* Writes shard k (0-based) of n with the given tensor names. */
static bool write_shard(const char *prefix, int k, int n, int no, int total,
                        const char *const *names, int n_names) {
    lf_gguf_writer *w = lf_gguf_writer_new();
    uint16_t v16 = (uint16_t)no, c16 = (uint16_t)n;
    int32_t tc = total;
    if (k == 0)
        lf_gguf_set_str(w, "general.architecture", "llama", &err);
    else
        lf_gguf_set_str(w, "shard.only", "hidden", &err);
    lf_gguf_set_scalar(w, "split.no", LF_GGUF_UINT16, &v16, &err);
    lf_gguf_set_scalar(w, "split.count", LF_GGUF_UINT16, &c16, &err);
    lf_gguf_set_scalar(w, "split.tensors.count", LF_GGUF_INT32, &tc, &err);
    for (int i = 0; i < n_names; i++) {
        int64_t ne[1] = {16};
        lf_gguf_add_tensor(w, names[i], LF_TYPE_F32, 1, ne, NULL, &err);
    }
    char path[600];
    snprintf(path, sizeof(path), "%s-%05d-of-%05d.gguf", prefix, k + 1, n);
    bool ok = lf_gguf_writer_write(w, path, &err);
    lf_gguf_writer_free(w);
    return ok;
}

static const char *const s0[] = {"tok_embd", "blk.0.q"};
static const char *const s1[] = {"blk.0.k", "blk.0.v", "blk.1.q"};
static const char *const s2[] = {"output"};

static void write_split(const char *prefix, int total, const char *const *last, int no2) {
    write_shard(prefix, 0, 3, 0, total, s0, 2);
    write_shard(prefix, 1, 3, no2, total, s1, 3);
    write_shard(prefix, 2, 3, 2, total, last, 1);
}

static bool open_split_fails(const char *path, const char *expect) {
    lf_gguf *g = lf_gguf_open(path, &err);
    lf_gguf_close(g);
    return !g && strstr(err.msg, expect) && !strchr(err.msg, '\n');
}

static void test_split(void) {
    TEST_BEGIN("gguf opens a 3-shard split model and rejects broken ones");
    char prefix[512], first[600], second[600], third[600], renamed[600];
    snprintf(prefix, sizeof(prefix), "%s/m", tmpdir);
    snprintf(first, sizeof(first), "%s-00001-of-00003.gguf", prefix);
    snprintf(second, sizeof(second), "%s-00002-of-00003.gguf", prefix);
    snprintf(third, sizeof(third), "%s-00003-of-00003.gguf", prefix);
    snprintf(renamed, sizeof(renamed), "%s/renamed.gguf", tmpdir);
    write_split(prefix, 6, s2, 1);
    lf_gguf *g = lf_gguf_open(first, &err);
    EXPECT(g, "open: %s", err.msg);
    if (g) {
        EXPECT(lf_gguf_shard_count(g) == 3 && lf_gguf_tensor_count(g) == 6, "counts");
        static const char *const all[6] = {"tok_embd", "blk.0.q", "blk.0.k", "blk.0.v", "blk.1.q", "output"};
        static const int shard[6] = {0, 0, 1, 1, 1, 2};
        for (int i = 0; i < 6; i++) {
            const lf_gguf_tensor *t = lf_gguf_find_tensor(g, all[i]);
            EXPECT(t && t == lf_gguf_tensor_at(g, i) && t->shard == shard[i], "tensor %s", all[i]);
            EXPECT(t && t->file_offset + t->nbytes <= lf_gguf_file_size(g, t->shard), "in shard");
        }
        lf_str s;
        EXPECT(lf_gguf_get_str(g, "general.architecture", &s) && !lf_gguf_get_str(g, "shard.only", &s),
               "metadata comes from the first shard");
        EXPECT(lf_gguf_file_size(g, 2) > 0 && lf_gguf_data_offset(g, 1) > 0 &&
               lf_gguf_file_size(g, 3) == 0, "shard sizes");
    }
    lf_gguf_close(g);
    EXPECT(open_split_fails(second, "open the first shard"), "second: %s", err.msg);
    rename(first, renamed);
    EXPECT(open_split_fails(renamed, "does not end in -00001-of-00003.gguf"), "renamed: %s", err.msg);
    rename(renamed, first);
    unlink(third);
    EXPECT(open_split_fails(first, "m-00003-of-00003.gguf: cannot open"), "missing: %s", err.msg);
    write_split(prefix, 7, s2, 1);
    EXPECT(open_split_fails(first, "key 'split.tensors.count': is 7, but the 3 shards hold 6 tensors"),
           "count: %s", err.msg);
    write_split(prefix, 6, s0, 1);
    EXPECT(open_split_fails(first, "tensor 'tok_embd': duplicate tensor name (also in"), "dup: %s", err.msg);
    write_split(prefix, 6, s2, 2);
    EXPECT(open_split_fails(first, "key 'split.no': is 2, expected 1"), "split.no: %s", err.msg);
    TEST_END();
}

int main(void) {
    test_values_and_tensors();
    test_alignment();
    test_writer_errors();
    make_tmpdir();
    if (!tmpdir[0]) {
        SKIP("gguf file tests", "cannot make a temporary directory");
        return test_summary();
    }
    test_write_file_and_range();
    test_write_special_paths();
    test_split();
    remove_tmpdir();
    return test_summary();
}
