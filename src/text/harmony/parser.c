/* parser.c — harmony's StreamableParser (openai/harmony v0.0.8) in C: one
 * token at a time, three states (before a message, in its header, in its
 * content), events out. Differences from the Rust crate, on purpose: no
 * token history is kept; an id outside the vocabulary is an error (strict)
 * or U+FFFD at once (lenient) instead of stalling decoding until EOS; a
 * header is capped; lenient mode also skips tokens outside any message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"
#include "text/harmony/harmony.h"
#include "text/utf8.h"

#define MAX_HEADER_BYTES (16 << 10)

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

/* Keeps one byte free for a terminating NUL. */
static bool buf_add(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return false;
        b->p = q, b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

static const char *buf_str(buf *b) { return b->p ? b->p : ""; }

struct lf_harmony_parser {
    const lf_model *m;
    int32_t n_vocab;
    int32_t t_start, t_message, t_end, t_call, t_return;
    bool strict;
    int first_role; /* the role for the first header only, else -1 */
    int state;
    int64_t n_header_tokens, n_skipped;
    bool nomem; /* the last error was out of memory */
    buf header;   /* header text, special tokens as their text */
    buf content;  /* the current message's text */
    buf fields;   /* the parsed header's strings, NUL-separated */
    buf delta;    /* what this token added to content */
    char held[4]; /* an incomplete UTF-8 character */
    int n_held;
    char piece[256];
    lf_harmony_msg msg;
};

enum { N_ROLES = LF_HARMONY_ROLE_TOOL + 1 };
static const char *const ROLE_NAMES[N_ROLES] = {
    [LF_HARMONY_ROLE_SYSTEM] = "system",       [LF_HARMONY_ROLE_DEVELOPER] = "developer",
    [LF_HARMONY_ROLE_USER] = "user",           [LF_HARMONY_ROLE_ASSISTANT] = "assistant",
    [LF_HARMONY_ROLE_TOOL] = "tool",
};

/* The role a word names, or -1. */
static int known_role(const char *s, size_t n) {
    for (int r = 0; r < N_ROLES; r++)
        if (strlen(ROLE_NAMES[r]) == n && !memcmp(ROLE_NAMES[r], s, n))
            return r;
    return -1;
}

lf_harmony_parser *lf_harmony_parser_new(const lf_harmony *h, int role, bool strict,
                                         lf_error *err) {
    if (role < -1 || role >= N_ROLES) {
        snprintf(err->msg, sizeof err->msg, "harmony parser: bad role %d", role);
        return NULL;
    }
    lf_harmony_parser *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err->msg, sizeof err->msg, "harmony parser: out of memory");
        return NULL;
    }
    p->m = lf_harmony_model(h);
    p->n_vocab = lf_model_n_vocab(p->m);
    p->t_start = lf_harmony_start(h);
    p->t_message = lf_harmony_message(h);
    p->t_end = lf_harmony_end(h);
    p->t_call = lf_harmony_call(h);
    p->t_return = lf_harmony_return(h);
    p->strict = strict;
    p->first_role = role;
    p->state = role >= 0 ? LF_HARMONY_PS_HEADER : LF_HARMONY_PS_EXPECT_START;
    return p;
}

void lf_harmony_parser_free(lf_harmony_parser *p) {
    if (!p)
        return;
    free(p->header.p);
    free(p->content.p);
    free(p->fields.p);
    free(p->delta.p);
    free(p);
}

int lf_harmony_parser_state(const lf_harmony_parser *p) { return p->state; }
int64_t lf_harmony_parser_n_skipped(const lf_harmony_parser *p) { return p->n_skipped; }

const lf_harmony_msg *lf_harmony_parser_current(const lf_harmony_parser *p) {
    if (p->state != LF_HARMONY_PS_CONTENT)
        return NULL;
    lf_harmony_parser *q = (lf_harmony_parser *)p;
    q->msg.text = buf_str(&q->content);
    q->msg.text_len = q->content.n;
    return &q->msg;
}

static bool is_stop(const lf_harmony_parser *p, int32_t t) {
    return t == p->t_end || t == p->t_call || t == p->t_return;
}

static int oom(lf_harmony_parser *p, lf_error *err) {
    p->nomem = true;
    snprintf(err->msg, sizeof err->msg, "harmony parser: out of memory");
    return -1;
}

/* The token's bytes (special tokens as their text) in p->piece or a
 * malloc'ed block (*heap); NULL when out of memory. */
static const char *token_bytes(lf_harmony_parser *p, int32_t t, size_t *len, char **heap) {
    *heap = NULL;
    int64_t n = lf_token_to_piece(p->m, t, p->piece, sizeof p->piece, true);
    if (n >= 0) {
        *len = (size_t)n;
        return p->piece;
    }
    size_t need = (size_t)-n;
    if (!(*heap = malloc(need)))
        return NULL;
    n = lf_token_to_piece(p->m, t, *heap, need, true);
    *len = n > 0 ? (size_t)n : 0;
    return *heap;
}

/* ---------------------------------------------------------------- UTF-8 */

/* How many bytes of s[0..n) form a prefix of a valid UTF-8 character
 * starting at s[0] (the "maximal subpart" of Unicode §3.9), and its full
 * length in *full (0 when s[0] cannot start one). */
static size_t utf8_prefix(const unsigned char *s, size_t n, size_t *full) {
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) {
        *full = 1;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        *full = 0;
        return 0;
    }
    *full = len;
    size_t i = 1;
    for (; i < len && i < n; i++) {
        unsigned b = s[i];
        if (b < lo || b > hi)
            break;
        lo = 0x80, hi = 0xBF;
    }
    return i;
}

static const char FFFD[] = "\xEF\xBF\xBD";

/* Appends s[0..n) to out as UTF-8: each maximal invalid subpart becomes one
 * U+FFFD; an incomplete character at the end is held in p->held unless
 * flush, when it becomes U+FFFD too. */
static bool utf8_append(lf_harmony_parser *p, buf *out, const char *s, size_t n, bool flush) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* run: start of valid bytes not yet copied */
    while (i < n) {
        size_t full, k = utf8_prefix(u + i, n - i, &full);
        if (full && k == full) {
            i += k;
            continue;
        }
        if (!buf_add(out, s + run, i - run))
            return false;
        if (i + k == n && k > 0 && !flush) {
            memcpy(p->held, s + i, k);
            p->n_held = (int)k;
            return true;
        }
        if (!buf_add(out, FFFD, 3))
            return false;
        i += k ? k : 1;
        run = i;
    }
    return buf_add(out, s + run, i - run);
}

/* Adds a token's bytes (after any held ones) to the content and the delta. */
static bool content_add(lf_harmony_parser *p, const char *s, size_t n, bool flush) {
    char tmp[4 + 256];
    const char *src = s;
    char *heap = NULL;
    size_t len = n;
    if (p->n_held) {
        len = (size_t)p->n_held + n;
        if (len <= sizeof tmp) {
            src = tmp;
        } else if (!(heap = malloc(len))) {
            return false;
        } else {
            src = heap;
        }
        memcpy((char *)src, p->held, (size_t)p->n_held);
        if (n)
            memcpy((char *)src + p->n_held, s, n);
        p->n_held = 0;
    }
    size_t before = p->delta.n;
    bool ok = utf8_append(p, &p->delta, src, len, flush);
    free(heap);
    return ok && buf_add(&p->content, p->delta.p + before, p->delta.n - before);
}

/* --------------------------------------------------------------- headers */

static bool ascii_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Rust's char::is_whitespace (White_Space), for the channel name's end and trim. */
static bool unicode_ws(uint32_t c) {
    return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Length of the white space character at s[i], or 0. */
static size_t ws_len_at(const char *s, size_t n, size_t i) {
    size_t j = i;
    uint32_t c = lf_utf8_decode(s, n, &j);
    return unicode_ws(c) ? j - i : 0;
}

static const char CHANNEL[] = "<|channel|>", CONSTRAIN[] = "<|constrain|>";

typedef struct word {
    const char *s;
    size_t n;
} word;

/* The next word of h[*i..b): split on ASCII white space, and before each
 * <|constrain|> (the crate puts a space in front of it). */
static bool next_word(const char *h, size_t *i, size_t b, word *w) {
    size_t k = *i;
    while (k < b && ascii_ws((unsigned char)h[k]))
        k++;
    if (k == b)
        return false;
    size_t s = k++;
    while (k < b && !ascii_ws((unsigned char)h[k]) &&
           !(b - k >= sizeof CONSTRAIN - 1 && !memcmp(h + k, CONSTRAIN, sizeof CONSTRAIN - 1)))
        k++;
    *w = (word){h + s, k - s};
    *i = k;
    return true;
}

/* Parses header text h (NUL-terminated, valid UTF-8, modified) into p->msg
 * (strings in p->fields). role: the role given for this header, or -1.
 * full: parse recipient and content type (else the words left are the
 * content, in *rest). Returns false with err on a malformed header. */
static bool parse_header(lf_harmony_parser *p, char *h, size_t n, int role, bool full,
                         buf *rest, lf_error *err) {
    /* 1. the first <|channel|>: its name runs to white space or '<' */
    const char *channel = NULL;
    size_t channel_n = 0;
    char *cm = memmem(h, n, CHANNEL, sizeof CHANNEL - 1);
    if (cm) {
        char *v = cm + sizeof CHANNEL - 1, *end = h + n, *e = v;
        while (e < end && *e != '<' && !ws_len_at(h, n, (size_t)(e - h))) {
            size_t j = (size_t)(e - h);
            lf_utf8_decode(h, n, &j);
            e = h + j;
        }
        if (e == v) {
            snprintf(err->msg, sizeof err->msg,
                     "harmony: channel marker present but no channel value found in header");
            return false;
        }
        /* move the name out of the way: fields get it below; h loses it */
        channel = v, channel_n = (size_t)(e - v);
        size_t tail = (size_t)(end - e);
        p->fields.n = 0;
        if (!buf_add(&p->fields, channel, channel_n) || !buf_add(&p->fields, "", 1))
            return oom(p, err), false;
        memmove(cm, e, tail);
        n = (size_t)(cm - h) + tail;
        h[n] = 0;
    } else {
        p->fields.n = 0;
    }
    /* 2-3. words split on ASCII white space, with <|constrain|> starting a
     * word of its own (Rust trims with Unicode white space first; only
     * leading/trailing Unicode spaces other than ASCII ones differ) */
    size_t a = 0, b = n;
    for (size_t k; a < b && (k = ws_len_at(h, n, a));)
        a += k;
    while (b > a) {
        size_t j = b - 1;
        while (j > a && ((unsigned char)h[j] & 0xC0) == 0x80)
            j--;
        size_t k = ws_len_at(h, n, j);
        if (!k || j + k != b)
            break;
        b = j;
    }
    /* a header uses at most its first three words and its last two */
    word head[3] = {{0}}, tail[2] = {{0}}, cur = {0};
    size_t nw = 0;
    for (size_t i = a; next_word(h, &i, b, &cur); nw++) {
        if (nw < 3)
            head[nw] = cur;
        tail[0] = tail[1], tail[1] = cur;
    }
#define W(k) ((k) < 3 ? head[k] : tail[(k) + 2 - nw])
    /* 4. the role */
    size_t first = 0;
    const char *name = NULL;
    size_t name_n = 0;
    if (role < 0) {
        if (!nw) {
            snprintf(err->msg, sizeof err->msg, "harmony: message header did not contain a role");
            return false;
        }
        role = known_role(head[0].s, head[0].n);
        if (role < 0) {
            bool to = head[0].n >= 3 && !memcmp(head[0].s, "to=", 3);
            if (nw < 2 && !to) {
                snprintf(err->msg, sizeof err->msg, "harmony: unknown role: %.*s",
                         (int)(head[0].n > 64 ? 64 : head[0].n), head[0].s);
                return false;
            }
            role = LF_HARMONY_ROLE_TOOL; /* an unknown first word names a tool */
            first = 1;
        }
        if (role == LF_HARMONY_ROLE_TOOL)
            name = head[0].s, name_n = head[0].n;
    }
    if (first < nw && known_role(W(first).s, W(first).n) == role)
        first++;
    /* 5. recipient and content type, from the last word */
    const char *rcp = NULL, *ct = NULL;
    size_t rcp_n = 0, ct_n = 0;
    size_t last = nw; /* words [first, last) are left over */
    if (full && first < nw) {
        word l = W(nw - 1);
        last--;
        if (l.n >= 3 && !memcmp(l.s, "to=", 3)) {
            rcp = l.s + 3, rcp_n = l.n - 3;
        } else if (nw - first == 1) {
            rcp = l.s, rcp_n = l.n;
        } else {
            ct = l.s, ct_n = l.n;
            word r = W(nw - 2);
            last--;
            bool to = r.n >= 3 && !memcmp(r.s, "to=", 3);
            rcp = to ? r.s + 3 : r.s, rcp_n = to ? r.n - 3 : r.n;
        }
    }
#undef W
    if (last > first) {
        if (full) {
            snprintf(err->msg, sizeof err->msg,
                     "harmony: unexpected tokens remaining in message header");
            return false;
        }
        size_t i = a, k = 0;
        for (; k < last && next_word(h, &i, b, &cur); k++)
            if (k >= first && ((k > first && !buf_add(rest, " ", 1)) ||
                               !buf_add(rest, cur.s, cur.n)))
                return oom(p, err), false;
    }
    /* the strings, NUL-separated in p->fields (channel already first) */
    size_t off_name = 0, off_rcp = 0, off_ct = 0;
    bool ok = true;
    if (name)
        off_name = p->fields.n, ok = ok && buf_add(&p->fields, name, name_n) &&
                                      buf_add(&p->fields, "", 1);
    if (rcp)
        off_rcp = p->fields.n, ok = ok && buf_add(&p->fields, rcp, rcp_n) &&
                                     buf_add(&p->fields, "", 1);
    if (ct)
        off_ct = p->fields.n, ok = ok && buf_add(&p->fields, ct, ct_n) &&
                                    buf_add(&p->fields, "", 1);
    if (!ok)
        return oom(p, err), false;
    p->msg = (lf_harmony_msg){0};
    p->msg.role = (enum lf_harmony_role)role;
    p->msg.kind = LF_HARMONY_CONTENT_TEXT;
    p->msg.channel = channel ? p->fields.p : NULL;
    p->msg.name = name ? p->fields.p + off_name : NULL;
    p->msg.recipient = rcp ? p->fields.p + off_rcp : NULL;
    p->msg.content_type = ct ? p->fields.p + off_ct : NULL;
    p->msg.text = "";
    return true;
}

/* ---------------------------------------------------------------- events */

static void start_message(lf_harmony_parser *p) {
    p->state = LF_HARMONY_PS_HEADER;
    p->header.n = 0;
    p->n_header_tokens = 0;
}

static void to_expect_start(lf_harmony_parser *p) {
    p->state = LF_HARMONY_PS_EXPECT_START;
    p->first_role = -1;
    p->header.n = 0;
    p->n_header_tokens = 0;
}

static int ev_header(lf_harmony_parser *p, lf_harmony_event *ev, int k) {
    ev[k] = (lf_harmony_event){.type = LF_HARMONY_EV_HEADER, .msg = &p->msg, .stop_token = -1};
    return k + 1;
}

static int ev_delta(lf_harmony_parser *p, lf_harmony_event *ev, int k) {
    if (!p->delta.n)
        return k;
    ev[k] = (lf_harmony_event){.type = LF_HARMONY_EV_DELTA, .msg = &p->msg,
                               .text = p->delta.p, .len = p->delta.n, .stop_token = -1};
    return k + 1;
}

/* Finishes the open message: held bytes become U+FFFD. */
static int finish(lf_harmony_parser *p, int32_t stop, lf_harmony_event *ev, int k,
                  lf_error *err) {
    if (p->n_held && !content_add(p, "", 0, true))
        return oom(p, err);
    k = ev_delta(p, ev, k);
    p->msg.text = buf_str(&p->content);
    p->msg.text_len = p->content.n;
    ev[k] = (lf_harmony_event){.type = LF_HARMONY_EV_DONE, .msg = &p->msg, .stop_token = stop};
    to_expect_start(p);
    return k + 1;
}

/* <|message|>: the header's text becomes the message's fields. */
static int end_header(lf_harmony_parser *p, lf_harmony_event *ev, lf_error *err) {
    int role = p->first_role;
    p->first_role = -1;
    if (!lf_utf8_valid(buf_str(&p->header), p->header.n)) {
        snprintf(err->msg, sizeof err->msg, "harmony: could not decode header (not UTF-8)");
        to_expect_start(p);
        return -1;
    }
    if (!buf_add(&p->header, "", 0))
        return oom(p, err);
    if (!parse_header(p, p->header.p, p->header.n, role, true, NULL, err)) {
        to_expect_start(p);
        return -1;
    }
    p->state = LF_HARMONY_PS_CONTENT;
    p->content.n = 0;
    p->n_held = 0;
    if (!buf_add(&p->content, "", 0))
        return oom(p, err);
    return ev_header(p, ev, 0);
}

/* Lenient mode, a stop token in the header: the first message's header
 * text, less its channel and role, is that message's content. */
static int header_stopped(lf_harmony_parser *p, int32_t stop, lf_harmony_event *ev,
                          lf_error *err) {
    int role = p->first_role;
    if (role < 0 || !p->header.n) {
        p->n_skipped += p->n_header_tokens + 1;
        to_expect_start(p);
        return 0;
    }
    /* the header, invalid UTF-8 replaced */
    buf h = {0};
    bool ok = utf8_append(p, &h, buf_str(&p->header), p->header.n, true) && buf_add(&h, "", 0);
    p->content.n = 0;
    p->delta.n = 0;
    ok = ok && buf_add(&p->content, "", 0);
    if (!ok) {
        free(h.p);
        return oom(p, err);
    }
    bool parsed = parse_header(p, h.p, h.n, role, false, &p->content, err);
    free(h.p);
    if (!parsed) {
        p->n_skipped += p->n_header_tokens + 1;
        to_expect_start(p);
        return -1;
    }
    int k = ev_header(p, ev, 0);
    if (p->content.n && !buf_add(&p->delta, p->content.p, p->content.n))
        return oom(p, err);
    p->n_held = 0;
    return finish(p, stop, ev, k, err); /* its one DELTA, then DONE */
}

int lf_harmony_parser_push(lf_harmony_parser *p, int32_t t,
                           lf_harmony_event ev[LF_HARMONY_MAX_EVENTS], lf_error *err) {
    p->delta.n = 0;
    p->nomem = false;
    if (t < 0 || t >= p->n_vocab) {
        if (p->state == LF_HARMONY_PS_CONTENT && !p->strict) {
            /* a character is cut short by it: that and the id, one U+FFFD each */
            if (p->n_held && !content_add(p, "", 0, true))
                return oom(p, err);
            if (!content_add(p, FFFD, 3, false))
                return oom(p, err);
            return ev_delta(p, ev, 0);
        }
        p->n_skipped++;
        if (!p->strict)
            return 0;
        snprintf(err->msg, sizeof err->msg, "harmony: token id %d is outside the vocabulary (%d)",
                 t, p->n_vocab);
        return -1;
    }
    switch (p->state) {
    case LF_HARMONY_PS_EXPECT_START:
        if (t == p->t_start) {
            start_message(p);
            return 0;
        }
        p->n_skipped++;
        if (!p->strict)
            return 0;
        snprintf(err->msg, sizeof err->msg,
                 "harmony: unexpected token %d while expecting start token %d", t, p->t_start);
        return -1;
    case LF_HARMONY_PS_HEADER: {
        if (t == p->t_message)
            return end_header(p, ev, err);
        if (!p->strict && is_stop(p, t))
            return header_stopped(p, t, ev, err);
        if (p->n_header_tokens >= LF_HARMONY_MAX_HEADER_TOKENS) {
            p->n_skipped += p->n_header_tokens + 1;
            to_expect_start(p);
            snprintf(err->msg, sizeof err->msg,
                     "harmony: message header longer than %d tokens",
                     LF_HARMONY_MAX_HEADER_TOKENS);
            return -1;
        }
        size_t n;
        char *heap;
        const char *s = token_bytes(p, t, &n, &heap);
        if (!s)
            return oom(p, err);
        if (p->header.n + n > MAX_HEADER_BYTES) {
            free(heap);
            p->n_skipped += p->n_header_tokens + 1;
            to_expect_start(p);
            snprintf(err->msg, sizeof err->msg, "harmony: message header longer than %d bytes",
                     MAX_HEADER_BYTES);
            return -1;
        }
        bool ok = buf_add(&p->header, s, n);
        free(heap);
        if (!ok)
            return oom(p, err);
        p->n_header_tokens++;
        return 0;
    }
    case LF_HARMONY_PS_CONTENT: {
        if (is_stop(p, t))
            return finish(p, t, ev, 0, err);
        size_t n;
        char *heap;
        const char *s = token_bytes(p, t, &n, &heap);
        bool ok = s && content_add(p, s, n, false);
        free(heap);
        if (!ok)
            return oom(p, err);
        return ev_delta(p, ev, 0);
    }
    }
    return 0;
}

int lf_harmony_parser_eos(lf_harmony_parser *p, lf_harmony_event ev[LF_HARMONY_MAX_EVENTS],
                          lf_error *err) {
    p->delta.n = 0;
    p->nomem = false;
    switch (p->state) {
    case LF_HARMONY_PS_CONTENT:
        return finish(p, -1, ev, 0, err);
    case LF_HARMONY_PS_HEADER:
        p->n_skipped += p->n_header_tokens;
        to_expect_start(p);
        if (!p->strict)
            return 0;
        snprintf(err->msg, sizeof err->msg,
                 "harmony: unexpected EOS while waiting for message header to complete");
        return -1;
    default:
        return 0;
    }
}

/* ------------------------------------------------- whole completions */

/* A copy of m in one block that starts with its text (freed through it). */
static bool msg_copy(const lf_harmony_msg *m, lf_harmony_msg *out) {
    const char *s[4] = {m->name, m->channel, m->recipient, m->content_type};
    size_t need = m->text_len + 1;
    for (int i = 0; i < 4; i++)
        need += s[i] ? strlen(s[i]) + 1 : 0;
    char *b = malloc(need);
    if (!b)
        return false;
    *out = *m;
    memcpy(b, m->text, m->text_len);
    b[m->text_len] = 0;
    out->text = b;
    char *q = b + m->text_len + 1;
    const char **dst[4] = {&out->name, &out->channel, &out->recipient, &out->content_type};
    for (int i = 0; i < 4; i++) {
        if (!s[i])
            continue;
        size_t n = strlen(s[i]) + 1;
        memcpy(q, s[i], n);
        *dst[i] = q;
        q += n;
    }
    return true;
}

void lf_harmony_msgs_free(lf_harmony_msg *msgs, size_t n) {
    if (!msgs)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)msgs[i].text);
    free(msgs);
}

bool lf_harmony_parse_completion(const lf_harmony *h, const int32_t *tokens, size_t n_tokens,
                                 int role, bool strict, lf_harmony_msg **out, size_t *n,
                                 lf_error *err) {
    *out = NULL, *n = 0;
    lf_harmony_parser *p = lf_harmony_parser_new(h, role, strict, err);
    if (!p)
        return false;
    lf_harmony_msg *v = NULL;
    size_t nv = 0, cap = 0;
    bool ok = true, nomem = false;
    for (size_t i = 0; ok && i <= n_tokens; i++) {
        lf_harmony_event ev[LF_HARMONY_MAX_EVENTS];
        lf_error e;
        int k = i < n_tokens ? lf_harmony_parser_push(p, tokens[i], ev, &e)
                             : lf_harmony_parser_eos(p, ev, &e);
        if (k < 0) {
            /* non-strict: only out of memory is fatal (the parser recovers) */
            if (strict || p->nomem) {
                *err = e;
                ok = false;
            }
            continue;
        }
        for (int j = 0; ok && j < k; j++) {
            if (ev[j].type != LF_HARMONY_EV_DONE)
                continue;
            if (nv == cap) {
                size_t c = cap ? 2 * cap : 8;
                lf_harmony_msg *q = realloc(v, c * sizeof *v);
                if (!q) {
                    ok = false, nomem = true;
                    break;
                }
                v = q, cap = c;
            }
            if (!msg_copy(ev[j].msg, &v[nv])) {
                ok = false, nomem = true;
                break;
            }
            nv++;
        }
    }
    if (nomem)
        oom(p, err);
    lf_harmony_parser_free(p);
    if (!ok) {
        lf_harmony_msgs_free(v, nv);
        return false;
    }
    *out = v, *n = nv;
    return true;
}
