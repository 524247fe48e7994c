# server_lib.sh — starting `llamafile --server` for a test (sourced after
# tests/lib.sh): a free port from the kernel (--port 0, read back from the
# startup line), loopback only, the server killed when the test exits.
LF=$BIN/llamafile
M=$SHARED/models/stories260K.gguf
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
SERVER_PIDS=()
trap 'for p in "${SERVER_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# start_server NAME ARGS...: sets URL and SPID; false when it did not come up
# within 10 s.
start_server() {
  local name=$1; shift
  "$LF" --server -m "$M" --host 127.0.0.1 --port 0 -t 1 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  SPID=$!
  SERVER_PIDS+=("$SPID")
  local port="" i
  for i in $(seq 100); do
    port=$(sed -n 's/.*listening on http:[^ ]*:\([0-9][0-9]*\)\/.*/\1/p' "$TMP/$name.err")
    [ -n "$port" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "# server $name did not start: $(cat "$TMP/$name.err")"; return 1; }
  URL=http://127.0.0.1:$port
}

# stop_server PID: SIGTERM, then waits up to 10 s; the exit status in RC.
stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; RC=timeout; return; fi
  wait "$pid"; RC=$?
}

# req PATH [CURL ARGS...]: body on stdout, status in $TMP/status.
req() {
  local path=$1; shift
  curl -s --max-time 30 -o "$TMP/body" -w '%{http_code}' "$@" "$URL$path" >"$TMP/status"
  cat "$TMP/body"
}
post() { local path=$1 body=$2; shift 2; req "$path" -H 'Content-Type: application/json' -d "$body" "$@"; }
status() { cat "$TMP/status"; }

# expect NAME JQ-EXPR: PASS when jq -e of the last body holds.
expect() {
  if jq -e "$2" "$TMP/body" >/dev/null 2>&1; then pass "$1"; else fail "$1" "status $(status): $(head -c 300 "$TMP/body")"; fi
}
# expect_status NAME CODE [JQ-EXPR]
expect_status() {
  local st; st=$(status)
  if [ "$st" = "$2" ] && { [ -z "$3" ] || jq -e "$3" "$TMP/body" >/dev/null 2>&1; }; then
    pass "$1"
  else
    fail "$1" "status $st (want $2): $(head -c 300 "$TMP/body")"
  fi
}
# SSE: the JSON of each "data: " line except [DONE], one per line.
sse_json() { sed -n 's/^data: //p' "$1" | grep -v '^\[DONE\]$'; }

# need_jsonschema LABEL: sets PY to a python3 with jsonschema (Debian's
# python3-jsonschema, from build/setup-tests.sh), or FAILs and exits.
need_jsonschema() {
  PY=
  for p in python3 /usr/bin/python3; do "$p" -c 'import jsonschema' 2>/dev/null && { PY=$p; break; }; done
  [ -n "$PY" ] || { fail "$1" "no python3 with jsonschema (build/setup-tests.sh)"; exit 0; }
}

# validate NAME SCHEMA TEXT: PASS when TEXT is JSON that validates
# against SCHEMA (need_jsonschema first).
validate() {
  local why
  if why=$("$PY" -c '
import json, sys
from jsonschema import Draft202012Validator
schema = json.loads(sys.argv[1])
try:
    doc = json.loads(sys.argv[2])
except Exception as e:
    print("not JSON: %s: %r" % (e, sys.argv[2][:200])); sys.exit(1)
errs = [e.message for e in Draft202012Validator(schema).iter_errors(doc)]
if errs:
    print("does not validate: %s: %r" % (errs[0], sys.argv[2][:200])); sys.exit(1)
' "$2" "$3" 2>&1); then pass "$1"; else fail "$1" "$why"; fi
}
