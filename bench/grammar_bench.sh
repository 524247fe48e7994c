#!/bin/bash
# Per-token cost of sampling under a JSON grammar on the 32k (llama-spm),
# 151k (qwen2) and 201k (gpt-oss) vocabularies, ours against llama.cpp's. A
# benchmark, never run by `make check`.
#
# 1. bench/grammar_bench.c on the vocabulary alone: the sampler chain's CPU
#    time per token with pseudo-random logits, without and with
#    tests/sample/json.gbnf in front (best of 3).
# 2. Whole runs of a random-weight tiny llama (llamafile-mkmodel --vocab V)
#    under `root ::= object+` (JSON objects one after another: a grammar that
#    never runs out, so --ignore-eos gives both programs -n tokens):
#    llamafile and llama.cpp's llama-completion, the same flags, without
#    and with the grammar: CPU seconds (user+sys) of the whole process, and
#    llama.cpp's own "sampling time" line.
#
#   bench/grammar_bench.sh [BIN=o//llamafile] [SHARED=../shared] [N=100]
#                          [LLAMA_CPP=$SHARED/reference/llama.cpp-d32676d]
set -u
BIN=${BIN:-o//llamafile}
SHARED=${SHARED:-../shared}
N=${N:-100}
STEPS=${STEPS:-200}
LLAMA_CPP=${LLAMA_CPP:-$SHARED/reference/llama.cpp-d32676d}
VOCABS=${VOCABS:-"llama-spm:32000 qwen2:151936 gpt-oss:201088"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p o/bench

gcc -O2 -std=gnu11 -Iinclude bench/grammar_bench.c o//lib/libllamafile.a -static \
  -ljansson -lpcre2-8 -lm -pthread -o o/bench/grammar_bench || exit 1
sed 's/^root .*/root   ::= object+/' tests/sample/json.gbnf >"$tmp/objects.gbnf"

# cpu CMD...: runs CMD, its output in $tmp/out, prints user+sys seconds.
cpu() {
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$@" >"$tmp/out" 2>&1
  awk '{printf "%.2f", $1 + $2}' "$tmp/time"
}

echo "# $(date -u '+%F %T') UTC, $(nproc) CPUs, load:$(uptime | sed 's/.*load average://')"
echo "## sampler chain alone (CPU time per token, $STEPS tokens)"
for vn in $VOCABS; do
  v=${vn%%:*}
  o/bench/grammar_bench "$SHARED/vocab/ggml-vocab-$v.gguf" tests/sample/json.gbnf "$STEPS" |
    head -1 | sed "s/^/$v: /"
done

echo "## whole runs: -p x -n $N --temp 1 -s 1 -t 1 --ignore-eos, CPU seconds"
echo "| vocab | llamafile | llamafile + grammar | llama.cpp | llama.cpp + grammar | llama.cpp sampling ms/token (no grammar / grammar) |"
echo "|---|---|---|---|---|---|"
for vn in $VOCABS; do
  v=${vn%%:*} n=${vn#*:}
  m=o/bench/grammar-$v.gguf
  [ -f "$m" ] || "$BIN/llamafile-mkmodel" --arch llama --preset tiny \
    --vocab "$SHARED/vocab/ggml-vocab-$v.gguf" --n-vocab "$n" "$m" >/dev/null || exit 1
  args=(-m "$m" -p x -n "$N" --temp 1 -s 1 -t 1 --ignore-eos)
  a=$(cpu "$BIN/llamafile" "${args[@]}")
  b=$(cpu "$BIN/llamafile" "${args[@]}" --grammar-file "$tmp/objects.gbnf")
  c=- d=- sc=- sd=-
  if [ -x "$LLAMA_CPP/llama-completion" ]; then
    c=$(cpu "$LLAMA_CPP/llama-completion" "${args[@]}" -no-cnv)
    sc=$(sed -n 's/.*sampling time = *\([0-9.]*\) ms.*/\1/p' "$tmp/out")
    d=$(cpu "$LLAMA_CPP/llama-completion" "${args[@]}" -no-cnv --grammar-file "$tmp/objects.gbnf")
    sd=$(sed -n 's/.*sampling time = *\([0-9.]*\) ms.*/\1/p' "$tmp/out")
    grep -q "terminate called" "$tmp/out" && d="$d (crashed)"
    sc=$(awk -v s="${sc:-0}" -v n="$N" 'BEGIN{printf "%.2f", s / n}')
    sd=$(awk -v s="${sd:-0}" -v n="$N" 'BEGIN{printf "%.2f", s / n}')
  fi
  echo "| $v ($n) | $a | $b | $c | $d | $sc / $sd |"
done
echo "# load after:$(uptime | sed 's/.*load average://')"
