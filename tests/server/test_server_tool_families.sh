#!/bin/bash
# llamafile --server: tool_choice "required" in the families beyond
# hermes / llama3 / generic (test_server_tools.sh has those). A
# random-weight model per family with that family's real template: its
# output is garbage, so only the family's grammar (lf_toolcall_grammar)
# makes it a call; the answer must be finish_reason "tool_calls" with one
# call whose arguments validate (python3-jsonschema). Logit biases on "\n"
# and "</" end Qwen3-Coder's raw string values and DeepSeek-R1's reasoning
# soon (with enable_thinking its prompt opens <think>, so the grammar puts
# the call after </think>, and the reasoning splitter takes that part).
# gpt-oss is left out: its calls are read from harmony tokens, another
# part's job; tests/text/test_toolcall_grammar.c checks its grammar.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
V=$SHARED/vocab/ggml-vocab-gpt-2.gguf
T=$SHARED/templates
[ -e "$V" ] || { skip "server tool families" "no $V"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server tool families" "needs curl and jq"; exit 0; }
need_jsonschema "server tool families"


WEATHER='{"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":16},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}'
# Qwen3-Coder's raw string values are not held to the string's length
WEATHER_QC='{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}'
TIME='{"type":"object","properties":{"zone":{"enum":["UTC","CET","PST"]}},"required":["zone"],"additionalProperties":false}'
tools() {
  jq -nc --argjson w "$1" --argjson t "$TIME" '[{type:"function",function:{name:"get_weather",description:"Weather",parameters:$w}},
    {type:"function",function:{name:"get_time",description:"Time",parameters:$t}}]'
}

# token ID of TEXT when it is one token, else nothing
tok_id() {
  post /tokenize "$(jq -nc --arg t "$1" '{content:$t}')" >/dev/null
  jq -r 'if (.tokens | length) == 1 then .tokens[0] else empty end' "$TMP/body" 2>/dev/null
}

# family LABEL TEMPLATE WEATHER_SCHEMA [named] [KWARGS]: one server, one
# required call
family() {
  local label=$1 tmpl=$T/$2.jinja w=$3 named=$4 kwargs=${5:-null}
  [ -e "$tmpl" ] || { skip "$label" "no $tmpl"; return; }
  "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 50257 --n-embd 64 \
    --chat-template "$tmpl" "$TMP/m.gguf" >/dev/null 2>&1 || { fail "$label: mkmodel" "cannot write the model"; return; }
  M=$TMP/m.gguf
  start_server "$2" -np 1 -c 2048 || { fail "$label: server starts" "no startup line"; return; }
  local nl lt bias='{}' choice='"required"'
  nl=$(tok_id $'\n') lt=$(tok_id '</')
  [ -n "$nl" ] && [ -n "$lt" ] && bias="{\"$nl\":30,\"$lt\":60}"
  [ -n "$named" ] && choice='{"type":"function","function":{"name":"get_time"}}'
  local body
  body=$(jq -nc --argjson tools "$(tools "$w")" --argjson bias "$bias" --argjson choice "$choice" \
    --argjson kw "$kwargs" \
    '{messages:[{role:"user",content:"Weather in Paris?"}],tools:$tools,tool_choice:$choice,
      parallel_tool_calls:false,max_tokens:400,temperature:0,seed:3,logit_bias:$bias}
     + (if $kw then {chat_template_kwargs:$kw} else {} end)')
  post /v1/chat/completions "$body" >/dev/null
  if jq -e '.choices[0].finish_reason == "tool_calls" and (.choices[0].message.tool_calls | length) == 1
       and (.choices[0].message.tool_calls[0].id | test("^call_"))' "$TMP/body" >/dev/null 2>&1; then
    pass "$label: required gives one call, finish_reason tool_calls"
    [ "$kwargs" = '{"enable_thinking":true}' ] && expect "$label: </think> taken by the reasoning splitter, no content" \
      '.choices[0].message.content == null'
    local name args
    name=$(jq -r '.choices[0].message.tool_calls[0].function.name' "$TMP/body")
    args=$(jq -r '.choices[0].message.tool_calls[0].function.arguments' "$TMP/body")
    case $name in
      get_weather) [ -z "$named" ] && validate "$label: the arguments validate" "$w" "$args" ||
                     fail "$label: the named function" "called get_weather";;
      get_time) validate "$label: the arguments validate" "$TIME" "$args";;
      *) fail "$label: the call" "unknown function $name";;
    esac
  else
    fail "$label: required gives one call" "status $(status): $(head -c 500 "$TMP/body")"
  fi
  stop_server "$SPID"
  [ "$RC" = 0 ] || fail "$label: server exit" "$RC"
}

family "qwen3-coder" Qwen3-Coder "$WEATHER_QC"
family "mistral (Nemo)" mistralai-Mistral-Nemo-Instruct-2407 "$WEATHER"
family "mistral ([ARGS])" unsloth-mistral-Devstral-Small-2507 "$WEATHER" named
family "granite" ibm-granite-granite-3.3-2B-Instruct "$WEATHER"
# (enable_thinking: the prompt ends in "<think>\n", the grammar starts with
# reasoning and </think>)
family "deepseek (R1, after </think>)" deepseek-ai-DeepSeek-R1-Distill-Qwen-32B "$WEATHER" "" \
  '{"enable_thinking":true}'
family "functionary-v3.1" meetkai-functionary-medium-v3.1 "$WEATHER"
family "functionary-v3.2" meetkai-functionary-medium-v3.2 "$WEATHER"
# (its template reads `functions` and `datetime`, which the server sets
# from the tools and the clock, as llama.cpp does)
family "firefunction-v2" fireworks-ai-llama-3-firefunction-v2 "$WEATHER"
family "command-r7b" CohereForAI-c4ai-command-r7b-12-2024-tool_use "$WEATHER" named
