#!/bin/bash
# llamafile --server driven by the official `openai` npm client (node,
# tests/js/node_modules from build/setup-tests.sh): openai_client.mjs prints
# the PASS/FAIL lines. Skipped when node or the client is missing.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/server_lib.sh"
JS_DIR=$(cd "$(dirname "$0")/../js" && pwd)
[ -e "$M" ] || { skip "openai client" "no $M"; exit 0; }
command -v node >/dev/null || { skip "openai client" "no node"; exit 0; }
[ -e "$JS_DIR/node_modules/openai/package.json" ] || { skip "openai client" "no $JS_DIR/node_modules/openai (run build/setup-tests.sh)"; exit 0; }
start_server oai -np 2 -c 1024 --api-key sk-test || { fail "server starts" "no startup line"; exit 1; }
BASE_URL=$URL/v1 API_KEY=sk-test JS_DIR=$JS_DIR timeout 120 node "$(dirname "$0")/openai_client.mjs"
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "openai client script" "exit status $rc"
stop_server "$SPID"
[ "$RC" = 0 ] && pass "server exits 0" || fail "server exit" "$RC"
