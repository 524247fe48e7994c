/* textmap.h — an open-addressing hash set of byte strings kept in an
 * arena, used for token text -> id and for BPE merge pair -> rank.
 *
 * Key k is arena[keys[k].off .. +keys[k].len), split into a left and a
 * right part at keys[k].split (0 for plain strings), and the map returns k.
 * A merge "left right" is stored as the concatenation left+right with
 * split = len(left), so a pair of adjacent symbols is looked up without
 * building a string. */
#ifndef LF_TEXT_TEXTMAP_H
#define LF_TEXT_TEXTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lf_textkey {
    uint32_t off, len, split;
} lf_textkey;

typedef struct lf_textmap {
    const char *arena;
    const lf_textkey *keys;
    uint64_t *slots; /* hash << 32 | (key index + 1); 0 if empty */
    uint32_t mask;
} lf_textmap;

uint32_t lf_text_hash(const char *s, size_t len, uint32_t split);

/* Builds a map over keys[0..n). On equal keys the later one wins when
 * last_wins, else the first one stays. False on out-of-memory. */
bool lf_textmap_build(lf_textmap *m, const char *arena, const lf_textkey *keys, int32_t n,
                      bool last_wins);
void lf_textmap_free(lf_textmap *m);

/* Index of the key equal to s[0..len) split at split, or -1. */
int32_t lf_textmap_find(const lf_textmap *m, const char *s, size_t len, uint32_t split);

#endif
