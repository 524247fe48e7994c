#!/bin/bash
# llamafile --server: POST /v1/embeddings on stories260K — the vectors equal
# `llamafile --embedding --pooling mean` on the same text, unit length, every
# input shape (string, strings, token ids, arrays of token ids), base64, usage,
# and 400s naming the field.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server embeddings" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server embeddings" "needs curl and jq"; exit 0; }
start_server emb -np 2 -c 512 || { fail "server starts" "no startup line"; exit 1; }
P="Once upon a time"

# The CLI's vector (6 decimals) as a JSON array.
"$LF" -m "$M" -t 1 --embedding --pooling mean -p "$P" 2>/dev/null \
  | sed -n 's/^embedding 0: *//p' | tr -s ' ' '\n' | jq -s -c . >"$TMP/cli.json"
[ "$(jq length "$TMP/cli.json")" = 64 ] || fail "the CLI's embedding" "$(head -c 200 "$TMP/cli.json")"

post /v1/embeddings "{\"input\":\"$P\",\"model\":\"m\"}" >/dev/null
expect_status "/v1/embeddings shape" 200 '.object == "list" and (.data | length) == 1
  and .data[0].object == "embedding" and .data[0].index == 0 and (.data[0].embedding | length) == 64
  and .usage.prompt_tokens == 5 and .usage.total_tokens == 5 and (.model | type) == "string"'
expect "unit length" '[.data[0].embedding[] | . * .] | add | . > 0.9999 and . < 1.0001'
if jq -e --slurpfile cli "$TMP/cli.json" '[.data[0].embedding, $cli[0]] | transpose
     | map(.[0] - .[1] | fabs) | max < 2e-6' "$TMP/body" >/dev/null; then
  pass "equals llamafile --embedding --pooling mean"
else
  fail "equals the CLI's vector" "$(jq -c '.data[0].embedding[:4]' "$TMP/body") vs $(jq -c '.[:4]' "$TMP/cli.json")"
fi
cp "$TMP/body" "$TMP/one.json"

post /v1/embeddings "{\"input\":[\"$P\",[1,403,407,261,378],\"Once upon\"]}" >/dev/null
expect "several inputs, indexed in order" '(.data | map(.index)) == [0,1,2] and .usage.prompt_tokens == 13'
if jq -e --slurpfile one "$TMP/one.json" '.data[0].embedding == $one[0].data[0].embedding
     and .data[1].embedding == $one[0].data[0].embedding
     and .data[2].embedding != $one[0].data[0].embedding' "$TMP/body" >/dev/null; then
  pass "token ids give the vector of their text; inputs do not mix"
else
  fail "token-id input" "$(jq -c '[.data[].embedding[:2]]' "$TMP/body")"
fi
post /embedding "{\"content\":[\"$P\",\"Once upon\"]}" >/dev/null
if jq -e --slurpfile one "$TMP/one.json" 'length == 2 and map(.index) == [0,1]
     and .[0].embedding == [$one[0].data[0].embedding] and (.[1].embedding[0] | length) == 64' "$TMP/body" >/dev/null; then
  pass "llama-server's /embedding: [{index, embedding: [vector]}]"
else
  fail "/embedding shape" "$(head -c 300 "$TMP/body")"
fi
post /embeddings "{\"input\":\"$P\"}" >/dev/null
expect "/embeddings is llama-server's shape too" 'length == 1 and .[0].index == 0 and (.[0].embedding | length) == 1'
post /v1/embeddings '{"input":[1,403,407,261,378]}' >/dev/null
expect "one array of token ids is one input" '(.data | length) == 1 and .usage.prompt_tokens == 5'
post /v1/embeddings "{\"input\":\"$P\",\"encoding_format\":\"base64\"}" >/dev/null
expect "base64: 64 float32s" '(.data[0].embedding | type) == "string" and (.data[0].embedding | length) == 344'

post /v1/embeddings '{"model":"m"}' >/dev/null
expect_status "no input: 400" 400 '(.error.message | test("input")) and .error.type == "invalid_request_error"'
post /v1/embeddings '{"input":5}' >/dev/null
expect_status "input of the wrong type: 400" 400 '(.error.message | test("input"))'
post /v1/embeddings '{"input":["a",{"x":1}]}' >/dev/null
expect_status "a bad item: 400 naming it" 400 '(.error.message | test("input\\[1\\]"))'
post /v1/embeddings '{"input":[[1,99999]]}' >/dev/null
expect_status "token id out of range: 400" 400 '(.error.message | test("input\\[0\\]"))'
post /v1/embeddings '{"input":[]}' >/dev/null
expect_status "empty input: 400" 400 '(.error.message | test("input"))'
post /v1/embeddings '{"input":"x","encoding_format":"int8"}' >/dev/null
expect_status "unknown encoding_format: 400" 400 '(.error.message | test("encoding_format"))'
long=$(printf 'Once upon a time %.0s' $(seq 200))
post /v1/embeddings "{\"input\":\"$long\"}" >/dev/null
expect_status "input over the context: 400" 400 '.error.type == "exceed_context_size_error"'

# completions still work beside it
post /v1/completions "{\"prompt\":\"$P\",\"max_tokens\":3,\"temperature\":0}" >/dev/null
expect "completions beside embeddings" '.choices[0].text == ", there was"'
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
