#!/bin/bash
# llamafile --server on stories260K: every endpoint's response shape, SSE
# chunks, greedy text equal to llama.cpp's, stop strings, max_tokens, seeds,
# cached_tokens on a repeated prefix.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server api" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server api" "needs curl and jq"; exit 0; }
start_server api -np 2 -c 1024 --metrics || { fail "server starts" "no startup line"; exit 1; }
pass "server starts and prints its URL"
# with no request yet, the idle engine copies the weights into memory
for i in $(seq 50); do grep -q "weight matrices .* copied into memory" "$TMP/api.err" && break; sleep 0.1; done
grep -q "^llamafile: [1-9][0-9]* weight matrices .* copied into memory, .* in [0-9]* ms" "$TMP/api.err" \
  && pass "the weights are copied into memory while no request runs" || fail "idle copy" "$(cat "$TMP/api.err")"
P="Once upon a time"

req /health >/dev/null; expect_status "/health" 200 '.status == "ok"'
req /v1/models >/dev/null
expect "/v1/models" '.object == "list" and (.data | length) == 1 and .data[0].object == "model"
  and (.data[0].id | endswith("stories260K.gguf")) and .data[0].owned_by == "llamacpp"
  and .data[0].meta.n_vocab == 512 and .data[0].meta.n_ctx == 512 and (.models | length) == 1'
req /props >/dev/null
expect "/props" '.total_slots == 2 and .default_generation_settings.n_ctx == 512
  and .default_generation_settings.params.top_k == 40 and (.model_path | type) == "string"
  and .endpoint_metrics == true and .endpoint_slots == true'
post /tokenize '{"content":"Once upon"}' >/dev/null
expect "/tokenize" '.tokens == [403, 407]'
post /tokenize '{"content":"Once upon","add_special":true,"with_pieces":true}' >/dev/null
expect "/tokenize with_pieces" '.tokens == [{"id":1,"piece":"<s>"},{"id":403,"piece":" Once"},{"id":407,"piece":" upon"}]'
post /detokenize '{"tokens":[403,407]}' >/dev/null
expect "/detokenize" '.content == " Once upon"'

# Greedy text equals llama.cpp's (the CLI's reference file), both APIs.
want=$(cat "$SHARED/models/stories260K.greedy64.txt")
post /completion "{\"prompt\":\"$P\",\"n_predict\":64,\"temperature\":0}" >/dev/null
expect "/completion shape" '.index == 0 and .stop == true and .tokens_predicted == 64
  and .tokens_evaluated == 5 and .stop_type == "limit" and .prompt == "<s> Once upon a time"
  and (.generation_settings.temperature == 0) and (.timings.predicted_n == 64) and (.id_slot | type) == "number"'
[ "$(jq -r .content "$TMP/body")" = "$want" ] && pass "/completion greedy text equals llama.cpp's" \
  || fail "/completion greedy text" "$(jq -r .content "$TMP/body" | head -c 100)"
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":64,\"temperature\":0,\"model\":\"x\"}" >/dev/null
expect "/v1/completions shape" '.object == "text_completion" and (.id | startswith("chatcmpl-"))
  and (.created | type) == "number" and (.choices | length) == 1 and .choices[0].index == 0
  and .choices[0].logprobs == null and .choices[0].finish_reason == "length"
  and .usage.prompt_tokens == 5 and .usage.completion_tokens == 64 and .usage.total_tokens == 69
  and (.usage.prompt_tokens_details.cached_tokens | type) == "number" and (.system_fingerprint | type) == "string"'
[ "$(jq -r '.choices[0].text' "$TMP/body")" = "$want" ] && pass "/v1/completions greedy text equals llama.cpp's" \
  || fail "/v1/completions greedy text" "$(jq -r '.choices[0].text' "$TMP/body" | head -c 100)"
# The same prompt again: its prefix comes from the slot's cache.
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":4,\"temperature\":0}" >/dev/null
expect "cached_tokens > 0 on a repeated prefix" '.usage.prompt_tokens_details.cached_tokens == 4 and .timings.prompt_n == 1'
post /v1/completions '{"prompt":[1,403,407],"max_tokens":2,"temperature":0}' >/dev/null
expect "a prompt of token ids" '.usage.prompt_tokens == 3 and .usage.completion_tokens == 2'

# max_tokens, stop strings (never a partial one), finish reasons.
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":3,\"temperature\":0}" >/dev/null
expect "max_tokens" '.usage.completion_tokens == 3 and .choices[0].finish_reason == "length" and .choices[0].text == ", there was"'
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":64,\"temperature\":0,\"stop\":[\"little\",\"zzz\"]}" >/dev/null
expect "stop string" '.choices[0].text == ", there was a " and .choices[0].finish_reason == "stop"'
post /completion "{\"prompt\":\"$P\",\"n_predict\":64,\"temperature\":0,\"stop\":\"little\"}" >/dev/null
expect "native stop_type word" '.content == ", there was a " and .stop_type == "word" and .stopping_word == "little"'
post /completion "{\"prompt\":\"$P\",\"n_predict\":64,\"temperature\":0,\"stop\":[\"lit\"]}" >/dev/null
expect "stop inside a token" '.content == ", there was a "'

# Streaming: chunk shapes, text equals the non-streamed text, usage, [DONE].
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":20,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}" >"$TMP/sse"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$URL/v1/completions" -d "{\"prompt\":\"$P\",\"max_tokens\":2,\"stream\":true}")
[ "$ctype" = "text/event-stream" ] && pass "SSE content type" || fail "SSE content type" "$ctype"
[ "$(tail -n 2 "$TMP/sse" | head -n 1)" = "data: [DONE]" ] && pass "SSE ends with data: [DONE]" \
  || fail "SSE end" "$(tail -c 200 "$TMP/sse")"
sse_json "$TMP/sse" >"$TMP/chunks"
n=$(wc -l <"$TMP/chunks")
jq -s -e 'all(.[]; .object == "text_completion" and (.choices | length) == 1 and (.id | startswith("chatcmpl-")))
  and all(.[:-1][]; .choices[0].finish_reason == null and (.usage == null))
  and (.[-1].choices[0].finish_reason == "length") and .[-1].usage.completion_tokens == 20
  and (map(.id) | unique | length) == 1' "$TMP/chunks" >/dev/null \
  && [ "$n" -ge 2 ] && pass "SSE chunk shapes ($n chunks)" || fail "SSE chunk shapes" "$(head -c 300 "$TMP/chunks")"
streamed=$(jq -s -j 'map(.choices[0].text) | add' "$TMP/chunks")
[ "$streamed" = "$(head -c ${#streamed} <<<"$want")" ] && [ ${#streamed} -gt 40 ] \
  && pass "streamed text equals the greedy text" || fail "streamed text" "$streamed"
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":64,\"temperature\":0,\"stream\":true,\"stop\":[\"little\"]}" >"$TMP/sse"
streamed=$(sse_json "$TMP/sse" | jq -s -j 'map(.choices[0].text) | add')
[ "$streamed" = ", there was a " ] && pass "streamed stop string: no partial stop emitted" || fail "streamed stop" "$streamed"
post /completion "{\"prompt\":\"$P\",\"n_predict\":5,\"temperature\":0,\"stream\":true}" >"$TMP/sse"
sse_json "$TMP/sse" >"$TMP/chunks"
jq -s -e '(.[:-1] | all(.[]; .stop == false and (.tokens | length) >= 1 and (.content | type) == "string"))
  and .[-1].stop == true and .[-1].tokens_predicted == 5 and .[-1].stop_type == "limit"' "$TMP/chunks" >/dev/null \
  && ! grep -q '\[DONE\]' "$TMP/sse" && pass "native SSE chunks" || fail "native SSE" "$(head -c 300 "$TMP/sse")"

# Seeds reproduce at temperature > 0; another seed differs.
k=0
for s in 7 7 8; do
  k=$((k + 1))
  post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":40,\"temperature\":1.0,\"seed\":$s}" | jq -r '.choices[0].text' >"$TMP/seed$s.$k"
done
if cmp -s "$TMP/seed7.1" "$TMP/seed7.2" && ! cmp -s "$TMP/seed7.1" "$TMP/seed8.3"; then
  pass "a seed reproduces at temperature 1"
else
  fail "seeds" "$(cat "$TMP/seed7.1") | $(cat "$TMP/seed7.2") | $(cat "$TMP/seed8.3")"
fi
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":30,\"temperature\":0,\"repeat_penalty\":1.5,\"top_k\":5,\"top_p\":0.5,\"min_p\":0.1,\"presence_penalty\":0.5,\"frequency_penalty\":0.5,\"logit_bias\":{\"2\":false}}" >/dev/null
expect "sampling parameters accepted" '.usage.completion_tokens == 30 and .choices[0].text != ""'

req /metrics >/dev/null
grep -q '^llamacpp:tokens_predicted_total [1-9]' "$TMP/body" && grep -q '^llamacpp:n_decode_total ' "$TMP/body" \
  && pass "/metrics" || fail "/metrics" "$(head -c 300 "$TMP/body")"
req /slots >/dev/null
expect "/slots" 'length == 2 and all(.[]; (.id | type) == "number" and .n_ctx == 512 and .is_processing == false)'

stop_server "$SPID"
[ "$RC" = 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM" "exit $RC"
