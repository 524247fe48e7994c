#!/bin/bash
# llamafile --chat through a pipe (each line a user turn, plain answers), at
# temperature 0: the ChatML fallback on stories260K (said once), a tiny
# random model with Qwen3's template (the rendering equals
# llamafile-template's), turn 2 decoding only its new tokens, /save + /load,
# an overflowing context dropping the oldest exchanges, a turn too big for
# the context refused, multi-line input, and no escape codes.
source "$(dirname "$0")/../lib.sh"
L=$BIN/llamafile
S=$SHARED/models/stories260K.gguf
V=$SHARED/vocab/ggml-vocab-llama-spm.gguf
Q=$SHARED/templates/Qwen-Qwen3-0.6B.jinja
[ -f "$S" ] && [ -f "$V" ] && [ -f "$Q" ] || { skip "chat pipe" "shared data missing"; exit 0; }
export HOME=$TMP

# chat MODEL ARGS... < input: runs the chat, stdout to $TMP/out, stderr to $TMP/err.
chat() {
  local m=$1; shift
  timeout 120 "$L" --chat -m "$m" --temp 0 -n 12 "$@" >"$TMP/out" 2>"$TMP/err"
}

# While it waits for a turn, the chatbot copies the weights into memory: a
# second of silence, then /bye, and no answer decoded, copies them all.
(sleep 1; echo /bye) | chat "$S" --verbose
grep -q "^llamafile: weights copied into memory in [0-9]* ms" "$TMP/err" \
  && pass "the weights are copied into memory while the chat waits for a turn" \
  || fail "idle copy in the chat" "$(grep -i copy "$TMP/err")"

# The fallback template on a model without one: said once, each line answered.
printf 'hello\nhow are you\n' | chat "$S" -v
rc=$?
n=$(grep -c "no chat template" "$TMP/err")
if [ $rc -eq 0 ] && [ "$n" = 1 ] && [ "$(grep -c '^llamafile: turn ' "$TMP/err")" = 2 ]; then
  pass "stories260K chats through the fallback (said once)"
else fail "stories260K chats through the fallback (said once)" "exit $rc, said $n times: $(tail -n 1 "$TMP/err")"; fi

# Turn 2 decodes only its new tokens: it reuses what turn 1 decoded and generated.
t1=$(grep '^llamafile: turn 1:' "$TMP/err")
t2=$(grep '^llamafile: turn 2:' "$TMP/err")
d1=$(echo "$t1" | sed -n 's/.*: \([0-9]*\) prompt tokens decoded.*/\1/p')
g1=$(echo "$t1" | sed -n 's/.* \([0-9]*\) tokens generated.*/\1/p')
r2=$(echo "$t2" | sed -n 's/.*decoded, \([0-9]*\) reused.*/\1/p')
d2=$(echo "$t2" | sed -n 's/.*: \([0-9]*\) prompt tokens decoded.*/\1/p')
if [ -n "$r2" ] && [ "$r2" -gt 0 ] && [ "$r2" = $((d1 + g1)) ] && [ "$d2" -gt 0 ]; then
  pass "turn 2 decodes only its new tokens ($d2, $r2 reused)"
else fail "turn 2 decodes only its new tokens" "$t1 / $t2"; fi

# A tiny random model with a real template (Qwen3's).
M=$TMP/q.gguf
if ! "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 32000 \
     --n-embd 64 --chat-template "$Q" "$M" 2>"$TMP/err"; then
  fail "tiny model with a template" "$(tail -n 1 "$TMP/err")"; exit 0
fi
printf 'hello\nwhat is 2+2?\n/save %s\n/dump\n' "$TMP/a.json" | chat "$M" -sys "Be brief."
rc=$?
sed -n '/^saved /,$p' "$TMP/out" | tail -n +2 >"$TMP/dump"
jq '{messages: ., add_generation_prompt: false}' "$TMP/a.json" >"$TMP/req.json"
"$BIN/llamafile-template" -m "$M" "$TMP/req.json" >"$TMP/want" 2>&1
if [ $rc -eq 0 ] && cmp -s "$TMP/want" "$TMP/dump" && grep -q '<|im_start|>system' "$TMP/dump" &&
   [ "$(jq length "$TMP/a.json")" = 5 ] && ! grep -q "no chat template" "$TMP/err"; then
  pass "the model's template renders each turn (/dump = llamafile-template)"
else fail "the model's template renders each turn (/dump = llamafile-template)" "exit $rc $(cmp "$TMP/want" "$TMP/dump" 2>&1)"; fi

# /load restores the same prompt.
printf '/load %s\n/dump\n' "$TMP/a.json" | chat "$M"
sed -n '/^loaded /,$p' "$TMP/out" | tail -n +2 >"$TMP/dump2"
if cmp -s "$TMP/dump" "$TMP/dump2"; then pass "/save then /load restores the same prompt"
else fail "/save then /load restores the same prompt" "$(cmp "$TMP/dump" "$TMP/dump2" 2>&1)"; fi

# /think off: the prompt asks for no thinking (Qwen3's generation prompt
# then holds an empty <think></think>: more prompt tokens).
printf 'hello\n' | chat "$M" -v
d0=$(sed -n 's/^llamafile: turn 1: \([0-9]*\) prompt tokens decoded.*/\1/p' "$TMP/err")
printf '/think off\nhello\n' | chat "$M" -v
d1=$(sed -n 's/^llamafile: turn 1: \([0-9]*\) prompt tokens decoded.*/\1/p' "$TMP/err")
if grep -q '^thinking off$' "$TMP/out" && [ -n "$d0" ] && [ -n "$d1" ] && [ "$d1" -gt "$d0" ]; then
  pass "/think off renders the prompt with enable_thinking false"
else fail "/think off renders the prompt with enable_thinking false" "$d0 vs $d1 tokens"; fi

# Multi-line input: """ ... """ and a trailing backslash.
printf '"""first\nsecond\n"""\nthird \\\nfourth\n/dump\n' | chat "$M"
if grep -q '^first$' "$TMP/out" && grep -qx 'second' "$TMP/out" && grep -qx 'third ' "$TMP/out" &&
   grep -q '^fourth<|im_end|>' "$TMP/out"; then pass 'multi-line input ("""  and \)'
else fail 'multi-line input ("""  and \)' "$(grep -c . "$TMP/out") lines"; fi

# A full context drops the oldest exchanges and the conversation goes on.
for i in $(seq 1 12); do echo "tell me a story about the number $i please"; done >"$TMP/many"
chat "$M" -c 160 -v <"$TMP/many"
rc=$?
if [ $rc -eq 0 ] && grep -qE "dropped the ([0-9]+ )?oldest exchange" "$TMP/err" &&
   [ "$(grep -c '^llamafile: turn ' "$TMP/err")" = 12 ]; then
  pass "a full context drops the oldest exchanges and goes on"
else fail "a full context drops the oldest exchanges and goes on" "exit $rc: $(grep -v turn "$TMP/err" | tail -n 1)"; fi

# An answer that fills the context is cut; the next turn makes room.
printf 'hello\nagain\nthird\n' | chat "$M" -n -1 -c 100 -v
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c 'answer cut' "$TMP/err")" = 3 ] &&
   [ "$(grep -c 'dropped the oldest exchange' "$TMP/err")" = 2 ] &&
   [ "$(grep -c '^llamafile: turn ' "$TMP/err")" = 3 ]; then
  pass "an answer filling the context is cut, the next turn makes room"
else fail "an answer filling the context is cut, the next turn makes room" "exit $rc: $(tail -n 2 "$TMP/err")"; fi

# A turn bigger than the context is refused with the sizes; the next works.
{ for i in $(seq 1 100); do printf 'word%d ' "$i"; done; echo; echo hi; echo /dump; } >"$TMP/big"
chat "$M" -c 128 <"$TMP/big"
rc=$?
if [ $rc -eq 0 ] && grep -q "this turn is [0-9]* tokens .* the context holds 128; not sent" "$TMP/err" &&
   ! grep -q word50 "$TMP/out" && grep -q '^hi<|im_end|>' "$TMP/out"; then
  pass "a turn bigger than the context is refused, the next one works"
else fail "a turn bigger than the context is refused, the next one works" "exit $rc: $(tail -n 1 "$TMP/err")"; fi

# --chat -p: the prompt is the first message.
echo "second" | chat "$S" -p "first" -v
if [ "$(grep -c '^llamafile: turn ' "$TMP/err")" = 2 ]; then pass "--chat -p sends the first turn"
else fail "--chat -p sends the first turn" "$(tail -n 1 "$TMP/err")"; fi

# gpt-oss: the synthetic gpt-oss model (a small vocabulary without
# harmony's tokens: the fallback) and, through harmony, a tiny model with
# gpt-oss's vocabulary.
G=$SHARED/vectors/gpt-oss-MXFP4_MOE.gguf
if [ -f "$G" ]; then
  printf 'hello\nand again\n' | chat "$G" -v
  rc=$?
  if [ $rc -eq 0 ] && [ "$(grep -c '^llamafile: turn ' "$TMP/err")" = 2 ]; then
    pass "the synthetic gpt-oss model chats"
  else fail "the synthetic gpt-oss model chats" "exit $rc: $(tail -n 1 "$TMP/err")"; fi
else skip "the synthetic gpt-oss model chats" "$G missing"; fi
H=$SHARED/vocab/ggml-vocab-gpt-oss.gguf
if [ -f "$H" ] && "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$H" \
     --n-vocab 201088 --n-embd 64 "$TMP/oss.gguf" 2>"$TMP/err"; then
  printf 'hello\nand again\n/dump\n' | chat "$TMP/oss.gguf" -n 30 -v
  rc=$?
  if [ $rc -eq 0 ] && grep -q '^<|start|>system<|message|>' "$TMP/out" &&
     grep -q '<|start|>user<|message|>and again<|end|>' "$TMP/out" &&
     grep -q '^llamafile: turn 2: [0-9]* prompt tokens decoded, [1-9]' "$TMP/err"; then
    pass "a gpt-oss vocabulary chats through harmony"
  else fail "a gpt-oss vocabulary chats through harmony" "exit $rc: $(tail -n 1 "$TMP/err")"; fi
  rm -f "$TMP/oss.gguf"
else skip "a gpt-oss vocabulary chats through harmony" "$H missing or mkmodel failed"; fi

# Reasoning: DeepSeek-R1's template opens <think> in the prompt, so what the
# model writes is reasoning: shown marked (no colours here), or hidden; kept
# as reasoning_content either way.
R1=$SHARED/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja
if [ -f "$R1" ] && "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 32000 \
     --n-embd 64 --chat-template "$R1" "$TMP/r1.gguf" 2>"$TMP/err"; then
  printf 'hello\n/save %s\n' "$TMP/r.json" | chat "$TMP/r1.gguf"
  if head -n 1 "$TMP/out" | grep -q '^thinking: .' &&
     jq -e '.[1].content == "" and (.[1].reasoning_content | length) > 0' "$TMP/r.json" >/dev/null; then
    pass "reasoning is shown apart and kept as reasoning_content"
  else fail "reasoning is shown apart and kept as reasoning_content" "$(head -n 1 "$TMP/out")"; fi
  # Reasoning would be dimmed on a colour terminal: through a pipe, no escapes.
  if ! grep -q $'\033' "$TMP/out" "$TMP/err"; then pass "no escape codes through a pipe"
  else fail "no escape codes through a pipe" "found ESC"; fi
  printf 'hello\n' | chat "$TMP/r1.gguf" --reasoning hide
  if [ "$(tr -d '\n' <"$TMP/out")" = "" ]; then pass "--reasoning hide hides it"
  else fail "--reasoning hide hides it" "$(head -n 1 "$TMP/out")"; fi
else skip "reasoning" "$R1 missing or mkmodel failed"; fi
