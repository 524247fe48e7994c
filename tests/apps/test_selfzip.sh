#!/bin/bash
# A program reading its own zip: a copy of test_model_locate with a GGUF
# and .args appended by zipalign finds them inside itself, merges .args
# with its command line, and maps the GGUF in place (no read of it).
source "$(dirname "$0")/../lib.sh"
BIN=$(cd "$BIN" && pwd) || exit 1
PROBE=$(cd "$(dirname "$TESTBIN/format/test_model_locate")" && pwd)/test_model_locate
[ -d "$SHARED" ] && SHARED=$(cd "$SHARED" && pwd)
cd "$TMP" || exit 1
if [ ! -x "$PROBE" ]; then
  skip "self zip" "no $PROBE"; exit 0
fi
if [ ! -f "$SHARED/models/stories260K.gguf" ]; then
  skip "self zip" "no $SHARED/models/stories260K.gguf"; exit 0
fi
cp "$SHARED/models/stories260K.gguf" model.gguf
printf -- '-n 64\n--temp 0\n-p "Once upon a time"\n...\n-m /zip/model.gguf # comment\n' >.args
cp "$PROBE" probe
"$BIN/zipalign" -j0 probe model.gguf .args || { fail "zipalign" "failed"; exit 0; }
cd / && out=$("$TMP/probe" --self-probe -n 10 2>&1); cd "$TMP" || exit 1

grep -qx 'args: \[-n\] \[64\] \[--temp\] \[0\] \[-p\] \[Once upon a time\] \[-n\] \[10\] \[-m\] \[/zip/model.gguf\]' <<<"$out" \
  && pass ".args merged, user arguments at ..." || fail ".args merge" "$(grep '^args' <<<"$out")"
off=$(grep '^(none): /zip/model.gguf offset ' <<<"$out" | awk '{ print $4 }')
[ -n "$off" ] && [ "$off" -gt 0 ] && [ $((off % 65536)) = 0 ] \
  && pass "no -m: the single .gguf inside the executable, aligned" || fail "no -m" "$out"
grep -q "^/zip/model.gguf: /zip/model.gguf offset $off size $(stat -c %s model.gguf)$" <<<"$out" \
  && pass "/zip/NAME names a member of the executable" || fail "/zip/NAME" "$out"
grep -q "^model.gguf: model.gguf offset $off" <<<"$out" \
  && pass "a name that is no file falls back to the executable's member" || fail "fallback" "$out"
grep -q '^gguf: opened' <<<"$out" && pass "the embedded GGUF opens" || fail "embedded GGUF" "$out"
cmp -s <(dd if=probe bs=64K skip=$((off / 65536)) count=$(( ($(stat -c %s model.gguf) + 65535) / 65536 )) status=none | head -c "$(stat -c %s model.gguf)") model.gguf \
  && pass "the member's bytes are the model at that offset" || fail "member bytes" "differ"

# Mapped in place: the model's bytes are never read, the executable is mmapped.
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  size=$(stat -c %s model.gguf)
  strace -f -e trace=read,pread64,readv,preadv,mmap -o trace.txt ./probe --self-probe >/dev/null 2>&1
  big=$(awk -v s="$size" -F'= ' '/^[0-9]+ +(read|pread64|readv|preadv)\(/ && $NF + 0 >= s / 2' trace.txt)
  maps=$(grep -c "mmap(NULL, [0-9]*, PROT_READ, MAP_SHARED, [0-9]*, 0x[0-9a-f]*0000)" trace.txt)
  if [ -n "$big" ]; then fail "mapped in place" "a read of the model's size: $big"
  elif [ "$maps" -lt 1 ]; then fail "mapped in place" "no shared read-only mapping at a 64 KiB offset"
  else pass "mapped in place: no read of the model, a shared mapping of the executable"; fi
else
  skip "mapped in place" "strace cannot trace here"
fi

# No .args: the command line is left alone.
cp "$PROBE" bare && "$BIN/zipalign" -j bare model.gguf
out=$(./bare --self-probe a 'b c' 2>&1)
grep -qx 'args: \[a\] \[b c\]' <<<"$out" && pass "no .args: arguments unchanged" || fail "no .args" "$out"

# A bad .args stops with its error.
printf 'x "unterminated\n' >.args
cp "$PROBE" badargs && "$BIN/zipalign" -j badargs .args
out=$(./badargs --self-probe 2>&1)
grep -qx 'args error: .args: line 1: unterminated double quote' <<<"$out" \
  && pass "bad .args gives its error" || fail "bad .args" "$out"
