#!/bin/bash
# llamafile-quantize: the command line, its output against llama-quantize's
# file, the per-layer mix on a random tiny model, --pure, bad input.
source "$(dirname "$0")/../lib.sh"
Q=$BIN/llamafile-quantize
MK=$BIN/llamafile-mkmodel
VOCAB=$SHARED/vocab/ggml-vocab-llama-spm.gguf
MASTER=$SHARED/vectors/llama-F32.gguf

check "--help lists the types" bash -c '"$0" --help | grep -q "Q4_K_M" && "$0" --help | grep -q IQ4_XS' "$Q"

bad_args() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1 >/dev/null </dev/null); rc=$?
  if [ "$rc" -ne 0 ] && grep -q . <<<"$out" && [ "$(grep -c 'llamafile-quantize:' <<<"$out")" -le 2 ]; then
    pass "$name"
  else
    fail "$name" "status $rc, output: $(head -c 200 <<<"$out")"
  fi
}
bad_args "no arguments" "$Q"
bad_args "unknown type" "$Q" "$MASTER" "$TMP/o.gguf" Q7_K
bad_args "unsupported type" "$Q" "$MASTER" "$TMP/o.gguf" IQ2_XXS
bad_args "unknown option" "$Q" --fast "$MASTER" "$TMP/o.gguf" Q4_0
bad_args "bad thread count" "$Q" -t 0 "$MASTER" "$TMP/o.gguf" Q4_0
bad_args "missing input" "$Q" "$TMP/none.gguf" "$TMP/o.gguf" Q4_0
printf 'GGUF\3\0\0\0garbage' >"$TMP/junk.gguf"
bad_args "corrupt input" "$Q" "$TMP/junk.gguf" "$TMP/o.gguf" Q4_0
bad_args "unwritable output" "$Q" "$MASTER" "$TMP/no/such/dir/o.gguf" Q4_0
[ -e "$TMP/o.gguf" ] && fail "failures leave no output" "$TMP/o.gguf exists" || pass "failures leave no output"

# llama-F32 -> Q4_K_M and Q3_K_M: the same bytes as llama.cpp's llama-quantize.
if [ -e "$MASTER" ]; then
  for t in Q4_K_M Q3_K_M; do
    if "$Q" -q "$MASTER" "$TMP/llama-$t.gguf" $t 2 2>"$TMP/err" \
       && cmp -s "$TMP/llama-$t.gguf" "$SHARED/vectors/llama-$t.gguf"; then
      pass "llama-F32 -> $t is byte-identical to llama-quantize's file"
    else
      fail "llama-F32 -> $t is byte-identical to llama-quantize's file" "$(tail -1 "$TMP/err")"
    fi
  done
  # progress lines on stderr, one per tensor
  "$Q" -t 2 "$MASTER" "$TMP/p.gguf" Q8_0 2>"$TMP/err" >"$TMP/out"
  n=$(grep -c '^\[ *[0-9]*/  *21\]' "$TMP/err")
  [ "$n" -eq 21 ] && [ ! -s "$TMP/out" ] && grep -q 'converting to Q8_0' "$TMP/err" \
    && pass "progress on stderr" || fail "progress on stderr" "$n progress lines"
  # requantizing needs --allow-requantize
  bad_args "requantize refused" "$Q" "$TMP/p.gguf" "$TMP/r.gguf" Q4_0
  check "requantize with --allow-requantize" "$Q" -q --allow-requantize "$TMP/p.gguf" "$TMP/r.gguf" Q4_0
else
  skip "llama-F32 -> llama.cpp's files" "no $MASTER"
fi

if [ ! -e "$VOCAB" ]; then
  skip "quantize the tiny model" "no $VOCAB"
  exit 0
fi
# A random 9-layer model; ffn rows of 320 force fallbacks for 256-blocks.
M=$TMP/tiny.gguf
check "mkmodel" "$MK" --arch llama --preset tiny --vocab "$VOCAB" --n-layer 9 --n-ff 320 "$M"

types_of() { "$BIN/gguf-dump" --json "$1" | jq -r '.tensors[] | "\(.name) \(.type)"'; }
# TYPE then expected "name type" lines (grep -x patterns)
expect_mix() {
  local name=$1 file=$2; shift 2
  local got miss=""
  got=$(types_of "$file")
  for want in "$@"; do grep -qx "$want" <<<"$got" || miss="$miss [$want]"; done
  [ -z "$miss" ] && pass "$name" || fail "$name" "missing:$miss"
}
"$Q" -q -t 2 "$M" "$TMP/q4km.gguf" Q4_K_M 2>"$TMP/err" || fail "Q4_K_M" "$(tail -1 "$TMP/err")"
grep -q "fallback" "$TMP/err" && pass "fallbacks reported" || fail "fallbacks reported" "no warning"
# 9 layers: use_more_bits(i, 9) is true for layers 0, 3, 6, 7, 8; ffn_down
# wants Q6_K there (-> Q8_0 at 320 columns), Q4_K elsewhere (-> Q5_0)
expect_mix "Q4_K_M mix on 9 layers" "$TMP/q4km.gguf" \
  "output.weight Q6_K" "token_embd.weight Q4_K" "output_norm.weight F32" \
  "blk.0.attn_v.weight Q6_K" "blk.1.attn_v.weight Q4_K" "blk.3.attn_v.weight Q6_K" \
  "blk.6.attn_v.weight Q6_K" "blk.7.attn_v.weight Q6_K" "blk.5.attn_v.weight Q4_K" \
  "blk.0.ffn_down.weight Q8_0" "blk.1.ffn_down.weight Q5_0" "blk.8.ffn_down.weight Q8_0" \
  "blk.4.ffn_gate.weight Q4_K" "blk.4.attn_q.weight Q4_K"
"$Q" -q "$M" "$TMP/q3km.gguf" Q3_K_M 2>/dev/null
expect_mix "Q3_K_M mix" "$TMP/q3km.gguf" \
  "blk.0.attn_v.weight Q5_K" "blk.1.attn_v.weight Q5_K" "blk.2.attn_v.weight Q4_K" \
  "blk.2.attn_output.weight Q4_K" "blk.2.ffn_down.weight Q5_0" "blk.2.ffn_up.weight Q3_K" \
  "output.weight Q6_K"
"$Q" -q "$M" "$TMP/iq4xs.gguf" IQ4_XS 2>/dev/null
expect_mix "IQ4_XS mix" "$TMP/iq4xs.gguf" \
  "blk.0.attn_v.weight IQ4_XS" "blk.0.ffn_down.weight Q5_1" "blk.1.ffn_down.weight IQ4_NL" \
  "blk.1.ffn_up.weight IQ4_XS" "output.weight Q6_K"
"$Q" -q --pure "$M" "$TMP/pure.gguf" Q5_K_M 2>/dev/null
got=$(types_of "$TMP/pure.gguf" | awk '{print $2}' | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')
[ "$got" = "F32:19 Q5_1:9 Q5_K:56 " ] && pass "--pure Q5_K_M" || fail "--pure Q5_K_M" "$got"

# The quantized models run.
for f in q4km q3km iq4xs pure; do
  check "$f model runs" "$BIN/llamafile-bench" -m "$TMP/$f.gguf" -p 8 -n 2 -r 1 -t 2 -o csv
done
