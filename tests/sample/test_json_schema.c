/* test_json_schema.c — JSON Schema → GBNF: the rules made for each keyword
 * (golden snippets, each grammar parsed by the grammar engine), documents
 * the grammars accept and refuse (through lf_grammar_check; integer bounds
 * checked value by value), and the errors: unsupported keywords named with
 * their place, bad JSON, bad and cyclic $refs. */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "base/alloc.h"
#include "llamafile.h"

/* The grammar for schema, or NULL with the error in e. */
static char *conv(const char *schema, lf_error *e) {
    memset(e, 0, sizeof *e);
    return lf_json_schema_to_gbnf(schema, e);
}

/* The grammar has every line of want (each "rule ::= body"). */
static void expect_rules(const char *name, const char *schema, const char *const *want) {
    TEST_BEGIN(name);
    lf_error e;
    char *g = conv(schema, &e);
    EXPECT(g, "conversion failed: %s", e.msg);
    lf_grammar *gr = g ? lf_grammar_new(NULL, g, NULL, &e) : NULL;
    EXPECT(!g || gr, "the grammar does not parse: %s\n%s", e.msg, g);
    lf_grammar_free(gr);
    for (int i = 0; g && want[i]; i++) {
        const char *p = strstr(g, want[i]);
        bool line = p && (p == g || p[-1] == '\n') && p[strlen(want[i])] == '\n';
        EXPECT(line, "no line \"%s\" in:\n%s", want[i], g);
    }
    free(g);
    TEST_END();
}

static void expect_error(const char *name, const char *schema, const char *want) {
    TEST_BEGIN(name);
    lf_error e;
    char *g = conv(schema, &e);
    EXPECT(!g, "converted, expected an error with \"%s\":\n%s", want, g ? g : "");
    EXPECT(g || strstr(e.msg, want), "error \"%s\" lacks \"%s\"", e.msg, want);
    free(g);
    TEST_END();
}

/* Whether schema's grammar matches doc whole (-1: no grammar). */
static int accepts(const char *schema, const char *doc) {
    lf_error e;
    char *g = conv(schema, &e);
    if (!g) {
        printf("# %s\n", e.msg);
        return -1;
    }
    int r = lf_grammar_check(g, NULL, doc, strlen(doc), &e);
    if (r < 0)
        printf("# %s\n", e.msg);
    free(g);
    return r == LF_GRAMMAR_COMPLETE;
}

typedef struct {
    const char *doc;
    int want;
} doc_case;

static void expect_docs(const char *name, const char *schema, const doc_case *cs) {
    TEST_BEGIN(name);
    for (int i = 0; cs[i].doc; i++) {
        int got = accepts(schema, cs[i].doc);
        EXPECT(got == cs[i].want, "%s: got %d, want %d", cs[i].doc, got, cs[i].want);
    }
    TEST_END();
}

/* Every integer from lo - 40 to hi + 40 is accepted exactly when the
 * schema's bounds allow it. */
static void expect_int_range(const char *bounds, long lo, long hi) {
    char name[160], schema[160], doc[32];
    snprintf(name, sizeof name, "integers %s: each value from %ld to %ld", bounds, lo - 40,
             hi + 40);
    snprintf(schema, sizeof schema, "{\"type\":\"integer\",%s}", bounds);
    TEST_BEGIN(name);
    lf_error e;
    char *g = conv(schema, &e);
    EXPECT(g, "conversion failed: %s", e.msg);
    for (long v = lo - 40; g && v <= hi + 40; v++) {
        snprintf(doc, sizeof doc, "%ld", v);
        int r = lf_grammar_check(g, NULL, doc, strlen(doc), &e);
        EXPECT((r == LF_GRAMMAR_COMPLETE) == (v >= lo && v <= hi), "%ld: got %d in\n%s", v, r,
               g);
    }
    free(g);
    TEST_END();
}

int main(void) {
    expect_rules("any value", "{}",
                 (const char *const[]){
                     "root ::= value",
                     "value ::= object | array | string | number | boolean | null",
                     "space ::= | \" \" | \"\\n\" [ \\t]{0,20}", NULL});
    expect_rules("any object", "{\"type\":\"object\"}",
                 (const char *const[]){
                     "root ::= \"{\" space (root-additional-kv (\",\" space "
                     "root-additional-kv)*)? \"}\" space",
                     "root-additional-kv ::= string \":\" space value", NULL});
    expect_rules("object: required first, optional after, no others",
                 "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},"
                 "\"b\":{\"type\":\"null\"}},\"required\":[\"b\"]}",
                 (const char *const[]){
                     "root ::= \"{\" space root-b-kv (\",\" space root-a-kv)? \"}\" space",
                     "root-a-kv ::= \"\\\"a\\\"\" space \":\" space boolean",
                     "root-b-kv ::= \"\\\"b\\\"\" space \":\" space null", NULL});
    expect_rules("object: nothing required, extra members of a schema",
                 "{\"properties\":{\"a\":{\"type\":\"boolean\"}},"
                 "\"additionalProperties\":{\"type\":\"integer\"}}",
                 (const char *const[]){
                     "root ::= \"{\" space (root-a-kv (\",\" space root-additional-kv)* | "
                     "root-additional-kv (\",\" space root-additional-kv)*)? \"}\" space",
                     "root-additional-kv ::= string \":\" space integer", NULL});
    expect_rules("strings: lengths and formats",
                 "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\",\"minLength\":2,"
                 "\"maxLength\":4},{\"format\":\"date-time\",\"type\":\"string\"},"
                 "{\"type\":\"string\",\"format\":\"uuid\"},{\"type\":\"string\","
                 "\"format\":\"email\"}]}",
                 (const char *const[]){
                     "root ::= \"[\" space root-0 \",\" space root-1 \",\" space root-2 \",\" "
                     "space string \"]\" space",
                     "root-0 ::= \"\\\"\" char{2,4} \"\\\"\" space",
                     "root-1 ::= \"\\\"\" date-time \"\\\"\" space",
                     "date-time ::= date \"T\" time", NULL});
    expect_rules("integers within bounds, digit by digit",
                 "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\",\"minimum\":13,"
                 "\"maximum\":271},{\"type\":\"integer\",\"exclusiveMinimum\":-10,"
                 "\"exclusiveMaximum\":10},{\"type\":\"integer\",\"minimum\":100}]}",
                 (const char *const[]){
                     "root-0 ::= ((\"1\" [3-9] | [2-9] [0-9]) | (\"1\" [0-9]{2} | \"2\" "
                     "([0-6] [0-9] | \"7\" [0-1]))) space",
                     "root-1 ::= (\"-\" ([1-9]) | [0-9]) space",
                     "root-2 ::= ([1-9] [0-9]{2,14}) space", NULL});
    expect_rules("numbers within bounds: fractions stay inside",
                 "{\"type\":\"number\",\"minimum\":-2,\"maximum\":3}",
                 (const char *const[]){
                     "root ::= (\"-\" ([1-2]) | [0-3] | ([0-2]) \".\" [0-9]{1,15} | \"-\" "
                     "([0-1]) \".\" [0-9]{1,15}) space", NULL});
    expect_rules("enum, const and type arrays",
                 "{\"anyOf\":[{\"enum\":[\"x\",1,null,{\"k\":[true]}]},{\"const\":\"q\\\"\"},"
                 "{\"type\":[\"integer\",\"null\"]},{\"type\":\"string\",\"enum\":[\"s\",2]}]}",
                 (const char *const[]){
                     "root ::= root-0 | root-1 | root-2 | root-3",
                     "root-0 ::= (\"\\\"x\\\"\" space | \"1\" space | \"null\" space | "
                     "\"{\\\"k\\\":[true]}\" space)",
                     "root-1 ::= (\"\\\"q\\\\\\\"\\\"\" space)",
                     "root-2 ::= (integer | null)",
                     "root-3 ::= (\"\\\"s\\\"\" space)", NULL});
    expect_rules("arrays: items, counts, prefixItems",
                 "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":"
                 "{\"type\":\"boolean\"},\"minItems\":1,\"maxItems\":3},\"b\":{\"type\":"
                 "\"array\",\"prefixItems\":[{\"type\":\"null\"}],\"items\":{\"type\":"
                 "\"boolean\"},\"maxItems\":2},\"c\":{\"prefixItems\":[{\"type\":\"null\"}]}},"
                 "\"required\":[\"a\",\"b\",\"c\"]}",
                 (const char *const[]){
                     "root-a ::= \"[\" space boolean (\",\" space boolean){0,2} \"]\" space",
                     "root-b ::= \"[\" space null (\",\" space boolean){0,1} \"]\" space",
                     "root-c ::= \"[\" space null \"]\" space", NULL});
    expect_rules("recursion through $defs is a named rule",
                 "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":"
                 "\"#/$defs/node\"}}}},\"$ref\":\"#/$defs/node\"}",
                 (const char *const[]){
                     "root ::= node",
                     "node ::= \"{\" space (node-next-kv)? \"}\" space",
                     "node-next-kv ::= \"\\\"next\\\"\" space \":\" space node", NULL});
    expect_rules("a $ref's rule survives the rule table growing under it",
                 "{\"$defs\":{\"d\":{\"type\":\"array\",\"prefixItems\":[{\"enum\":[1]},"
                 "{\"enum\":[2]},{\"enum\":[3]},{\"enum\":[4]},{\"enum\":[5]},{\"enum\":[6]},"
                 "{\"enum\":[7]},{\"enum\":[8]},{\"enum\":[9]},{\"enum\":[10]},{\"enum\":[11]},"
                 "{\"enum\":[12]},{\"enum\":[13]},{\"enum\":[14]},{\"enum\":[15]},{\"enum\":[16]},"
                 "{\"enum\":[17]}]}},\"$ref\":\"#/$defs/d\"}",
                 (const char *const[]){
                     "root ::= d",
                     "d ::= \"[\" space d-0 \",\" space d-1 \",\" space d-2 \",\" space d-3 \",\" "
                     "space d-4 \",\" space d-5 \",\" space d-6 \",\" space d-7 \",\" space d-8 \",\" "
                     "space d-9 \",\" space d-10 \",\" space d-11 \",\" space d-12 \",\" space d-13 "
                     "\",\" space d-14 \",\" space d-15 \",\" space d-16 \"]\" space", NULL});
    expect_rules("$ref to the root, definitions",
                 "{\"definitions\":{\"leaf\":{\"type\":\"null\"}},\"type\":\"array\",\"items\":"
                 "{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/leaf\"}]},"
                 "\"maxItems\":2}",
                 (const char *const[]){
                     "root ::= \"[\" space (root-item (\",\" space root-item){0,1})? \"]\" space",
                     "root-item ::= root | leaf", "leaf ::= null", NULL});
    expect_rules("allOf merges, anyOf siblings distribute",
                 "{\"allOf\":[{\"properties\":{\"a\":{\"type\":\"null\"}},\"required\":[\"a\"]},"
                 "{\"properties\":{\"b\":{\"type\":\"null\"}},\"required\":[\"b\"]}]}",
                 (const char *const[]){
                     "root ::= \"{\" space root-a-kv \",\" space root-b-kv \"}\" space", NULL});
    expect_rules("pattern: classes, escapes, groups, counts",
                 "{\"type\":\"string\",\"pattern\":\"^(?:[A-Z]\\\\d{2,}|x.\\\"?)+$\"}",
                 (const char *const[]){
                     "root ::= \"\\\"\" (([A-Z] [0-9]{2,} | \"x\" ([ -!#-\\[\\]-\\uD7FF\\uE000-\\U0010FFFF] | "
                     "\"\\\\\\\"\" | \"\\\\\\\\\" | \"\\\\t\" | \"\\\\r\") \"\\\\\\\"\"?)+) \"\\\"\" "
                     "space", NULL});
    expect_rules("pattern: a negated class keeps JSON's escapes",
                 "{\"type\":\"string\",\"pattern\":\"^[^a-z]{3}$\"}",
                 (const char *const[]){
                     "root ::= \"\\\"\" (([ -!#-\\[\\]-`{-\\uD7FF\\uE000-\\U0010FFFF] | \"\\\\\\\"\" | "
                     "\"\\\\\\\\\" | \"\\\\n\" | \"\\\\t\" | \"\\\\r\"){3}) \"\\\"\" space",
                     NULL});

    expect_docs("object: required, optional, order, whitespace, no others",
                 "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\","
                 "\"maxLength\":4},\"age\":{\"type\":\"integer\"}},\"required\":[\"name\"],"
                 "\"additionalProperties\":false}",
                 (const doc_case[]){{"{\"name\":\"Al\",\"age\":30}", 1},
                                    {"{ \"name\" : \"Al\" }", 1},
                                    {"{\"name\":\"Al\",\n  \"age\": -3}", 1},
                                    {"{\"age\":30}", 0},
                                    {"{\"name\":\"Alice\"}", 0},
                                    {"{\"name\":\"Al\",\"x\":1}", 0},
                                    {"{\"name\":\"Al\",}", 0},
                                    {"{\"name\":\"Al\"}                        ", 0},
                                    {NULL, 0}});
    expect_docs("any value, any object", "{\"anyOf\":[{},{\"type\":\"object\"}]}",
                 (const doc_case[]){{"[1, {\"a\": null}, \"x\\u00e9\", -2.5e3, true]", 1},
                                    {"{\"k\":{\"k\":[]}}", 1},
                                    {"\"\\ud800\"", 0},
                                    {"\"tab\there\"", 0},
                                    {"[1,]", 0},
                                    {NULL, 0}});
    expect_docs("object: nothing required, extra members of a schema",
                 "{\"properties\":{\"a\":{\"type\":\"boolean\"}},"
                 "\"additionalProperties\":{\"type\":\"integer\"}}",
                 (const doc_case[]){{"{}", 1}, {"{\"a\":true}", 1}, {"{\"z\":1,\"y\":2}", 1},
                                    {"{\"a\":false,\"z\":1}", 1}, {"{\"z\":true}", 0},
                                    {NULL, 0}});
    expect_int_range("\"minimum\":13,\"maximum\":271", 13, 271);
    expect_int_range("\"minimum\":-271,\"maximum\":-13", -271, -13);
    expect_int_range("\"exclusiveMinimum\":-6,\"exclusiveMaximum\":6", -5, 5);
    expect_int_range("\"minimum\":-1000,\"maximum\":999", -1000, 999);
    expect_int_range("\"minimum\":0,\"maximum\":0", 0, 0);
    expect_int_range("\"minimum\":99.5,\"maximum\":1000", 100, 1000);
    expect_int_range("\"minimum\":-20,\"exclusiveMinimum\":-3,\"maximum\":-1", -2, -1);
    expect_docs("integers bounded on one side",
                 "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"integer\",\"minimum\":-7},"
                 "{\"type\":\"integer\",\"exclusiveMaximum\":120}]}",
                 (const doc_case[]){{"[-7,119]", 1}, {"[123456789012345,-123456789012345]", 1},
                                    {"[-8,0]", 0}, {"[0,120]", 0}, {"[05,1]", 0},
                                    {NULL, 0}});
    expect_docs("numbers within bounds",
                 "{\"type\":\"number\",\"minimum\":-2,\"maximum\":3}",
                 (const doc_case[]){{"2.5", 1}, {"3", 1}, {"-1.99", 1}, {"-2", 1}, {"0.0", 1},
                                    {"3.5", 0}, {"3.01", 0}, {"-2.5", 0}, {"4", 0}, {"1e2", 0},
                                    {NULL, 0}});
    expect_docs("strings: lengths count characters, escapes are one",
                 "{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}",
                 (const doc_case[]){{"\"ab\"", 1}, {"\"a\\\"c\"", 1}, {"\"\xc3\xa9t\xc3\xa9\"", 1},
                                    {"\"a\"", 0}, {"\"abcd\"", 0}, {NULL, 0}});
    expect_docs("formats",
                 "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\",\"format\":\"date\"},"
                 "{\"type\":\"string\",\"format\":\"time\"},{\"type\":\"string\",\"format\":"
                 "\"date-time\"},{\"type\":\"string\",\"format\":\"uuid\"}]}",
                 (const doc_case[]){
                     {"[\"2024-02-29\",\"23:59:60Z\",\"1999-12-31T00:00:00.5+01:00\","
                      "\"123e4567-e89b-12d3-a456-426614174000\"]", 0},
                     {"[\"2024-02-29\",\"23:59:59Z\",\"1999-12-31T00:00:00.5+01:00\","
                      "\"123e4567-e89b-12d3-a456-426614174000\"]", 1},
                     {"[\"2024-13-01\",\"23:59:59Z\",\"1999-12-31T00:00:00Z\","
                      "\"123e4567-e89b-12d3-a456-426614174000\"]", 0},
                     {"[\"2024-01-01\",\"23:59:59\",\"1999-12-31T00:00:00Z\","
                      "\"123e4567-e89b-12d3-a456-426614174000\"]", 0},
                     {NULL, 0}});
    expect_docs("pattern: the decoded text matches",
                 "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\",\"pattern\":"
                 "\"^[a-z]{1,3}(-\\\\d+)?$\"},{\"type\":\"string\",\"pattern\":"
                 "\"^[\\\"\\\\\\\\]{1,2}q$\"},{\"type\":\"string\",\"pattern\":\"^(?:yes|no)\\\\.?$\"}]}",
                 (const doc_case[]){{"[\"ab-12\",\"\\\"\\\\q\",\"yes.\"]", 1},
                                    {"[\"abc\",\"\\\\q\",\"no\"]", 1},
                                    {"[\"abcd\",\"q\",\"no\"]", 0},
                                    {"[\"ab-\",\"\\\"q\",\"no\"]", 0},
                                    {"[\"a\",\"\\\"q\",\"maybe\"]", 0},
                                    {NULL, 0}});
    expect_docs("pattern: - and ^ inside a class (fuzz_json_schema)",
                 "{\"type\":\"string\",\"pattern\":\"^[-,^]z$\"}",
                 (const doc_case[]){{"\"-z\"", 1}, {"\"^z\"", 1}, {"\",z\"", 1},
                                    {"\"az\"", 0}, {NULL, 0}});
    expect_docs("pattern: groups that can be empty, repeated a bounded number of times or "
                "with a part that cannot",
                 "{\"type\":\"string\",\"pattern\":\"^(a?){2,3}(b?c)+$\"}",
                 (const doc_case[]){{"\"c\"", 1}, {"\"aabcc\"", 1}, {"\"aaac\"", 1},
                                    {"\"aaaac\"", 0}, {"\"ab\"", 0}, {NULL, 0}});
    expect_docs("recursion, anyOf, oneOf, allOf, enum, const",
                 "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"v\":{\"enum\":"
                 "[1,\"two\",null]},\"next\":{\"$ref\":\"#/$defs/n\"}},\"required\":[\"v\"],"
                 "\"additionalProperties\":false}},\"allOf\":[{\"properties\":{\"list\":{\"$ref\":"
                 "\"#/$defs/n\"}},\"required\":[\"list\"]},{\"properties\":{\"c\":{\"const\":"
                 "{\"k\":[true]}},\"o\":{\"oneOf\":[{\"type\":\"null\"},{\"type\":\"array\","
                 "\"items\":{\"type\":\"boolean\"},\"minItems\":1,\"maxItems\":2}]}},"
                 "\"required\":[\"c\",\"o\"]}]}",
                 (const doc_case[]){
                     {"{\"list\":{\"v\":1,\"next\":{\"v\":\"two\",\"next\":{\"v\":null}}},"
                      "\"c\":{\"k\":[true]},\"o\":[true,false]}", 1},
                     {"{\"list\":{\"v\":1},\"c\":{\"k\":[true]},\"o\":null}", 1},
                     {"{\"list\":{\"v\":3},\"c\":{\"k\":[true]},\"o\":null}", 0},
                     {"{\"list\":{\"v\":1},\"c\":{\"k\":[false]},\"o\":null}", 0},
                     {"{\"list\":{\"v\":1},\"c\":{\"k\":[true]},\"o\":[]}", 0},
                     {"{\"list\":{\"v\":1},\"c\":{\"k\":[true]},\"o\":[true,true,true]}", 0},
                     {"{\"c\":{\"k\":[true]},\"o\":null}", 0},
                     {NULL, 0}});
    expect_docs("arrays: prefixItems, items false, minItems beyond the prefix",
                 "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"null\"},{\"type\":\"boolean\"}],"
                 "\"items\":{\"type\":\"integer\"},\"minItems\":3,\"maxItems\":4}",
                 (const doc_case[]){{"[null,true,1]", 1}, {"[null,true,1,2]", 1},
                                    {"[null,true]", 0}, {"[null,true,1,2,3]", 0},
                                    {"[true,null,1]", 0}, {NULL, 0}});

    expect_error("unsupported keyword named with its path",
                 "{\"properties\":{\"tags\":{\"type\":\"array\",\"uniqueItems\":true}}}",
                 "at #/properties/tags: unsupported keyword \"uniqueItems\"");
    expect_error("unsupported keyword in anyOf",
                 "{\"anyOf\":[{\"type\":\"null\"},{\"not\":{}}]}",
                 "at #/anyOf/1: unsupported keyword \"not\"");
    expect_error("bad JSON", "{\"type\": \"object\",", "schema is not valid JSON");
    expect_error("bad JSON quoted on one line (fuzz_json_schema)", "{\"a\":\"x\\\n\"}",
                 "invalid escape near '\"x\\ '");
    expect_error("a schema that is not an object", "[1,2]", "must be an object or a boolean");
    expect_error("remote $ref", "{\"$ref\":\"https://example.com/s.json\"}",
                 "unsupported $ref \"https://example.com/s.json\"");
    expect_error("dangling $ref", "{\"items\":{\"$ref\":\"#/$defs/missing\"}}",
                 "at #/items: $ref \"#/$defs/missing\" points at nothing");
    expect_error("a loop of bare $refs",
                 "{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},"
                 "\"$ref\":\"#/$defs/a\"}",
                 "cyclic $ref");
    expect_error("the root as its own $ref (fuzz_json_schema)",
                 "{\"$defs\":{\"n\":{\"type\":\"null\"}},\"$ref\":\"#\"}",
                 "the schema refers to itself before any text");
    expect_error("an anyOf that starts with the root",
                 "{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"null\"}]}",
                 "the schema refers to itself before any text");
    expect_error("a self-including allOf stops", 
                 "{\"$defs\":{\"a\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}",
                 "nested too deeply");
    expect_error("unsupported regex feature",
                 "{\"type\":\"string\",\"pattern\":\"^(?=a)b$\"}", "lookaround");
    expect_error("backreference", "{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}",
                 "unsupported escape");
    expect_error("an unbounded repeat of a group that can be empty (fuzz_json_schema)",
                 "{\"type\":\"string\",\"pattern\":\"^z(-?)+$\"}", "can match nothing");
    expect_error("the same through an empty alternative",
                 "{\"type\":\"string\",\"pattern\":\"^(a|b*){2,}$\"}", "can match nothing");
    expect_error("minItems above maxItems", "{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}",
                 "minItems is above maxItems");
    expect_error("empty integer range", "{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}",
                 "no integer lies within the bounds");
    expect_error("enum with nothing of the type",
                 "{\"type\":\"string\",\"enum\":[1,2]}", "no value of \"enum\" fits");
    expect_error("a name with a newline stays on one line (fuzz_json_schema)",
                 "{\"type\":\"boole\\n\"}", "unknown type \"boole \"");
    expect_error("false schema", "{\"properties\":{\"a\":false},\"required\":[\"a\"]}",
                 "at #/properties/a: the schema false matches nothing");

    TEST_BEGIN("deep nesting is an error, not a crash");
    {
        static char deep[2000 * 10 + 16]; /* 2000 openings of 9 bytes, "{}", 2000 closings */
        size_t n = 0;
        for (int i = 0; i < 2000; i++)
            n += (size_t)sprintf(deep + n, "{\"items\":");
        n += (size_t)sprintf(deep + n, "{}");
        for (int i = 0; i < 2000; i++)
            deep[n++] = '}';
        deep[n] = 0;
        lf_error e;
        char *g = conv(deep, &e);
        EXPECT(!g, "converted a 2000-deep schema");
        EXPECT(strstr(e.msg, "too deep") || strstr(e.msg, "not valid JSON"), "error: %s", e.msg);
        free(g);
    }
    TEST_END();
    TEST_BEGIN("each failed allocation is \"out of memory\"");
    {
        const char *schema = "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"a\":{"
                             "\"type\":\"string\",\"pattern\":\"^[a-z]+$\"},\"next\":{\"$ref\":"
                             "\"#/$defs/n\"}}}},\"allOf\":[{\"$ref\":\"#/$defs/n\"},{\"required\":"
                             "[\"a\"]}],\"properties\":{\"i\":{\"type\":\"integer\",\"minimum\":3}}}";
        int ok = 0;
        for (long n = 0; n < 40; n++) {
            lf_error e;
            lf_alloc_fail_after(n);
            char *g = conv(schema, &e);
            lf_alloc_fail_after(-1);
            EXPECT(g || !strcmp(e.msg, "out of memory"), "failing allocation %ld: %s", n, e.msg);
            ok += g != NULL;
            free(g);
        }
        EXPECT(ok > 0, "never converted with 40 allocations");
    }
    TEST_END();
    return test_summary();
}
