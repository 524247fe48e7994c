#!/bin/bash
# What a hostile tester found (the hardening issue), one check each: a model
# producing NaN logits, FIFOs and devices given as files, prompts that are
# huge, binary or hold NUL bytes, a full disk as stdout, out-of-range flag
# values, a damaged llamafile, bad .args, --version everywhere, help text,
# the context default, and static binaries that call dlopen.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
M=$SHARED/models/stories260K.gguf
[ -e "$M" ] || { skip "hostile inputs" "no $M"; exit 0; }
PROGRAMS="llamafile gguf-dump llamafile-tokenize llamafile-logits llamafile-bench
          llamafile-quantize llamafile-mkmodel zipalign"

# expect NAME RC WANT CMD...: CMD exits with RC and its stderr holds WANT.
expect() {
  local name=$1 want_rc=$2 want=$3; shift 3
  timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ $rc -eq "$want_rc" ] && { [ -z "$want" ] || grep -qF -- "$want" "$TMP/err"; }; then
    pass "$name"
  else
    fail "$name" "exit $rc (want $want_rc); stderr: $(head -c 300 "$TMP/err" | tr '\n' '|')"
  fi
}

# 1. NaN logits: a one-line error naming the position, exit 1, at any
#    temperature (greedy used to print token 0 forever, sampling crashed).
head -c 145504 "$M" >"$TMP/nan.gguf"
for _ in $(seq 32); do printf '\x00\x00\xc0\x7f%.0s' $(seq 1024); done >>"$TMP/nan.gguf"
tail -c +$((145504 + 131072 + 1)) "$M" >>"$TMP/nan.gguf"
for t in 0.8 0; do
  expect "NaN weights, --temp $t: stops with an error" 1 \
    "the model produced non-finite logits at token 3" \
    "$LF" -m "$TMP/nan.gguf" -p "Once upon" -n 16 --temp $t -s 1
done
[ "$(grep -c . "$TMP/err")" = 1 ] && pass "NaN error is one line" \
  || fail "NaN error is one line" "$(tr '\n' '|' <"$TMP/err")"

# 6. Files that are not regular files are refused at once, never waited on.
mkfifo "$TMP/fifo"
expect "llamafile -m FIFO refused" 1 "not a regular file (a FIFO)" "$LF" -m "$TMP/fifo" -p x
expect "gguf-dump FIFO refused" 1 "not a regular file (a FIFO)" "$BIN/gguf-dump" "$TMP/fifo"
expect "llamafile-tokenize -m FIFO refused" 1 "not a regular file (a FIFO)" \
  "$BIN/llamafile-tokenize" -m "$TMP/fifo" -p x
expect "llamafile-logits -m FIFO refused" 1 "not a regular file (a FIFO)" \
  "$BIN/llamafile-logits" -m "$TMP/fifo" --tokens 1 -o "$TMP/x.f32"
expect "llamafile-bench -m FIFO refused" 1 "not a regular file (a FIFO)" \
  "$BIN/llamafile-bench" -m "$TMP/fifo" -p 1 -n 0 -r 1
expect "llamafile -m DIRECTORY refused" 1 "not a regular file (a directory)" "$LF" -m "$TMP" -p x
expect "-f /dev/zero stops at the cap" 1 "larger than the 256 MiB limit for text input" \
  "$LF" -m "$M" -f /dev/zero -n 1
expect "llamafile-tokenize -f /dev/zero stops at the cap" 1 "larger than the 256 MiB limit" \
  "$BIN/llamafile-tokenize" -m "$M" -f /dev/zero
printf 'Once upon a time' >"$TMP/fifo" & # a pipe as a prompt file is fine
expect "-f a pipe works" 0 "" "$LF" -m "$M" -f "$TMP/fifo" -n 2 --temp 0
wait

# 7. Prompts that tokenize to more tokens than bytes.
p=$(printf '\xc3 %.0s' {1..10})
expect "prompt of '\\xc3 ' x10 is accepted" 0 "" "$LF" -m "$M" -p "$p" -n 4 --temp 0
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 4000; i++) printf "%c", 1 + int(rand() * 255) }' \
  >"$TMP/garbage"
expect "4000 random bytes as a prompt" 0 "" "$LF" -m "$M" -f "$TMP/garbage" -n 1 --temp 0 -c 8192
F=$SHARED/vocab/ggml-vocab-falcon.gguf
if [ -e "$F" ]; then
  timeout 60 "$BIN/llamafile-tokenize" -m "$F" -f "$TMP/garbage" --show-count >"$TMP/out" 2>"$TMP/err"
  n=$(sed -n 's/^Total number of tokens: //p' "$TMP/out")
  [ -n "$n" ] && [ "$n" -gt 4008 ] && pass "falcon vocab: 4000 bytes of garbage give $n tokens" \
    || fail "falcon vocab on garbage" "count '$n': $(head -c 200 "$TMP/err")"
else
  skip "falcon vocab on garbage" "no $F"
fi

# 8. A NUL byte in a prompt file: refused with its offset, never cut short.
printf 'Once\0upon' >"$TMP/nul.txt"
expect "NUL byte in -f refused" 1 "a NUL byte at offset 4" "$LF" -m "$M" -f "$TMP/nul.txt"
expect "llamafile-tokenize keeps a NUL byte as text" 0 "" \
  "$BIN/llamafile-tokenize" -m "$M" -f "$TMP/nul.txt" --ids
[ "$(cat "$TMP/out")" != "$("$BIN/llamafile-tokenize" -m "$M" -p Once --ids)" ] \
  && pass "tokenize: text after the NUL is kept" || fail "tokenize NUL" "$(cat "$TMP/out")"

# 9. A full disk as stdout: exit 1 and the reason, for every program.
full() { local name=$1; shift; expect "$name >/dev/full" 1 "cannot write output: No space left on device" \
  bash -c '"$@" >/dev/full' _ "$@"; }
full "llamafile" "$LF" -m "$M" -p "Once upon a time" -n 8 --temp 0
full "llamafile (prompt only, EOS at once)" "$LF" -m "$M" -p "x" -n 0
full "llamafile-tokenize" "$BIN/llamafile-tokenize" -m "$M" -p "Once upon a time"
full "llamafile-bench" "$BIN/llamafile-bench" -m "$M" -p 8 -n 4 -r 1
full "gguf-dump" "$BIN/gguf-dump" "$M"
for p in $PROGRAMS; do
  full "$p --version" "$BIN/$p" --version
  full "$p --help" "$BIN/$p" --help
done

# 13. --version on every program.
for p in $PROGRAMS; do
  out=$(timeout 10 "$BIN/$p" --version 2>&1); rc=$?
  [ $rc -eq 0 ] && [[ "$(head -n 1 <<<"$out")" == "$p "[0-9]* ]] && pass "$p --version" \
    || fail "$p --version" "exit $rc: $(head -n 1 <<<"$out")"
done

# 10. llamafile-logits: a context smaller than the tokens is refused (as
#     llamafile refuses a prompt longer than -c); without -c it fits them.
expect "logits -c 2 with 3 tokens refused" 1 "3 tokens do not fit the context of 2 (raise -c)" \
  "$BIN/llamafile-logits" -m "$M" --tokens 1,2,3 -c 2 -o "$TMP/x.f32"
expect "logits: 300 tokens without -c" 0 "" \
  "$BIN/llamafile-logits" -m "$M" --tokens "$(seq -s, 300)" -o "$TMP/x.f32"
expect "llamafile: a prompt longer than -c refused" 1 "does not fit the context of 4" \
  "$LF" -m "$M" -p "Once upon a time there was" -c 4

# 11. Out-of-range values name the range; llama.cpp's -n -2 and -s -1 work.
expect "-n -3 names the range" 1 "invalid value '-3' for -n (expected an integer from -2 to" \
  "$LF" -m "$M" -p x -n -3
expect "-t -2 names the range" 1 "(expected an integer from -1 to 512)" "$LF" -m "$M" -p x -t -2
expect "-s -5 names the range" 1 "(expected an integer from -1 to 4294967295)" \
  "$LF" -m "$M" -p x -s -5
expect "-c 100000000 names the range" 1 "(expected an integer from 0 to 16777216)" \
  "$LF" -m "$M" -p x -c 100000000
expect "-n -2 runs to a full context" 0 "context full (32 tokens)" \
  "$LF" -m "$M" -p "Once upon a time" -n -2 -c 32 --temp 0
expect "-s -1 and -t 0 accepted" 0 "" "$LF" -m "$M" -p x -n 2 -s -1 -t 0

# 12, 14. A damaged llamafile says so; a bad .args argument says where it came from.
cp "$LF" "$TMP/good.llamafile"
printf -- '-n\n4\n...\n' >"$TMP/.args"
"$BIN/zipalign" -j0 "$TMP/good.llamafile" "$M" "$TMP/.args" >/dev/null 2>&1
expect "a packaged llamafile runs" 0 "" "$TMP/good.llamafile" -p "Once" --temp 0
cp "$TMP/good.llamafile" "$TMP/bad.llamafile"
eocd=$(LC_ALL=C grep -boa $'PK\x05\x06' "$TMP/bad.llamafile" | tail -n 1 | cut -d: -f1)
printf '\0' | dd of="$TMP/bad.llamafile" bs=1 seek=$((eocd + 2)) conv=notrunc status=none
expect "damaged llamafile says its archive is damaged" 1 \
  "the zip archive appended to this program (bytes " "$TMP/bad.llamafile" -p "Once"
cp "$LF" "$TMP/args.llamafile"
printf -- '-n\n4\n--bogus\n...\n' >"$TMP/.args"
"$BIN/zipalign" -j0 "$TMP/args.llamafile" "$M" "$TMP/.args" >/dev/null 2>&1
expect "unknown option from .args" 1 "llamafile: in .args: unknown option '--bogus'" \
  "$TMP/args.llamafile" -p x
cp "$LF" "$TMP/args2.llamafile"
printf -- '-c\nlots\n...\n' >"$TMP/.args"
"$BIN/zipalign" -j0 "$TMP/args2.llamafile" "$M" "$TMP/.args" >/dev/null 2>&1
expect "bad value from .args" 1 "in .args: invalid value 'lots' for -c" "$TMP/args2.llamafile" -p x
expect "the user's bad option is not blamed on .args" 1 "llamafile: unknown option '--mine'" \
  "$TMP/good.llamafile" --mine

# 15. Help and the context default.
help=$("$LF" --help)
grep -q '^usage: llamafile \[options\] \[-m MODEL\] \[-p PROMPT | -f FILE\]$' <<<"$help" \
  && pass "usage line shows -p as optional" || fail "usage line" "$(head -n 1 <<<"$help")"
for flag in -ctv --cache-type-v --n-gpu-layers; do
  grep -q -- "$flag" <<<"$help" && pass "--help lists $flag" || fail "--help lists $flag" "missing"
done
expect "default context is the training context (2048)" 0 "context 2048" \
  "$LF" -m "$M" -p x -n 1 -v
expect "-c above the training context warns" 0 "-c 4096 is more than the 2048 tokens the model was trained on" \
  "$LF" -m "$M" -p x -n 1 -c 4096

# 16. No static binary holds the GPU detection, which calls dlopen: the
#     linker warns about that, and it would need the build's own glibc.
for p in $PROGRAMS; do
  f=$BIN/$p
  if readelf -l "$f" 2>/dev/null | grep -q INTERP; then
    pass "$p: dynamically linked, dlopen is safe"
  elif nm "$f" 2>/dev/null | grep -qw lf_gpu_describe; then
    fail "$p" "statically linked with the GPU detection's dlopen (add it to LIBC_DYNAMIC)"
  else
    pass "$p: static, no dlopen"
  fi
done
