#!/bin/bash
# llamafile --server on stories260K: /props and /slots carry llama-server's
# fields — /props: webui/ui, is_sleeping, chat_template (the ChatML fallback
# for a model without one, as llama-server shows its chatml), bos/eos, modalities;
# /slots: a slot's task (id_task, params, next_token, prompt counts, prompt
# and generated text) while it runs and after it ended.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
[ -e "$M" ] || { skip "server props" "no $M"; exit 0; }
command -v curl >/dev/null && command -v jq >/dev/null || { skip "server props" "needs curl and jq"; exit 0; }
start_server props -np 2 -c 8192 || { fail "server starts" "no startup line"; exit 1; }

req /props >/dev/null
expect "/props fields" '.total_slots == 2 and .default_generation_settings.n_ctx == 4096
  and .default_generation_settings.params.n_probs == 0 and .webui == true and .ui == true
  and .is_sleeping == false and (.chat_template | contains("<|im_start|>")) and .bos_token == "<s>" and .eos_token == "</s>"
  and .modalities == {"vision":false,"video":false,"audio":false} and (.build_info | startswith("llamafile"))
  and (has("chat_template_tool_use") | not)'
req /slots >/dev/null
expect "/slots before any request" 'length == 2 and all(.[]; .is_processing == false and (has("id_task") | not) and .n_cache == 0)'

# a long request in the background (seconds of generation); /slots while it runs
curl -s --max-time 60 "$URL/completion" -d '{"prompt":"Once upon a time","n_predict":4000,"temperature":0,"ignore_eos":true,"stream":true,"top_k":7}' >"$TMP/long" &
CPID=$!
ok=""
for i in $(seq 100); do
  req /slots >/dev/null
  if jq -e 'any(.[]; .is_processing)' "$TMP/body" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.05
done
if [ -n "$ok" ]; then
  expect "/slots while running" 'map(select(.is_processing))[0] | (.id_task | type) == "number"
    and .n_prompt_tokens == 5 and .params.top_k == 7 and .params.n_predict == 4000
    and .next_token[0].has_next_token == true and .next_token[0].n_decoded == .n_decoded
    and .next_token[0].n_remain == 4000 - .n_decoded and (.n_prompt_tokens_processed | type) == "number"
    and (.prompt | endswith("Once upon a time")) and (.generated | type) == "string"'
else
  fail "/slots while running" "never saw a busy slot"
fi
wait "$CPID"
req /slots >/dev/null
expect "/slots after: the last task" 'map(select(has("id_task")))[0] | .is_processing == false
  and .n_decoded == 4000 and .next_token[0].has_next_token == false and .next_token[0].n_remain == 0
  and .n_prompt_tokens_processed + .n_prompt_tokens_cache == 5 and .n_cache == 4004'
streamed=$(sed -n 's/^data: //p' "$TMP/long" | jq -j '.content // ""')
if jq -e --arg s "$streamed" 'map(select(has("id_task")))[0] | .generated == $s and ($s | length) > 100' \
     "$TMP/body" >/dev/null; then pass "/slots after: generated is the streamed text"
else fail "/slots after: generated is the streamed text" "$(head -c 200 "$TMP/body")"; fi
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
