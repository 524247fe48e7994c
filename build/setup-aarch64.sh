#!/bin/sh
# Installs what `make check-aarch64` needs on top of build/setup.sh: Debian's
# aarch64 cross compiler, qemu-user to run its programs, and the arm64
# static libraries they link (PCRE2; jansson for the tests) through dpkg's
# multiarch. Idempotent and silent when everything is already there.
set -e
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
exec "$(dirname "$0")/setup.sh" gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
  libpcre2-dev:arm64 libjansson-dev:arm64 libmicrohttpd-dev:arm64 libgnutls28-dev:arm64 \
  libedit-dev:arm64 libbsd-dev:arm64 libmd-dev:arm64 libncurses-dev:arm64
