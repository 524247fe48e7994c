/* json_schema_util.c — the converter's arena, growable strings and GBNF
 * quoting (json_schema.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "sample/json_schema.h"

struct js_chunk {
    js_chunk *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

void *js_alloc(js_conv *c, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n > JS_MAX_BYTES || c->total + n > JS_MAX_BYTES)
        js_fail(c, "schema too large: its grammar would pass %d MiB", JS_MAX_BYTES >> 20);
    js_chunk *k = c->chunks;
    if (!k || k->cap - k->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        k = lf_malloc(sizeof *k + cap);
        if (!k)
            js_fail(c, "out of memory");
        k->next = c->chunks;
        k->used = 0;
        k->cap = cap;
        c->chunks = k;
        c->total += cap;
    }
    void *p = k->data + k->used;
    k->used += n;
    return p;
}

void js_arena_free(js_conv *c) {
    while (c->chunks) {
        js_chunk *k = c->chunks;
        c->chunks = k->next;
        free(k);
    }
}

char *js_strdup(js_conv *c, const char *s) {
    size_t n = strlen(s);
    char *p = js_alloc(c, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

static char *js_vprintf(js_conv *c, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        js_fail(c, "out of memory");
    char *p = js_alloc(c, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *js_printf(js_conv *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = js_vprintf(c, fmt, ap);
    va_end(ap);
    return p;
}

void js_buf_init(js_buf *b, js_conv *c) {
    b->c = c;
    b->p = NULL;
    b->n = b->cap = 0;
}

void js_buf_add(js_buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = js_alloc(b->c, cap);
        if (b->n)
            memcpy(p, b->p, b->n);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void js_buf_puts(js_buf *b, const char *s) { js_buf_add(b, s, strlen(s)); }

void js_buf_printf(js_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = js_vprintf(b->c, fmt, ap);
    va_end(ap);
    js_buf_puts(b, p);
}

char *js_buf_str(js_buf *b) { return b->p ? b->p : js_strdup(b->c, ""); }

void js_put_literal(js_buf *b, const char *s, size_t n) {
    js_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch;
            js_buf_add(b, esc, 2);
        } else if (ch == '\n') {
            js_buf_add(b, "\\n", 2);
        } else if (ch == '\r') {
            js_buf_add(b, "\\r", 2);
        } else if (ch == '\t') {
            js_buf_add(b, "\\t", 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02X", ch);
            js_buf_add(b, esc, 4);
        } else {
            js_buf_add(b, (const char *)&s[i], 1);
        }
    }
    js_buf_add(b, "\"", 1);
}

void js_put_class_char(js_buf *b, uint32_t cp) {
    char tmp[16];
    if (cp == '-' || cp == '^') {
        snprintf(tmp, sizeof tmp, "\\x%02X", (unsigned)cp); /* GBNF has no \- or \^ */
        js_buf_puts(b, tmp);
    } else if (cp == ']' || cp == '[' || cp == '\\' || cp == '"') {
        tmp[0] = '\\', tmp[1] = (char)cp;
        js_buf_add(b, tmp, 2);
    } else if (cp < 0x20 || cp == 0x7f) {
        snprintf(tmp, sizeof tmp, "\\x%02X", (unsigned)cp);
        js_buf_puts(b, tmp);
    } else if (cp < 0x7f) {
        tmp[0] = (char)cp;
        js_buf_add(b, tmp, 1);
    } else if (cp <= 0xffff) {
        snprintf(tmp, sizeof tmp, "\\u%04X", (unsigned)cp);
        js_buf_puts(b, tmp);
    } else {
        snprintf(tmp, sizeof tmp, "\\U%08X", (unsigned)cp);
        js_buf_puts(b, tmp);
    }
}
