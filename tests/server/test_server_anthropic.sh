#!/bin/bash
# llamafile --server on stories260K (ChatML fallback template): Anthropic's
# Messages API — POST /v1/messages streamed and not (the text equals
# /v1/chat/completions' for the same conversation), stop_reason for each way
# of stopping (end_turn on a model of an 8-token vocabulary, whose sampled
# answers hit EOS within a few tokens), the event sequence, count_tokens, and
# errors in Anthropic's shape.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server anthropic" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server anthropic" "needs curl and jq"; exit 0; }
start_server anth -np 2 -c 1024 --api-key sk-test || { fail "server starts" "no startup line"; exit 1; }
K=(-H 'x-api-key: sk-test')
ERR='.type == "error" and (.error | keys) == ["message","type"]'

post /v1/chat/completions '{"messages":[{"role":"system","content":"Be brief"},{"role":"user","content":"Hi"}],"max_tokens":12,"temperature":0}' -H 'Authorization: Bearer sk-test' >/dev/null
want=$(jq -r '.choices[0].message.content' "$TMP/body")
post /v1/messages '{"model":"claude-x","system":"Be brief","messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"temperature":0}' "${K[@]}" >/dev/null
expect_status "/v1/messages shape" 200 '.type == "message" and .role == "assistant" and (.id | startswith("msg_"))
  and (.content | length) == 1 and .content[0].type == "text" and .model == "claude-x"
  and .stop_reason == "max_tokens" and .stop_sequence == null and .usage.output_tokens == 12
  and (.usage.input_tokens | type) == "number" and .usage.input_tokens > 0'
[ "$(jq -r '.content[0].text' "$TMP/body")" = "$want" ] && pass "text equals /v1/chat/completions' for the same conversation" \
  || fail "text vs chat" "$(jq -r '.content[0].text' "$TMP/body") vs $want"
n_in=$(jq .usage.input_tokens "$TMP/body")
post /v1/messages '{"system":[{"type":"text","text":"Be brief"}],"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":12,"temperature":0}' "${K[@]}" >/dev/null
expect "content blocks read as their text" ".content[0].text == $(jq -R -s . <<<"$want" | sed 's/\\n"$/"/') and .usage.input_tokens == $n_in"
post /v1/messages/count_tokens '{"system":"Be brief","messages":[{"role":"user","content":"Hi"}],"max_tokens":12}' "${K[@]}" >/dev/null
expect "count_tokens" ".input_tokens == $n_in"

post /v1/messages '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":40,"temperature":0,"stop_sequences":["zzz","Anna"]}' "${K[@]}" >/dev/null
expect "stop_sequence" '.stop_reason == "stop_sequence" and .stop_sequence == "Anna" and (.content[0].text | contains("Anna") | not)
  and .usage.output_tokens < 40'

# streaming: the event sequence and the text
post /v1/messages '{"system":"Be brief","messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"temperature":0,"stream":true}' "${K[@]}" >"$TMP/sse"
events=$(sed -n 's/^event: //p' "$TMP/sse" | uniq | tr '\n' ' ')
[ "$events" = "message_start content_block_start ping content_block_delta content_block_stop message_delta message_stop " ] \
  && pass "stream: the event sequence" || fail "stream events" "$events"
sse_json "$TMP/sse" >"$TMP/chunks"
jq -s -e '.[0].type == "message_start" and .[0].message.content == [] and .[0].message.stop_reason == null
  and .[0].message.usage.output_tokens == 0 and .[1].content_block == {"type":"text","text":""}
  and all(.[] | select(.type == "content_block_delta"); .index == 0 and .delta.type == "text_delta")
  and (.[-2].delta.stop_reason == "max_tokens") and .[-2].usage.output_tokens == 12 and .[-1].type == "message_stop"' \
  "$TMP/chunks" >/dev/null && pass "stream: event shapes" || fail "stream shapes" "$(head -c 400 "$TMP/chunks")"
[ "$(jq -s -j '[.[] | select(.type == "content_block_delta") | .delta.text] | add' "$TMP/chunks")" = "$want" ] \
  && pass "stream: the deltas add up to the text" || fail "stream text" "$(head -c 300 "$TMP/chunks")"
# every data line follows its event line
awk '/^event: /{e=1; next} /^data: /{if(!e) bad=1; e=0} END{exit bad}' "$TMP/sse" \
  && pass "stream: each data line has its event line" || fail "stream framing" "$(head -c 300 "$TMP/sse")"

post /v1/messages '{"messages":[{"role":"user","content":"Hi"}]}' "${K[@]}" >/dev/null
expect_status "no max_tokens: 400 in Anthropic's shape" 400 "$ERR"' and .error.type == "invalid_request_error" and (.error.message | test("max_tokens"))'
post /v1/messages '{"max_tokens":5,"messages":[{"role":"tool","content":"x"}]}' "${K[@]}" >/dev/null
expect_status "a bad role: 400 naming it" 400 "$ERR"' and (.error.message | test("messages\\[0\\].role"))'
post /v1/messages '{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}' "${K[@]}" >/dev/null
expect_status "an image block: 400 naming it" 400 "$ERR"' and (.error.message | test("messages\\[0\\].content\\[0\\]"))'
post /v1/messages '{"max_tokens":5,"messages":[{"role":"user","content":"x"}],"stop_sequences":"x"}' "${K[@]}" >/dev/null
expect_status "stop_sequences not an array: 400" 400 "$ERR"' and (.error.message | test("stop_sequences"))'
post /v1/messages '{"max_tokens":5,"messages":[{"role":"user","content":"x"}],"temperature":"hot"}' "${K[@]}" >/dev/null
expect_status "temperature of the wrong type: 400" 400 "$ERR"' and (.error.message | test("temperature"))'
post /v1/messages '{"max_tokens":5,' "${K[@]}" >/dev/null
expect_status "malformed JSON: 400" 400 "$ERR"
post /v1/messages '{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}' -H 'x-api-key: wrong' >/dev/null
expect_status "wrong key: 401 authentication_error" 401 "$ERR"' and .error.type == "authentication_error"'
long=$(printf 'Once upon a time %.0s' $(seq 200))
post /v1/messages "{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"$long\"}]}" "${K[@]}" >/dev/null
expect_status "over the context: 400" 400 "$ERR"
req /v1/messages "${K[@]}" >/dev/null
expect_status "GET: 405" 405 "$ERR"
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"

# end_turn: EOS is one of 8 tokens, so a sampled answer ends within 200
if "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$SHARED/vocab/ggml-vocab-llama-spm.gguf" \
     --n-vocab 8 --n-embd 64 "$TMP/v8.gguf" >/dev/null 2>&1; then
  M=$TMP/v8.gguf
  start_server v8 -np 1 -c 1024 || { fail "server starts" "no startup line"; exit 1; }
  B='"messages":[{"role":"user","content":"Hi"}],"max_tokens":200,"temperature":1,"seed":1'
  post /v1/messages "{$B}" >/dev/null
  expect "end_turn: the model wrote EOS" '.stop_reason == "end_turn" and .stop_sequence == null
    and .usage.output_tokens < 200'
  post /v1/messages "{$B,\"stream\":true}" >"$TMP/sse"
  sse_json "$TMP/sse" >"$TMP/chunks"
  jq -s -e '.[-2].type == "message_delta" and .[-2].delta.stop_reason == "end_turn"' "$TMP/chunks" >/dev/null &&
    pass "end_turn streamed: message_delta says so" || fail "end_turn streamed" "$(tail -c 300 "$TMP/sse")"
  stop_server "$SPID"
else
  fail "end_turn" "mkmodel could not write the 8-token model"
fi
