#include "model/kvcache.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "tensor/fp16.h"
#include "tensor/kernels.h"
#include "tensor/ops.h"

static bool group_init(lf_kv_group *g, int32_t window, int64_t n_cells, int32_t n_seq) {
    g->window = window;
    g->n_cells = n_cells;
    g->pos = lf_malloc((size_t)n_cells * sizeof(int32_t));
    g->seqs = lf_calloc((size_t)n_cells, sizeof(uint64_t));
    if (window)
        g->gone = lf_malloc((size_t)(n_seq > 0 ? n_seq : 1) * sizeof(int32_t));
    if (!g->pos || !g->seqs || (window && !g->gone))
        return false;
    for (int64_t i = 0; i < n_cells; i++)
        g->pos[i] = -1;
    for (int32_t s = 0; window && s < n_seq; s++)
        g->gone[s] = -1;
    return true;
}

/* The group serving `window` (created on first use); -1 if out of memory. */
static int group_for(lf_kvcache *c, const lf_kvcache_layout *l, int32_t window) {
    for (int i = 0; i < c->n_group; i++)
        if (c->group[i].window == window)
            return i;
    lf_kv_group *g = &c->group[c->n_group];
    int64_t n = (int64_t)window * l->n_seq + l->n_batch;
    if (!group_init(g, window, n < l->n_cells ? n : l->n_cells, l->n_seq))
        return -1;
    return c->n_group++;
}

bool lf_kvcache_init_layout(lf_kvcache *c, const lf_kvcache_layout *l, lf_error *err) {
    memset(c, 0, sizeof(*c));
    if (l->type != LF_TYPE_F16 && l->type != LF_TYPE_F32)
        return lf_fail(err, "KV cache type %s is not supported (use f16 or f32)",
                       lf_type_name(l->type) ? lf_type_name(l->type) : "?");
    if (l->n_cells <= 0 || l->n_layer <= 0 || l->n_cells > INT32_MAX)
        return lf_fail(err, "invalid KV cache size (%lld cells, %d layers)",
                       (long long)l->n_cells, l->n_layer);
    if (l->n_seq < 0 || l->n_seq > LF_KV_SEQ_MAX)
        return lf_fail(err, "%d sequences asked for; the KV cache holds at most %d "
                       "(n_seq_max 1..%d)", l->n_seq, LF_KV_SEQ_MAX, LF_KV_SEQ_MAX);
    size_t esize = l->type == LF_TYPE_F16 ? 2 : 4;
    c->type = l->type;
    c->n_layer = l->n_layer;
    c->n_seq = l->n_seq > 0 ? l->n_seq : LF_KV_SEQ_MAX;
    c->k = lf_calloc((size_t)l->n_layer, sizeof(void *));
    c->v = lf_calloc((size_t)l->n_layer, sizeof(void *));
    c->layer_group = lf_calloc((size_t)l->n_layer, sizeof(int));
    c->group = lf_calloc((size_t)l->n_layer + 1, sizeof(lf_kv_group));
    c->qlow = lf_malloc((size_t)c->n_seq * sizeof(int32_t));
    if (!c->k || !c->v || !c->layer_group || !c->group || !c->qlow ||
        !group_init(&c->group[0], 0, l->n_cells, l->n_seq))
        goto oom;
    c->n_group = 1;
    for (int i = 0; i < l->n_layer; i++) {
        if (l->window && l->window[i] < 0)
            return lf_kvcache_free(c), lf_fail(err, "negative sliding window");
        if (l->window && l->window[i] > 0 && l->n_seq <= 0)
            return lf_kvcache_free(c), lf_fail(err, "a sliding-window cache needs n_seq");
        if (l->window && l->window[i] > 0 && (c->layer_group[i] = group_for(c, l, l->window[i])) < 0)
            goto oom;
        if (!l->k_row[i])
            continue;
        c->k_row = l->k_row[i] > c->k_row ? l->k_row[i] : c->k_row;
        c->v_row = l->v_row[i] > c->v_row ? l->v_row[i] : c->v_row;
    }
    c->k_row_bytes = (size_t)c->k_row * esize;
    c->v_row_bytes = (size_t)c->v_row * esize;
    for (int i = 0; i < l->n_layer; i++) {
        if (!l->k_row[i])
            continue;
        size_t n = (size_t)c->group[c->layer_group[i]].n_cells;
        c->k[i] = lf_calloc(n, c->k_row_bytes);
        c->v[i] = lf_calloc(n, c->v_row_bytes ? c->v_row_bytes : 1);
        if (!c->k[i] || !c->v[i])
            goto oom;
    }
    c->n_cells = c->group[0].n_cells;
    c->pos = c->group[0].pos;
    c->seqs = c->group[0].seqs;
    return true;
oom:
    lf_kvcache_free(c);
    return lf_fail(err, "out of memory for a KV cache of %lld cells", (long long)l->n_cells);
}

bool lf_kvcache_init(lf_kvcache *c, int type, int n_layer, int64_t n_cells,
                     const int64_t *k_row, const int64_t *v_row, lf_error *err) {
    lf_kvcache_layout l = {
        .type = type, .n_layer = n_layer, .n_cells = n_cells, .k_row = k_row, .v_row = v_row,
        .n_batch = n_cells, .n_seq = 0,
    };
    return lf_kvcache_init_layout(c, &l, err);
}

void lf_kvcache_free(lf_kvcache *c) {
    for (int l = 0; c->k && l < c->n_layer; l++)
        free(c->k[l]);
    for (int l = 0; c->v && l < c->n_layer; l++)
        free(c->v[l]);
    for (int g = 0; c->group && g <= c->n_group && g <= c->n_layer; g++) {
        free(c->group[g].pos);
        free(c->group[g].seqs);
        free(c->group[g].gone);
    }
    free(c->k);
    free(c->v);
    free(c->group);
    free(c->layer_group);
    free(c->qlow);
    memset(c, 0, sizeof(*c));
}

size_t lf_kvcache_bytes(const lf_kvcache *c) {
    size_t n = 0;
    for (int l = 0; l < c->n_layer; l++)
        if (c->k[l])
            n += (size_t)c->group[c->layer_group[l]].n_cells * (c->k_row_bytes + c->v_row_bytes);
    return n;
}

static void free_cell(lf_kv_group *g, int64_t i) {
    g->pos[i] = -1;
    g->seqs[i] = 0;
    g->used--;
}

/* Takes seq out of cell i; the cell is freed when no sequence is left. */
static void drop_seq(lf_kv_group *g, int64_t i, int32_t seq) {
    g->seqs[i] &= ~(1ull << seq);
    if (!g->seqs[i])
        free_cell(g, i);
}

/* Evicts, per sequence, the cells of a windowed group that no query of this
 * ubatch, nor a later one (positions go up), can see: pos <= lowest query
 * pos - window. A cell shared by several sequences is freed once no
 * sequence needs it any more. */
static void evict(lf_kvcache *c, lf_kv_group *g, int64_t n, const int32_t *pos,
                  const int32_t *seq) {
    int32_t *q = c->qlow; /* lowest query position per sequence; -1: no cells */
    for (int32_t s = 0; s < c->n_seq; s++)
        q[s] = -1;
    for (int64_t i = 0; i < g->n_cells; i++)
        for (uint64_t m = g->seqs[i]; m; m &= m - 1) {
            int s = __builtin_ctzll(m);
            if (g->pos[i] + 1 > q[s])
                q[s] = g->pos[i] + 1;
        }
    for (int64_t t = 0; t < n; t++)
        if (q[seq[t]] > pos[t])
            q[seq[t]] = pos[t];
    for (int64_t i = 0; i < g->n_cells; i++) {
        int32_t p = g->pos[i];
        for (uint64_t m = g->seqs[i]; m; m &= m - 1) {
            int s = __builtin_ctzll(m);
            if ((int64_t)p > (int64_t)q[s] - g->window)
                continue;
            if (p > g->gone[s])
                g->gone[s] = p;
            drop_seq(g, i, s);
        }
    }
}

/* The first free cell of g in [from, to), or -1. */
static int64_t free_in(const lf_kv_group *g, int64_t from, int64_t to) {
    for (int64_t i = from; i < to && i < g->n_cells; i++)
        if (g->pos[i] < 0)
            return i;
    return -1;
}

/* Places n tokens in a full-history group, keeping each sequence in tiles
 * of attention's width that hold only that sequence: the next free cell
 * after the sequence's last one in its own tile, else the first empty tile
 * after it, else any empty tile, else the first free cell. Attention then
 * skips every tile of other sequences (a server decodes many at once);
 * one sequence alone fills the cells in order, as a plain first fit would. */
static void place_by_tile(lf_kvcache *c, lf_kv_group *g, int64_t n, const int32_t *pos,
                          const int32_t *seq, int32_t *cells) {
    enum { T = LF_ATTN_TILE };
    int32_t *last = c->qlow; /* per sequence: its highest cell, -1: none */
    for (int32_t s = 0; s < c->n_seq; s++)
        last[s] = -1;
    for (int64_t i = 0; i < g->n_cells; i++)
        for (uint64_t m = g->seqs[i]; m; m &= m - 1)
            last[__builtin_ctzll(m)] = (int32_t)i;
    for (int64_t t = 0; t < n; t++) {
        uint64_t bit = 1ull << seq[t];
        int64_t l = last[seq[t]], cell = -1;
        if (l >= 0) {
            int64_t t0 = l / T * T, own = 1;
            for (int64_t i = t0; i < t0 + T && i < g->n_cells && own; i++)
                own = !g->seqs[i] || g->seqs[i] == bit;
            if (own)
                cell = free_in(g, l + 1, t0 + T);
        }
        int64_t from = l >= 0 ? (l / T + 1) * T : 0;
        for (int pass = 0; cell < 0 && pass < 2; pass++, from = 0)
            for (int64_t t0 = from; t0 < g->n_cells && cell < 0; t0 += T)
                if (free_in(g, t0, t0 + T) == t0) {
                    int64_t k = t0;
                    while (k < t0 + T && k < g->n_cells && g->pos[k] < 0)
                        k++;
                    if (k == t0 + T || k == g->n_cells)
                        cell = t0;
                }
        if (cell < 0)
            cell = free_in(g, 0, g->n_cells);
        g->pos[cell] = pos[t];
        g->seqs[cell] = bit;
        cells[t] = (int32_t)cell;
        last[seq[t]] = (int32_t)cell;
    }
    g->used += n;
}

bool lf_kvcache_alloc(lf_kvcache *c, int64_t n, const int32_t *pos, const int32_t *seq,
                      int32_t *cells, lf_error *err) {
    for (int64_t t = 0; t < n; t++)
        if (seq[t] < 0 || seq[t] >= c->n_seq)
            return lf_fail(err, "sequence %d is outside 0..%d", seq[t], c->n_seq - 1);
    for (int gi = 1; gi < c->n_group; gi++)
        evict(c, &c->group[gi], n, pos, seq);
    for (int gi = 0; gi < c->n_group; gi++) {
        lf_kv_group *g = &c->group[gi];
        if (n > g->n_cells - g->used)
            return lf_fail(err, "context is full: %lld tokens do not fit in %lld free cells of "
                           "%lld%s (raise -c)", (long long)n, (long long)(g->n_cells - g->used),
                           (long long)g->n_cells, g->window ? " in a sliding-window cache" : "");
    }
    for (int gi = 0; gi < c->n_group; gi++) {
        lf_kv_group *g = &c->group[gi];
        if (!g->window) {
            place_by_tile(c, g, n, pos, seq, cells + gi * n);
            continue;
        }
        int64_t cell = g->head; /* windowed groups: a ring */
        for (int64_t t = 0; t < n; t++) {
            while (g->pos[cell] >= 0)
                cell = cell + 1 == g->n_cells ? 0 : cell + 1;
            g->pos[cell] = pos[t];
            g->seqs[cell] = 1ull << seq[t];
            cells[gi * n + t] = (int32_t)cell;
        }
        g->head = cell + 1 == g->n_cells ? 0 : cell + 1;
        g->used += n;
    }
    return true;
}

void lf_kvcache_release(lf_kvcache *c, int64_t n, const int32_t *cells) {
    for (int gi = 0; gi < c->n_group; gi++)
        for (int64_t t = 0; t < n; t++)
            if (c->group[gi].pos[cells[gi * n + t]] >= 0)
                free_cell(&c->group[gi], cells[gi * n + t]);
}

static void store_row(int type, void *dst, const float *src, int64_t n) {
    if (type == LF_TYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    const lf_kernel_set *ks = lf_kernels();
    (ks->f32_to_f16 ? ks->f32_to_f16 : lf_f32_to_f16_c)(src, dst, n);
}

void lf_kvcache_store(lf_kvcache *c, int layer, int32_t cell, const float *k, const float *v) {
    store_row(c->type, (char *)c->k[layer] + (size_t)cell * c->k_row_bytes, k, c->k_row);
    store_row(c->type, (char *)c->v[layer] + (size_t)cell * c->v_row_bytes, v, c->v_row);
}

lf_attn_kv lf_kvcache_view(const lf_kvcache *c, int layer) {
    const lf_kv_group *g = &c->group[c->layer_group[layer]];
    return (lf_attn_kv){
        .type = c->type, .k = c->k[layer], .v = c->v[layer],
        .k_row_bytes = c->k_row_bytes, .v_row_bytes = c->v_row_bytes,
        .pos = g->pos, .seqs = g->seqs, .n_cells = g->n_cells,
    };
}

/* Takes seq (every sequence if seq < 0) out of its cells with
 * p0 <= pos < p1 (p1 < 0: to the end). */
static void remove_range(lf_kv_group *g, int32_t seq, int32_t p0, int32_t p1) {
    for (int64_t i = 0; i < g->n_cells; i++) {
        if (g->pos[i] < 0 || g->pos[i] < p0 || (p1 >= 0 && g->pos[i] >= p1))
            continue;
        if (seq < 0)
            free_cell(g, i);
        else if (lf_kvcache_has_seq(g, i, seq))
            drop_seq(g, i, seq);
    }
}

static int32_t group_pos_max(const lf_kv_group *g, int32_t seq) {
    int32_t m = -1;
    for (int64_t i = 0; i < g->n_cells; i++)
        if (g->pos[i] > m && lf_kvcache_has_seq(g, i, seq))
            m = g->pos[i];
    return m;
}

/* After a change to seq: drops it everywhere if a window lost cells that a
 * query at its next position would need; true if it did (cells were there). */
static bool check_windows(lf_kvcache *c, int32_t seq) {
    int32_t next = group_pos_max(&c->group[0], seq) + 1;
    bool broken = false;
    for (int gi = 1; gi < c->n_group; gi++) {
        const lf_kv_group *g = &c->group[gi];
        broken |= next > 0 && g->gone[seq] >= 0 && (int64_t)g->gone[seq] > (int64_t)next - g->window;
    }
    if (next > 0 && !broken)
        return false;
    for (int gi = 0; gi < c->n_group; gi++) {
        remove_range(&c->group[gi], seq, 0, -1);
        if (gi)
            c->group[gi].gone[seq] = -1;
    }
    return next > 0;
}

bool lf_kvcache_remove(lf_kvcache *c, int32_t seq, int32_t p0, int32_t p1) {
    bool dropped = false;
    if (seq >= c->n_seq)
        return false;
    for (int gi = 0; gi < c->n_group; gi++)
        remove_range(&c->group[gi], seq, p0, p1);
    if (c->n_group == 1)
        return false;
    if (seq >= 0)
        return check_windows(c, seq);
    for (int32_t s = 0; s < c->n_seq; s++)
        dropped |= check_windows(c, s);
    return dropped;
}

int32_t lf_kvcache_seq_pos_max(const lf_kvcache *c, int32_t seq) {
    return group_pos_max(&c->group[0], seq);
}

int32_t lf_kvcache_seq_pos_min(const lf_kvcache *c, int32_t seq) {
    int32_t lo = -1;
    for (int gi = 0; gi < c->n_group; gi++) {
        const lf_kv_group *g = &c->group[gi];
        int32_t m = -1;
        for (int64_t i = 0; i < g->n_cells; i++)
            if (g->pos[i] >= 0 && (m < 0 || g->pos[i] < m) && lf_kvcache_has_seq(g, i, seq))
                m = g->pos[i];
        if (m < 0)
            return -1;
        lo = m > lo ? m : lo; /* a window holds a tail of the full group */
    }
    return lo;
}

/* The highest position evicted from seq's window after positions in
 * [p0, p1) moved by delta (the evicted positions are those <= gone). */
static int32_t shifted_gone(int32_t gone, int32_t p0, int32_t p1, int32_t delta) {
    if (gone < p0)
        return gone;
    if (gone < p1) {
        int64_t moved = (int64_t)gone + delta;
        int32_t below = p0 - 1; /* evicted positions left where they were */
        return moved > below ? (int32_t)moved : below;
    }
    int64_t moved_top = (int64_t)p1 - 1 + delta;
    return moved_top > gone ? (int32_t)moved_top : gone;
}

bool lf_kvcache_copy(lf_kvcache *c, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    if (src == dst)
        return false;
    for (int gi = 0; gi < c->n_group; gi++) {
        lf_kv_group *g = &c->group[gi];
        for (int64_t i = 0; i < g->n_cells; i++)
            if (g->pos[i] >= p0 && (p1 < 0 || g->pos[i] < p1) && lf_kvcache_has_seq(g, i, src))
                g->seqs[i] |= 1ull << dst;
        /* what src lost of the range, dst lacks too */
        int32_t lost = g->gone ? g->gone[src] : -1;
        if (p1 >= 0 && lost >= p1)
            lost = p1 - 1;
        if (gi && lost >= p0 && lost > g->gone[dst])
            g->gone[dst] = lost;
    }
    return c->n_group > 1 && check_windows(c, dst);
}

void lf_kvcache_keep(lf_kvcache *c, int32_t seq) {
    uint64_t bit = seq >= 0 && seq < LF_KV_SEQ_MAX ? 1ull << seq : 0;
    for (int gi = 0; gi < c->n_group; gi++) {
        lf_kv_group *g = &c->group[gi];
        for (int64_t i = 0; i < g->n_cells; i++)
            if (g->pos[i] >= 0 && !(g->seqs[i] &= bit))
                free_cell(g, i);
        for (int32_t s = 0; gi && s < c->n_seq; s++)
            if (s != seq)
                g->gone[s] = -1;
    }
}

/* Rotates the keys of layer l in `cell` on by delta positions: the RoPE
 * angle is linear in the position, so this is RoPE at delta with its
 * magnitude scale (attn_factor, YaRN's mscale) taken out. */
static void rerope(lf_kvcache *c, int l, int64_t cell, int32_t delta, const lf_kv_rope *r,
                   float *tmp) {
    lf_rope_params rp = *r->rope;
    float mscale = rp.ext_factor != 0 ? 1.0f + 0.1f * logf(1.0f / rp.freq_scale) : 1.0f;
    rp.attn_factor = 1.0f / mscale;
    int64_t n = (int64_t)r->n_head * r->head_dim;
    if (c->type == LF_TYPE_F32) {
        lf_rope((float *)((char *)c->k[l] + (size_t)cell * c->k_row_bytes), r->n_head,
                r->head_dim, delta, &rp);
        return;
    }
    uint16_t *row = (uint16_t *)((char *)c->k[l] + (size_t)cell * c->k_row_bytes);
    for (int64_t i = 0; i < n; i++)
        tmp[i] = lf_fp16_to_fp32(row[i]);
    lf_rope(tmp, r->n_head, r->head_dim, delta, &rp);
    for (int64_t i = 0; i < n; i++)
        row[i] = lf_fp32_to_fp16(tmp[i]);
}

/* Gives seq its own copy of shared cell i (rows of every layer of group gi). */
static void detach(lf_kvcache *c, int gi, int64_t i, int32_t seq) {
    lf_kv_group *g = &c->group[gi];
    int64_t j = 0;
    while (g->pos[j] >= 0) /* the caller checked there is a free cell */
        j++;
    for (int l = 0; l < c->n_layer; l++) {
        if (c->layer_group[l] != gi || !c->k[l])
            continue;
        memcpy((char *)c->k[l] + (size_t)j * c->k_row_bytes,
               (char *)c->k[l] + (size_t)i * c->k_row_bytes, c->k_row_bytes);
        memcpy((char *)c->v[l] + (size_t)j * c->v_row_bytes,
               (char *)c->v[l] + (size_t)i * c->v_row_bytes, c->v_row_bytes);
    }
    g->pos[j] = g->pos[i];
    g->seqs[j] = 1ull << seq;
    g->seqs[i] &= ~(1ull << seq);
    g->used++;
}

static int64_t shifted(int32_t p, int32_t p0, int32_t p1, int32_t delta) {
    return p >= p0 && p < p1 ? (int64_t)p + delta : p;
}

/* Whether a group still needs a cell of seq that the shift puts at np:
 * a window does not when its next query (at next) cannot see it, as an
 * eviction would find. */
static bool needed(const lf_kv_group *g, int64_t np, int64_t next) {
    return !g->window || np > next - g->window;
}

lf_kv_status lf_kvcache_shift(lf_kvcache *c, int32_t seq, int32_t p0, int32_t p1,
                              int32_t delta, const lf_kv_rope *rope, lf_error *err) {
    if (seq < 0 || seq >= c->n_seq)
        return lf_fail(err, "sequence %d is outside 0..%d", seq, c->n_seq - 1), LF_KV_FAILED;
    p0 = p0 < 0 ? 0 : p0;
    p1 = p1 < 0 ? INT32_MAX : p1;
    if (delta == 0 || p0 >= p1)
        return LF_KV_DONE;
    uint64_t bit = 1ull << seq;
    int64_t most = 0, next = 0; /* largest head * dim of a roped layer; next position */
    for (int l = 0; l < c->n_layer; l++) {
        if (!c->k[l] || !rope[l].rope)
            continue;
        if ((int64_t)rope[l].n_head * rope[l].head_dim > c->k_row)
            return lf_fail(err, "layer %d: RoPE of %d heads of %d exceeds the cached keys", l,
                           rope[l].n_head, rope[l].head_dim), LF_KV_FAILED;
        if ((int64_t)rope[l].n_head * rope[l].head_dim > most)
            most = (int64_t)rope[l].n_head * rope[l].head_dim;
    }
    const lf_kv_group *g0 = &c->group[0];
    for (int64_t i = 0; i < g0->n_cells; i++)
        if (g0->pos[i] >= 0 && (g0->seqs[i] & bit) && shifted(g0->pos[i], p0, p1, delta) + 1 > next)
            next = shifted(g0->pos[i], p0, p1, delta) + 1;
    /* cells seq shares and keeps need a copy of their own: room first */
    for (int gi = 0; gi < c->n_group; gi++) {
        const lf_kv_group *g = &c->group[gi];
        int64_t copies = 0, room = g->n_cells - g->used;
        for (int64_t i = 0; i < g->n_cells; i++) {
            if (g->pos[i] < 0 || !(g->seqs[i] & bit))
                continue;
            int64_t np = shifted(g->pos[i], p0, p1, delta);
            if (!needed(g, np, next))
                room += g->seqs[i] == bit;
            else if (g->seqs[i] != bit && np != g->pos[i] && np >= 0)
                copies++;
        }
        if (copies > room)
            return lf_fail(err, "no room to give sequence %d its own copy of %lld shared cells "
                           "(%lld free)", seq, (long long)copies, (long long)room), LF_KV_FAILED;
    }
    float *tmp = lf_malloc(sizeof(float) * (size_t)(most > 0 ? most : 1));
    if (!tmp)
        return lf_fail(err, "out of memory"), LF_KV_FAILED;
    for (int gi = 0; gi < c->n_group; gi++) {
        lf_kv_group *g = &c->group[gi];
        if (gi && g->gone[seq] >= 0)
            g->gone[seq] = shifted_gone(g->gone[seq], p0, p1, delta);
        for (int64_t i = 0; i < g->n_cells; i++) { /* what the window lets go */
            if (g->pos[i] < 0 || !(g->seqs[i] & bit))
                continue;
            int64_t np = shifted(g->pos[i], p0, p1, delta);
            if (needed(g, np, next))
                continue;
            if (np >= 0 && np > g->gone[seq])
                g->gone[seq] = (int32_t)np;
            drop_seq(g, i, seq);
        }
        for (int64_t i = 0; i < g->n_cells; i++) {
            if (g->pos[i] < p0 || g->pos[i] >= p1 || !(g->seqs[i] & bit) || g->seqs[i] == bit)
                continue;
            if ((int64_t)g->pos[i] + delta < 0)
                drop_seq(g, i, seq); /* moved out of the cache: nothing to copy */
            else
                detach(c, gi, i, seq);
        }
        for (int64_t i = 0; i < g->n_cells; i++) {
            if (g->pos[i] < p0 || g->pos[i] >= p1 || g->seqs[i] != bit)
                continue;
            int64_t np = (int64_t)g->pos[i] + delta;
            if (np < 0 || np > INT32_MAX) {
                free_cell(g, i);
                continue;
            }
            g->pos[i] = (int32_t)np;
            for (int l = 0; l < c->n_layer; l++)
                if (c->layer_group[l] == gi && c->k[l] && rope[l].rope)
                    rerope(c, l, i, delta, &rope[l], tmp);
        }
    }
    free(tmp);
    return c->n_group > 1 && check_windows(c, seq) ? LF_KV_DROPPED : LF_KV_DONE;
}
