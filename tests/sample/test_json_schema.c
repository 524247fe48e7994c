/* test_json_schema.c — JSON Schema → GBNF: the rules made for each keyword
 * (golden snippets), and the errors: unsupported keywords named with their
 * place, bad JSON, bad and cyclic $refs. */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
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

    expect_error("unsupported keyword named with its path",
                 "{\"properties\":{\"tags\":{\"type\":\"array\",\"uniqueItems\":true}}}",
                 "at #/properties/tags: unsupported keyword \"uniqueItems\"");
    expect_error("unsupported keyword in anyOf",
                 "{\"anyOf\":[{\"type\":\"null\"},{\"not\":{}}]}",
                 "at #/anyOf/1: unsupported keyword \"not\"");
    expect_error("bad JSON", "{\"type\": \"object\",", "schema is not valid JSON");
    expect_error("a schema that is not an object", "[1,2]", "must be an object or a boolean");
    expect_error("remote $ref", "{\"$ref\":\"https://example.com/s.json\"}",
                 "unsupported $ref \"https://example.com/s.json\"");
    expect_error("dangling $ref", "{\"items\":{\"$ref\":\"#/$defs/missing\"}}",
                 "at #/items: $ref \"#/$defs/missing\" points at nothing");
    expect_error("a loop of bare $refs",
                 "{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},"
                 "\"$ref\":\"#/$defs/a\"}",
                 "cyclic $ref");
    expect_error("a self-including allOf stops", 
                 "{\"$defs\":{\"a\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}",
                 "nested too deeply");
    expect_error("unsupported regex feature",
                 "{\"type\":\"string\",\"pattern\":\"^(?=a)b$\"}", "lookaround");
    expect_error("backreference", "{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}",
                 "unsupported escape");
    expect_error("minItems above maxItems", "{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}",
                 "minItems is above maxItems");
    expect_error("empty integer range", "{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}",
                 "no integer lies within the bounds");
    expect_error("enum with nothing of the type",
                 "{\"type\":\"string\",\"enum\":[1,2]}", "no value of \"enum\" fits");
    expect_error("false schema", "{\"properties\":{\"a\":false},\"required\":[\"a\"]}",
                 "at #/properties/a: the schema false matches nothing");

    TEST_BEGIN("deep nesting is an error, not a crash");
    {
        static char deep[20000];
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
    return test_summary();
}
