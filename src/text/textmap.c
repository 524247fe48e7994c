/* textmap.c — see textmap.h. */
#include "text/textmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint32_t lf_text_hash(const char *s, size_t len, uint32_t split) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0x100000001b3ull) ^ ((uint64_t)split << 40);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    for (size_t k = 0; i + k < len; k++)
        tail |= (uint64_t)(uint8_t)s[i + k] << (8 * k);
    h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)mix64(h);
}

static bool key_equal(const lf_textmap *m, int32_t k, const char *s, size_t len, uint32_t split) {
    const lf_textkey *key = &m->keys[k];
    return key->len == len && key->split == split && memcmp(m->arena + key->off, s, len) == 0;
}

bool lf_textmap_build(lf_textmap *m, const char *arena, const lf_textkey *keys, int32_t n,
                      bool last_wins) {
    uint32_t cap = 16;
    while ((uint64_t)cap < (uint64_t)n * 2 && cap < (1u << 31))
        cap <<= 1;
    m->arena = arena;
    m->keys = keys;
    m->mask = cap - 1;
    m->slots = lf_calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return false;
    for (int32_t k = 0; k < n; k++) {
        const char *s = arena + keys[k].off;
        uint32_t h = lf_text_hash(s, keys[k].len, keys[k].split);
        for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
            uint64_t slot = m->slots[i];
            if (!slot) {
                m->slots[i] = (uint64_t)h << 32 | (uint32_t)(k + 1);
                break;
            }
            int32_t cur = (int32_t)(uint32_t)slot - 1;
            if ((uint32_t)(slot >> 32) == h && key_equal(m, cur, s, keys[k].len, keys[k].split)) {
                if (last_wins)
                    m->slots[i] = (uint64_t)h << 32 | (uint32_t)(k + 1);
                break;
            }
        }
    }
    return true;
}

void lf_textmap_free(lf_textmap *m) {
    free(m->slots);
    m->slots = NULL;
}

int32_t lf_textmap_find(const lf_textmap *m, const char *s, size_t len, uint32_t split) {
    if (!m->slots)
        return -1;
    uint32_t h = lf_text_hash(s, len, split);
    for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
        uint64_t slot = m->slots[i];
        if (!slot)
            return -1;
        int32_t cur = (int32_t)(uint32_t)slot - 1;
        if ((uint32_t)(slot >> 32) == h && key_equal(m, cur, s, len, split))
            return cur;
    }
}
