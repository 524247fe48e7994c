#!/bin/sh
# Installs what the tests need beyond the build: Node.js with npm (Debian's,
# unless a node and npm are already on PATH), Debian's chromium for the
# browser test, and the pinned npm packages of tests/js (package-lock.json:
# the official openai and @anthropic-ai/sdk clients, puppeteer-core). Idempotent and quiet when
# everything is already there.
set -e
cd "$(dirname "$0")/.."
pkgs="chromium python3-jsonschema"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
build/setup.sh $pkgs
lock=tests/js/package-lock.json
stamp=tests/js/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  echo "setup: npm ci in tests/js" >&2
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
