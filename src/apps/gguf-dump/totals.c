#include "gguf_dump.h"

#include <string.h>

int64_t dump_tensor_elements(const lf_gguf_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < 4; d++)
        n *= t->ne[d]; /* the reader has checked this cannot overflow */
    return n;
}

void dump_compute_totals(const lf_gguf *g, struct dump_totals *t) {
    memset(t, 0, sizeof(*t));
    for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++) {
        const lf_gguf_tensor *x = lf_gguf_tensor_at(g, i);
        t->params += dump_tensor_elements(x);
        t->tensor_bytes += x->nbytes;
        t->type_count[x->type]++;
        t->type_bytes[x->type] += x->nbytes;
    }
    for (int s = 0; s < lf_gguf_shard_count(g); s++)
        t->file_bytes += lf_gguf_file_size(g, s);
}
