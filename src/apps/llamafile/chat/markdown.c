/* markdown.c — the streaming terminal markdown renderer (markdown.h).
 *
 * A byte-at-a-time state machine, so the output cannot depend on where the
 * pieces were cut. At the start of a line the bytes are held until it is
 * clear whether they begin a heading or a fence; a fence line is held to
 * its newline (the language must be known to tell an opening fence from
 * text); a '*' waits for the next byte (is it "**"?). Everything else is
 * written by the push that brought it. Inline styles end with their line,
 * so an unclosed "**" cannot colour the rest of the answer. */
#include "markdown.h"

#include <stdlib.h>
#include <string.h>

#define BOLD_ON "\033[1m"
#define BOLD_OFF "\033[22m"
#define CODE_ON "\033[36m"
#define CODE_OFF "\033[39m"
#define HEAD_ON "\033[1;4m"
#define HEAD_OFF "\033[22;24m"
#define FENCE_ON "\033[2m"
#define FENCE_OFF "\033[22m"

enum mode {
    M_PREFIX,     /* at a line start: is it a heading, a fence? (held) */
    M_FENCE_LINE, /* a possible opening fence, held to its newline */
    M_INLINE,     /* text with **bold** and `code` */
    M_HEADING,    /* the rest of a heading line */
    M_CODE_LINE,  /* a line inside a fenced block: verbatim */
};

enum { HOLD_MAX = 256 };

struct md_renderer {
    bool colour;
    md_write_fn write;
    void *ud;
    enum mode mode;
    bool in_fence, bold, code, star;
    char fence_ch;
    size_t fence_len;
    char hold[HOLD_MAX];
    size_t n_hold;
    char out[4096];
    size_t n_out;
};

static void flush(md_renderer *m) {
    if (m->n_out)
        m->write(m->ud, m->out, m->n_out);
    m->n_out = 0;
}

static void put(md_renderer *m, const char *s, size_t n) {
    if (m->n_out + n > sizeof m->out) {
        flush(m);
        if (n > sizeof m->out) {
            m->write(m->ud, s, n);
            return;
        }
    }
    memcpy(m->out + m->n_out, s, n);
    m->n_out += n;
}

static void puts_(md_renderer *m, const char *s) { put(m, s, strlen(s)); }

static void file_write(void *ud, const char *s, size_t n) { fwrite(s, 1, n, (FILE *)ud); }

md_renderer *md_new(bool colour, md_write_fn write, void *ud) {
    md_renderer *m = calloc(1, sizeof *m);
    if (m) {
        m->colour = colour;
        m->write = write;
        m->ud = ud;
    }
    return m;
}

md_renderer *md_new_file(bool colour, FILE *f) { return md_new(colour, file_write, f); }

void md_free(md_renderer *m) { free(m); }

/* ------------------------------------------------------------- inline */

static void end_line_styles(md_renderer *m) {
    if (m->bold)
        puts_(m, BOLD_OFF);
    if (m->code)
        puts_(m, CODE_OFF);
    m->bold = m->code = false;
}

static void inline_byte(md_renderer *m, char c) {
    if (m->star) {
        m->star = false;
        if (c == '*') {
            puts_(m, m->bold ? BOLD_OFF : BOLD_ON);
            m->bold = !m->bold;
            return;
        }
        put(m, "*", 1);
    }
    if (c == '\n') {
        end_line_styles(m);
        put(m, "\n", 1);
        m->mode = M_PREFIX;
    } else if (m->code) {
        if (c == '`') {
            puts_(m, CODE_OFF);
            m->code = false;
        } else {
            put(m, &c, 1);
        }
    } else if (c == '`') {
        puts_(m, CODE_ON);
        m->code = true;
    } else if (c == '*') {
        m->star = true;
    } else {
        put(m, &c, 1);
    }
}

/* The held bytes were not markup after all. */
static void replay_inline(md_renderer *m) {
    size_t n = m->n_hold;
    m->n_hold = 0;
    m->mode = M_INLINE;
    for (size_t i = 0; i < n; i++)
        inline_byte(m, m->hold[i]);
}

/* ------------------------------------------------------- line starts */

/* The held line start: up to 3 spaces, then a run of one fence character.
 * Returns the run's length (0: none yet); *rest is what follows it. */
static size_t fence_run(const md_renderer *m, char *ch, size_t *rest) {
    size_t i = 0;
    while (i < m->n_hold && i < 3 && m->hold[i] == ' ')
        i++;
    size_t j = i;
    if (j < m->n_hold && (m->hold[j] == '`' || m->hold[j] == '~')) {
        *ch = m->hold[j];
        while (j < m->n_hold && m->hold[j] == *ch)
            j++;
    }
    *rest = j;
    return j - i;
}

static void fence_line_out(md_renderer *m) {
    puts_(m, FENCE_ON);
    put(m, m->hold, m->n_hold - 1);
    puts_(m, FENCE_OFF);
    put(m, "\n", 1);
    m->n_hold = 0;
    m->mode = M_PREFIX;
}

/* At a line start outside a fence: a heading ("#".."######" and a space),
 * a fence (three or more ` or ~ after up to 3 spaces), or text. */
static void prefix_text(md_renderer *m) {
    const char *h = m->hold;
    size_t n = m->n_hold, hashes = 0;
    while (hashes < n && h[hashes] == '#')
        hashes++;
    if (hashes && hashes <= 6) {
        if (hashes == n)
            return; /* more '#' may come */
        if (h[hashes] == ' ' || h[hashes] == '\n') {
            puts_(m, HEAD_ON);
            put(m, h, n - (h[n - 1] == '\n'));
            m->n_hold = 0;
            m->mode = M_HEADING;
            if (h[n - 1] == '\n') {
                puts_(m, HEAD_OFF);
                put(m, "\n", 1);
                m->mode = M_PREFIX;
            }
            return;
        }
    }
    char ch = 0;
    size_t rest, run = fence_run(m, &ch, &rest);
    if (run >= 3) {
        m->mode = M_FENCE_LINE;
        return;
    }
    if (rest == n && (n <= 3 || run)) /* spaces, or a short run so far */
        return;
    replay_inline(m);
}

/* At a line start inside a fence: the closing fence (the fence character
 * at least as many times, then only spaces), or a verbatim line. */
static void prefix_code(md_renderer *m) {
    char ch = 0;
    size_t rest, run = fence_run(m, &ch, &rest), n = m->n_hold;
    bool fence_ch = !run || ch == m->fence_ch;
    size_t i = rest;
    while (i < n && m->hold[i] == ' ')
        i++;
    if (fence_ch && i == n - 1 && m->hold[i] == '\n' && run >= m->fence_len) {
        fence_line_out(m);
        m->in_fence = false;
        return;
    }
    if (fence_ch && i == n && (run >= m->fence_len || rest == n) && n < HOLD_MAX)
        return; /* may still close */
    put(m, m->hold, n);
    m->n_hold = 0;
    m->mode = m->hold[n - 1] == '\n' ? M_PREFIX : M_CODE_LINE;
}

/* The held opening fence line reached its newline (or the end). */
static void fence_open(md_renderer *m) {
    char ch = 0;
    size_t rest, run = fence_run(m, &ch, &rest);
    /* A backtick fence's language cannot hold a backtick. */
    if (ch == '`' && memchr(m->hold + rest, '`', m->n_hold - rest)) {
        replay_inline(m);
        return;
    }
    m->in_fence = true;
    m->fence_ch = ch;
    m->fence_len = run;
    fence_line_out(m);
}

/* --------------------------------------------------------------- bytes */

static void byte(md_renderer *m, char c) {
    switch (m->mode) {
    case M_PREFIX:
        m->hold[m->n_hold++] = c;
        if (m->in_fence)
            prefix_code(m);
        else
            prefix_text(m);
        break;
    case M_FENCE_LINE:
        m->hold[m->n_hold++] = c;
        if (c == '\n')
            fence_open(m);
        else if (m->n_hold == HOLD_MAX)
            replay_inline(m); /* too long for a fence line: text */
        break;
    case M_INLINE:
        inline_byte(m, c);
        break;
    case M_HEADING:
        if (c == '\n') {
            puts_(m, HEAD_OFF);
            m->mode = M_PREFIX;
        }
        put(m, &c, 1);
        break;
    case M_CODE_LINE:
        put(m, &c, 1);
        if (c == '\n')
            m->mode = M_PREFIX;
        break;
    }
}

void md_push(md_renderer *m, const char *s, size_t n) {
    if (!m->colour) {
        m->write(m->ud, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        byte(m, s[i]);
    flush(m);
}

void md_finish(md_renderer *m) {
    if (m->colour) {
        if (m->mode == M_PREFIX && m->in_fence) {
            put(m, m->hold, m->n_hold);
        } else if (m->mode == M_FENCE_LINE) {
            puts_(m, FENCE_ON);
            put(m, m->hold, m->n_hold);
            puts_(m, FENCE_OFF);
        } else if (m->mode == M_PREFIX) {
            replay_inline(m);
        } else if (m->mode == M_HEADING) {
            puts_(m, HEAD_OFF);
        }
        if (m->star)
            put(m, "*", 1);
        end_line_styles(m);
        flush(m);
    }
    m->mode = M_PREFIX;
    m->n_hold = 0;
    m->in_fence = m->bold = m->code = m->star = false;
}
