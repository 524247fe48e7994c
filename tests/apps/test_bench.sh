#!/bin/bash
# llamafile-bench (llama-bench's options and output formats) and
# llamafile-mkmodel (random-weight models), on the tiny preset.
source "$(dirname "$0")/../lib.sh"
BENCH=$BIN/llamafile-bench
MK=$BIN/llamafile-mkmodel
VOCAB=$SHARED/vocab/ggml-vocab-llama-spm.gguf

check "bench --help" bash -c '"$0" --help | grep -q -- "--n-prompt"' "$BENCH"
check "mkmodel --help" bash -c '"$0" --help | grep -q tinyllama-1.1b' "$MK"

# Bad command lines: a one-line error on stderr, non-zero status.
bad_args() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1 >/dev/null </dev/null); rc=$?
  if [ "$rc" -ne 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q . <<<"$out"; then pass "$name"
  else fail "$name" "status $rc, output: $(head -c 200 <<<"$out")"; fi
}
bad_args "bench without -m" "$BENCH"
bad_args "bench unknown option" "$BENCH" -m x.gguf --frobnicate
bad_args "bench bad -o" "$BENCH" -m x.gguf -o xml
bad_args "bench bad -p list" "$BENCH" -m x.gguf -p 8,x
bad_args "bench bad range" "$BENCH" -m x.gguf -p 8-64*1
bad_args "bench bad -pg" "$BENCH" -m x.gguf -pg 8
bad_args "bench -t 0" "$BENCH" -m x.gguf -t 0
bad_args "bench missing model" "$BENCH" -m "$TMP/nope.gguf" -p 8 -n 0 -r 1
printf 'not a model' >"$TMP/junk.gguf"
bad_args "bench junk model" "$BENCH" -m "$TMP/junk.gguf" -p 8 -n 0 -r 1
bad_args "mkmodel bad preset" "$MK" --arch llama --preset huge "$TMP/x.gguf"
bad_args "mkmodel bad arch" "$MK" --arch gpt9 --preset tiny "$TMP/x.gguf"
bad_args "mkmodel bad type" "$MK" --arch llama --preset tiny --type Q9_9 "$TMP/x.gguf"
bad_args "mkmodel missing vocab" "$MK" --arch llama --preset tiny --vocab "$TMP/none.gguf" "$TMP/x.gguf"
[ -e "$TMP/x.gguf" ] || [ -e "$TMP/x.gguf.partial" ] && fail "mkmodel failure leaves no file" "found one" \
  || pass "mkmodel failure leaves no file"

if [ ! -e "$VOCAB" ]; then
  skip "bench on the tiny model" "no $VOCAB"
  exit 0
fi
M=$TMP/tiny.gguf
check "mkmodel tiny" "$MK" --arch llama --preset tiny --vocab "$VOCAB" "$M"

# The model: shapes, types, vocab cut to 512 tokens, deterministic weights.
"$BIN/gguf-dump" --json "$M" >"$TMP/m.json" 2>&1
verdict=$(jq -r '
  (.metadata | map({(.key): .value}) | add) as $kv
  | (.tensors | map({(.name): .}) | add) as $t
  | if ($kv["llama.block_count"] != 2 or $kv["llama.embedding_length"] != 256
        or $kv["llama.attention.head_count_kv"] != 2 or $kv["general.file_type"] != 1) then "hparams"
    elif ($t["token_embd.weight"].shape != [256, 512]) then "token_embd \($t["token_embd.weight"].shape)"
    elif ($t["blk.1.attn_k.weight"].shape != [256, 128]) then "attn_k"
    elif ($t["blk.0.ffn_down.weight"].type != "F16" or $t["output_norm.weight"].type != "F32") then "types"
    elif (.tensors | length) != 21 then "tensor count"
    else "ok" end' "$TMP/m.json" 2>&1)
[ "$verdict" = ok ] && pass "mkmodel tiny: shapes and types" || fail "mkmodel tiny: shapes and types" "$verdict"
"$MK" --arch llama --preset tiny --vocab "$VOCAB" "$TMP/again.gguf" && cmp -s "$M" "$TMP/again.gguf" \
  && pass "mkmodel is deterministic" || fail "mkmodel is deterministic" "two runs differ"
"$MK" --arch llama --preset tiny --vocab "$VOCAB" --seed 7 "$TMP/seed7.gguf" && ! cmp -s "$M" "$TMP/seed7.gguf" \
  && pass "mkmodel --seed changes the weights" || fail "mkmodel --seed changes the weights" "same file"
check "mkmodel --type BF16 with overrides" "$MK" --arch llama --preset tiny --vocab "$VOCAB" \
  --type BF16 --n-layer 1 --n-ff 320 "$TMP/bf16.gguf"
"$BIN/gguf-dump" --json "$TMP/bf16.gguf" | jq -e '[.tensors[] | select(.name == "blk.0.ffn_down.weight")][0]
  | .type == "BF16" and .shape == [320, 256]' >/dev/null \
  && pass "mkmodel overrides" || fail "mkmodel overrides" "ffn_down is not BF16 [320, 256]"

# Markdown: llama-bench's header, one row per test, "mean ± stddev".
out=$("$BENCH" -m "$M" -p 16 -n 4 -r 2 -t 1 2>"$TMP/err")
hdr='| model                          |       size |     params | backend    | threads |            test |                  t/s |'
if [ "$(sed -n 1p <<<"$out")" = "$hdr" ] && [ "$(wc -l <<<"$out")" -eq 4 ] \
   && grep -qE '^\| llama 1M F16 +\| +2\.75 MiB \| +1\.44 M \| CPU +\| +1 \| +pp16 \| +[0-9.]+ ± [0-9.]+ \|$' <<<"$out" \
   && grep -qE '\| +tg4 \| +[0-9.]+ ± [0-9.]+ \|$' <<<"$out"; then
  pass "bench markdown table"
else
  fail "bench markdown table" "$(tr '\n' '~' <<<"$out") $(cat "$TMP/err")"
fi

# CSV: llama-bench's 40 fields; one record per test in llama-bench's order.
"$BENCH" -m "$M" -p 8,16 -n 2 -pg 8,2 -r 2 -t 1 -o csv >"$TMP/out.csv" 2>"$TMP/err"
fields="build_commit,build_number,cpu_info,gpu_info,backends,model_filename,model_type,model_size,model_n_params,n_batch,n_ubatch,n_threads,cpu_mask,cpu_strict,poll,type_k,type_v,n_gpu_layers,n_cpu_moe,split_mode,main_gpu,no_kv_offload,flash_attn,devices,tensor_split,tensor_buft_overrides,load_mode,embeddings,no_op_offload,no_host,fit_target,fit_min_ctx,n_prompt,n_gen,n_depth,test_time,avg_ns,stddev_ns,avg_ts,stddev_ts"
tests=$(tail -n +2 "$TMP/out.csv" | awk -F'","' '{print $33 "/" $34}' | tr '\n' ' ')
if [ "$(head -1 "$TMP/out.csv")" = "$fields" ] && [ "$tests" = "8/0 16/0 0/2 8/2 " ]; then
  pass "bench csv fields and test order"
else
  fail "bench csv fields and test order" "tests: $tests $(head -c 300 "$TMP/err")"
fi

# JSON: an array of records with samples; t/s consistent with the samples.
"$BENCH" -m "$M" -p 8 -n 2 -r 3 -t 1 -o json >"$TMP/out.json" 2>"$TMP/err"
verdict=$(jq -r 'if length != 2 then "\(length) records"
  elif any(.[]; (.samples_ns | length) != 3 or (.samples_ts | length) != 3) then "samples"
  elif any(.[]; .avg_ts <= 0 or .stddev_ts < 0 or .n_threads != 1 or .cpu_strict != false) then "values"
  elif any(.[]; ((.samples_ts | add / 3) - .avg_ts | fabs) > 0.01 * .avg_ts) then "avg_ts"
  elif .[0].n_prompt != 8 or .[1].n_gen != 2 or .[0].model_n_params != 1443072 then "tests"
  else "ok" end' "$TMP/out.json" 2>&1)
[ "$verdict" = ok ] && pass "bench json" || fail "bench json" "$verdict $(head -c 300 "$TMP/err")"

# JSONL on stdout, markdown on stderr (-oe), with depth, batches and threads lists.
"$BENCH" -m "$M" -p 8 -n 0 -d 4 -b 4 -ub 2 -t 1,2 -r 1 -o jsonl -oe md >"$TMP/out.jsonl" 2>"$TMP/err"
verdict=$(jq -s -r 'if length != 2 then "\(length) lines"
  elif map(.n_threads) != [1, 2] or any(.[]; .n_depth != 4 or .n_batch != 4 or .n_ubatch != 2) then "fields"
  else "ok" end' "$TMP/out.jsonl" 2>&1)
if [ "$verdict" = ok ] && grep -q 'pp8 @ d4' "$TMP/err" && grep -q 'n_batch' "$TMP/err"; then
  pass "bench jsonl, -oe md, -d, -b, -ub, -t lists"
else
  fail "bench jsonl, -oe md, -d, -b, -ub, -t lists" "$verdict $(head -c 300 "$TMP/err")"
fi

# --progress, --no-warmup, ranges, -ngl, -ctk f32, several models.
"$BENCH" -m "$M,$TMP/bf16.gguf" -p 4-8*2 -n 0 -r 1 -t 1 -ngl 99 -ctk f32 -ctv f32 --progress \
  --no-warmup -o csv >"$TMP/out2.csv" 2>"$TMP/err"
n=$(tail -n +2 "$TMP/out2.csv" | wc -l)
if [ "$n" -eq 4 ] && grep -q 'benchmark 4/4: prompt run 1/1' "$TMP/err" && ! grep -q warmup "$TMP/err" \
   && grep -q '"f32","f32","99"' "$TMP/out2.csv" && grep -q 'BF16' "$TMP/out2.csv"; then
  pass "bench --progress, ranges, -ngl, -ctk, two models"
else
  fail "bench --progress, ranges, -ngl, -ctk, two models" "$n records; $(head -c 300 "$TMP/err")"
fi
