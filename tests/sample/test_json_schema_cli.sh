#!/bin/bash
# llamafile -j/--json-schema and --json-schema-file on stories260K: a small
# schema gives one of its documents; a bad schema or a missing file is one
# line on stderr naming the problem, exit status 1, nothing on stdout.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
M=$SHARED/models/stories260K.gguf
[ -e "$M" ] || { skip "json schema cli" "no $M"; exit 0; }

for seed in 1 2 3; do
  out=$("$LF" -m "$M" -p Once --no-display-prompt -j '{"enum":["yes","no",null]}' \
    --temp 1 -s $seed 2>/dev/null | tr -d ' \n')
  case "$out" in
    '"yes"'|'"no"'|null) pass "-j enum, seed $seed: $out" ;;
    *) fail "-j enum, seed $seed" "got '$out'" ;;
  esac
done

printf '{"type":"object","properties":{"ok":{"const":true}},"required":["ok"]}' >"$TMP/s.json"
out=$("$LF" -m "$M" -p Once --no-display-prompt --json-schema-file "$TMP/s.json" --temp 1 -s 7 \
  2>/dev/null | tr -d ' \n')
[ "$out" = '{"ok":true}' ] && pass "--json-schema-file" || fail "--json-schema-file" "got '$out'"

"$LF" -m "$M" -p Once --json-schema '{"items":{"uniqueItems":true}}' >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$TMP/out" ] &&
   grep -q 'bad JSON schema: at #/items: unsupported keyword "uniqueItems"' "$TMP/err"; then
  pass "unsupported keyword: named, with its place"
else
  fail "unsupported keyword" "exit $rc, stdout '$(cat "$TMP/out")', stderr '$(cat "$TMP/err")'"
fi
"$LF" -m "$M" -p Once --json-schema-file "$TMP/none.json" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "JSON schema file" "$TMP/err" \
  && pass "--json-schema-file missing" || fail "--json-schema-file missing" "$(cat "$TMP/err")"
