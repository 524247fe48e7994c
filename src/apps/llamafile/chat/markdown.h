/* markdown.h — a light, streaming markdown renderer for the terminal.
 *
 * The answer's text goes in as it is generated, in pieces of any size;
 * ANSI-styled text comes out through a write callback (or to a FILE *):
 * **bold**, # headings, `inline code`, and fenced code blocks (``` or ~~~)
 * whose lines are kept verbatim, no markup read inside, the fence lines
 * (with the language) dimmed. The output does not depend on how the text
 * was cut into pieces: only what may still turn out to be markup waits (a
 * '*', the start of a line, a fence line until its newline). With colour
 * off the output is the input, byte for byte. Standard headers only, so a
 * test may include markdown.c. */
#ifndef LF_CHAT_MARKDOWN_H
#define LF_CHAT_MARKDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef void (*md_write_fn)(void *ud, const char *s, size_t n);
typedef struct md_renderer md_renderer;

/* NULL when out of memory. */
md_renderer *md_new(bool colour, md_write_fn write, void *ud);
/* Writes to f (not closed by md_free). */
md_renderer *md_new_file(bool colour, FILE *f);
void md_free(md_renderer *m);
/* Text of the answer: what is safe to show is written before it returns. */
void md_push(md_renderer *m, const char *s, size_t n);
/* End of the answer: held text written, styles reset; the next push
 * starts a new text at the start of a line. */
void md_finish(md_renderer *m);

#endif
