#!/bin/sh
# Installs the Debian packages that building and testing llamafile need
# (or the packages named as arguments: build/setup-aarch64.sh).
# Idempotent and silent when everything is already there.
set -e
PACKAGES="make gcc clang libclang-rt-14-dev libc6-dev libjansson-dev libpcre2-dev
libmicrohttpd-dev libgnutls28-dev libedit-dev zip unzip strace jq libjs-marked libjs-highlight.js
node-dompurify"
[ $# -gt 0 ] && PACKAGES="$*"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
