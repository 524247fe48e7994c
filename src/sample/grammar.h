/* grammar.h — GBNF grammars inside the sampler: grammar_parse.c turns the
 * text into rules of elements, grammar_match.c runs them over code points
 * and tokens (hash-consed parse stacks), grammar_mask.c masks a step's
 * candidates with a walk of a byte trie of the vocabulary.
 *
 * A rule is a list of alternatives; an alternative is a run of elements
 * ending with G_END. Groups and repetitions become generated rules, so an
 * element is only a character class, a rule reference or a token. */
#ifndef LF_SAMPLE_GRAMMAR_H
#define LF_SAMPLE_GRAMMAR_H

#include <stdint.h>

#include "llamafile.h"

enum { G_END, G_CHAR, G_REF, G_TOKEN, G_NOT_TOKEN };

typedef struct gelem {
    uint8_t type;
    int32_t v; /* G_CHAR: class index; G_REF: rule; G_TOKEN/G_NOT_TOKEN: token id */
} gelem;

typedef struct gclass {
    uint64_t ascii[2];   /* the answer for code points < 128 */
    bool negated;
    int32_t first, n;    /* ranges (lo, hi) at ranges[2*first ...] */
} gclass;

typedef struct grule {
    int32_t first_alt, n_alts; /* into alts[]: start positions in elems */
    char *name;                /* generated rules: "parent_N" */
    int32_t at;                /* offset in the text of its definition (or group) */
} grule;

typedef struct gcompiled {
    gelem *elems;
    int32_t n_elems, cap_elems;
    int32_t *alts;
    int32_t n_alts, cap_alts;
    grule *rules;
    int32_t n_rules, cap_rules;
    gclass *classes;
    int32_t n_classes, cap_classes;
    uint32_t *ranges;
    int32_t n_ranges, cap_ranges; /* counted in uint32 pairs */
    int32_t root;
} gcompiled;

/* Parses gbnf (NUL-terminated) for root (NULL: "root"). m is needed only
 * for token references. False with "gbnf:LINE:COL: message" in err. */
bool lf_gbnf_parse(gcompiled *g, const lf_model *m, const char *gbnf, const char *root,
                   lf_error *err);
void lf_gbnf_free(gcompiled *g);
bool lf_gclass_match(const gcompiled *g, const gclass *c, uint32_t cp);
/* Whether the class may match some code point in [lo, hi]. */
bool lf_gclass_may_match(const gcompiled *g, const gclass *c, uint32_t lo, uint32_t hi);

/* ---- the vocabulary trie (grammar_vocab.c) ---- */

typedef struct lf_gvocab {
    int32_t n_vocab;
    char *pieces;
    int64_t *poff;  /* token t: pieces[poff[t] .. poff[t+1]) */
    uint8_t *eog;
    int32_t n_nodes, max_depth;
    uint8_t *tbyte;
    uint16_t *tdepth;
    int32_t *tskip, *ttok, *ttok_n; /* tokens ending at a node: sorted[ttok .. +ttok_n) */
    int32_t *sorted;
} lf_gvocab;

/* m's trie, built on the first call and kept with the model (freed by
 * lf_model_free); safe to call from several threads. */
const lf_gvocab *lf_gvocab_of(const lf_model *m, lf_error *err);
void lf_gvocab_free(lf_gvocab *v);

/* ---- matching ---- */

/* A parse stack, hash-consed: equal stacks are the same node. pos is the
 * element on top (a G_CHAR or a token element for a stack in a set). */
typedef struct gnode gnode;
struct gnode {
    int32_t pos;
    gnode *parent;
    gnode *hnext;     /* hash chain */
    gnode **after;    /* the stacks after this one's top matched (expanded), */
    int32_t n_after;  /* n_after < 0: not computed yet */
    gnode **exp;      /* this node's own expansion (for rule references) */
    int32_t n_exp;
    uint32_t mark;    /* set building: a node is in the set under construction */
};

/* A point in the text: the set of stacks, and a UTF-8 sequence begun but
 * not finished (rem bytes still to come, val the bits so far with the
 * sequence's length in its top byte). */
typedef struct gstate {
    gnode **set;
    int32_t n, cap;
    uint32_t val;
    int32_t rem;
} gstate;

typedef struct gmatcher gmatcher;

gmatcher *lf_gmatcher_new(gcompiled *g, lf_error *err);
void lf_gmatcher_free(gmatcher *mt);
/* The stacks at the start; false when out of memory or too deep. */
bool lf_gmatcher_start(gmatcher *mt, gstate *out);
/* The set after code point cp from in (out->n == 0: rejected). False on a
 * resource limit (out of memory, nesting too deep, too many stacks). */
bool lf_gmatcher_advance(gmatcher *mt, const gnode *const *in, int32_t n, uint32_t cp,
                         gstate *out);
/* The set after token id from the token-element stacks of in. */
bool lf_gmatcher_advance_token(gmatcher *mt, const gnode *const *in, int32_t n, int32_t id,
                               gstate *out);
/* One byte of text: false when it cannot be accepted (st unchanged then
 * only if the caller kept a copy). *ok false on a resource limit. */
bool lf_gmatcher_byte(gmatcher *mt, gstate *st, uint8_t b, gstate *tmp, bool *ok);
/* Whether some stack of the set may accept a code point the pending UTF-8
 * sequence (val, rem) can still become. */
bool lf_gmatcher_partial_ok(gmatcher *mt, const gnode *const *set, int32_t n, uint32_t val,
                            int32_t rem);
/* One byte of UTF-8 on a pending sequence (val, rem as in gstate): false
 * for a byte that cannot continue valid UTF-8; rem 0 after: val is the
 * code point. */
bool lf_utf8_step(uint32_t *val, int32_t *rem, uint8_t b);
bool lf_gmatcher_done(const gmatcher *mt, const gnode *const *set, int32_t n);
const gcompiled *lf_gmatcher_grammar(const gmatcher *mt);
bool lf_gstate_copy(gstate *dst, const gstate *src);
void lf_gstate_free(gstate *s);

#endif
