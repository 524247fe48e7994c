/* constrain.c — a request's grammar: its own GBNF (`grammar`), or one made
 * from a JSON Schema (`json_schema`, `response_format`) by
 * lf_json_schema_to_gbnf, or from the tools (tools.c). Checked against the
 * model before the request is queued, so a bad one is a 400 that says
 * what is wrong and the decode thread only sees grammars that parse. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Any JSON object: what response_format {"type": "json_object"} asks for. */
static const char k_any_object[] = "{\"type\": \"object\"}";

bool srv_constrain(srv_server *s, srv_completion *req, srv_err *e) {
    lf_error err;
    if (req->json_schema || req->json_object) {
        char *gbnf = lf_json_schema_to_gbnf(req->json_schema ? req->json_schema : k_any_object,
                                            &err);
        if (!gbnf) {
            srv_err_set(e, 400, "invalid_request_error", "invalid JSON schema: %s", err.msg);
            return false;
        }
        free(req->grammar);
        req->grammar = gbnf;
        req->grammar_root = NULL;
    }
    if (req->parse_tools && !req->grammar && !srv_tools_grammar(s, req, e))
        return false;
    if (!req->grammar)
        return true;
    lf_grammar *g = lf_grammar_new(s->m, req->grammar, req->grammar_root, &err);
    if (!g) {
        srv_err_set(e, 400, "invalid_request_error", "invalid grammar: %s", err.msg);
        return false;
    }
    lf_grammar_free(g);
    return true;
}
