/* http.c — libmicrohttpd glue: a thread per connection (handlers may block
 * while the engine works), bodies gathered up to --max-body, replies and
 * event streams. */
#include <microhttpd.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "server.h"

const char *srv_header(srv_call *c, const char *name) {
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

static int conn_fd(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

static bool fd_gone(int fd) {
    if (fd < 0)
        return false;
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

bool srv_client_gone(srv_call *c) { return fd_gone(conn_fd(c->conn)); }

static void set_response(srv_call *c, int status, struct MHD_Response *r) {
    if (c->resp)
        MHD_destroy_response(c->resp);
    c->resp = r;
    c->status = status;
}

void srv_reply_text(srv_call *c, int status, const char *ctype, char *text, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        set_response(c, 500, NULL);
        return;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    set_response(c, status, r);
}

void srv_reply_json(srv_call *c, int status, json_t *j) {
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    if (!s) {
        static const char oom[] =
            "{\"error\":{\"code\":500,\"message\":\"out of memory\",\"type\":\"server_error\"}}";
        s = strdup(oom);
        status = 500;
        if (!s) {
            set_response(c, 500, NULL);
            return;
        }
    }
    srv_reply_text(c, status, "application/json; charset=utf-8", s, strlen(s));
}

void srv_reply_error(srv_call *c, const srv_err *e) {
    bool anthropic = c->path && !strncmp(c->path, "/v1/messages", 12);
    srv_reply_json(c, e->status, anthropic ? srv_anthropic_error_json(e) : srv_err_json(e));
}

void srv_reply_header(srv_call *c, const char *name, const char *value) {
    if (c->resp)
        MHD_add_response_header(c->resp, name, value);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    srv_stream *st = cls;
    (void)pos;
    for (int guard = 0; st->off == st->len; guard++) {
        if (st->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (fd_gone(st->fd))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        st->off = st->len = 0;
        st->ended = !st->fill(st);
        (void)guard;
    }
    size_t n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->out + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

/* Event streams whose last bytes libmicrohttpd has not yet sent: stopping
 * the daemon before they reach 0 would cut their final chunk. */
static atomic_int g_live_streams;

static void stream_free(void *cls) {
    srv_stream *st = cls;
    atomic_fetch_sub(&g_live_streams, 1);
    st->done(st);
    free(st->out);
    free(st);
}

void srv_reply_stream(srv_call *c, srv_stream *st) {
    st->fd = conn_fd(c->conn);
    atomic_fetch_add(&g_live_streams, 1);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
    if (!r) {
        stream_free(st);
        set_response(c, 500, NULL);
        return;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    set_response(c, 200, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    srv_server *s = cls;
    srv_call *c = *con_cls;
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return MHD_NO;
        c->s = s, c->conn = conn, c->method = method, c->path = url;
        *con_cls = c;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->opt->max_body)
            c->too_big = true;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (c->too_big || c->body_len + n > (size_t)s->opt->max_body) {
            c->too_big = true;
            return MHD_YES;
        }
        if (c->body_len + n + 1 > c->body_cap) {
            size_t cap = c->body_cap ? c->body_cap : 4096;
            while (cap < c->body_len + n + 1)
                cap *= 2;
            char *p = realloc(c->body, cap);
            if (!p)
                return MHD_NO;
            c->body = p, c->body_cap = cap;
        }
        memcpy(c->body + c->body_len, upload, n);
        c->body_len += n;
        c->body[c->body_len] = 0;
        return MHD_YES;
    }
    if (c->too_big) {
        srv_err e;
        srv_err_set(&e, 413, "invalid_request_error",
                    "the request body is larger than %lld bytes (--max-body)", s->opt->max_body);
        srv_reply_error(c, &e);
    } else {
        srv_route(c);
    }
    if (!c->resp)
        return MHD_NO;
    const char *origin = srv_header(c, "Origin");
    MHD_add_response_header(c->resp, "Access-Control-Allow-Origin", origin ? origin : "");
    MHD_add_response_header(c->resp, "Server", "llamafile");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)c->status, c->resp);
    MHD_destroy_response(c->resp);
    c->resp = NULL;
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
    (void)cls, (void)conn, (void)code;
    srv_call *c = *con_cls;
    if (!c)
        return;
    if (c->resp)
        MHD_destroy_response(c->resp);
    free(c->body);
    free(c);
    *con_cls = NULL;
}

struct MHD_Daemon *srv_http_start(srv_server *s, const struct sockaddr *addr, bool ipv6,
                                  int *port) {
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)*port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opt->timeout, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (di)
        *port = di->port;
    return d;
}

void srv_http_quiesce(struct MHD_Daemon *d) {
    MHD_socket fd = MHD_quiesce_daemon(d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}
void srv_http_stop(struct MHD_Daemon *d) {
    for (int i = 0; i < 300 && atomic_load(&g_live_streams) > 0; i++)
        usleep(10 * 1000); /* at most 3 s for ended streams to be sent */
    MHD_stop_daemon(d);
}
