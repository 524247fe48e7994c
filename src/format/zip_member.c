/* zip_member.c — looking members up and locating their bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "format/zip.h"

const lf_zip_entry *lf_zip_find(const lf_zip *z, const char *name) {
    size_t len = strlen(name);
    for (int64_t i = 0; i < z->n; i++)
        if (z->recs[i].e.name_len == len && !memcmp(z->recs[i].e.name, name, len))
            return &z->recs[i].e;
    return NULL;
}

static bool is_gguf(const lf_zip_entry *e) {
    return e->name_len > 5 && !strcasecmp(e->name + e->name_len - 5, ".gguf");
}

/* Appends "'a', 'b', ..." for the entries that pass keep() (all of them if
 * keep is NULL) to buf, shortening the list to fit. */
static void list_names(const lf_zip *z, bool (*keep)(const lf_zip_entry *), char *buf,
                       size_t n) {
    size_t o = 0;
    int listed = 0, total = 0;
    buf[0] = 0;
    for (int64_t i = 0; i < z->n; i++) {
        const lf_zip_entry *e = &z->recs[i].e;
        if (keep && !keep(e))
            continue;
        total++;
        char q[64], item[80];
        int len = snprintf(item, sizeof(item), "%s'%s'", listed ? ", " : "",
                           lf_zip_quote(e->name, e->name_len, q, sizeof(q)));
        if (o + (size_t)len + 16 < n) {
            memcpy(buf + o, item, (size_t)len + 1);
            o += (size_t)len;
            listed++;
        }
    }
    if (listed < total)
        snprintf(buf + o, n - o, "%s... %d more", listed ? ", " : "", total - listed);
}

const lf_zip_entry *lf_zip_find_gguf(const lf_zip *z, lf_error *err) {
    const lf_zip_entry *found = NULL;
    int count = 0;
    for (int64_t i = 0; i < z->n; i++)
        if (is_gguf(&z->recs[i].e)) {
            found = &z->recs[i].e;
            count++;
        }
    if (count == 1)
        return found;
    char names[320];
    if (count == 0) {
        list_names(z, NULL, names, sizeof(names));
        lf_fail(err, "%s: holds no .gguf member (members: %s)", z->name,
                z->n ? names : "none");
    } else {
        list_names(z, is_gguf, names, sizeof(names));
        lf_fail(err, "%s: holds %d .gguf members (%s); pick one with %s@MEMBER", z->name,
                count, names, z->name);
    }
    return NULL;
}

bool lf_zip_stored_range(const lf_zip *z, const lf_zip_entry *e, uint64_t *offset,
                         uint64_t *size, lf_error *err) {
    char q[80];
    const char *qn = lf_zip_quote(e->name, e->name_len, q, sizeof(q));
    if (e->flags & 1)
        return lf_fail(err, "%s: offset %llu: member '%s' is encrypted", z->name,
                       (unsigned long long)e->header_offset, qn);
    if (e->method != 0)
        return lf_fail(err, "%s: offset %llu: member '%s' is compressed (method %d%s); "
                       "re-add it with zipalign -0", z->name,
                       (unsigned long long)e->header_offset, qn, e->method,
                       e->method == 8 ? ", deflate" : "");
    *offset = e->data_offset;
    *size = e->size;
    return true;
}

bool lf_zip_read_member(const lf_zip *z, const lf_zip_entry *e, char **out,
                        size_t *out_size, lf_error *err) {
    uint64_t off, size;
    *out = NULL;
    if (!lf_zip_stored_range(z, e, &off, &size, err))
        return false;
    if (size >= (64u << 20)) {
        char q[80];
        return lf_fail(err, "%s: member '%s' is too large to read (%llu bytes)", z->name,
                       lf_zip_quote(e->name, e->name_len, q, sizeof(q)),
                       (unsigned long long)size);
    }
    char *buf = malloc((size_t)size + 1);
    if (!buf)
        return lf_fail(err, "%s: out of memory", z->name);
    if (!lf_zip_src_read(&z->src, off, buf, (size_t)size, z->name, err)) {
        free(buf);
        return false;
    }
    buf[size] = 0;
    *out = buf;
    *out_size = (size_t)size;
    return true;
}
