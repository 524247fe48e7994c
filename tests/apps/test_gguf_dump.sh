#!/bin/bash
# gguf-dump over every GGUF in ../shared, its JSON form, and bad input.
source "$(dirname "$0")/../lib.sh"
DUMP=$BIN/gguf-dump

# The issue's example command.
out=$("$DUMP" "$SHARED/models/stories260K.gguf" | grep -i "arch\|type\|size")
if grep -q 'general.architecture .*"llama"' <<<"$out" && grep -q 'tensor types:' <<<"$out" \
   && grep -q 'file size:' <<<"$out"; then
  pass "stories260K example grep"
else
  fail "stories260K example grep" "missing architecture/type/size lines"
fi

# Every shared GGUF: text dump exits 0; JSON totals agree with the file size
# (the data section ends at the file end, less at most one alignment pad).
n=0 bad=""
for f in "$SHARED"/models/*.gguf "$SHARED"/vocab/*.gguf "$SHARED"/vectors/*.gguf; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  if ! "$DUMP" "$f" >"$TMP/out.txt" 2>"$TMP/err.txt"; then
    bad="$bad $(basename "$f")(text: $(cat "$TMP/err.txt"))"; continue
  fi
  if ! "$DUMP" --json "$f" >"$TMP/out.json" 2>"$TMP/err.txt"; then
    bad="$bad $(basename "$f")(json)"; continue
  fi
  size=$(stat -c %s "$f")
  verdict=$(jq -r --argjson size "$size" '
      .totals as $t
      | ([.tensors[] | .offset + .bytes] | max // 0) as $last
      | if $t.file_bytes != $size then "file_bytes \($t.file_bytes) != \($size)"
        elif ([.tensors[].bytes] | add // 0) != $t.tensor_bytes then "tensor bytes do not add up"
        elif .tensor_count > 0 and ($last > $size or $size - $last >= .alignment) then "data ends at \($last), file is \($size)"
        elif .tensor_count != (.tensors | length) or .kv_count != (.metadata | length) then "counts"
        elif ([.tensors[] | select(.elements != (.shape | reduce .[] as $d (1; . * $d)))] | length) > 0
          then "elements differ from the product of the shape"
        elif ([.tensors[].elements] | add // 0) != $t.parameters then "parameters \($t.parameters) are not the sum of elements"
        elif $t.parameters > 0 and (($t.bits_per_weight - $t.tensor_bytes * 8 / $t.parameters) | fabs) > 1e-6
          then "bits per weight \($t.bits_per_weight)"
        else "ok" end' "$TMP/out.json" 2>&1)
  [ "$verdict" = ok ] || bad="$bad $(basename "$f")($verdict)"
done
if [ "$n" -eq 0 ]; then skip "all shared GGUFs" "no files under $SHARED"
elif [ -z "$bad" ]; then pass "all $n shared GGUFs dump and their totals match the file sizes"
else fail "shared GGUFs" "$bad"; fi

# Long arrays are abbreviated unless --full.
f=$SHARED/models/stories260K.gguf
short=$("$DUMP" --json "$f" | jq '.metadata[] | select(.key=="tokenizer.ggml.tokens") | [.count, (.value|length), .truncated]' -c)
full=$("$DUMP" --json --full "$f" | jq '.metadata[] | select(.key=="tokenizer.ggml.tokens") | [.count, (.value|length)]' -c)
[ "$short" = "[512,8,true]" ] && [ "$full" = "[512,512]" ] \
  && pass "arrays abbreviated, --full prints all" || fail "array abbreviation" "short=$short full=$full"
"$DUMP" "$f" | grep -q 'tokenizer.ggml.tokens .*, \.\.\.] (512 items)' \
  && pass "text abbreviation shows the count" || fail "text abbreviation" "no '(512 items)'"

# The "model" summary, in text and JSON: expert counts (bailingmoe2),
# recurrent vs attention layers (granitehybrid), the SWA pattern (gemma3n).
V=$SHARED/vectors
model_text() { "$DUMP" "$1" | sed -n '/^model:$/,/^tensors:$/p'; }
# summary_check NAME FILE TEXT-PATTERN... -- JQ-EXPR: every pattern is a line of
# the text section (grep -x, spaces squeezed) and the jq expression is true.
summary_check() {
  local name=$1 f=$2; shift 2
  [ -f "$f" ] || { skip "$name" "no $f"; return; }
  local txt bad=""
  txt=$(model_text "$f" | tr -s ' ')
  while [ "$1" != "--" ]; do
    grep -qxF -- "$1" <<<"$txt" || bad="$bad [no line '$1']"
    shift
  done
  shift
  [ "$("$DUMP" --json "$f" | jq "$1" 2>&1)" = true ] || bad="$bad [jq: $1]"
  [ -z "$bad" ] && pass "$name" || fail "$name" "$bad"
}
summary_check "model summary: bailingmoe2 experts" "$V/bailingmoe2-Q8_0.gguf" \
  " architecture bailingmoe2" " layers 2" \
  " experts 8, used 2, shared 1, groups 4, groups used 2" \
  " expert widths routed 256, shared 256" " leading dense blocks 1" \
  " feed-forward 0 dense, 1 MoE" -- \
  '.model.architecture == "bailingmoe2"
   and .model.hparams.expert_count == 8 and .model.hparams.expert_used_count == 2
   and .model.hparams.expert_shared_count == 1 and .model.hparams.expert_group_count == 4
   and .model.hparams.expert_group_used_count == 2 and .model.hparams.leading_dense_block_count == 1
   and .model.layer_kinds.feed_forward.layers == ["dense", "MoE"]
   and .model.head_dims == {"key": 64, "value": 64, "derived": false}'
summary_check "model summary: granitehybrid recurrent and attention layers" \
  "$V/granitehybrid-Q6_K.gguf" \
  " attention heads 4, KV 0 x1, 2 x1" " head dims key 64, value 64 (embedding / heads)" \
  " SSM inner 512, state 64, heads 8, groups 2, conv 4" " mixer 0 recurrent, 1 attention" -- \
  '.model.hparams["attention.head_count_kv"] == [0, 2]
   and .model.layer_kinds.mixer.layers == ["recurrent", "attention"]
   and .model.layer_kinds.mixer.summary == "0 recurrent, 1 attention"
   and .model.head_dims.derived and (.model.layer_kinds | has("attention") | not)'
summary_check "model summary: gemma3n SWA pattern, shared KV, sparse layers" \
  "$V/gemma3n-Q4_K_M.gguf" \
  " layers 25" " sliding window 10" " shared-KV layers 5" \
  " attention 0-3 SWA, 4 global, repeating every 5 layers (20 SWA, 5 global)" \
  " KV cache 0-19 own, 20-24 shared" " activation sparsity 0-9 sparse, 10-24 full" -- \
  '(.model.layer_kinds.attention.layers | length) == 25
   and ([.model.layer_kinds.attention.layers | to_entries[] | select(.value == "global") | .key]
        == [4, 9, 14, 19, 24])
   and ([.model.layer_kinds.kv_cache.layers[] | select(. == "shared")] | length) == 5
   and .model.layer_kinds.kv_cache.layers[19] == "own"
   and ([.model.layer_kinds.activation_sparsity.layers[] | select(. == "sparse")] | length) == 10'
summary_check "model summary: gpt-oss SWA on even layers (no pattern key)" "$V/gpt-oss-F16.gguf" \
  " attention 0 SWA, 1 global" -- \
  '.model.layer_kinds.attention.layers == ["SWA", "global"]
   and .model.layer_kinds.attention.rule == "gpt-oss default period 2"'
summary_check "model summary: gemma3 scalar sliding_window_pattern" "$V/gemma3-F16.gguf" \
  " sliding window 8, pattern 2" " attention 0 SWA, 1 global" -- \
  '.model.layer_kinds.attention.layers == ["SWA", "global"]
   and .model.layer_kinds.attention.rule == "sliding_window_pattern 2"'
# the section sits between metadata and tensors
order=$("$DUMP" "$f" | grep -n '^metadata:$\|^model:$\|^tensors:$' | cut -d: -f2 | tr '\n' ' ')
[ "$order" = "metadata model tensors " ] && pass "model section between metadata and tensors" \
  || fail "model section order" "$order"

# Bad input: the reader's one-line error, exit 1; bad usage exit 2.
expect_exit() {  # NAME CODE PATTERN CMD...
  local name=$1 code=$2 pat=$3; shift 3
  "$@" >"$TMP/o" 2>"$TMP/e"; local rc=$?
  if [ "$rc" -eq "$code" ] && grep -q -- "$pat" "$TMP/e" && [ "$(wc -l <"$TMP/e")" -eq 1 ]; then
    pass "$name"
  else
    fail "$name" "exit $rc, stderr: $(head -c 200 "$TMP/e")"
  fi
}
expect_exit "missing file" 1 "gguf-dump: .*nonexistent" "$DUMP" "$TMP/nonexistent.gguf"
head -c 100 "$f" >"$TMP/trunc.gguf"
expect_exit "truncated file" 1 "gguf-dump: .*trunc.gguf" "$DUMP" "$TMP/trunc.gguf"
head -c 4096 /dev/urandom >"$TMP/random.gguf"
expect_exit "random bytes" 1 "gguf-dump: .*random.gguf" "$DUMP" "$TMP/random.gguf"
: >"$TMP/empty.gguf"
expect_exit "empty file" 1 "gguf-dump: .*empty.gguf" "$DUMP" "$TMP/empty.gguf"
expect_exit "directory" 1 "gguf-dump: " "$DUMP" "$TMP"
expect_exit "unknown option" 2 "unknown option" "$DUMP" --bogus "$f"
"$DUMP" --help | grep -q -- '--json' && pass "--help" || fail "--help" "no --json in help"
