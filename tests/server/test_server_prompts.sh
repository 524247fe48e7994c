#!/bin/bash
# llamafile --server on stories260K: several prompts in one request — a prompt
# array on /v1/completions gives choices indexed 0..n-1 (each equal to that
# prompt sent alone, usage summed), on /completion an array of results;
# streamed, every chunk carries its prompt's index.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server prompts" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server prompts" "needs curl and jq"; exit 0; }
start_server multi -np 2 -c 8192 || { fail "server starts" "no startup line"; exit 1; }

# each prompt alone
declare -a alone
i=0
for p in '"Once upon a time"' '[1,403,407]' '"The dog"'; do
  post /v1/completions "{\"prompt\":$p,\"max_tokens\":6,\"temperature\":0}" >/dev/null
  alone[$i]=$(jq -r '.choices[0].text' "$TMP/body"); i=$((i + 1))
done
post /v1/completions '{"prompt":["Once upon a time",[1,403,407],"The dog"],"max_tokens":6,"temperature":0}' >/dev/null
expect_status "three prompts: three choices, indexed in order" 200 '(.choices | map(.index)) == [0,1,2]
  and all(.choices[]; .finish_reason == "length") and .usage.completion_tokens == 18
  and .usage.prompt_tokens == 12 and .usage.total_tokens == 30 and .object == "text_completion"'
got=$(jq -r '.choices | map(.text) | join("|")' "$TMP/body")
[ "$got" = "${alone[0]}|${alone[1]}|${alone[2]}" ] && pass "each choice equals its prompt sent alone" \
  || fail "choices vs alone" "$got vs ${alone[0]}|${alone[1]}|${alone[2]}"

post /completion '{"prompt":["Once upon a time","The dog"],"n_predict":6,"temperature":0}' >/dev/null
expect "/completion: an array of results" 'type == "array" and length == 2 and (map(.index)) == [0,1]
  and all(.[]; .stop == true and .tokens_predicted == 6)'
got=$(jq -r 'map(.content) | join("|")' "$TMP/body")
[ "$got" = "${alone[0]}|${alone[2]}" ] && pass "/completion results equal the prompts alone" || fail "/completion multi" "$got"

post /v1/completions '{"prompt":["Once upon a time","The dog"],"max_tokens":6,"temperature":0,"stream":true}' >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
[ "$(tail -n 2 "$TMP/sse" | head -n 1)" = "data: [DONE]" ] && [ "$(grep -c '^data: \[DONE\]' "$TMP/sse")" = 1 ] \
  && pass "streamed: one data: [DONE] at the end" || fail "streamed [DONE]" "$(tail -c 200 "$TMP/sse")"
got=$(jq -s -r '. as $c | [0,1] | map(. as $i | [$c[] | select(.choices[0].index == $i) | .choices[0].text] | add) | join("|")' "$TMP/chunks")
[ "$got" = "${alone[0]}|${alone[2]}" ] && pass "streamed: each index's text equals its prompt alone" || fail "streamed multi" "$got"
jq -s -e '(map(.id) | unique | length) == 1 and ([.[] | select(.choices[0].finish_reason == "length")] | length) == 2' \
  "$TMP/chunks" >/dev/null && pass "streamed: one id, a finish per prompt" || fail "streamed finishes" "$(head -c 300 "$TMP/chunks")"

post /v1/completions '{"prompt":["a",5],"max_tokens":2}' >/dev/null
expect_status "a bad prompt in the array: 400 naming it" 400 '(.error.message | test("prompt\\[1\\]"))'
post /v1/completions "{\"prompt\":[\"a\",\"$(printf 'Once upon a time %.0s' $(seq 2000))\"],\"max_tokens\":2}" >/dev/null
expect_status "one prompt over the context: 400" 400 '.error.type == "exceed_context_size_error" and .error.n_ctx == 4096'
post /v1/completions "{\"prompt\":$(jq -c -n '[range(65)] | map("x")'),\"max_tokens\":1}" >/dev/null
expect_status "more than 64 prompts: 400" 400 '(.error.message | test("64"))'

# A client that hangs up on a two-prompt stream frees both slots: they stop
# well before max_tokens.
curl -s --max-time 0.5 "$URL/v1/completions" -d '{"prompt":["Once upon a time","The dog"],"max_tokens":4000,"temperature":0,"ignore_eos":true,"stream":true}' >/dev/null
freed=""
for i in $(seq 100); do
  req /slots >/dev/null
  jq -e 'all(.[]; .is_processing == false)' "$TMP/body" >/dev/null 2>&1 && { freed=1; break; }
  sleep 0.1
done
[ -n "$freed" ] && jq -e '[.[] | select(.params.n_predict == 4000)] | length == 2 and all(.[]; .n_decoded < 4000)' "$TMP/body" >/dev/null \
  && pass "a hang-up frees every prompt's slot" || fail "hang-up" "$(head -c 300 "$TMP/body")"
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
