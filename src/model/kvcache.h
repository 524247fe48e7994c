/* kvcache.h — the attention key/value cache: n_cells slots, each holding one
 * token's keys and values for every layer, tagged with its position and
 * sequence. Slots are found for a batch before it runs; a sequence can be
 * cleared or cut back to a position (for the server's slots). */
#ifndef LF_MODEL_KVCACHE_H
#define LF_MODEL_KVCACHE_H

#include "llamafile.h"

typedef struct lf_kvcache {
    int type;          /* LF_TYPE_F16 or LF_TYPE_F32 */
    int n_layer;
    int64_t n_cells;
    int64_t k_row, v_row;  /* elements per cell per layer */
    size_t k_row_bytes, v_row_bytes;
    void **k, **v;     /* per layer: n_cells rows; NULL for layers without a cache */
    int32_t *pos;      /* per cell; -1 when free */
    int32_t *seq;      /* per cell */
    int64_t used;
} lf_kvcache;

/* k_row/v_row: elements per cell (n_head_kv * head_dim) of each layer;
 * a layer with k_row 0 gets no storage. */
bool lf_kvcache_init(lf_kvcache *c, int type, int n_layer, int64_t n_cells,
                     const int64_t *k_row, const int64_t *v_row, lf_error *err);
void lf_kvcache_free(lf_kvcache *c);
/* Reserves a cell for each of n tokens (pos/seq given), writing cell indices. */
bool lf_kvcache_alloc(lf_kvcache *c, int64_t n, const int32_t *pos, const int32_t *seq,
                      int32_t *cells, lf_error *err);
/* Stores one token's keys and values (floats, converted to the cache type). */
void lf_kvcache_store(lf_kvcache *c, int layer, int32_t cell, const float *k, const float *v);
/* Frees the cells of seq (every sequence if seq < 0) with p0 <= pos < p1
 * (p1 < 0: to the end). */
void lf_kvcache_remove(lf_kvcache *c, int32_t seq, int32_t p0, int32_t p1);
/* Largest position stored for seq, or -1. */
int32_t lf_kvcache_seq_pos_max(const lf_kvcache *c, int32_t seq);

#endif
