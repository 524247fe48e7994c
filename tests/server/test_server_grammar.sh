#!/bin/bash
# llamafile --server: constrained output. llama-server's `grammar` (GBNF)
# and `json_schema` on /completion, /v1/completions and
# /v1/chat/completions, OpenAI's response_format (json_object, json_schema,
# and llama-server's json_object with a schema). A random-weight model
# writes garbage, so only the grammar makes the output valid: each answer
# must parse and validate against its schema (python3-jsonschema), at
# temperature 0 and at temperature 1 with several seeds. Bad grammars and
# schemas are 400s that name the problem.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
V=$SHARED/vocab/ggml-vocab-qwen2.gguf
Q3=$SHARED/templates/Qwen-Qwen3-0.6B.jinja
for f in "$V" "$Q3"; do [ -e "$f" ] || { skip "server grammar" "no $f"; exit 0; }; done
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server grammar" "needs curl and jq"; exit 0; }
need_jsonschema "server grammar"
"$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 151936 --n-embd 64 \
  --chat-template "$Q3" "$TMP/q3.gguf" >/dev/null 2>&1 || { fail "mkmodel" "cannot write the test model"; exit 1; }
M=$TMP/q3.gguf
start_server g -np 2 -c 2048 || { fail "server starts" "no startup line"; exit 1; }


SCHEMA='{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":12},
  "age":{"type":"integer","minimum":0,"maximum":150},"color":{"enum":["red","green","blue"]},
  "tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":3},
  "ok":{"type":"boolean"}},"required":["name","age","color"],"additionalProperties":false}'
SCHEMA=$(echo "$SCHEMA" | jq -c .)
CHAT='"messages":[{"role":"user","content":"A person as JSON"}],"max_tokens":400'

# GBNF on the native endpoint, whole and streamed
post /completion '{"prompt":"Is it?","grammar":"root ::= \"yes\" | \"no\"","n_predict":20,"temperature":0}' >/dev/null
expect "/completion grammar: the answer is one of its strings, then EOS" \
  '(.content == "yes" or .content == "no") and .stop_type == "eos"'
post /completion '{"prompt":"Is it?","grammar":"root ::= \"yes\" | \"no\"","n_predict":20,"temperature":1,"seed":7,"stream":true}' >"$TMP/sse"
got=$(sse_json "$TMP/sse" | jq -rs 'map(.content) | add')
[ "$got" = yes ] || [ "$got" = no ] && pass "/completion grammar streamed" || fail "/completion grammar streamed" "$got"
post /completion '{"prompt":"x","grammar":"root ::= [0-9]{3} \"-\" [a-c]+","n_predict":30,"temperature":1,"seed":3}' >/dev/null
expect "/completion grammar with repetition and classes" '.content | test("^[0-9]{3}-[a-c]+$")'

# json_schema (llama-server) on both completion endpoints
post /completion "{\"prompt\":\"x\",\"json_schema\":$SCHEMA,\"n_predict\":400,\"temperature\":0}" >/dev/null
validate "/completion json_schema validates" "$SCHEMA" "$(jq -r .content "$TMP/body")"
post /v1/completions "{\"prompt\":\"x\",\"json_schema\":$SCHEMA,\"max_tokens\":400,\"temperature\":0}" >/dev/null
validate "/v1/completions json_schema validates" "$SCHEMA" "$(jq -r '.choices[0].text' "$TMP/body")"

# response_format on chat: json_schema (OpenAI), json_object with a schema
# (llama-server), json_object alone
RF="{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\",\"strict\":true,\"schema\":$SCHEMA}}"
post /v1/chat/completions "{$CHAT,\"temperature\":0,\"response_format\":$RF}" >/dev/null
validate "chat response_format json_schema validates" "$SCHEMA" "$(jq -r '.choices[0].message.content' "$TMP/body")"
for seed in 1 2 3 4 5; do
  post /v1/chat/completions "{$CHAT,\"temperature\":1,\"seed\":$seed,\"response_format\":$RF}" >/dev/null
  validate "chat json_schema at temperature 1, seed $seed" "$SCHEMA" "$(jq -r '.choices[0].message.content' "$TMP/body")"
done
post /v1/chat/completions "{$CHAT,\"temperature\":0,\"response_format\":{\"type\":\"json_object\",\"schema\":$SCHEMA}}" >/dev/null
validate "chat response_format json_object with a schema validates" "$SCHEMA" "$(jq -r '.choices[0].message.content' "$TMP/body")"
post /v1/chat/completions "{$CHAT,\"temperature\":0,\"response_format\":{\"type\":\"json_object\"}}" >/dev/null
txt=$(jq -r '.choices[0].message.content' "$TMP/body")
if [ "$(jq -r '.choices[0].finish_reason' "$TMP/body")" = stop ]; then
  validate "chat response_format json_object: an object" '{"type":"object"}' "$txt"
else # cut off by max_tokens: the start of an object
  case "$txt" in "{"*) pass "chat response_format json_object: an object (cut off)";; *) fail "json_object" "$txt";; esac
fi
post /v1/chat/completions "{$CHAT,\"temperature\":0,\"json_schema\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":9},\"minItems\":2,\"maxItems\":4}}" >/dev/null
validate "chat json_schema (llama-server's field) validates" '{"type":"array","items":{"type":"integer","minimum":1,"maximum":9},"minItems":2,"maxItems":4}' \
  "$(jq -r '.choices[0].message.content' "$TMP/body")"

# errors: 400 naming the problem, and the server still serves
post /completion '{"prompt":"x","grammar":"root ::= foo"}' >/dev/null
expect_status "a grammar with an undefined rule: 400" 400 '(.error.message | test("grammar.*undefined rule .foo.")) and .error.type == "invalid_request_error"'
post /v1/completions '{"prompt":"x","grammar":"root ::= (\"a\""}' >/dev/null
expect_status "a grammar syntax error: 400 with line:column" 400 '.error.message | test("gbnf:1:[0-9]+")'
post /completion '{"prompt":"x","grammar":"root ::= root \"a\""}' >/dev/null
expect_status "a left-recursive grammar: 400" 400 '.error.message | test("grammar")'
post /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"array\",\"uniqueItems\":true}}}}" >/dev/null
expect_status "an unsupported schema keyword: 400 naming it" 400 '.error.message | test("uniqueItems")'
post /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\"}}}" >/dev/null
expect_status "json_schema without a schema: 400" 400 '.error.message | test("json_schema.schema")'
post /v1/chat/completions "{$CHAT,\"response_format\":{\"type\":\"yaml\"}}" >/dev/null
expect_status "an unknown response_format type: 400" 400 '.error.message | test("response_format")'
post /completion '{"prompt":"x","grammar":"root ::= \"a\"","json_schema":{"type":"object"}}' >/dev/null
expect_status "grammar and json_schema together: 400" 400 '.error.message | test("only one")'
post /completion '{"prompt":"x","json_schema":"{}"}' >/dev/null
expect_status "json_schema not an object: 400" 400 '.error.message | test("json_schema")'
post /completion '{"prompt":"x","grammar":5}' >/dev/null
expect_status "grammar not a string: 400" 400 '.error.message | test("grammar")'
post /completion '{"prompt":"x","n_predict":3}' >/dev/null
expect_status "still serving after the errors" 200 '.tokens_predicted == 3'
post /v1/chat/completions '{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"text"},"max_tokens":3}' >/dev/null
expect_status "response_format text: unconstrained" 200 '.usage.completion_tokens == 3'
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
