#!/bin/bash
# llamafile-quantize's output: a symbolic link is written through (the file
# it leads to replaced, the link kept); a FIFO, a directory or a dangling
# link is refused and left as it was; a failure (a file size limit) leaves
# the old output and no temporary file; --version; stdout on a full disk.
source "$(dirname "$0")/../lib.sh"
BIN=$(cd "$BIN" && pwd) || exit 1
[ -d "$SHARED" ] && SHARED=$(cd "$SHARED" && pwd)
Q=$BIN/llamafile-quantize
M=$SHARED/models/stories260K.gguf
cd "$TMP" || exit 1

out=$("$Q" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "llamafile-quantize 0.1.0" ] && pass "--version" || fail "--version" "rc=$rc '$out'"
"$Q" --help | grep -q -- '--version' && "$Q" --help | grep -qi 'symbolic link' \
  && pass "--help documents --version and symbolic links" || fail "--help" "no --version or link line"
for a in --help --version; do
  out=$("$Q" $a 2>&1 >/dev/full); rc=$?
  [ $rc = 1 ] && [ "$out" = "llamafile-quantize: cannot write output: No space left on device" ] \
    && pass "$a >/dev/full fails" || fail "$a >/dev/full" "rc=$rc '$out'"
done

if [ ! -f "$M" ]; then
  skip "quantize output paths" "no $M"
  exit 0
fi
mkdir -p out
# Files in out/ other than the ones named: temporary files left behind.
strays() { ls -A out | grep -vxF -e target -e link.gguf -e fifo.gguf -e dir.gguf -e dangling.gguf; }

echo old >out/target && chmod 640 out/target
ln -s target out/link.gguf
check "OUT a symbolic link" "$Q" -q "$M" out/link.gguf F16
[ -L out/link.gguf ] && [ "$(head -c 4 out/target)" = GGUF ] && [ "$(stat -c %a out/target)" = 640 ] \
  && pass "the link kept, its target replaced (mode kept)" \
  || fail "OUT a symbolic link" "$(ls -l out | tr '\n' ' ')"

mkfifo out/fifo.gguf && mkdir out/dir.gguf && ln -s missing out/dangling.gguf
refused() {
  local name=$1 path=$2 want=$3 test=$4 out rc
  out=$(timeout 20 "$Q" -q "$M" "$path" F16 2>&1); rc=$?
  if [ $rc != 1 ]; then fail "$name" "exit status $rc: $out"
  elif ! grep -q "llamafile-quantize: $path: $want" <<<"$out"; then fail "$name" "message: $out"
  elif ! test $test "$path"; then fail "$name" "$path was replaced"
  elif [ -n "$(strays)" ]; then fail "$name" "left behind: $(strays)"
  else pass "$name: refused, left as it was"; fi
}
refused "OUT a FIFO" out/fifo.gguf "exists and is a FIFO" -p
refused "OUT a directory" out/dir.gguf "exists and is a directory" -d
refused "OUT a dangling symbolic link" out/dangling.gguf "is a symbolic link to a missing file" -L
[ ! -e out/missing ] && pass "no file made where the dangling link leads" || fail "dangling link" "out/missing made"

# Past a file size limit: exit 1 with a message (not killed by SIGXFSZ),
# the old file intact, no temporary file left.
cp out/target saved
out=$(bash -c 'ulimit -f 200; exec "$0" -q "$1" out/link.gguf BF16' "$Q" "$M" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "File too large" <<<"$out" && cmp -s saved out/target && [ -z "$(strays)" ] \
  && pass "file size limit: refused, old output intact, nothing left" \
  || fail "file size limit" "rc=$rc $(tail -n 1 <<<"$out"); left: $(strays)"
out=$("$Q" -q "$M" out/link.gguf F16 2>&1 >/dev/full); rc=$?
[ $rc = 0 ] && pass "a run prints nothing on stdout (>/dev/full is no error)" || fail ">/dev/full run" "rc=$rc $out"

# SIGTERM mid-run: the temporary file is removed, then the signal acts; the
# old output stays. (A ~100 MB random model, one thread: a few seconds.)
VOCAB=$SHARED/vocab/ggml-vocab-llama-spm.gguf
if [ -f "$VOCAB" ] && "$BIN/llamafile-mkmodel" --arch llama --preset tiny --n-embd 512 --n-ff 1408 \
     --n-layer 6 --n-vocab 32000 --vocab "$VOCAB" big.gguf >/dev/null 2>&1; then
  mkdir -p sig && echo old >sig/q.gguf
  timeout 60 "$Q" -q -t 1 big.gguf sig/q.gguf Q4_K_M 2>sig.err &
  pid=$!
  for _ in $(seq 200); do [ "$(ls sig | wc -l)" -gt 1 ] && break; sleep 0.05; done
  sleep 0.2
  kill -TERM $pid 2>/dev/null
  wait $pid; rc=$?
  if [ $rc = 0 ]; then
    skip "SIGTERM mid-run" "the run finished before the signal"
  elif [ $rc = 143 ] && [ "$(ls sig)" = q.gguf ] && [ "$(cat sig/q.gguf)" = old ]; then
    pass "SIGTERM mid-run: temporary file removed, old output intact"
  else
    fail "SIGTERM mid-run" "rc=$rc, left: $(ls sig | tr '\n' ' ') $(tail -n 1 sig.err)"
  fi
  # an ignored signal (nohup) does not stop the run
  bash -c 'trap "" HUP; exec "$0" -q -t 2 big.gguf sig/h.gguf Q4_K_M' "$Q" 2>sig.err &
  pid=$!
  ( trap 'kill $s; exit 0' TERM; sleep 60 & s=$!; wait $s; kill -KILL $pid ) 2>/dev/null &
  watchdog=$!
  for _ in $(seq 200); do [ "$(ls sig | wc -l)" -gt 1 ] && break; sleep 0.05; done
  sleep 0.2
  kill -HUP $pid 2>/dev/null
  wait $pid; rc=$?
  kill $watchdog 2>/dev/null
  [ $rc = 0 ] && [ -s sig/h.gguf ] && pass "an ignored SIGHUP mid-run: the run completes" \
    || fail "ignored SIGHUP mid-run" "rc=$rc $(tail -n 1 sig.err)"
  rm -f big.gguf
else
  skip "SIGTERM mid-run" "cannot make a model (no $VOCAB?)"
fi
