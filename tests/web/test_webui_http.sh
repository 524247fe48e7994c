#!/bin/bash
# The web page over HTTP (curl): content types, ETag and 304, gzip only
# when accepted, public under --api-key, --no-webui, and --webui-dir
# (its files served, nothing outside it: "..", hidden names, symlinks out).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../server/server_lib.sh"
[ -e "$M" ] || { skip "web page http" "no $M"; exit 0; }
command -v curl >/dev/null && command -v gzip >/dev/null || { skip "web page http" "needs curl and gzip"; exit 0; }

# head PATH [CURL ARGS...]: headers in $TMP/h (lower-cased names), body in $TMP/body.
head_() {
  local path=$1; shift
  rm -f "$TMP/body"
  curl -s --max-time 10 -D "$TMP/h" -o "$TMP/body" "$@" "$URL$path" >/dev/null
  sed -i 's/\r$//; s/^\([^:]*\):/\L\1:/' "$TMP/h"
}
hdr() { sed -n "s/^$1: //p" "$TMP/h" | head -n 1; }
code() { sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$TMP/h"; }

start_server web -np 1 -c 256 --api-key k1 || { fail "server starts" "no startup line"; exit 1; }
head_ /
[ "$(code)" = 200 ] && [ "$(hdr content-type)" = "text/html; charset=utf-8" ] && grep -q 'src="app.js"' "$TMP/body" \
  && pass "/ is the page (text/html), without the API key under --api-key" || fail "/" "$(code) $(hdr content-type)"
[ -n "$(hdr etag)" ] && [ "$(hdr cache-control)" = no-cache ] && [ -z "$(hdr content-encoding)" ] \
  && hdr content-security-policy | grep -q "script-src 'self'" && [ "$(hdr x-content-type-options)" = nosniff ] \
  && pass "/: ETag, Cache-Control, CSP, nosniff; plain without Accept-Encoding" || fail "/ headers" "$(cat "$TMP/h")"
cp "$TMP/body" "$TMP/plain"
etag=$(hdr etag)
head_ / -H 'If-None-Match: "other"'
[ "$(code)" = 200 ] && pass "another ETag: 200" || fail "If-None-Match other" "$(code)"
head_ / -H "If-None-Match: $etag"
[ "$(code)" = 304 ] && [ ! -s "$TMP/body" ] && pass "If-None-Match with its ETag: 304, no body" || fail "304" "$(code)"
head_ / -H 'Accept-Encoding: br, gzip;q=0.8'
gz_etag=$(hdr etag)
[ "$(hdr content-encoding)" = gzip ] && [ "$(hdr vary)" = Accept-Encoding ] && gzip -dc "$TMP/body" | cmp -s - "$TMP/plain" \
  && pass "gzip when accepted: the same bytes, Vary: Accept-Encoding" || fail "gzip" "$(cat "$TMP/h")"
[ "$(wc -c <"$TMP/body")" -lt "$(wc -c <"$TMP/plain")" ] && [ "$gz_etag" != "$etag" ] \
  && pass "the gzipped copy is smaller and has its own ETag" || fail "gzip etag" "$gz_etag $etag"
head_ / -H "If-None-Match: $gz_etag" -H 'Accept-Encoding: gzip'
[ "$(code)" = 304 ] && pass "304 for the gzipped ETag" || fail "gz 304" "$(code)"
head_ / -H 'Accept-Encoding: gzip;q=0, identity'
[ -z "$(hdr content-encoding)" ] && pass "gzip;q=0: plain" || fail "q=0" "$(hdr content-encoding)"
head_ / -H 'Accept-Encoding: *'
[ "$(hdr content-encoding)" = gzip ] && pass "Accept-Encoding *: gzip" || fail "star" "$(hdr content-encoding)"
ok=1
for f in app.js:text/javascript style.css:text/css marked.min.js:text/javascript purify.min.js:text/javascript \
         highlight.min.js:text/javascript index.html:text/html; do
  head_ "/${f%%:*}"
  [ "$(code)" = 200 ] && [[ "$(hdr content-type)" == "${f#*:}; charset=utf-8" ]] && [ -s "$TMP/body" ] || { ok=; echo "# $f: $(code) $(hdr content-type)"; }
done
[ -n "$ok" ] && pass "assets with their content types" || fail "assets" "see above"
curl -s -I --max-time 10 "$URL/" >"$TMP/h"
grep -q '^HTTP/1.1 200' "$TMP/h" && grep -qi '^content-length: [1-9]' "$TMP/h" && pass "HEAD /" || fail "HEAD /" "$(head -n 1 "$TMP/h")"
head_ /nope.js
[ "$(code)" = 404 ] && grep -q not_found_error "$TMP/body" && pass "an unknown file: 404" || fail "404" "$(code)"
head_ / -X POST
[ "$(code)" = 404 ] && pass "POST /: 404" || fail "POST /" "$(code)"
head_ /props
[ "$(code)" = 401 ] && pass "the API stays behind the key (/props 401)" || fail "/props without key" "$(code)"
stop_server "$SPID"

start_server noui -np 1 -c 256 --no-webui || { fail "server starts" "noui"; exit 1; }
head_ /
[ "$(code)" = 404 ] && pass "--no-webui: / is 404" || fail "--no-webui" "$(code)"
head_ /app.js
[ "$(code)" = 404 ] && pass "--no-webui: assets 404" || fail "--no-webui asset" "$(code)"
stop_server "$SPID"

D=$TMP/site
mkdir -p "$D/sub" "$TMP/outside"
echo '<p>mine</p>' >"$D/index.html"
echo 'b{}' >"$D/sub/a.css"
echo 'sub index' >"$D/sub/index.html"
echo 'S3CR3T-BYTES' >"$TMP/outside/secret.txt"
echo 'H1DD3N-BYTES' >"$D/.env"
ln -s "$TMP/outside/secret.txt" "$D/evil.txt"
ln -s "$TMP/outside" "$D/outdir"
ln -s "$D/sub/a.css" "$D/inside.css"
start_server dir -np 1 -c 256 --webui-dir "$D" || { fail "server starts" "webui-dir"; exit 1; }
head_ /
[ "$(code)" = 200 ] && grep -q mine "$TMP/body" && [ "$(hdr content-type)" = "text/html; charset=utf-8" ] \
  && pass "--webui-dir: / is DIR/index.html" || fail "--webui-dir /" "$(code) $(cat "$TMP/body")"
head_ /sub/a.css
[ "$(code)" = 200 ] && [ "$(hdr content-type)" = "text/css; charset=utf-8" ] && pass "--webui-dir: a file in a subfolder, its type" \
  || fail "--webui-dir css" "$(code) $(hdr content-type)"
et=$(hdr etag)
head_ /sub/a.css -H "If-None-Match: $et"
[ -n "$et" ] && [ "$(code)" = 304 ] && pass "--webui-dir: ETag and 304" || fail "--webui-dir 304" "$et $(code)"
head_ /sub/
[ "$(code)" = 200 ] && grep -q 'sub index' "$TMP/body" && pass "--webui-dir: a folder's index.html" || fail "sub/" "$(code)"
head_ /inside.css
[ "$(code)" = 200 ] && pass "--webui-dir: a symlink inside DIR is followed" || fail "inside symlink" "$(code)"
bad=""
for p in /../outside/secret.txt /sub/../../outside/secret.txt /%2e%2e/outside/secret.txt /sub/%2E%2E/%2e%2e/outside/secret.txt \
         /evil.txt /outdir/secret.txt /.env /sub/./a.css; do
  head_ "$p" --path-as-is
  grep -q S3CR3T-BYTES "$TMP/body" && bad="$bad $p(leaked)"
  grep -q H1DD3N-BYTES "$TMP/body" && bad="$bad $p(hidden)"
  case "$(code)" in 403|404) ;; *) bad="$bad $p($(code))" ;; esac
done
[ -z "$bad" ] && pass "--webui-dir: '..', hidden names and symlinks out of DIR are refused" || fail "--webui-dir traversal" "$bad"
head_ /evil.txt
[ "$(code)" = 403 ] && pass "--webui-dir: a symlink out of DIR is 403" || fail "symlink out" "$(code)"
head_ /missing.html
[ "$(code)" = 404 ] && pass "--webui-dir: a missing file is 404" || fail "missing" "$(code)"
head_ /health
[ "$(code)" = 200 ] && pass "--webui-dir: the API paths still answer" || fail "/health" "$(code)"
stop_server "$SPID"
