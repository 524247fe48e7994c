/* partition.c — cutting special tokens out of input text, with the result
 * of llama.cpp's tokenizer_st_partition: special tokens are taken one at a
 * time, longest text first, and each one's occurrences are found left to
 * right in the raw fragments the earlier ones left. (That is not the same
 * as a longest-match scan: "ab_c" with tokens "b_c" and "ab" gives "a" +
 * "b_c".) A token with LSTRIP/RSTRIP eats the ASCII white space before /
 * after it.
 *
 * Doing that literally costs a search per special token; here one pass of
 * a trie over the text first finds which special tokens occur at all, and
 * only those are searched for. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "text/vocab_impl.h"

static bool is_c_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool frag_push(lf_fragments *f, int32_t token, size_t off, size_t len) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        lf_fragment *p = lf_realloc(f->v, cap * sizeof *p);
        if (!p)
            return false;
        f->v = p, f->cap = cap;
    }
    f->v[f->n++] = (lf_fragment){token, off, len};
    return true;
}

/* Marks in present[] the priority of every special token (usable in this
 * mode) that occurs somewhere in text. Returns how many were found. */
static int32_t scan_present(const lf_vocab *v, const char *text, size_t len, bool parse_special,
                            uint8_t *present) {
    int32_t found = 0;
    const lf_trie_node *t = v->trie;
    for (size_t i = 0; i < len; i++) {
        int32_t node = 0;
        for (size_t k = i; k < len; k++) {
            int32_t c = t[node].child;
            while (c >= 0 && t[c].byte != (uint8_t)text[k])
                c = t[c].sibling;
            if (c < 0)
                break;
            node = c;
            int32_t p = parse_special ? t[node].prio_any : t[node].prio_user;
            if (p >= 0 && !present[p]) {
                present[p] = 1;
                found++;
            }
        }
    }
    return found;
}

/* Splits every raw fragment of in around the occurrences of one token. */
static bool split_on(const lf_vocab *v, const char *text, int32_t id, const lf_fragments *in,
                     lf_fragments *out) {
    size_t tlen;
    const char *tok = lf_tok_text(v, id, &tlen);
    uint32_t attr = v->attrs[id];
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        lf_fragment f = in->v[i];
        if (f.token >= 0) {
            if (!frag_push(out, f.token, 0, 0))
                return false;
            continue;
        }
        size_t pos = f.off, end = f.off + f.len;
        for (;;) {
            const char *m = memmem(text + pos, end - pos, tok, tlen);
            if (!m) {
                if (end > pos && !frag_push(out, -1, pos, end - pos))
                    return false;
                break;
            }
            size_t at = (size_t)(m - text), left = at - pos;
            if (attr & LF_TOKEN_ATTR_LSTRIP)
                while (left > 0 && is_c_space(text[pos + left - 1]))
                    left--;
            if ((left > 0 && !frag_push(out, -1, pos, left)) || !frag_push(out, id, 0, 0))
                return false;
            pos = at + tlen;
            if (attr & LF_TOKEN_ATTR_RSTRIP)
                while (pos < end && is_c_space(text[pos]))
                    pos++;
            if (pos >= end)
                break;
        }
    }
    return true;
}

bool lf_vocab_partition(const lf_vocab *v, const char *text, size_t len, bool parse_special,
                        lf_fragments *out) {
    out->n = 0;
    if (len == 0)
        return true;
    if (!frag_push(out, -1, 0, len))
        return false;
    if (v->n_special == 0)
        return true;
    uint8_t *present = lf_calloc((size_t)v->n_special, 1);
    if (!present)
        return false;
    bool ok = true;
    if (scan_present(v, text, len, parse_special, present) > 0) {
        lf_fragments tmp = {0};
        for (int32_t p = 0; p < v->n_special && ok; p++) {
            if (!present[p])
                continue;
            ok = split_on(v, text, v->special[p], out, &tmp);
            lf_fragments t = *out;
            *out = tmp, tmp = t;
        }
        free(tmp.v);
    }
    free(present);
    return ok;
}
