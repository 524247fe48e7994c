/* server.c — `llamafile --server`: context and engine, the HTTP daemon, one
 * startup line, and on SIGINT/SIGTERM: stop accepting, end open streams,
 * exit 0. */
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "server.h"

static bool resolve(const char *host, int port, struct sockaddr_storage *ss, bool *ipv6) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    if (getaddrinfo(host, p, &hints, &res) || !res)
        return false;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return true;
}

int srv_run(lf_model *m, const srv_run_params *p) {
    const srv_options *o = p->opt;
    srv_server s = {0};
    s.opt = o;
    s.m = m;
    s.model_name = o->alias ? o->alias : p->model_path ? p->model_path : "model";
    s.n_vocab = lf_model_n_vocab(m);
    s.n_ctx = p->n_ctx;
    s.n_ctx_slot = p->n_ctx / o->n_parallel;
    s.defaults = p->sampling;
    if (s.defaults.penalty_last_n < 0)
        s.defaults.penalty_last_n = s.n_ctx_slot;
    s.started = time(NULL);
    s.loopback = srv_is_loopback_host(o->host);
    s.n_batch = p->n_batch, s.n_threads = p->n_threads, s.kv_type = p->kv_type;
    pthread_mutex_init(&s.emb_mu, NULL);
    if (s.n_ctx_slot < 2) {
        fprintf(stderr, "llamafile: -c %d split over %d slots leaves too little context per slot\n",
                p->n_ctx, o->n_parallel);
        return 1;
    }

    lf_error err;
    lf_context_params cp = lf_context_default_params();
    cp.n_ctx = p->n_ctx;
    cp.n_batch = p->n_batch;
    cp.n_threads = p->n_threads;
    cp.kv_type = p->kv_type;
    cp.n_seq_max = (uint32_t)o->n_parallel;
    lf_context *ctx = lf_context_new(m, &cp, &err);
    if (!ctx) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        return 1;
    }
    srv_engine_params ep = {o->n_parallel, s.n_ctx_slot, p->n_batch, o->queue_size, p->quiet};
    /* only the main thread takes SIGINT/SIGTERM (sigwait below) */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);
    s.eng = srv_engine_new(m, ctx, &ep, &err);
    if (!s.eng) {
        fprintf(stderr, "llamafile: %s\n", err.msg);
        lf_context_free(ctx);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    struct sockaddr_storage ss;
    bool ipv6 = false;
    int port = o->port;
    struct MHD_Daemon *d = NULL;
    if (!resolve(o->host, port, &ss, &ipv6))
        fprintf(stderr, "llamafile: cannot resolve --host %s\n", o->host);
    else if (!(d = srv_http_start(&s, (const struct sockaddr *)&ss, ipv6, &port)))
        fprintf(stderr, "llamafile: cannot listen on %s port %d (in use, or not an address "
                "of this machine?)\n", o->host, o->port);
    if (!d) {
        srv_engine_free(s.eng);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    if (!p->quiet) {
        if (!s.loopback && o->n_api_keys == 0)
            fprintf(stderr, "llamafile: warning: listening on %s without --api-key: anyone who "
                    "can reach this address can use the model\n", o->host);
        fprintf(stderr, "llamafile: server listening on http://%s%s%s:%d/ (%d slots, %d tokens "
                "of context each)\n", ipv6 ? "[" : "", o->host, ipv6 ? "]" : "", port,
                o->n_parallel, s.n_ctx_slot);
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    if (!p->quiet)
        fprintf(stderr, "llamafile: %s: shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv_http_quiesce(d);   /* no new connections */
    srv_engine_stop(s.eng); /* open requests and streams end */
    srv_http_stop(d);      /* connection threads joined */
    srv_engine_free(s.eng);
    lf_context_free(s.emb);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
