/* static.c — the web page: GET / and its assets from the copies embedded at
 * build time (o/gen/webui.inc, made by build/webembed.c), or from a user's
 * directory (--webui-dir). Public: the page works under --api-key and asks
 * for the key itself.
 *
 * Each embedded file is kept plain and gzipped: clients that accept gzip
 * (every browser) get the compressed bytes as they are; the rest (curl
 * without --compressed, scripts) get the plain copy, which costs some
 * 300 KB of executable but no zlib in the server. */
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"
#include "static.h"

typedef struct webui_file {
    const char *path, *ctype;
    const unsigned char *plain;
    size_t plain_len;
    const unsigned char *gzip;
    size_t gzip_len;
    const char *etag, *etag_gz;
} webui_file;

#include "webui.inc"

/* Model output must never run in the page, even if the sanitiser missed
 * something: scripts only from here, no inline ones or handlers, images only
 * local (a remote image would carry the conversation away). connect-src is
 * open because the page may be pointed at another OpenAI-compatible server. */
static const char k_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src *; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'none'";

enum { k_max_file = 64 << 20 };

/* gzip acceptable per RFC 9110: "gzip" or "*" with q > 0, gzip's own q first. */
static bool accepts_gzip(const char *ae) {
    double gz = -1, star = -1;
    for (const char *p = ae; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - tok);
        double q = 1;
        while (*p && *p != ',') {
            if (*p == ';') {
                for (p++; *p == ' ' || *p == '\t'; p++)
                    ;
                if ((*p == 'q' || *p == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
            } else {
                p++;
            }
        }
        if (n == 4 && !strncasecmp(tok, "gzip", 4))
            gz = q;
        else if (n == 1 && *tok == '*')
            star = q;
    }
    return gz >= 0 ? gz > 0 : star > 0;
}

static void reply(srv_call *c, int status, struct MHD_Response *r) {
    if (c->resp)
        MHD_destroy_response(c->resp);
    c->resp = r; /* NULL: the connection is closed (out of memory) */
    c->status = status;
    if (!r)
        return;
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static bool matches(const char *inm, const char *etag) {
    return inm && (!strcmp(inm, "*") || strstr(inm, etag));
}

static bool serve_embedded(srv_call *c) {
    const char *path = strcmp(c->path, "/") ? c->path : "/index.html";
    const webui_file *f = NULL;
    for (size_t i = 0; i < sizeof k_webui / sizeof *k_webui && !f; i++)
        if (!strcmp(k_webui[i].path, path))
            f = &k_webui[i];
    if (!f)
        return false;
    bool gz = accepts_gzip(srv_header(c, "Accept-Encoding"));
    const char *inm = srv_header(c, "If-None-Match");
    bool fresh = matches(inm, f->etag) || matches(inm, f->etag_gz);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        fresh ? 0 : gz ? f->gzip_len : f->plain_len,
        (void *)(fresh ? NULL : gz ? f->gzip : f->plain), MHD_RESPMEM_PERSISTENT);
    reply(c, fresh ? 304 : 200, r);
    if (!r)
        return true;
    MHD_add_response_header(r, "ETag", gz ? f->etag_gz : f->etag);
    MHD_add_response_header(r, "Cache-Control", "no-cache"); /* revalidate: a 304 is cheap */
    MHD_add_response_header(r, "Vary", "Accept-Encoding");
    if (!fresh) {
        MHD_add_response_header(r, "Content-Type", f->ctype);
        if (gz)
            MHD_add_response_header(r, "Content-Encoding", "gzip");
    }
    if (!strncmp(f->ctype, "text/html", 9))
        MHD_add_response_header(r, "Content-Security-Policy", k_csp);
    return true;
}

static const char *dir_ctype(const char *path) {
    static const char *const t[][2] = {
        {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"}, {".json", "application/json"},
        {".svg", "image/svg+xml"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".webp", "image/webp"},
        {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
        {".wasm", "application/wasm"}, {".woff2", "font/woff2"}, {".map", "application/json"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof t / sizeof *t; i++)
        if (!strcasecmp(dot, t[i][0]))
            return t[i][1];
    return "application/octet-stream";
}

static bool refuse(srv_call *c, const char *why) {
    srv_err e;
    srv_err_set(&e, 403, "permission_error", "%s: %s", c->path, why);
    srv_reply_error(c, &e);
    return true;
}

/* A file under --webui-dir: no "." or ".." segment (nor any hidden name),
 * and the resolved path, symlinks followed, must stay inside the directory. */
static bool serve_dir(srv_call *c, const char *dir) {
    const char *path = c->path;
    if (path[0] != '/')
        return false;
    for (const char *s = path; *s;) {
        while (*s == '/')
            s++;
        if (*s == '.')
            return refuse(c, "names starting with '.' are not served");
        s = strchrnul(s, '/');
    }
    char root[PATH_MAX], want[PATH_MAX + 16], real[PATH_MAX];
    if (!realpath(dir, root))
        return false;
    size_t n = strlen(path);
    if ((size_t)snprintf(want, sizeof want, "%s%s%s", root, path,
                         path[n - 1] == '/' ? "index.html" : "") >= sizeof want ||
        !realpath(want, real))
        return false;
    struct stat st;
    if (!stat(real, &st) && S_ISDIR(st.st_mode)) {
        if ((size_t)snprintf(want, sizeof want, "%s/index.html", real) >= sizeof want ||
            !realpath(want, real))
            return false;
    }
    size_t rl = strlen(root);
    if (strcmp(root, "/") && (strncmp(real, root, rl) || real[rl] != '/'))
        return refuse(c, "outside --webui-dir");
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > k_max_file) {
        close(fd);
        return false;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    if (matches(srv_header(c, "If-None-Match"), etag)) {
        close(fd);
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        reply(c, 304, r);
        if (r)
            MHD_add_response_header(r, "ETag", etag);
        return true;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size ? size : 1);
    for (ssize_t k = 1; buf && got < size && k > 0; got += k > 0 ? (size_t)k : 0)
        k = read(fd, buf + got, size - got);
    close(fd);
    if (!buf || got != size) {
        free(buf);
        return false;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(size, buf, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(buf);
    reply(c, 200, r);
    if (r) {
        MHD_add_response_header(r, "Content-Type", dir_ctype(real));
        MHD_add_response_header(r, "ETag", etag);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
    }
    return true;
}

bool srv_static(srv_call *c) {
    const srv_options *o = c->s->opt;
    if (!o->webui || (strcmp(c->method, "GET") && strcmp(c->method, "HEAD")))
        return false;
    return o->webui_dir ? serve_dir(c, o->webui_dir) : serve_embedded(c);
}
