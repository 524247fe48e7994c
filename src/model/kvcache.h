/* kvcache.h — the attention key/value cache. Cells hold one token's keys and
 * values, tagged with its position and the set of sequences that share it
 * (a bit mask: sequence ids are 0..LF_KV_SEQ_MAX-1); they are found for each
 * ubatch before it runs, and a sequence can be cleared or cut back.
 *
 * Layers are split into groups by their sliding window. Group 0 keeps the
 * full history (n_cells cells) for the layers that attend to everything;
 * each other group serves the layers with one window w and keeps only
 * w * n_seq + n_batch cells: before a ubatch is placed, cells that no
 * present or later query can see (pos <= lowest query pos - w) are evicted.
 * Every token gets a cell in every group; the attention mask is unchanged. */
#ifndef LF_MODEL_KVCACHE_H
#define LF_MODEL_KVCACHE_H

#include "llamafile.h"
#include "tensor/attention.h"
#include "tensor/ops.h"

/* The most sequences a cache (and so a context's n_seq_max) can hold: one
 * bit each in a cell's uint64_t set. */
#define LF_KV_SEQ_MAX 64

typedef struct lf_kv_group {
    int32_t window;    /* 0: full history; else the sliding window */
    int64_t n_cells, used, head;
    int32_t *pos;      /* per cell; -1 when free */
    uint64_t *seqs;    /* per cell: bit s set when sequence s holds it; 0: free */
    int32_t *gone;     /* per sequence: highest evicted position, -1: none */
} lf_kv_group;

typedef struct lf_kvcache {
    int type;          /* LF_TYPE_F16 or LF_TYPE_F32 */
    int n_layer;
    int64_t k_row, v_row;  /* elements per cell per layer (largest layer) */
    size_t k_row_bytes, v_row_bytes;
    void **k, **v;     /* per layer: its group's n_cells rows; NULL: no cache */
    int n_group;
    lf_kv_group *group;
    int *layer_group;  /* per layer */
    int32_t n_seq;     /* sequence ids are < n_seq (<= LF_KV_SEQ_MAX) */
    int32_t *qlow;     /* scratch: per sequence */
    /* group 0 (full history), for callers that know of no other group */
    int64_t n_cells;
    int32_t *pos;
    uint64_t *seqs;
} lf_kvcache;

/* Whether sequence seq holds cell `cell` of group g. */
static inline bool lf_kvcache_has_seq(const lf_kv_group *g, int64_t cell, int32_t seq) {
    return seq >= 0 && seq < LF_KV_SEQ_MAX && ((g->seqs[cell] >> seq) & 1);
}

typedef struct lf_kvcache_layout {
    int type;                  /* LF_TYPE_F16 or LF_TYPE_F32 */
    int n_layer;
    int64_t n_cells;           /* full-history cells: the context size */
    const int64_t *k_row, *v_row; /* per layer, elements; 0: no storage */
    const int32_t *window;     /* per layer sliding window, 0: none; NULL: all 0 */
    int64_t n_batch;           /* most tokens placed at once (a ubatch) */
    int32_t n_seq;             /* number of sequences, 0..LF_KV_SEQ_MAX (0: the most) */
} lf_kvcache_layout;

bool lf_kvcache_init_layout(lf_kvcache *c, const lf_kvcache_layout *l, lf_error *err);
/* One group only (every layer keeps the full history), sequence ids
 * 0..LF_KV_SEQ_MAX-1. */
bool lf_kvcache_init(lf_kvcache *c, int type, int n_layer, int64_t n_cells,
                     const int64_t *k_row, const int64_t *v_row, lf_error *err);
void lf_kvcache_free(lf_kvcache *c);
/* Bytes of K/V storage (all layers). */
size_t lf_kvcache_bytes(const lf_kvcache *c);

/* Places n tokens (pos/seq given) in every group: cells[g * n + t] is token
 * t's cell in group g (n_group * n entries). Evicts what windows no longer
 * need; nothing is placed if any group lacks room. */
bool lf_kvcache_alloc(lf_kvcache *c, int64_t n, const int32_t *pos, const int32_t *seq,
                      int32_t *cells, lf_error *err);
/* Frees the cells of n tokens placed by one lf_kvcache_alloc. */
void lf_kvcache_release(lf_kvcache *c, int64_t n, const int32_t *cells);

/* Token t's cell in the group of `layer`, from lf_kvcache_alloc's cells. */
static inline int32_t lf_kvcache_cell(const lf_kvcache *c, int layer, const int32_t *cells,
                                      int64_t n, int64_t t) {
    return cells[(int64_t)c->layer_group[layer] * n + t];
}
/* Stores one token's keys and values (floats, converted to the cache type)
 * in `cell` of layer's group. */
void lf_kvcache_store(lf_kvcache *c, int layer, int32_t cell, const float *k, const float *v);
/* What lf_attention reads for `layer`. */
lf_attn_kv lf_kvcache_view(const lf_kvcache *c, int layer);

/* Takes seq (every sequence if seq < 0) out of its cells with
 * p0 <= pos < p1 (p1 < 0: to the end); a cell no sequence holds is freed.
 * If that leaves a windowed group without the cells a query at the
 * sequence's next position needs (they were evicted), the whole sequence is
 * removed and the call returns true. */
bool lf_kvcache_remove(lf_kvcache *c, int32_t seq, int32_t p0, int32_t p1);
/* Largest / smallest position stored for seq, or -1. The smallest is that
 * of every group (a window keeps only the tail of a sequence). */
int32_t lf_kvcache_seq_pos_max(const lf_kvcache *c, int32_t seq);
int32_t lf_kvcache_seq_pos_min(const lf_kvcache *c, int32_t seq);
/* Adds dst (0 <= src, dst < n_seq) to the cells of src with p0 <= pos < p1
 * (p1 < 0: to the end): shared, not copied. True if dst then lacked the
 * window its next position needs and was removed whole. */
bool lf_kvcache_copy(lf_kvcache *c, int32_t src, int32_t dst, int32_t p0, int32_t p1);
/* Removes every sequence but seq (seq outside 0..n_seq-1: all of them). */
void lf_kvcache_keep(lf_kvcache *c, int32_t seq);

/* The RoPE a layer's cached keys carry: n_head heads of head_dim floats
 * from the start of each row; rope NULL: none. */
typedef struct lf_kv_rope {
    const lf_rope_params *rope;
    int n_head, head_dim;
} lf_kv_rope;
/* Moves the cells of seq with p0 <= pos < p1 (p0 < 0: 0; p1 < 0: to the
 * end) by delta positions, turning each cached key on by delta with
 * rope[layer] (n_layer entries). A cell that would get a negative position
 * is removed; a cell seq shares with other sequences is first copied so
 * theirs stay. LF_KV_FAILED (nothing changed) when seq is out of range or
 * a group lacks free cells for those copies; LF_KV_DROPPED when a window
 * then lacks cells the sequence's next position needs: it was removed. */
lf_kv_status lf_kvcache_shift(lf_kvcache *c, int32_t seq, int32_t p0, int32_t p1,
                              int32_t delta, const lf_kv_rope *rope, lf_error *err);

/* ---- a sequence's cells as bytes, for saved states (kvstate.c) ---- */
/* A checksum of the layout a saved state depends on: the groups' windows
 * and which group (if any) each layer's rows live in. */
uint32_t lf_kvstate_layout(const lf_kvcache *c);
/* Bytes lf_kvstate_write writes for seq, and writing them. */
size_t lf_kvstate_bytes(const lf_kvcache *c, int32_t seq);
void lf_kvstate_write(const lf_kvcache *c, int32_t seq, uint8_t *dst);
/* Checks that src (at most n bytes) starts with cells this cache can take;
 * *used: their length. */
bool lf_kvstate_check(const lf_kvcache *c, const uint8_t *src, size_t n, size_t *used,
                      lf_error *err);
/* Places checked cells as sequence seq (which should hold none), n_batch
 * at a time where a window must evict. On failure (no room) part of them
 * may be placed: the caller removes seq. */
bool lf_kvstate_read(lf_kvcache *c, int32_t seq, const uint8_t *src, size_t n, int64_t n_batch,
                     lf_error *err);

#endif
