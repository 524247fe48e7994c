#!/bin/bash
# Builds and runs bench/moe_bench.c (one Ring-shaped MoE layer, per-product
# against one pool job, alternating in one process; and the cost of an
# empty pool job). A benchmark, never run by `make check`. Needs `make`
# first (o//lib/libllamafile.a). Arguments go to the program:
#   bench/moe_bench.sh [-j THREADS] [-T TOKENS] [-r ROUNDS] [-n BATCHES]
set -eu
mkdir -p o/bench
gcc -O2 -std=gnu11 -Wall -Wextra -Iinclude -Isrc bench/moe_bench.c o//lib/libllamafile.a \
  -ljansson -lpcre2-8 -lm -pthread -o o/bench/moe_bench
echo "# $(uptime)"
exec o/bench/moe_bench "$@"
