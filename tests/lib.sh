# lib.sh — helpers for shell tests (sourced). Each check prints one line:
# PASS name, FAIL name: why, or SKIP name: why; tests/run.sh adds them up.
: "${BIN:=o//llamafile}" "${SHARED:=../shared}"
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
# check NAME CMD...: PASS if CMD succeeds, else FAIL with its last output line.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -n 1)"; fi
}
