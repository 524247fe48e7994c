/* attention.h — multi-head attention of a batch of queries over a KV cache,
 * with an online (flash-style) softmax in float32. */
#ifndef LF_TENSOR_ATTENTION_H
#define LF_TENSOR_ATTENTION_H

#include "base/threadpool.h"
#include "llamafile.h"
#include "tensor/ops.h"

typedef struct lf_attn_params {
    int n_head, n_head_kv;   /* query head h reads KV head h / (n_head / n_head_kv) */
    int head_dim_k, head_dim_v;
    float scale;             /* applied to q.k */
    int n_swa;               /* sliding window (0: none): pos_q - pos_k < n_swa */
    const float *sinks;      /* per-head extra logit in the denominator, or NULL */
} lf_attn_params;

typedef struct lf_attn_kv {
    int type;                /* LF_TYPE_F16 or LF_TYPE_F32 */
    const void *k, *v;       /* n_cells rows of k_row_bytes / v_row_bytes */
    size_t k_row_bytes, v_row_bytes;
    const int32_t *pos;      /* per cell; pos < 0: empty */
    const uint64_t *seqs;    /* per cell: bit s set when sequence s (< 64) holds it */
    int64_t n_cells;
} lf_attn_kv;

/* out[t] (n_head * head_dim_v floats) for each of n queries q[t]
 * (n_head * head_dim_k floats) at position pos[t] in sequence seq[t]:
 * causal over the cells that sequence holds. scratch holds the per-thread
 * work space between calls. False ("out of memory in attention ...") when
 * that work space cannot be had; out is then unspecified. */
bool lf_attention(lf_pool *pool, lf_scratch *scratch, float *out, const float *q, int64_t n, const int32_t *pos,
                  const int32_t *seq, const lf_attn_kv *kv, const lf_attn_params *ap, lf_error *err);

#endif
