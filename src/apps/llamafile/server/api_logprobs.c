/* api_logprobs.c — the probabilities of generated tokens (logprobs,
 * top_logprobs, n_probs) in the shapes of OpenAI's chat and legacy
 * completions and of llama-server's /completion. */
#include <math.h>
#include <stdlib.h>

#include "server.h"

typedef struct piece {
    char buf[256];
    size_t n;
} piece;

static void get_piece(const srv_server *s, int32_t tok, piece *p) {
    int64_t n = lf_token_to_piece(s->m, tok, p->buf, sizeof p->buf, true);
    p->n = n > 0 ? (size_t)n : 0; /* a piece longer than 256 bytes: shown empty */
}

/* ln p; OpenAI's -9999 for a probability that underflowed */
static double logprob(float p) { return p > 0 ? log((double)p) : -9999.0; }

static json_t *bytes_json(const piece *p) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n; i++)
        json_array_append_new(a, json_integer((unsigned char)p->buf[i]));
    return a;
}

/* {token, logprob, bytes} (+ id for the native shape) */
static json_t *entry(const srv_server *s, int32_t tok, float p, bool with_id) {
    piece pc;
    get_piece(s, tok, &pc);
    json_t *j = json_pack("{s:o,s:f,s:o}", "token", srv_text_json(pc.buf, pc.n), "logprob",
                          logprob(p), "bytes", bytes_json(&pc));
    if (j && with_id)
        json_object_set_new(j, "id", json_integer(tok));
    return j;
}

static json_t *with_top(const srv_server *s, const srv_tokprob *p, bool with_id) {
    json_t *j = entry(s, p->tok, p->p, with_id);
    json_t *top = json_array();
    for (int k = 0; top && k < p->n_top; k++)
        json_array_append_new(top, entry(s, p->top[k].id, p->top[k].p, with_id));
    if (j)
        json_object_set_new(j, "top_logprobs", top ? top : json_array());
    else
        json_decref(top);
    return j;
}

json_t *srv_logprobs_chat(const srv_server *s, const srv_tokprob *p, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, with_top(s, &p[i], false));
    return json_pack("{s:o}", "content", a ? a : json_array());
}

json_t *srv_probs_native(const srv_server *s, const srv_tokprob *p, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, with_top(s, &p[i], true));
    return a ? a : json_array();
}

json_t *srv_logprobs_legacy(const srv_server *s, const srv_tokprob *p, int n, size_t *off) {
    json_t *toks = json_array(), *lps = json_array(), *tops = json_array(),
           *offs = json_array();
    for (int i = 0; i < n; i++) {
        piece pc;
        get_piece(s, p[i].tok, &pc);
        json_array_append_new(toks, srv_text_json(pc.buf, pc.n));
        json_array_append_new(lps, json_real(logprob(p[i].p)));
        json_array_append_new(offs, json_integer((json_int_t)*off));
        *off += pc.n;
        json_t *top = json_object();
        for (int k = 0; k < p[i].n_top; k++) {
            piece tp;
            get_piece(s, p[i].top[k].id, &tp);
            json_t *key = srv_text_json(tp.buf, tp.n);
            if (key && top)
                json_object_set_new(top, json_string_value(key), json_real(logprob(p[i].top[k].p)));
            json_decref(key);
        }
        json_array_append_new(tops, top ? top : json_object());
    }
    return json_pack("{s:o,s:o,s:o,s:o}", "tokens", toks ? toks : json_array(), "token_logprobs",
                     lps ? lps : json_array(), "top_logprobs", tops ? tops : json_array(),
                     "text_offset", offs ? offs : json_array());
}
