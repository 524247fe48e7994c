#!/bin/bash
# Generation runs on every architecture of ../shared/vectors with 1 and 2
# threads (greedy output identical across thread counts), and an unknown
# architecture is refused with the list of supported ones.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
V=$SHARED/vectors
[ -d "$V" ] || { skip "generation per architecture" "no $V"; exit 0; }
for f in llama-Q4_K_M qwen3-Q8_0 gemma3-Q4_K_M bailingmoe2-Q2_K granitehybrid-Q6_K \
         gemma3n-Q4_K_M gpt-oss-MXFP4_MOE; do
  m=$V/$f.gguf
  [ -f "$m" ] || { skip "generate $f" "missing"; continue; }
  ok=1 why=""
  for t in 1 2; do
    if ! "$LF" -m "$m" -p x -n 32 --temp 0 --ignore-eos -t $t >"$TMP/out$t" 2>"$TMP/err$t"; then
      ok=0 why="-t $t: $(tail -1 "$TMP/err$t")"
    fi
  done
  [ $ok = 1 ] && ! cmp -s "$TMP/out1" "$TMP/out2" && ok=0 why="-t 1 and -t 2 differ"
  [ $ok = 1 ] && [ "$(wc -c <"$TMP/out1")" -le 3 ] && ok=0 why="nothing generated"
  [ $ok = 1 ] && pass "generate 32 tokens with $f, 1 and 2 threads" || fail "generate $f" "$why"
done

# An architecture we do not run: rewrite general.architecture in a copy.
src=$V/llama-Q4_0.gguf
if [ -f "$src" ]; then
  cp "$src" "$TMP/alien.gguf"
  off=$(grep -abo 'general.architecture' "$TMP/alien.gguf" | head -1 | cut -d: -f1)
  # key (20 bytes) + u32 type + u64 length, then the 5-byte value "llama"
  printf 'zzzzz' | dd of="$TMP/alien.gguf" bs=1 seek=$((off + 20 + 4 + 8)) conv=notrunc status=none
  "$LF" -m "$TMP/alien.gguf" -p x -n 1 >/dev/null 2>"$TMP/err"; rc=$?
  if [ $rc -eq 1 ] && grep -q "architecture zzzzz is not supported" "$TMP/err" \
     && grep -q "llama" "$TMP/err" && grep -q "gpt-oss" "$TMP/err"; then
    pass "unknown architecture: refused, supported ones listed"
  else
    fail "unknown architecture" "exit $rc: $(cat "$TMP/err")"
  fi
fi
