/* lazy.c — a grammar that starts only once its trigger text appears in
 * the output (tool_choice "auto": the model may answer in prose, but a
 * call it opens with "<tool_call>" is held to the tools' schemas). A custom
 * sampler stage: until the trigger it changes nothing and watches the
 * accepted tokens' text; then the grammar is fed the text from the
 * trigger on and masks every later token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct srv_lazy {
    const lf_model *m;
    lf_grammar *g;
    char trigger[32];
    size_t n_trigger;
    char tail[256]; /* the output's last bytes, while not triggered */
    size_t n_tail;
    bool armed;     /* the stage has run: accepted tokens are output, not prompt */
    bool on, dead;  /* triggered; the trigger's text did not fit the grammar */
};

static void lazy_apply(void *user, lf_candidates *c) {
    srv_lazy *z = user;
    z->armed = true;
    if (z->on && !z->dead)
        lf_grammar_apply(z->g, c);
}

static void lazy_accept(void *user, int32_t tok) {
    srv_lazy *z = user;
    if (!z->armed || z->dead)
        return;
    if (z->on) {
        lf_grammar_accept_token(z->g, tok);
        return;
    }
    char piece[128];
    int64_t n = lf_token_to_piece(z->m, tok, piece, sizeof piece, true);
    if (n <= 0)
        return;
    if (z->n_tail + (size_t)n > sizeof z->tail) { /* keep what may hold a trigger's start */
        size_t keep = z->n_trigger - 1;
        if (keep > z->n_tail)
            keep = z->n_tail;
        memmove(z->tail, z->tail + z->n_tail - keep, keep);
        z->n_tail = keep;
    }
    if ((size_t)n > sizeof z->tail - z->n_tail)
        n = (int64_t)(sizeof z->tail - z->n_tail);
    memcpy(z->tail + z->n_tail, piece, (size_t)n);
    z->n_tail += (size_t)n;
    char *at = memmem(z->tail, z->n_tail, z->trigger, z->n_trigger);
    if (!at)
        return;
    z->on = true;
    z->dead = !lf_grammar_accept_text(z->g, at, z->n_tail - (size_t)(at - z->tail));
}

static void lazy_reset(void *user) {
    srv_lazy *z = user;
    lf_grammar_reset(z->g);
    z->n_tail = 0;
    z->armed = z->on = z->dead = false;
}

srv_lazy *srv_lazy_add(lf_sampler *smp, const lf_model *m, const char *gbnf, const char *root,
                       const char *trigger, lf_error *err) {
    srv_lazy *z = calloc(1, sizeof *z);
    if (!z || strlen(trigger) >= sizeof z->trigger || !*trigger) {
        free(z);
        snprintf(err->msg, sizeof err->msg, "lazy grammar: out of memory");
        return NULL;
    }
    z->m = m;
    z->n_trigger = strlen(trigger);
    memcpy(z->trigger, trigger, z->n_trigger + 1);
    if (!(z->g = lf_grammar_new(m, gbnf, root, err)) ||
        !lf_sampler_add_custom(smp, lazy_apply, lazy_accept, lazy_reset, z, err)) {
        srv_lazy_free(z);
        return NULL;
    }
    return z;
}

void srv_lazy_free(srv_lazy *z) {
    if (!z)
        return;
    lf_grammar_free(z->g);
    free(z);
}
