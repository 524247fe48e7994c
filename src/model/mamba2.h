/* mamba2.h — the Mamba-2 mixer (spec archs.md §3.4) and the per-sequence
 * recurrent state it carries from one token to the next: a causal
 * depthwise convolution's last inputs and the selective-scan state.
 *
 * Typical use in an architecture file:
 *   load:     lf_mamba2_read_hparams(m, &hp, err); lf_mamba2_bind(m, &L, &hp, il, err);
 *   ctx_init: lf_mamba2_state_init(&st, &hp, n_layer, is_recurrent, n_seq, err);
 *   forward:  lf_mamba2_forward(c->pool, &c->mm, &hp, &L, &st, il, b->seq, b->pos,
 *                               T, x, out, work, err);
 *   seq_remove: lf_mamba2_state_remove(&st, seq, p0, p1) says whether the rest of
 *             the sequence must go too (a recurrent state cannot be cut back);
 *   seq_copy / seq_shift: lf_mamba2_state_copy / lf_mamba2_state_shift. */
#ifndef LF_MODEL_MAMBA2_H
#define LF_MODEL_MAMBA2_H

#include "model/model.h"

typedef struct lf_mamba2_hparams {
    int64_t d_conv;  /* convolution taps (4) */
    int64_t d_inner; /* x / z width */
    int64_t d_state; /* N */
    int64_t n_head;  /* SSM heads (GGUF ssm.time_step_rank) */
    int64_t n_group; /* B/C groups */
    float eps;       /* group RMS norm */
} lf_mamba2_hparams;

/* One Mamba-2 layer's tensors. conv_w is [d_xBC][d_conv]; ssm_norm
 * [n_group][d_inner / n_group]; conv_b and norm may be NULL. */
typedef struct lf_mamba2_layer {
    lf_weight in, out;
    const float *conv_w, *conv_b;
    const float *dt_bias, *a, *d; /* [n_head]; a = -exp(A_log) */
    const float *norm;
} lf_mamba2_layer;

/* Recurrent state of every recurrent layer for each of n_seq sequences:
 * conv[l] holds, per sequence, d_xBC channels of their last d_conv-1 raw
 * inputs (oldest first); ssm[l] per sequence [n_head][head_dim][d_state].
 * pos_max[s] is the last position folded into sequence s (-1: empty). */
typedef struct lf_mamba2_state {
    int n_layer;
    int64_t n_seq, conv_floats, ssm_floats; /* per sequence and layer */
    float **conv, **ssm;                    /* per layer; NULL: not recurrent */
    int32_t *pos_max;
} lf_mamba2_state;

/* Reads ssm.conv_kernel, ssm.inner_size, ssm.state_size, ssm.time_step_rank,
 * ssm.group_count and the rms epsilon of m's architecture, and checks them. */
bool lf_mamba2_read_hparams(const lf_model *m, lf_mamba2_hparams *hp, lf_error *err);

/* Binds blk.<layer>.ssm_{in,conv1d,dt,a,d,norm,out} with shape checks. */
bool lf_mamba2_bind(lf_model *m, lf_mamba2_layer *L, const lf_mamba2_hparams *hp,
                    int64_t layer, int64_t n_embd, lf_error *err);

bool lf_mamba2_state_init(lf_mamba2_state *st, const lf_mamba2_hparams *hp, int n_layer,
                          const bool *recurrent, int64_t n_seq, lf_error *err);
void lf_mamba2_state_free(lf_mamba2_state *st);
/* Zeroes sequence seq's state (every sequence if seq < 0). */
void lf_mamba2_state_clear(lf_mamba2_state *st, int32_t seq);
/* Applies the removal of positions [p0, p1) (p1 < 0: to the end) of
 * sequence seq (>= 0) to its state. A removal after the last position
 * keeps the state; one of every position clears it; any other folded
 * tokens into the state that cannot be taken out (nor can the state of
 * earlier positions be had back), so the state is cleared and the function
 * returns true: the caller must then drop the whole sequence. */
bool lf_mamba2_state_remove(lf_mamba2_state *st, int32_t seq, int32_t p0, int32_t p1);
/* Makes dst's state a copy of src's, if src's last position lies in
 * [p0, p1) (p1 < 0: to the end) or src is empty; false otherwise (the
 * state of an earlier prefix is gone), and nothing changes. */
bool lf_mamba2_state_copy(lf_mamba2_state *st, int32_t src, int32_t dst, int32_t p0,
                          int32_t p1);
/* Moves seq's last position by delta if it lies in [p0, p1) (the state
 * itself does not depend on positions); below 0 the state is cleared. */
void lf_mamba2_state_shift(lf_mamba2_state *st, int32_t seq, int32_t p0, int32_t p1,
                           int32_t delta);
/* Records the positions of a ubatch's tokens as folded into the state. */
void lf_mamba2_state_advance(lf_mamba2_state *st, int64_t n, const int32_t *seq,
                             const int32_t *pos);

/* Floats of work memory lf_mamba2_forward needs for n tokens. */
size_t lf_mamba2_work_floats(const lf_mamba2_hparams *hp, int64_t n);

/* out[t] (n_embd floats) = mixer(x[t]) for the n tokens of a ubatch, in
 * order; token t reads and updates the state of sequence seq[t] in layer
 * `layer`. work holds lf_mamba2_work_floats floats. */
bool lf_mamba2_forward(lf_pool *pool, lf_scratch *mm, const lf_mamba2_hparams *hp,
                       const lf_mamba2_layer *L, lf_mamba2_state *st, int layer,
                       const int32_t *seq, int64_t n, const float *x, float *out, float *work,
                       lf_error *err);

/* ---- one sequence's state as bytes, for saved states (lf_state_seq_*):
 * the recurrent layer count, the last position folded in, the per-layer
 * float counts, then each recurrent layer's conv and ssm floats ---- */
size_t lf_mamba2_state_bytes(const lf_mamba2_state *st);
void lf_mamba2_state_save(const lf_mamba2_state *st, int32_t seq, uint8_t *dst);
/* False (err) unless src's n bytes are a state saved from this shape. */
bool lf_mamba2_state_check(const lf_mamba2_state *st, const uint8_t *src, size_t n,
                           lf_error *err);
/* Loads checked bytes into sequence seq. */
void lf_mamba2_state_load(lf_mamba2_state *st, int32_t seq, const uint8_t *src);

#endif
