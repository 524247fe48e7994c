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
