#!/bin/bash
# llamafile --server under concurrency: 5 clients on 2 slots (streamed and
# not) each get what they get alone at temperature 0; a streaming client
# that disconnects frees its slot at once; SIGTERM ends open streams and
# exits 0.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server concurrency" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server concurrency" "needs curl and jq"; exit 0; }
start_server conc -np 2 -c 2048 || { fail "server starts" "no startup line"; exit 1; }

prompts=("Once upon a time" "The little dog" "Lily wanted to" "One day, a big" "Tom and Sue went")
body() { printf '{"prompt":"%s","max_tokens":%d,"temperature":0,"stream":%s}' "$1" "$2" "$3"; }
text_of() {  # FILE STREAMED
  if [ "$2" = true ]; then sse_json "$1" | jq -s -j 'map(.choices[0].text) | add'
  else jq -j '.choices[0].text' "$1"; fi
}
for i in 0 1 2 3 4; do
  curl -s --max-time 60 "$URL/v1/completions" -d "$(body "${prompts[$i]}" $((60 + 20 * i)) false)" >"$TMP/solo$i"
done
for i in 0 1 2 3 4; do
  s=false; [ $((i % 2)) -eq 1 ] && s=true
  curl -s --max-time 60 "$URL/v1/completions" -d "$(body "${prompts[$i]}" $((60 + 20 * i)) $s)" >"$TMP/conc$i" &
  CPIDS+=($!)
done
wait "${CPIDS[@]}"
bad=""
for i in 0 1 2 3 4; do
  s=false; [ $((i % 2)) -eq 1 ] && s=true
  a=$(text_of "$TMP/solo$i" false); b=$(text_of "$TMP/conc$i" $s)
  [ -n "$a" ] && [ "$a" = "$b" ] || bad="$bad [$i: '${a:0:40}' vs '${b:0:40}']"
done
[ -z "$bad" ] && pass "5 concurrent clients on 2 slots each equal their solo output" || fail "concurrent = solo" "$bad"
req /metrics >/dev/null  # (not enabled: 501, but the server still answers)
req /health >/dev/null; expect_status "server healthy after the burst" 200

# A streaming client that hangs up frees its slot within a decode step:
# the generation (16,000 tokens, seconds long) stops at once.
stop_server "$SPID"
start_server disc -np 1 -c 16384 || { fail "server starts" "disc"; exit 1; }
curl -s -N --max-time 1 "$URL/v1/completions" \
  -d '{"prompt":"Once","max_tokens":16000,"ignore_eos":true,"stream":true}' >"$TMP/cut" 2>/dev/null
grep -q '^data: {' "$TMP/cut" && pass "stream started before the hang-up" || fail "stream start" "$(head -c 200 "$TMP/cut")"
freed=""
for i in $(seq 80); do
  req /slots >/dev/null
  jq -e '.[0].is_processing == false' "$TMP/body" >/dev/null 2>&1 && { freed=$i; break; }
  sleep 0.025
done
n_cache=$(jq '.[0].n_cache' "$TMP/body")
[ -n "$freed" ] && [ "$n_cache" -lt 16000 ] && pass "a disconnected stream frees its slot (within $((freed * 25)) ms, $n_cache tokens cached)" \
  || fail "disconnect frees the slot" "$(cat "$TMP/body")"
curl -s --max-time 1 "$URL/v1/completions" -d '{"prompt":"Once","max_tokens":16000,"ignore_eos":true}' >/dev/null 2>&1
freed=""
for i in $(seq 80); do
  req /slots >/dev/null
  jq -e '.[0].is_processing == false' "$TMP/body" >/dev/null 2>&1 && { freed=$i; break; }
  sleep 0.025
done
[ -n "$freed" ] && pass "a disconnected non-streaming request frees its slot" || fail "non-stream disconnect" "$(cat "$TMP/body")"
post /v1/completions '{"prompt":"Once upon a time","max_tokens":3,"temperature":0}' >/dev/null
expect "the freed slot serves the next request" '.choices[0].text == ", there was"'

# SIGTERM while a stream is open: the stream ends, exit status 0.
curl -s -N --max-time 30 "$URL/v1/completions" \
  -d '{"prompt":"Once","max_tokens":16000,"ignore_eos":true,"stream":true}' >"$TMP/open" &
CPID=$!
for i in $(seq 100); do grep -q '^data: {' "$TMP/open" 2>/dev/null && break; sleep 0.05; done
stop_server "$SPID"
wait "$CPID"; crc=$?
[ "$RC" = 0 ] && pass "SIGTERM with an open stream: exit 0" || fail "SIGTERM exit" "$RC"
[ $crc -eq 0 ] && tail -n 4 "$TMP/open" | grep -q 'shutting down' && pass "the open stream ended with an error event" \
  || fail "open stream end" "curl $crc: $(tail -c 200 "$TMP/open")"
