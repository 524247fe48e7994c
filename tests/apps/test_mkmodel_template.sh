#!/bin/bash
# llamafile-mkmodel --chat-template: the file's text becomes the model's
# tokenizer.chat_template (replacing the vocab's), llamafile-template -m
# renders with it as --template renders the file, gguf-dump shows the key;
# a missing file is an error and writes nothing.
source "$(dirname "$0")/../lib.sh"
MK=$BIN/llamafile-mkmodel
T=$SHARED/templates/Qwen-Qwen3-0.6B.jinja
V=$SHARED/vocab/ggml-vocab-llama-spm.gguf
[ -f "$T" ] && [ -f "$V" ] || { skip "mkmodel --chat-template" "$T or $V missing"; exit 0; }
command -v jq >/dev/null || { skip "mkmodel --chat-template" "jq missing"; exit 0; }

mk() { "$MK" --arch llama --preset tiny --vocab "$V" --n-vocab 32000 --n-embd 64 "$@"; }

if mk --chat-template "$T" "$TMP/m.gguf" 2>"$TMP/err"; then pass "mkmodel --chat-template writes the model"
else fail "mkmodel --chat-template writes the model" "$(head -c 200 "$TMP/err")"; exit 0; fi

"$BIN/gguf-dump" "$TMP/m.gguf" >"$TMP/dump" 2>&1
if grep -q '^ *tokenizer.chat_template  *string *= "{%- if tools %}' "$TMP/dump" &&
   grep -q "($(wc -c <"$T") bytes" "$TMP/dump"; then pass "gguf-dump shows the template key"
else fail "gguf-dump shows the template key" "$(grep chat_template "$TMP/dump" | head -c 200)"; fi

# Every golden case of the template: the model renders as the file does.
G=$T.json
n=$(jq '.cases | length' "$G")
bad=0
for ((i = 0; i < n; i++)); do
  jq ".cases[$i] | {messages, tools, add_generation_prompt} + .extra" "$G" >"$TMP/req.json"
  "$BIN/llamafile-template" -m "$TMP/m.gguf" --now 2024-07-26T00:00:00 "$TMP/req.json" >"$TMP/a" 2>&1
  ra=$?
  "$BIN/llamafile-template" --template "$T" --bos "<s>" --eos "</s>" --now 2024-07-26T00:00:00 \
    "$TMP/req.json" >"$TMP/b" 2>&1
  rb=$?
  [ $ra -eq $rb ] && cmp -s "$TMP/a" "$TMP/b" || { bad=$((bad + 1)); echo "case $i differs" >&2; }
done
if [ "$n" -gt 0 ] && [ $bad -eq 0 ]; then pass "llamafile-template -m renders the stored template ($n cases)"
else fail "llamafile-template -m renders the stored template" "$bad of $n cases differ"; fi

"$BIN/llamafile-template" -v -m "$TMP/m.gguf" "$TMP/req.json" 2>"$TMP/err" >/dev/null
if grep -q 'tokenizer.chat_template' "$TMP/err"; then pass "the model's own template is used"
else fail "the model's own template is used" "$(head -c 200 "$TMP/err")"; fi

# The model still runs.
if "$BIN/llamafile" -m "$TMP/m.gguf" -p hello -n 4 --temp 0 >"$TMP/out" 2>"$TMP/err"; then
  pass "the model generates"
else fail "the model generates" "$(tail -n 1 "$TMP/err")"; fi

# A second --chat-template replaces the first one (the key is written once).
printf '{{ "X" }}' >"$TMP/x.jinja"
mk --chat-template "$T" --chat-template "$TMP/x.jinja" "$TMP/m2.gguf" 2>/dev/null
out=$("$BIN/llamafile-template" -m "$TMP/m2.gguf" "$TMP/req.json" 2>&1)
[ "$out" = X ] && pass "the last --chat-template wins" || fail "the last --chat-template wins" "$out"

if mk --chat-template "$TMP/nonexistent.jinja" "$TMP/m3.gguf" 2>"$TMP/err"; then
  fail "a missing template file is an error" "exit 0"
elif [ -e "$TMP/m3.gguf" ] || [ ! -s "$TMP/err" ]; then
  fail "a missing template file is an error" "output written or no message"
else pass "a missing template file is an error"; fi
