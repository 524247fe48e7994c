#!/bin/bash
# llamafile-template: the golden chat-template cases of $SHARED/templates
# (a sample: three cases of ten templates) rendered byte for byte, with
# --template and with -m on vocab GGUFs that carry the same template; the
# template's raise_exception message exactly; exit statuses.
source "$(dirname "$0")/../lib.sh"
LT=$BIN/llamafile-template
G=$SHARED/templates
command -v jq >/dev/null || { skip "llamafile-template" "jq missing"; exit 0; }
[ -d "$G" ] || { skip "llamafile-template" "$G missing"; exit 0; }
NOW=2024-07-26T00:00:00

# run_case GOLDEN I ARGS...: renders case I of GOLDEN with ARGS and checks
# it against the golden's expected text or error.
run_case() {
  local golden=$1 i=$2; shift 2
  local name; name="$(basename "$golden" .jinja.json) $(jq -r ".cases[$i].name" "$golden")"
  jq ".cases[$i] | {messages, tools, add_generation_prompt} + .extra" "$golden" >"$TMP/req.json"
  "$LT" "$@" --now "$NOW" "$TMP/req.json" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if jq -e ".cases[$i] | has(\"expected\")" "$golden" >/dev/null; then
    jq -j ".cases[$i].expected" "$golden" >"$TMP/want"
    if [ $rc -eq 0 ] && cmp -s "$TMP/want" "$TMP/out"; then pass "$name $1"
    else fail "$name $1" "exit $rc $(head -c 200 "$TMP/err")$(cmp "$TMP/want" "$TMP/out" 2>&1 | head -c 200)"; fi
  elif [ "$(jq -r ".cases[$i].raised_by_template" "$golden")" = true ]; then
    jq -r ".cases[$i].error" "$golden" >"$TMP/want"
    if [ $rc -eq 1 ] && cmp -s "$TMP/want" "$TMP/err"; then pass "$name (raises) $1"
    else fail "$name (raises) $1" "exit $rc: $(head -c 200 "$TMP/err")"; fi
  else
    if [ $rc -eq 1 ] && [ -s "$TMP/err" ] && [ ! -s "$TMP/out" ]; then pass "$name (fails) $1"
    else fail "$name (fails) $1" "exit $rc"; fi
  fi
}

# Three cases of each template (multi_turn, tool_call_dict_args, unicode in
# the base order every golden file starts with), with --template and the
# file's bos/eos.
CASES=(3 7 15)
TEMPLATES=(
  meta-llama-Llama-3.1-8B-Instruct
  Qwen-Qwen2.5-7B-Instruct
  Qwen-Qwen3-0.6B
  google-gemma-2-2b-it
  mistralai-Mistral-Nemo-Instruct-2407
  microsoft-Phi-3.5-mini-instruct
  ibm-granite-granite-3.3-2B-Instruct
  deepseek-ai-DeepSeek-R1-Distill-Qwen-32B
  LFM2-8B-A1B
  openai-gpt-oss-120b
)
for t in "${TEMPLATES[@]}"; do
  golden=$G/$t.jinja.json
  [ -f "$golden" ] || { skip "$t" "no golden file"; continue; }
  bos=$(jq -r .bos_token "$golden") eos=$(jq -r .eos_token "$golden")
  for i in "${CASES[@]}"; do
    run_case "$golden" $i --template "$G/$t.jinja" --bos "$bos" --eos "$eos"
  done
done
# gemma-2 raises on a system message (case system_user).
run_case "$G/google-gemma-2-2b-it.jinja.json" 2 --template "$G/google-gemma-2-2b-it.jinja" --bos "<bos>" --eos "<eos>"

# -m: the template and bos/eos from the GGUF. ggml-vocab-gpt-oss carries
# openai-gpt-oss-120b's template (bos/eos as the golden file); qwen2's is
# Qwen3-0.6B's (which reads neither).
for pair in gpt-oss:openai-gpt-oss-120b qwen2:Qwen-Qwen3-0.6B; do
  vocab=$SHARED/vocab/ggml-vocab-${pair%%:*}.gguf golden=$G/${pair#*:}.jinja.json
  [ -f "$vocab" ] || { skip "-m $vocab" "missing"; continue; }
  n=$(jq '.cases | length' "$golden")
  for ((i = 0; i < n; i += 4)); do run_case "$golden" $i -m "$vocab"; done
done

# Errors and exit statuses.
printf '{"messages":[{"role":"user","content":"hi"}]}' >"$TMP/hi.json"
printf '{%% for x in %%}' >"$TMP/bad.jinja"
"$LT" --template "$TMP/bad.jinja" "$TMP/hi.json" >"$TMP/out" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && [ ! -s "$TMP/out" ] &&
  pass "syntax error: one line, exit 1" || fail "syntax error" "exit $rc $(cat "$TMP/err")"
printf '{"messages":[{"role":"user","content":5}]}' >"$TMP/badmsg.json"
"$LT" --template "$G/Qwen-Qwen3-0.6B.jinja" "$TMP/badmsg.json" >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'messages\[0\].content' "$TMP/err" &&
  pass "bad message: named, exit 1" || fail "bad message" "exit $rc $(cat "$TMP/err")"
printf '[{"role":"user",\n"content":"hi"}]' >"$TMP/array.json"
printf '{"messages":[{"role":"user",\n"content":"hi\\\n' >"$TMP/cut.json"  # jansson quotes the newline
for req in array cut; do
  "$LT" --template "$G/Qwen-Qwen3-0.6B.jinja" "$TMP/$req.json" >/dev/null 2>"$TMP/err"; rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && pass "request $req: one line, exit 1" ||
    fail "request $req" "exit $rc $(cat "$TMP/err")"
done
"$LT" --template "$TMP/none.jinja" "$TMP/hi.json" >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && pass "missing template: exit 1" || fail "missing template" "exit $rc"
for args in "$TMP/hi.json" "--template $TMP/bad.jinja" "--template $TMP/bad.jinja -m x $TMP/hi.json" \
            "--template $TMP/bad.jinja --now yesterday $TMP/hi.json" "--bogus $TMP/hi.json"; do
  # shellcheck disable=SC2086
  "$LT" $args >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] && pass "usage error: $args" || fail "usage error: $args" "exit $rc"
done
"$LT" --help | grep -q 'REQUEST.json' && pass "--help" || fail "--help" "no usage text"
# A model without a template: the ChatML fallback, said with --verbose.
"$LT" -v -m "$SHARED/vocab/ggml-vocab-llama-spm.gguf" "$TMP/hi.json" >"$TMP/out" 2>"$TMP/err"
printf '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n' | cmp -s - "$TMP/out" &&
  grep -q fallback "$TMP/err" && pass "fallback template" || fail "fallback template" "$(cat "$TMP/err")"
# gpt-oss: the chat layer renders harmony (--harmony); without it, the GGUF's template.
printf '{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high"}' >"$TMP/hm.json"
"$LT" -v --harmony --now 2024-07-26T00:00:00 -m "$SHARED/vocab/ggml-vocab-gpt-oss.gguf" \
  "$TMP/hm.json" >"$TMP/out" 2>"$TMP/err"
{ printf '<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n'
  printf 'Knowledge cutoff: 2024-06\nCurrent date: 2024-07-26\n\nReasoning: high\n\n'
  printf '# Valid channels: analysis, commentary, final. Channel must be included for every message.'
  printf '<|end|><|start|>user<|message|>hi<|end|><|start|>assistant'; } | cmp -s - "$TMP/out" &&
  grep -q harmony "$TMP/err" && pass "gpt-oss --harmony: the harmony render" ||
  fail "gpt-oss --harmony" "$(cat "$TMP/out" "$TMP/err")"
# (a system message: the template ends its instructions with a blank line, harmony does not)
printf '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}]}' >"$TMP/hs.json"
for h in --harmony -v; do
  "$LT" $h --now 2024-07-26T00:00:00 -m "$SHARED/vocab/ggml-vocab-gpt-oss.gguf" "$TMP/hs.json" \
    >"$TMP/out$h" 2>"$TMP/err"
done
! cmp -s "$TMP/out--harmony" "$TMP/out-v" && grep -q 'tokenizer.chat_template' "$TMP/err" &&
  pass "gpt-oss without --harmony: the GGUF template" || fail "gpt-oss template" "$(cat "$TMP/err")"
