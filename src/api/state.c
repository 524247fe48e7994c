/* state.c — saving and restoring a sequence's state (or every sequence's):
 * its KV cells in every cache group and layer plus the architecture's own
 * state (a recurrent state), in memory or in a file with the tokens that
 * produced it. The format (docs/api.md, "Saved states") starts with a
 * header naming the model's shape and checksummed, then a checksummed
 * payload; a restore checks all of it before it changes anything, and
 * puts the old state back if the cells do not fit after all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/bytes.h"
#include "base/crc32.h"
#include "base/error.h"
#include "model/model.h"
#include "platform/mapfile.h"
#include "platform/replace_file.h"

enum {
    VERSION = 1,
    ARCH_LEN = 64,
    HEAD = 144,           /* header bytes, its checksum last */
    WHOLE = 1,            /* flag: every sequence, each with its own id */
    SECTION_HEAD = 16,    /* seq, reserved, kv bytes */
};
static const char MAGIC[4] = {'L', 'F', 'S', 'Q'};

/* What a state must match: the model's shape and the cache's layout. */
typedef struct ident {
    char arch[ARCH_LEN];
    uint32_t n_layer, kv_type, n_vocab, n_embd, layout;
    uint64_t k_row, v_row;
} ident;

static void ident_of(const lf_context *c, ident *id) {
    memset(id, 0, sizeof *id);
    memcpy(id->arch, c->model->arch_name, sizeof id->arch);
    id->arch[ARCH_LEN - 1] = 0;
    id->n_layer = (uint32_t)c->kv.n_layer;
    id->kv_type = (uint32_t)c->kv.type;
    id->k_row = (uint64_t)c->kv.k_row;
    id->v_row = (uint64_t)c->kv.v_row;
    id->n_vocab = (uint32_t)c->model->hp.n_vocab;
    id->n_embd = (uint32_t)c->model->hp.n_embd;
    id->layout = lf_kvstate_layout(&c->kv);
}

static bool valid_seq(const lf_context *c, int32_t seq) {
    return seq < 0 || (uint32_t)seq < c->params.n_seq_max;
}

static size_t arch_bytes(const lf_context *c) {
    return c->model->arch->state_size ? c->model->arch->state_size(c) : 0;
}

static size_t section_bytes(const lf_context *c, int32_t seq) {
    return SECTION_HEAD + lf_kvstate_bytes(&c->kv, seq) + 8 + arch_bytes(c);
}

/* Whether a whole-context state holds seq: it has cells. */
static bool seq_present(const lf_context *c, int32_t seq) {
    return lf_kvcache_seq_pos_max(&c->kv, seq) >= 0;
}

static size_t state_bytes(const lf_context *c, int32_t seq, size_t n_tokens) {
    size_t n = HEAD + 4 * n_tokens;
    if (seq >= 0)
        return n + section_bytes(c, seq);
    for (uint32_t s = 0; s < c->params.n_seq_max; s++)
        if (seq_present(c, (int32_t)s))
            n += section_bytes(c, (int32_t)s);
    return n;
}

static uint8_t *write_section(const lf_context *c, int32_t seq, uint8_t *p) {
    size_t kv = lf_kvstate_bytes(&c->kv, seq), arch = arch_bytes(c);
    p = lf_put_u32(p, (uint32_t)seq);
    p = lf_put_u32(p, 0);
    p = lf_put_u64(p, kv);
    lf_kvstate_write(&c->kv, seq, p);
    p = lf_put_u64(p + kv, arch);
    if (arch)
        c->model->arch->state_write(c, seq, p);
    return p + arch;
}

/* Writes the state (size bytes, from state_bytes) to dst. */
static void write_state(const lf_context *c, int32_t seq, const int32_t *tokens, size_t n_tokens,
                        uint8_t *dst, size_t size) {
    ident id;
    ident_of(c, &id);
    uint8_t *p = dst + HEAD;
    for (size_t i = 0; i < n_tokens; i++)
        p = lf_put_u32(p, (uint32_t)tokens[i]);
    uint32_t n_section = 0;
    for (uint32_t s = 0; s < c->params.n_seq_max; s++)
        if (seq >= 0 ? (int32_t)s == seq : seq_present(c, (int32_t)s)) {
            p = write_section(c, (int32_t)s, p);
            n_section++;
        }
    p = lf_put_bytes(dst, MAGIC, 4);
    p = lf_put_u32(p, VERSION);
    p = lf_put_bytes(p, id.arch, ARCH_LEN);
    p = lf_put_u32(p, id.n_layer);
    p = lf_put_u32(p, id.kv_type);
    p = lf_put_u64(p, id.k_row);
    p = lf_put_u64(p, id.v_row);
    p = lf_put_u32(p, id.n_vocab);
    p = lf_put_u32(p, id.n_embd);
    p = lf_put_u32(p, id.layout);
    p = lf_put_u32(p, n_section);
    p = lf_put_u32(p, seq < 0 ? WHOLE : 0);
    p = lf_put_u32(p, 0);
    p = lf_put_u64(p, n_tokens);
    p = lf_put_u64(p, size - HEAD);
    p = lf_put_u32(p, lf_crc32(0, dst + HEAD, size - HEAD));
    lf_put_u32(p, lf_crc32(0, dst, HEAD - 4));
}

/* ---- reading ---- */

typedef struct section {
    int32_t seq;
    const uint8_t *kv, *arch;
    size_t kv_n, arch_n;
} section;

typedef struct parsed {
    bool whole;
    uint64_t n_tokens;
    const uint8_t *tokens; /* n_tokens little-endian int32 */
    size_t total;          /* header + payload */
    uint32_t n_section;
    section *s;
} parsed;

static const char *type_name(uint32_t t) {
    const char *n = lf_type_name((int)t);
    return n ? n : "?";
}

static bool check_ident(const lf_context *c, lf_reader *r, lf_error *err) {
    ident have, want;
    ident_of(c, &want);
    memcpy(have.arch, lf_read_bytes(r, ARCH_LEN), ARCH_LEN);
    have.arch[ARCH_LEN - 1] = 0;
    have.n_layer = lf_read_u32(r);
    have.kv_type = lf_read_u32(r);
    have.k_row = lf_read_u64(r);
    have.v_row = lf_read_u64(r);
    have.n_vocab = lf_read_u32(r);
    have.n_embd = lf_read_u32(r);
    have.layout = lf_read_u32(r);
    if (strcmp(have.arch, want.arch) || have.n_layer != want.n_layer ||
        have.k_row != want.k_row || have.v_row != want.v_row || have.n_vocab != want.n_vocab ||
        have.n_embd != want.n_embd || have.kv_type != want.kv_type)
        return lf_fail(err, "state is from another model: %s, %u layers, embedding %u, vocabulary "
                       "%u, K/V rows %llu/%llu %s; this context runs %s, %u layers, embedding %u, "
                       "vocabulary %u, K/V rows %llu/%llu %s",
                       have.arch, have.n_layer, have.n_embd, have.n_vocab,
                       (unsigned long long)have.k_row, (unsigned long long)have.v_row,
                       type_name(have.kv_type), want.arch, want.n_layer, want.n_embd,
                       want.n_vocab, (unsigned long long)want.k_row,
                       (unsigned long long)want.v_row, type_name(want.kv_type));
    if (have.layout != want.layout)
        return lf_fail(err, "state is from another model: its cache layout (sliding windows, "
                       "layers without a cache) differs from this model's");
    return true;
}

static bool parse_sections(const lf_context *c, lf_reader *r, parsed *p, lf_error *err) {
    p->s = lf_calloc(p->n_section ? p->n_section : 1, sizeof *p->s);
    if (!p->s)
        return lf_fail(err, "out of memory");
    for (uint32_t i = 0; i < p->n_section; i++) {
        section *s = &p->s[i];
        s->seq = (int32_t)lf_read_u32(r);
        lf_read_u32(r);
        s->kv_n = (size_t)lf_read_u64(r);
        if (r->bad || !(s->kv = lf_read_bytes(r, s->kv_n)))
            return lf_fail(err, "state is corrupt: section %u is cut short", i);
        if (p->whole && (s->seq < 0 || !valid_seq(c, s->seq)))
            return lf_fail(err, "state holds sequence %d; this context has sequences 0..%u", s->seq,
                           c->params.n_seq_max - 1);
        for (uint32_t j = 0; p->whole && j < i; j++)
            if (p->s[j].seq == s->seq)
                return lf_fail(err, "state is corrupt: sequence %d appears twice", s->seq);
        size_t used;
        if (!lf_kvstate_check(&c->kv, s->kv, s->kv_n, &used, err))
            return false;
        if (used != s->kv_n)
            return lf_fail(err, "state is corrupt: %zu stray bytes after the cells", s->kv_n - used);
        s->arch_n = (size_t)lf_read_u64(r);
        if (r->bad || !(s->arch = lf_read_bytes(r, s->arch_n)))
            return lf_fail(err, "state is corrupt: section %u is cut short", i);
        if (c->model->arch->state_check) {
            if (!c->model->arch->state_check(c, s->arch, s->arch_n, err))
                return false;
        } else if (s->arch_n) {
            return lf_fail(err, "state holds %zu bytes of %s state this model does not keep",
                           s->arch_n, c->model->arch_name);
        }
    }
    return true;
}

/* Checks a whole state in src (at most n bytes) against c. */
static bool parse(const lf_context *c, const uint8_t *src, size_t n, parsed *p, lf_error *err) {
    memset(p, 0, sizeof *p);
    if (n < 4 || memcmp(src, MAGIC, 4))
        return lf_fail(err, "not a saved state (no LFSQ magic)");
    if (n < HEAD)
        return lf_fail(err, "state is truncated: %zu bytes, less than its header", n);
    lf_reader r = {.p = src, .n = HEAD};
    lf_read_u32(&r);
    uint32_t version = lf_read_u32(&r);
    if (version != VERSION)
        return lf_fail(err, "state format version %u is not supported (this build reads %d)",
                       version, VERSION);
    lf_reader hr = {.p = src + HEAD - 4, .n = 4};
    uint32_t head_crc = lf_read_u32(&hr);
    if (head_crc != lf_crc32(0, src, HEAD - 4))
        return lf_fail(err, "state header is corrupt (checksum mismatch)");
    if (!check_ident(c, &r, err))
        return false;
    p->n_section = lf_read_u32(&r);
    uint32_t flags = lf_read_u32(&r);
    lf_read_u32(&r);
    p->n_tokens = lf_read_u64(&r);
    uint64_t payload = lf_read_u64(&r);
    uint32_t payload_crc = lf_read_u32(&r);
    p->whole = flags & WHOLE;
    if (payload > n - HEAD)
        return lf_fail(err, "state is truncated: %zu of %llu bytes", n,
                       (unsigned long long)(payload + HEAD));
    if (payload_crc != lf_crc32(0, src + HEAD, (size_t)payload))
        return lf_fail(err, "state is corrupt (checksum mismatch)");
    if ((flags & ~(uint32_t)WHOLE) || (!p->whole && p->n_section != 1) ||
        p->n_section > c->params.n_seq_max)
        return lf_fail(err, "state is corrupt: flags %#x, %u sections", flags, p->n_section);
    lf_reader pr = {.p = src + HEAD, .n = (size_t)payload};
    if (p->n_tokens > payload / 4)
        return lf_fail(err, "state is corrupt: %llu tokens", (unsigned long long)p->n_tokens);
    p->tokens = lf_read_bytes(&pr, 4 * (size_t)p->n_tokens);
    lf_reader tr = {.p = p->tokens, .n = 4 * (size_t)p->n_tokens};
    for (uint64_t i = 0; i < p->n_tokens; i++) {
        uint32_t t = lf_read_u32(&tr);
        if (t >= (uint64_t)c->model->hp.n_vocab)
            return lf_fail(err, "state is corrupt: token %u is outside the vocabulary", t);
    }
    if (!parse_sections(c, &pr, p, err))
        return false;
    if (pr.off != pr.n)
        return lf_fail(err, "state is corrupt: %zu stray bytes at its end", pr.n - pr.off);
    p->total = HEAD + (size_t)payload;
    return true;
}

/* Restores a parsed state as seq (all sequences: seq < 0). */
static bool apply(lf_context *c, int32_t seq, const parsed *p, lf_error *err) {
    lf_kv_remove(c, seq, 0, -1);
    for (uint32_t i = 0; i < p->n_section; i++) {
        const section *s = &p->s[i];
        int32_t to = p->whole ? s->seq : seq;
        if (!lf_kvstate_read(&c->kv, to, s->kv, s->kv_n, c->params.n_batch, err))
            return false;
        if (s->arch_n)
            c->model->arch->state_read(c, to, s->arch);
    }
    return true;
}

/* Checks src as a state to restore as seq; p->s is to be freed either way. */
static bool check(const lf_context *c, int32_t seq, const uint8_t *src, size_t n, parsed *p,
                  lf_error *err) {
    memset(p, 0, sizeof *p);
    if (!valid_seq(c, seq))
        return lf_fail(err, "sequence %d is outside 0..%u", seq, c->params.n_seq_max - 1);
    if (!parse(c, src, n, p, err))
        return false;
    if (p->whole != (seq < 0))
        return lf_fail(err, p->whole ? "state holds every sequence: restore it with sequence -1"
                                     : "state holds one sequence: restore it into one, not -1");
    return true;
}

/* Restores a checked state; if its cells do not fit, puts the old ones back. */
static bool restore(lf_context *c, int32_t seq, const parsed *p, lf_error *err) {
    size_t old_n = state_bytes(c, seq, 0);
    uint8_t *old = lf_malloc(old_n);
    if (!old)
        return lf_fail(err, "out of memory for a copy of the current state (%zu bytes)", old_n);
    write_state(c, seq, NULL, 0, old, old_n);
    if (apply(c, seq, p, err)) {
        free(old);
        return true;
    }
    parsed back;
    lf_error ignored;
    bool ok = parse(c, old, old_n, &back, &ignored) && apply(c, seq, &back, &ignored);
    free(back.s);
    free(old);
    if (!ok && err) { /* short of memory only: the old cells fit before */
        lf_kv_remove(c, seq, 0, -1);
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (and the old state was lost)");
    }
    return false;
}

/* ---- the public calls ---- */

size_t lf_state_seq_size(const lf_context *c, int32_t seq) {
    return valid_seq(c, seq) ? state_bytes(c, seq, 0) : 0;
}

size_t lf_state_seq_get(const lf_context *c, int32_t seq, void *dst, size_t cap, lf_error *err) {
    if (!valid_seq(c, seq))
        return lf_fail(err, "sequence %d is outside 0..%u", seq, c->params.n_seq_max - 1), 0;
    size_t n = state_bytes(c, seq, 0);
    if (cap < n)
        return lf_fail(err, "a buffer of %zu bytes is too small for the state (%zu bytes)", cap, n), 0;
    write_state(c, seq, NULL, 0, dst, n);
    return n;
}

size_t lf_state_seq_set(lf_context *c, int32_t seq, const void *src, size_t size, lf_error *err) {
    parsed p;
    bool ok = check(c, seq, src, size, &p, err) && restore(c, seq, &p, err);
    free(p.s);
    return ok ? p.total : 0;
}

static bool write_file(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k, n -= (size_t)k;
    }
    return true;
}

bool lf_state_seq_save_file(const lf_context *c, int32_t seq, const char *path,
                            const int32_t *tokens, size_t n_tokens, lf_error *err) {
    if (!valid_seq(c, seq))
        return lf_fail(err, "sequence %d is outside 0..%u", seq, c->params.n_seq_max - 1);
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= c->model->hp.n_vocab)
            return lf_fail(err, "token %zu (%d) is outside the vocabulary", i, tokens[i]);
    if (n_tokens > ((size_t)1 << 40))
        return lf_fail(err, "%zu tokens is too many", n_tokens);
    size_t n = state_bytes(c, seq, n_tokens);
    uint8_t *buf = lf_malloc(n);
    if (!buf)
        return lf_fail(err, "out of memory for a state of %zu bytes", n);
    write_state(c, seq, tokens, n_tokens, buf, n);
    lf_replace r;
    bool ok = lf_replace_begin(&r, path, err);
    if (ok && !write_file(r.fd, buf, n)) {
        lf_fail(err, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        lf_drop_pending_xfsz();
        lf_replace_abort(&r);
        ok = false;
    } else if (ok) {
        ok = lf_replace_commit(&r, err);
    }
    free(buf);
    return ok;
}

bool lf_state_seq_load_file(lf_context *c, int32_t seq, const char *path, int32_t *tokens,
                            size_t cap, size_t *n_tokens, lf_error *err) {
    lf_map m;
    if (!lf_map_file(&m, path, err))
        return false;
    parsed p;
    lf_error e;
    bool ok = check(c, seq, m.data, (size_t)m.size, &p, &e);
    if (ok && p.total != m.size)
        ok = lf_fail(&e, "%llu stray bytes after the state", (unsigned long long)(m.size - p.total));
    if (ok && tokens && p.n_tokens > cap)
        ok = lf_fail(&e, "it holds %llu tokens, more than the %zu asked for",
                     (unsigned long long)p.n_tokens, cap);
    ok = ok && restore(c, seq, &p, &e);
    if (ok) {
        lf_reader tr = {.p = p.tokens, .n = 4 * (size_t)p.n_tokens};
        for (size_t i = 0; tokens && i < p.n_tokens; i++)
            tokens[i] = (int32_t)lf_read_u32(&tr);
        if (n_tokens)
            *n_tokens = (size_t)p.n_tokens;
    }
    free(p.s);
    lf_unmap(&m);
    if (!ok)
        lf_fail(err, "%s: %s", path, e.msg);
    return ok;
}
