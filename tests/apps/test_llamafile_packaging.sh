#!/bin/bash
# Issue 4's done-when commands, as written, with model.gguf = stories260K:
# a llamafile made with zipalign runs its embedded weights and .args.
source "$(dirname "$0")/../lib.sh"
BIN=$(cd "$BIN" && pwd) || exit 1
[ -d "$SHARED" ] && SHARED=$(cd "$SHARED" && pwd)
M=$SHARED/models/stories260K.gguf
[ -f "$M" ] || { skip "packaging" "no $M"; exit 0; }
cd "$TMP" || exit 1
P="Once upon a time"
cp "$M" model.gguf
printf -- '-n\n64\n--temp\n0\n-p\n"Once upon a time"\n...\n' >.args

cp "$BIN/llamafile" test.llamafile
"$BIN/zipalign" -j0 test.llamafile model.gguf .args && pass "zipalign -j0 test.llamafile model.gguf .args" \
  || { fail "zipalign" "failed"; exit 0; }

{ printf '%s' "$P"; cat "$SHARED/models/stories260K.greedy64.txt"; } >want64
./test.llamafile >out 2>err; rc=$?
[ $rc -eq 0 ] && cmp -s out want64 && pass "./test.llamafile prints exactly the greedy-64 continuation" \
  || fail "./test.llamafile" "exit $rc: $(cmp out want64 2>&1 | head -1) $(head -c 200 err)"

"$BIN/llamafile" -m model.gguf -p "$P" -n 10 --temp 0 >want10 2>/dev/null
./test.llamafile -n 10 >out 2>/dev/null
cmp -s out want10 && pass "./test.llamafile -n 10 overrides .args" || fail "-n 10" "$(head -c 100 out)"

./test.llamafile -p "Once upon a time" -n 50 -ngl 0 >out 2>err; rc=$?
[ $rc -eq 0 ] && [ "$(head -c 16 out)" = "$P" ] && [ "$(wc -c <out)" -gt 100 ] \
  && pass './test.llamafile -p "Once upon a time" -n 50 -ngl 0' || fail "-n 50 -ngl 0" "exit $rc $(head -c 200 err)"

./test.llamafile --version 2>&1 | grep -i "gpu\|cuda\|metal" >gpu
grep -q "GPU: " gpu && pass "--version has a GPU line: $(cat gpu)" || fail "--version GPU line" "none"
./test.llamafile --version | grep -q "CPU features: .*AVX\|CPU features: " \
  && pass "--version lists CPU features" || fail "--version CPU" "none"

./test.llamafile -m model.gguf --help >out 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q -- "--ctx-size" out && pass "./test.llamafile -m model.gguf --help" \
  || fail "-m model.gguf --help" "exit $rc"

unzip -t test.llamafile >unzip.txt 2>&1 && pass "unzip -t test.llamafile" || fail "unzip -t" "$(tail -2 unzip.txt)"
unzip -l test.llamafile | grep -q " model.gguf$" && pass "unzip -l lists model.gguf" || fail "unzip -l" "no model.gguf"

# The weights are mapped from the executable, not read into a copy.
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  size=$(stat -c %s model.gguf)
  strace -f -e trace=read,pread64,readv,preadv,mmap -o trace.txt ./test.llamafile -n 1 >/dev/null 2>&1
  big=$(awk -v s="$size" -F'= ' '/^[0-9]+ +(read|pread64|readv|preadv)\(/ && $NF + 0 >= s / 2' trace.txt)
  if [ -n "$big" ]; then fail "weights mapped in place" "large read: $(head -1 <<<"$big")"
  elif grep -q "mmap(NULL, [0-9]*, PROT_READ, MAP_SHARED, [0-9]*, 0x[0-9a-f]*0000)" trace.txt; then
    pass "weights are mapped from the executable (no read of them)"
  else fail "weights mapped in place" "no shared mapping of the executable"; fi
else
  skip "weights mapped in place" "strace cannot trace here"
fi

# Model resolution errors.
cp "$BIN/llamafile" empty.llamafile
./empty.llamafile -p x >out 2>err; rc=$?
[ $rc -eq 1 ] && grep -q "^usage: llamafile" err && pass "no -m and no embedded model: usage line, exit 1" \
  || fail "no model" "exit $rc: $(cat err)"
cp model.gguf second.gguf
cp "$BIN/llamafile" two.llamafile && "$BIN/zipalign" -j two.llamafile model.gguf second.gguf
./two.llamafile -p x -n 1 >out 2>err; rc=$?
[ $rc -eq 1 ] && grep -q "model.gguf" err && grep -q "second.gguf" err \
  && pass "two embedded GGUFs: error lists them" || fail "two GGUFs" "exit $rc: $(cat err)"
"$BIN/llamafile" -m two.llamafile@second.gguf -p "$P" -n 4 --temp 0 >out 2>err \
  && [ "$(head -c 16 out)" = "$P" ] && pass "-m ARCHIVE@MEMBER picks one" || fail "@member" "$(cat err)"
"$BIN/llamafile" -m test.llamafile -p "$P" -n 4 --temp 0 >out 2>err \
  && [ "$(head -c 16 out)" = "$P" ] && pass "-m LLAMAFILE runs the GGUF inside it" || fail "-m llamafile" "$(cat err)"
zip -q -9 deflated.zip model.gguf
"$BIN/llamafile" -m deflated.zip -p x >out 2>err; rc=$?
[ $rc -eq 1 ] && grep -q "zipalign -0" err && pass "a compressed member: re-add it with zipalign -0" \
  || fail "compressed member" "exit $rc: $(cat err)"
"$BIN/gguf-dump" test.llamafile | grep -q 'general.architecture .*"llama"' \
  && pass "gguf-dump reads a llamafile" || fail "gguf-dump llamafile" "no architecture line"
