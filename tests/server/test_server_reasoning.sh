#!/bin/bash
# llamafile --server: reasoning_content on /v1/chat/completions for thinking
# models (the library's splitter, lf_reasoning). Random-weight models from
# llamafile-mkmodel with real templates: DeepSeek-R1's prompt opens <think>,
# so its whole (random) answer is reasoning; Qwen3's does not, so its answer
# is content. reasoning_format "none" leaves the answer whole; streamed
# deltas carry reasoning_content. gpt-oss (harmony): a grammar of harmony
# tokens makes the random model write an analysis then a final message,
# which come back as reasoning_content and content, whole and streamed;
# with tools, a call to functions.NAME comes back as tool_calls.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
V=$SHARED/vocab/ggml-vocab-llama-spm.gguf
R1=$SHARED/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja
Q3=$SHARED/templates/Qwen-Qwen3-0.6B.jinja
for f in "$V" "$R1" "$Q3"; do [ -e "$f" ] || { skip "server reasoning" "no $f"; exit 0; }; done
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server reasoning" "needs curl and jq"; exit 0; }
mk() { "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 32000 --n-embd 64 --chat-template "$1" "$2" >/dev/null 2>&1; }
mk "$R1" "$TMP/r1.gguf" && mk "$Q3" "$TMP/q3.gguf" || { fail "mkmodel" "cannot write the test models"; exit 1; }
CHAT='"messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"temperature":0'

M=$TMP/r1.gguf
start_server r1 -np 2 -c 1024 || { fail "server starts" "no startup line"; exit 1; }
post /v1/chat/completions "{$CHAT,\"reasoning_format\":\"none\"}" >/dev/null
expect "reasoning_format none: the answer whole, no reasoning_content" '(.choices[0].message | has("reasoning_content") | not) and (.choices[0].message.content | length) > 0'
whole=$(jq -c '.choices[0].message.content | sub("^\\s+"; "")' "$TMP/body")
post /v1/chat/completions "{$CHAT}" >/dev/null
expect "R1 (prompt opens <think>): the answer is reasoning_content" ".choices[0].message.content == \"\"
  and .choices[0].message.reasoning_content == $whole and .usage.completion_tokens == 12"
cp "$TMP/body" "$TMP/r1.json"
post /v1/chat/completions "{$CHAT,\"reasoning_format\":\"deepseek\"}" >/dev/null
expect "reasoning_format deepseek: the same" ".choices[0].message.reasoning_content == $whole"
post /v1/chat/completions "{$CHAT,\"stream\":true}" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
if jq -s -e --slurpfile one "$TMP/r1.json" '([.[] | .choices[0].delta.reasoning_content // empty] | add) == $one[0].choices[0].message.reasoning_content
     and ([.[] | .choices[0].delta.content // empty] | add // "") == ""
     and .[-1].choices[0].finish_reason == "length"' "$TMP/chunks" >/dev/null; then
  pass "streamed: delta.reasoning_content adds up to the same"
else
  fail "streamed reasoning" "$(head -c 400 "$TMP/chunks")"
fi
# Anthropic's /v1/messages: the reasoning as a thinking block
post /v1/messages '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"temperature":0}' >/dev/null
expect "/v1/messages: a thinking block, then the text" "(.content | map(.type)) == [\"thinking\",\"text\"]
  and .content[0].thinking == $whole and .content[1].text == \"\""
post /v1/messages '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"temperature":0,"stream":true}' >"$TMP/sse"
events=$(sed -n 's/^event: //p' "$TMP/sse" | uniq | tr '\n' ' ')
sse_json "$TMP/sse" >"$TMP/chunks"
if [ "$events" = "message_start ping content_block_start content_block_delta content_block_stop content_block_start content_block_stop message_delta message_stop " ] &&
   jq -s -e "([.[] | select(.type == \"content_block_delta\") | .delta.thinking] | add) == $whole
     and ([.[] | select(.type == \"content_block_start\") | [.index, .content_block.type]]) == [[0,\"thinking\"],[1,\"text\"]]
     and all(.[] | select(.type == \"content_block_delta\"); .index == 0 and .delta.type == \"thinking_delta\")" "$TMP/chunks" >/dev/null; then
  pass "/v1/messages streamed: thinking_delta events in block 0, an empty text block 1"
else
  fail "/v1/messages thinking stream" "$events $(head -c 300 "$TMP/chunks")"
fi
post /v1/chat/completions "{$CHAT,\"reasoning_format\":\"think\"}" >/dev/null
expect_status "an unknown reasoning_format: 400" 400 '(.error.message | test("reasoning_format"))'
post /v1/chat/completions "{$CHAT,\"reasoning_format\":1}" >/dev/null
expect_status "reasoning_format not a string: 400" 400 '(.error.message | test("reasoning_format"))'
stop_server "$SPID"

M=$TMP/q3.gguf
start_server q3 -np 2 -c 1024 || { fail "server starts" "no startup line"; exit 1; }
post /v1/chat/completions "{$CHAT}" >/dev/null
expect "Qwen3 (no <think> at the start): the answer is content" '(.choices[0].message | has("reasoning_content") | not) and (.choices[0].message.content | length) > 0'
stop_server "$SPID"

OSS=$SHARED/vocab/ggml-vocab-gpt-oss.gguf OSST=$SHARED/templates/openai-gpt-oss-120b.jinja
if [ -e "$OSS" ] && [ -e "$OSST" ] && "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$OSS" \
     --n-vocab 201088 --n-embd 64 --chat-template "$OSST" "$TMP/oss.gguf" >/dev/null 2>&1; then
  M=$TMP/oss.gguf
  start_server oss -np 1 -c 1024 || { fail "server starts" "no startup line"; exit 1; }
  G='root ::= <|channel|> "analysis" <|message|> "deep thought" <|end|> <|start|> "assistant" <|channel|> "final" <|message|> "hi there" <|return|>'
  req=$(jq -nc --arg g "$G" '{messages:[{role:"user",content:"Hi"}],grammar:$g,max_tokens:60,temperature:0}')
  post /v1/chat/completions "$req" >/dev/null
  expect "gpt-oss (harmony): analysis is reasoning_content, final is content" '.choices[0].message.reasoning_content == "deep thought"
    and .choices[0].message.content == "hi there" and .choices[0].finish_reason == "stop"'
  post /v1/chat/completions "$(jq -c '.stream = true' <<<"$req")" >"$TMP/sse"
  sse_json "$TMP/sse" >"$TMP/chunks"
  if jq -s -e '([.[] | .choices[0].delta.reasoning_content // empty] | add) == "deep thought"
       and ([.[] | .choices[0].delta.content // empty] | add) == "hi there"' "$TMP/chunks" >/dev/null; then
    pass "gpt-oss (harmony) streamed: the same in deltas"
  else
    fail "gpt-oss (harmony) streamed" "$(head -c 400 "$TMP/chunks")"
  fi
  # tools: a call on the commentary channel (to=functions.NAME) becomes
  # tool_calls, the analysis reasoning_content
  TOOLS='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]'
  G='root ::= <|channel|> "analysis" <|message|> "need weather" <|end|> <|start|> "assistant" <|channel|> "commentary to=functions.get_weather " <|constrain|> "json" <|message|> "{\"city\": \"Paris\"}" <|call|>'
  req=$(jq -nc --arg g "$G" --argjson t "$TOOLS" '{messages:[{role:"user",content:"Weather in Paris?"}],tools:$t,grammar:$g,max_tokens:80,temperature:0}')
  post /v1/chat/completions "$req" >/dev/null
  expect "gpt-oss (harmony) tools: the call is tool_calls" '.choices[0].finish_reason == "tool_calls"
    and .choices[0].message.content == null and .choices[0].message.reasoning_content == "need weather"
    and (.choices[0].message.tool_calls | length) == 1
    and (.choices[0].message.tool_calls[0] | (.id | test("^call_")) and .type == "function"
         and .function.name == "get_weather" and .function.arguments == "{\"city\": \"Paris\"}")'
  post /v1/chat/completions "$(jq -c '.stream = true' <<<"$req")" >"$TMP/sse"
  sse_json "$TMP/sse" >"$TMP/chunks"
  if jq -s -e '([.[] | .choices[0].delta.reasoning_content // empty] | add) == "need weather"
       and ([.[] | .choices[0].delta.content // empty] | add) == null
       and ([.[] | .choices[0].delta.tool_calls[]? | .function.name // empty] | add) == "get_weather"
       and ([.[] | .choices[0].delta.tool_calls[]? | .function.arguments // empty] | add) == "{\"city\": \"Paris\"}"
       and ([.[] | .choices[0].finish_reason // empty] | last) == "tool_calls"' "$TMP/chunks" >/dev/null; then
    pass "gpt-oss (harmony) tools streamed: the same call in deltas"
  else
    fail "gpt-oss (harmony) tools streamed" "$(head -c 600 "$TMP/chunks")"
  fi
  # tool_choice "required": the tools' grammar (harmony tokens) makes a call
  # (a bias on <|end|> keeps the random model from writing an endless analysis first)
  TOOLS2='[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"enum":["Paris","Rome"]}},"required":["city"],"additionalProperties":false}}}]'
  req=$(jq -nc --argjson t "$TOOLS2" '{messages:[{role:"user",content:"Weather in Paris?"}],tools:$t,tool_choice:"required",max_tokens:200,temperature:1,seed:3,logit_bias:{"200007":100}}')
  post /v1/chat/completions "$req" >/dev/null
  expect "gpt-oss (harmony) tool_choice required: a call to get_weather with a city" '.choices[0].finish_reason == "tool_calls"
    and .choices[0].message.tool_calls[0].function.name == "get_weather"
    and (.choices[0].message.tool_calls[0].function.arguments | fromjson | .city | IN("Paris", "Rome"))'
  # the call and its result go back through harmony; the answer is content
  G='root ::= <|channel|> "final" <|message|> "It is sunny." <|return|>'
  req=$(jq -nc --arg g "$G" --argjson t "$TOOLS" '{tools:$t,grammar:$g,max_tokens:40,temperature:0,
    messages:[{role:"user",content:"Weather in Paris?"},
      {role:"assistant",content:null,tool_calls:[{id:"call_1",type:"function",function:{name:"get_weather",arguments:"{\"city\": \"Paris\"}"}}]},
      {role:"tool",tool_call_id:"call_1",content:"{\"sky\": \"sunny\"}"}]}')
  post /v1/chat/completions "$req" >/dev/null
  expect "gpt-oss (harmony) tools: the round trip's answer is content" '.choices[0].finish_reason == "stop"
    and .choices[0].message.content == "It is sunny." and (.choices[0].message | has("tool_calls") | not)'
  stop_server "$SPID"
else
  skip "gpt-oss (harmony) reasoning" "no gpt-oss vocabulary or template, or mkmodel failed"
fi
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
