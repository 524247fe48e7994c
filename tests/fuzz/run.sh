#!/bin/bash
# Runs every libFuzzer target in $FUZZBIN for $FUZZ_SECONDS seconds each on
# a seed corpus kept in $FUZZBIN/corpus/NAME (built from $SHARED the first
# time), and prints one line per target: PASS fuzz_NAME, or FAIL fuzz_NAME:
# why, followed by the tail of the fuzzer's log.
#
#   FUZZBIN=o/fuzz SHARED=../shared FUZZ_SECONDS=60 tests/fuzz/run.sh
#
# A new target gets seeds by adding a case to seed_corpus below; a target
# without one starts from an empty corpus.
FUZZBIN=${FUZZBIN:-o/fuzz}
SHARED=${SHARED:-../shared}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
MAX_LEN=65536

# Copies a file into the corpus, cut to the longest input the fuzzer tries.
add_seed() {
  local dir=$1 file=$2
  [ -f "$file" ] && head -c "$MAX_LEN" "$file" >"$dir/$(basename "$file")"
}

# Little-endian hex for hand-made seeds, and a writer for hex strings.
u32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
u64() { u32 $(($1 & 0xffffffff)); u32 $(($1 >> 32 & 0xffffffff)); }
str() { u64 ${#1}; printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
add_hex() {
  local dir=$1 name=$2 hex=$3
  printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" >"$dir/$name"
}

seed_gguf() {
  local dir=$1 f n=0
  for f in "$SHARED"/models/*.gguf "$SHARED"/vocab/*.gguf; do
    add_seed "$dir" "$f"
  done
  # A few of each architecture and type is plenty: every other vector file.
  for f in "$SHARED"/vectors/*.gguf; do
    n=$((n + 1))
    [ $((n % 2)) -eq 1 ] && add_seed "$dir" "$f"
  done
  local magic; magic=$(str GGUF | tail -c 8)
  # Valid: one key and no tensors; one F32 tensor of 2 floats (+ padding).
  add_hex "$dir" min-kv.gguf "$magic$(u32 3)$(u64 0)$(u64 1)$(str k)$(u32 4)$(u32 7)"
  add_hex "$dir" min-tensor.gguf "$magic$(u32 3)$(u64 1)$(u64 1)$(str general.alignment)$(u32 4)$(u32 8)$(str t)$(u32 1)$(u64 2)$(u32 0)$(u64 0)0000000000000000803f0000803f"
  # Malformed: a string array cut short, a nested array, v2 with a bool of 2.
  add_hex "$dir" str-array.gguf "$magic$(u32 3)$(u64 0)$(u64 1)$(str a)$(u32 9)$(u32 8)$(u64 2)$(str x)$(u64 9)"
  add_hex "$dir" nested.gguf "$magic$(u32 3)$(u64 0)$(u64 1)$(str a)$(u32 9)$(u32 9)$(u64 1)"
  add_hex "$dir" v2-bool.gguf "$magic$(u32 2)$(u64 0)$(u64 1)$(str b)$(u32 7)02"
}

# Archives: real llamafile-style ones made with zipalign (ZIP64 too), zip
# -made ones, and a few hand-made lies.
seed_zip() {
  local dir=$1 tmp
  tmp=$(mktemp -d) || return
  printf 'hello' >"$tmp/a.txt"
  printf -- '-m\n/zip/m.gguf\n...\n' >"$tmp/.args"
  head -c 3000 "$SHARED/models/stories260K.gguf" >"$tmp/m.gguf" 2>/dev/null || printf 'GGUF' >"$tmp/m.gguf"
  if [ -x "${BIN:-o//llamafile}/zipalign" ]; then
    printf 'ELF' >"$tmp/exe"
    "${BIN:-o//llamafile}/zipalign" -j -a 16 "$tmp/exe" "$tmp/m.gguf" "$tmp/.args" "$tmp/a.txt" && cp "$tmp/exe" "$dir/zipalign.zip"
  fi
  if command -v zip >/dev/null; then
    (cd "$tmp" && zip -q -0 stored.zip a.txt .args && zip -q -9 deflated.zip m.gguf a.txt &&
     zip -q -fz stored64.zip a.txt) && cp "$tmp"/*.zip "$dir/"
  fi
  rm -rf "$tmp"
  local end="504b0506"
  add_hex "$dir" empty.zip "${end}$(u32 0)$(u32 0)$(u32 0)$(u32 0)0000"
  add_hex "$dir" z64-locator.zip "504b0607$(u32 0)$(u64 0)$(u32 1)${end}$(u32 0)$(u32 0)ffffffffffffffff0000"
  add_hex "$dir" bad-count.zip "${end}$(u32 0)ffffffff$(u32 0)$(u32 0)0000"
}

# .args texts: the documented syntax and its error cases.
seed_args() {
  local dir=$1
  printf -- '-m\n/zip/model.gguf\n-n\n64\n...\n' >"$dir/lines"
  printf -- '-p "Once upon a time" --temp 0 # comment\n...\n-c 2048\n' >"$dir/mixed"
  cat >"$dir/quotes" <<'ARGS'
'single \n' "dq \x41\101\t $FUZZ_VAR" ${FUZZ_VAR}x $HOME a\ b\
joined \e\q "multi
line" $ "$" ${}
ARGS
  printf -- '"unterminated\n' >"$dir/bad-quote"
  printf -- '${unterminated\n' >"$dir/bad-brace"
  printf -- '... ... "..." x#y #z\n\\' >"$dir/dots"
}

# Token streams: byte 0 = strict bit and role, then 3 bytes a token; a
# first byte under 160 picks entry b1 of the target's table: 0 <|start|>,
# 1 <|message|>, 2 <|end|>, 3 <|call|>, 4 <|return|>, 5 <|channel|>,
# 6 <|constrain|>, 9 assistant, 10 analysis, 11 final, 12 commentary.
seed_harmony_parse() {
  local dir=$1 t=""
  tok() { local k; for k in "$@"; do t="$t$(printf '00%02x00' "$k")"; done; }
  tok 5 10 1 20 21 2 0 9 5 11 1 22 4
  add_hex "$dir" reasoning-final "09$t"
  add_hex "$dir" reasoning-final-lenient "08$t"
  t=""; tok 5 12 13 14 15 16 6 17 1 18 3 0 9 5 11 9 2
  add_hex "$dir" tool-call "09$t"
  t=""; tok 0 9 5 11 1 20 21 2
  add_hex "$dir" no-role "01${t}ffffff000000a00000"
}

# Chat messages: the conversations of the golden chat-template cases.
seed_chat_json() {
  local dir=$1 f n=0
  command -v jq >/dev/null || return
  for f in "$SHARED"/templates/*.jinja.json; do
    jq -c '.cases[].messages' "$f" 2>/dev/null | while IFS= read -r line; do
      n=$((n + 1))
      printf '%s' "$line" >"$dir/$(basename "$f" .jinja.json)-$n"
    done
  done
}

# Chat templates, each followed by a NUL and a render context that reaches
# their system, tool and tool-call branches.
seed_jinja() {
  local dir=$1 f
  local ctx='{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi \\"there\\" <b>"},{"role":"assistant","content":"","reasoning_content":"hmm","tool_calls":[{"id":"call00001","type":"function","function":{"name":"get_time","arguments":{"timezone":"UTC"}}}]},{"role":"tool","tool_call_id":"call00001","content":"12:00"},{"role":"user","content":[{"type":"text","text":"and?"}]}],"tools":[{"type":"function","function":{"name":"get_time","description":"Time & date","parameters":{"type":"object","properties":{"timezone":{"type":"string","enum":["UTC","CET"]}},"required":["timezone"]}}}],"documents":null,"add_generation_prompt":true,"bos_token":"<s>","eos_token":"</s>","enable_thinking":true}'
  for f in "$SHARED"/templates/*.jinja; do
    { head -c $((MAX_LEN - ${#ctx} - 1)) "$f"; printf '\0%s' "$ctx"; } >"$dir/$(basename "$f")"
  done
}

# Request bodies for the server's parser: each field, right and wrong.
seed_server_request() {
  local dir=$1
  printf '{"prompt":"Once upon a time","max_tokens":16,"temperature":0.7,"top_p":0.9,"top_k":40,"min_p":0.05,"seed":42,"stop":["\\n","END"],"stream":true,"stream_options":{"include_usage":true}}' >"$dir/openai"
  printf '{"prompt":[1,403,407],"n_predict":8,"repeat_penalty":1.1,"repeat_last_n":64,"presence_penalty":0.5,"frequency_penalty":0.5,"logit_bias":{"2":false,"13":-1.5},"ignore_eos":true,"cache_prompt":false,"id_slot":0}' >"$dir/native"
  printf '{"prompt":["one"],"logit_bias":[[5,1.0],[6,false]],"n":1,"model":"m","stop":"x"}' >"$dir/arrays"
  printf '{"prompt":5,"n":2,"temperature":"hot","max_tokens":1.5,"stop":[1]}' >"$dir/wrong"
  printf '{"prompt": "x", bad' >"$dir/malformed"
  printf '{"prompt":"x","stop":["","a"],"top_p":0}' >"$dir/empty-stop"
  printf '{"prompt":["a",[1,2],"b"],"logprobs":3,"n_probs":2,"stop":["q"],"logit_bias":{"3":1}}' >"$dir/multi"
  printf '{"prompt":[[[]]]}' >"$dir/nested-three-deep"  # once a one-prompt "multi" (fuzz)
  printf '{"prompt":"x","grammar":"root ::= \\"a\\"+","json_schema":{"type":"object"}}' >"$dir/grammar"
  printf '{"prompt":"x","response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"array","items":{"type":"integer"}}}}}' >"$dir/response-format"
  printf '{"prompt":"x","response_format":{"type":"json_object","schema":{"enum":[1,"a",null]}}}' >"$dir/json-object-schema"
  # Anthropic Messages bodies (srv_anthropic_to_chat, then srv_parse_chat)
  printf '{"model":"m","max_tokens":9,"system":[{"type":"text","text":"Be brief"}],"messages":[{"role":"user","content":"Hi"}],"stop_sequences":["x"],"temperature":0.5,"top_k":4,"stream":true}' >"$dir/anthropic"
  printf '{"max_tokens":9,"tools":[{"name":"f","description":"d","input_schema":{"type":"object","properties":{"a":{"type":"integer"}}}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"t"},{"type":"tool_use","id":"c1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":[{"type":"text","text":"2"}]},{"type":"text","text":"and?"}]}]}' >"$dir/anthropic-tools"
}

seed_corpus() {
  case "$1" in
    chat_json) seed_chat_json "$2" ;;
    gguf) seed_gguf "$2" ;;
    zip) seed_zip "$2" ;;
    args) seed_args "$2" ;;
    harmony_parse) seed_harmony_parse "$2" ;;
    jinja) seed_jinja "$2" ;;

    server_request) seed_server_request "$2" ;;
    tokenizer) for f in "$SHARED"/vocab/*.inp; do add_seed "$2" "$f"; done ;;
    harmony_render) for f in tests/fuzz/corpus/harmony_render/*; do add_seed "$2" "$f"; done ;;
    gbnf) for f in tests/fuzz/corpus/gbnf/*; do add_seed "$2" "$f"; done ;;
    toolcall) for f in tests/fuzz/corpus/toolcall/*; do add_seed "$2" "$f"; done ;;
    json_schema) for f in tests/fuzz/corpus/json_schema/*; do add_seed "$2" "$f"; done ;;
    reasoning) for f in tests/fuzz/corpus/reasoning/*; do add_seed "$2" "$f"; done ;;
    *) ;;
  esac
}

shopt -s nullglob
targets=("$FUZZBIN"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "SKIP fuzz: no fuzz targets in $FUZZBIN"
  exit 0
fi

failed=0
for bin in "${targets[@]}"; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  target=$(basename "$bin")
  name=${target#fuzz_}
  corpus=$FUZZBIN/corpus/$name
  work=$FUZZBIN/work/$name
  mkdir -p "$corpus" "$work"
  if [ -z "$(ls -A "$corpus")" ]; then
    seed_corpus "$name" "$corpus"
  fi
  rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
  log=$work/log.txt
  timeout $((FUZZ_SECONDS + 120)) "$bin" "$corpus" \
    -max_total_time="$FUZZ_SECONDS" -max_len="$MAX_LEN" \
    -rss_limit_mb="$FUZZ_RSS_MB" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$work/" >"$log" 2>&1
  rc=$?
  artifacts=("$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*)
  artifact=${artifacts[0]}
  if [ $rc -eq 0 ] && [ -z "$artifact" ]; then
    echo "PASS $target"
  else
    why="exit status $rc"
    [ $rc -eq 124 ] && why="did not stop (killed after $((FUZZ_SECONDS + 120))s)"
    [ -n "$artifact" ] && why="$why, input saved as $artifact"
    echo "FAIL $target: $why"
    grep -avE "^(INFO:|#[0-9]+\s)" "$log" | tail -n 40 | sed "s/^/    /"
    failed=1
  fi
done
exit $failed
