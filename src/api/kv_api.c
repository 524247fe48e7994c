/* kv_api.c — the public KV cache calls on sequences: remove, copy, keep,
 * shift and the position bounds. The cache does the cells; an
 * architecture with state beyond it (a recurrent one) follows through its
 * seq_* hooks, and lf_kv_shift asks each layer's RoPE of the arch. */
#include <stdlib.h>

#include "base/alloc.h"
#include "base/error.h"
#include "model/model.h"

static bool seq_ok(const lf_context *c, int32_t seq, lf_error *err) {
    if (seq >= 0 && seq < c->kv.n_seq)
        return true;
    return lf_fail(err, "sequence %d is outside 0..%d", seq, c->kv.n_seq - 1);
}

lf_kv_status lf_kv_remove(lf_context *c, int32_t seq, int32_t p0, int32_t p1) {
    bool dropped = lf_kvcache_remove(&c->kv, seq, p0, p1);
    if (c->model->arch->seq_remove)
        dropped |= c->model->arch->seq_remove(c, seq, p0, p1);
    return dropped ? LF_KV_DROPPED : LF_KV_DONE;
}

int32_t lf_kv_seq_pos_max(const lf_context *c, int32_t seq) {
    return lf_kvcache_seq_pos_max(&c->kv, seq);
}

int32_t lf_kv_seq_pos_min(const lf_context *c, int32_t seq) {
    int32_t lo = lf_kvcache_seq_pos_min(&c->kv, seq);
    if (lo >= 0 && c->model->arch->seq_state_pos) {
        int32_t st = c->model->arch->seq_state_pos(c, seq);
        lo = st > lo ? st : lo;
    }
    return lo;
}

lf_kv_status lf_kv_copy(lf_context *c, int32_t src, int32_t dst, int32_t p0, int32_t p1,
                        lf_error *err) {
    if (!seq_ok(c, src, err) || !seq_ok(c, dst, err))
        return LF_KV_FAILED;
    if (src == dst)
        return LF_KV_DONE;
    p0 = p0 < 0 ? 0 : p0;
    if (c->model->arch->seq_copy && !c->model->arch->seq_copy(c, src, dst, p0, p1, err))
        return LF_KV_FAILED;
    return lf_kvcache_copy(&c->kv, src, dst, p0, p1) ? LF_KV_DROPPED : LF_KV_DONE;
}

void lf_kv_keep(lf_context *c, int32_t seq) {
    lf_kvcache_keep(&c->kv, seq);
    if (c->model->arch->seq_keep)
        c->model->arch->seq_keep(c, seq);
}

lf_kv_status lf_kv_shift(lf_context *c, int32_t seq, int32_t p0, int32_t p1, int32_t delta,
                         lf_error *err) {
    const lf_model *m = c->model;
    if (!seq_ok(c, seq, err))
        return LF_KV_FAILED;
    lf_kv_rope *rope = lf_calloc((size_t)c->kv.n_layer, sizeof(*rope));
    if (!rope)
        return lf_fail(err, "out of memory"), LF_KV_FAILED;
    for (int l = 0; l < c->kv.n_layer; l++) {
        if (!c->kv.k[l])
            continue;
        if (!m->arch->kv_rope) {
            free(rope);
            return lf_fail(err, "%s: shifting cached positions is not supported",
                           m->arch->name), LF_KV_FAILED;
        }
        m->arch->kv_rope(m, l, &rope[l]);
    }
    lf_kv_status st = lf_kvcache_shift(&c->kv, seq, p0, p1, delta, rope, err);
    free(rope);
    if (st != LF_KV_FAILED && m->arch->seq_shift)
        m->arch->seq_shift(c, seq, p0 < 0 ? 0 : p0, p1, delta);
    return st;
}
