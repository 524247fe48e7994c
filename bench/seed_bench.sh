#!/bin/bash
# seed_bench.sh — the seed models at full size, with random weights.
#
#   bench/seed_bench.sh make [NAME...]   (what `make bench-seed` runs)
#     For each seed file (default: all five) not yet in $SEED_DIR: makes the
#     GGUF with llamafile-mkmodel, packages it as the plan does
#     (cp llamafile X.llamafile; zipalign -j0 X.llamafile X.gguf .args, with
#     the .args of docs/models.md), checks it (ZIP64 member over 4 GB,
#     unzip -t, ./X.llamafile -p "Hello, how are you?" -n 20 at -t 1 and
#     -t 2 gives the same text, --version, gguf-dump X.llamafile) and
#     measures load time cold (the file's pages dropped with
#     POSIX_FADV_DONTNEED, when python3 can) and warm, time to first token
#     and peak RSS. One file at a time; the GGUF is deleted after packaging
#     unless SEED_KEEP_GGUF=1; refuses to start a file without room for it
#     twice plus 5 GB. Results: $SEED_DIR/results.md.
#
#   bench/seed_bench.sh speed [NAME...]
#     pp512 and tg128, ours (llamafile-bench) against llama.cpp's llama-bench
#     ($LLAMA_BENCH, default ../shared/reference/llama.cpp-d32676d/llama-bench),
#     -t 2, alternately for ROUNDS rounds (default 5), the load average
#     checked before each pair (waits up to 60 s for it to fall below
#     MAX_LOAD, default 0.5, and records it); prints the medians, the ratio
#     of medians and the spread; the weights one token reads (bytes_per_token)
#     and the streaming-read rate of the same file (bench/stream_read.c: a
#     copy on 2 MiB pages, as the loader holds the weights; the median pass),
#     measured before each pair (the VM's memory rate moves within seconds),
#     to compare generation with. A GGUF that is missing is made again
#     (mkmodel is deterministic) and deleted afterwards.
#
#     With TG_PAIRS=N (default 0), N more pairs of short tg64 runs follow,
#     the order swapped every pair, and the median of the per-pair ratios is
#     printed with its quartiles: this VM's memory rate jumps between ~30 and
#     ~50 GB/s within a process every second or so, so a pair of short runs
#     is more likely to share one rate than two long ones minutes apart.
#
#   bench/seed_bench.sh files GGUF...
#     The same comparison for any GGUF files (make bench's TinyLlama set).
#
# NAME is one of: ring ling granite gemma3n gpt-oss.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${SHARED:=../shared}" "${SEED_DIR:=o/seed}" "${BIN:=o//llamafile}" "${ROUNDS:=5}"
: "${MAX_LOAD:=0.5}" "${TG_PAIRS:=0}" "${LLAMA_BENCH:=$SHARED/reference/llama.cpp-d32676d/llama-bench}"
export SHARED
mkdir -p "$SEED_DIR" && SEED_DIR=$(cd "$SEED_DIR" && pwd) && BIN=$(cd "$BIN" && pwd) || exit 1
RESULTS=$SEED_DIR/results.md

# name, file stem, mkmodel preset, file type, chat template under
# $SHARED/templates, KV cache KiB per token of context (docs/models.md; the
# recurrent state and the sliding windows come on top)
seeds() {
  cat <<'EOF'
ring Ring-mini-2.0-Q2_K ring-mini-2.0 Q2_K - 40
ling Huihui-Ling-mini-2.0-abliterated-IQ4_XS ling-mini-2.0 IQ4_XS - 40
granite granite-4.0-h-tiny-Q6_K granite-4.0-h-tiny Q6_K ibm-granite-granite-4.0.jinja 8
gemma3n gemma-3n-E4B-it-Q4_K_M gemma-3n-e4b Q4_K_M - 8
gpt-oss gpt-oss-20b-MXFP4 gpt-oss-20b MXFP4_MOE openai-gpt-oss-120b.jinja 24
EOF
}

# The .args of docs/models.md.
write_args() {
  case $1 in
  ring) printf '%s\n' '-c 16384' '-n -1' \
    '-p "<role>HUMAN</role>Why is the sky blue? Answer briefly.<|role_end|><role>ASSISTANT</role>"' '...' ;;
  ling) printf '%s\n' '-c 8192' \
    '-p "<role>HUMAN</role>Write a limerick about a GGUF file.<|role_end|><role>ASSISTANT</role>"' '...' ;;
  granite) printf '%s\n' '-c 16384' \
    '-p "<|start_of_role|>user<|end_of_role|>List three uses of a hybrid Mamba model.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>"' '...' ;;
  gemma3n) printf '%s\n' '-c 8192' '--temp 1.0' '--top-k 64' '--top-p 0.95' '--min-p 0' \
    '-p "<start_of_turn>user\nExplain per-layer embeddings in two sentences.<end_of_turn>\n<start_of_turn>model\n"' '...' ;;
  gpt-oss) printf '%s\n' '-c 16384' '--temp 1.0' '--top-p 1.0' '--top-k 0' '--min-p 0' \
    '-p "<|start|>system<|message|>Reasoning: low<|end|><|start|>user<|message|>What is 17 * 23?<|end|><|start|>assistant"' '...' ;;
  esac
}

wanted() { # NAME LIST...: true if LIST is empty or has NAME
  local n=$1; shift
  [ $# -eq 0 ] && return 0
  for x; do [ "$x" = "$n" ] && return 0; done
  return 1
}

load() { cut -d' ' -f1 /proc/loadavg; }
free_kb() { df -Pk "$SEED_DIR" | awk 'NR == 2 { print $4 }'; }
log() { echo "$*" | tee -a "$RESULTS"; }

drop_pages() { # FILE: drop its pages from the page cache (true if done)
  command -v python3 >/dev/null &&
    python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fdatasync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$1" 2>/dev/null
}

make_gguf() { # PRESET TYPE TEMPLATE OUT
  local t=()
  [ "$3" != - ] && [ -f "$SHARED/templates/$3" ] && t=(--chat-template "$SHARED/templates/$3")
  "$BIN/llamafile-mkmodel" --preset "$1" --type "$2" "${t[@]}" "$4"
}

# peak RSS (kB) and wall seconds of a command, from /usr/bin/time -v
timed() { # OUTFILE CMD...: runs CMD with stdout to OUTFILE, sets RSS WALL VERBOSE
  local out=$1; shift
  /usr/bin/time -v -o "$SEED_DIR/time.txt" "$@" >"$out" 2>"$SEED_DIR/stderr.txt"
  local rc=$?
  RSS=$(awk -F': ' '/Maximum resident/ { print $2 }' "$SEED_DIR/time.txt")
  WALL=$(awk -F': ' '/Elapsed \(wall/ { n = split($2, a, ":"); s = 0
    for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$SEED_DIR/time.txt")
  return $rc
}

do_make() {
  [ -f "$RESULTS" ] || {
    echo "| file | size | made in | ZIP64 | unzip -t | -t 1 = -t 2 | cold: load, TTFT | warm: load | warm: prompt (6 tokens) | warm: TTFT | peak RSS | file + KV | load avg |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  } >"$RESULTS"
  seeds | while read -r name stem preset type tmpl kvkib; do
    wanted "$name" "$@" || continue
    local g=$SEED_DIR/$stem.gguf x=$SEED_DIR/$stem.llamafile
    [ -f "$x" ] && { echo "$x: already made"; continue; }
    local need_kb=$((2 * 13 * 1024 * 1024 + 5 * 1024 * 1024)) # a 13 GB file twice + 5 GB
    [ "$(free_kb)" -lt "$need_kb" ] && { echo "$stem: not enough disk space (need $((need_kb / 1048576)) GB free)"; exit 1; }
    echo "== $stem (load $(load))"
    local t0=$SECONDS
    [ -f "$g" ] || make_gguf "$preset" "$type" "$tmpl" "$g" || { echo "$stem: mkmodel failed"; exit 1; }
    local made=$((SECONDS - t0))
    ( cd "$SEED_DIR" && write_args "$name" >.args && cp "$BIN/llamafile" "$stem.llamafile" &&
      "$BIN/zipalign" -j0 "$stem.llamafile" "$stem.gguf" .args ) ||
      { echo "$stem: packaging failed"; rm -f "$x"; exit 1; }
    local size gsize zip64=no unz=FAIL same=FAIL
    size=$(stat -c %s "$x") gsize=$(stat -c %s "$g")
    # a member over 4 GB needs the ZIP64 extra field (header id 0x0001)
    if [ "$gsize" -ge 4294967295 ]; then
      zipinfo -v "$x" "$stem.gguf" 2>/dev/null | grep -qi "64-bit sizes\|zip64" && zip64=yes || zip64=MISSING
    else zip64="n/a (<4 GB)"; fi
    unzip -tq "$x" >/dev/null 2>&1 && unz=ok
    [ "${SEED_KEEP_GGUF:-0}" = 1 ] || rm -f "$g"
    "$x" --version >"$SEED_DIR/version.txt" 2>&1 || echo "$stem: --version failed"
    "$BIN/gguf-dump" "$x" >"$SEED_DIR/$stem.dump.txt" 2>&1 || echo "$stem: gguf-dump failed"
    for t in 1 2; do
      "$x" -p "Hello, how are you?" -n 20 --temp 0 --ignore-eos -t $t >"$SEED_DIR/out$t.txt" 2>"$SEED_DIR/err$t.txt" ||
        echo "$stem -t $t failed: $(tail -1 "$SEED_DIR/err$t.txt")"
    done
    cmp -s "$SEED_DIR/out1.txt" "$SEED_DIR/out2.txt" && [ -s "$SEED_DIR/out1.txt" ] && same=yes
    # cold load (the file's pages dropped), then warm; -v prints the times
    local cold="n/a"
    if drop_pages "$x"; then
      timed /dev/null "$x" -p "Hello, how are you?" -n 1 --temp 0 -t 2 -v
      cold="$(awk '/load time/ { print $(NF-1) }' "$SEED_DIR/stderr.txt") ms, TTFT ${WALL} s"
    fi
    timed /dev/null "$x" -p "Hello, how are you?" -n 1 --temp 0 -t 2 -v
    local warm prompt
    warm=$(awk '/load time/ { print $(NF-1) }' "$SEED_DIR/stderr.txt")
    prompt=$(awk '/llamafile: prompt/ { print $3 }' "$SEED_DIR/stderr.txt")
    # the KV cache of the .args context (docs/models.md's bytes per token)
    local ctx kv
    ctx=$(write_args "$name" | awk '$1 == "-c" { print $2 }')
    kv="$((ctx * kvkib / 1024)) MiB KV (-c $ctx)"
    log "| $stem | $((size / 1000000)) MB | ${made} s | $zip64 | $unz | $same | ${cold} | ${warm} ms | ${prompt} ms | ${WALL} s | $((RSS / 1024)) MiB | $((size / 1048576)) MiB + ${kv:-KV ?} | $(load) |"
    echo "   output: $(head -c 120 "$SEED_DIR/out1.txt" | tr '\n' ' ')"
  done
}

# llama-bench CSV on stdin -> "WHO pp|tg T/S LOAD" rows (columns found by name)
csv_rows() {
  tr -d '"' | awk -F, -v who="$1" -v l="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { print who, ($c["n_prompt"] > 0 ? "pp" : "tg"), $c["avg_ts"], l }'
}

# GB of weights one generated token reads, from gguf-dump's tensor table:
# every tensor but the embedding tables' gathered rows (token_embd, unless
# the output is tied to it; per_layer_token_embd), the routed experts'
# (*_exps) scaled by used / count.
bytes_per_token() { # GGUF
  "$BIN/gguf-dump" "$1" 2>/dev/null | awk '
    /\.expert_count / { ne = $NF } /\.expert_used_count / { nu = $NF }
    $1 ~ /^[0-9]+$/ && NF >= 6 && $2 ~ /\.weight$|\.bias$|_exps|\./ {
      name = $2; size = $NF
      if (name == "output.weight") out = 1
      if (name == "token_embd.weight") { embd = size; next }
      if (name ~ /per_layer_token_embd/) next
      if (name ~ /_exps/) e += size; else d += size
    }
    END { if (!out) d += embd; printf "%.3f", (d + (ne > 0 ? e * nu / ne : 0)) / 1e9 }'
}

# The streaming-read rate of a file's bytes held on 2 MiB pages, 2 threads (GB/s).
stream_gbs() { # FILE
  local x=o/bench/stream_read
  [ -x $x ] && [ $x -nt bench/stream_read.c ] ||
    { mkdir -p o/bench && gcc -O2 -mavx2 -pthread bench/stream_read.c -o $x; } || return
  $x "$1" 2 5 4 2>/dev/null
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

wait_idle() {
  local i
  for i in $(seq 1 12); do
    awk -v l="$(load)" -v m="$MAX_LOAD" 'BEGIN { exit !(l < m) }' && return
    sleep 5
  done
}

# pp512 and tg128 of one GGUF, ours and llama.cpp alternately, ROUNDS rounds.
speed_file() { # NAME GGUF
  local name=$1 g=$2 stem
  stem=$(basename "$g" .gguf)
  echo "== $stem: $ROUNDS rounds, ours then llama.cpp, -t 2 -p 512 -n 128"
  : >"$SEED_DIR/speed.$name.txt"
  local bpt bw
  bpt=$(bytes_per_token "$g")
  for r in $(seq 1 "$ROUNDS"); do
    wait_idle
    local l=$(load)
    echo "stream read $(stream_gbs "$g") $l" >>"$SEED_DIR/speed.$name.txt"
    "$BIN/llamafile-bench" -m "$g" -t 2 -r 1 -p 512 -n 128 -o csv 2>/dev/null |
      csv_rows ours "$l" >>"$SEED_DIR/speed.$name.txt"
    "$LLAMA_BENCH" -m "$g" -t 2 -r 1 -p 512 -n 128 -o csv 2>/dev/null |
      csv_rows llama.cpp "$l" >>"$SEED_DIR/speed.$name.txt"
  done
  local bwr
  bw=$(awk '$1 == "stream" { print $3 }' "$SEED_DIR/speed.$name.txt" | median)
  bwr=$(awk '$1 == "stream" { if (!n++ || $3 < lo) lo = $3; if ($3 > hi) hi = $3 } END { printf "%.1f-%.1f", lo, hi }' "$SEED_DIR/speed.$name.txt")
  for test in pp tg; do
    local o c
    o=$(awk -v t=$test '$1 == "ours" && $2 == t { print $3 }' "$SEED_DIR/speed.$name.txt" | median)
    c=$(awk -v t=$test '$1 == "llama.cpp" && $2 == t { print $3 }' "$SEED_DIR/speed.$name.txt" | median)
    echo "$stem $test: ours median $o t/s, llama.cpp median $c t/s, ratio $(awk -v a="$o" -v b="$c" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')x"
    [ $test = tg ] && echo "   weights read per token: $bpt GB; ours $(awk -v a="$o" -v b="$bpt" -v s="$bw" 'BEGIN { printf "%.1f GB/s = %.0f%%", a * b, (s > 0 ? 100 * a * b / s : 0) }') of the streaming read, llama.cpp $(awk -v a="$c" -v b="$bpt" -v s="$bw" 'BEGIN { printf "%.1f GB/s = %.0f%%", a * b, (s > 0 ? 100 * a * b / s : 0) }'); streaming read median ${bw:-?} GB/s ($bwr; 2 threads, a held copy, median of 4 passes, measured before each pair)"
  done
  [ "$TG_PAIRS" -gt 0 ] && tg_pairs "$g" "$SEED_DIR/speed.$name.txt"
  echo "   spread: $(awk '$1 != "pair" { k = $1 " " $2; if (!(k in lo) || $3 < lo[k]) lo[k] = $3; if ($3 > hi[k]) hi[k] = $3 }
    END { for (k in lo) printf "%s %.1f-%.1f; ", k, lo[k], hi[k] }' "$SEED_DIR/speed.$name.txt")"
  echo "   rows (who, test, t/s, load before the pair): $SEED_DIR/speed.$name.txt"
}

# tg64 t/s of one run: WHO (ours | llama.cpp) GGUF
tg_once() {
  if [ "$1" = ours ]; then "$BIN/llamafile-bench" -m "$2" -t 2 -r 1 -p 0 -n 64 -o csv 2>/dev/null | csv_rows ours 0
  else "$LLAMA_BENCH" -m "$2" -t 2 -r 1 -p 0 -n 64 -o csv 2>/dev/null | csv_rows llama.cpp 0; fi | awk '{ print $3 }'
}

# TG_PAIRS pairs of tg64 runs back to back, the order swapped every pair:
# "pair OURS LLAMA LOAD" rows, then the median of the pair ratios and the quartiles.
tg_pairs() { # GGUF ROWS
  local p o c l
  for p in $(seq 1 "$TG_PAIRS"); do
    l=$(load) # not waited on: the runs before raise it

    if [ $((p % 2)) = 1 ]; then o=$(tg_once ours "$1"); c=$(tg_once llama.cpp "$1")
    else c=$(tg_once llama.cpp "$1"); o=$(tg_once ours "$1"); fi
    echo "pair ${o:-0} ${c:-0} $l" >>"$2"
  done
  awk '$1 == "pair" && $3 > 0 { print $2 / $3 }' "$2" | sort -g | awk '{ a[NR] = $1 }
    END { if (!NR) exit; q = int((NR + 3) / 4); m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      printf "   tg64 pairs: median of %d pair ratios %.2fx, quartiles %.2f-%.2f, range %.2f-%.2f\n", NR, m, a[q], a[NR + 1 - q], a[1], a[NR] }'
}

do_speed() {
  [ -x "$LLAMA_BENCH" ] || { echo "no llama-bench at $LLAMA_BENCH"; exit 1; }
  seeds | while read -r name stem preset type tmpl kvkib; do
    wanted "$name" "$@" || continue
    local g=$SEED_DIR/$stem.gguf made=0
    if [ ! -f "$g" ]; then
      make_gguf "$preset" "$type" "$tmpl" "$g" || { echo "$stem: mkmodel failed"; exit 1; }
      made=1
    fi
    speed_file "$name" "$g"
    [ $made = 1 ] && rm -f "$g"
  done
}

# The same for any GGUF files (make bench's TinyLlama set, say).
do_files() {
  [ -x "$LLAMA_BENCH" ] || { echo "no llama-bench at $LLAMA_BENCH"; exit 1; }
  local g
  for g in "$@"; do
    [ -f "$g" ] || { echo "$g: no such file"; exit 1; }
    speed_file "$(basename "$g" .gguf)" "$(cd "$(dirname "$g")" && pwd)/$(basename "$g")"
  done
}

case ${1:-make} in
make) shift; do_make "$@" ;;
speed) shift; do_speed "$@" ;;
files) shift; do_files "$@" ;;
*) echo "usage: $0 make|speed [ring ling granite gemma3n gpt-oss] | files GGUF..."; exit 2 ;;
esac
