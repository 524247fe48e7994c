#!/bin/bash
# llamafile --server: every error case with its status and OpenAI-shaped
# body ({"error":{"code","message","type"}}), the API key, the Host check,
# CORS, the body limit and the full wait queue.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server errors" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server errors" "needs curl and jq"; exit 0; }
SHAPE='(.error | keys) == ["code","message","type"]'
start_server err -np 1 -c 256 --max-body 2000 || { fail "server starts" "no startup line"; exit 1; }

post /v1/completions '{"prompt": "x", bad' >/dev/null
expect_status "malformed JSON: 400" 400 "$SHAPE"' and .error.type == "invalid_request_error" and (.error.message | test("JSON"))'
post /v1/completions '[1,2]' >/dev/null
expect_status "a body that is not an object: 400" 400 "$SHAPE"
post /v1/completions '{"prompt":"x","temperature":"hot"}' >/dev/null
expect_status "wrong type: 400 naming the field" 400 "$SHAPE"' and (.error.message | test("temperature"))'
post /v1/completions '{"prompt":"x","max_tokens":1.5}' >/dev/null
expect_status "max_tokens not an integer: 400" 400 '(.error.message | test("max_tokens"))'
post /v1/completions '{"prompt":"x","stream":"yes"}' >/dev/null
expect_status "stream not a boolean: 400" 400 '(.error.message | test("stream"))'
post /v1/completions '{"prompt":"x","stop":[1]}' >/dev/null
expect_status "stop not strings: 400" 400 '(.error.message | test("stop"))'
post /v1/completions '{"prompt":5}' >/dev/null
expect_status "prompt of the wrong type: 400" 400 '(.error.message | test("prompt"))'
post /v1/completions '{"max_tokens":1}' >/dev/null
expect_status "no prompt: 400" 400 '(.error.message | test("prompt"))'
post /v1/completions '{"prompt":[1,99999]}' >/dev/null
expect_status "token id out of range: 400" 400 '(.error.message | test("prompt"))'
post /v1/completions '{"prompt":"x","n":2}' >/dev/null
expect_status "n = 2: 400 that says so" 400 '(.error.message | test("must be 1"))'
post /v1/completions '{"prompt":"x","top_p":2}' >/dev/null
expect_status "top_p out of range: 400" 400 '(.error.message | test("top_p"))'
post /v1/completions '{"prompt":"x","logit_bias":{"abc":1}}' >/dev/null
expect_status "logit_bias with a bad key: 400" 400 '(.error.message | test("logit_bias"))'
post /tokenize '{"content":5}' >/dev/null
expect_status "/tokenize content not a string: 400" 400 '(.error.message | test("content"))'
post /detokenize '{"tokens":["a"]}' >/dev/null
expect_status "/detokenize bad token: 400" 400 '(.error.message | test("tokens"))'
long=$(printf 'Once upon a time %.0s' $(seq 80))
post /v1/completions "{\"prompt\":\"$long\"}" >/dev/null
expect_status "prompt longer than the slot's context: 400 exceed_context_size_error" 400 \
  '.error.type == "exceed_context_size_error" and .error.n_ctx == 256 and .error.n_prompt_tokens > 256'
req /nope >/dev/null
expect_status "unknown path: 404" 404 "$SHAPE"' and .error.type == "not_found_error"'
req /v1/completions >/dev/null
expect_status "GET on a POST path: 405" 405 "$SHAPE"
curl -s -D "$TMP/h" -o /dev/null -X DELETE "$URL/health"
grep -qi '^Allow: GET' "$TMP/h" && pass "405 says Allow" || fail "405 Allow" "$(cat "$TMP/h")"
head -c 3000 /dev/zero | tr '\0' 'a' >"$TMP/big"
req /v1/completions --data-binary @"$TMP/big" >/dev/null
expect_status "body over --max-body: 413" 413 "$SHAPE"
req /v1/completions -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big" >/dev/null
expect_status "chunked body over --max-body: 413" 413 "$SHAPE"
req /metrics >/dev/null
expect_status "/metrics without --metrics: 501" 501 '.error.type == "not_supported_error"'
# DNS-rebinding defence: a loopback server answers only loopback Host names.
req /health -H 'Host: evil.example.com' >/dev/null
expect_status "foreign Host on loopback: 403" 403 "$SHAPE"
for h in localhost:8080 127.0.0.1 '[::1]:80' foo.localhost; do
  req /health -H "Host: $h" >/dev/null
  expect_status "Host $h allowed" 200
done
# CORS as llama-server: the Origin echoed; a preflight answered.
curl -s -D "$TMP/h" -o /dev/null -H 'Origin: http://example.com' "$URL/health"
grep -qi '^Access-Control-Allow-Origin: http://example.com' "$TMP/h" && pass "CORS: Origin echoed" \
  || fail "CORS origin" "$(cat "$TMP/h")"
curl -s -D "$TMP/h" -o /dev/null -X OPTIONS -H 'Origin: http://example.com' \
  -H 'Access-Control-Request-Method: POST' "$URL/v1/completions"
grep -q '^HTTP/1.1 200' "$TMP/h" && grep -qi '^Access-Control-Allow-Methods: GET, POST' "$TMP/h" \
  && grep -qi '^Access-Control-Allow-Headers: \*' "$TMP/h" && pass "CORS preflight" || fail "CORS preflight" "$(cat "$TMP/h")"

# The wait queue: with one slot busy and --queue-size 0, a request gets 503
# and Retry-After.
stop_server "$SPID"
start_server busy -np 1 -c 16384 --queue-size 0 --no-host-check || { fail "server starts" "busy"; exit 1; }
req /health -H 'Host: evil.example.com' >/dev/null
expect_status "--no-host-check accepts any Host" 200
curl -s -N --max-time 20 "$URL/v1/completions" -d '{"prompt":"Once","max_tokens":16000,"ignore_eos":true,"stream":true}' >"$TMP/long" &
CPID=$!
for i in $(seq 100); do
  req /slots >/dev/null
  jq -e '.[0].is_processing' "$TMP/body" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -s -D "$TMP/h" -o "$TMP/body" -w '%{http_code}' "$URL/v1/completions" -d '{"prompt":"x","max_tokens":1}' >"$TMP/status"
expect_status "full queue: 503" 503 "$SHAPE"' and .error.type == "unavailable_error"'
grep -qi '^Retry-After: [0-9]' "$TMP/h" && pass "503 says Retry-After" || fail "Retry-After" "$(cat "$TMP/h")"
kill "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null
stop_server "$SPID"

# The API key: 401 without or with a wrong one; Bearer and X-Api-Key work;
# /health and /v1/models stay public, as in llama-server.
printf '# keys\nk2-secret\n' >"$TMP/keys"
start_server key -np 1 -c 256 --api-key k1-secret --api-key-file "$TMP/keys" || { fail "server starts" "key"; exit 1; }
post /v1/completions '{"prompt":"x","max_tokens":1}' >/dev/null
expect_status "no key: 401" 401 "$SHAPE"' and .error.type == "authentication_error"'
post /v1/completions '{"prompt":"x","max_tokens":1}' -H 'Authorization: Bearer k1-secreT' >/dev/null
expect_status "wrong key: 401" 401 "$SHAPE"
post /v1/completions '{"prompt":"x","max_tokens":1}' -H 'Authorization: Bearer k1-secret' >/dev/null
expect_status "Bearer key: 200" 200
post /v1/completions '{"prompt":"x","max_tokens":1}' -H 'X-Api-Key: k2-secret' >/dev/null
expect_status "X-Api-Key from --api-key-file: 200" 200
req /health >/dev/null; expect_status "/health needs no key" 200
req /v1/models >/dev/null; expect_status "/v1/models needs no key" 200
req /props >/dev/null; expect_status "/props needs the key" 401
stop_server "$SPID"

# Flags: bad values are one-line errors; --help lists the server's flags.
"$LF" --server --port 70000 -m "$M" >/dev/null 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--port" "$TMP/e" && pass "bad --port: exit 1" || fail "bad --port" "exit $rc: $(cat "$TMP/e")"
"$LF" --server -m "$M" --port 0 --host 203.0.113.1 >/dev/null 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot listen" "$TMP/e" && pass "unusable --host: exit 1" || fail "bad --host" "exit $rc: $(cat "$TMP/e")"
"$LF" --help >"$TMP/help"
missing=""
for f in --server --host --port -np --parallel --api-key --api-key-file --alias --timeout \
         --threads-http --metrics --slots --no-webui --max-body --queue-size --no-host-check; do
  grep -q -- "$f\b" "$TMP/help" || missing="$missing $f"
done
[ -z "$missing" ] && pass "--help lists the server flags" || fail "--help" "missing:$missing"
