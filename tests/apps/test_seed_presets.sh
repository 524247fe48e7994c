#!/bin/bash
# The seed architectures at test size: llamafile-mkmodel's -small preset of
# each (in the seed file's quant type) has the tensor names and metadata
# keys of the llama.cpp-made vector model of its architecture, packages
# into a llamafile with zipalign and .args, runs with the same tokens at
# -t 1 and -t 2, gives finite logits, and gguf-dump reads it in the zip.
source "$(dirname "$0")/../lib.sh"
BIN=$(cd "$BIN" && pwd) || exit 1
[ -d "$SHARED" ] && SHARED=$(cd "$SHARED" && pwd)
export SHARED
[ -f "$SHARED/vocab/ggml-vocab-llama-spm.gguf" ] || { skip "seed presets" "no $SHARED/vocab"; exit 0; }
command -v jq >/dev/null || { skip "seed presets" "jq missing"; exit 0; }
cd "$TMP" || exit 1

# preset, file type, vector model of the same architecture, its layers
# whose tensors are compared (the vectors have fewer layers)
while read -r preset type vector layers; do
  m=$preset.gguf
  if ! "$BIN/llamafile-mkmodel" --preset "$preset" --type "$type" "$m" 2>err; then
    fail "mkmodel $preset $type" "$(tail -1 err)"; continue
  fi
  size=$(stat -c %s "$m")
  [ "$size" -lt 50000000 ] && pass "mkmodel --preset $preset --type $type ($size bytes)" \
    || fail "mkmodel $preset" "$size bytes, over 50 MB"

  # Names of the vector's non-block tensors and those of its first layers,
  # and its ARCH.* keys: all in ours, with the same shapes for non-block
  # tensors' first dimension (ours may have more layers and tokens).
  v=$SHARED/vectors/$vector.gguf
  if [ -f "$v" ]; then
    "$BIN/gguf-dump" --json "$v" >v.json && "$BIN/gguf-dump" --json "$m" >m.json
    missing=$(jq -r --argjson L "$layers" --slurpfile v v.json '
      def blk: (.name | capture("^blk\\.(?<n>[0-9]+)\\.") | .n | tonumber) // -1;
      ([.tensors[] | .name]) as $ours
      | ([.metadata[] | .key]) as $keys
      | ($v[0].tensors[] | select(blk < $L) | .name | select(. as $n | $ours | index($n) | not)),
        ($v[0].metadata[] | .key | select(test("^(general|tokenizer)\\.") | not)
         | select(. as $k | $keys | index($k) | not) | "key " + .)' m.json | head -5)
    [ -z "$missing" ] && pass "$preset: the tensors and keys of $vector" \
      || fail "$preset: tensors and keys of $vector" "missing: $(echo $missing)"
    ftype=$(jq -r '.metadata[] | select(.key == "general.file_type") | .value' m.json)
    want=$(jq -r '.metadata[] | select(.key == "general.file_type") | .value' v.json)
    [ "$ftype" = "$want" ] && pass "$preset: general.file_type $ftype as the vector's" \
      || fail "$preset: file type" "$ftype, the vector has $want"
  else
    skip "$preset: tensors of $vector" "no $v"
  fi

  # finite logits over a few tokens, in one batch
  if "$BIN/llamafile-logits" -m "$m" --tokens 1,50,100,150,200,250,300,350 -t 2 \
       -o logits.f32 >/dev/null 2>err; then
    bad=$(od -An -v -f logits.f32 | tr -s ' ' '\n' | grep -ciE 'nan|inf')
    n=$(stat -c %s logits.f32)
    [ "$bad" = 0 ] && [ "$n" -gt 0 ] && pass "$preset: logits finite ($((n / 4)) values)" \
      || fail "$preset: logits finite" "$bad of $((n / 4)) values are NaN or Inf"
  else
    fail "$preset: logits" "$(tail -1 err)"
  fi

  # packaged as the plan does it
  x=$preset.llamafile
  printf -- '-c\n512\n--temp\n0\n...\n' >.args
  cp "$BIN/llamafile" "$x"
  if ! "$BIN/zipalign" -j0 "$x" "$m" .args 2>err; then
    fail "$preset: zipalign" "$(tail -1 err)"; continue
  fi
  unzip -t "$x" >unzip.txt 2>&1 && pass "$preset: unzip -t" || fail "$preset: unzip -t" "$(tail -1 unzip.txt)"
  ok=1 why=""
  for t in 1 2; do
    if ! ./"$x" -p "Hello, how are you?" -n 8 --ignore-eos -t $t >out$t 2>err$t; then
      ok=0 why="-t $t: $(tail -1 err$t)"
    fi
  done
  [ $ok = 1 ] && ! cmp -s out1 out2 && ok=0 why="-t 1 and -t 2 differ"
  [ $ok = 1 ] && [ "$(wc -c <out1)" -le 19 ] && ok=0 why="nothing generated"
  [ $ok = 1 ] && pass "$preset: ./$x -p ... -n 8, same at -t 1 and -t 2" || fail "$preset: run" "$why"
  arch=$(jq -r '.metadata[] | select(.key == "general.architecture") | .value' m.json 2>/dev/null)
  "$BIN/gguf-dump" "$x" >dump.txt 2>err && grep -q "architecture *$arch" dump.txt \
    && pass "$preset: gguf-dump $x" || fail "$preset: gguf-dump $x" "$(tail -1 err)"
  rm -f "$x" "$m"
done <<'EOF'
tiny Q4_K_M llama-Q4_K_M 2
ring-mini-2.0-small Q2_K bailingmoe2-Q2_K 2
ling-mini-2.0-small IQ4_XS bailingmoe2-IQ4_XS 2
granite-4.0-h-tiny-small Q6_K granitehybrid-Q6_K 2
gemma-3n-e4b-small Q4_K_M gemma3n-Q4_K_M 25
gpt-oss-20b-small MXFP4_MOE gpt-oss-MXFP4_MOE 2
EOF
