#!/bin/bash
# llamafile-tokenize: ids and pieces as llama-tokenize prints them, on full
# models and on vocab-only GGUFs, with its flags and errors.
source "$(dirname "$0")/../lib.sh"
TK=$BIN/llamafile-tokenize
S=$SHARED/models/stories260K.gguf
Q=$SHARED/vocab/ggml-vocab-qwen2.gguf
[ -f "$S" ] && [ -f "$Q" ] || { skip "llamafile-tokenize" "shared models missing"; exit 0; }
expect() {  # NAME WANT CMD...
  local name=$1 want=$2; shift 2
  local got; got=$("$@" 2>&1)
  [ "$got" = "$want" ] && pass "$name" || fail "$name" "got: $(head -c 200 <<<"$got")"
}
expect "ids with BOS" "[1, 403, 407, 261, 378]" "$TK" -m "$S" -p "Once upon a time" --ids
expect "--no-bos" "[403, 407, 261, 378]" "$TK" -m "$S" -p "Once upon a time" --ids --no-bos
expect "pieces" "     1 -> '<s>'
   403 -> ' Once'" bash -c "'$TK' -m '$S' -p 'Once upon a time' | head -2"
expect "vocab-only GGUF, special tokens parsed" "[9707, 1879, 151645]" "$TK" -m "$Q" -p "Hello world<|im_end|>" --ids
n=$("$TK" -m "$Q" -p "Hello world<|im_end|>" --ids --no-parse-special | tr ',' '\n' | wc -l)
[ "$n" -gt 3 ] && pass "--no-parse-special splits the special text" || fail "--no-parse-special" "$n tokens"
printf 'Once upon a time' >"$TMP/p.txt"
expect "-f FILE" "[1, 403, 407, 261, 378]" "$TK" -m "$S" -f "$TMP/p.txt" --ids
expect "--stdin" "[1, 403, 407, 261, 378]" bash -c "'$TK' -m '$S' --stdin --ids <'$TMP/p.txt'"
expect "--show-count" "Total number of tokens: 5" bash -c "'$TK' -m '$S' -p 'Once upon a time' --show-count | tail -1"
"$TK" -m "$S" >/dev/null 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && grep -q "exactly one of" "$TMP/e" && pass "no text: error" || fail "no text" "exit $rc"
"$TK" -m "$TMP/none.gguf" -p x >/dev/null 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$TMP/e")" -eq 1 ] && pass "missing model: one line, exit 1" || fail "missing model" "exit $rc"
"$TK" -m "$S" -p x --bogus >/dev/null 2>"$TMP/e"; rc=$?
[ $rc -eq 1 ] && pass "unknown flag: exit 1" || fail "unknown flag" "exit $rc"
