/* gguf_split.c — models split by gguf-split into NAME-0000K-of-0000N.gguf.
 *
 * Each shard is a complete GGUF. Metadata comes from the first; the tensors
 * of all shards form one table, each remembering its shard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "format/gguf.h"

#define SPLIT_POSTFIX "-%05d-of-%05d.gguf"

typedef struct split {
    const char *path; /* the first shard's name */
    size_t prefix_len;
    int n;
    lf_gguf **shards;
    lf_error *err;
} split;

/* Reads an integer split key, failing with a message if it is missing. */
static bool split_key(const lf_gguf *g, const char *name, const char *key,
                      int64_t lo, int64_t hi, int64_t *out, lf_error *err) {
    int64_t i = lf_gguf_find_key(g, key);
    if (i < 0)
        return lf_fail(err, "%s: key '%s' is missing from a split model's shard", name, key);
    if (!lf_gguf_get_int(g, key, out) || *out < lo || *out > hi)
        return lf_fail(err, "%s: offset %llu: key '%s': must be an integer in [%lld, %lld]",
                       name, (unsigned long long)lf_gguf_kv_value_offset(g, i), key,
                       (long long)lo, (long long)hi);
    return true;
}

static char *shard_path(const split *s, int k) {
    size_t n = s->prefix_len + 32;
    char *p = lf_malloc(n);
    if (p)
        snprintf(p, n, "%.*s" SPLIT_POSTFIX, (int)s->prefix_len, s->path, k + 1, s->n);
    return p;
}

static bool open_shard(split *s, int k) {
    char *path = shard_path(s, k);
    if (!path)
        return lf_fail(s->err, "%s: out of memory", s->path);
    lf_gguf *g = lf_gguf_open_one(path, s->err);
    int64_t no, count = s->n;
    bool ok = g && split_key(g, path, "split.no", 0, 65535, &no, s->err) &&
              (lf_gguf_find_key(g, "split.count") < 0 ||
               split_key(g, path, "split.count", 0, 65535, &count, s->err));
    if (ok && no != k)
        ok = lf_fail(s->err, "%s: offset %llu: key 'split.no': is %lld, expected %d",
                     path, (unsigned long long)lf_gguf_kv_value_offset(g, lf_gguf_find_key(g, "split.no")),
                     (long long)no, k);
    if (ok && count != s->n)
        ok = lf_fail(s->err, "%s: offset %llu: key 'split.count': is %lld, but the first shard says %d",
                     path, (unsigned long long)lf_gguf_kv_value_offset(g, lf_gguf_find_key(g, "split.count")),
                     (long long)count, s->n);
    free(path);
    if (!ok) {
        lf_gguf_close(g);
        return false;
    }
    s->shards[k] = g;
    return true;
}

static const lf_str *name_of(const void *ctx, int64_t i) {
    return &((const lf_gguf_tensor *)ctx)[i].name;
}

/* Concatenates every shard's tensors into one table with one index. */
static bool merge_tensors(split *s, lf_gguf_tensor **out, lf_gguf_index *ix) {
    int64_t total = 0;
    for (int k = 0; k < s->n; k++)
        total += s->shards[k]->n_tensors; /* each is bounded by its file size */
    lf_gguf_tensor *all = lf_calloc((size_t)total + 1, sizeof(lf_gguf_tensor));
    if (!all || !lf_gguf_index_init(ix, total, name_of, all)) {
        free(all);
        return lf_fail(s->err, "%s: out of memory for %lld tensors", s->path, (long long)total);
    }
    int64_t j = 0;
    for (int k = 0; k < s->n; k++) {
        const lf_gguf *g = s->shards[k];
        for (int64_t i = 0; i < g->n_tensors; i++, j++) {
            all[j] = g->tensors[i];
            all[j].shard = k;
            int64_t dup = lf_gguf_index_add(ix, j);
            if (dup < 0)
                continue;
            char q[80], *path = shard_path(s, k), *other = shard_path(s, all[dup].shard);
            const lf_str *nm = &all[j].name;
            lf_fail(s->err, "%s: offset %llu: tensor '%s': duplicate tensor name (also in %s)",
                    path ? path : s->path,
                    (unsigned long long)((const uint8_t *)nm->ptr - g->base - 8),
                    lf_gguf_quote(q, sizeof(q), nm->ptr, nm->len), other ? other : "another shard");
            free(path);
            free(other);
            free(all);
            lf_gguf_index_free(ix);
            return false;
        }
    }
    *out = all;
    return true;
}

static bool load_shards(split *s, lf_gguf *first) {
    int64_t want;
    if (!split_key(first, s->path, "split.tensors.count", 0, INT32_MAX, &want, s->err))
        return false;
    for (int k = 1; k < s->n; k++)
        if (!open_shard(s, k))
            return false;
    lf_gguf_tensor *all = NULL;
    lf_gguf_index ix;
    if (!merge_tensors(s, &all, &ix))
        return false;
    int64_t total = 0;
    for (int k = 0; k < s->n; k++)
        total += s->shards[k]->n_tensors;
    if (total != want) {
        free(all);
        lf_gguf_index_free(&ix);
        return lf_fail(s->err, "%s: offset %llu: key 'split.tensors.count': is %lld, but the %d shards hold %lld tensors",
                       s->path, (unsigned long long)lf_gguf_kv_value_offset(first, lf_gguf_find_key(first, "split.tensors.count")),
                       (long long)want, s->n, (long long)total);
    }
    free(first->tensors);
    lf_gguf_index_free(&first->tensor_index);
    first->tensors = all;
    first->tensor_index = ix;
    first->n_tensors = total;
    return true;
}

bool lf_gguf_load_split(lf_gguf *g, const char *path, lf_error *err) {
    int64_t n;
    if (!split_key(g, path, "split.count", 1, 65535, &n, err))
        return false;
    int64_t no;
    if (!split_key(g, path, "split.no", 0, 65535, &no, err))
        return false;
    if (no != 0)
        return lf_fail(err, "%s: offset %llu: key 'split.no': this is shard %lld of %lld; "
                       "open the first shard (" SPLIT_POSTFIX ") instead",
                       path, (unsigned long long)lf_gguf_kv_value_offset(g, lf_gguf_find_key(g, "split.no")),
                       (long long)no + 1, (long long)n, 1, (int)n);
    char postfix[64];
    snprintf(postfix, sizeof(postfix), SPLIT_POSTFIX, 1, (int)n);
    size_t len = strlen(path), plen = strlen(postfix);
    if (len < plen || strcmp(path + len - plen, postfix))
        return lf_fail(err, "%s: offset %llu: key 'split.count': the model is split in %lld files, "
                       "but this file's name does not end in %s",
                       path, (unsigned long long)lf_gguf_kv_value_offset(g, lf_gguf_find_key(g, "split.count")),
                       (long long)n, postfix);
    split s = {.path = path, .prefix_len = len - plen, .n = (int)n, .err = err};
    s.shards = lf_calloc((size_t)n, sizeof(lf_gguf *));
    if (!s.shards)
        return lf_fail(err, "%s: out of memory", path);
    s.shards[0] = g;
    bool ok = load_shards(&s, g);
    if (!ok) {
        for (int k = 1; k < s.n; k++)
            lf_gguf_close(s.shards[k]);
        free(s.shards);
        return false;
    }
    g->shards = s.shards;
    g->n_shards = s.n;
    return true;
}
