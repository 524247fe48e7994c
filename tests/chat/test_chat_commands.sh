#!/bin/bash
# The chatbot's slash commands, through a pipe at temperature 0 on
# stories260K (the ChatML fallback): each does what /help says, and unknown
# commands or bad arguments get a one-line hint.
source "$(dirname "$0")/../lib.sh"
L=$BIN/llamafile
S=$SHARED/models/stories260K.gguf
[ -f "$S" ] || { skip "chat commands" "$S missing"; exit 0; }
export HOME=$TMP

# run INPUT [ARGS...]: the chat on INPUT's lines; stdout in $TMP/out, stderr in $TMP/err.
run() {
  local input=$1; shift
  printf '%b' "$input" | timeout 60 "$L" --chat -m "$S" --temp 0 -n 8 --log-disable "$@" \
    >"$TMP/out" 2>"$TMP/err"
}
# expect NAME PATTERN FILE: PASS when FILE has a line matching PATTERN (grep -E).
expect() {
  if grep -qE -- "$2" "$3"; then pass "$1"; else fail "$1" "no '$2' in: $(head -c 300 "$3" | tr '\n' '|')"; fi
}

run '/help\n'
missing=""
for c in exit bye clear undo regen system think set stats context save load upload dump help; do
  grep -q "^  /$c" "$TMP/out" || missing="$missing /$c"
done
[ -z "$missing" ] && pass "/help lists every command" || fail "/help lists every command" "missing$missing"
run '/help save\n'
[ "$(wc -l <"$TMP/out")" = 1 ] && expect "/help CMD explains one" "^  /save FILE +save the conversation" "$TMP/out" ||
  fail "/help CMD explains one" "$(cat "$TMP/out")"

run '/frobnicate\n/set top-k lots\n/set colour 3\n/save\n/think off\nhello\n'
expect "unknown command: a hint" "^llamafile: unknown command /frobnicate \(/help lists them\)$" "$TMP/err"
expect "/set with a bad value: a hint" "^llamafile: bad value 'lots' for top-k$" "$TMP/err"
expect "/set of an unknown name: a hint" "^llamafile: /set knows temp" "$TMP/err"
expect "/save without a file: a hint" "^llamafile: usage: /save FILE$" "$TMP/err"
expect "/think without enable_thinking: a hint" "^llamafile: this model's template has no enable_thinking" "$TMP/err"
[ "$(wc -l <"$TMP/err")" = 5 ] && grep -q . "$TMP/out" && pass "after hints the chat goes on" ||
  fail "after hints the chat goes on" "$(cat "$TMP/err")"

run '/set\n/set temp 0.5\n/set n-predict 3\n/set\n'
expect "/set alone shows the settings" "^temp 0$" "$TMP/out"
if grep -q "^temp 0.5$" "$TMP/out" && grep -q "^n-predict 3$" "$TMP/out" &&
   [ "$(grep -cE '^(temp|top-k|top-p|min-p|seed|n-predict) [^=]' "$TMP/out")" = 12 ]; then
  pass "/set NAME VALUE changes it"
else fail "/set NAME VALUE changes it" "$(tr '\n' '|' <"$TMP/out")"; fi
run '/set n-predict 2\nhello\n/stats\n'
expect "/set n-predict limits the answer" "^last answer: 2 tokens" "$TMP/out"

run '/system Be terse.\n/system\nhello\n/dump\n'
expect "/system TEXT sets the system prompt" "^Be terse\.$" "$TMP/out"
expect "/system TEXT renders first" "^<\|im_start\|>system$" "$TMP/out"

run 'first question\nsecond question\n/undo\n/dump\n'
if grep -q "first question" "$TMP/out" && ! grep -q "second question" "$TMP/out"; then
  pass "/undo removes the last exchange"
else fail "/undo removes the last exchange" "$(tr '\n' '|' <"$TMP/out")"; fi

run 'first question\n/clear\n/dump\n' -sys "Sys."
if grep -q "^new conversation$" "$TMP/out" && ! grep -q "first question" "$TMP/out" &&
   grep -q "^Sys.<|im_end|>$" "$TMP/out"; then pass "/clear keeps only the system prompt"
else fail "/clear keeps only the system prompt" "$(tr '\n' '|' <"$TMP/out")"; fi

run 'hello\n/regen\n/dump\n'
a1=$(sed -n 1p "$TMP/out"); a2=$(sed -n 2p "$TMP/out")
if [ -n "$a1" ] && [ "$a1" = "$a2" ] && [ "$(grep -c '^<|im_start|>assistant' "$TMP/out")" = 1 ]; then
  pass "/regen answers the last message again (same at temperature 0, one answer kept)"
else fail "/regen answers the last message again" "'$a1' vs '$a2'"; fi

run 'hello\n/stats\n/context\n'
expect "/stats: tokens in the context" "^context: [0-9]+ of [0-9]+ tokens$" "$TMP/out"
expect "/stats: prompt and generation speed" "^last answer: 8 tokens \(.* tokens per second\)" "$TMP/out"
expect "/context: a bar" '^\[#*\.*\] [0-9]+ / [0-9]+ tokens \([0-9]+%\)$' "$TMP/out"

printf 'line one\nline two\n' >"$TMP/notes.txt"
run "/upload $TMP/notes.txt\nwhat is in it\n/dump\n/upload $TMP/nope.txt\n"
if grep -q "^added notes.txt (18 bytes)" "$TMP/out" &&
   tr '\n' '|' <"$TMP/out" | grep -qF 'user|notes.txt|```|line one|line two|```||what is in it<|im_end|>'; then
  pass "/upload adds a fenced file to the next message"
else fail "/upload adds a fenced file to the next message" "$(tr '\n' '|' <"$TMP/out")"; fi
expect "/upload of a missing file: a hint" "^llamafile: /upload: .*nope.txt" "$TMP/err"

run 'hello\n/save '"$TMP"'/c.json\n/load '"$TMP"'/nope.json\n/load '"$TMP"'/notes.txt\n'
if grep -q '^saved 2 messages' "$TMP/out" && [ "$(grep -c '^llamafile: /load' "$TMP/err")" = 2 ] &&
   jq -e '.[0].role == "user" and .[0].content == "hello" and .[1].role == "assistant"' "$TMP/c.json" >/dev/null; then
  pass "/save writes OpenAI-style messages; /load of a bad file: a hint"
else fail "/save writes OpenAI-style messages; /load of a bad file: a hint" "$(cat "$TMP/err")"; fi

for c in exit bye; do
  run "hello\n/$c\nnever answered\n/dump\n"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(wc -l <"$TMP/out")" = 1 ]; then pass "/$c leaves (exit 0)"
  else fail "/$c leaves (exit 0)" "exit $rc, $(wc -l <"$TMP/out") lines"; fi
done

# --help lists every chat flag.
"$L" --help >"$TMP/help"
missing=""
for f in -cnv --chat -sys --system-prompt --system-prompt-file --reasoning --no-color; do
  grep -qE -- "(^| )$f( |,|$)" "$TMP/help" || missing="$missing $f"
done
[ -z "$missing" ] && pass "--help lists every chat flag" || fail "--help lists every chat flag" "missing$missing"
