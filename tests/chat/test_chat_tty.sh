#!/bin/bash
# The chatbot on a terminal (tests/tools/ptyrun): it starts without --chat
# when stdin and stdout are a terminal; Ctrl-C mid-answer stops the answer
# and the next turn works; Ctrl-D and Ctrl-C on an empty prompt exit 0; the
# history file is written in $HOME; reasoning is dimmed on a colour
# terminal and NO_COLOR / --no-color print no colour codes.
source "$(dirname "$0")/../lib.sh"
P=${TESTBIN:-o//tests}/tools/ptyrun
L=$BIN/llamafile
V=$SHARED/vocab/ggml-vocab-llama-spm.gguf
Q=$SHARED/templates/Qwen-Qwen3-0.6B.jinja
R1=$SHARED/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja
[ -x "$P" ] || { fail "chat on a terminal" "$P not built"; exit 0; }
[ -f "$V" ] && [ -f "$Q" ] && [ -f "$R1" ] || { skip "chat on a terminal" "shared data missing"; exit 0; }
export HOME=$TMP TERM=xterm
unset NO_COLOR
mk() { "$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 32000 --n-embd 64 "$@"; }
mk --chat-template "$Q" "$TMP/q.gguf" 2>"$TMP/err" && mk --chat-template "$R1" "$TMP/r1.gguf" 2>"$TMP/err" ||
  { fail "chat on a terminal" "mkmodel: $(tail -n 1 "$TMP/err")"; exit 0; }

# run NAME ARGS... (ptyrun steps, then -- and the command): PASS when every step succeeds.
run() {
  local name=$1; shift
  if "$P" -t 20000 -o "$TMP/log" "$@" 2>"$TMP/perr"; then pass "$name"
  else fail "$name" "$(cat "$TMP/perr")"; fi
}

# An endless answer (-n -1, a context of 8192 a random model takes long to
# fill) stopped with Ctrl-C; the next turn answers; Ctrl-D leaves.
run "Ctrl-C stops the answer, the next turn works, Ctrl-D exits 0" \
  -e 'expect >>> ' -e raw -e 'send hello\r' -e 'sleep 800' -e 'send \x03' -e 'expect \(interrupted\)' \
  -e 'expect >>> ' -e raw -e 'send /set n-predict 4\r' -e 'expect n-predict = 4' -e 'expect >>> ' \
  -e raw -e 'send again\r' -e 'expect >>> ' -e raw -e 'send /dump\r' -e 'expect <\|im_start\|>user.*' \
  -e 'expect again<\|im_end\|>' -e 'expect >>> ' -e raw -e 'send \x04' -e 'wait 0' \
  -- "$L" -m "$TMP/q.gguf" --temp 0 -n -1 -c 8192
if [ "$(grep -c '<|im_start|>assistant' "$TMP/log")" = 2 ]; then
  pass "the interrupted answer is kept in the conversation"
else fail "the interrupted answer is kept in the conversation" "$(grep -c '<|im_start|>assistant' "$TMP/log") answers"; fi

if [ -f "$HOME/.llamafile_history" ] && grep -q '^hello$' "$HOME/.llamafile_history" &&
   grep -q '^again$' "$HOME/.llamafile_history"; then pass "the history file is written"
else fail "the history file is written" "$(ls -a "$HOME")"; fi

# Every key sent at the prompt waits for `raw`: libedit shows the prompt
# just before it leaves canonical mode, and a key a script types inside that
# window goes to the kernel's line discipline (a ^D there is read back as
# a NUL, not an end of input). No person types that fast.
run "Ctrl-C on an empty prompt exits 0" \
  -e 'expect >>> ' -e raw -e 'send \x03' -e 'wait 0' -- "$L" -m "$TMP/q.gguf" --temp 0 -n 4

# Colours: the reasoning is dimmed (SGR 2) on a colour terminal, and no
# SGR code is written with NO_COLOR or --no-color.
steps=(-e 'expect >>> ' -e raw -e 'send hello\r' -e 'expect >>> ' -e raw -e 'send /bye\r' -e 'wait 0')
run "a colour terminal: chat" "${steps[@]}" -- "$L" -m "$TMP/r1.gguf" --temp 0 -n 8
grep -q $'\033\\[2m' "$TMP/log" && pass "reasoning is dimmed on a colour terminal" ||
  fail "reasoning is dimmed on a colour terminal" "no ESC[2m"
run "NO_COLOR: chat" "${steps[@]}" -- env NO_COLOR=1 "$L" -m "$TMP/r1.gguf" --temp 0 -n 8
grep -q $'\033\\[[0-9;]*m' "$TMP/log" && fail "NO_COLOR: no colour codes" "found an SGR code" ||
  pass "NO_COLOR: no colour codes"
grep -q 'thinking: ' "$TMP/log" && pass "NO_COLOR: reasoning marked instead" ||
  fail "NO_COLOR: reasoning marked instead" "$(tail -c 200 "$TMP/log")"
run "--no-color: chat" "${steps[@]}" -- "$L" -m "$TMP/r1.gguf" --temp 0 -n 8 --no-color
grep -q $'\033\\[[0-9;]*m' "$TMP/log" && fail "--no-color: no colour codes" "found an SGR code" ||
  pass "--no-color: no colour codes"
