#!/bin/bash
# Generation (tg128) of one model three ways, alternating, R rounds: our
# build with plain weights (LLAMAFILE_REPACK=0), the same build with the
# weights repacked at load (LLAMAFILE_REPACK=1, tensor/pack.h) and llama.cpp's
# llama-bench; the load average before each run. A benchmark, not a test.
#   M=o/bench/tinyllama-Q4_K_M.gguf R=3 bench/gemv_repack_ab.sh
M=${M:-o/bench/tinyllama-Q4_K_M.gguf}
R=${R:-3}
LB=${LB:-../shared/reference/llama.cpp-d32676d/llama-bench}
tg() { "$@" -m "$M" -t 2 -r 3 -p 0 -n 128 -o csv 2>/dev/null | tail -1 | awk -F, '{gsub(/"/, "", $(NF-1)); print $(NF-1)}'; }
for r in $(seq 1 "$R"); do
  echo "round $r: plain $(cut -d' ' -f1 /proc/loadavg) $(LLAMAFILE_REPACK=0 tg o//llamafile/llamafile-bench)" \
       "| packed $(cut -d' ' -f1 /proc/loadavg) $(LLAMAFILE_REPACK=1 tg o//llamafile/llamafile-bench)" \
       "| llama.cpp $(cut -d' ' -f1 /proc/loadavg) $(tg "$LB") (load, t/s)"
done
