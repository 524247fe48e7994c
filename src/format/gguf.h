/* gguf.h — internals shared by the GGUF reader, the split loader and the
 * writer. The public API is the lf_gguf_* section of llamafile.h. */
#ifndef LF_FORMAT_GGUF_H
#define LF_FORMAT_GGUF_H

#include "llamafile.h"
#include "platform/mapfile.h"

#define LF_GGUF_MAGIC "GGUF"
#define LF_GGUF_DEFAULT_ALIGNMENT 32
#define LF_GGUF_MAX_NAME 63 /* ggml's GGML_MAX_NAME (64) less the NUL */
#define LF_GGUF_MAX_KEY 65535
#define LF_GGUF_MAX_DIMS 4

/* Open-addressing hash from a string to an index; -1 marks empty slots.
 * The strings are owned by the caller (they point into the mapping). */
typedef struct lf_gguf_index {
    int64_t *slots;
    const lf_str *(*key_of)(const void *ctx, int64_t i);
    const void *ctx;
    uint64_t mask; /* capacity - 1 (capacity is a power of two) */
} lf_gguf_index;

/* Sizes the table for n entries; false on out-of-memory. */
bool lf_gguf_index_init(lf_gguf_index *ix, int64_t n,
                        const lf_str *(*key_of)(const void *, int64_t),
                        const void *ctx);
/* Adds entry i; returns the index already holding an equal key (and adds
 * nothing), or -1 when i was added. */
int64_t lf_gguf_index_add(lf_gguf_index *ix, int64_t i);
int64_t lf_gguf_index_find(const lf_gguf_index *ix, const char *s, uint64_t len);
void lf_gguf_index_free(lf_gguf_index *ix);

typedef struct lf_gguf_kv {
    lf_str key;
    lf_gguf_value value;
    const uint8_t *arr;  /* arrays: first element */
    uint64_t *str_index; /* string arrays: byte offset of element j from arr */
} lf_gguf_kv;

struct lf_gguf {
    uint32_t version;
    uint32_t alignment;
    const uint8_t *base; /* the whole shard (file, range or memory) */
    uint64_t size;
    uint64_t data_offset;
    lf_map map; /* owned mapping, if any */

    int64_t n_kv;
    lf_gguf_kv *kv;
    lf_gguf_index kv_index;

    int64_t n_tensors;
    lf_gguf_tensor *tensors;
    lf_gguf_index tensor_index;

    /* Split models: shards[0] is this handle; the others are complete
     * handles owned by it. NULL for a single file. */
    int n_shards;
    struct lf_gguf **shards;
};

/* Parses a GGUF held in [base, base+size) without copying it; name is used
 * in messages. The result does not own base. */
lf_gguf *lf_gguf_parse(const void *base, uint64_t size, const char *name,
                       lf_error *err);

/* Where kv i's record and its value start, relative to g->base. */
static inline uint64_t lf_gguf_kv_offset(const lf_gguf *g, int64_t i) {
    return (uint64_t)((const uint8_t *)g->kv[i].key.ptr - g->base) - 8;
}
static inline uint64_t lf_gguf_kv_value_offset(const lf_gguf *g, int64_t i) {
    return (uint64_t)((const uint8_t *)g->kv[i].key.ptr - g->base) +
           g->kv[i].key.len + 4;
}

/* Maps and parses one whole file (no split handling). */
lf_gguf *lf_gguf_open_one(const char *path, lf_error *err);

/* Called on a freshly opened first shard whose split.count is > 1: opens
 * the other shards named after path and merges their tensors into g. On
 * failure g is left as it was (the caller closes it). */
bool lf_gguf_load_split(lf_gguf *g, const char *path, lf_error *err);

/* Copies s into buf (size n) for an error message: at most ~60 bytes, with
 * anything unprintable shown as \xNN so the message stays on one line. */
const char *lf_gguf_quote(char *buf, size_t n, const char *s, uint64_t len);

static inline uint64_t lf_gguf_align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) & ~(a - 1);
}

static inline bool lf_gguf_is_pow2(uint64_t x) {
    return x && !(x & (x - 1));
}

/* Encoded size of a fixed-size value type; 0 for string, array, unknown. */
static inline uint64_t lf_gguf_scalar_size(int type) {
    switch (type) {
    case LF_GGUF_UINT8: case LF_GGUF_INT8: case LF_GGUF_BOOL: return 1;
    case LF_GGUF_UINT16: case LF_GGUF_INT16: return 2;
    case LF_GGUF_UINT32: case LF_GGUF_INT32: case LF_GGUF_FLOAT32: return 4;
    case LF_GGUF_UINT64: case LF_GGUF_INT64: case LF_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* Decodes the little-endian scalar of the given type at p. */
lf_gguf_value lf_gguf_decode_scalar(int type, const uint8_t *p);

#endif
