#!/bin/sh
# Installs what `make check-aarch64` needs on top of build/setup.sh: Debian's
# aarch64 cross compiler, qemu-user to run its programs, and the arm64
# static libraries they link (PCRE2; jansson for the tests) through dpkg's
# multiarch. Idempotent and silent when everything is already there.
set -e
PACKAGES="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libpcre2-dev:arm64
libjansson-dev:arm64"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup-aarch64: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
