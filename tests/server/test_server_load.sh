#!/bin/bash
# llamafile --server under load: 32 concurrent streaming clients on 4 slots
# (and a wait queue of 4, so some are turned away) for LOAD_SECONDS (default
# 60, at most 60) on stories260K at temperature 0, with five prompts of
# different lengths. Every request must end in 200 or in 503 with
# Retry-After, no stream may be cut short or mixed with another, and each
# streamed text must equal what that prompt gives alone (fetched first,
# non-streaming). Memory: the server's RSS at the end may be at most 5%
# above its RSS a third of the way in (the issue says "after the first
# minute" of a longer run; this run is 60 s, so the first sample is at 20 s).
# The client is tests/server/sse_client.mjs (Node's http module only).
# Disconnects and cached_tokens are covered by test_server_concurrency.sh and
# test_server_api.sh.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server load" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null && command -v node >/dev/null \
  || { skip "server load" "needs curl, jq and node"; exit 0; }
CLIENT=$(dirname "$0")/sse_client.mjs
LOAD_SECONDS=${LOAD_SECONDS:-60}
[ "$LOAD_SECONDS" -ge 3 ] 2>/dev/null && [ "$LOAD_SECONDS" -le 60 ] || LOAD_SECONDS=60
RSS_TOLERANCE_PCT=${RSS_TOLERANCE_PCT:-5}
start_server load -np 4 -c 2048 --queue-size 4 || { fail "server starts" "no startup line"; exit 1; }

jq -n '[{prompt: "Once upon a time", max_tokens: 48},
        {prompt: "The little dog", max_tokens: 64},
        {prompt: "Lily wanted to play with her friend", max_tokens: 80},
        {prompt: "One day, a big bird", max_tokens: 96},
        {prompt: "Tom and Sue went to the park. They", max_tokens: 120}]' >"$TMP/prompts.json"
n=$(jq length "$TMP/prompts.json")
: >"$TMP/expect.lines"
for i in $(seq 0 $((n - 1))); do
  jq -c ".[$i] + {temperature: 0}" "$TMP/prompts.json" >"$TMP/solo.json"
  curl -s --max-time 30 "$URL/v1/completions" -d @"$TMP/solo.json" | jq -c '.choices[0].text' >>"$TMP/expect.lines"
done
jq -s . "$TMP/expect.lines" >"$TMP/expect.json"
if [ "$(jq 'length == '"$n"' and all(.[]; type == "string" and length > 0)' "$TMP/expect.json")" = true ]; then
  pass "each prompt's solo text fetched"
else
  fail "solo texts" "$(head -c 300 "$TMP/expect.json")"; exit 1
fi

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status" 2>/dev/null; }
timeout $((LOAD_SECONDS + 25)) node "$CLIENT" --url "$URL" --prompts "$TMP/prompts.json" \
  --expect "$TMP/expect.json" --clients 32 --seconds "$LOAD_SECONDS" >"$TMP/load.json" 2>"$TMP/load.err" &
CPID=$!
sleep $((LOAD_SECONDS / 3))
rss_mid=$(rss)
wait "$CPID"; crc=$?
rss_end=$(rss)
echo "# load: $(cat "$TMP/load.json") $(head -c 300 "$TMP/load.err")"
echo "# RSS: ${rss_mid} kB at $((LOAD_SECONDS / 3)) s, ${rss_end} kB at the end (${LOAD_SECONDS} s)"
[ $crc -eq 0 ] || { fail "load client" "exit $crc: $(tail -c 300 "$TMP/load.err")"; exit 1; }
L=$TMP/load.json
j() { jq -r "$1" "$L"; }
[ "$(j '.requests > 32 and .ok > 0')" = true ] \
  && pass "32 clients for ${LOAD_SECONDS} s: $(j .requests) requests, $(j .ok) streamed, $(j .status_503) turned away" \
  || fail "load ran" "$(cat "$L")"
[ "$(j '.other_status == 0 and .no_retry_after == 0')" = true ] \
  && pass "every request ended in 200 or 503 with Retry-After" || fail "200 or 503" "$(jq -c .problems "$L")"
[ "$(j '.status_503 > 0')" = true ] \
  && pass "the full queue turned requests away with 503" || fail "503 seen" "$(cat "$L")"
[ "$(j '.lost == 0')" = true ] && pass "no stream lost or cut short" || fail "lost streams" "$(j .lost): $(jq -c .problems "$L")"
[ "$(j '.mismatch == 0')" = true ] \
  && pass "every stream equals its prompt's solo text (none cross-wired)" \
  || fail "cross-wired streams" "$(j .mismatch) of $(j .requests): $(jq -c .problems "$L")"
# ASan keeps freed memory in quarantine (up to 256 MB) by design: RSS says
# nothing there; leaks are LeakSanitizer's job at the server's exit.
if grep -q __asan_init "$BIN/llamafile" 2>/dev/null; then
  skip "RSS growth" "a sanitizer build (ASan's quarantine grows RSS by design)"
elif [ -n "$rss_mid" ] && [ -n "$rss_end" ] && [ "$rss_end" -le $((rss_mid * (100 + RSS_TOLERANCE_PCT) / 100)) ]; then
  pass "RSS at the end ($rss_end kB) within ${RSS_TOLERANCE_PCT}% of RSS at $((LOAD_SECONDS / 3)) s ($rss_mid kB)"
else
  fail "RSS growth" "${rss_mid:-?} kB at $((LOAD_SECONDS / 3)) s, ${rss_end:-?} kB at the end"
fi
req /health >/dev/null; expect_status "server healthy after the load" 200
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0 after the load" || fail "exit after load" "$RC"
