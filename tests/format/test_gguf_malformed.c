/* test_gguf_malformed.c — hand-made GGUF files: every malformed one must be
 * rejected with its own one-line message, valid v2/v3 ones must parse, and
 * truncating or corrupting a valid file must never crash the reader. */
#include "../harness.h"
#include "llamafile.h"
#include "gguf_bytes.h"

#define CASE(fn) static void fn(gb *b)

static const int64_t NE_8x2[4] = {8, 2, 1, 1};

/* A file with one key, a list of tensor infos and their data, all valid
 * unless the caller corrupts it. */
static void one_tensor(gb *b, uint32_t type, uint32_t n_dims, const int64_t ne[4],
                       uint64_t offset, size_t data_bytes) {
    gb_header(b, 3, 1, 1);
    gb_kv_str(b, "general.architecture", "llama");
    gb_tensor(b, "w", n_dims, ne, type, offset);
    gb_pad(b, 32);
    gb_zeros(b, data_bytes);
}

CASE(c_empty) { (void)b; }
CASE(c_bad_magic) { gb_bytes(b, "GGUX", 4); gb_u32(b, 3); gb_u64(b, 0); gb_u64(b, 0); }
CASE(c_short_header) { gb_bytes(b, "GGUF", 4); gb_u32(b, 3); gb_u32(b, 0); }
CASE(c_version1) { gb_header(b, 1, 0, 0); }
CASE(c_version4) { gb_header(b, 4, 0, 0); }
CASE(c_big_endian) { gb_header(b, 0x03000000u, 0, 0); }
CASE(c_kv_count_huge) { gb_header(b, 3, 0, 1ull << 40); gb_kv_u32(b, "a", 1); }
CASE(c_kv_count_negative) { gb_header(b, 3, 0, ~0ull); }
CASE(c_tensor_count_huge) { gb_header(b, 3, 1ull << 50, 0); gb_zeros(b, 64); }
CASE(c_key_past_end) { gb_header(b, 3, 0, 1); gb_u64(b, 1000); gb_zeros(b, 20); }
CASE(c_key_len_huge) { gb_header(b, 3, 0, 1); gb_u64(b, ~0ull); gb_zeros(b, 16); }
CASE(c_empty_key) { gb_header(b, 3, 0, 1); gb_kv_u32(b, "", 1); }
CASE(c_dup_key) { gb_header(b, 3, 0, 2); gb_kv_u32(b, "a.b", 1); gb_kv_u32(b, "a.b", 2); }
CASE(c_unknown_type) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 13); gb_u32(b, 0); }
CASE(c_bool_2) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 7); gb_u8(b, 2); }
CASE(c_value_truncated) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 10); gb_u16(b, 7); }
CASE(c_string_past_end) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 8); gb_u64(b, 99); gb_bytes(b, "xy", 2); }
CASE(c_nested_array) {
    gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 9); gb_u32(b, 9); gb_u64(b, 1);
    gb_u32(b, 4); gb_u64(b, 1); gb_u32(b, 5);
}
CASE(c_array_bad_elem) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 9); gb_u32(b, 77); gb_u64(b, 0); }
CASE(c_array_huge) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 9); gb_u32(b, 4); gb_u64(b, 1ull << 61); gb_u32(b, 1); }
CASE(c_str_array_huge) { gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 9); gb_u32(b, 8); gb_u64(b, 1000); gb_str(b, "a"); }
CASE(c_str_array_elem_past_end) {
    gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 9); gb_u32(b, 8); gb_u64(b, 2);
    gb_str(b, "a"); gb_u64(b, 5); gb_bytes(b, "bc", 2);
}
CASE(c_bool_array) {
    gb_header(b, 3, 0, 1); gb_str(b, "k"); gb_u32(b, 9); gb_u32(b, 7); gb_u64(b, 3);
    gb_u8(b, 1); gb_u8(b, 0); gb_u8(b, 5);
}
CASE(c_align_type) { gb_header(b, 3, 0, 1); gb_kv_str(b, "general.alignment", "32"); }
CASE(c_align_u64) { gb_header(b, 3, 0, 1); gb_str(b, "general.alignment"); gb_u32(b, 10); gb_u64(b, 32); }
CASE(c_align_48) { gb_header(b, 3, 0, 1); gb_kv_u32(b, "general.alignment", 48); }
CASE(c_align_0) { gb_header(b, 3, 0, 1); gb_kv_u32(b, "general.alignment", 0); }
CASE(c_empty_name) { gb_header(b, 3, 1, 0); gb_tensor(b, "", 2, NE_8x2, 0, 0); gb_pad(b, 32); gb_zeros(b, 64); }
CASE(c_long_name) {
    char name[65];
    memset(name, 'n', 64);
    name[64] = 0;
    gb_header(b, 3, 1, 0); gb_tensor(b, name, 2, NE_8x2, 0, 0); gb_pad(b, 32); gb_zeros(b, 64);
}
CASE(c_dup_tensor) {
    gb_header(b, 3, 2, 0);
    gb_tensor(b, "w", 2, NE_8x2, 0, 0);
    gb_tensor(b, "w", 2, NE_8x2, 0, 64);
    gb_pad(b, 32); gb_zeros(b, 128);
}
CASE(c_ndims_5) { gb_header(b, 3, 1, 0); gb_str(b, "w"); gb_u32(b, 5); gb_zeros(b, 64); }
CASE(c_dim_zero) { static const int64_t ne[4] = {8, 0, 1, 1}; one_tensor(b, 0, 2, ne, 0, 64); }
CASE(c_dim_negative) { static const int64_t ne[4] = {-4, 2, 1, 1}; one_tensor(b, 0, 2, ne, 0, 64); }
CASE(c_shape_overflow) { static const int64_t ne[4] = {1ll << 40, 1ll << 40, 1, 1}; one_tensor(b, 0, 2, ne, 0, 64); }
CASE(c_bytes_overflow) { static const int64_t ne[4] = {1ll << 62, 1, 1, 1}; one_tensor(b, 0, 1, ne, 0, 64); }
CASE(c_unknown_ttype) { one_tensor(b, 99, 2, NE_8x2, 0, 64); }
CASE(c_removed_ttype) { static const int64_t ne[4] = {32, 1, 1, 1}; one_tensor(b, 4, 1, ne, 0, 64); }
CASE(c_removed_ttype36) { static const int64_t ne[4] = {32, 1, 1, 1}; one_tensor(b, 36, 1, ne, 0, 64); }
CASE(c_block_multiple) { static const int64_t ne[4] = {48, 1, 1, 1}; one_tensor(b, 2, 1, ne, 0, 64); }
CASE(c_misaligned) { one_tensor(b, 0, 2, NE_8x2, 8, 128); }
CASE(c_data_past_end) { one_tensor(b, 0, 2, NE_8x2, 0, 63); }
CASE(c_offset_past_end) { one_tensor(b, 0, 2, NE_8x2, 1ull << 63, 64); }
CASE(c_data_start_past_end) { gb_header(b, 3, 1, 0); gb_tensor(b, "w", 1, NE_8x2, 0, 0); }
CASE(c_overlap) {
    gb_header(b, 3, 2, 0);
    gb_tensor(b, "a", 2, NE_8x2, 0, 0);  /* 64 bytes at 0 */
    gb_tensor(b, "b", 2, NE_8x2, 0, 32); /* 64 bytes at 32 */
    gb_pad(b, 32); gb_zeros(b, 128);
}
CASE(c_info_truncated) { gb_header(b, 3, 1, 0); gb_str(b, "w"); gb_u32(b, 2); gb_u64(b, 8); gb_bytes(b, "\xff\xff\xff\xff\xff", 5); }
CASE(c_split_in_memory) {
    gb_header(b, 3, 0, 3);
    gb_str(b, "split.no"); gb_u32(b, 2); gb_u16(b, 0);
    gb_str(b, "split.count"); gb_u32(b, 2); gb_u16(b, 3);
    gb_str(b, "split.tensors.count"); gb_u32(b, 5); gb_u32(b, 0);
}
CASE(c_key_newline) { gb_header(b, 3, 0, 2); gb_kv_u32(b, "a\nb", 1); gb_kv_u32(b, "a\nb", 1); }

static const struct bad_case {
    const char *name;
    void (*build)(gb *);
    const char *expect;
    long offset; /* the offset the message must name, or -1 */
} k_cases[] = {
    {"empty file", c_empty, "bad magic", 0},
    {"bad magic", c_bad_magic, "bad magic", 0},
    {"short header", c_short_header, "truncated header", -1},
    {"version 1", c_version1, "unsupported GGUF version 1", 4},
    {"version 4", c_version4, "unsupported GGUF version 4", 4},
    {"big-endian", c_big_endian, "byte-swapped (big-endian)", 4},
    {"kv_count huge", c_kv_count_huge, "kv_count 1099511627776: that many keys run past the end", 16},
    {"kv_count negative", c_kv_count_negative, "kv_count 18446744073709551615 is negative", 16},
    {"tensor_count huge", c_tensor_count_huge, "that many tensors run past the end", 8},
    {"key past end", c_key_past_end, "key of 1000 bytes runs past the end", 24},
    {"key length 2^64-1", c_key_len_huge, "runs past the end", 24},
    {"empty key", c_empty_key, "empty key", 24},
    {"duplicate key", c_dup_key, "key 'a.b': duplicate key", 24 + 19},
    {"unknown value type", c_unknown_type, "key 'k': unknown value type 13", 33},
    {"bool 2", c_bool_2, "bool value must be 0 or 1, got 2", 37},
    {"truncated value", c_value_truncated, "value runs past the end", 37},
    {"string past end", c_string_past_end, "string value of 99 bytes runs past the end", 37},
    {"nested array", c_nested_array, "nested array", 37},
    {"unknown array element type", c_array_bad_elem, "unknown array element type 77", 37},
    {"huge array", c_array_huge, "array of 2305843009213693952 uint32 values runs past the end", 41},
    {"huge string array", c_str_array_huge, "array of 1000 strings runs past the end", 41},
    {"string array element past end", c_str_array_elem_past_end, "array string of 5 bytes runs past the end", 58},
    {"bool array element 5", c_bool_array, "bool value must be 0 or 1, got 5", 51},
    {"alignment as string", c_align_type, "key 'general.alignment': must be of type uint32, got string", 53},
    {"alignment as uint64", c_align_u64, "must be of type uint32, got uint64", 53},
    {"alignment 48", c_align_48, "key 'general.alignment': must be a power of two, got 48", 53},
    {"alignment 0", c_align_0, "must be a power of two, got 0", 53},
    {"empty tensor name", c_empty_name, "empty tensor name", 24},
    {"tensor name 64 bytes", c_long_name, "name is 64 bytes, longer than 63", 24},
    {"duplicate tensor", c_dup_tensor, "tensor 'w': duplicate tensor name", 24 + 41},
    {"n_dims 5", c_ndims_5, "n_dims is 5, more than 4", 33},
    {"zero dimension", c_dim_zero, "tensor 'w': dimension 1 is 0, must be positive", -1},
    {"negative dimension", c_dim_negative, "dimension 0 is -4, must be positive", -1},
    {"shape overflow", c_shape_overflow, "shape overflows", -1},
    {"size overflow", c_bytes_overflow, "overflows 64 bits", -1},
    {"unknown tensor type", c_unknown_ttype, "unknown tensor type 99", -1},
    {"removed tensor type 4", c_removed_ttype, "tensor type 4 was removed", -1},
    {"removed tensor type 36", c_removed_ttype36, "tensor type 36 was removed", -1},
    {"ne[0] not a block multiple", c_block_multiple, "ne[0] = 48 is not a multiple of the Q4_0 block size 32", -1},
    {"misaligned offset", c_misaligned, "data offset 8 is not a multiple of the alignment 32", -1},
    {"data past end", c_data_past_end, "tensor 'w': data (64 bytes at data offset 128 + 0) runs past the end", 69},
    {"offset past end", c_offset_past_end, "runs past the end", -1},
    {"data section past end", c_data_start_past_end, "data section (aligned to 32) starts past the end", -1},
    {"overlapping tensors", c_overlap, "tensor 'b': data overlaps tensor 'a'", -1},
    {"truncated tensor info", c_info_truncated, "tensor 'w': dimension runs past the end", 45},
    {"split shard in memory", c_split_in_memory, "open it by file name", -1},
    {"key with a newline", c_key_newline, "key 'a\\x0ab': duplicate key", -1},
};

static void test_bad_cases(void) {
    int n = (int)(sizeof(k_cases) / sizeof(k_cases[0]));
    for (int i = 0; i < n; i++) {
        const struct bad_case *c = &k_cases[i];
        char title[128];
        snprintf(title, sizeof(title), "gguf rejects: %s", c->name);
        TEST_BEGIN(title);
        gb b = {0};
        c->build(&b);
        lf_error err = {{0}};
        lf_gguf *g = lf_gguf_open_memory(b.p, b.n, "bad.gguf", &err);
        EXPECT(!g, "accepted");
        lf_gguf_close(g);
        EXPECT(strstr(err.msg, c->expect), "message '%s' lacks '%s'", err.msg, c->expect);
        EXPECT(!strncmp(err.msg, "bad.gguf: offset ", 17), "message '%s' does not start with the file and offset", err.msg);
        EXPECT(!strchr(err.msg, '\n'), "message is not one line");
        if (c->offset >= 0) {
            char want[64];
            snprintf(want, sizeof(want), "bad.gguf: offset %ld: ", c->offset);
            EXPECT(!strncmp(err.msg, want, strlen(want)), "message '%s' does not start with '%s'", err.msg, want);
        }
        free(b.p);
        TEST_END();
    }
}

/* A valid file of each version with every kind of record. */
static void build_valid(gb *b, uint32_t version) {
    gb_header(b, version, 2, 4);
    gb_kv_str(b, "general.architecture", "llama");
    gb_kv_u32(b, "general.alignment", 64);
    gb_str(b, "tokens"); gb_u32(b, 9); gb_u32(b, 8); gb_u64(b, 3);
    gb_str(b, "a"); gb_str(b, ""); gb_str(b, "ccc");
    gb_str(b, "flag"); gb_u32(b, 7); gb_u8(b, 1);
    static const int64_t ne_q[4] = {64, 2, 1, 1};
    gb_tensor(b, "q", 2, ne_q, 2, 0);       /* Q4_0: 2 rows x 2 blocks x 18 = 72 bytes */
    gb_tensor(b, "s", 0, NE_8x2, 0, 128);   /* a 0-dim (scalar) F32 */
    gb_pad(b, 64);
    for (int i = 0; i < 72; i++)
        gb_u8(b, (uint8_t)i);
    gb_pad(b, 64);
    gb_u32(b, 0x3f800000u);
}

static void test_valid(uint32_t version) {
    char title[64];
    snprintf(title, sizeof(title), "gguf parses a valid v%u file", version);
    TEST_BEGIN(title);
    gb b = {0};
    build_valid(&b, version);
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open_memory(b.p, b.n, "ok.gguf", &err);
    EXPECT(g, "rejected: %s", err.msg);
    if (g) {
        EXPECT(lf_gguf_version(g) == version, "version %u", lf_gguf_version(g));
        EXPECT(lf_gguf_alignment(g) == 64, "alignment %u", lf_gguf_alignment(g));
        EXPECT(lf_gguf_data_offset(g, 0) % 64 == 0, "data offset %llu", (unsigned long long)lf_gguf_data_offset(g, 0));
        EXPECT(lf_gguf_kv_count(g) == 4 && lf_gguf_tensor_count(g) == 2, "counts");
        lf_gguf_value v;
        int64_t k = lf_gguf_find_key(g, "tokens");
        EXPECT(k == 2, "tokens at %lld", (long long)k);
        EXPECT(lf_gguf_arr_get(g, k, 2, &v) && v.type == LF_GGUF_STRING && v.v.s.len == 3 &&
               !memcmp(v.v.s.ptr, "ccc", 3), "tokens[2]");
        EXPECT(lf_gguf_arr_get(g, k, 1, &v) && v.v.s.len == 0, "tokens[1]");
        EXPECT(!lf_gguf_arr_get(g, k, 3, &v), "tokens[3] exists");
        bool flag = false;
        EXPECT(lf_gguf_get_bool(g, "flag", &flag) && flag, "flag");
        const lf_gguf_tensor *q = lf_gguf_find_tensor(g, "q");
        const lf_gguf_tensor *s = lf_gguf_find_tensor(g, "s");
        EXPECT(q && q->nbytes == 72 && ((const uint8_t *)q->data)[71] == 71, "q");
        EXPECT(s && s->n_dims == 0 && s->nbytes == 4 && s->ne[0] == 1, "scalar s");
        float f = 0;
        if (s)
            memcpy(&f, s->data, 4);
        EXPECT(f == 1.0f, "s = %g", f);
        EXPECT(q && q->file_offset == lf_gguf_data_offset(g, 0), "q file offset");
    }
    lf_gguf_close(g);
    free(b.p);
    TEST_END();
}

/* Vocab-only files end right after the infos: no padding, no data. */
static void test_no_tensors_unpadded(void) {
    TEST_BEGIN("gguf parses a file with no tensors and no padding");
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_kv_str(&b, "general.architecture", "x");
    lf_error err = {{0}};
    lf_gguf *g = lf_gguf_open_memory(b.p, b.n, "v.gguf", &err);
    EXPECT(g, "rejected: %s", err.msg);
    lf_gguf_close(g);
    free(b.p);
    TEST_END();
}

/* Every prefix of a valid file that cuts into its tensor data must fail
 * cleanly; flipping any byte must not crash (the sanitizers watch). */
static void test_truncations_and_flips(void) {
    TEST_BEGIN("gguf survives every truncation and byte flip");
    gb b = {0};
    build_valid(&b, 3);
    size_t needed = b.n; /* the last tensor ends exactly at the end */
    lf_error err;
    for (size_t n = 0; n < needed; n++) {
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, b.p, n);
        lf_gguf *g = lf_gguf_open_memory(n ? copy : NULL, n, "cut.gguf", &err);
        EXPECT(!g, "prefix of %zu bytes accepted", n);
        EXPECT(g || strstr(err.msg, "cut.gguf: offset "), "message '%s'", err.msg);
        lf_gguf_close(g);
        free(copy);
    }
    for (size_t i = 0; i < b.n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            b.p[i] ^= (uint8_t)(1 << bit);
            lf_gguf *g = lf_gguf_open_memory(b.p, b.n, "flip.gguf", &err);
            if (g) {
                for (int64_t k = 0; k < lf_gguf_kv_count(g); k++) {
                    lf_gguf_value v = lf_gguf_kv_value(g, k), e;
                    for (uint64_t j = 0; v.type == LF_GGUF_ARRAY && j < v.arr_n; j++)
                        lf_gguf_arr_get(g, k, j, &e);
                }
                lf_gguf_close(g);
            }
            b.p[i] ^= (uint8_t)(1 << bit);
        }
    }
    free(b.p);
    TEST_END();
}

int main(void) {
    test_bad_cases();
    test_valid(2);
    test_valid(3);
    test_no_tensors_unpadded();
    test_truncations_and_flips();
    return test_summary();
}
