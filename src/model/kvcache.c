#include "model/kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tensor/fp16.h"

bool lf_kvcache_init(lf_kvcache *c, int type, int n_layer, int64_t n_cells,
                     const int64_t *k_row, const int64_t *v_row, lf_error *err) {
    memset(c, 0, sizeof(*c));
    if (type != LF_TYPE_F16 && type != LF_TYPE_F32)
        return lf_fail(err, "KV cache type %s is not supported (use f16 or f32)",
                       lf_type_name(type) ? lf_type_name(type) : "?");
    size_t esize = type == LF_TYPE_F16 ? 2 : 4;
    c->type = type;
    c->n_layer = n_layer;
    c->n_cells = n_cells;
    c->k = calloc((size_t)n_layer, sizeof(void *));
    c->v = calloc((size_t)n_layer, sizeof(void *));
    c->pos = malloc((size_t)n_cells * sizeof(int32_t));
    c->seq = malloc((size_t)n_cells * sizeof(int32_t));
    if (!c->k || !c->v || !c->pos || !c->seq)
        goto oom;
    for (int64_t i = 0; i < n_cells; i++)
        c->pos[i] = -1, c->seq[i] = -1;
    for (int l = 0; l < n_layer; l++) {
        if (!k_row[l])
            continue;
        c->k_row = k_row[l] > c->k_row ? k_row[l] : c->k_row;
        c->v_row = v_row[l] > c->v_row ? v_row[l] : c->v_row;
    }
    c->k_row_bytes = (size_t)c->k_row * esize;
    c->v_row_bytes = (size_t)c->v_row * esize;
    for (int l = 0; l < n_layer; l++) {
        if (!k_row[l])
            continue;
        c->k[l] = calloc((size_t)n_cells, c->k_row_bytes);
        c->v[l] = calloc((size_t)n_cells, c->v_row_bytes ? c->v_row_bytes : 1);
        if (!c->k[l] || !c->v[l])
            goto oom;
    }
    return true;
oom:
    lf_kvcache_free(c);
    return lf_fail(err, "out of memory for a KV cache of %lld cells", (long long)n_cells);
}

void lf_kvcache_free(lf_kvcache *c) {
    for (int l = 0; c->k && l < c->n_layer; l++)
        free(c->k[l]);
    for (int l = 0; c->v && l < c->n_layer; l++)
        free(c->v[l]);
    free(c->k);
    free(c->v);
    free(c->pos);
    free(c->seq);
    memset(c, 0, sizeof(*c));
}

bool lf_kvcache_alloc(lf_kvcache *c, int64_t n, const int32_t *pos, const int32_t *seq,
                      int32_t *cells, lf_error *err) {
    if (n > c->n_cells - c->used)
        return lf_fail(err, "context is full: %lld tokens do not fit in %lld free cells of %lld "
                       "(raise -c)", (long long)n, (long long)(c->n_cells - c->used),
                       (long long)c->n_cells);
    int64_t cell = 0;
    for (int64_t i = 0; i < n; i++) {
        while (c->pos[cell] >= 0)
            cell++;
        c->pos[cell] = pos[i];
        c->seq[cell] = seq[i];
        cells[i] = (int32_t)cell;
    }
    c->used += n;
    return true;
}

static void store_row(int type, void *dst, const float *src, int64_t n) {
    if (type == LF_TYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++)
        d[i] = lf_fp32_to_fp16(src[i]);
}

void lf_kvcache_store(lf_kvcache *c, int layer, int32_t cell, const float *k, const float *v) {
    store_row(c->type, (char *)c->k[layer] + (size_t)cell * c->k_row_bytes, k, c->k_row);
    store_row(c->type, (char *)c->v[layer] + (size_t)cell * c->v_row_bytes, v, c->v_row);
}

void lf_kvcache_remove(lf_kvcache *c, int32_t seq, int32_t p0, int32_t p1) {
    for (int64_t i = 0; i < c->n_cells; i++) {
        if (c->pos[i] < 0 || (seq >= 0 && c->seq[i] != seq))
            continue;
        if (c->pos[i] >= p0 && (p1 < 0 || c->pos[i] < p1)) {
            c->pos[i] = -1;
            c->seq[i] = -1;
            c->used--;
        }
    }
}

int32_t lf_kvcache_seq_pos_max(const lf_kvcache *c, int32_t seq) {
    int32_t m = -1;
    for (int64_t i = 0; i < c->n_cells; i++)
        if (c->pos[i] >= 0 && c->seq[i] == seq && c->pos[i] > m)
            m = c->pos[i];
    return m;
}
