#!/bin/bash
# tests/tools/ptyrun: commands driven through a pseudo-terminal: cat
# echoing, a shell reading a line, Ctrl-C ending `sleep 100` (status 130),
# Ctrl-D ending cat, and every failure (a missed expect, a wrong status, a
# command that does not end) bounded, one line on stderr, exit status 1.
source "$(dirname "$0")/../lib.sh"
P=${TESTBIN:-o//tests}/tools/ptyrun
[ -x "$P" ] || { fail "ptyrun" "$P not built"; exit 0; }

# run NAME WANT_RC ARGS...: runs ptyrun, PASS when it exits WANT_RC.
run() {
  local name=$1 want=$2; shift 2
  "$P" "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ $rc -eq "$want" ]; then pass "$name"
  else fail "$name" "exit $rc, want $want: $(head -c 300 "$TMP/err")"; fi
}

run "cat: send, the echo and cat's copy, Ctrl-D ends it" 0 -o "$TMP/cat.log" \
  -e 'send hello pty\n' -e 'expect hello pty' -e 'expect hello pty' -e 'send \x04' -e 'wait 0' -- cat
n=$(grep -c 'hello pty' "$TMP/cat.log")
[ "$n" = 2 ] && pass "cat: the transcript has the echo and the copy" ||
  fail "cat: the transcript has the echo and the copy" "$n lines: $(head -c 200 "$TMP/cat.log")"

run "bash read: a line in, an answer out, exit 0" 0 -o "$TMP/bash.log" \
  -e 'expect ready' -e 'send world\n' -e 'expect ^got world' -e 'wait 0' \
  -- bash -c 'echo ready; read x; echo got $x'
grep -q 'got world' "$TMP/bash.log" && pass "bash read: transcript" ||
  fail "bash read: transcript" "$(head -c 200 "$TMP/bash.log")"

# The terminal is the command's controlling terminal: isatty, and a size.
run "the command sees a terminal" 0 \
  -e 'expect tty yes 24 80' -e 'wait 0' -- bash -c '[ -t 0 ] && [ -t 1 ] && echo tty yes $(stty size)'

t0=$(date +%s)
run "Ctrl-C ends sleep 100 with status 130" 0 -e 'sleep 200' -e 'send \x03' -e 'wait 130' -- sleep 100
[ $(($(date +%s) - t0)) -lt 5 ] && pass "Ctrl-C: quickly" || fail "Ctrl-C: quickly" "took $(($(date +%s) - t0)) s"

t0=$(date +%s)
run "a failing expect exits 1" 1 -t 500 -e 'send abc\n' -e 'expect xyz' -- cat
if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q 'step 2 (expect xyz): no match after 500 ms' "$TMP/err"; then
  pass "a failing expect: one line saying why"
else fail "a failing expect: one line saying why" "$(head -c 300 "$TMP/err")"; fi
[ $(($(date +%s) - t0)) -lt 5 ] && pass "a failing expect: bounded" || fail "a failing expect: bounded" "took $(($(date +%s) - t0)) s"

run "expect sees only what came after the last match" 1 -t 700 \
  -e 'expect one' -e 'expect one' -- bash -c 'echo one; sleep 5'
run "expect fails at once when the command ended" 1 -t 5000 -e 'expect never' -- true
grep -q 'ended (status 0) without a match' "$TMP/err" && pass "expect after the end: says so" ||
  fail "expect after the end: says so" "$(head -c 200 "$TMP/err")"
run "a wrong exit status" 1 -e 'wait 0' -- bash -c 'exit 3'
grep -q 'exit status 3' "$TMP/err" && pass "a wrong exit status: says which" ||
  fail "a wrong exit status: says which" "$(head -c 200 "$TMP/err")"
run "wait on a command that does not end" 1 -t 300 -e 'wait 0' -- sleep 100
grep -q 'still running after 300 ms' "$TMP/err" && pass "wait: bounded" || fail "wait: bounded" "$(head -c 200 "$TMP/err")"

printf '# a script file\n\nexpect ready\ntimeout 2000\nsend 1\\x41\\t\\\\\\n\nexpect \\[1A\t\\\\\\]\nwait 0\n' >"$TMP/script"
run "a script file, escapes, timeout" 0 -f "$TMP/script" -- bash -c 'echo ready; read -r x; echo "[$x]"'
run "an unknown step exits 2" 2 -e 'frobnicate' -- cat
run "a bad escape fails" 1 -e 'send \q' -- cat
run "no command is bad usage" 2 -e 'wait 0'

# raw: a line editor's non-canonical mode is seen; a canonical terminal
# (cat) fails the step, bounded.
run "raw: seen once the command leaves canonical mode" 0 \
  -e 'raw' -e 'send q' -e 'expect got q' -e 'wait 0' -- bash -c 'stty -icanon min 1; read -n 1 x; echo got $x'
t0=$(date +%s)
run "raw: a canonical terminal fails the step" 1 -t 500 -e 'raw' -- cat
grep -q 'step 1 (raw): still canonical after 500 ms' "$TMP/err" && pass "raw: says why" ||
  fail "raw: says why" "$(head -c 200 "$TMP/err")"
[ $(($(date +%s) - t0)) -lt 5 ] && pass "raw: bounded" || fail "raw: bounded" "took $(($(date +%s) - t0)) s"
