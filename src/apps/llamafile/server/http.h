/* http.h — starting and stopping the libmicrohttpd daemon. */
#ifndef LLAMAFILE_SERVER_HTTP_H
#define LLAMAFILE_SERVER_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>

struct MHD_Daemon;
struct srv_server;

/* *port: the one to bind (0: any), then the one bound. NULL on failure. */
struct MHD_Daemon *srv_http_start(struct srv_server *s, const struct sockaddr *addr, bool ipv6,
                                  int *port);
void srv_http_quiesce(struct MHD_Daemon *d);
/* Waits (at most 3 s) for ended event streams to be sent, then stops. */
void srv_http_stop(struct MHD_Daemon *d);

#endif
