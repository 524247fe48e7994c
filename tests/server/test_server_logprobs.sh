#!/bin/bash
# llamafile --server on stories260K: token probabilities — logprobs /
# top_logprobs on /v1/chat/completions (OpenAI's content[] shape), logprobs N
# on /v1/completions (the legacy shape), n_probs on /completion; streamed and
# not, the same numbers in every shape, and the 400s.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server logprobs" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server logprobs" "needs curl and jq"; exit 0; }
start_server lp -np 2 -c 1024 || { fail "server starts" "no startup line"; exit 1; }
P="Once upon a time"
CHAT='"messages":[{"role":"user","content":"Tell me a story"}],"temperature":0,"max_tokens":8'

post /v1/chat/completions "{$CHAT,\"logprobs\":true,\"top_logprobs\":3}" >/dev/null
expect "chat logprobs shape" '.choices[0].logprobs.content as $c | ($c | length) == .usage.completion_tokens
  and all($c[]; (.token | type) == "string" and .logprob <= 0 and (.bytes | type) == "array"
      and (.top_logprobs | length) == 3 and (.top_logprobs[0] | keys) == ["bytes","logprob","token"]
      and .top_logprobs[0].logprob >= .top_logprobs[1].logprob)'
expect "chat logprobs: the tokens spell the content; greedy picks the top one" '
  ([.choices[0].logprobs.content[].token] | add) == .choices[0].message.content
  and all(.choices[0].logprobs.content[]; .token == .top_logprobs[0].token and .logprob == .top_logprobs[0].logprob)
  and all(.choices[0].logprobs.content[]; ([.bytes[] | [.] | implode] | add) == .token)'
cp "$TMP/body" "$TMP/chat.json"
post /v1/chat/completions "{$CHAT,\"logprobs\":true}" >/dev/null
expect "chat logprobs without top_logprobs" 'all(.choices[0].logprobs.content[]; .top_logprobs == [])'
post /v1/chat/completions "{$CHAT}" >/dev/null
expect "chat without logprobs: null" '.choices[0].logprobs == null'

post /v1/chat/completions "{$CHAT,\"logprobs\":true,\"top_logprobs\":3,\"stream\":true}" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
if jq -s -e --slurpfile one "$TMP/chat.json" '[.[] | .choices[0].logprobs.content // [] | .[]] == $one[0].choices[0].logprobs.content
     and all(.[]; (.choices | length) == 0 or .choices[0].delta.content == null or .choices[0].logprobs != null)' \
     "$TMP/chunks" >/dev/null; then
  pass "streamed chat logprobs equal the non-streamed ones"
else
  fail "streamed chat logprobs" "$(head -c 400 "$TMP/chunks")"
fi

post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":6,\"temperature\":0,\"logprobs\":2}" >/dev/null
expect "legacy logprobs shape" '.choices[0].logprobs as $l | ($l.tokens | length) == 6
  and ($l.token_logprobs | length) == 6 and ($l.top_logprobs | length) == 6 and ($l.text_offset | length) == 6
  and ($l.tokens | add) == .choices[0].text and all($l.top_logprobs[]; length == 2)
  and $l.text_offset[0] == 0 and $l.text_offset[1] == ($l.tokens[0] | length)'
cp "$TMP/body" "$TMP/legacy.json"
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":6,\"temperature\":0}" >/dev/null
expect "legacy without logprobs: null" '.choices[0].logprobs == null'
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":6,\"temperature\":0,\"logprobs\":2,\"stream\":true}" >"$TMP/sse"
if sse_json "$TMP/sse" | jq -s -e --slurpfile one "$TMP/legacy.json" '[.[] | .choices[0].logprobs.token_logprobs // [] | .[]]
     == $one[0].choices[0].logprobs.token_logprobs' >/dev/null; then
  pass "streamed legacy logprobs equal the non-streamed ones"
else
  fail "streamed legacy logprobs" "$(head -c 400 "$TMP/sse")"
fi

post /completion "{\"prompt\":\"$P\",\"n_predict\":6,\"temperature\":0,\"n_probs\":2}" >/dev/null
if jq -e --slurpfile l "$TMP/legacy.json" '(.completion_probabilities | length) == 6
     and all(.completion_probabilities[]; (.id | type) == "number" and (.top_logprobs | length) == 2
         and (.top_logprobs[0].id | type) == "number")
     and [.completion_probabilities[].logprob] == $l[0].choices[0].logprobs.token_logprobs
     and .generation_settings.n_probs == 2' "$TMP/body" >/dev/null; then
  pass "/completion n_probs: the same numbers as /v1/completions"
else
  fail "/completion n_probs" "$(head -c 400 "$TMP/body")"
fi
post /completion "{\"prompt\":\"$P\",\"n_predict\":6,\"temperature\":0,\"n_probs\":1,\"stream\":true}" >"$TMP/sse"
n=$(sse_json "$TMP/sse" | jq -s '[.[] | .completion_probabilities // [] | .[]] | length')
[ "$n" = 6 ] && pass "streamed n_probs: one entry per token" || fail "streamed n_probs" "$n entries"

# Sampling at a temperature: the chosen token's probability is under the
# distribution it was drawn from, so it is among the top ones reported.
post /v1/chat/completions '{"messages":[{"role":"user","content":"Hi"}],"temperature":1,"top_k":5,"seed":7,"max_tokens":8,"logprobs":true,"top_logprobs":5}' >/dev/null
expect "sampled tokens are among top_k's candidates" 'all(.choices[0].logprobs.content[]; .token as $t | any(.top_logprobs[]; .token == $t))
  and all(.choices[0].logprobs.content[]; ([.top_logprobs[].logprob | exp] | add | . > 0.999 and . < 1.001))'

post /v1/chat/completions "{$CHAT,\"logprobs\":true,\"top_logprobs\":21}" >/dev/null
expect_status "top_logprobs over 20: 400" 400 '(.error.message | test("top_logprobs"))'
post /v1/chat/completions "{$CHAT,\"top_logprobs\":2}" >/dev/null
expect_status "top_logprobs without logprobs: 400" 400 '(.error.message | test("logprobs"))'
post /v1/chat/completions "{$CHAT,\"logprobs\":3}" >/dev/null
expect_status "chat logprobs not a boolean: 400" 400 '(.error.message | test("logprobs"))'
post /v1/completions "{\"prompt\":\"x\",\"logprobs\":true}" >/dev/null
expect_status "legacy logprobs not an integer: 400" 400 '(.error.message | test("logprobs"))'
post /completion "{\"prompt\":\"x\",\"n_probs\":-1}" >/dev/null
expect_status "n_probs negative: 400" 400 '(.error.message | test("n_probs"))'
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
