#!/bin/bash
# More threads than CPUs (-t 8 and -t 32 on a 2-CPU machine, or any -t above
# 1 under `taskset -c 0`) must cost about what -t = CPUs costs, not 100× more:
# each run gets LIMIT seconds (it takes a fraction of a second) and must print
# what -t 2 prints.
source "$(dirname "$0")/../lib.sh"
LIMIT=20
STORIES=$SHARED/models/stories260K.gguf
GEMMA3N=$SHARED/vectors/gemma3n-Q4_K_M.gguf

# run_within NAME REFERENCE CMD...: CMD must finish within LIMIT seconds with
# status 0 and, when REFERENCE names a file, print the same.
run_within() {
  local name=$1 ref=$2; shift 2
  local t0 rc
  t0=$(date +%s%N)
  timeout -k 5 "$LIMIT" "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
  local ms=$((($(date +%s%N) - t0) / 1000000))
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then fail "$name" "still running after $LIMIT s"
  elif [ "$rc" -ne 0 ]; then fail "$name" "status $rc: $(tail -n 1 "$TMP/err")"
  elif [ -n "$ref" ] && ! cmp -s "$ref" "$TMP/out"; then fail "$name" "output differs from -t 2"
  else pass "$name ($ms ms)"; fi
}

gen() { # MODEL THREADS: the command line for 256 greedy tokens, in GEN
  GEN=("$BIN/llamafile" -m "$1" -p "Once upon" -n 256 --temp 0 -t "$2")
}

for m in "$STORIES" "$GEMMA3N"; do
  name=$(basename "$m" .gguf)
  if [ ! -e "$m" ]; then
    skip "$name oversubscribed" "no $m"
    continue
  fi
  gen "$m" 2
  if ! timeout -k 5 120 "${GEN[@]}" >"$TMP/ref.$name" 2>"$TMP/err"; then
    fail "$name -t 2" "$(tail -n 1 "$TMP/err")"
    continue
  fi
  for t in 8 32; do
    gen "$m" "$t"
    run_within "$name -t $t within $LIMIT s" "$TMP/ref.$name" "${GEN[@]}"
  done
  if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
    gen "$m" 2
    run_within "$name -t 2 on one CPU (taskset) within $LIMIT s" "$TMP/ref.$name" taskset -c 0 "${GEN[@]}"
  else
    skip "$name on one CPU" "taskset cannot restrict this process"
  fi
done

if [ -e "$STORIES" ]; then
  run_within "llamafile-bench -t 8 within $LIMIT s" "" \
    "$BIN/llamafile-bench" -m "$STORIES" -p 64 -n 64 -r 2 -t 8 -o csv
  grep -q '"8"\|,8,' "$TMP/out" && pass "llamafile-bench reports -t 8" \
    || fail "llamafile-bench reports -t 8" "$(tail -n 1 "$TMP/out")"
fi
