/* eval.c — the evaluator: scopes, expressions, statements, macros, and
 * lf_jinja_parse / lf_jinja_render. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/jinja/jinja_impl.h"

#define MAX_EVAL_DEPTH 3000

void jstep(jr *R) {
    if (++R->steps > R->max_steps) jerr(R, "template exceeded %lld steps (loop iterations and calls)", (long long)R->max_steps);
}

/* ---- scopes ---- */

static jscope *scope_new(jr *R, jscope *parent) {
    jscope *s = ja_alloc(&R->ar, sizeof *s);
    s->parent = parent;
    return s;
}

static jv *scope_find(jscope *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return &s->vals[i];
    return NULL;
}

static void scope_set(jr *R, jscope *s, const char *name, jv v) {
    jv *p = scope_find(s, name);
    if (p) { *p = v; return; }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const char **nn = ja_alloc(&R->ar, cap * sizeof *nn);
        jv *nv = ja_alloc(&R->ar, cap * sizeof *nv);
        if (s->n) memcpy(nn, s->names, s->n * sizeof *nn), memcpy(nv, s->vals, s->n * sizeof *nv);
        s->names = nn, s->vals = nv, s->cap = cap;
    }
    s->names[s->n] = name;
    s->vals[s->n++] = v;
}

static jv lookup(jr *R, jscope *S, const char *name) {
    for (jscope *s = S; s; s = s->parent) {
        jv *p = scope_find(s, name);
        if (p) return *p;
    }
    jv *p = jd_gets(R->ctx, name);
    if (p) return *p;
    jv g;
    if (jglobal(R, name, &g)) return g;
    return jv_undef(name);
}

/* ---- arithmetic ---- */

static bool isnum(jv x) { return x.t == V_INT || x.t == V_FLOAT || x.t == V_BOOL; }
static bool isint(jv x) { return x.t == V_INT || x.t == V_BOOL; }
static int64_t ival(jv x) { return x.t == V_INT ? x.u.i : x.u.b; }
static double fval(jv x) { return x.t == V_FLOAT ? x.u.f : (double)ival(x); }

static _Noreturn void bad_operands(jr *R, const char *op, jv a, jv b) {
    if (a.t == V_UNDEF || b.t == V_UNDEF) {
        jv u = a.t == V_UNDEF ? a : b;
        jerr(R, "'%s' is undefined", u.u.name ? u.u.name : "value");
    }
    jerr(R, "unsupported operand type(s) for %s: '%s' and '%s'", op, jv_typename(a), jv_typename(b));
}

static jv repeat(jr *R, jv s, int64_t n) {
    if (n <= 0) return s.t == V_STR ? jv_str(R, "", 0) : jv_list(R, 0);
    if (s.t == V_STR) {
        if ((uint64_t)n * s.u.s->len > R->max_output) jerr(R, "string repetition exceeds the output limit of %zu bytes", R->max_output);
        jbuf b = {0};
        for (int64_t i = 0; i < n; i++) jb_add(R, &b, s.u.s->s, s.u.s->len);
        return jb_take(R, &b);
    }
    if ((uint64_t)n * s.u.l->n > (uint64_t)R->max_steps) jerr(R, "list repetition too large");
    jv r = jv_list(R, (size_t)n * s.u.l->n);
    for (int64_t i = 0; i < n; i++)
        for (size_t j = 0; j < s.u.l->n; j++) jl_push(R, r.u.l, s.u.l->v[j]);
    r.tuple = s.tuple;
    return r;
}

static jv arith(jr *R, int op, jv a, jv b) {
    static const char *const names[] = {"", "+", "-", "*", "/", "//", "%", "**"};
    if (isnum(a) && isnum(b)) {
        if (isint(a) && isint(b) && op != OP_DIV) {
            int64_t x = ival(a), y = ival(b), r;
            switch (op) {
            case OP_ADD: if (__builtin_add_overflow(x, y, &r)) goto ovf; return jv_int(r);
            case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto ovf; return jv_int(r);
            case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto ovf; return jv_int(r);
            case OP_FLOORDIV: case OP_MOD: {
                if (!y) jerr(R, "integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) goto ovf;
                int64_t q = x / y, m = x % y;
                if (m && ((m < 0) != (y < 0))) q--, m += y;
                return jv_int(op == OP_MOD ? m : q);
            }
            case OP_POW: {
                if (y < 0) return jv_float(pow((double)x, (double)y));
                r = 1;
                for (int64_t i = 0; i < y; i++) {
                    if (__builtin_mul_overflow(r, x, &r)) goto ovf;
                    if (r == 0 || r == 1) break;
                }
                if (r == 1 && x == -1 && y % 2) r = -1;
                return jv_int(r);
            }
            }
        }
        double x = fval(a), y = fval(b);
        switch (op) {
        case OP_ADD: return jv_float(x + y);
        case OP_SUB: return jv_float(x - y);
        case OP_MUL: return jv_float(x * y);
        case OP_DIV: if (y == 0) jerr(R, "division by zero"); return jv_float(x / y);
        case OP_FLOORDIV: if (y == 0) jerr(R, "float floor division by zero"); return jv_float(floor(x / y));
        case OP_MOD: {
            if (y == 0) jerr(R, "float modulo");
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return jv_float(m);
        }
        case OP_POW: return jv_float(pow(x, y));
        }
    }
    if (op == OP_ADD && a.t == V_STR && b.t == V_STR) {
        size_t n = a.u.s->len + b.u.s->len;
        if (n > R->max_output) jerr(R, "string exceeds the output limit of %zu bytes", R->max_output);
        jv r = jv_str(R, a.u.s->s, n);
        memcpy(r.u.s->s + a.u.s->len, b.u.s->s, b.u.s->len);
        r.u.s->s[n] = 0;
        return r;
    }
    if (op == OP_ADD && a.t == V_LIST && b.t == V_LIST && a.tuple == b.tuple) {
        jv r = jv_list(R, a.u.l->n + b.u.l->n);
        for (size_t i = 0; i < a.u.l->n; i++) r.u.l->v[r.u.l->n++] = a.u.l->v[i];
        for (size_t i = 0; i < b.u.l->n; i++) r.u.l->v[r.u.l->n++] = b.u.l->v[i];
        r.tuple = a.tuple;
        return r;
    }
    if (op == OP_MUL && (a.t == V_STR || a.t == V_LIST) && isint(b)) return repeat(R, a, ival(b));
    if (op == OP_MUL && (b.t == V_STR || b.t == V_LIST) && isint(a)) return repeat(R, b, ival(a));
    if (op == OP_MOD && a.t == V_STR) jerr(R, "printf-style string formatting is not supported");
    bad_operands(R, names[op], a, b);
ovf:
    jerr(R, "integer overflow");
}

static bool contains(jr *R, jv hay, jv x) {
    switch (hay.t) {
    case V_STR:
        if (x.t != V_STR) jerr(R, "'in <string>' requires string as left operand, not %s", jv_typename(x));
        return x.u.s->len == 0 || memmem(hay.u.s->s, hay.u.s->len, x.u.s->s, x.u.s->len) != NULL;
    case V_LIST:
        for (size_t i = 0; i < hay.u.l->n; i++)
            if (jv_eq(hay.u.l->v[i], x)) return true;
        return false;
    case V_DICT: case V_NS: return jd_get(hay.u.d, x) != NULL;
    case V_UNDEF: return false;
    default: jerr(R, "argument of type '%s' is not iterable", jv_typename(hay));
    }
}

static bool compare_op(jr *R, int op, jv a, jv b) {
    switch (op) {
    case OP_EQ: return jv_eq(a, b);
    case OP_NE: return !jv_eq(a, b);
    case OP_LT: return jv_cmp(R, a, b) < 0;
    case OP_LE: return jv_cmp(R, a, b) <= 0;
    case OP_GT: return jv_cmp(R, a, b) > 0;
    case OP_GE: return jv_cmp(R, a, b) >= 0;
    case OP_IN: return contains(R, b, a);
    default: return !contains(R, b, a);
    }
}

/* ---- slices ---- */

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static jv slice(jr *R, jv x, jv lo, jv hi, jv st) {
    int64_t n;
    if (x.t == V_STR) n = js_ncp(x.u.s);
    else if (x.t == V_LIST) n = (int64_t)x.u.l->n;
    else if (x.t == V_UNDEF) jerr(R, "'%s' is undefined", x.u.name ? x.u.name : "value");
    else jerr(R, "'%s' object is not subscriptable", jv_typename(x));
    int64_t step = 1;
    for (int k = 0; k < 3; k++) {
        jv v = k == 0 ? lo : k == 1 ? hi : st;
        if (v.t != V_NONE && v.t != V_UNDEF && !isint(v)) jerr(R, "slice indices must be integers or None");
    }
    if (isint(st)) step = ival(st);
    if (step == 0) jerr(R, "slice step cannot be zero");
    int64_t a, b;
    if (step > 0) {
        a = isint(lo) ? ival(lo) : 0;
        b = isint(hi) ? ival(hi) : n;
        if (a < 0) a += n;
        if (b < 0) b += n;
        a = clampi(a, 0, n), b = clampi(b, 0, n);
    } else {
        a = isint(lo) ? ival(lo) : n - 1;
        b = isint(hi) ? ival(hi) : -n - 1;
        if (a < 0) a += n;
        if (b < 0) b += n;
        a = clampi(a, -1, n - 1), b = clampi(b, -1, n - 1);
    }
    if (x.t == V_STR && step == 1) {
        if (b < a) b = a;
        size_t oa = js_cp_off(x.u.s, a), ob = js_cp_off(x.u.s, b);
        return jv_str(R, x.u.s->s + oa, ob - oa);
    }
    jlist *items = x.t == V_STR ? jv_iter(R, x) : x.u.l;
    jv r = jv_list(R, 0);
    if (step > 0)
        for (int64_t i = a; i < b; i += step) jl_push(R, r.u.l, items->v[i]);
    else
        for (int64_t i = a; i > b; i += step) jl_push(R, r.u.l, items->v[i]);
    if (x.t == V_STR) {
        jbuf bb = {0};
        for (size_t i = 0; i < r.u.l->n; i++) jb_add(R, &bb, r.u.l->v[i].u.s->s, r.u.l->v[i].u.s->len);
        return jb_take(R, &bb);
    }
    r.tuple = x.tuple;
    return r;
}

/* ---- calls ---- */

typedef struct args {
    jv *pos;
    int npos;
    const char **kwn;
    jv *kwv;
    int nkw;
} args;

static args eval_args(jr *R, jscope *S, const jnode *n) {
    args a = {0};
    a.npos = n->n, a.nkw = n->n2, a.kwn = n->names;
    if (n->n) a.pos = ja_alloc(&R->ar, (size_t)n->n * sizeof *a.pos);
    if (n->n2) a.kwv = ja_alloc(&R->ar, (size_t)n->n2 * sizeof *a.kwv);
    for (int i = 0; i < n->n; i++) a.pos[i] = jeval(R, S, n->list[i]);
    for (int i = 0; i < n->n2; i++) a.kwv[i] = jeval(R, S, n->list2[i]);
    return a;
}

static jv call_macro(jr *R, jv f, jv *pos, int npos, const char **kwn, jv *kwv, int nkw) {
    const jnode *m = f.u.m;
    if (++R->depth > R->max_depth) jerr(R, "macro recursion deeper than %d", R->max_depth);
    jscope *S = scope_new(R, (jscope *)m->a); /* the defining scope, stored at definition */
    if (npos > m->nn) jerr(R, "macro '%s' takes not more than %d argument(s)", m->name, m->nn);
    for (int i = 0; i < m->nn; i++) {
        jv v = jv_undef(m->names[i]);
        bool set = false;
        if (i < npos) v = pos[i], set = true;
        for (int k = 0; k < nkw; k++)
            if (!strcmp(kwn[k], m->names[i])) {
                if (set) jerr(R, "macro '%s' got multiple values for argument '%s'", m->name, m->names[i]);
                v = kwv[k], set = true;
            }
        if (!set && i < m->n2 && m->list2[i]) v = jeval(R, S, m->list2[i]);
        scope_set(R, S, m->names[i], v);
    }
    for (int k = 0; k < nkw; k++) {
        bool found = false;
        for (int i = 0; i < m->nn; i++) found |= !strcmp(kwn[k], m->names[i]);
        if (!found) jerr(R, "macro '%s' takes no keyword argument '%s'", m->name, kwn[k]);
    }
    jbuf out = {0};
    int saved = R->loopctl;
    jexec_body(R, S, m->list, m->n, &out);
    R->loopctl = saved;
    R->depth--;
    return jb_take(R, &out);
}

jv jcall_value(jr *R, jv f, jv *pos, int npos, const char **kwn, jv *kwv, int nkw) {
    jstep(R);
    switch (f.t) {
    case V_MACRO: return call_macro(R, f, pos, npos, kwn, kwv, nkw);
    case V_FUNC:
        if (f.u.bound) return jmethod(R, f.u.bound->self, f.u.bound->name, pos, npos, kwn, kwv, nkw);
        return jcall_global(R, f.fn, pos, npos, kwn, kwv, nkw);
    case V_UNDEF: jerr(R, "'%s' is undefined", f.u.name ? f.u.name : "value");
    default: jerr(R, "'%s' object is not callable", jv_typename(f));
    }
}

/* ---- expressions ---- */

static jv eval_filter_chain(jr *R, jscope *S, const jnode *e, jv input) {
    jv x = e->a ? eval_filter_chain(R, S, e->a, input) : input;
    args a = eval_args(R, S, e);
    return jfilter(R, S, e->name, x, a.pos, a.npos, a.kwn, a.kwv, a.nkw);
}

jv jeval(jr *R, jscope *S, const jnode *e) {
    if (++R->eval_depth > MAX_EVAL_DEPTH) jerr(R, "expression nested too deeply");
    jv r;
    switch (e->kind) {
    case E_CONST: r = e->cval; break;
    case E_NAME: r = lookup(R, S, e->name); break;
    case E_ATTR: {
        jv o = jeval(R, S, e->a);
        if (o.t == V_UNDEF) jerr(R, "'%s' is undefined", o.u.name ? o.u.name : "value");
        r = jattr(R, o, e->name);
        break;
    }
    case E_ITEM: {
        jv o = jeval(R, S, e->a);
        if (o.t == V_UNDEF) jerr(R, "'%s' is undefined", o.u.name ? o.u.name : "value");
        r = jitem(R, o, jeval(R, S, e->b));
        break;
    }
    case E_SLICE: {
        jv o = jeval(R, S, e->a), v[3];
        for (int i = 0; i < 3; i++) v[i] = e->list[i] ? jeval(R, S, e->list[i]) : jv_none();
        r = slice(R, o, v[0], v[1], v[2]);
        break;
    }
    case E_CALL: {
        if (e->a->kind == E_ATTR) {
            jv o = jeval(R, S, e->a->a);
            if (o.t == V_UNDEF) jerr(R, "'%s' is undefined", o.u.name ? o.u.name : "value");
            if (jmethod_exists(o, e->a->name)) {
                args a = eval_args(R, S, e);
                jstep(R);
                r = jmethod(R, o, e->a->name, a.pos, a.npos, a.kwn, a.kwv, a.nkw);
                break;
            }
            jv f = jattr(R, o, e->a->name);
            if (f.t == V_UNDEF)
                jerr(R, "'%s' object has no attribute '%s'", jv_typename(o), e->a->name);
            args a = eval_args(R, S, e);
            r = jcall_value(R, f, a.pos, a.npos, a.kwn, a.kwv, a.nkw);
            break;
        }
        jv f = jeval(R, S, e->a);
        args a = eval_args(R, S, e);
        r = jcall_value(R, f, a.pos, a.npos, a.kwn, a.kwv, a.nkw);
        break;
    }
    case E_FILTER: {
        jv x = e->a ? jeval(R, S, e->a) : lookup(R, S, "\x01filter");
        args a = eval_args(R, S, e);
        r = jfilter(R, S, e->name, x, a.pos, a.npos, a.kwn, a.kwv, a.nkw);
        break;
    }
    case E_TEST: {
        jv x = jeval(R, S, e->a);
        args a = eval_args(R, S, e);
        r = jv_bool(jtest(R, S, e->name, x, a.pos, a.npos) != (bool)e->op);
        break;
    }
    case E_BIN:
        if (e->op == OP_CONCAT) {
            jv a = jeval(R, S, e->a), b = jeval(R, S, e->b);
            jbuf buf = {0};
            jb_str(R, &buf, a);
            jb_str(R, &buf, b);
            r = jb_take(R, &buf);
        } else {
            jv a = jeval(R, S, e->a), b = jeval(R, S, e->b);
            r = arith(R, e->op, a, b);
        }
        break;
    case E_NEG: case E_POS: {
        jv x = jeval(R, S, e->a);
        if (x.t == V_INT || x.t == V_BOOL) {
            int64_t v = ival(x);
            if (e->kind == E_NEG && v == INT64_MIN) jerr(R, "integer overflow");
            r = jv_int(e->kind == E_NEG ? -v : v);
        } else if (x.t == V_FLOAT) r = jv_float(e->kind == E_NEG ? -x.u.f : x.u.f);
        else jerr(R, "bad operand type for unary %c: '%s'", e->kind == E_NEG ? '-' : '+', jv_typename(x));
        break;
    }
    case E_NOT: r = jv_bool(!jv_truthy(jeval(R, S, e->a))); break;
    case E_AND: { jv a = jeval(R, S, e->a); r = jv_truthy(a) ? jeval(R, S, e->b) : a; break; }
    case E_OR: { jv a = jeval(R, S, e->a); r = jv_truthy(a) ? a : jeval(R, S, e->b); break; }
    case E_COND:
        if (jv_truthy(jeval(R, S, e->b))) r = jeval(R, S, e->a);
        else r = e->c ? jeval(R, S, e->c) : jv_undef(NULL);
        break;
    case E_LIST: case E_TUPLE:
        r = jv_list(R, (size_t)e->n);
        for (int i = 0; i < e->n; i++) r.u.l->v[r.u.l->n++] = jeval(R, S, e->list[i]);
        r.tuple = e->kind == E_TUPLE;
        break;
    case E_DICT:
        r = jv_dict(R, (size_t)e->n);
        for (int i = 0; i < e->n; i++) {
            jv k = jeval(R, S, e->list[i]);
            if (k.t == V_LIST && !k.tuple) jerr(R, "unhashable type: 'list'");
            if (k.t == V_DICT) jerr(R, "unhashable type: 'dict'");
            jd_set(R, r.u.d, k, jeval(R, S, e->list2[i]));
        }
        break;
    case E_COMPARE: {
        jv a = jeval(R, S, e->a);
        r = jv_bool(true);
        for (int i = 0; i < e->n; i++) {
            jv b = jeval(R, S, e->list[i]);
            if (!compare_op(R, e->ops[i], a, b)) { r = jv_bool(false); break; }
            a = b;
        }
        break;
    }
    default: jerr(R, "internal error: bad expression node %d", e->kind);
    }
    R->eval_depth--;
    return r;
}

/* ---- statements ---- */

static void assign(jr *R, jscope *S, const jnode *n, const char **names, int nn, jv v) {
    if (nn == 1) { scope_set(R, S, names[0], v); return; }
    if (v.t != V_LIST) v = jv_list(R, 0), v.u.l = jv_iter(R, v);
    if ((int)v.u.l->n != nn)
        jerr(R, "line %d: cannot unpack %zu values into %d names", n->line, v.u.l->n, nn);
    for (int i = 0; i < nn; i++) scope_set(R, S, names[i], v.u.l->v[i]);
}

static void exec_for(jr *R, jscope *S, const jnode *n, jbuf *out) {
    jv it = jeval(R, S, n->a);
    jlist *items = jv_iter(R, it);
    if (n->b) { /* loop filter: applied first, so loop.* count only the kept items */
        jlist *kept = jv_list(R, 0).u.l;
        jscope *fs = scope_new(R, S);
        for (size_t i = 0; i < items->n; i++) {
            jstep(R);
            fs->n = 0;
            assign(R, fs, n, n->names, n->nn, items->v[i]);
            if (jv_truthy(jeval(R, fs, n->b))) jl_push(R, kept, items->v[i]);
        }
        items = kept;
    }
    if (!items->n) {
        if (n->n2) jexec_body(R, scope_new(R, S), n->list2, n->n2, out);
        return;
    }
    jloop *lp = ja_alloc(&R->ar, sizeof *lp);
    lp->items = items;
    jv lv = {.t = V_LOOP};
    lv.u.loop = lp;
    jscope *ls = scope_new(R, S);
    for (size_t i = 0; i < items->n; i++) {
        jstep(R);
        lp->i = i;
        ls->n = 0;
        scope_set(R, ls, "loop", lv);
        assign(R, ls, n, n->names, n->nn, items->v[i]);
        jexec_body(R, ls, n->list, n->n, out);
        if (R->loopctl == 1) { R->loopctl = 0; break; }
        R->loopctl = 0;
    }
}

static void exec_node(jr *R, jscope *S, const jnode *n, jbuf *out) {
    switch (n->kind) {
    case N_TEXT: jb_add(R, out, n->name, (size_t)n->op); break;
    case N_OUTPUT: jb_str(R, out, jeval(R, S, n->a)); break;
    case N_IF:
        if (jv_truthy(jeval(R, S, n->a))) jexec_body(R, S, n->list, n->n, out);
        else jexec_body(R, S, n->list2, n->n2, out);
        break;
    case N_FOR: exec_for(R, S, n, out); break;
    case N_SET: {
        jv v = jeval(R, S, n->a);
        if (n->name) {
            jv ns = lookup(R, S, n->name);
            if (ns.t != V_NS) jerr(R, "cannot assign attribute on non-namespace object");
            jd_set(R, ns.u.d, jv_cstr(R, n->names[0]), v);
        } else assign(R, S, n, n->names, n->nn, v);
        break;
    }
    case N_SET_BLOCK: {
        jbuf b = {0};
        jexec_body(R, S, n->list, n->n, &b);
        jv v = jb_take(R, &b);
        if (n->b) v = eval_filter_chain(R, S, n->b, v);
        scope_set(R, S, n->names[0], v);
        break;
    }
    case N_MACRO: {
        jnode *m = ja_alloc(&R->ar, sizeof *m);
        *m = *n;
        m->a = (jnode *)S; /* closure: the defining scope */
        jv v = {.t = V_MACRO};
        v.u.m = m;
        scope_set(R, S, n->name, v);
        break;
    }
    case N_FILTER_BLOCK: {
        jbuf b = {0};
        jexec_body(R, S, n->list, n->n, &b);
        jv v = eval_filter_chain(R, S, n->a, jb_take(R, &b));
        jb_str(R, out, v);
        break;
    }
    case N_BREAK: R->loopctl = 1; break;
    case N_CONTINUE: R->loopctl = 2; break;
    case N_BODY: jexec_body(R, S, n->list, n->n, out); break;
    default: jerr(R, "internal error: bad statement node %d", n->kind);
    }
}

void jexec_body(jr *R, jscope *S, jnode **body, int n, jbuf *out) {
    if (++R->eval_depth > MAX_EVAL_DEPTH) jerr(R, "template nested too deeply");
    for (int i = 0; i < n && !R->loopctl; i++) exec_node(R, S, body[i], out);
    R->eval_depth--;
}

/* ---- entry points ---- */

lf_jinja *lf_jinja_parse(const char *text, size_t len, lf_error *err) {
    lf_jinja *t = calloc(1, sizeof *t);
    if (!t) return snprintf(err->msg, sizeof err->msg, "out of memory"), NULL;
    t->ar.limit = (size_t)1 << 30;
    t->ar.err = err;
    jtoks toks = {0};
    if (!jinja_lex(&t->ar, text, len, &toks, err) || !jinja_parse_tokens(&t->ar, &toks, &t->root, err)) {
        lf_jinja_free(t);
        return NULL;
    }
    return t;
}

void lf_jinja_free(lf_jinja *t) {
    if (!t) return;
    ja_free_all(&t->ar);
    free(t);
}

char *lf_jinja_render(const lf_jinja *t, const json_t *ctx, const lf_jinja_opts *o, size_t *len, bool *raised,
                      lf_error *err) {
    jr *R = calloc(1, sizeof *R);
    if (raised) *raised = false;
    if (!R) return snprintf(err->msg, sizeof err->msg, "out of memory"), NULL;
    R->err = err;
    R->max_output = o && o->max_output ? o->max_output : LF_JINJA_DEFAULT_MAX_OUTPUT;
    R->max_depth = o && o->max_depth > 0 ? o->max_depth : LF_JINJA_DEFAULT_MAX_DEPTH;
    R->max_steps = o && o->max_steps > 0 ? o->max_steps : LF_JINJA_DEFAULT_MAX_STEPS;
    R->now = o ? o->now : INT64_MIN;
    R->ar.limit = R->max_output * 16 + ((size_t)256 << 20);
    R->ar.oom = &R->jb;
    R->ar.err = err;
    char *res = NULL;
    if (setjmp(R->jb)) {
        if (raised) *raised = R->raised;
        ja_free_all(&R->ar);
        free(R);
        return NULL;
    }
    if (ctx && !json_is_object(ctx)) jerr(R, "the render context must be a JSON object");
    R->ctx = ctx ? jv_from_json(R, ctx).u.d : jv_dict(R, 0).u.d;
    jbuf out = {0};
    jscope *top = scope_new(R, NULL);
    jexec_body(R, top, t->root->list, t->root->n, &out);
    res = malloc(out.n + 1);
    if (!res) jerr(R, "out of memory");
    if (out.n) memcpy(res, out.p, out.n);
    res[out.n] = 0;
    if (len) *len = out.n;
    ja_free_all(&R->ar);
    free(R);
    return res;
}
