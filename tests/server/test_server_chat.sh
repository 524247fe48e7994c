#!/bin/bash
# llamafile --server chat: /v1/chat/completions (stream and not) and
# /apply-template on stories260K, whose GGUF has no template (ChatML
# fallback, as llama-server's); output equal to llama-server's for the same
# request ("\"He", 42 prompt tokens).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server chat" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server chat" "needs curl and jq"; exit 0; }
start_server chat -np 2 -c 512 || { fail "server starts" "no startup line"; exit 1; }
MSG='[{"role":"user","content":"Hi"}]'

post /apply-template "{\"messages\":$MSG}" >/dev/null
expect "/apply-template" '.prompt == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"'
post /v1/chat/completions "{\"messages\":$MSG,\"max_tokens\":3,\"temperature\":0}" >/dev/null
expect "/v1/chat/completions shape and text" '.object == "chat.completion" and (.id | startswith("chatcmpl-"))
  and .choices[0].message == {"role":"assistant","content":"\"He"} and .choices[0].finish_reason == "length"
  and .choices[0].index == 0 and .usage.prompt_tokens == 42 and .usage.completion_tokens == 3'
post /v1/chat/completions "{\"messages\":$MSG,\"max_tokens\":4,\"temperature\":0}" >/dev/null
expect "chat: the repeated conversation is cached" '.usage.prompt_tokens_details.cached_tokens == 41'
post /v1/chat/completions "{\"messages\":$MSG,\"max_tokens\":3,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
jq -s -e 'all(.[]; .object == "chat.completion.chunk") and .[0].choices[0].delta == {"role":"assistant","content":null}
  and (.[1:-2] | all(.[]; .choices[0].finish_reason == null and (.choices[0].delta.content | type) == "string"))
  and .[-2].choices[0].finish_reason == "length" and .[-2].choices[0].delta == {}
  and .[-1].choices == [] and .[-1].usage.completion_tokens == 3
  and ([.[1:-2][].choices[0].delta.content] | add) == "\"He"' "$TMP/chunks" >/dev/null \
  && tail -n 2 "$TMP/sse" | grep -q '^data: \[DONE\]' && pass "chat SSE chunks" || fail "chat SSE" "$(head -c 400 "$TMP/chunks")"
post /v1/chat/completions '{"messages":"x"}' >/dev/null
expect_status "messages not an array: 400" 400 '(.error.message | test("messages"))'
post /v1/chat/completions '{"messages":[{"role":5}]}' >/dev/null
expect_status "a bad message: 400 naming its place" 400 '(.error.message | test("messages\\[0\\].role"))'
post /v1/chat/completions "{\"messages\":$MSG,\"response_format\":{\"type\":\"xml\"}}" >/dev/null
expect_status "response_format of an unknown type: 400" 400 '(.error.message | test("response_format"))'
post /v1/chat/completions "{\"messages\":$MSG,\"n\":3}" >/dev/null
expect_status "chat n = 3: 400" 400
stop_server "$SPID"
[ "$RC" = 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM" "exit $RC"
