/* jinja_impl.h — the engine's private types: arena, values, tokens, tree,
 * and the render state. Runtime errors longjmp to lf_jinja_render, which
 * frees the render arena, so nothing below needs to clean up on error. */
#ifndef LF_TEXT_JINJA_IMPL_H
#define LF_TEXT_JINJA_IMPL_H

#include <setjmp.h>
#include <stdarg.h>

#include "text/jinja/jinja.h"

/* ---- arena ---- */
typedef struct jarena {
    struct jblock *head;
    size_t total, limit;
    jmp_buf *oom; /* where to go when over limit or out of memory; NULL: return NULL */
    lf_error *err;
} jarena;
void *ja_alloc(jarena *a, size_t n); /* zeroed */
void ja_free_all(jarena *a);
char *ja_strndup(jarena *a, const char *s, size_t n);

/* ---- values ---- */
typedef enum {
    V_UNDEF, V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_DICT, V_NS, V_MACRO, V_FUNC, V_LOOP
} jtype;

typedef struct jstr {
    size_t len;
    int64_t ncp; /* code points; -1 unknown */
    char s[];    /* NUL-terminated */
} jstr;

struct jlist;
struct jdict;
struct jnode;
struct jloop;

typedef struct jv {
    uint8_t t;
    uint8_t tuple; /* V_LIST: printed as a tuple */
    uint16_t fn;   /* V_FUNC: which builtin */
    union {
        bool b;
        int64_t i;
        double f;
        jstr *s;
        struct jlist *l;
        struct jdict *d;
        const struct jnode *m; /* V_MACRO */
        struct jloop *loop;
        struct jbound *bound; /* V_FUNC method: receiver + name */
        const char *name;     /* V_UNDEF: what was undefined (may be NULL) */
    } u;
} jv;

typedef struct jlist {
    size_t n, cap;
    jv *v;
} jlist;

typedef struct jdict {
    size_t n, cap;
    jv *k, *v;
} jdict;

typedef struct jbound {
    jv self;
    const char *name;
} jbound;

typedef struct jloop {
    jlist *items;
    size_t i;
    int depth;
} jloop;

/* ---- tokens ---- */
enum {
    TK_EOF, TK_DATA, TK_VAR_BEGIN, TK_VAR_END, TK_BLOCK_BEGIN, TK_BLOCK_END,
    TK_NAME, TK_STRING, TK_INT, TK_FLOAT, TK_OP
};
typedef struct jtok {
    int type;
    int line, col;
    const char *s; /* data, name, decoded string, or op text (NUL-terminated) */
    size_t len;
    int64_t i;
    double f;
} jtok;
typedef struct jtoks {
    jtok *v;
    size_t n, cap;
} jtoks;
bool jinja_lex(jarena *a, const char *src, size_t len, jtoks *out, lf_error *err);

/* ---- tree ---- */
enum {
    /* statements */
    N_TEXT, N_OUTPUT, N_IF, N_FOR, N_SET, N_SET_BLOCK, N_MACRO, N_FILTER_BLOCK, N_BREAK,
    N_CONTINUE, N_BODY,
    /* expressions */
    E_CONST, E_NAME, E_ATTR, E_ITEM, E_SLICE, E_CALL, E_FILTER, E_TEST, E_BIN, E_NEG, E_POS,
    E_NOT, E_AND, E_OR, E_COND, E_LIST, E_TUPLE, E_DICT, E_COMPARE
};
enum {
    OP_ADD = 1, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN
};
typedef struct jnode {
    int kind, op;
    int line, col;
    const char *name;             /* identifier, filter/test/attr name */
    jv cval;                      /* E_CONST */
    struct jnode *a, *b, *c;      /* children */
    struct jnode **list;          /* args / items / body / dict keys */
    int n;
    struct jnode **list2;         /* kwarg values / else body / dict values */
    int n2;
    const char **names;           /* kwarg names / targets / params */
    int nn;
    int *ops;                     /* E_COMPARE: operators */
} jnode;

struct lf_jinja {
    jarena ar;
    jnode *root;
};
bool jinja_parse_tokens(jarena *a, jtoks *t, jnode **root, lf_error *err);

/* ---- render state ---- */
typedef struct jbuf {
    char *p;
    size_t n, cap;
} jbuf;

typedef struct jscope {
    struct jscope *parent;
    size_t n, cap;
    const char **names;
    jv *vals;
} jscope;

typedef struct jr {
    jarena ar;
    jmp_buf jb;
    lf_error *err;
    bool raised;
    size_t max_output;
    int max_depth, depth, eval_depth;
    int64_t max_steps, steps;
    int64_t now;
    jdict *ctx;
    int loopctl; /* 1 break, 2 continue */
} jr;

_Noreturn void jerr(jr *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* value.c */
jv jv_undef(const char *name);
jv jv_none(void);
jv jv_bool(bool b);
jv jv_int(int64_t i);
jv jv_float(double f);
jv jv_str(jr *R, const char *s, size_t n);
jv jv_cstr(jr *R, const char *s);
jv jv_list(jr *R, size_t cap);
jv jv_dict(jr *R, size_t cap);
void jl_push(jr *R, jlist *l, jv x);
void jd_set(jr *R, jdict *d, jv k, jv v);
jv *jd_get(const jdict *d, jv k);
jv *jd_gets(const jdict *d, const char *k);
bool jv_truthy(jv x);
bool jv_eq(jv a, jv b);
int jv_cmp(jr *R, jv a, jv b); /* errors when not orderable */
const char *jv_typename(jv x);
void jb_add(jr *R, jbuf *b, const char *s, size_t n);
void jb_addc(jr *R, jbuf *b, char c);
void jb_str(jr *R, jbuf *b, jv x);  /* Python str() */
void jb_repr(jr *R, jbuf *b, jv x); /* Python repr() */
jv jv_tostr(jr *R, jv x);
jv jb_take(jr *R, jbuf *b);
int64_t js_ncp(jstr *s);
size_t js_cp_off(jstr *s, int64_t cp); /* byte offset of code point cp (clamped) */
void jb_float(jbuf *tmp, jr *R, double f); /* Python repr of a float */
bool jv_is_str(jv x);
jlist *jv_iter(jr *R, jv x); /* list to iterate (strings: chars, dicts: keys) */

/* json_print.c */
jv jv_from_json(jr *R, const json_t *j);
void jb_tojson(jr *R, jbuf *b, jv x, int indent, bool ensure_ascii, bool sort_keys,
               const char *item_sep, const char *key_sep, int level);

/* eval.c */
jv jeval(jr *R, jscope *S, const jnode *e);
void jexec_body(jr *R, jscope *S, jnode **body, int n, jbuf *out);
jv jcall_value(jr *R, jv f, jv *args, int nargs, const char **kwn, jv *kwv, int nkw);
void jstep(jr *R);

/* filters.c */
jv jfilter(jr *R, jscope *S, const char *name, jv x, jv *args, int nargs, const char **kwn,
           jv *kwv, int nkw);
bool jtest(jr *R, jscope *S, const char *name, jv x, jv *args, int nargs);

/* methods.c */
bool jmethod_exists(jv self, const char *name);
jv jmethod(jr *R, jv self, const char *name, jv *args, int nargs, const char **kwn, jv *kwv,
           int nkw);
bool jglobal(jr *R, const char *name, jv *out);
jv jcall_global(jr *R, int fn, jv *args, int nargs, const char **kwn, jv *kwv, int nkw);
jv jattr(jr *R, jv obj, const char *name); /* a.b */
jv jstr_strip(jr *R, jv s, jv chars, int which); /* which: 1 left, 2 right, 3 both */
jv jstr_replace(jr *R, jv s, jv old, jv new_, int64_t count);
jv jstr_case(jr *R, jv s, int mode); /* 0 lower, 1 upper, 2 title, 3 capitalize */
jv jstr_splitlines(jr *R, jv s, bool keepends);
jv jitem(jr *R, jv obj, jv key);           /* a[k] */

#endif
