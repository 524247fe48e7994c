/* options.c — the server's command-line flags. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "llamafile.h"

static const char k_help[] =
    "\n"
    "server (llama-server's flags):\n"
    "       --server              serve the model over HTTP (OpenAI and llama-server\n"
    "                             APIs) instead of generating once\n"
    "       --host HOST           address to listen on (default: 127.0.0.1)\n"
    "       --port PORT           port to listen on (default: 8080; 0: any free port)\n"
    "  -np, --parallel N          slots: requests decoded at once (default: 4); the\n"
    "                             context (-c) is split evenly between them\n"
    "       --api-key KEY         require this key (Authorization: Bearer KEY or\n"
    "                             X-Api-Key); several keys comma-separated\n"
    "       --api-key-file FILE   keys one per line (lines starting with # ignored)\n"
    "  -a,  --alias NAME          model name reported by the API (default: the path)\n"
    "  -to, --timeout S           read/write timeout in seconds (default: 3600)\n"
    "       --threads-http N      accepted for compatibility: each connection has its\n"
    "                             own thread (default: -1)\n"
    "       --metrics             serve Prometheus metrics at /metrics\n"
    "       --slots, --no-slots   serve the slots' state at /slots (default: on)\n"
    "       --no-webui            no web page at / (the chat page is built in)\n"
    "       --webui-dir DIR       serve the files of DIR at / instead of the built-in\n"
    "                             page (index.html for /; no hidden names, nothing\n"
    "                             outside DIR through symlinks); also --path DIR\n"
    "       --max-body N          largest request body in bytes (default: 8388608)\n"
    "       --queue-size N        requests that may wait for a slot; more get 503\n"
    "                             (default: 64)\n"
    "       --no-host-check       accept any Host header on a loopback address (by\n"
    "                             default only loopback names: DNS-rebinding defence)\n";

void srv_options_help(FILE *f) { fputs(k_help, f); }

void srv_options_init(srv_options *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->n_parallel = 4;
    o->timeout = 3600;
    o->threads_http = -1;
    o->slots = true;
    o->webui = true;
    o->host_check = true;
    o->max_body = 8ll << 20;
    o->queue_size = 64;
}

void srv_options_free(srv_options *o) {
    for (int i = 0; i < o->n_api_keys; i++)
        free(o->api_keys[i]);
    free(o->api_keys);
    o->api_keys = NULL;
    o->n_api_keys = 0;
}

static bool add_key(srv_options *o, const char *s, size_t n) {
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (!n)
        return true;
    char **k = realloc(o->api_keys, sizeof *k * (size_t)(o->n_api_keys + 1));
    if (!k)
        return false;
    o->api_keys = k;
    if (!(k[o->n_api_keys] = strndup(s, n)))
        return false;
    o->n_api_keys++;
    return true;
}

static bool num(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool is(const char *a, const char *s1, const char *s2) {
    return !strcmp(a, s1) || (s2 && !strcmp(a, s2));
}

int srv_options_flag(srv_options *o, const char *a, const char *v, char *why, size_t n) {
    if (is(a, "--server", NULL)) { o->enabled = true; return 1; }
    if (is(a, "--metrics", NULL)) { o->metrics = true; return 1; }
    if (is(a, "--slots", NULL)) { o->slots = true; return 1; }
    if (is(a, "--no-slots", NULL)) { o->slots = false; return 1; }
    if (is(a, "--no-webui", "--no-ui")) { o->webui = false; return 1; }
    if (is(a, "--webui", "--ui")) { o->webui = true; return 1; }
    if (is(a, "--no-host-check", NULL)) { o->host_check = false; return 1; }
    static const char *const valued[] = {"--host", "--port", "-np", "--parallel", "--api-key",
        "--api-key-file", "-a", "--alias", "-to", "--timeout", "--threads-http", "--max-body",
        "--queue-size", "--webui-dir", "--path"};
    bool mine = false;
    for (size_t i = 0; i < sizeof valued / sizeof *valued; i++)
        mine |= !strcmp(a, valued[i]);
    if (!mine)
        return 0;
    if (!v) {
        snprintf(why, n, "option %s needs a value", a);
        return -1;
    }
    long long x;
    const char *expect = NULL;
    if (is(a, "--host", NULL)) o->host = v;
    else if (is(a, "-a", "--alias")) o->alias = v;
    else if (is(a, "--webui-dir", "--path")) o->webui_dir = v;
    else if (is(a, "--port", NULL)) { if (num(v, 0, 65535, &x)) o->port = (int)x; else expect = "a port from 0 to 65535"; }
    else if (is(a, "-np", "--parallel")) { if (num(v, 1, 64, &x)) o->n_parallel = (int)x; else expect = "an integer from 1 to 64"; }
    else if (is(a, "-to", "--timeout")) { if (num(v, 1, INT_MAX, &x)) o->timeout = (int)x; else expect = "a positive number of seconds"; }
    else if (is(a, "--threads-http", NULL)) { if (num(v, -1, 1024, &x)) o->threads_http = (int)x; else expect = "an integer from -1 to 1024"; }
    else if (is(a, "--max-body", NULL)) { if (num(v, 1, 1ll << 32, &x)) o->max_body = x; else expect = "a size in bytes from 1 to 4294967296"; }
    else if (is(a, "--queue-size", NULL)) { if (num(v, 0, 1 << 20, &x)) o->queue_size = (int)x; else expect = "an integer from 0 to 1048576"; }
    else if (is(a, "--api-key", NULL)) {
        for (const char *s = v;;) {
            const char *c = strchr(s, ',');
            if (!add_key(o, s, c ? (size_t)(c - s) : strlen(s))) {
                snprintf(why, n, "out of memory");
                return -1;
            }
            if (!c)
                break;
            s = c + 1;
        }
    } else if (is(a, "--api-key-file", NULL)) {
        lf_error err;
        size_t len;
        char *text = lf_read_text(v, 1 << 20, &len, &err);
        if (!text) {
            snprintf(why, n, "--api-key-file %s", err.msg);
            return -1;
        }
        for (size_t i = 0; i < len;) {
            const char *e = memchr(text + i, '\n', len - i);
            size_t l = e ? (size_t)(e - (text + i)) : len - i;
            if (text[i] != '#' && !add_key(o, text + i, l)) {
                free(text);
                snprintf(why, n, "out of memory");
                return -1;
            }
            i += l + 1;
        }
        free(text);
    }
    if (expect) {
        snprintf(why, n, "invalid value '%s' for %s (expected %s)", v, a, expect);
        return -1;
    }
    return 2;
}
