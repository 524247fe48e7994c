/* vocab_load.c — reading a vocabulary from GGUF metadata (the keys
 * llama.cpp's llama_vocab::impl::load reads, with its defaults). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "text/vocab_impl.h"

#define KEY(k) "tokenizer.ggml." k

/* ------------------------------------------------------------ metadata */

static bool is_int_type(int t) {
    return t == LF_GGUF_UINT8 || t == LF_GGUF_INT8 || t == LF_GGUF_UINT16 ||
           t == LF_GGUF_INT16 || t == LF_GGUF_UINT32 || t == LF_GGUF_INT32 ||
           t == LF_GGUF_UINT64 || t == LF_GGUF_INT64;
}

static bool is_signed_type(int t) {
    return t == LF_GGUF_INT8 || t == LF_GGUF_INT16 || t == LF_GGUF_INT32 || t == LF_GGUF_INT64;
}

/* A string value into out (NUL-terminated); *found false if absent. */
static bool meta_str(const lf_gguf *g, const char *key, char *out, size_t cap, bool *found,
                     lf_error *err) {
    *found = false;
    int64_t i = lf_gguf_find_key(g, key);
    if (i < 0)
        return true;
    lf_gguf_value val = lf_gguf_kv_value(g, i);
    if (val.type != LF_GGUF_STRING)
        return lf_fail(err, "%s: expected a string", key);
    if (val.v.s.len >= cap || memchr(val.v.s.ptr, 0, val.v.s.len))
        return lf_fail(err, "%s: unsupported value", key);
    memcpy(out, val.v.s.ptr, val.v.s.len);
    out[val.v.s.len] = 0;
    *found = true;
    return true;
}

/* A string for matching names only: truncated, "" if absent or not a string. */
static void meta_str_any(const lf_gguf *g, const char *key, char *out, size_t cap) {
    lf_str s;
    size_t n = 0;
    if (lf_gguf_get_str(g, key, &s))
        n = s.len < cap ? (size_t)s.len : cap - 1;
    if (n)
        memcpy(out, s.ptr, n);
    out[n] = 0;
}

static bool meta_bool(const lf_gguf *g, const char *key, bool *inout, lf_error *err) {
    int64_t i = lf_gguf_find_key(g, key);
    if (i < 0)
        return true;
    lf_gguf_value val = lf_gguf_kv_value(g, i);
    if (val.type != LF_GGUF_BOOL)
        return lf_fail(err, "%s: expected a bool", key);
    *inout = val.v.b;
    return true;
}

/* A token id: kept only if in range (llama.cpp warns and keeps its default). */
static bool meta_id(const lf_gguf *g, const char *key, int32_t *inout, int32_t n, lf_error *err) {
    int64_t i = lf_gguf_find_key(g, key);
    if (i < 0)
        return true;
    int64_t id;
    if (!lf_gguf_get_int(g, key, &id)) {
        lf_gguf_value val = lf_gguf_kv_value(g, i);
        if (val.type == LF_GGUF_UINT64)
            return true; /* too large for int64: out of range anyway */
        return lf_fail(err, "%s: expected an integer", key);
    }
    if (id >= 0 && id < n)
        *inout = (int32_t)id;
    return true;
}

/* An array kv: index and element count; *idx = -1 if absent. */
static bool meta_array(const lf_gguf *g, const char *key, int64_t *idx, uint64_t *n, int *etype,
                       lf_error *err) {
    *idx = lf_gguf_find_key(g, key);
    if (*idx < 0)
        return true;
    lf_gguf_value val = lf_gguf_kv_value(g, *idx);
    if (val.type != LF_GGUF_ARRAY)
        return lf_fail(err, "%s: expected an array", key);
    *n = val.arr_n;
    *etype = val.arr_type;
    return true;
}

/* ------------------------------------------------------- model and flags */

static void set_defaults(lf_vocab *v) {
    v->bos = v->eos = v->eot = v->eom = v->unk = v->sep = v->pad = v->mask = v->nl = -1;
    v->fim_pre = v->fim_suf = v->fim_mid = v->fim_pad = v->fim_rep = v->fim_sep = -1;
    if (v->kind == LF_VOCAB_SPM) {
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_space_prefix = true;
        v->add_bos = true;
    } else {
        v->bos = 11, v->eos = 11;
        v->clean_spaces = true;
    }
}

static bool load_kind(lf_vocab *v, const lf_gguf *g, lf_error *err) {
    bool found;
    if (!meta_str(g, KEY("model"), v->model, sizeof v->model, &found, err))
        return false;
    if (!found)
        return lf_fail(err, "no tokenizer in this GGUF (" KEY("model") " is missing)");
    if (!strcmp(v->model, "llama"))
        v->kind = LF_VOCAB_SPM;
    else if (!strcmp(v->model, "gpt2"))
        v->kind = LF_VOCAB_BPE;
    else
        return lf_fail(err, "tokenizer model '%s' is not supported", v->model);

    if (!meta_str(g, KEY("pre"), v->pre, sizeof v->pre, &found, err))
        return false;
    if (!found || !v->pre[0])
        strcpy(v->pre, "default");
    set_defaults(v);
    if (v->kind == LF_VOCAB_BPE) {
        lf_pre_info info;
        if (!lf_pre_lookup(v->pre, &info))
            return lf_fail(err, "pre-tokenizer '%s' is not supported", v->pre);
        if (info.flags & LF_PRE_NO_CLEAN_SPACES)
            v->clean_spaces = false;
        v->ignore_merges = info.flags & LF_PRE_IGNORE_MERGES;
        v->add_bos = info.flags & LF_PRE_ADD_BOS;
        v->add_sep = info.flags & LF_PRE_ADD_SEP;
        if (info.flags & LF_PRE_NO_BOS_ID)
            v->bos = -1;
        v->pretok = lf_pretok_new(info.regexes, err);
        if (!v->pretok)
            return false;
    }
    return meta_bool(g, KEY("add_space_prefix"), &v->add_space_prefix, err) &&
           meta_bool(g, KEY("remove_extra_whitespaces"), &v->remove_extra_ws, err);
}

/* -------------------------------------------------------------- tokens */

static bool copy_token_texts(lf_vocab *v, const lf_gguf *g, int64_t idx, uint64_t n,
                             lf_error *err) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        lf_gguf_value s;
        if (!lf_gguf_arr_get(g, idx, i, &s))
            return lf_fail(err, KEY("tokens") "[%llu] cannot be read", (unsigned long long)i);
        total += s.v.s.len ? s.v.s.len : 24; /* room for "[EMPTY_i]" */
    }
    if (total >= UINT32_MAX)
        return lf_fail(err, KEY("tokens") ": too much text");
    v->text = lf_malloc(total + 1);
    v->tok_keys = lf_malloc(n * sizeof *v->tok_keys);
    if (!v->text || !v->tok_keys)
        return lf_fail(err, "out of memory");
    uint32_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        lf_gguf_value s;
        lf_gguf_arr_get(g, idx, i, &s);
        uint32_t len = (uint32_t)s.v.s.len;
        if (len) {
            memcpy(v->text + off, s.v.s.ptr, len);
        } else { /* llama.cpp renames empty tokens */
            len = (uint32_t)snprintf(v->text + off, 25, "[EMPTY_%llu]", (unsigned long long)i);
        }
        v->tok_keys[i] = (lf_textkey){off, len, 0};
        off += len;
    }
    return true;
}

static bool read_number_array(const lf_gguf *g, int64_t idx, uint64_t n, bool want_float,
                              float *fout, uint32_t *iout) {
    for (uint64_t i = 0; i < n; i++) {
        lf_gguf_value e;
        if (!lf_gguf_arr_get(g, idx, i, &e))
            return false;
        if (want_float)
            fout[i] = (float)e.v.f;
        else
            iout[i] = is_signed_type(e.type) ? (uint32_t)e.v.i : (uint32_t)e.v.u;
    }
    return true;
}

static uint32_t type_to_attr(int64_t type) {
    switch (type) {
    case 1: return LF_TOKEN_ATTR_NORMAL;
    case 2: return LF_TOKEN_ATTR_UNKNOWN;
    case 3: return LF_TOKEN_ATTR_CONTROL;
    case 4: return LF_TOKEN_ATTR_USER_DEFINED;
    case 5: return LF_TOKEN_ATTR_UNUSED;
    case 6: return LF_TOKEN_ATTR_BYTE;
    default: return LF_TOKEN_ATTR_UNDEFINED;
    }
}

static bool load_tokens(lf_vocab *v, const lf_gguf *g, lf_error *err) {
    int64_t idx, sidx, tidx;
    uint64_t n = 0, ns = 0, nt = 0;
    int et = 0, set = 0, tet = 0;
    if (!meta_array(g, KEY("tokens"), &idx, &n, &et, err) ||
        !meta_array(g, KEY("scores"), &sidx, &ns, &set, err) ||
        !meta_array(g, KEY("token_type"), &tidx, &nt, &tet, err))
        return false;
    if (idx < 0)
        return lf_fail(err, "cannot find " KEY("tokens"));
    if (et != LF_GGUF_STRING)
        return lf_fail(err, KEY("tokens") ": expected an array of strings");
    if (n == 0 || n >= (1u << 30))
        return lf_fail(err, KEY("tokens") ": bad token count %llu", (unsigned long long)n);
    if (sidx >= 0 && (ns < n || (set != LF_GGUF_FLOAT32 && set != LF_GGUF_FLOAT64)))
        return lf_fail(err, KEY("scores") ": expected %llu floats", (unsigned long long)n);
    if (tidx >= 0 && (nt < n || !is_int_type(tet)))
        return lf_fail(err, KEY("token_type") ": expected %llu integers", (unsigned long long)n);
    v->n_tokens = (int32_t)n;
    v->scores = lf_calloc(n, sizeof *v->scores);
    v->attrs = lf_malloc(n * sizeof *v->attrs);
    if (!v->scores || !v->attrs)
        return lf_fail(err, "out of memory");
    if (!copy_token_texts(v, g, idx, n, err))
        return false;
    if (sidx >= 0 && !read_number_array(g, sidx, n, true, v->scores, NULL))
        return lf_fail(err, KEY("scores") " cannot be read");
    if (tidx >= 0) {
        if (!read_number_array(g, tidx, n, false, NULL, v->attrs))
            return lf_fail(err, KEY("token_type") " cannot be read");
        for (uint64_t i = 0; i < n; i++)
            v->attrs[i] = type_to_attr((int32_t)v->attrs[i]);
    } else {
        for (uint64_t i = 0; i < n; i++)
            v->attrs[i] = LF_TOKEN_ATTR_NORMAL;
    }
    if (!lf_textmap_build(&v->tok_map, v->text, v->tok_keys, v->n_tokens, true))
        return lf_fail(err, "out of memory");
    return true;
}

/* --------------------------------------------------------------- merges */

static bool load_merges(lf_vocab *v, const lf_gguf *g, lf_error *err) {
    int64_t idx;
    uint64_t n = 0;
    int et = 0;
    if (!meta_array(g, KEY("merges"), &idx, &n, &et, err))
        return false;
    if (idx < 0)
        return lf_fail(err, "cannot find " KEY("merges"));
    if (n && et != LF_GGUF_STRING)
        return lf_fail(err, KEY("merges") ": expected an array of strings");
    if (n >= (1u << 30))
        return lf_fail(err, KEY("merges") ": too many");
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        lf_gguf_value s;
        if (!lf_gguf_arr_get(g, idx, i, &s))
            return lf_fail(err, KEY("merges") "[%llu] cannot be read", (unsigned long long)i);
        total += s.v.s.len;
    }
    if (total >= UINT32_MAX)
        return lf_fail(err, KEY("merges") ": too much text");
    v->merge_text = lf_malloc(total + 1);
    v->merge_keys = lf_malloc((n ? n : 1) * sizeof *v->merge_keys);
    if (!v->merge_text || !v->merge_keys)
        return lf_fail(err, "out of memory");
    uint32_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        lf_gguf_value s;
        lf_gguf_arr_get(g, idx, i, &s);
        const char *p = s.v.s.ptr;
        size_t len = s.v.s.len;
        /* "left right": the first space after the first byte splits it */
        const char *sp = len > 1 ? memchr(p + 1, ' ', len - 1) : NULL;
        if (!sp)
            return lf_fail(err, KEY("merges") "[%llu] is not \"left right\"",
                           (unsigned long long)i);
        size_t left = (size_t)(sp - p);
        memcpy(v->merge_text + off, p, left);
        memcpy(v->merge_text + off + left, sp + 1, len - left - 1);
        v->merge_keys[i] = (lf_textkey){off, (uint32_t)(len - 1), (uint32_t)left};
        off += (uint32_t)(len - 1);
    }
    v->n_merges = (int32_t)n;
    if (!lf_textmap_build(&v->merge_map, v->merge_text, v->merge_keys, v->n_merges, false))
        return lf_fail(err, "out of memory");
    return true;
}

/* ---------------------------------------------------------- special ids */

static bool load_ids(lf_vocab *v, const lf_gguf *g, lf_error *err) {
    static const struct {
        const char *key;
        size_t field;
    } k_ids[] = {
        {KEY("bos_token_id"), offsetof(lf_vocab, bos)},
        {KEY("eos_token_id"), offsetof(lf_vocab, eos)},
        {KEY("eot_token_id"), offsetof(lf_vocab, eot)},
        {KEY("eom_token_id"), offsetof(lf_vocab, eom)},
        {KEY("unknown_token_id"), offsetof(lf_vocab, unk)},
        {KEY("seperator_token_id"), offsetof(lf_vocab, sep)}, /* sic */
        {KEY("padding_token_id"), offsetof(lf_vocab, pad)},
        {KEY("mask_token_id"), offsetof(lf_vocab, mask)},
        {KEY("fim_pre_token_id"), offsetof(lf_vocab, fim_pre)},
        {KEY("fim_suf_token_id"), offsetof(lf_vocab, fim_suf)},
        {KEY("fim_mid_token_id"), offsetof(lf_vocab, fim_mid)},
        {KEY("fim_pad_token_id"), offsetof(lf_vocab, fim_pad)},
        {KEY("fim_rep_token_id"), offsetof(lf_vocab, fim_rep)},
        {KEY("fim_sep_token_id"), offsetof(lf_vocab, fim_sep)},
        {KEY("prefix_token_id"), offsetof(lf_vocab, fim_pre)}, /* deprecated names */
        {KEY("suffix_token_id"), offsetof(lf_vocab, fim_suf)},
        {KEY("middle_token_id"), offsetof(lf_vocab, fim_mid)},
    };
    for (size_t i = 0; i < sizeof k_ids / sizeof k_ids[0]; i++) {
        int32_t *id = (int32_t *)((char *)v + k_ids[i].field);
        if (!meta_id(g, k_ids[i].key, id, v->n_tokens, err))
            return false;
    }
    /* Defaults can be out of range for a tiny vocab. */
    int32_t *ids[] = {&v->bos, &v->eos, &v->unk};
    for (size_t i = 0; i < 3; i++)
        if (*ids[i] >= v->n_tokens)
            *ids[i] = -1;
    return meta_bool(g, KEY("add_bos_token"), &v->add_bos, err) &&
           meta_bool(g, KEY("add_eos_token"), &v->add_eos, err) &&
           meta_bool(g, KEY("add_sep_token"), &v->add_sep, err);
}

/* Whether U+2581 appears in tokens only as a leading run, which lets SPM
 * tokenize word by word (spm.c). */
static bool space_only_leads(const lf_vocab *v) {
    for (int32_t id = 0; id < v->n_tokens; id++) {
        size_t len, k = 0;
        const char *t = lf_tok_text(v, id, &len);
        while (k + 3 <= len && memcmp(t + k, "\xE2\x96\x81", 3) == 0)
            k += 3;
        if (memmem(t + k, len - k, "\xE2\x96\x81", 3))
            return false;
    }
    return true;
}

static void build_byte_tables(lf_vocab *v) {
    lf_gpt2_byte_table(v->gpt2);
    for (int b = 0; b < 256; b++) {
        char c = (char)b, hex[7];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        v->char_token[b] = lf_textmap_find(&v->tok_map, &c, 1, 0);
        int32_t id = lf_textmap_find(&v->tok_map, hex, 6, 0);
        v->byte_token[b] = id >= 0 ? id : v->char_token[b];
    }
}

/* The newline token: SPM's byte token for '\n', else the first token of
 * "\n" (llama.cpp falls back to the pad id). False when out of memory. */
static bool find_newline(lf_vocab *v) {
    int32_t ids[8];
    int64_t n = 0;
    if (v->kind == LF_VOCAB_SPM)
        v->nl = v->byte_token['\n'];
    else if ((n = lf_vocab_tokenize(v, "\n", 1, false, false, ids, 8)) > 0)
        v->nl = ids[0];
    if (v->nl < 0)
        v->nl = v->pad;
    return n != INT64_MIN;
}

lf_vocab *lf_vocab_load(const lf_gguf *g, lf_error *err) {
    lf_vocab *v = lf_calloc(1, sizeof *v);
    if (!v) {
        lf_fail(err, "out of memory");
        return NULL;
    }
    char name[256], arch[64];
    if (!load_kind(v, g, err) || !load_tokens(v, g, err) ||
        (v->kind == LF_VOCAB_BPE && !load_merges(v, g, err)) || !load_ids(v, g, err))
        goto fail;
    meta_str_any(g, "general.name", name, sizeof name);
    meta_str_any(g, "general.architecture", arch, sizeof arch);
    build_byte_tables(v);
    v->spm_split_at_space = v->kind == LF_VOCAB_SPM && space_only_leads(v);
    if (!lf_vocab_setup_special(v, name, arch, err))
        goto fail;
    if (!lf_vocab_build_pieces(v) || !find_newline(v)) {
        lf_fail(err, "out of memory");
        goto fail;
    }
    return v;
fail:
    lf_vocab_free(v);
    return NULL;
}

void lf_vocab_free(lf_vocab *v) {
    if (!v)
        return;
    free(v->text);
    free(v->tok_keys);
    free(v->scores);
    free(v->attrs);
    lf_textmap_free(&v->tok_map);
    free(v->merge_text);
    free(v->merge_keys);
    lf_textmap_free(&v->merge_map);
    lf_pretok_free(v->pretok);
    free(v->eog);
    free(v->special);
    free(v->trie);
    free(v->piece_text);
    free(v->pieces);
    free(v);
}
