/* json_schema_num.c — integers and numbers within bounds as GBNF: the
 * decimal digits of every integer in [lo, hi], exactly, split by digit
 * count and then by leading digit (so 13..271 becomes 1[3-9] | [2-9][0-9] |
 * 1[0-9][0-9] | 2[0-6][0-9] | 27[0-1], more or less). Bounds are clamped to
 * ±(10^15 - 1): the unbounded side of a range and numbers generally get at
 * most 15 integer digits, which keeps the output a subset of the schema. */
#include <stdio.h>
#include <string.h>

#include "sample/json_schema.h"

#define MAXV 999999999999999LL /* 10^15 - 1 */
#define MAXD 15

static int ndigits(int64_t v) {
    int n = 1;
    while (v >= 10)
        v /= 10, n++;
    return n;
}

static void put_digits(js_buf *b, int m) {
    if (m == 1)
        js_buf_puts(b, "[0-9]");
    else if (m > 1)
        js_buf_printf(b, "[0-9]{%d}", m);
}

/* Every digit string of length n from x to y (x <= y, same length). */
static void same_len(js_buf *b, const char *x, const char *y, int n) {
    int i = 0;
    while (i < n && x[i] == y[i])
        i++;
    if (i == n) {
        js_put_literal(b, x, (size_t)n);
        return;
    }
    if (i > 0) {
        js_put_literal(b, x, (size_t)i);
        js_buf_puts(b, " ");
    }
    int m = n - i - 1;
    char x0 = x[i], y0 = y[i];
    if (m == 0) {
        js_buf_printf(b, "[%c-%c]", x0, y0);
        return;
    }
    bool xz = true, y9 = true;
    for (int k = i + 1; k < n; k++) {
        xz &= x[k] == '0';
        y9 &= y[k] == '9';
    }
    char nines[24], zeros[24];
    memset(nines, '9', (size_t)m);
    memset(zeros, '0', (size_t)m);
    char lo = xz ? x0 : (char)(x0 + 1), hi = y9 ? y0 : (char)(y0 - 1);
    int parts = !xz + (lo <= hi) + !y9;
    if (parts > 1)
        js_buf_puts(b, "(");
    const char *sep = "";
    if (!xz) {
        js_buf_printf(b, "\"%c\" ", x0);
        same_len(b, x + i + 1, nines, m);
        sep = " | ";
    }
    if (lo <= hi) {
        js_buf_puts(b, sep);
        if (lo == hi)
            js_buf_printf(b, "\"%c\" ", lo);
        else
            js_buf_printf(b, "[%c-%c] ", lo, hi);
        put_digits(b, m);
        sep = " | ";
    }
    if (!y9) {
        js_buf_puts(b, sep);
        js_buf_printf(b, "\"%c\" ", y0);
        same_len(b, zeros, y + i + 1, m);
    }
    if (parts > 1)
        js_buf_puts(b, ")");
}

/* Every integer from a to b (0 <= a <= b <= MAXV), no leading zeros, as
 * alternatives (no parentheses). */
static void nonneg(js_buf *b, int64_t a, int64_t bb) {
    int la = ndigits(a), lb = ndigits(bb);
    const char *sep = "";
    int64_t p = 1;
    for (int k = 1; k < la; k++)
        p *= 10;
    for (int len = la; len <= lb; len++, p *= 10) {
        int64_t lo = len == la ? a : p, hi = len == lb ? bb : p * 10 - 1;
        js_buf_puts(b, sep);
        sep = " | ";
        if (hi == p * 10 - 1 && lo == (len == 1 ? 0 : p) && len > 1 && lb == MAXD &&
            bb == MAXV) {
            /* from here on every length up to MAXD is whole */
            js_buf_printf(b, "[1-9] [0-9]{%d,%d}", len - 1, MAXD - 1);
            return;
        }
        char xs[24], ys[24];
        snprintf(xs, sizeof xs, "%0*lld", len, (long long)lo);
        snprintf(ys, sizeof ys, "%0*lld", len, (long long)hi);
        same_len(b, xs, ys, len);
    }
}

static int64_t clamp(int64_t v) { return v < -MAXV ? -MAXV : v > MAXV ? MAXV : v; }

static void bounds(js_conv *c, bool has_lo, int64_t *lo, bool has_hi, int64_t *hi) {
    if (has_lo && *lo > MAXV)
        js_fail(c, "at %s: minimum %lld is past what this converter handles (10^15)",
                js_path(c), (long long)*lo);
    if (has_hi && *hi < -MAXV)
        js_fail(c, "at %s: maximum %lld is past what this converter handles (-10^15)",
                js_path(c), (long long)*hi);
    *lo = has_lo ? clamp(*lo) : -MAXV;
    *hi = has_hi ? clamp(*hi) : MAXV;
    if (*lo > *hi)
        js_fail(c, "at %s: no integer lies within the bounds", js_path(c));
}

static void int_alts(js_buf *b, int64_t lo, int64_t hi) {
    if (hi < 0) {
        js_buf_puts(b, "\"-\" (");
        nonneg(b, -hi, -lo);
        js_buf_puts(b, ")");
    } else if (lo >= 0) {
        nonneg(b, lo, hi);
    } else {
        js_buf_puts(b, "\"-\" (");
        nonneg(b, 1, -lo);
        js_buf_puts(b, ") | ");
        nonneg(b, 0, hi);
    }
}

char *js_int_range(js_conv *c, bool has_lo, int64_t lo, bool has_hi, int64_t hi) {
    bounds(c, has_lo, &lo, has_hi, &hi);
    js_buf b;
    js_buf_init(&b, c);
    js_buf_puts(&b, "(");
    int_alts(&b, lo, hi);
    js_buf_puts(&b, ")");
    return js_buf_str(&b);
}

/* Integers in [lo, hi]; then k.ddd for each integer part k >= 0 with
 * k + 1 <= hi, and -m.ddd for each m >= 0 with -m <= hi and -(m + 1) >= lo:
 * every fraction stays inside the bounds. */
char *js_num_range(js_conv *c, bool has_lo, int64_t lo, bool has_hi, int64_t hi) {
    bounds(c, has_lo, &lo, has_hi, &hi);
    js_buf b;
    js_buf_init(&b, c);
    js_buf_puts(&b, "(");
    int_alts(&b, lo, hi);
    /* an unbounded side stays MAXV, so nonneg's shortcut applies */
    int64_t a = lo > 0 ? lo : 0, top = has_hi ? hi - 1 : MAXV;
    if (a <= top) {
        js_buf_puts(&b, " | (");
        nonneg(&b, a, top);
        js_buf_printf(&b, ") \".\" [0-9]{1,%d}", MAXD);
    }
    a = hi < 0 ? -hi : 0, top = has_lo ? -lo - 1 : MAXV;
    if (a <= top) {
        js_buf_puts(&b, " | \"-\" (");
        nonneg(&b, a, top);
        js_buf_printf(&b, ") \".\" [0-9]{1,%d}", MAXD);
    }
    js_buf_puts(&b, ")");
    return js_buf_str(&b);
}
