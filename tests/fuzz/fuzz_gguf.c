/* fuzz_gguf.c — libFuzzer target: parse any bytes as a GGUF and, when they
 * are accepted, read back every key, array element and tensor. */
#include <stdint.h>
#include <string.h>

#include "llamafile.h"

static volatile uint64_t sink;

static void walk(const lf_gguf *g) {
    for (int64_t k = 0; k < lf_gguf_kv_count(g); k++) {
        lf_str key = lf_gguf_kv_key(g, k);
        sink += key.len ? (uint8_t)key.ptr[key.len - 1] : 0;
        lf_gguf_value v = lf_gguf_kv_value(g, k), e;
        if (v.type == LF_GGUF_STRING && v.v.s.len)
            sink += (uint8_t)v.v.s.ptr[v.v.s.len - 1];
        for (uint64_t j = 0; v.type == LF_GGUF_ARRAY && j < v.arr_n; j++) {
            if (!lf_gguf_arr_get(g, k, j, &e))
                __builtin_trap();
            if (e.type == LF_GGUF_STRING && e.v.s.len)
                sink += (uint8_t)e.v.s.ptr[0] + (uint8_t)e.v.s.ptr[e.v.s.len - 1];
            else
                sink += e.v.u;
        }
    }
    int64_t i;
    double f;
    bool b;
    lf_str s;
    sink += lf_gguf_get_int(g, "general.alignment", &i) + lf_gguf_get_float(g, "x", &f) +
            lf_gguf_get_bool(g, "x", &b) + lf_gguf_get_str(g, "general.architecture", &s);
    for (int64_t t = 0; t < lf_gguf_tensor_count(g); t++) {
        const lf_gguf_tensor *x = lf_gguf_tensor_at(g, t);
        const uint8_t *d = x->data;
        if (x->file_offset + x->nbytes > lf_gguf_file_size(g, x->shard))
            __builtin_trap();
        sink += d[0] + d[x->nbytes - 1] + (uint8_t)x->name.ptr[0];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lf_error err;
    lf_gguf *g = lf_gguf_open_memory(data, size, "fuzz.gguf", &err);
    if (g) {
        walk(g);
        lf_gguf_close(g);
    } else if (strncmp(err.msg, "fuzz.gguf: ", 11) || strchr(err.msg, '\n')) {
        __builtin_trap(); /* every message names the file and is one line */
    }
    return 0;
}
