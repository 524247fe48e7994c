/* vocab_special.c — what llama.cpp decides about special tokens after
 * reading the vocab: EOT/EOM/FIM tokens found by their text, the
 * end-of-generation set, attribute fix-ups, and the list (and trie) of
 * tokens that are matched as whole units in input text.
 *
 * llama.cpp walks an unordered_map for the by-text searches, so when
 * several candidate texts are present the winner depends on hashing; here
 * the first text in each list wins. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"
#include "text/vocab_impl.h"

static const char *const k_eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>", NULL};
static const char *const k_eom_texts[] = {"<|eom_id|>", NULL};
static const char *const k_fim_pre_texts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
    "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const k_fim_suf_texts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
    "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const k_fim_mid_texts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
    "<|code_middle|>", "<|middle|>", NULL};
static const char *const k_fim_pad_texts[] = {
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const k_fim_rep_texts[] = {
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
static const char *const k_fim_sep_texts[] = {"<|file_sep|>", NULL};
static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[", "<|content_model_end_sampling|>", NULL};

static int32_t find_text(const lf_vocab *v, const char *s) {
    return lf_textmap_find(&v->tok_map, s, strlen(s), 0);
}

static bool text_is(const lf_vocab *v, int32_t id, const char *s) {
    size_t len, n = strlen(s);
    const char *t = lf_tok_text(v, id, &len);
    return len == n && memcmp(t, s, n) == 0;
}

/* If *id is unset, the first token whose text is in list; it becomes CONTROL. */
static void detect_by_text(lf_vocab *v, int32_t *id, const char *const *list) {
    if (*id >= 0)
        return;
    for (; *list; list++) {
        int32_t t = find_text(v, *list);
        if (t >= 0) {
            *id = t;
            v->attrs[t] |= LF_TOKEN_ATTR_CONTROL;
            return;
        }
    }
}

/* ------------------------------------------------------------- EOG set */

typedef struct idset {
    int32_t *v;
    int32_t n, cap;
} idset;

static bool idset_add(idset *s, int32_t id) {
    if (id < 0)
        return true;
    for (int32_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return true;
    if (s->n == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 16;
        int32_t *p = lf_realloc(s->v, (size_t)cap * sizeof *p);
        if (!p)
            return false;
        s->v = p, s->cap = cap;
    }
    s->v[s->n++] = id;
    return true;
}

static void idset_remove(idset *s, int32_t id) {
    for (int32_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            s->v[i] = s->v[--s->n];
}

static int32_t idset_find_text(const lf_vocab *v, const idset *s, const char *text) {
    for (int32_t i = 0; i < s->n; i++)
        if (text_is(v, s->v[i], text))
            return s->v[i];
    return -1;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static bool build_eog(lf_vocab *v) {
    idset s = {0};
    bool ok = idset_add(&s, v->fim_pad) && idset_add(&s, v->fim_rep) && idset_add(&s, v->fim_sep);
    for (const char *const *t = k_eog_texts; *t && ok; t++) {
        int32_t id = find_text(v, *t);
        if (id >= 0) {
            ok = idset_add(&s, id);
            v->attrs[id] |= LF_TOKEN_ATTR_CONTROL;
        }
    }
    /* gpt-oss (harmony): these are always rendered and always matched */
    static const char *const k_harmony[] = {"<|channel|>", "<|message|>", "<|start|>",
                                            "<|constrain|>"};
    for (size_t i = 0; i < 4; i++) {
        int32_t id = find_text(v, k_harmony[i]);
        if (id >= 0)
            v->attrs[id] = LF_TOKEN_ATTR_USER_DEFINED;
    }
    ok = ok && idset_add(&s, v->eos) && idset_add(&s, v->eot) && idset_add(&s, v->eom);
    /* o200k_harmony and solar-open: <|end|> ends a message, not generation */
    int32_t end = idset_find_text(v, &s, "<|end|>");
    bool has_return = idset_find_text(v, &s, "<|return|>") >= 0;
    bool has_call = idset_find_text(v, &s, "<|call|>") >= 0 ||
                    idset_find_text(v, &s, "<|calls|>") >= 0;
    bool has_flush = idset_find_text(v, &s, "<|flush|>") >= 0;
    if (end >= 0 && has_call && (has_return || has_flush)) {
        idset_remove(&s, end);
        v->attrs[end] = LF_TOKEN_ATTR_USER_DEFINED;
    }
    /* gemma4 and paddleocr: </s> is not EOG there */
    int32_t s_id = idset_find_text(v, &s, "</s>");
    if (s_id >= 0 && idset_find_text(v, &s, "<|tool_response>") >= 0) {
        idset_remove(&s, s_id);
        v->attrs[s_id] = LF_TOKEN_ATTR_NORMAL;
    }
    if (!ok) {
        free(s.v);
        return false;
    }
    if (s.n)
        qsort(s.v, (size_t)s.n, sizeof *s.v, cmp_i32);
    v->eog = s.v;
    v->n_eog = s.n;
    return true;
}

/* ---------------------------------------------------- special token list */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int32_t trie_child(const lf_vocab *v, int32_t node, uint8_t byte) {
    for (int32_t c = v->trie[node].child; c >= 0; c = v->trie[c].sibling)
        if (v->trie[c].byte == byte)
            return c;
    return -1;
}

static bool build_trie(lf_vocab *v) {
    size_t cap = 1;
    for (int32_t p = 0; p < v->n_special; p++)
        cap += v->tok_keys[v->special[p]].len;
    v->trie = lf_malloc(cap * sizeof *v->trie);
    if (!v->trie)
        return false;
    v->trie[0] = (lf_trie_node){-1, -1, -1, -1, 0};
    v->n_trie = 1;
    for (int32_t p = 0; p < v->n_special; p++) {
        int32_t id = v->special[p];
        size_t len;
        const char *t = lf_tok_text(v, id, &len);
        int32_t node = 0;
        for (size_t k = 0; k < len; k++) {
            int32_t c = trie_child(v, node, (uint8_t)t[k]);
            if (c < 0) {
                c = v->n_trie++;
                v->trie[c] = (lf_trie_node){-1, v->trie[node].child, -1, -1, (uint8_t)t[k]};
                v->trie[node].child = c;
            }
            node = c;
        }
        if (v->trie[node].prio_any < 0)
            v->trie[node].prio_any = p;
        if (v->trie[node].prio_user < 0 &&
            !(v->attrs[id] & (LF_TOKEN_ATTR_CONTROL | LF_TOKEN_ATTR_UNKNOWN)))
            v->trie[node].prio_user = p;
    }
    return true;
}

static bool build_special_list(lf_vocab *v) {
    const uint32_t mask =
        LF_TOKEN_ATTR_CONTROL | LF_TOKEN_ATTR_USER_DEFINED | LF_TOKEN_ATTR_UNKNOWN;
    int32_t n = 0;
    for (int32_t id = 0; id < v->n_tokens; id++)
        n += (v->attrs[id] & mask) != 0;
    v->special = lf_malloc(((size_t)n + 1) * sizeof *v->special);
    uint64_t *keys = lf_malloc(((size_t)n + 1) * sizeof *keys);
    if (!v->special || !keys) {
        free(keys);
        return false;
    }
    /* longest text first, then lower id first */
    for (int32_t id = 0; id < v->n_tokens; id++)
        if (v->attrs[id] & mask)
            keys[v->n_special++] = ((uint64_t)~v->tok_keys[id].len << 32) | (uint32_t)id;
    if (v->n_special)
        qsort(keys, (size_t)v->n_special, sizeof *keys, cmp_u64);
    for (int32_t p = 0; p < v->n_special; p++)
        v->special[p] = (int32_t)(uint32_t)keys[p];
    free(keys);
    return build_trie(v);
}

/* ------------------------------------------------- per-model attributes */

static bool contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static void set_attr(lf_vocab *v, const char *text, uint32_t attr, bool on) {
    int32_t id = find_text(v, text);
    if (id >= 0)
        v->attrs[id] = on ? v->attrs[id] | attr : v->attrs[id] & ~attr;
}

static void model_attrs(lf_vocab *v, const char *name, const char *arch) {
    char lower[256];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[i] = 0;
    if (contains(v->pre, "jina-v2-de") || contains(v->pre, "jina-v2-es") ||
        contains(v->pre, "jina-v2-code") || contains(arch, "nomic-bert-moe") ||
        contains(arch, "jina-bert-v3")) {
        set_attr(v, "<mask>", LF_TOKEN_ATTR_LSTRIP, true);
    } else if (contains(lower, "phi-3") || contains(lower, "phi3")) {
        for (int32_t p = 0; p < v->n_special; p++)
            v->attrs[v->special[p]] |= LF_TOKEN_ATTR_RSTRIP;
        set_attr(v, "</s>", LF_TOKEN_ATTR_RSTRIP, true);
        set_attr(v, "<unk>", LF_TOKEN_ATTR_RSTRIP, false);
        set_attr(v, "<s>", LF_TOKEN_ATTR_RSTRIP, false);
        set_attr(v, "<|endoftext|>", LF_TOKEN_ATTR_RSTRIP, false);
    } else if (contains(lower, "modern-bert")) {
        set_attr(v, "[MASK]", LF_TOKEN_ATTR_LSTRIP, true);
    }
}

/* Marks CONTROL tokens whose text mentions "unused" as UNUSED too. */
static void mark_unused(lf_vocab *v) {
    for (int32_t id = 0; id < v->n_tokens; id++) {
        if (!(v->attrs[id] & LF_TOKEN_ATTR_CONTROL))
            continue;
        size_t len;
        const char *t = lf_tok_text(v, id, &len);
        const char *nul = memchr(t, 0, len); /* llama.cpp searches the C string */
        if (memmem(t, nul ? (size_t)(nul - t) : len, "unused", 6) &&
            lf_textmap_find(&v->tok_map, t, len, 0) == id)
            v->attrs[id] |= LF_TOKEN_ATTR_UNUSED;
    }
}

bool lf_vocab_setup_special(lf_vocab *v, const char *general_name, const char *general_arch,
                            lf_error *err) {
    detect_by_text(v, &v->eot, k_eot_texts);
    detect_by_text(v, &v->eom, k_eom_texts);
    detect_by_text(v, &v->fim_pre, k_fim_pre_texts);
    detect_by_text(v, &v->fim_suf, k_fim_suf_texts);
    detect_by_text(v, &v->fim_mid, k_fim_mid_texts);
    detect_by_text(v, &v->fim_pad, k_fim_pad_texts);
    detect_by_text(v, &v->fim_rep, k_fim_rep_texts);
    detect_by_text(v, &v->fim_sep, k_fim_sep_texts);
    mark_unused(v);
    if (!build_eog(v) || !build_special_list(v))
        return lf_fail(err, "out of memory");
    model_attrs(v, general_name, general_arch);
    return true;
}
