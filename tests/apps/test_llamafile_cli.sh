#!/bin/bash
# The llamafile command line on stories260K: greedy output equals llama.cpp's
# byte for byte, flags, errors, --verbose timings, Ctrl-C.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
M=$SHARED/models/stories260K.gguf
[ -e "$M" ] || { skip "llamafile cli" "no $M"; exit 0; }
P="Once upon a time"

for n in 64 256; do
  for t in 1 2; do
    "$LF" -m "$M" -p "$P" -n $n --temp 0 -t $t >"$TMP/out" 2>"$TMP/err"
    rc=$?
    { printf '%s' "$P"; cat "$SHARED/models/stories260K.greedy$n.txt"; } >"$TMP/want"
    if [ $rc -eq 0 ] && cmp -s "$TMP/out" "$TMP/want"; then
      pass "greedy $n tokens, $t threads, matches llama.cpp"
    else
      fail "greedy $n tokens, $t threads" "exit $rc; $(cmp "$TMP/out" "$TMP/want" 2>&1 | head -1)"
    fi
  done
done

"$LF" -m "$M" -p "$P" -n 16 --temp 0 --no-display-prompt >"$TMP/out" 2>/dev/null
head -c 20 "$SHARED/models/stories260K.greedy64.txt" >"$TMP/want"
[ "$(head -c 20 "$TMP/out")" = "$(cat "$TMP/want")" ] \
  && pass "--no-display-prompt" || fail "--no-display-prompt" "got: $(head -c 40 "$TMP/out")"

# Sampling is seeded: the same seed gives the same text, another seed differs.
a=$("$LF" -m "$M" -p "$P" -n 40 -s 7 --temp 1 2>/dev/null)
b=$("$LF" -m "$M" -p "$P" -n 40 -s 7 --temp 1 2>/dev/null)
c=$("$LF" -m "$M" -p "$P" -n 40 -s 8 --temp 1 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] \
  && pass "seeded sampling is reproducible" || fail "seeded sampling" "a=$a c=$c"
"$LF" -m "$M" -p "$P" -n 30 -s 1 --temp 0.9 --top-k 20 --top-p 0.9 --min-p 0.1 \
   --repeat-penalty 1.3 --repeat-last-n 32 --presence-penalty 0.5 --frequency-penalty 0.5 \
   -c 128 -b 4 >"$TMP/out" 2>"$TMP/err" \
  && pass "all sampling flags accepted" || fail "sampling flags" "$(cat "$TMP/err")"
"$LF" -m "$M" -p "$P" -n 30 --temp 0 --repeat-penalty 1.5 >"$TMP/rp" 2>/dev/null
"$LF" -m "$M" -p "$P" -n 30 --temp 0 >"$TMP/norp" 2>/dev/null
cmp -s "$TMP/rp" "$TMP/norp" && fail "repeat penalty" "no effect on greedy output" \
  || pass "repeat penalty changes greedy output"
"$LF" -m "$M" -p 'a\nb' -n 1 --temp 0 >"$TMP/out" 2>/dev/null
[ "$(head -c 3 "$TMP/out")" = $'a\nb' ] && pass "-e escapes by default" || fail "-e" "$(head -c 5 "$TMP/out" | od -c | head -1)"
printf 'Once upon a' >"$TMP/prompt.txt"
"$LF" -m "$M" -f "$TMP/prompt.txt" -n 4 --temp 0 >"$TMP/out" 2>/dev/null \
  && [ "$(head -c 11 "$TMP/out")" = "Once upon a" ] && pass "-f reads the prompt" || fail "-f" "$(head -c 40 "$TMP/out")"
"$LF" -m "$M" -p "$P" -n 100 --temp 0 -c 16 >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 0 ] && grep -q "context full" "$TMP/err" && pass "stops at a full context" || fail "full context" "exit $rc: $(cat "$TMP/err")"

# Diagnostics go to stderr; -ngl says once that it runs on the CPU.
"$LF" -m "$M" -p "$P" -n 4 --temp 0 -ngl 99 >"$TMP/out" 2>"$TMP/err"
[ "$(grep -ci "cpu" "$TMP/err")" -eq 1 ] && ! grep -qi cpu "$TMP/out" \
  && pass "-ngl reports CPU once on stderr" || fail "-ngl" "$(cat "$TMP/err")"
"$LF" -m "$M" -p "$P" -n 8 --temp 0 --verbose >/dev/null 2>"$TMP/err"
grep -q "load time" "$TMP/err" && grep -q "prompt .*tokens per second" "$TMP/err" \
  && grep -q "generation .*tokens per second" "$TMP/err" \
  && pass "--verbose prints load time and speeds" || fail "--verbose" "$(tail -3 "$TMP/err")"
grep -q "^llamafile: [1-9][0-9]* weight matrices .* to copy into memory, .* in the background" "$TMP/err" \
  && grep -q "^llamafile: weights copied into memory in [0-9]* ms" "$TMP/err" \
  && pass "--verbose: the weights are copied into memory by the decodes after the first" \
  || fail "held weights" "$(grep copy "$TMP/err")"
LLAMAFILE_REPACK=load "$LF" -m "$M" -p "$P" -n 8 --temp 0 --verbose >"$TMP/out" 2>"$TMP/err"
grep -q "^llamafile: [1-9][0-9]* weight matrices .* copied into memory, .* in [0-9]* ms" "$TMP/err" \
  && cmp -s "$TMP/out" <("$LF" -m "$M" -p "$P" -n 8 --temp 0 2>/dev/null) \
  && pass "LLAMAFILE_REPACK=load copies them at load, same text" || fail "LLAMAFILE_REPACK=load" "$(grep copied "$TMP/err")"
"$LF" -m "$M" -p "$P" -n 8 --temp 0 --verbose --no-repack >"$TMP/out" 2>"$TMP/err"
grep -q "^llamafile: 0 weight matrices (0 MiB) copied" "$TMP/err" && cmp -s "$TMP/out" <("$LF" -m "$M" -p "$P" -n 8 --temp 0 2>/dev/null) \
  && pass "--no-repack reads the weights from the file, same text" || fail "--no-repack" "$(grep copied "$TMP/err")"
LLAMAFILE_REPACK=yes "$LF" -m "$M" -p "$P" -n 8 --temp 0 >"$TMP/out" 2>"$TMP/err"
[ "$(grep -c "^llamafile: warning: LLAMAFILE_REPACK=yes is not 0, load or background; ignored$" "$TMP/err")" -eq 1 ] \
  && cmp -s "$TMP/out" <("$LF" -m "$M" -p "$P" -n 8 --temp 0 2>/dev/null) \
  && pass "an unknown LLAMAFILE_REPACK is named in a warning and ignored" || fail "LLAMAFILE_REPACK=yes" "$(cat "$TMP/err")"
"$LF" -m "$M" -p "$P" -n 8 --temp 0 --log-disable -ngl 1 >/dev/null 2>"$TMP/err"
[ ! -s "$TMP/err" ] && pass "--log-disable silences stderr" || fail "--log-disable" "$(cat "$TMP/err")"

# Help and version.
"$LF" --help >"$TMP/help"
missing=""
for f in -m -p -f -e -n -c -b -t -s --temp --top-k --top-p --min-p --repeat-penalty \
         --repeat-last-n --presence-penalty --frequency-penalty --ignore-eos \
         --no-display-prompt -ngl --verbose --log-disable --no-repack --version --help; do
  grep -q -- "$f\b" "$TMP/help" || missing="$missing $f"
done
[ -z "$missing" ] && pass "--help documents every flag" || fail "--help" "missing:$missing"
"$LF" --version | grep -q "^llamafile " && pass "--version" || fail "--version" "no version line"

# Bad input: one line on stderr, exit 1.
expect_error() {  # NAME PATTERN ARGS...
  local name=$1 pat=$2; shift 2
  "$LF" "$@" >"$TMP/o" 2>"$TMP/e"; local rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/e")" -eq 1 ] && grep -qi -- "$pat" "$TMP/e"; then
    pass "$name"
  else
    fail "$name" "exit $rc: $(head -c 200 "$TMP/e")"
  fi
}
expect_error "unknown flag" "unknown option" -m "$M" --bogus
expect_error "missing model file" "nonexistent" -m "$TMP/nonexistent.gguf" -p x
expect_error "no model (and none embedded): usage line" "^usage: llamafile" -p x
expect_error "bad -n value" "invalid value" -m "$M" -n abc
expect_error "bad --temp value" "invalid value" -m "$M" --temp 1x
expect_error "missing value" "needs a value" -m "$M" -n
expect_error "bad prompt file" "prompt file" -m "$M" -f "$TMP/none.txt"
head -c 3000 "$M" >"$TMP/trunc.gguf"
expect_error "truncated model" "trunc.gguf" -m "$TMP/trunc.gguf" -p x
expect_error "not a model (vocab only)" "token_embd" -m "$SHARED/vocab/ggml-vocab-llama-spm.gguf" -p x

# -n 0: the prompt and nothing generated.
out=$("$LF" -m "$M" -p "Once upon a time" -n 0 --temp 0 2>"$TMP/err")
[ $? -eq 0 ] && [ "$out" = "Once upon a time" ] && pass "-n 0 prints the prompt only" ||
  fail "-n 0" "printed '$out'"

# Ctrl-C: stops cleanly, keeps what was printed, exits 130.
"$LF" -m "$M" -p "$P" -n -1 --ignore-eos -c 60000 --temp 1 -s 3 >"$TMP/out" 2>"$TMP/err" &
pid=$!
# SIGINT once some text is out (up to 20 s: slow under qemu or load).
for i in $(seq 200); do [ "$(wc -c <"$TMP/out")" -gt 100 ] && break; sleep 0.1; done
kill -INT $pid
# Bounded: without a SIGINT handler the run would go on until 60000 tokens.
for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
  kill -KILL $pid; wait $pid
  fail "Ctrl-C" "still running 5 s after SIGINT"
else
  wait $pid; rc=$?
  [ $rc -eq 130 ] && [ "$(head -c 16 "$TMP/out")" = "$P" ] && [ "$(wc -c <"$TMP/out")" -gt 100 ] \
    && pass "Ctrl-C exits 130 with the text so far" || fail "Ctrl-C" "exit $rc, $(wc -c <"$TMP/out") bytes"
fi
