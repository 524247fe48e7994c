/* parser.c — tokens to a tree, with Jinja2's grammar and operator
 * precedence. Syntax errors longjmp out with "line L, column C: ...". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja/jinja_impl.h"

#define MAX_NEST 200

typedef struct ps {
    jarena *a;
    jtoks *t;
    size_t i;
    int depth;
    lf_error *err;
    jmp_buf jb;
} ps;

static _Noreturn void perr(ps *P, const jtok *k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void perr(ps *P, const jtok *k, const char *fmt, ...) {
    int n = snprintf(P->err->msg, sizeof P->err->msg, "line %d, column %d: ", k->line, k->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err->msg + n, sizeof P->err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    longjmp(P->jb, 1);
}

static jtok *cur(ps *P) { return &P->t->v[P->i]; }
static jtok *next(ps *P) { jtok *k = cur(P); if (k->type != TK_EOF) P->i++; return k; }
static bool is_op(ps *P, const char *op) { jtok *k = cur(P); return k->type == TK_OP && !strcmp(k->s, op); }
static bool is_name(ps *P, const char *nm) { jtok *k = cur(P); return k->type == TK_NAME && !strcmp(k->s, nm); }
static bool is_name_at(ps *P, size_t off, const char *nm) {
    if (P->i + off >= P->t->n) return false;
    jtok *k = &P->t->v[P->i + off];
    return k->type == TK_NAME && !strcmp(k->s, nm);
}

static const char *tokdesc(const jtok *k) {
    switch (k->type) {
    case TK_EOF: return "end of template";
    case TK_VAR_END: return "end of print statement";
    case TK_BLOCK_END: return "end of statement block";
    case TK_VAR_BEGIN: return "begin of print statement";
    case TK_BLOCK_BEGIN: return "begin of statement block";
    case TK_NAME: case TK_OP: return k->s;
    case TK_STRING: return "string";
    case TK_INT: return "integer";
    case TK_FLOAT: return "float";
    default: return "template data";
    }
}

static void expect_op(ps *P, const char *op) {
    if (!is_op(P, op)) perr(P, cur(P), "expected '%s', got '%s'", op, tokdesc(cur(P)));
    next(P);
}
static void expect_type(ps *P, int type, const char *what) {
    if (cur(P)->type != type) perr(P, cur(P), "expected %s, got '%s'", what, tokdesc(cur(P)));
    next(P);
}
static const char *expect_name(ps *P) {
    jtok *k = cur(P);
    if (k->type != TK_NAME) perr(P, k, "expected a name, got '%s'", tokdesc(k));
    next(P);
    return k->s;
}

static jnode *mk(ps *P, int kind, const jtok *at) {
    jnode *n = ja_alloc(P->a, sizeof *n);
    if (!n) perr(P, at, "out of memory");
    n->kind = kind;
    n->line = at->line, n->col = at->col;
    return n;
}

typedef struct vec { jnode **v; int n, cap; } vec;
static void vpush(ps *P, vec *v, jnode *x) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        jnode **nv = ja_alloc(P->a, (size_t)cap * sizeof *nv);
        if (!nv) perr(P, cur(P), "out of memory");
        if (v->n) memcpy(nv, v->v, (size_t)v->n * sizeof *nv);
        v->v = nv, v->cap = cap;
    }
    v->v[v->n++] = x;
}
typedef struct svec { const char **v; int n, cap; } svec;
static void spush(ps *P, svec *v, const char *x) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        const char **nv = ja_alloc(P->a, (size_t)cap * sizeof *nv);
        if (!nv) perr(P, cur(P), "out of memory");
        if (v->n) memcpy(nv, v->v, (size_t)v->n * sizeof *nv);
        v->v = nv, v->cap = cap;
    }
    v->v[v->n++] = x;
}

static void enter(ps *P) {
    if (++P->depth > MAX_NEST) perr(P, cur(P), "template nested too deeply (more than %d levels)", MAX_NEST);
}

static jnode *expr(ps *P);
static jnode *condexpr(ps *P, bool allow_cond);
static jnode *unary(ps *P, bool with_filter);
static jnode *or_expr(ps *P);

static void call_args(ps *P, jnode *n) {
    /* after '(' */
    vec pos = {0}, kwv = {0};
    svec kwn = {0};
    while (!is_op(P, ")")) {
        if (pos.n + kwv.n) expect_op(P, ",");
        if (is_op(P, ")")) break;
        if (cur(P)->type == TK_NAME && P->i + 1 < P->t->n && P->t->v[P->i + 1].type == TK_OP &&
            !strcmp(P->t->v[P->i + 1].s, "=")) {
            spush(P, &kwn, next(P)->s);
            next(P);
            vpush(P, &kwv, expr(P));
        } else {
            if (kwv.n) perr(P, cur(P), "positional argument after keyword argument");
            vpush(P, &pos, expr(P));
        }
    }
    next(P);
    n->list = pos.v, n->n = pos.n;
    n->list2 = kwv.v, n->n2 = kwv.n;
    n->names = kwn.v, n->nn = kwn.n;
}

static jnode *tuple_or_expr(ps *P, bool allow_cond, bool explicit_paren) {
    jtok *at = cur(P);
    jnode *first = allow_cond ? expr(P) : or_expr(P);
    if (!is_op(P, ",")) return first;
    vec items = {0};
    vpush(P, &items, first);
    while (is_op(P, ",")) {
        next(P);
        jtok *k = cur(P);
        if (k->type == TK_VAR_END || k->type == TK_BLOCK_END || is_op(P, ")") || is_name(P, "in") || k->type == TK_EOF)
            break;
        vpush(P, &items, allow_cond ? expr(P) : or_expr(P));
    }
    (void)explicit_paren;
    jnode *t = mk(P, E_TUPLE, at);
    t->list = items.v, t->n = items.n;
    return t;
}

static jnode *primary(ps *P) {
    jtok *k = cur(P);
    jnode *n;
    switch (k->type) {
    case TK_NAME:
        next(P);
        n = mk(P, E_CONST, k);
        if (!strcmp(k->s, "true") || !strcmp(k->s, "True")) n->cval = jv_bool(true);
        else if (!strcmp(k->s, "false") || !strcmp(k->s, "False")) n->cval = jv_bool(false);
        else if (!strcmp(k->s, "none") || !strcmp(k->s, "None")) n->cval = jv_none();
        else n->kind = E_NAME, n->name = k->s;
        return n;
    case TK_STRING: {
        next(P);
        size_t len = k->len;
        const char *s = k->s;
        if (cur(P)->type == TK_STRING) { /* adjacent literals concatenate */
            size_t tot = len;
            for (size_t j = P->i; P->t->v[j].type == TK_STRING; j++) tot += P->t->v[j].len;
            char *b = ja_alloc(P->a, tot + 1);
            if (!b) perr(P, k, "out of memory");
            memcpy(b, s, len);
            while (cur(P)->type == TK_STRING) memcpy(b + len, cur(P)->s, cur(P)->len), len += cur(P)->len, next(P);
            s = b;
        }
        n = mk(P, E_CONST, k);
        jstr *js = ja_alloc(P->a, sizeof *js + len + 1);
        if (!js) perr(P, k, "out of memory");
        js->len = len;
        memcpy(js->s, s, len);
        js_ncp(js); /* cached now: a parsed template is shared read-only across threads */
        n->cval.t = V_STR, n->cval.u.s = js;
        return n;
    }
    case TK_INT: next(P); n = mk(P, E_CONST, k); n->cval = jv_int(k->i); return n;
    case TK_FLOAT: next(P); n = mk(P, E_CONST, k); n->cval = jv_float(k->f); return n;
    case TK_OP:
        if (!strcmp(k->s, "(")) {
            next(P);
            if (is_op(P, ")")) { next(P); n = mk(P, E_TUPLE, k); return n; }
            n = tuple_or_expr(P, true, true);
            if (n->kind == E_TUPLE && n->line == k->line && n->col == k->col + 0) {}
            expect_op(P, ")");
            return n;
        }
        if (!strcmp(k->s, "[")) {
            next(P);
            vec items = {0};
            while (!is_op(P, "]")) {
                if (items.n) expect_op(P, ",");
                if (is_op(P, "]")) break;
                vpush(P, &items, expr(P));
            }
            next(P);
            n = mk(P, E_LIST, k);
            n->list = items.v, n->n = items.n;
            return n;
        }
        if (!strcmp(k->s, "{")) {
            next(P);
            vec ks = {0}, vs = {0};
            while (!is_op(P, "}")) {
                if (ks.n) expect_op(P, ",");
                if (is_op(P, "}")) break;
                vpush(P, &ks, expr(P));
                expect_op(P, ":");
                vpush(P, &vs, expr(P));
            }
            next(P);
            n = mk(P, E_DICT, k);
            n->list = ks.v, n->n = ks.n, n->list2 = vs.v, n->n2 = vs.n;
            return n;
        }
        break;
    default: break;
    }
    perr(P, k, "unexpected '%s'", tokdesc(k));
}

static jnode *subscript_part(ps *P) {
    /* returns an expression or NULL for an empty slice bound */
    if (is_op(P, ":") || is_op(P, "]") || is_op(P, ",")) return NULL;
    return expr(P);
}

static jnode *postfix(ps *P, jnode *n) {
    for (;;) {
        jtok *k = cur(P);
        if (is_op(P, ".")) {
            next(P);
            jtok *a = cur(P);
            if (a->type == TK_NAME) {
                next(P);
                jnode *m = mk(P, E_ATTR, a);
                m->a = n, m->name = a->s;
                n = m;
            } else if (a->type == TK_INT) {
                next(P);
                jnode *m = mk(P, E_ITEM, a), *c = mk(P, E_CONST, a);
                c->cval = jv_int(a->i);
                m->a = n, m->b = c;
                n = m;
            } else perr(P, a, "expected name or number after '.'");
        } else if (is_op(P, "[")) {
            next(P);
            jnode *lo = subscript_part(P);
            if (is_op(P, ":")) {
                next(P);
                jnode *hi = subscript_part(P), *st = NULL;
                if (is_op(P, ":")) { next(P); st = subscript_part(P); }
                jnode *m = mk(P, E_SLICE, k);
                m->a = n;
                m->list = ja_alloc(P->a, 3 * sizeof *m->list);
                if (!m->list) perr(P, k, "out of memory");
                m->list[0] = lo, m->list[1] = hi, m->list[2] = st, m->n = 3;
                n = m;
            } else {
                if (!lo) perr(P, cur(P), "expected an expression in subscript");
                jnode *m = mk(P, E_ITEM, k);
                m->a = n, m->b = lo;
                n = m;
            }
            expect_op(P, "]");
        } else if (is_op(P, "(")) {
            next(P);
            jnode *m = mk(P, E_CALL, k);
            m->a = n;
            call_args(P, m);
            n = m;
        } else return n;
    }
}

static jnode *filter_one(ps *P, jnode *in) {
    jtok *k = cur(P);
    const char *name = expect_name(P);
    while (is_op(P, ".")) { /* dotted filter names */
        next(P);
        const char *more = expect_name(P);
        size_t l = strlen(name) + strlen(more) + 2;
        char *b = ja_alloc(P->a, l);
        if (!b) perr(P, k, "out of memory");
        snprintf(b, l, "%s.%s", name, more);
        name = b;
    }
    jnode *f = mk(P, E_FILTER, k);
    f->a = in, f->name = name;
    if (is_op(P, "(")) { next(P); call_args(P, f); }
    return f;
}

static jnode *filter_expr(ps *P, jnode *n) {
    for (;;) {
        if (is_op(P, "|")) {
            next(P);
            n = filter_one(P, n);
        } else if (is_name(P, "is")) {
            jtok *k = next(P);
            bool neg = false;
            if (is_name(P, "not")) next(P), neg = true;
            const char *name = expect_name(P);
            jnode *t = mk(P, E_TEST, k);
            t->a = n, t->name = name, t->op = neg;
            jtok *c = cur(P);
            if (is_op(P, "(")) {
                next(P);
                call_args(P, t);
            } else if ((c->type == TK_NAME || c->type == TK_STRING || c->type == TK_INT || c->type == TK_FLOAT ||
                        is_op(P, "[") || is_op(P, "{")) &&
                       !is_name(P, "else") && !is_name(P, "or") && !is_name(P, "and") && !is_name(P, "if") &&
                       !is_name(P, "in") && !is_name(P, "not") && !is_name(P, "is")) {
                jnode *arg = postfix(P, primary(P));
                t->list = ja_alloc(P->a, sizeof *t->list);
                if (!t->list) perr(P, c, "out of memory");
                t->list[0] = arg, t->n = 1;
            }
            n = t;
        } else if (is_op(P, "(")) {
            jtok *k = next(P);
            jnode *m = mk(P, E_CALL, k);
            m->a = n;
            call_args(P, m);
            n = m;
        } else return n;
    }
}

static jnode *unary(ps *P, bool with_filter) {
    enter(P);
    jtok *k = cur(P);
    jnode *n;
    if (is_op(P, "-") || is_op(P, "+")) {
        next(P);
        n = mk(P, k->s[0] == '-' ? E_NEG : E_POS, k);
        n->a = unary(P, false);
    } else n = postfix(P, primary(P));
    if (with_filter) n = filter_expr(P, n);
    P->depth--;
    return n;
}

static jnode *bin(ps *P, jtok *k, int op, jnode *l, jnode *r) {
    jnode *n = mk(P, E_BIN, k);
    n->op = op, n->a = l, n->b = r;
    return n;
}

static jnode *pow_expr(ps *P) {
    jnode *l = unary(P, true);
    while (is_op(P, "**")) { jtok *k = next(P); l = bin(P, k, OP_POW, l, unary(P, true)); }
    return l;
}
static jnode *mul_expr(ps *P) {
    jnode *l = pow_expr(P);
    for (;;) {
        int op = is_op(P, "*") ? OP_MUL : is_op(P, "/") ? OP_DIV : is_op(P, "//") ? OP_FLOORDIV : is_op(P, "%") ? OP_MOD : 0;
        if (!op) return l;
        jtok *k = next(P);
        l = bin(P, k, op, l, pow_expr(P));
    }
}
static jnode *concat_expr(ps *P) {
    jnode *l = mul_expr(P);
    while (is_op(P, "~")) { jtok *k = next(P); l = bin(P, k, OP_CONCAT, l, mul_expr(P)); }
    return l;
}
static jnode *add_expr(ps *P) {
    jnode *l = concat_expr(P);
    for (;;) {
        int op = is_op(P, "+") ? OP_ADD : is_op(P, "-") ? OP_SUB : 0;
        if (!op) return l;
        jtok *k = next(P);
        l = bin(P, k, op, l, concat_expr(P));
    }
}
static jnode *compare(ps *P) {
    jtok *at = cur(P);
    jnode *l = add_expr(P);
    vec rhs = {0};
    int ops[64], nops = 0;
    for (;;) {
        int op = 0;
        if (is_op(P, "==")) op = OP_EQ;
        else if (is_op(P, "!=")) op = OP_NE;
        else if (is_op(P, "<")) op = OP_LT;
        else if (is_op(P, "<=")) op = OP_LE;
        else if (is_op(P, ">")) op = OP_GT;
        else if (is_op(P, ">=")) op = OP_GE;
        else if (is_name(P, "in")) op = OP_IN;
        else if (is_name(P, "not") && is_name_at(P, 1, "in")) op = OP_NOTIN, next(P);
        if (!op) break;
        if (nops == 64) perr(P, cur(P), "comparison chain too long");
        next(P);
        ops[nops++] = op;
        vpush(P, &rhs, add_expr(P));
    }
    if (!nops) return l;
    jnode *n = mk(P, E_COMPARE, at);
    n->a = l;
    n->list = rhs.v, n->n = rhs.n;
    n->ops = ja_alloc(P->a, (size_t)nops * sizeof *n->ops);
    if (!n->ops) perr(P, at, "out of memory");
    memcpy(n->ops, ops, (size_t)nops * sizeof *ops);
    return n;
}
static jnode *not_expr(ps *P) {
    if (is_name(P, "not")) {
        jtok *k = next(P);
        enter(P);
        jnode *n = mk(P, E_NOT, k);
        n->a = not_expr(P);
        P->depth--;
        return n;
    }
    return compare(P);
}
static jnode *and_expr(ps *P) {
    jnode *l = not_expr(P);
    while (is_name(P, "and")) {
        jtok *k = next(P);
        jnode *n = mk(P, E_AND, k);
        n->a = l, n->b = not_expr(P);
        l = n;
    }
    return l;
}
static jnode *or_expr(ps *P) {
    jnode *l = and_expr(P);
    while (is_name(P, "or")) {
        jtok *k = next(P);
        jnode *n = mk(P, E_OR, k);
        n->a = l, n->b = and_expr(P);
        l = n;
    }
    return l;
}
static jnode *condexpr(ps *P, bool allow_cond) {
    enter(P);
    jnode *n = or_expr(P);
    while (allow_cond && is_name(P, "if")) {
        jtok *k = next(P);
        jnode *c = mk(P, E_COND, k);
        c->a = n;
        c->b = or_expr(P);
        if (is_name(P, "else")) { next(P); c->c = condexpr(P, true); }
        n = c;
    }
    P->depth--;
    return n;
}
static jnode *expr(ps *P) { return condexpr(P, true); }

/* ---- statements ---- */

static vec body(ps *P, const char *const *ends, const char **which);

static void end_block(ps *P) { expect_type(P, TK_BLOCK_END, "end of statement block"); }

static jnode **one(ps *P, jnode *n) {
    jnode **v = ja_alloc(P->a, sizeof *v);
    if (!v) perr(P, cur(P), "out of memory");
    v[0] = n;
    return v;
}

/* A body that stopped at "else" gets its else body (up to END) in list2;
 * then the end tag itself is consumed. */
static void else_then_end(ps *P, jnode *n, const char *w, const char *end) {
    if (!strcmp(w, "else")) {
        next(P);
        end_block(P);
        const char *const ends[] = {end, NULL};
        vec e = body(P, ends, &w);
        n->list2 = e.v, n->n2 = e.n;
    }
    next(P);
    end_block(P);
}

static jnode *stmt_if(ps *P, jtok *k) {
    jnode *n = mk(P, N_IF, k);
    n->a = expr(P);
    end_block(P);
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *w;
    vec b = body(P, ends, &w);
    n->list = b.v, n->n = b.n;
    if (!strcmp(w, "elif")) {
        jtok *e = cur(P);
        next(P);
        n->list2 = one(P, stmt_if(P, e)), n->n2 = 1;
        return n;
    }
    else_then_end(P, n, w, "endif");
    return n;
}

static jnode *target(ps *P, jtok *k, svec *names) {
    (void)k;
    bool paren = is_op(P, "(");
    if (paren) next(P);
    spush(P, names, expect_name(P));
    while (is_op(P, ",")) {
        next(P);
        if (cur(P)->type != TK_NAME) break;
        spush(P, names, expect_name(P));
    }
    if (paren) expect_op(P, ")");
    return NULL;
}

static jnode *stmt_for(ps *P, jtok *k) {
    jnode *n = mk(P, N_FOR, k);
    svec names = {0};
    target(P, k, &names);
    n->names = names.v, n->nn = names.n;
    if (!is_name(P, "in")) perr(P, cur(P), "expected 'in', got '%s'", tokdesc(cur(P)));
    next(P);
    n->a = tuple_or_expr(P, false, false);
    if (is_name(P, "if")) { next(P); n->b = expr(P); }
    if (is_name(P, "recursive")) perr(P, cur(P), "recursive loops are not supported");
    end_block(P);
    static const char *const ends[] = {"else", "endfor", NULL};
    const char *w;
    vec b = body(P, ends, &w);
    n->list = b.v, n->n = b.n;
    else_then_end(P, n, w, "endfor");
    return n;
}

static jnode *stmt_set(ps *P, jtok *k) {
    jnode *n = mk(P, N_SET, k);
    jtok *t = cur(P);
    const char *name = expect_name(P);
    svec names = {0};
    spush(P, &names, name);
    if (is_op(P, ".")) {
        next(P);
        n->name = name; /* namespace */
        names.n = 0;
        spush(P, &names, expect_name(P));
    } else
        while (is_op(P, ",")) {
            next(P);
            spush(P, &names, expect_name(P));
        }
    n->names = names.v, n->nn = names.n;
    if (is_op(P, "=")) {
        next(P);
        n->a = tuple_or_expr(P, true, false);
        end_block(P);
        return n;
    }
    if (n->name || names.n != 1) perr(P, t, "expected '='");
    n->kind = N_SET_BLOCK;
    jnode *f = NULL;
    while (is_op(P, "|")) { next(P); f = filter_one(P, f); }
    n->b = f;
    end_block(P);
    static const char *const ends[] = {"endset", NULL};
    const char *w;
    vec b = body(P, ends, &w);
    n->list = b.v, n->n = b.n;
    next(P);
    end_block(P);
    return n;
}

static jnode *stmt_macro(ps *P, jtok *k) {
    jnode *n = mk(P, N_MACRO, k);
    n->name = expect_name(P);
    expect_op(P, "(");
    svec params = {0};
    vec defs = {0};
    while (!is_op(P, ")")) {
        if (params.n) expect_op(P, ",");
        if (is_op(P, ")")) break;
        spush(P, &params, expect_name(P));
        if (is_op(P, "=")) {
            next(P);
            vpush(P, &defs, expr(P));
        } else {
            if (defs.n && defs.v[defs.n - 1]) perr(P, cur(P), "non-default argument follows default argument");
            vpush(P, &defs, NULL);
        }
    }
    next(P);
    end_block(P);
    n->names = params.v, n->nn = params.n;
    n->list2 = defs.v, n->n2 = defs.n;
    static const char *const ends[] = {"endmacro", NULL};
    const char *w;
    vec b = body(P, ends, &w);
    n->list = b.v, n->n = b.n;
    next(P);
    if (cur(P)->type == TK_NAME) next(P); /* {% endmacro name %} */
    end_block(P);
    return n;
}

static jnode *stmt_filter(ps *P, jtok *k) {
    jnode *n = mk(P, N_FILTER_BLOCK, k);
    jnode *f = filter_one(P, NULL);
    while (is_op(P, "|")) { next(P); f = filter_one(P, f); }
    n->a = f;
    end_block(P);
    static const char *const ends[] = {"endfilter", NULL};
    const char *w;
    vec b = body(P, ends, &w);
    n->list = b.v, n->n = b.n;
    next(P);
    end_block(P);
    return n;
}

static vec body(ps *P, const char *const *ends, const char **which) {
    enter(P);
    vec out = {0};
    for (;;) {
        jtok *k = cur(P);
        if (k->type == TK_EOF) {
            if (ends) {
                int last = 0;
                while (ends[last + 1]) last++;
                perr(P, k, "unexpected end of template, expected '%s'", ends[last]);
            }
            break;
        }
        if (k->type == TK_DATA) {
            next(P);
            jnode *n = mk(P, N_TEXT, k);
            n->name = k->s, n->op = (int)k->len;
            vpush(P, &out, n);
            continue;
        }
        if (k->type == TK_VAR_BEGIN) {
            next(P);
            jnode *n = mk(P, N_OUTPUT, k);
            n->a = tuple_or_expr(P, true, false);
            expect_type(P, TK_VAR_END, "end of print statement");
            vpush(P, &out, n);
            continue;
        }
        if (k->type != TK_BLOCK_BEGIN) perr(P, k, "unexpected '%s'", tokdesc(k));
        next(P);
        jtok *t = cur(P);
        if (t->type != TK_NAME) perr(P, t, "tag name expected");
        if (ends)
            for (int i = 0; ends[i]; i++)
                if (!strcmp(t->s, ends[i])) {
                    *which = ends[i];
                    P->depth--;
                    return out;
                }
        next(P);
        const char *nm = t->s;
        jnode *n;
        if (!strcmp(nm, "if")) n = stmt_if(P, t);
        else if (!strcmp(nm, "for")) n = stmt_for(P, t);
        else if (!strcmp(nm, "set")) n = stmt_set(P, t);
        else if (!strcmp(nm, "macro")) n = stmt_macro(P, t);
        else if (!strcmp(nm, "filter")) n = stmt_filter(P, t);
        else if (!strcmp(nm, "break") || !strcmp(nm, "continue")) {
            n = mk(P, nm[0] == 'b' ? N_BREAK : N_CONTINUE, t);
            end_block(P);
        } else if (!strcmp(nm, "generation")) {
            end_block(P);
            static const char *const e2[] = {"endgeneration", NULL};
            const char *w;
            vec b = body(P, e2, &w);
            next(P);
            end_block(P);
            n = mk(P, N_BODY, t);
            n->list = b.v, n->n = b.n;
        } else perr(P, t, "Encountered unknown tag '%s'", nm);
        vpush(P, &out, n);
    }
    P->depth--;
    return out;
}

bool jinja_parse_tokens(jarena *a, jtoks *t, jnode **root, lf_error *err) {
    ps P = {.a = a, .t = t, .err = err};
    if (setjmp(P.jb)) return false;
    vec b = body(&P, NULL, NULL);
    jnode *n = mk(&P, N_BODY, &t->v[0]);
    n->list = b.v, n->n = b.n;
    *root = n;
    return true;
}
