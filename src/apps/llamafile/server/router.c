/* router.c — path and method to handler, after the Host check and CORS
 * preflight, and the API key where the path is not public. */
#include <string.h>

#include "server.h"
#include "static.h"

typedef struct route {
    const char *method, *path;
    void (*fn)(srv_call *c);
    bool public; /* served without the API key, as llama-server does */
} route;

static const route k_routes[] = {
    {"GET", "/health", srv_h_health, true},
    {"GET", "/v1/health", srv_h_health, true},
    {"GET", "/models", srv_h_models, true},
    {"GET", "/v1/models", srv_h_models, true},
    {"GET", "/props", srv_h_props, false},
    {"GET", "/metrics", srv_h_metrics, false},
    {"GET", "/slots", srv_h_slots, false},
    {"POST", "/tokenize", srv_h_tokenize, false},
    {"POST", "/detokenize", srv_h_detokenize, false},
    {"POST", "/completion", srv_h_completion, false},
    {"POST", "/completions", srv_h_v1_completions, false},
    {"POST", "/v1/completions", srv_h_v1_completions, false},
    {"POST", "/chat/completions", srv_h_chat, false},
    {"POST", "/v1/chat/completions", srv_h_chat, false},
    {"POST", "/apply-template", srv_h_apply_template, false},
    {"POST", "/v1/embeddings", srv_h_embeddings, false},
    {"POST", "/embeddings", srv_h_embeddings_native, false},
    {"POST", "/embedding", srv_h_embeddings_native, false},
    {"POST", "/v1/messages", srv_h_messages, false},
    {"POST", "/v1/messages/count_tokens", srv_h_count_tokens, false},
};

void srv_route(srv_call *c) {
    srv_err e;
    if (!srv_host_allowed(c)) {
        srv_err_set(&e, 403, "permission_error",
                    "the Host header does not name this machine (a loopback server answers "
                    "only localhost, 127.0.0.1 or [::1]; see --no-host-check)");
        srv_reply_error(c, &e);
        return;
    }
    if (!strcmp(c->method, "OPTIONS")) { /* CORS preflight */
        srv_reply_text(c, 200, "text/html", NULL, 0);
        const char *origin = srv_header(c, "Origin");
        srv_reply_header(c, "Access-Control-Allow-Credentials", "true");
        srv_reply_header(c, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
        srv_reply_header(c, "Access-Control-Allow-Headers", "*");
        (void)origin;
        return;
    }
    const route *found = NULL, *path_only = NULL;
    for (size_t i = 0; i < sizeof k_routes / sizeof *k_routes; i++) {
        if (strcmp(c->path, k_routes[i].path))
            continue;
        path_only = &k_routes[i];
        if (!strcmp(c->method, k_routes[i].method) ||
            (!strcmp(c->method, "HEAD") && !strcmp(k_routes[i].method, "GET")))
            found = &k_routes[i];
    }
    if (!found && path_only) {
        srv_err_set(&e, 405, "invalid_request_error", "%s %s: method not allowed (use %s)",
                    c->method, c->path, path_only->method);
        srv_reply_error(c, &e);
        srv_reply_header(c, "Allow", strcmp(path_only->method, "GET") ? "POST, OPTIONS"
                                                                       : "GET, HEAD, OPTIONS");
        return;
    }
    if (!found) {
        if (!path_only && srv_static(c)) /* the web page, public like /health */
            return;
        srv_err_set(&e, 404, "not_found_error", "File Not Found");
        srv_reply_error(c, &e);
        return;
    }
    if (!found->public && !srv_key_ok(c)) {
        srv_err_set(&e, 401, "authentication_error", "Invalid API Key");
        srv_reply_error(c, &e);
        return;
    }
    found->fn(c);
}
