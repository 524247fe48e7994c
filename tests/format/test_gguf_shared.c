/* test_gguf_shared.c — every GGUF in ../shared (models, vocab, vectors)
 * opens, walks cleanly, and its tensor data fits the file exactly as a
 * ggml writer lays it out. */
#include <dirent.h>

#include "../harness.h"
#include "llamafile.h"

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Touches every key and array element; returns the number of elements. */
static uint64_t walk_metadata(const lf_gguf *g) {
    uint64_t n = 0;
    for (int64_t k = 0; k < lf_gguf_kv_count(g); k++) {
        lf_str key = lf_gguf_kv_key(g, k);
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)key.len, key.ptr);
        EXPECT(key.len >= sizeof(name) || lf_gguf_find_key(g, name) == k, "key %s", name);
        lf_gguf_value v = lf_gguf_kv_value(g, k), e;
        EXPECT(lf_gguf_type_name(v.type), "value type %d", v.type);
        for (uint64_t j = 0; v.type == LF_GGUF_ARRAY && j < v.arr_n; j++, n++)
            EXPECT(lf_gguf_arr_get(g, k, j, &e) && e.type == v.arr_type, "element %llu",
                   (unsigned long long)j);
    }
    return n;
}

static void check_layout(const lf_gguf *g, const char *path) {
    uint64_t size = lf_gguf_file_size(g, 0), data = lf_gguf_data_offset(g, 0);
    uint64_t align = lf_gguf_alignment(g), end = 0, sum = 0;
    int64_t n = lf_gguf_tensor_count(g);
    EXPECT(data % align == 0, "%s: data offset %llu", path, (unsigned long long)data);
    for (int64_t i = 0; i < n; i++) {
        const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
        int64_t row = lf_type_row_bytes(t->type, t->ne[0]);
        EXPECT(row > 0 && (uint64_t)(row * t->ne[1] * t->ne[2] * t->ne[3]) == t->nbytes,
               "%s: tensor %lld size", path, (long long)i);
        EXPECT(t->offset % align == 0 && t->data, "%s: tensor %lld offset", path, (long long)i);
        EXPECT(t->file_offset == data + t->offset, "file offset");
        if (t->offset + t->nbytes > end)
            end = t->offset + t->nbytes;
        sum += t->nbytes;
    }
    if (n == 0) {
        /* Vocab-only files may stop right after the infos, unpadded. */
        EXPECT(data >= size && data - size < align, "%s: %llu bytes, data at %llu", path,
               (unsigned long long)size, (unsigned long long)data);
        return;
    }
    EXPECT(data + end <= size, "%s: last tensor ends at %llu, past %llu", path,
           (unsigned long long)(data + end), (unsigned long long)size);
    EXPECT(size >= data + sum && size - data - sum < align * (uint64_t)n,
           "%s: %llu bytes of data for %llu bytes of tensors", path,
           (unsigned long long)(size - data), (unsigned long long)sum);
}

static void test_file(const char *path) {
    char title[1100];
    snprintf(title, sizeof(title), "gguf reads %s", path);
    TEST_BEGIN(title);
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open(path, &err);
    EXPECT(g, "%s", err.msg);
    if (g) {
        lf_str arch;
        EXPECT(lf_gguf_get_str(g, "general.architecture", &arch) && arch.len > 0, "no architecture");
        walk_metadata(g);
        check_layout(g, path);
        for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++) {
            const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)t->name.len, t->name.ptr);
            EXPECT(lf_gguf_find_tensor(g, name) == t, "find %s", name);
        }
    }
    lf_gguf_close(g);
    TEST_END();
}

/* Known facts about the one real model. */
static void test_stories(const char *shared) {
    char path[512];
    snprintf(path, sizeof(path), "%s/models/stories260K.gguf", shared);
    TEST_BEGIN("gguf stories260K.gguf metadata");
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open(path, &err);
    EXPECT(g, "%s", err.msg);
    if (g) {
        int64_t v;
        lf_str s;
        EXPECT(lf_gguf_version(g) == 3 && lf_gguf_tensor_count(g) == 48, "header");
        EXPECT(lf_gguf_get_str(g, "general.architecture", &s) && s.len == 5 && !memcmp(s.ptr, "llama", 5), "arch");
        EXPECT(lf_gguf_get_int(g, "llama.block_count", &v) && v == 5, "block_count");
        EXPECT(lf_gguf_get_int(g, "llama.embedding_length", &v) && v == 64, "n_embd");
        int64_t k = lf_gguf_find_key(g, "tokenizer.ggml.tokens");
        lf_gguf_value tv = lf_gguf_kv_value(g, k);
        EXPECT(tv.type == LF_GGUF_ARRAY && tv.arr_type == LF_GGUF_STRING && tv.arr_n == 512, "tokens");
        const lf_gguf_tensor *t = lf_gguf_find_tensor(g, "token_embd.weight");
        EXPECT(t && t->type == LF_TYPE_F32 && t->ne[0] == 64 && t->ne[1] == 512, "token_embd");
    }
    lf_gguf_close(g);
    TEST_END();
}

static int test_dir(const char *shared, const char *sub) {
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", shared, sub);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".gguf"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        test_file(path);
        free(names[i]);
    }
    return n;
}

int main(void) {
    const char *shared = test_shared_dir();
    DIR *d = opendir(shared);
    if (!d) {
        SKIP("gguf shared files", "%s is missing", shared);
        return test_summary();
    }
    closedir(d);
    int n = test_dir(shared, "models") + test_dir(shared, "vocab") + test_dir(shared, "vectors");
    if (n == 0)
        SKIP("gguf shared files", "no .gguf files under %s", shared);
    else
        test_stories(shared);
    return test_summary();
}
