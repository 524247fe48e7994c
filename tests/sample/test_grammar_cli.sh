#!/bin/bash
# llamafile --grammar / --grammar-file on stories260K: sampled output under
# tests/sample/json.gbnf is always the start of a match (checked by
# test_grammar --check), a finite grammar gives one of its strings, and a
# grammar error is reported with its line:column before anything is printed.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
CHECK=${TESTBIN:-o//tests}/sample/test_grammar
M=$SHARED/models/stories260K.gguf
G=$(dirname "$0")/json.gbnf
[ -e "$M" ] || { skip "grammar cli" "no $M"; exit 0; }
[ -x "$CHECK" ] || { fail "grammar cli" "no $CHECK"; exit 0; }

for seed in 1 2 3 4 5; do
  "$LF" -m "$M" -p x --no-display-prompt --grammar-file "$G" -n 100 --temp 1 -s $seed \
    >"$TMP/out" 2>"$TMP/err"
  rc=$?
  head -c -2 "$TMP/out" >"$TMP/gen" # the two newlines llamafile ends with
  got=$("$CHECK" --check "$G" "$TMP/gen")
  if [ $rc -eq 0 ] && { [ "$got" = prefix ] || [ "$got" = complete ]; }; then
    pass "--grammar-file json.gbnf, seed $seed: $got"
  else
    fail "--grammar-file json.gbnf, seed $seed" "exit $rc, $got: $(head -c 200 "$TMP/gen")"
  fi
done

for seed in 1 2 3; do
  out=$("$LF" -m "$M" -p Once --no-display-prompt --grammar 'root ::= " yes" | " no"' \
    --temp 1 -s $seed 2>/dev/null | head -c -2)
  [ "$out" = " yes" ] || [ "$out" = " no" ] \
    && pass "--grammar yes/no, seed $seed" || fail "--grammar yes/no, seed $seed" "got '$out'"
done

"$LF" -m "$M" -p Once --grammar $'root ::= "a"\nx ::= foo' >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q "gbnf:2:7: undefined rule 'foo'" "$TMP/err"; then
  pass "grammar error with line:column, nothing printed"
else
  fail "grammar error" "exit $rc, stdout '$(cat "$TMP/out")', stderr '$(cat "$TMP/err")'"
fi
"$LF" -m "$M" -p Once --grammar-file "$TMP/none.gbnf" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "grammar file" "$TMP/err" \
  && pass "--grammar-file missing" || fail "--grammar-file missing" "$(cat "$TMP/err")"
