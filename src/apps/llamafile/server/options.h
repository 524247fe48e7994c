/* options.h — the server's flags (llama-server's names), parsed beside the CLI's. */
#ifndef LLAMAFILE_SERVER_OPTIONS_H
#define LLAMAFILE_SERVER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct srv_options {
    bool enabled;          /* --server */
    const char *host;      /* --host */
    int port;              /* --port (0: any free port, printed at startup) */
    int n_parallel;        /* -np */
    char **api_keys;       /* --api-key / --api-key-file */
    int n_api_keys;
    const char *alias;     /* -a */
    int timeout;           /* --timeout seconds */
    int threads_http;      /* --threads-http (-1: one thread per connection) */
    bool metrics, slots, webui, host_check;
    const char *webui_dir; /* --webui-dir: serve this directory at / instead */
    long long max_body;    /* --max-body bytes */
    int queue_size;        /* --queue-size */
} srv_options;

void srv_options_init(srv_options *o);
void srv_options_free(srv_options *o);
/* One flag at argv position: returns 0 when it is not a server flag, the
 * number of arguments it used (1 or 2), or -1 with a message in why. */
int srv_options_flag(srv_options *o, const char *flag, const char *value, char *why,
                     size_t why_size);
void srv_options_help(FILE *f);

#endif
