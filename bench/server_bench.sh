#!/bin/bash
# Serving throughput: ours (`llamafile --server`) against llama.cpp's
# llama-server, same model, same flags, same prompts, run alternately. A
# benchmark, never run by `make check`. For each concurrency C (1, 4, 16):
# C streaming clients each send REQUESTS completions one after the other
# (distinct prompts, temperature 0, N_PREDICT tokens with ignore_eos), and
# the table gives aggregate generated tokens/s (usage.completion_tokens of
# every request / wall time) and time to first token (first non-empty text
# chunk; includes waiting for a slot and the prompt). The client is
# tests/server/sse_client.mjs (Node, no npm packages). One command; the
# table (markdown) goes to stdout, progress to stderr:
#
#   bench/server_bench.sh            (env: see the defaults below)
#
# MODEL defaults to the TinyLlama-1.1B-shaped Q4_0 file (random weights),
# made once in BENCH_DIR by llamafile-mkmodel and llamafile-quantize
# (~2.8 GB with its F16 source). REF is llama-server (default: the prebuilt
# one in ../shared/reference; build your own where that one does not run).
set -eu
BIN=${BIN:-o//llamafile}
SHARED=${SHARED:-../shared}
BENCH_DIR=${BENCH_DIR:-o/bench}
MODEL=${MODEL:-$BENCH_DIR/tinyllama-Q4_0.gguf}
REF=${REF:-$SHARED/reference/llama.cpp-d32676d/llama-server}
CONCURRENCY=${CONCURRENCY:-"1 4 16"}
REQUESTS=${REQUESTS:-2}       # per client
N_PREDICT=${N_PREDICT:-64}
NP=${NP:-16}                  # slots (-np), both servers
CTX=${CTX:-4096}              # total context (-c), both servers
THREADS=${THREADS:-2}         # -t, both servers
ROUNDS=${ROUNDS:-1}
CLIENT=$(cd "$(dirname "$0")/.." && pwd)/tests/server/sse_client.mjs
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
log() { echo "# $*" >&2; }

for tool in node jq curl python3; do
  command -v "$tool" >/dev/null || { echo "server_bench: needs $tool" >&2; exit 1; }
done
[ -x "$REF" ] || { echo "server_bench: no llama-server at $REF (set REF)" >&2; exit 1; }
if [ ! -e "$MODEL" ]; then
  f16=$BENCH_DIR/tinyllama-F16.gguf
  mkdir -p "$BENCH_DIR"
  [ -e "$f16" ] || "$BIN/llamafile-mkmodel" --arch llama --preset tinyllama-1.1b \
    --vocab "$SHARED/vocab/ggml-vocab-llama-spm.gguf" "$f16" >&2
  "$BIN/llamafile-quantize" -q "$f16" "$MODEL" Q4_0 >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_healthy() {  # URL PID NAME: up to 300 s
  local i
  for i in $(seq 1500); do
    curl -sf --max-time 2 "$1/health" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "server_bench: $3 exited: $(tail -n 5 "$tmp/$3.err")" >&2; exit 1; }
    sleep 0.2
  done
  echo "server_bench: $3 did not become healthy" >&2; exit 1
}
flags=(-m "$MODEL" --host 127.0.0.1 -np "$NP" -c "$CTX" -t "$THREADS" --temp 0)
port=$(free_port)
"$BIN/llamafile" --server "${flags[@]}" --port "$port" >"$tmp/ours.out" 2>"$tmp/ours.err" &
pids+=($!); URL_ours=http://127.0.0.1:$port
wait_healthy "$URL_ours" "$!" ours
port=$(free_port)
"$REF" "${flags[@]}" --port "$port" >"$tmp/ref.out" 2>"$tmp/ref.err" &
pids+=($!); URL_ref=http://127.0.0.1:$port
wait_healthy "$URL_ref" "$!" ref

# prompts TAG COUNT: COUNT distinct prompts (a different first word each, so
# no prompt is a cached prefix of another), ~60 tokens.
prompts() {
  jq -n --arg tag "$1" --argjson n "$2" '[range(0; $n) | "Request \($tag)-\(.): Once upon a time, in a small village by the sea, there lived an old fisherman and his three daughters. Every morning he went out in his boat, and every evening the daughters waited on the shore to hear what he had seen."]'
}
# Byte tokens banned (ids 3..258 of the llama SPM vocabulary, BAN_BYTES=0
# keeps them): a random-weight model emits them often, and llama-server
# d32676d ends a stream whose text is not valid UTF-8 with a 500 ("does not
# match the expected Content-only format"). Both servers get the same bias.
if [ "${BAN_BYTES:-1}" = 1 ]; then
  jq -n '{logit_bias: [range(3; 259) | [., false]]}' >"$tmp/extra.json"
else
  echo '{}' >"$tmp/extra.json"
fi
# run NAME URL C TAG: one measurement, the client's JSON in $tmp/NAME-TAG.json.
run() {
  prompts "$4" $(($3 * REQUESTS)) >"$tmp/prompts.json"
  node "$CLIENT" --url "$2" --prompts "$tmp/prompts.json" --clients "$3" --requests "$REQUESTS" \
    --max-tokens "$N_PREDICT" --ignore-eos --extra "$tmp/extra.json" --timeout 900 >"$tmp/$1-$4.json"
  log "$1 C=$3: $(cat "$tmp/$1-$4.json")"
}
for s in ours ref; do  # warm-up: pages in the weights
  u=URL_$s
  curl -s --max-time 600 "${!u}/v1/completions" -d '{"prompt": "Warm up", "max_tokens": 2}' >/dev/null
done

load=$(uptime | sed 's/.*load average: //')
echo "Serving throughput, $(date -u '+%Y-%m-%d %H:%M UTC'), load average before: $load"
echo "model $(basename "$MODEL"); both servers: -np $NP -c $CTX -t $THREADS --temp 0;" \
     "$REQUESTS requests per client, $N_PREDICT tokens each (ignore_eos), ~60-token prompts," \
     "byte tokens banned: ${BAN_BYTES:-1}"
echo
echo "| round | clients | ours tok/s | llama-server tok/s | ratio | ours TTFT p50 / p90 ms | llama-server TTFT p50 / p90 ms | failed (ours / ref) | load avg |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  for c in $CONCURRENCY; do
    order="ours ref"; [ $(((r + c) % 2)) -eq 1 ] && order="ref ours"
    for s in $order; do u=URL_$s; run "$s" "${!u}" "$c" "r$r-c$c"; done
    a=$tmp/ours-r$r-c$c.json b=$tmp/ref-r$r-c$c.json
    ratio=$(jq -rn --slurpfile a "$a" --slurpfile b "$b" \
      'if $b[0].tokens_per_s > 0 then "\($a[0].tokens_per_s / $b[0].tokens_per_s * 100 | round / 100)×" else "-" end')
    t() { jq -r 'if .ttft_ms then "\(.ttft_ms.p50) / \(.ttft_ms.p90)" else "-" end' "$1"; }
    bad() { jq -r '.requests - .ok' "$1"; }
    echo "| $r | $c | $(jq .tokens_per_s "$a") | $(jq .tokens_per_s "$b") | $ratio | $(t "$a") | $(t "$b") |" \
         "$(bad "$a") / $(bad "$b") | $(cut -d' ' -f1 /proc/loadavg) |"
  done
done
