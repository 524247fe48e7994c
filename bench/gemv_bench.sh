#!/bin/bash
# Builds and runs bench/gemv_bench.c (the matrix-vector kernels, plain rows
# against packed groups, alternating in one process). A benchmark, never run
# by `make check`. Needs `make` first (o//lib/libllamafile.a). Arguments go
# to the program:
#   bench/gemv_bench.sh [-t TYPE]... [-r ROUNDS] [-n ROWS] [-j THREADS] [-c COPIES]
set -eu
mkdir -p o/bench
gcc -O2 -std=gnu11 -Wall -Wextra -Iinclude -Isrc -march=x86-64-v2 \
  bench/gemv_bench.c o//lib/libllamafile.a \
  -ljansson -lpcre2-8 -lm -pthread -o o/bench/gemv_bench
echo "# $(uptime)"
exec o/bench/gemv_bench "$@"
