/* grammar.c — a GBNF grammar of each family's tool-call syntax, with the
 * arguments held to the tools' `parameters` (lf_json_schema_value_to_gbnf,
 * one conversion per tool, its rules renamed "tN-..." so several tools'
 * grammars live side by side). Every text the grammar allows is read back
 * by that family's parser (toolcall.c) as the calls it spells: the shapes
 * below are the parsers' own (json_families.c, xml_families.c, gpt_oss.c)
 * in the spacing the models write. Markers are text literals, as the
 * server shows output text; gpt-oss's harmony markers are token
 * references. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/toolcall/toolcall.h"

typedef struct gb {
    char *p;
    size_t n, cap;
    bool oom;
} gb;

static void put(gb *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(gb *b, const char *s) { put(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void pf(gb *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof tmp) {
        b->oom = true; /* our formats are short; a long one is a bug, not input */
        return;
    }
    put(b, tmp, (size_t)k);
}

/* s[0..n) as a GBNF string literal. */
static void lit(gb *b, const char *s, size_t n) {
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(b, "\\", 1), put(b, s + i, 1);
        else if (c == '\n')
            put(b, "\\n", 2);
        else if (c == '\t')
            put(b, "\\t", 2);
        else if (c < 0x20 || c == 0x7f)
            pf(b, "\\x%02X", c);
        else
            put(b, s + i, 1);
    }
    put(b, "\"", 1);
}

static void lits(gb *b, const char *s) { lit(b, s, strlen(s)); }

/* Appends a converter's grammar with every rule name prefixed: rule names
 * are the runs of [A-Za-z0-9_-] outside literals, classes and {m,n}. */
static void add_prefixed(gb *b, const char *g, const char *prefix) {
    for (const char *p = g; *p && !b->oom;) {
        char c = *p;
        if (c == '"' || c == '[') {
            char close = c == '"' ? '"' : ']';
            const char *q = p + 1;
            while (*q && *q != close)
                q += q[0] == '\\' && q[1] ? 2 : 1;
            if (*q)
                q++;
            put(b, p, (size_t)(q - p));
            p = q;
        } else if (c == '{') {
            const char *q = strchr(p, '}');
            q = q ? q + 1 : p + strlen(p);
            put(b, p, (size_t)(q - p));
            p = q;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-') {
            const char *q = p;
            while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                   (*q >= '0' && *q <= '9') || *q == '_' || *q == '-')
                q++;
            puts_(b, prefix);
            put(b, p, (size_t)(q - p));
            p = q;
        } else {
            put(b, p, 1);
            p++;
        }
    }
    if (b->n && b->p[b->n - 1] != '\n')
        put(b, "\n", 1);
}

/* ---- the tools ---- */

/* A name the parsers read back (as name_ok in common.c), and for
 * Functionary v3.2 an identifier. */
static bool name_fits(lf_toolcall_format f, const char *s) {
    size_t n = strlen(s);
    if (!n || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || strchr("<>\"'{}[]", c))
            return false;
        if (f == LF_TOOLCALL_FUNCTIONARY_V3_2 &&
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return !(f == LF_TOOLCALL_FUNCTIONARY_V3_2 && !strcmp(s, "all")); /* "all" is content */
}

/* ---- Qwen3-Coder's parameters ----
 * <parameter=P>\nVALUE\n</parameter>: the parser keeps a VALUE that is
 * JSON as that JSON and makes anything else a string. A string property's
 * value is raw text that is not JSON (it must not start with a digit, '-',
 * quote, bracket or space unless it cannot be read as JSON, and it is not
 * true/false/null) and holds no "</"; other properties are JSON. */
static const char QC_RULES[] =
    "tc-qs ::= [^<{\\[\"0-9tfn \\t\\n\\r-] tc-qr | tc-qnum | tc-qkw-t | tc-qkw-f | tc-qkw-n\n"
    "tc-qr ::= ([^<] | \"<\" [^/])*\n"
    "tc-qnum ::= [0-9-] [0-9.eE+-]* [ \\t]* [^0-9.eE+< \\t\\n\\r-] tc-qr\n"
    "tc-qkw-t ::= \"t\" | \"t\" [^r<] tc-qr | \"tr\" | \"tr\" [^u<] tc-qr | \"tru\" | "
    "\"tru\" [^e<] tc-qr | \"true\" [ \\t]* [^< \\t\\n\\r] tc-qr\n"
    "tc-qkw-f ::= \"f\" | \"f\" [^a<] tc-qr | \"fa\" | \"fa\" [^l<] tc-qr | \"fal\" | "
    "\"fal\" [^s<] tc-qr | \"fals\" | \"fals\" [^e<] tc-qr | \"false\" [ \\t]* [^< \\t\\n\\r] "
    "tc-qr\n"
    "tc-qkw-n ::= \"n\" | \"n\" [^u<] tc-qr | \"nu\" | \"nu\" [^l<] tc-qr | \"nul\" | "
    "\"nul\" [^l<] tc-qr | \"null\" [ \\t]* [^< \\t\\n\\r] tc-qr\n";

/* A property name the parser reads back from <parameter=NAME> (valid
 * UTF-8 is checked by the caller). */
static bool qc_param_name_ok(const char *k) {
    if (!*k || strlen(k) > 256)
        return false;
    for (const char *p = k; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>')
            return false;
    return true;
}

/* The parameters of tool i as a run of <parameter=...> blocks (rule
 * "tI-qc"); false with err for a schema it cannot convert or a required
 * property it cannot write. */
static bool qc_params(gb *b, int i, const json_t *params, lf_error *err) {
    const json_t *props = json_object_get(params, "properties");
    const json_t *req = json_object_get(params, "required");
    pf(b, "t%d-qc ::=", i);
    const char *k;
    json_t *v;
    int j = 0;
    gb rules = {0};
    bool ok = true;
    json_object_foreach((json_t *)props, k, v) {
        bool required = false;
        for (size_t r = 0; r < json_array_size(req); r++)
            required |= json_is_string(json_array_get(req, r)) &&
                        !strcmp(json_string_value(json_array_get(req, r)), k);
        json_t *probe = json_stringn(k, strlen(k));
        bool name_ok = probe && qc_param_name_ok(k);
        json_decref(probe);
        if (!name_ok) {
            if (required) {
                snprintf(err->msg, sizeof err->msg,
                         "the required parameter \"%.80s\" cannot be written as <parameter=...>", k);
                ok = false;
                break;
            }
            continue;
        }
        const json_t *type = json_object_get(v, "type");
        bool raw = json_is_string(type) && !strcmp(json_string_value(type), "string") &&
                   !json_object_get(v, "enum") && !json_object_get(v, "const");
        if (!raw) { /* the property's schema, with the tool's definitions for its $refs */
            json_t *s = json_is_object(v) ? json_copy((json_t *)v) : json_deep_copy(v);
            if (json_is_object(s))
                for (int d = 0; d < 2; d++) {
                    const char *dk = d ? "definitions" : "$defs";
                    if (json_object_get(params, dk) && !json_object_get(s, dk))
                        json_object_set(s, dk, json_object_get(params, dk));
                }
            char *g = s ? lf_json_schema_value_to_gbnf(s, err) : NULL;
            if (!s)
                snprintf(err->msg, sizeof err->msg, "out of memory");
            json_decref(s);
            if (!g) {
                ok = false;
                break;
            }
            char prefix[32];
            snprintf(prefix, sizeof prefix, "t%d-p%d-", i, j);
            add_prefixed(&rules, g, prefix);
            free(g);
        }
        puts_(b, " (\"<parameter=\" ");
        lits(b, k);
        puts_(b, " \">\\n\" ");
        if (raw)
            puts_(b, "tc-qs");
        else
            pf(b, "t%d-p%d-root", i, j);
        puts_(b, " \"\\n</parameter>\\n\")");
        if (!required)
            puts_(b, "?");
        j++;
    }
    if (!j)
        puts_(b, " \"\"");
    puts_(b, "\n");
    if (rules.p)
        put(b, rules.p, rules.n);
    b->oom |= rules.oom;
    free(rules.p);
    return ok;
}

/* gpt-oss: harmony's <|end|>, <|call|>... may be text tokens of the
 * vocabulary, and inside a JSON string they would still end the message,
 * so its strings hold no '<' (a JSON "\u003c" still can). The converter's
 * `char` class is edited in place: its \x7F (DEL, which JSON allows
 * unescaped and the parsers do not mind) becomes \x3C ('<'). */
static const char CHAR_CLASS[] = "[^\"\\\\\\x7F\\x00-\\x1F]";

static void no_angle_in_strings(char *g) {
    for (char *p = strstr(g, CHAR_CLASS); p; p = strstr(p + 1, CHAR_CLASS))
        memcpy(strstr(p, "\\x7F"), "\\x3C", 4);
}

/* ---- the families ---- */

static const char *trigger_of(lf_toolcall_format f) {
    switch (f) {
    case LF_TOOLCALL_HERMES:
    case LF_TOOLCALL_QWEN3_CODER:
        return "<tool_call>";
    case LF_TOOLCALL_MISTRAL:
        return "[TOOL_CALLS]";
    case LF_TOOLCALL_GRANITE:
        return "<|tool_call|>";
    case LF_TOOLCALL_DEEPSEEK:
        return "<｜tool▁calls▁begin｜>";
    case LF_TOOLCALL_FUNCTIONARY_V3_1:
        return "<function=";
    case LF_TOOLCALL_FIREFUNCTION_V2:
        return "functools[";
    case LF_TOOLCALL_COMMAND_R7B:
        return "<|START_ACTION|>";
    default:
        return NULL;
    }
}

#define DS_CALL "<｜tool▁call▁begin｜>"
#define DS_SEP "<｜tool▁sep｜>"
#define DS_CALL_END "<｜tool▁call▁end｜>"

/* tc-call-I: one call of tool t (number i) in family f. */
static void call_rule(gb *b, lf_toolcall_format f, int variant, int i, const char *name) {
    json_t *nj = json_string(name);
    char *njs = nj ? json_dumps(nj, JSON_ENCODE_ANY) : NULL;
    json_decref(nj);
    if (!njs) {
        b->oom = true;
        return;
    }
    pf(b, "tc-call-%d ::= ", i);
    const char *key = "arguments";
    switch (f) {
    case LF_TOOLCALL_QWEN3_CODER:
        puts_(b, "\"<tool_call>\\n<function=\" ");
        lits(b, name);
        pf(b, " \">\\n\" t%d-qc \"</function>\\n</tool_call>\"", i);
        break;
    case LF_TOOLCALL_MISTRAL:
        if (variant) { /* [TOOL_CALLS]NAME[ARGS]{...} */
            puts_(b, "\"[TOOL_CALLS]\" ");
            lits(b, name);
            pf(b, " \"[ARGS]\" t%d-root", i);
            break;
        }
        puts_(b, "\"{\" tc-sp \"\\\"name\\\":\" tc-sp ");
        lits(b, njs);
        pf(b, " tc-sp \",\" tc-sp \"\\\"arguments\\\":\" tc-sp t%d-root \",\" tc-sp "
              "\"\\\"id\\\":\" tc-sp \"\\\"\" [a-zA-Z0-9]{9} \"\\\"\" tc-sp \"}\"",
           i);
        break;
    case LF_TOOLCALL_COMMAND_R7B:
        puts_(b, "\"{\" tc-sp \"\\\"tool_call_id\\\":\" tc-sp \"\\\"\" [0-9]{1,10} \"\\\"\" tc-sp "
                 "\",\" tc-sp \"\\\"tool_name\\\":\" tc-sp ");
        lits(b, njs);
        pf(b, " tc-sp \",\" tc-sp \"\\\"parameters\\\":\" tc-sp t%d-root \"}\"", i);
        break;
    case LF_TOOLCALL_DEEPSEEK:
        if (variant) { /* V3.1: NAME<sep>{...} */
            puts_(b, "\"" DS_CALL "\" ");
            lits(b, name);
            pf(b, " \"" DS_SEP "\" t%d-root \"" DS_CALL_END "\"", i);
        } else { /* R1: function<sep>NAME\n```json\n{...}\n``` */
            puts_(b, "\"" DS_CALL "function" DS_SEP "\" ");
            lits(b, name);
            pf(b, " \"\\n```json\\n\" t%d-root \"\\n```" DS_CALL_END "\"", i);
        }
        break;
    case LF_TOOLCALL_FUNCTIONARY_V3_1:
        puts_(b, "\"<function=\" ");
        lits(b, name);
        pf(b, " \">\" t%d-root \"</function>\"", i);
        break;
    case LF_TOOLCALL_FUNCTIONARY_V3_2:
        lits(b, name);
        pf(b, " \"\\n\" t%d-root", i);
        break;
    case LF_TOOLCALL_GPT_OSS:
        puts_(b, "<|channel|> \"commentary to=functions.\" ");
        lits(b, name);
        pf(b, " \" \" <|constrain|> \"json\" <|message|> t%d-root <|call|>", i);
        break;
    case LF_TOOLCALL_LLAMA3:
        key = "parameters";
        /* fall through */
    default: /* {"name": N, KEY: {...}} */
        puts_(b, "\"{\" tc-sp \"\\\"name\\\":\" tc-sp ");
        lits(b, njs);
        pf(b, " tc-sp \",\" tc-sp \"\\\"%s\\\":\" tc-sp t%d-root \"}\"", key, i);
    }
    puts_(b, "\n");
    free(njs);
}

/* tc-root: the whole answer, from calls (rule tc-call); think: after
 * reasoning text closed by </think> (the prompt opened <think>). */
static void root_rule(gb *b, lf_toolcall_format f, int variant, bool parallel, bool think) {
    const char *list = parallel ? "\"[\" tc-sp tc-call (\",\" tc-sp tc-call)* \"]\""
                                : "\"[\" tc-sp tc-call \"]\"";
    if (think)
        puts_(b, "tc-root ::= tc-reason \"</think>\" [ \\n]{0,4} tc-calls\n"
                 "tc-reason ::= ([^<] | \"<\" [^/])*\n");
    else
        puts_(b, "tc-root ::= tc-calls\n");
    puts_(b, "tc-calls ::= ");
    switch (f) {
    case LF_TOOLCALL_HERMES:
        puts_(b, parallel ? "tc-one (\"\\n\" tc-one)*\n" : "tc-one\n");
        puts_(b, "tc-one ::= \"<tool_call>\\n\" tc-call \"\\n</tool_call>\"");
        break;
    case LF_TOOLCALL_QWEN3_CODER:
        puts_(b, parallel ? "tc-call (\"\\n\" tc-call)*" : "tc-call");
        break;
    case LF_TOOLCALL_LLAMA3:
        puts_(b, parallel ? "tc-call (\";\" tc-sp tc-call)*" : "tc-call");
        break;
    case LF_TOOLCALL_MISTRAL:
        if (variant)
            puts_(b, parallel ? "tc-call (tc-sp tc-call)*" : "tc-call");
        else
            pf(b, "\"[TOOL_CALLS]\" %s", list);
        break;
    case LF_TOOLCALL_GRANITE:
        pf(b, "\"<|tool_call|>\" %s", list);
        break;
    case LF_TOOLCALL_FIREFUNCTION_V2:
        pf(b, "\"functools\" %s", list);
        break;
    case LF_TOOLCALL_COMMAND_R7B:
        pf(b, "\"<|START_ACTION|>\" %s \"<|END_ACTION|>\"", list);
        break;
    case LF_TOOLCALL_DEEPSEEK:
        puts_(b, parallel ? "\"<｜tool▁calls▁begin｜>\" tc-call (\"\\n\" tc-call)* "
                            "\"<｜tool▁calls▁end｜>\""
                          : "\"<｜tool▁calls▁begin｜>\" tc-call \"<｜tool▁calls▁end｜>\"");
        break;
    case LF_TOOLCALL_FUNCTIONARY_V3_1:
        puts_(b, parallel ? "tc-call (tc-sp tc-call)*" : "tc-call");
        break;
    case LF_TOOLCALL_FUNCTIONARY_V3_2:
        puts_(b, parallel ? "tc-call (\">>>\" tc-call)*" : "tc-call");
        break;
    case LF_TOOLCALL_GPT_OSS: /* one call ends the turn (<|call|> stops generation) */
        puts_(b, "tc-analysis? tc-call\n");
        puts_(b, "tc-analysis ::= <|channel|> \"analysis\" <|message|> tc-text <|end|> <|start|> "
                 "\"assistant\"\n");
        puts_(b, "tc-text ::= ([^<] | \"<\" [^|])*");
        break;
    default: /* generic */
        pf(b, "\"{\" tc-sp \"\\\"tool_calls\\\":\" tc-sp %s tc-sp \"}\"", list);
    }
    puts_(b, "\ntc-sp ::= | \" \" | \"\\n\" [ \\t]{0,20}\n");
}

bool lf_toolcall_grammar(lf_toolcall_format f, const char *template_text, const char *tools_json,
                         const char *only, unsigned flags, lf_toolcall_gbnf *out,
                         lf_error *err) {
    memset(out, 0, sizeof *out);
    if ((unsigned)f >= LF_TOOLCALL_N_FORMATS) {
        snprintf(err->msg, sizeof err->msg, "tool grammar: unknown format %d", (int)f);
        return false;
    }
    bool lazy = flags & LF_TOOLCALL_GRAMMAR_LAZY, parallel = flags & LF_TOOLCALL_GRAMMAR_PARALLEL;
    bool think = (flags & LF_TOOLCALL_GRAMMAR_THINK) && !lazy && f != LF_TOOLCALL_GPT_OSS;
    if (lazy && (only || !trigger_of(f)))
        return true; /* auto: a grammar only where a call opens with a marker */
    json_error_t je;
    json_t *tools = json_loads(tools_json ? tools_json : "", 0, &je);
    if (!json_is_array(tools)) {
        json_decref(tools);
        snprintf(err->msg, sizeof err->msg, "tool grammar: 'tools' is not a JSON array");
        return false;
    }
    json_t *any_object = json_pack("{s:s}", "type", "object");
    int variant = 0;
    if (f == LF_TOOLCALL_MISTRAL)
        variant = template_text && strstr(template_text, "[ARGS]") != NULL;
    if (f == LF_TOOLCALL_DEEPSEEK)
        variant = template_text && !strstr(template_text, "```json");
    gb b = {0};
    bool ok = any_object != NULL;
    int n = 0;
    for (size_t k = 0; ok && k < json_array_size(tools); k++) {
        const json_t *fn = json_object_get(json_array_get(tools, k), "function");
        const char *name = json_string_value(json_object_get(fn, "name"));
        if (!name || (only && strcmp(name, only)) || !name_fits(f, name))
            continue;
        const json_t *params = json_object_get(fn, "parameters");
        if (!json_is_object(params))
            params = any_object;
        if (f == LF_TOOLCALL_QWEN3_CODER) {
            ok = qc_params(&b, n, params, err);
        } else {
            char *g = lf_json_schema_value_to_gbnf(params, err), prefix[24];
            ok = g != NULL;
            if (g && f == LF_TOOLCALL_GPT_OSS)
                no_angle_in_strings(g);
            snprintf(prefix, sizeof prefix, "t%d-", n);
            if (g)
                add_prefixed(&b, g, prefix);
            free(g);
        }
        if (!ok) {
            char m[400];
            snprintf(m, sizeof m, "%.399s", err->msg);
            snprintf(err->msg, sizeof err->msg, "tool \"%.64s\": %.399s", name, m);
            break;
        }
        call_rule(&b, f, variant, n, name);
        n++;
    }
    if (ok && !n) {
        snprintf(err->msg, sizeof err->msg, "no tool%s can be called in %s's syntax",
                 only ? " of that name" : "", lf_toolcall_format_name(f));
        ok = false;
    }
    if (ok) {
        puts_(&b, "tc-call ::=");
        for (int i = 0; i < n; i++)
            pf(&b, "%s tc-call-%d", i ? " |" : "", i);
        puts_(&b, "\n");
        if (f == LF_TOOLCALL_QWEN3_CODER)
            puts_(&b, QC_RULES);
        root_rule(&b, f, variant, parallel, think);
    }
    json_decref(tools);
    json_decref(any_object);
    if (ok && b.oom) {
        snprintf(err->msg, sizeof err->msg, "tool grammar: out of memory");
        ok = false;
    }
    if (!ok) {
        free(b.p);
        return false;
    }
    out->gbnf = b.p;
    out->root = "tc-root";
    out->trigger = lazy ? trigger_of(f) : NULL;
    out->tokens = f == LF_TOOLCALL_GPT_OSS;
    return true;
}

void lf_toolcall_gbnf_free(lf_toolcall_gbnf *g) {
    if (g) {
        free(g->gbnf);
        memset(g, 0, sizeof *g);
    }
}
