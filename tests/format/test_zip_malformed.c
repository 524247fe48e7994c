/* test_zip_malformed.c — hand-made archives with one lie each: every one
 * must be rejected with its own one-line message naming the archive. */
#include "../harness.h"
#include "llamafile.h"
#include "zip_bytes.h"

#define CASE(fn) static void fn(gb *b, zb_layout *L)

static const zb_opts PLAIN = {0};
static const zb_opts Z64 = {.zip64_end = true, .zip64_extra = true};

/* The ZIP64 extra field of central record i starts here (Z64 layout). */
static size_t z64x(const zb_layout *L, const gb *b, int i) {
    return L->cr[i] + 46 + (size_t)(b->p[L->cr[i] + 28] | b->p[L->cr[i] + 29] << 8);
}

CASE(c_empty) { (void)b; (void)L; }
CASE(c_no_end) { zb_build(b, L, &PLAIN); b->n = L->end; }
CASE(c_comment_len) { zb_build(b, L, &PLAIN); zb_set16(b, L->end + 20, 5); }
CASE(c_count_too_big) { zb_build(b, L, &PLAIN); zb_set16(b, L->end + 8, 9); zb_set16(b, L->end + 10, 9); }
CASE(c_record_cut) { zb_build(b, L, &PLAIN); zb_set16(b, L->cr[1] + 30, 100); }
CASE(c_cd_offset_past_end) { zb_build(b, L, &PLAIN); zb_set32(b, L->end + 16, 0x7ffffff0); }
CASE(c_cd_offset_forward) { zb_build(b, L, &PLAIN); zb_set32(b, L->end + 16, (uint32_t)L->cd + 4); }
CASE(c_cd_size_huge) { zb_build(b, L, &PLAIN); zb_set32(b, L->end + 12, 0x7fff0000); }
CASE(c_cd_shifted) { zb_build(b, L, &PLAIN); zb_set32(b, L->end + 16, (uint32_t)L->cd - 3); }
CASE(c_cd_sig) { zb_build(b, L, &PLAIN); zb_set32(b, L->cd, 0x02014b51); }
CASE(c_central_sig) { zb_build(b, L, &PLAIN); zb_set32(b, L->cr[1], 0x12345678); }
CASE(c_lho_past_end) { zb_build(b, L, &PLAIN); zb_set32(b, L->cr[1] + 42, 0x7000000); }
CASE(c_lho_in_cd) { zb_build(b, L, &PLAIN); zb_set32(b, L->cr[1] + 42, (uint32_t)L->cd + 2); }
CASE(c_local_sig) { zb_build(b, L, &PLAIN); zb_set32(b, L->lh[1], 0); }
CASE(c_local_into_cd) { zb_build(b, L, &PLAIN); zb_set16(b, L->lh[1] + 28, 200); }
CASE(c_data_past_cd) { zb_build(b, L, &PLAIN); zb_set32(b, L->cr[0] + 20, 1000); zb_set32(b, L->cr[0] + 24, 1000); }
CASE(c_overlap) {
    zb_build(b, L, &PLAIN);
    uint32_t n = (uint32_t)(L->lh[1] - L->data[0] + 4); /* a's data covers b's header */
    zb_set32(b, L->cr[0] + 20, n);
    zb_set32(b, L->cr[0] + 24, n);
}
CASE(c_same_header) { zb_opts o = {.names = {"same", "same"}}; zb_build(b, L, &o); zb_set32(b, L->cr[1] + 42, (uint32_t)L->lh[0]); }
CASE(c_dup_name) { zb_opts o = {.names = {"same", "same"}}; zb_build(b, L, &o); }
CASE(c_empty_name) { zb_build(b, L, &PLAIN); zb_set16(b, L->cr[0] + 28, 0); }
CASE(c_nul_name) { zb_build(b, L, &PLAIN); b->p[L->cr[0] + 47] = 0; }
CASE(c_name_len_huge) { zb_build(b, L, &PLAIN); zb_set16(b, L->cr[1] + 28, 0xffff); }
CASE(c_local_name_len) { zb_build(b, L, &PLAIN); zb_set16(b, L->lh[0] + 26, 4); }
CASE(c_local_name) { zb_build(b, L, &PLAIN); b->p[L->lh[0] + 30] = 'X'; }
CASE(c_multi_disk) { zb_build(b, L, &PLAIN); zb_set16(b, L->end + 4, 1); }
CASE(c_entry_disk) { zb_build(b, L, &PLAIN); zb_set16(b, L->cr[1] + 34, 2); }
CASE(c_entries_on_disk) { zb_build(b, L, &PLAIN); zb_set16(b, L->end + 8, 1); }
CASE(c_extra_overrun) { zb_build(b, L, &Z64); zb_set16(b, z64x(L, b, 0) + 2, 200); }
CASE(c_stored_sizes) { zb_build(b, L, &PLAIN); zb_set32(b, L->cr[0] + 24, 3); }
CASE(c_newline_name) {
    zb_opts o = {.names = {"a\nb", NULL}};
    zb_build(b, L, &o);
    zb_set32(b, L->cr[0] + 24, 3);
}
CASE(c_z64_count) { zb_build(b, L, &Z64); zb_set16(b, L->end + 8, 3); zb_set16(b, L->end + 10, 3); }
CASE(c_z64_cd_offset) { zb_build(b, L, &Z64); zb_set32(b, L->end + 16, 7); }
CASE(c_z64_cd_size) { zb_build(b, L, &Z64); zb_set64(b, L->z64end + 40, 1ull << 40); }
CASE(c_z64_locator_past_end) {
    zb_build(b, L, &Z64);
    zb_set64(b, L->z64loc + 8, 1ull << 40);
    zb_set32(b, L->z64end, 0);
}
CASE(c_z64_no_record) { zb_build(b, L, &Z64); zb_set32(b, L->z64end, 0); }
CASE(c_z64_record_size) { zb_build(b, L, &Z64); zb_set64(b, L->z64end + 4, 1000); }
CASE(c_z64_disk_count) { zb_build(b, L, &Z64); zb_set64(b, L->z64end + 24, 1); }
CASE(c_z64_multi_disk) { zb_build(b, L, &Z64); zb_set32(b, L->z64end + 16, 1); }
CASE(c_z64_locator_disks) { zb_build(b, L, &Z64); zb_set32(b, L->z64loc + 16, 3); }
CASE(c_z64_no_extra) { zb_build(b, L, &PLAIN); zb_set32(b, L->cr[0] + 20, 0xffffffffu); }
CASE(c_z64_extra_short) { zb_build(b, L, &Z64); zb_set16(b, z64x(L, b, 0) + 2, 8); }
CASE(c_z64_size) {
    zb_build(b, L, &Z64);
    zb_set64(b, z64x(L, b, 1) + 4, 1ull << 40);
    zb_set64(b, z64x(L, b, 1) + 12, 1ull << 40);
}
CASE(c_z64_offset) { zb_build(b, L, &Z64); zb_set64(b, z64x(L, b, 1) + 20, 1ull << 50); }
static const struct bad_case {
    const char *name;
    void (*build)(gb *, zb_layout *);
    const char *expect;
} k_cases[] = {
    {"empty file", c_empty, "not a zip archive (no end of central directory record)"},
    {"no end record", c_no_end, "not a zip archive"},
    {"comment length past the end", c_comment_len, "not a zip archive"},
    {"truncated directory: count too big", c_count_too_big, "9 entries cannot fit in a central directory of"},
    {"truncated directory: record cut", c_record_cut, "entry 1: name, extra field and comment run past the end of the central directory (truncated)"},
    {"directory offset past the end", c_cd_offset_past_end, "central directory offset 2147483632 is past the end of the file"},
    {"directory offset too far", c_cd_offset_forward, "runs into the end record"},
    {"directory size too large", c_cd_size_huge, "central directory size 2147418112 is larger than"},
    {"directory offset shifted", c_cd_shifted, "no local file header here"},
    {"directory signature", c_cd_sig, "no central directory record here"},
    {"central record signature", c_central_sig, "entry 1: bad central directory signature 0x12345678"},
    {"local header offset past the end", c_lho_past_end, "local header offset 117440512 is past the end of the file"},
    {"local header offset in the directory", c_lho_in_cd, "local header lies in the central directory"},
    {"local header signature", c_local_sig, "entry 1 'b.gguf': no local file header here (found 0x00000000)"},
    {"local extra into the directory", c_local_into_cd, "local header runs into the central directory"},
    {"data past the directory", c_data_past_cd, "entry 0 'a.txt': data ["},
    {"overlapping entries", c_overlap, "entries 'a.txt' and 'b.gguf' overlap"},
    {"two records, one header", c_same_header, "overlap"},
    {"duplicate names", c_dup_name, "name 'same' appears twice"},
    {"empty name", c_empty_name, "entry 0: empty name"},
    {"NUL in a name", c_nul_name, "entry 0: name contains a NUL byte"},
    {"name length past the directory", c_name_len_huge, "entry 1: name, extra field and comment run past the end"},
    {"local name length", c_local_name_len, "local header name length 4 differs from the central directory's 5"},
    {"local name", c_local_name, "local header name differs"},
    {"multi-disk end record", c_multi_disk, "multi-disk (split) archives are not supported"},
    {"multi-disk entry", c_entry_disk, "multi-disk"},
    {"entries on this disk", c_entries_on_disk, "end record: 1 entries on this disk but 2 in all"},
    {"extra field overrun", c_extra_overrun, "entry 0 'a.txt': extra field runs past its end"},
    {"stored sizes differ", c_stored_sizes, "stored, yet its compressed size 5 differs from its size 3"},
    {"newline in a name is escaped", c_newline_name, "entry 0 'a\\x0ab': stored, yet"},
    {"ZIP64 lie: entry count", c_z64_count, "ZIP64 mismatch: the end record says the entry count is 3, the ZIP64 end record says 2"},
    {"ZIP64 lie: directory offset", c_z64_cd_offset, "ZIP64 mismatch: the end record says the central directory offset is 7"},
    {"ZIP64 lie: directory size", c_z64_cd_size, "central directory size 1099511627776 is larger than"},
    {"ZIP64 lie: locator past the end", c_z64_locator_past_end, "ZIP64 locator: end record offset 1099511627776 is past the end of the file"},
    {"ZIP64 lie: no end record", c_z64_no_record, "ZIP64 locator: no ZIP64 end record at offset"},
    {"ZIP64 lie: record size", c_z64_record_size, "ZIP64 end record size 1000 does not fit"},
    {"ZIP64 lie: entries on disk", c_z64_disk_count, "ZIP64 end record: 1 entries on this disk but 2 in all"},
    {"ZIP64 multi-disk", c_z64_multi_disk, "multi-disk"},
    {"ZIP64 locator disks", c_z64_locator_disks, "multi-disk"},
    {"ZIP64 lie: no extra field", c_z64_no_extra, "a size or offset is 0xffffffff but there is no ZIP64 extra field"},
    {"ZIP64 lie: short extra field", c_z64_extra_short, "ZIP64 extra field holds 8 bytes, fewer than the 24"},
    {"ZIP64 lie: size", c_z64_size, "entry 1 'b.gguf': data ["},
    {"ZIP64 lie: offset", c_z64_offset, "local header offset 1125899906842624 is past the end of the file"},
};

static void test_bad_cases(void) {
    for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
        const struct bad_case *c = &k_cases[i];
        char title[128];
        snprintf(title, sizeof(title), "zip rejects: %s", c->name);
        TEST_BEGIN(title);
        gb b = {0};
        zb_layout L;
        c->build(&b, &L);
        lf_error err = {{0}};
        lf_zip *z = lf_zip_open_memory(b.p, b.n, "bad.zip", &err);
        EXPECT(!z, "accepted");
        if (getenv("ZIP_TEST_VERBOSE"))
            printf("# %s\n", err.msg);
        lf_zip_close(z);
        EXPECT(strstr(err.msg, c->expect), "message '%s' lacks '%s'", err.msg, c->expect);
        EXPECT(!strncmp(err.msg, "bad.zip: ", 9), "message '%s' does not name the file", err.msg);
        EXPECT(!strchr(err.msg, '\n'), "message is not one line");
        EXPECT(!strncmp(err.msg, "bad.zip: offset ", 16) || strstr(err.msg, "not a zip"),
               "message '%s' gives no offset", err.msg);
        free(b.p);
        TEST_END();
    }
}

int main(void) {
    test_bad_cases();
    return test_summary();
}
