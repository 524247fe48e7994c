/* auth.c — the API key (compared in constant time) and the Host check that
 * keeps web pages from reaching a loopback server through DNS rebinding. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "server.h"

/* Time depends on the lengths only, not on where the bytes differ. */
static bool same(const char *a, size_t na, const char *b, size_t nb) {
    size_t n = na > nb ? na : nb;
    volatile uint8_t diff = (uint8_t)(na != nb);
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)((i < na ? (uint8_t)a[i] : 0) ^ (i < nb ? (uint8_t)b[i] : 0));
    return diff == 0;
}

bool srv_key_ok(srv_call *c) {
    const srv_options *o = c->s->opt;
    if (o->n_api_keys == 0)
        return true;
    const char *k = srv_header(c, "X-Api-Key");
    const char *auth = srv_header(c, "Authorization");
    if (!k && auth && !strncasecmp(auth, "Bearer ", 7))
        k = auth + 7;
    if (!k)
        return false;
    bool ok = false;
    for (int i = 0; i < o->n_api_keys; i++) /* every key, so timing says nothing */
        ok |= same(k, strlen(k), o->api_keys[i], strlen(o->api_keys[i]));
    return ok;
}

/* host without its port; "[::1]" and "::1" both count. */
static bool loopback_name(const char *h, size_t n) {
    static const char *const names[] = {"localhost", "[::1]", "::1"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (n == strlen(names[i]) && !strncasecmp(h, names[i], n))
            return true;
    if (n > 10 && !strncasecmp(h + n - 10, ".localhost", 10))
        return true;
    if (n >= 7 && !strncmp(h, "127.", 4)) {
        for (size_t i = 4; i < n; i++)
            if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
                return false;
        return true;
    }
    return false;
}

bool srv_is_loopback_host(const char *host) { return loopback_name(host, strlen(host)); }

bool srv_host_allowed(srv_call *c) {
    if (!c->s->loopback || !c->s->opt->host_check)
        return true;
    const char *h = srv_header(c, "Host");
    if (!h) /* HTTP/1.0 without Host: not from a browser */
        return true;
    size_t n = strlen(h);
    const char *colon = h[0] == '[' ? strchr(h, ']') : strrchr(h, ':');
    if (h[0] == '[' && colon)
        n = (size_t)(colon - h) + 1;
    else if (colon && h[0] != '[')
        n = (size_t)(colon - h);
    return loopback_name(h, n);
}
