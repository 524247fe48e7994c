/* kvstate.c — one sequence's KV cells as bytes, and back: the cache part of
 * a saved state (lf_state_seq_*). Per cell group: the sequence's cell count,
 * the highest position the group's window evicted, and each cell's position
 * in cell order; then per layer that keeps a cache, the K rows and the V
 * rows of its group's cells in that order.
 *
 * Restoring goes through lf_kvcache_alloc, so cells are placed (and their
 * sequence recorded) as a decode would place them. A windowed group saved
 * only the cells its window still needed; the positions before that are
 * placed first, in position order and n_batch at a time, so the window
 * evicts them as it would have (their rows there are zero and no query can
 * see them), then the rest in one call, in saved cell order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/bytes.h"
#include "base/crc32.h"
#include "base/error.h"
#include "model/kvcache.h"

static int64_t count_cells(const lf_kv_group *g, int32_t seq) {
    int64_t n = 0;
    for (int64_t i = 0; i < g->n_cells; i++)
        n += lf_kvcache_has_seq(g, i, seq);
    return n;
}

static uint32_t crc_u32(uint32_t crc, uint32_t v) {
    uint8_t b[4];
    lf_put_u32(b, v);
    return lf_crc32(crc, b, 4);
}

uint32_t lf_kvstate_layout(const lf_kvcache *c) {
    uint32_t crc = crc_u32(0, (uint32_t)c->n_group);
    for (int g = 0; g < c->n_group; g++)
        crc = crc_u32(crc, (uint32_t)c->group[g].window);
    for (int l = 0; l < c->n_layer; l++)
        crc = crc_u32(crc, c->k[l] ? (uint32_t)c->layer_group[l] : ~0u);
    return crc;
}

size_t lf_kvstate_bytes(const lf_kvcache *c, int32_t seq) {
    size_t n = 0;
    for (int g = 0; g < c->n_group; g++)
        n += 8 + 4 * (size_t)count_cells(&c->group[g], seq);
    for (int l = 0; l < c->n_layer; l++)
        if (c->k[l])
            n += (size_t)count_cells(&c->group[c->layer_group[l]], seq) *
                 (c->k_row_bytes + c->v_row_bytes);
    return n;
}

void lf_kvstate_write(const lf_kvcache *c, int32_t seq, uint8_t *p) {
    for (int gi = 0; gi < c->n_group; gi++) {
        const lf_kv_group *g = &c->group[gi];
        p = lf_put_u32(p, (uint32_t)count_cells(g, seq));
        p = lf_put_u32(p, (uint32_t)(g->window && seq < c->n_seq ? g->gone[seq] : -1));
        for (int64_t i = 0; i < g->n_cells; i++)
            if (lf_kvcache_has_seq(g, i, seq))
                p = lf_put_u32(p, (uint32_t)g->pos[i]);
    }
    for (int l = 0; l < c->n_layer; l++) {
        if (!c->k[l])
            continue;
        const lf_kv_group *g = &c->group[c->layer_group[l]];
        for (int64_t i = 0; i < g->n_cells; i++)
            if (lf_kvcache_has_seq(g, i, seq))
                p = lf_put_bytes(p, (const char *)c->k[l] + (size_t)i * c->k_row_bytes, c->k_row_bytes);
        for (int64_t i = 0; i < g->n_cells; i++)
            if (lf_kvcache_has_seq(g, i, seq))
                p = lf_put_bytes(p, (const char *)c->v[l] + (size_t)i * c->v_row_bytes, c->v_row_bytes);
    }
}

/* ---- reading ---- */

/* A saved group: its cells' positions in saved order. */
typedef struct saved_group {
    int64_t n;
    int32_t gone;
    const uint8_t *pos; /* n little-endian int32 */
} saved_group;

static int32_t pos_at(const saved_group *s, int64_t i) {
    const uint8_t *q = s->pos + 4 * i;
    return (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                     (uint32_t)q[3] << 24);
}

typedef struct pos_idx {
    int32_t pos;
    int32_t idx;
} pos_idx;

static int cmp_pos_idx(const void *a, const void *b) {
    const pos_idx *x = a, *y = b;
    return x->pos != y->pos ? (x->pos < y->pos ? -1 : 1) : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The group's positions sorted, with their saved index; NULL when out of memory. */
static pos_idx *sorted_positions(const saved_group *s) {
    pos_idx *v = lf_malloc(sizeof(pos_idx) * (size_t)(s->n ? s->n : 1));
    for (int64_t i = 0; v && i < s->n; i++)
        v[i] = (pos_idx){pos_at(s, i), (int32_t)i};
    if (v)
        qsort(v, (size_t)s->n, sizeof *v, cmp_pos_idx);
    return v;
}

/* Saved index of position p in sorted v, or -1. */
static int32_t find_pos(const pos_idx *v, int64_t n, int32_t p) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid].pos < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].pos == p ? v[lo].idx : -1;
}

/* Reads the group headers; false (err) when they do not fit c. */
static bool read_groups(const lf_kvcache *c, lf_reader *r, saved_group *sg, lf_error *err) {
    for (int gi = 0; gi < c->n_group; gi++) {
        uint64_t n = lf_read_u32(r);
        sg[gi].gone = (int32_t)lf_read_u32(r);
        if (r->bad)
            return lf_fail(err, "state is truncated");
        if ((int64_t)n > c->group[gi].n_cells)
            return lf_fail(err, "state holds %llu cells, more than the %lld of this context's "
                           "cache%s (raise -c)", (unsigned long long)n,
                           (long long)c->group[gi].n_cells, gi ? " (a sliding-window group)" : "");
        if (sg[gi].gone < -1 || (!c->group[gi].window && sg[gi].gone != -1))
            return lf_fail(err, "state is corrupt: evicted position %d", sg[gi].gone);
        sg[gi].n = (int64_t)n;
        if (!(sg[gi].pos = lf_read_bytes(r, 4 * (size_t)n)))
            return lf_fail(err, "state is truncated");
    }
    return true;
}

/* Positions are valid and distinct, and a windowed group's are group 0's
 * that its window had not evicted. */
static bool check_positions(const lf_kvcache *c, const saved_group *sg, lf_error *err) {
    pos_idx *p0 = sorted_positions(&sg[0]);
    if (!p0)
        return lf_fail(err, "out of memory");
    bool ok = true;
    for (int64_t i = 0; ok && i < sg[0].n; i++)
        if (p0[i].pos < 0 || p0[i].pos == INT32_MAX || (i && p0[i].pos == p0[i - 1].pos))
            ok = lf_fail(err, "state is corrupt: %s position %d",
                         p0[i].pos < 0 ? "negative" : "repeated", p0[i].pos);
    for (int gi = 1; ok && gi < c->n_group; gi++) {
        pos_idx *pg = sorted_positions(&sg[gi]);
        if (!pg) {
            ok = lf_fail(err, "out of memory");
            break;
        }
        for (int64_t i = 0; ok && i < sg[gi].n; i++)
            if ((i && pg[i].pos == pg[i - 1].pos) || pg[i].pos <= sg[gi].gone ||
                find_pos(p0, sg[0].n, pg[i].pos) < 0)
                ok = lf_fail(err, "state is corrupt: sliding-window cell at position %d",
                             pg[i].pos);
        free(pg);
    }
    free(p0);
    return ok;
}

bool lf_kvstate_check(const lf_kvcache *c, const uint8_t *src, size_t n, size_t *used,
                      lf_error *err) {
    saved_group *sg = lf_calloc((size_t)c->n_group, sizeof *sg);
    if (!sg)
        return lf_fail(err, "out of memory");
    lf_reader r = {.p = src, .n = n};
    bool ok = read_groups(c, &r, sg, err) && check_positions(c, sg, err);
    for (int l = 0; ok && l < c->n_layer; l++)
        if (c->k[l] && !lf_read_bytes(&r, (size_t)sg[c->layer_group[l]].n *
                                              (c->k_row_bytes + c->v_row_bytes)))
            ok = lf_fail(err, "state is truncated");
    free(sg);
    *used = r.off;
    return ok;
}

typedef struct placer {
    lf_kvcache *c;
    const saved_group *sg;
    const uint8_t **rows;   /* per layer: its K rows (then its V rows) */
    int32_t **map;          /* per windowed group: group-0 index -> its saved index, or -1 */
    int32_t *pos, *seq, *cells;
} placer;

/* Where layer l's K (or V) row for saved index i of its group starts. */
static const uint8_t *row_of(const placer *pl, int layer, int64_t i, bool v) {
    const lf_kvcache *c = pl->c;
    size_t n = (size_t)pl->sg[c->layer_group[layer]].n;
    const uint8_t *p = pl->rows[layer];
    return v ? p + n * c->k_row_bytes + (size_t)i * c->v_row_bytes : p + (size_t)i * c->k_row_bytes;
}

/* Places the group-0 entries idx[0..n) as seq and copies their rows. */
static bool place(placer *pl, const int32_t *idx, int64_t n, int32_t seq, lf_error *err) {
    lf_kvcache *c = pl->c;
    for (int64_t t = 0; t < n; t++)
        pl->pos[t] = pos_at(&pl->sg[0], idx[t]), pl->seq[t] = seq;
    if (!lf_kvcache_alloc(c, n, pl->pos, pl->seq, pl->cells, err))
        return false;
    for (int l = 0; l < c->n_layer; l++) {
        if (!c->k[l])
            continue;
        int gi = c->layer_group[l];
        for (int64_t t = 0; t < n; t++) {
            int64_t cell = pl->cells[(int64_t)gi * n + t];
            int32_t i = gi ? pl->map[gi][idx[t]] : idx[t];
            char *k = (char *)c->k[l] + (size_t)cell * c->k_row_bytes;
            char *v = (char *)c->v[l] + (size_t)cell * c->v_row_bytes;
            if (i < 0) { /* evicted when saved: no query sees it */
                memset(k, 0, c->k_row_bytes);
                memset(v, 0, c->v_row_bytes);
                continue;
            }
            memcpy(k, row_of(pl, l, i, false), c->k_row_bytes);
            memcpy(v, row_of(pl, l, i, true), c->v_row_bytes);
        }
    }
    return true;
}

static bool place_all(placer *pl, int32_t seq, int64_t n_batch, lf_error *err) {
    lf_kvcache *c = pl->c;
    const saved_group *sg = pl->sg;
    int64_t n0 = sg[0].n;
    /* positions before first are missing from some window: place them in order */
    int64_t first = INT64_MAX;
    for (int gi = 1; gi < c->n_group; gi++)
        first = (int64_t)sg[gi].gone + 1 < first ? (int64_t)sg[gi].gone + 1 : first;
    pos_idx *sorted = sorted_positions(&sg[0]);
    int32_t *order = lf_malloc(sizeof(int32_t) * (size_t)(n0 ? n0 : 1));
    bool ok = sorted && order;
    if (!ok)
        lf_fail(err, "out of memory");
    int64_t na = 0;
    for (int64_t i = 0; ok && i < n0; i++)
        if (sorted[i].pos < first)
            order[na++] = sorted[i].idx;
    int64_t nb = na;
    for (int64_t i = 0; ok && i < n0; i++)
        if (pos_at(&sg[0], i) >= first)
            order[nb++] = (int32_t)i;
    if (n_batch <= 0)
        n_batch = 512;
    for (int64_t i0 = 0; ok && i0 < na; i0 += n_batch)
        ok = place(pl, order + i0, na - i0 < n_batch ? na - i0 : n_batch, seq, err);
    if (ok && nb > na)
        ok = place(pl, order + na, nb - na, seq, err);
    free(sorted);
    free(order);
    return ok;
}

bool lf_kvstate_read(lf_kvcache *c, int32_t seq, const uint8_t *src, size_t n, int64_t n_batch,
                     lf_error *err) {
    saved_group *sg = lf_calloc((size_t)c->n_group, sizeof *sg);
    int32_t **map = lf_calloc((size_t)c->n_group, sizeof *map);
    lf_reader r = {.p = src, .n = n};
    bool ok = sg && map;
    if (!ok)
        lf_fail(err, "out of memory");
    ok = ok && read_groups(c, &r, sg, err);
    int64_t n0 = ok ? sg[0].n : 0, most = 1;
    for (int gi = 1; ok && gi < c->n_group; gi++) {
        pos_idx *pg = sorted_positions(&sg[gi]);
        map[gi] = lf_malloc(sizeof(int32_t) * (size_t)(n0 ? n0 : 1));
        for (int64_t i = 0; pg && map[gi] && i < n0; i++)
            map[gi][i] = find_pos(pg, sg[gi].n, pos_at(&sg[0], i));
        ok = pg && map[gi] ? true : lf_fail(err, "out of memory");
        free(pg);
    }
    most = n0 > most ? n0 : most;
    const uint8_t **rows = lf_calloc((size_t)c->n_layer, sizeof *rows);
    for (int l = 0; ok && rows && l < c->n_layer; l++) {
        rows[l] = r.p + r.off;
        if (c->k[l])
            lf_read_bytes(&r, (size_t)sg[c->layer_group[l]].n * (c->k_row_bytes + c->v_row_bytes));
    }
    placer pl = {
        .c = c, .sg = sg, .rows = rows, .map = map,
        .pos = lf_malloc(sizeof(int32_t) * (size_t)most),
        .seq = lf_malloc(sizeof(int32_t) * (size_t)most),
        .cells = lf_malloc(sizeof(int32_t) * (size_t)most * (size_t)c->n_group),
    };
    if (ok && (!rows || !pl.pos || !pl.seq || !pl.cells))
        ok = lf_fail(err, "out of memory");
    ok = ok && place_all(&pl, seq, n_batch, err);
    for (int gi = 1; ok && gi < c->n_group; gi++)
        if (seq < c->n_seq && sg[gi].gone > c->group[gi].gone[seq])
            c->group[gi].gone[seq] = sg[gi].gone;
    for (int gi = 0; map && gi < c->n_group; gi++)
        free(map[gi]);
    free(map);
    free(rows);
    free(sg);
    free(pl.pos);
    free(pl.seq);
    free(pl.cells);
    return ok;
}
