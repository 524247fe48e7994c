/* The human-readable output. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_dump.h"

static void put_escaped(lf_str s, uint64_t limit) {
    uint64_t n = s.len < limit ? s.len : limit;
    putchar('"');
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        switch (c) {
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default:
            if (c < 0x20 || c == 0x7f)
                printf("\\x%02x", c);
            else
                putchar(c);
        }
    }
    putchar('"');
    if (n < s.len)
        printf("... (%" PRIu64 " bytes)", s.len);
}

static void put_scalar(const lf_gguf_value *v, uint64_t str_limit) {
    switch (v->type) {
    case LF_GGUF_UINT8: case LF_GGUF_UINT16: case LF_GGUF_UINT32: case LF_GGUF_UINT64:
        printf("%" PRIu64, v->v.u);
        break;
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        printf("%" PRId64, v->v.i);
        break;
    case LF_GGUF_FLOAT32: { /* the shortest form that reads back as the same float */
        char buf[32];
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v->v.f);
            if (strtof(buf, NULL) == (float)v->v.f)
                break;
        }
        fputs(buf, stdout);
        break;
    }
    case LF_GGUF_FLOAT64:
        printf("%.17g", v->v.f);
        break;
    case LF_GGUF_BOOL:
        fputs(v->v.b ? "true" : "false", stdout);
        break;
    case LF_GGUF_STRING:
        put_escaped(v->v.s, str_limit);
        break;
    default:
        fputs("?", stdout);
    }
}

static void put_kv(const lf_gguf *g, int64_t i, const struct dump_options *opt) {
    lf_str key = lf_gguf_kv_key(g, i);
    lf_gguf_value v = lf_gguf_kv_value(g, i);
    uint64_t str_limit = opt->full ? UINT64_MAX : DUMP_STRING_BYTES;
    if (v.type != LF_GGUF_ARRAY) {
        printf("  %-44.*s %-8s = ", (int)key.len, key.ptr, lf_gguf_type_name(v.type));
        put_scalar(&v, str_limit);
        putchar('\n');
        return;
    }
    char type[32];
    snprintf(type, sizeof type, "[%s]", lf_gguf_type_name(v.arr_type));
    printf("  %-44.*s %-8s = [", (int)key.len, key.ptr, type);
    uint64_t n = opt->full || v.arr_n <= DUMP_ARRAY_ITEMS ? v.arr_n : DUMP_ARRAY_ITEMS;
    for (uint64_t j = 0; j < n; j++) {
        lf_gguf_value e;
        if (!lf_gguf_arr_get(g, i, j, &e))
            break;
        if (j)
            fputs(", ", stdout);
        put_scalar(&e, str_limit);
    }
    if (n < v.arr_n)
        printf(", ...] (%" PRIu64 " items)\n", v.arr_n);
    else
        printf("] (%" PRIu64 " items)\n", v.arr_n);
}

static bool same_value(const lf_gguf_value *a, const lf_gguf_value *b) {
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case LF_GGUF_FLOAT32: case LF_GGUF_FLOAT64: return a->v.f == b->v.f;
    case LF_GGUF_BOOL: return a->v.b == b->v.b;
    case LF_GGUF_INT8: case LF_GGUF_INT16: case LF_GGUF_INT32: case LF_GGUF_INT64:
        return a->v.i == b->v.i;
    default: return a->v.u == b->v.u;
    }
}

/* A value, with its name where the item has names ("sigmoid (2)"). */
static void put_item_scalar(const struct dump_item *it, const lf_gguf_value *v) {
    bool is_signed = v->type == LF_GGUF_INT8 || v->type == LF_GGUF_INT16 ||
                     v->type == LF_GGUF_INT32 || v->type == LF_GGUF_INT64;
    bool is_unsigned = v->type == LF_GGUF_UINT8 || v->type == LF_GGUF_UINT16 ||
                       v->type == LF_GGUF_UINT32 || v->type == LF_GGUF_UINT64;
    if (it->names && ((is_signed && v->v.i >= 0 && v->v.i < it->n_names) ||
                      (is_unsigned && v->v.u < (uint64_t)it->n_names))) {
        int x = is_signed ? (int)v->v.i : (int)v->v.u;
        printf("%s (%d)", it->names[x], x);
        return;
    }
    put_scalar(v, DUMP_STRING_BYTES);
}

/* An array as its distinct values with counts: "0 x36, 8 x4". */
static void put_item_array(const lf_gguf *g, int64_t id, const struct dump_item *it) {
    enum { MAX_DISTINCT = 8 };
    lf_gguf_value v = lf_gguf_kv_value(g, id), vals[MAX_DISTINCT];
    uint64_t counts[MAX_DISTINCT];
    int n = 0;
    bool more = false;
    if (v.arr_type == LF_GGUF_STRING || v.arr_type == LF_GGUF_ARRAY) {
        printf("[%" PRIu64 " x %s]", v.arr_n, lf_gguf_type_name(v.arr_type));
        return;
    }
    for (uint64_t j = 0; j < v.arr_n; j++) {
        lf_gguf_value e;
        if (!lf_gguf_arr_get(g, id, j, &e))
            break;
        int k = 0;
        while (k < n && !same_value(&vals[k], &e))
            k++;
        if (k == n && n == MAX_DISTINCT) {
            more = true;
            continue;
        }
        if (k == n)
            vals[n] = e, counts[n++] = 0;
        counts[k]++;
    }
    for (int k = 0; k < n; k++) {
        fputs(k ? ", " : "", stdout);
        put_item_scalar(it, &vals[k]);
        if (n > 1 || more)
            printf(" x%" PRIu64, counts[k]);
    }
    if (more)
        printf(", ... (%" PRIu64 " items)", v.arr_n);
    else if (n == 1)
        printf(" (all %" PRIu64 ")", v.arr_n);
}

/* The "model" section: one line per row with a key present, then the kinds. */
static void put_model(const lf_gguf *g, const struct dump_options *opt) {
    struct dump_model m;
    if (!dump_model_init(g, &m))
        return;
    printf("\nmodel:\n  %-22s %s\n", "architecture", m.arch);
    for (int r = 0; r < dump_row_count; r++) {
        const struct dump_row *row = &dump_rows[r];
        int shown = 0;
        for (int i = 0; i < DUMP_ROW_ITEMS && row->items[i].suffix; i++) {
            const struct dump_item *it = &row->items[i];
            int64_t id = dump_model_key(g, &m, it->suffix);
            lf_gguf_value v = lf_gguf_kv_value(g, id);
            if (id < 0 || (it->scalar_only && v.type == LF_GGUF_ARRAY))
                continue;
            printf(shown++ ? ", " : "  %-22s ", row->label);
            if (*it->label)
                printf("%s ", it->label);
            if (v.type == LF_GGUF_ARRAY)
                put_item_array(g, id, it);
            else
                put_item_scalar(it, &v);
        }
        if (!strcmp(row->label, "head dims") && !shown && m.head_dims_derived) {
            printf("  %-22s key %lld, value %lld (embedding / heads)", row->label,
                   (long long)m.head_dim_k, (long long)m.head_dim_v);
            shown = 1;
        }
        if (shown)
            putchar('\n');
    }
    if (m.n_kinds)
        printf("  layer kinds:\n");
    for (int i = 0; i < m.n_kinds; i++) {
        char *runs = dump_kinds_summary(&m, &m.kinds[i], opt->full);
        printf("    %-20s %s\n", m.kinds[i].label, runs ? runs : "(out of memory)");
        free(runs);
    }
    dump_model_free(&m);
}

static void put_human(double x, const char *const *units, double step) {
    int u = 0;
    while (x >= step && units[u + 1]) {
        x /= step;
        u++;
    }
    printf("%.2f%s", x, units[u]);
}

static void put_tensor(const lf_gguf *g, int64_t i) {
    const lf_gguf_tensor *t = lf_gguf_tensor_at(g, i);
    char shape[96];
    int len = 0;
    for (int d = 0; d < t->n_dims; d++)
        len += snprintf(shape + len, sizeof shape - len, "%s%" PRId64, d ? " x " : "", t->ne[d]);
    if (t->n_dims == 0)
        snprintf(shape, sizeof shape, "scalar");
    printf("  %5" PRId64 "  %-40.*s %-24s %-8s %12" PRIu64 " %12" PRIu64, i,
           (int)t->name.len, t->name.ptr, shape, lf_type_name(t->type),
           t->file_offset, t->nbytes);
    if (lf_gguf_shard_count(g) > 1)
        printf("  shard %d", t->shard + 1);
    putchar('\n');
}

int dump_text(const lf_gguf *g, const char *path, const struct dump_options *opt) {
    static const char *const k_count_units[] = {"", " K", " M", " B", " T", NULL};
    static const char *const k_byte_units[] = {" B", " KiB", " MiB", " GiB", " TiB", NULL};
    int shards = lf_gguf_shard_count(g);
    printf("file: %s\n", path);
    printf("GGUF version %u, %" PRId64 " tensors, %" PRId64 " metadata keys, alignment %u",
           lf_gguf_version(g), lf_gguf_tensor_count(g), lf_gguf_kv_count(g),
           lf_gguf_alignment(g));
    if (shards > 1)
        printf(", %d shards", shards);
    printf("\n\nmetadata:\n");
    for (int64_t i = 0; i < lf_gguf_kv_count(g); i++)
        put_kv(g, i, opt);
    put_model(g, opt);

    printf("\ntensors:\n  %5s  %-40s %-24s %-8s %12s %12s\n", "#", "name", "shape", "type",
           "offset", "bytes");
    for (int64_t i = 0; i < lf_gguf_tensor_count(g); i++)
        put_tensor(g, i);

    struct dump_totals t;
    dump_compute_totals(g, &t);
    printf("\ntotals:\n  parameters:      %" PRId64 " (", t.params);
    put_human((double)t.params, k_count_units, 1000);
    printf(")\n  tensor bytes:    %" PRIu64 " (", t.tensor_bytes);
    put_human((double)t.tensor_bytes, k_byte_units, 1024);
    printf(")\n  bits per weight: %.4f\n",
           t.params ? 8.0 * (double)t.tensor_bytes / (double)t.params : 0.0);
    printf("  file size:       %" PRIu64 " (", t.file_bytes);
    put_human((double)t.file_bytes, k_byte_units, 1024);
    printf("); header and padding %" PRIu64 " bytes\n", t.file_bytes - t.tensor_bytes);
    printf("  tensor types:    ");
    const char *sep = "";
    for (int ty = 0; ty < LF_TYPE_COUNT; ty++) {
        if (t.type_count[ty]) {
            printf("%s%s %" PRId64, sep, lf_type_name(ty), t.type_count[ty]);
            sep = ", ";
        }
    }
    putchar('\n');
    return 0;
}
