#!/bin/bash
# The web page in headless Chromium (tests/web/webui.cjs, puppeteer-core
# from tests/js) against llamafile --server on stories260K: loads with no
# console errors and nothing fetched off 127.0.0.1, a streamed answer, Stop
# frees the slot, Regenerate / Edit, a reload keeps the conversation, hostile
# markdown renders inert, the API-key prompt; a second model answers once.
# Screenshots (desktop/phone, light/dark) in $SCREENS (o/web-screens).
# Also reports the gzipped page weight (asserted <= 300 KB) and the first
# load to interactive (reported only).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../server/server_lib.sh"
[ -e "$M" ] || { skip "web page" "no $M"; exit 0; }
CHROME=${CHROME:-/usr/bin/chromium}
[ -x "$CHROME" ] || { skip "web page in a browser" "no $CHROME (build/setup-tests.sh)"; exit 0; }
[ -d "$TESTS/js/node_modules/puppeteer-core" ] || { skip "web page in a browser" "no tests/js/node_modules (build/setup-tests.sh)"; exit 0; }
command -v node >/dev/null && command -v curl >/dev/null || { skip "web page in a browser" "needs node and curl"; exit 0; }
export CHROME SCREENS=${SCREENS:-o/web-screens}
mkdir -p "$SCREENS"
export WEB_TMP=$TMP HOME=$TMP # chromium's profile and crash files stay in the test's directory

# browser MODE URL [KEY]: webui.cjs's lines; a crash without a FAIL line fails too.
browser() {
  node "$TESTS/web/webui.cjs" "$@" >"$TMP/node.out" 2>&1
  local rc=$?
  cat "$TMP/node.out"
  [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$TMP/node.out" && fail "browser run ($1)" "node exited $rc: $(tail -n 3 "$TMP/node.out" | tr '\n' ' ')"
  return 0
}

start_server web -np 1 -c 16384 --slots || { fail "server starts" "no startup line"; exit 1; }
# Page weight: the page and every asset it loads, as a browser gets them.
total=0
for f in / style.css app.js api.js store.js render.js side.js dialogs.js marked.min.js purify.min.js highlight.min.js; do
  n=$(curl -s --compressed -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$URL/${f#/}")
  total=$((total + n))
done
echo "# page weight: $total bytes gzipped ($((total / 1024)) KB) for the page and its 10 assets"
[ "$total" -gt 1000 ] && [ "$total" -le $((300 * 1024)) ] && pass "page weight $((total / 1024)) KB gzipped <= 300 KB" \
  || fail "page weight" "$total bytes"

browser main "$URL"
stop_server "$SPID"

start_server key -np 1 -c 512 --api-key right-key || { fail "server starts" "key"; exit 1; }
browser key "$URL" right-key
stop_server "$SPID"

M2=$SHARED/vectors/gemma3-Q4_K_M.gguf
if [ -e "$M2" ]; then
  M=$M2 start_server second -np 1 -c 512 || { fail "server starts" "second model"; exit 1; }
  browser smoke "$URL"
  stop_server "$SPID"
else
  skip "second model" "no $M2"
fi
