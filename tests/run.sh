#!/bin/bash
# Runs every test program and script given as arguments, then the fuzz
# targets, and prints one final line: N passed, N failed, N skipped.
# A test program that exits non-zero without reporting a FAIL (a crash,
# a sanitizer report) counts as one failure. $RUNNER, if set, prefixes every
# test program (an emulator: "qemu-aarch64 -cpu max").
export BIN TESTBIN SHARED FUZZBIN FUZZ_SECONDS
export TESTS=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0
failures=() fail_lines=()
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT

run_one() {
  local name=$1; shift
  "$@" >"$log" 2>&1
  local rc=$?
  local p f s
  p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
  grep -E '^(FAIL|SKIP) ' "$log" | sed "s|^|  [$name] |"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "  [$name] exited with status $rc without reporting a failure:"
    tail -n 20 "$log" | sed 's/^/    /'
    f=$((f + 1))
    fail_lines+=("  [$name] exited with status $rc: $(tail -n 1 "$log" | cut -c1-200)")
  elif [ "$f" -ne 0 ]; then
    grep -vE '^(PASS|FAIL|SKIP|#) ' "$log" | tail -n 20 | sed 's/^/    /'
  fi
  printf '%-48s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  [ "$f" -eq 0 ] || failures+=("$name")
  local line
  while IFS= read -r line; do fail_lines+=("  [$name] $line"); done < <(grep '^FAIL ' "$log")
}

for t in "$@"; do
  case "$t" in
    *.sh) run_one "$t" bash "$t" ;;
    *) run_one "${t#"$TESTBIN"/}" $RUNNER "$t" ;;
  esac
done
if [ -n "$FUZZBIN" ] && [ -x "$TESTS/fuzz/run.sh" ]; then
  run_one "fuzz (${FUZZ_SECONDS}s each)" "$TESTS/fuzz/run.sh"
fi

# Repeated at the end, where a log cut to its tail still shows them.
[ ${#fail_lines[@]} -eq 0 ] || printf '%s\n' "${fail_lines[@]}"
[ ${#failures[@]} -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
