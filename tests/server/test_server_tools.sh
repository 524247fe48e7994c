#!/bin/bash
# llamafile --server: `tools`, `tool_choice`, `parallel_tool_calls` on
# /v1/chat/completions. Random-weight models with real templates: Qwen3's
# (hermes: <tool_call>{...}</tool_call>), Llama 3.1's (llama3: a bare
# {"name", "parameters"}) and none (stories260K: the ChatML fallback, the
# generic {"tool_calls": [...]}). Their output is garbage, so only the
# grammar makes a call valid: tool_choice "required" and a named function
# must give calls whose arguments validate (python3-jsonschema); "auto"
# gets a lazy grammar in hermes (forced to open a call with a logit bias,
# the call must still validate); streamed deltas add up to the whole
# answer, the arguments in several chunks (eager streaming under a
# grammar); tool results go back through the template. Anthropic's
# /v1/messages with the same tools (tool_use blocks, input_json_delta, the
# round trip). Then the official clients: `openai` (tests/js/tools_client.mjs)
# and `@anthropic-ai/sdk` (tests/js/anthropic_client.mjs).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
V=$SHARED/vocab/ggml-vocab-qwen2.gguf
VL=$SHARED/vocab/ggml-vocab-llama-bpe.gguf
Q3=$SHARED/templates/Qwen-Qwen3-0.6B.jinja
L3=$SHARED/templates/meta-llama-Llama-3.1-8B-Instruct.jinja
S=$M
for f in "$V" "$VL" "$Q3" "$L3" "$S"; do [ -e "$f" ] || { skip "server tools" "no $f"; exit 0; }; done
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server tools" "needs curl and jq"; exit 0; }
need_jsonschema "server tools"
mk() { "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$1" --n-vocab "$2" --n-embd 64 --chat-template "$3" "$4" >/dev/null 2>&1; }
mk "$V" 151936 "$Q3" "$TMP/q3.gguf" && mk "$VL" 128256 "$L3" "$TMP/l3.gguf" ||
  { fail "mkmodel" "cannot write the test models"; exit 1; }


WEATHER='{"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":16},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}'
TIME='{"type":"object","properties":{"zone":{"enum":["UTC","CET","PST"]}},"required":["zone"],"additionalProperties":false}'
TOOLS="[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\",\"parameters\":$WEATHER}},
  {\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":$TIME}}]"
TOOLS=$(echo "$TOOLS" | jq -c .)
ASK0="\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],\"tools\":$TOOLS"
ASK="$ASK0,\"max_tokens\":300,\"temperature\":0,\"seed\":9"
# call_ok NAME [JQ]: one call, content null, finish tool_calls, arguments
# valid for the named tool.
call_ok() {
  if jq -e '.choices[0].finish_reason == "tool_calls" and .choices[0].message.content == null
       and (.choices[0].message.tool_calls | length) >= 1
       and all(.choices[0].message.tool_calls[]; (.id | test("^call_")) and .type == "function")' "$TMP/body" >/dev/null &&
     { [ -z "$2" ] || jq -e "$2" "$TMP/body" >/dev/null; }; then
    pass "$1: the call's shape"
  else
    fail "$1: the call's shape" "status $(status): $(head -c 400 "$TMP/body")"; return
  fi
  local n i name args
  n=$(jq '.choices[0].message.tool_calls | length' "$TMP/body")
  for ((i = 0; i < n; i++)); do
    name=$(jq -r ".choices[0].message.tool_calls[$i].function.name" "$TMP/body")
    args=$(jq -r ".choices[0].message.tool_calls[$i].function.arguments" "$TMP/body")
    case $name in
      get_weather) validate "$1: call $i's arguments validate" "$WEATHER" "$args";;
      get_time) validate "$1: call $i's arguments validate" "$TIME" "$args";;
      *) fail "$1: call $i" "unknown function $name";;
    esac
  done
}

M=$TMP/q3.gguf
start_server q3 -np 2 -c 2048 || { fail "server starts" "no startup line"; exit 1; }
post /v1/chat/completions "{$ASK,\"tool_choice\":\"required\",\"parallel_tool_calls\":false}" >/dev/null
call_ok "hermes, required" '(.choices[0].message.tool_calls | length) == 1'
cp "$TMP/body" "$TMP/whole.json"
post /v1/chat/completions "{$ASK,\"tool_choice\":\"required\",\"parallel_tool_calls\":false,\"stream\":true}" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
if jq -s -e --slurpfile one "$TMP/whole.json" '
     ([.[] | .choices[0].delta.tool_calls // empty | .[]]) as $d
     | ($d | map(select(.id)) | .[0]) as $first
     | $first.function.arguments == "" and $first.type == "function" and $first.index == 0
     and ($d | map(select(.id == null and (.function.arguments | length) > 0)) | length) > 1
     and ([{id: $first.id, type: "function", function: {name: $first.function.name,
            arguments: ($d | map(.function.arguments) | add)}}] == $one[0].choices[0].message.tool_calls)
     and .[-1].choices[0].finish_reason == "tool_calls"' "$TMP/chunks" >/dev/null; then
  pass "hermes, streamed: index, id, type, name (arguments \"\") first, then arguments in several chunks; the same call as whole"
else
  fail "hermes streamed" "$(head -c 600 "$TMP/chunks")"
fi
# a grammar of the request's own holds nothing to calls: a call is sent once complete
G='root ::= "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>"'
post /v1/chat/completions "$(jq -c --arg g "$G" '.grammar = $g | .stream = true' <<<"{$ASK,\"tool_choice\":\"required\"}")" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
if jq -s -e '[.[] | .choices[0].delta.tool_calls // empty | .[] | select(.id == null) | .function.arguments]
     == ["{\"zone\": \"UTC\"}"]' "$TMP/chunks" >/dev/null; then
  pass "required with the request's own grammar, streamed: the arguments in one chunk once the call is complete"
else
  fail "required with the request's own grammar, streamed" "$(head -c 600 "$TMP/chunks")"
fi
post /v1/chat/completions "{$ASK,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}}" >/dev/null
call_ok "hermes, a named function" 'all(.choices[0].message.tool_calls[]; .function.name == "get_time")'
post /v1/chat/completions "{$ASK0,\"max_tokens\":300,\"temperature\":1,\"seed\":4,\"tool_choice\":\"required\",\"parallel_tool_calls\":false}" >/dev/null
call_ok "hermes, required at temperature 1" '(.choices[0].message.tool_calls | length) == 1'
# auto: the model opens a call (<tool_call> pushed by a logit bias); the
# lazy grammar holds the rest of it to the schemas
BIAS='"logit_bias":{"151657":100},"parallel_tool_calls":false'
post /v1/chat/completions "{$ASK,$BIAS}" >/dev/null
call_ok "hermes, auto: a call it opens is valid (lazy grammar)" '(.choices[0].message.tool_calls | length) == 1'
post /v1/chat/completions "{$ASK,$BIAS,\"tool_choice\":\"none\"}" >/dev/null
expect "tool_choice none: no parsing, no grammar" '(.choices[0].message | has("tool_calls") | not) and (.choices[0].message.content | startswith("<tool_call>"))'
post /v1/chat/completions "{$ASK0,\"max_tokens\":8,\"temperature\":0}" >/dev/null
expect "auto, no call: content, finish length" '(.choices[0].message | has("tool_calls") | not) and (.choices[0].message.content | length) > 0 and .choices[0].finish_reason == "length"'
# the round trip: the assistant's call (content null) and the tool's result
MSGS='[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":1}"}}]},{"role":"tool","tool_call_id":"call_1","content":"{\"temp_c\":21}"}]'
post /apply-template "{\"messages\":$MSGS,\"tools\":$TOOLS}" >/dev/null
expect "the call and the tool result rendered by the template" '.prompt | contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\",\"days\":1}}\n</tool_call>") and contains("<tool_response>\n{\"temp_c\":21}\n</tool_response>")'
post /v1/chat/completions "{\"messages\":$MSGS,\"tools\":$TOOLS,\"max_tokens\":6,\"temperature\":0}" >/dev/null
expect_status "round trip: the answer after the tool result" 200 '(.choices[0].message.content | length) > 0 and .usage.completion_tokens == 6'
# errors
post /v1/chat/completions "{$ASK,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}" >/dev/null
expect_status "tool_choice naming a missing function: 400" 400 '.error.message | test("nope")'
post /v1/chat/completions "{$ASK,\"tool_choice\":\"sometimes\"}" >/dev/null
expect_status "an unknown tool_choice: 400" 400 '.error.message | test("tool_choice")'
post /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"tool_choice":"required"}' >/dev/null
expect_status "required without tools: 400" 400 '.error.message | test("tools")'
post /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"parameters":{}}}]}' >/dev/null
expect_status "a tool without a name: 400" 400 '.error.message | test("tools.\\[0\\]")'
post /v1/chat/completions '{"messages":[{"role":"user","content":"x"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"array","uniqueItems":true}}}}}]}' >/dev/null
expect_status "a tool schema the grammar cannot express: 400 naming the keyword" 400 '.error.message | test("uniqueItems")'
post /v1/chat/completions "{$ASK,\"parallel_tool_calls\":3}" >/dev/null
expect_status "parallel_tool_calls not a boolean: 400" 400 '.error.message | test("parallel_tool_calls")'

# Anthropic's /v1/messages: the same tools as {name, description,
# input_schema}, calls as tool_use blocks, streamed as input_json_delta.
ATOOLS=$(jq -c '[.[] | {name: .function.name} + (.function | if .description then {description} else {} end)
  + {input_schema: .function.parameters}]' <<<"$TOOLS")
AASK0="\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],\"temperature\":0"
AASK="$AASK0,\"tools\":$ATOOLS,\"max_tokens\":300"
# use_ok NAME [JQ]: tool_use blocks only, stop_reason tool_use, each input valid for its tool.
use_ok() {
  if jq -e '.stop_reason == "tool_use" and (.content | length) >= 1
       and all(.content[]; .type == "tool_use" and (.id | test("^call_")) and (.input | type) == "object")' "$TMP/body" >/dev/null &&
     { [ -z "$2" ] || jq -e "$2" "$TMP/body" >/dev/null; }; then
    pass "$1: tool_use blocks, stop_reason tool_use"
  else
    fail "$1: tool_use blocks" "status $(status): $(head -c 400 "$TMP/body")"; return
  fi
  local n i
  n=$(jq '.content | length' "$TMP/body")
  for ((i = 0; i < n; i++)); do
    case $(jq -r ".content[$i].name" "$TMP/body") in
      get_weather) validate "$1: block $i's input validates" "$WEATHER" "$(jq -c ".content[$i].input" "$TMP/body")";;
      get_time) validate "$1: block $i's input validates" "$TIME" "$(jq -c ".content[$i].input" "$TMP/body")";;
      *) fail "$1: block $i" "unknown tool $(jq -r ".content[$i].name" "$TMP/body")";;
    esac
  done
}
post /v1/messages "{$AASK,\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true}}" >/dev/null
use_ok "messages, any" '(.content | length) == 1'
cp "$TMP/body" "$TMP/whole.json"
post /v1/messages "{$AASK,\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},\"stream\":true}" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
if jq -s -e --slurpfile one "$TMP/whole.json" '
     (map(select(.type == "content_block_start")) | map(.content_block)) as $starts
     | (map(select(.type == "content_block_delta")) | map(.delta)) as $d
     | $starts == [{type: "tool_use", id: $starts[0].id, name: $one[0].content[0].name, input: {}}]
     and ($starts[0].id | test("^call_"))
     and all($d[]; .type == "input_json_delta") and ($d | length) > 1
     and ($d | map(.partial_json) | add | fromjson) == $one[0].content[0].input
     and (map(select(.type == "message_delta")) | .[0].delta.stop_reason) == "tool_use"
     and .[-1].type == "message_stop"' "$TMP/chunks" >/dev/null; then
  pass "messages, streamed: one tool_use block, its input in several input_json_delta chunks, the same call as whole"
else
  fail "messages streamed" "$(head -c 800 "$TMP/chunks")"
fi
post /v1/messages "{$AASK,\"tool_choice\":{\"type\":\"tool\",\"name\":\"get_time\"}}" >/dev/null
use_ok "messages, a named tool" 'all(.content[]; .name == "get_time")'
post /v1/messages "{$AASK0,\"tools\":$ATOOLS,\"tool_choice\":{\"type\":\"none\"},\"max_tokens\":8}" >/dev/null
expect "messages, tool_choice none: text only" '.stop_reason == "max_tokens" and (.content | map(.type)) == ["text"]'
# the round trip renders as the chat request does: the same prompt tokens
AMSGS='[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris","days":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"{\"temp_c\":21}"}]}]}]'
post /v1/chat/completions "{\"messages\":$MSGS,\"tools\":$TOOLS,\"max_tokens\":1}" >/dev/null
want=$(jq .usage.prompt_tokens "$TMP/body")
post /v1/messages/count_tokens "{\"messages\":$AMSGS,\"tools\":$ATOOLS}" >/dev/null
expect_status "messages round trip: tool_use and tool_result render as the chat request's call and result (count_tokens, no max_tokens)" 200 ".input_tokens == $want"
post /v1/messages "{\"messages\":$AMSGS,\"tools\":$ATOOLS,\"max_tokens\":6,\"temperature\":0}" >/dev/null
expect_status "messages round trip: an answer after the tool result" 200 '.usage.input_tokens == '"$want"' and .usage.output_tokens == 6'
post /v1/messages "{$AASK0,\"max_tokens\":5,\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]}" >/dev/null
expect_status "messages: a server tool is refused (400)" 400 '.type == "error" and (.error.message | test("tools\\[0\\]"))'
post /v1/messages '{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"x","name":"f","input":{}}]}]}' >/dev/null
expect_status "messages: tool_use from the user: 400 naming the block" 400 '.error.message | test("messages\\[0\\].content\\[0\\]")'
post /v1/messages "{$AASK,\"tool_choice\":{\"type\":\"maybe\"}}" >/dev/null
expect_status "messages: an unknown tool_choice: 400" 400 '.error.message | test("tool_choice")'
post /v1/messages "{$AASK,\"tool_choice\":{\"type\":\"tool\",\"name\":\"nope\"}}" >/dev/null
expect_status "messages: tool_choice naming a missing tool: 400" 400 '.type == "error" and (.error.message | test("nope"))'

JS_DIR=$(cd "$(dirname "$0")/../js" && pwd)
if ! command -v node >/dev/null; then
  skip "tools client" "no node"
elif [ ! -e "$JS_DIR/node_modules/openai/package.json" ]; then
  skip "tools client" "no $JS_DIR/node_modules/openai (run build/setup-tests.sh)"
else
  BASE_URL=$URL/v1 API_KEY=none JS_DIR=$JS_DIR PY=$PY timeout 180 node "$JS_DIR/tools_client.mjs"
  rc=$?
  [ $rc = 0 ] || [ $rc = 1 ] || fail "tools client script" "exit status $rc"
fi
if ! command -v node >/dev/null; then
  skip "anthropic client" "no node"
elif [ ! -e "$JS_DIR/node_modules/@anthropic-ai/sdk/package.json" ]; then
  skip "anthropic client" "no $JS_DIR/node_modules/@anthropic-ai/sdk (run build/setup-tests.sh)"
else
  ANTHROPIC_URL=$URL JS_DIR=$JS_DIR PY=$PY timeout 180 node "$JS_DIR/anthropic_client.mjs"
  rc=$?
  [ $rc = 0 ] || [ $rc = 1 ] || fail "anthropic client script" "exit status $rc"
fi
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"

# llama3: a bare {"name", "parameters"} object
M=$TMP/l3.gguf
start_server l3 -np 1 -c 2048 || { fail "server starts (llama3)" "no startup line"; exit 1; }
post /v1/chat/completions "{$ASK,\"tool_choice\":\"required\"}" >/dev/null
call_ok "llama3, required" '(.choices[0].message.tool_calls | length) == 1'
stop_server "$SPID"

# generic (no template: the ChatML fallback): {"tool_calls": [...]}
M=$S
start_server gen -np 1 -c 512 || { fail "server starts (generic)" "no startup line"; exit 1; }
post /v1/chat/completions "{$ASK,\"tool_choice\":\"required\",\"parallel_tool_calls\":false}" >/dev/null
call_ok "generic, required" '(.choices[0].message.tool_calls | length) == 1'
stop_server "$SPID"
