#!/bin/bash
# Times llamafile-template on a large chat request at 1x, 2x and 4x size, to
# show rendering grows linearly with input. A benchmark, never run by
# `make check`. The 1x request: 200 messages (user/assistant, ~300 bytes
# each), 50 tools (~1 KB of JSON Schema each, 50 KB in all) and one 1 MiB
# user message.
#
#   bench/template_bench.sh [BIN=o//llamafile] [SHARED=../shared]
set -eu
BIN=${BIN:-o//llamafile}
SHARED=${SHARED:-../shared}
TEMPLATES=${TEMPLATES:-"Qwen-Qwen3-0.6B meta-llama-Llama-3.1-8B-Instruct"}
RUNS=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# request K: K*200 messages, K*50 tools, a K MiB message.
make_request() {
  local k=$1
  jq -n --argjson k "$k" '
    def para: "The quick brown fox jumps over the lazy dog, again and again, while the model keeps "
            + "track of every word of this rather long conversation turn. ";
    def tool(i): {type: "function", function: {
      name: "tool_\(i)", description: ("Does thing number \(i). " * 8),
      parameters: {type: "object", properties: {
        city: {type: "string", description: "The city to look up, e.g. Paris or Tokyo."},
        unit: {type: "string", enum: ["celsius", "fahrenheit", "kelvin"]},
        days: {type: "integer", description: "How many days ahead, 1 to 14.", default: 1},
        detailed: {type: "boolean", description: "Whether to include hourly details."},
        fields: {type: "array", items: {type: "string"}, description: "Which fields to return."}},
        required: ["city"]}}};
    {messages: ([{role: "system", content: "You are a helpful assistant."}]
                + [range(0; 200 * $k) | {role: (if . % 2 == 0 then "user" else "assistant" end),
                                          content: (para * 2)}]
                + [{role: "user", content: ("x" * (1048576 * $k))}]),
     tools: [range(0; 50 * $k) | tool(.)],
     add_generation_prompt: true}' >"$tmp/req$k.json"
}

for k in 1 2 4; do make_request "$k"; done
printf '%-40s %8s %12s %10s %10s\n' template size request_MB seconds s_per_MB
for t in $TEMPLATES; do
  for k in 1 2 4; do
    best=
    for _ in $(seq "$RUNS"); do
      s=$(date +%s.%N)
      "$BIN/llamafile-template" --template "$SHARED/templates/$t.jinja" --bos '<s>' --eos '</s>' \
        --now 2024-07-26T00:00:00 "$tmp/req$k.json" >"$tmp/out" 
      e=$(date +%s.%N)
      d=$(echo "$e - $s" | bc -l)
      if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
    done
    mb=$(echo "$(stat -c %s "$tmp/req$k.json") / 1048576" | bc -l)
    printf '%-40s %7sx %12.2f %10.3f %10.3f\n' "$t" "$k" "$mb" "$best" "$(echo "$best / $mb" | bc -l)"
  done
done
