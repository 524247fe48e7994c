/* gguf_open.c — opening a GGUF from a file, a byte range of a file, or
 * memory, and closing it. */
#include <stdlib.h>

#include "base/error.h"
#include "format/gguf.h"

lf_gguf *lf_gguf_open_one(const char *path, lf_error *err) {
    lf_map map;
    if (!lf_map_file(&map, path, err))
        return NULL;
    lf_gguf *g = lf_gguf_parse(map.data, map.size, path, err);
    if (!g) {
        lf_unmap(&map);
        return NULL;
    }
    g->map = map;
    return g;
}

/* The split count, or 1 for a single file. */
static int64_t split_count(const lf_gguf *g) {
    int64_t n;
    return lf_gguf_get_int(g, "split.count", &n) ? n : 1;
}

lf_gguf *lf_gguf_open(const char *path, lf_error *err) {
    lf_gguf *g = lf_gguf_open_one(path, err);
    if (g && split_count(g) > 1 && !lf_gguf_load_split(g, path, err)) {
        lf_gguf_close(g);
        return NULL;
    }
    return g;
}

/* A range or a buffer holds one file: its other shards cannot be found. */
static lf_gguf *reject_split(lf_gguf *g, const char *name, lf_error *err) {
    if (split_count(g) <= 1)
        return g;
    int64_t i = lf_gguf_find_key(g, "split.count");
    lf_fail(err, "%s: offset %llu: key 'split.count': this is one shard of a split "
            "model (%lld shards); open it by file name",
            name, (unsigned long long)lf_gguf_kv_value_offset(g, i),
            (long long)split_count(g));
    lf_gguf_close(g);
    return NULL;
}

lf_gguf *lf_gguf_open_range(int fd, uint64_t offset, uint64_t size,
                            const char *name, lf_error *err) {
    lf_map map;
    if (!lf_map_range(&map, fd, offset, size, name, err))
        return NULL;
    lf_gguf *g = lf_gguf_parse(map.data, map.size, name, err);
    if (!g) {
        lf_unmap(&map);
        return NULL;
    }
    g->map = map;
    return reject_split(g, name, err);
}

lf_gguf *lf_gguf_open_memory(const void *data, size_t size, const char *name,
                             lf_error *err) {
    lf_gguf *g = lf_gguf_parse(data, size, name, err);
    return g ? reject_split(g, name, err) : NULL;
}

void lf_gguf_close(lf_gguf *g) {
    if (!g)
        return;
    if (g->shards) {
        for (int i = 1; i < g->n_shards; i++)
            lf_gguf_close(g->shards[i]);
        free(g->shards);
    }
    if (g->kv)
        for (int64_t i = 0; i < g->n_kv; i++)
            free(g->kv[i].str_index);
    free(g->kv);
    free(g->tensors);
    lf_gguf_index_free(&g->kv_index);
    lf_gguf_index_free(&g->tensor_index);
    lf_unmap(&g->map);
    free(g);
}
