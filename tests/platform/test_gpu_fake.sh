#!/bin/bash
# GPU detection through a stand-in libcuda.so.1 (built here): devices are
# listed, and a driver that crashes while being queried cannot crash us.
source "$(dirname "$0")/../lib.sh"
PROBE=$TESTBIN/platform/test_sysinfo
CC_FOR_TEST=$(command -v cc || command -v gcc || command -v clang)
if [ -z "$CC_FOR_TEST" ] || [ ! -x "$PROBE" ]; then
  skip "fake CUDA driver" "no C compiler or no $PROBE"; exit 0
fi
cat >"$TMP/fake.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int cuInit(unsigned f) { (void)f; if (getenv("FAKE_CUDA_CRASH")) abort(); return getenv("FAKE_CUDA_NONE") ? 100 : 0; }
int cuDriverGetVersion(int *v) { *v = 12040; return 0; }
int cuDeviceGetCount(int *n) { *n = 2; return 0; }
int cuDeviceGet(int *d, int i) { *d = i; return 0; }
int cuDeviceGetName(char *b, int len, int d) { snprintf(b, (size_t)len, "Fake GPU %d", d); return 0; }
int cuDeviceTotalMem_v2(size_t *b, int d) { *b = (size_t)(80 + d) << 30; return 0; }
int cuDeviceGetAttribute(int *v, int a, int d) { (void)d; *v = a == 75 ? 9 : 0; return 0; }
C
mkdir -p "$TMP/lib"
if ! "$CC_FOR_TEST" -shared -fPIC -o "$TMP/lib/libcuda.so.1" "$TMP/fake.c" 2>"$TMP/cc.txt"; then
  skip "fake CUDA driver" "cannot build a shared library: $(tail -n 1 "$TMP/cc.txt")"; exit 0
fi
out=$(LD_LIBRARY_PATH="$TMP/lib" "$PROBE" --gpu 2>&1)
want=$'2\nGPU: CUDA driver 12.4, 2 devices: [0] Fake GPU 0 (sm_90, 80.0 GiB), [1] Fake GPU 1 (sm_90, 81.0 GiB)'
[ "$out" = "$want" ] && pass "devices listed through libcuda.so.1 (dlopen from this binary)" \
  || fail "devices listed" "$(tr '\n' '|' <<<"$out")"
out=$(FAKE_CUDA_NONE=1 LD_LIBRARY_PATH="$TMP/lib" "$PROBE" --gpu 2>&1)
[ "$out" = $'0\nGPU: none detected (CPU only; CUDA driver found, no device)' ] \
  && pass "driver without a device" || fail "driver without a device" "$(tr '\n' '|' <<<"$out")"
out=$(FAKE_CUDA_CRASH=1 LD_LIBRARY_PATH="$TMP/lib" "$PROBE" --gpu 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = $'0\nGPU: none detected (CPU only; the CUDA driver crashed while being queried)' ] \
  && pass "a crashing driver cannot crash the caller" || fail "crashing driver" "rc=$rc $(tr '\n' '|' <<<"$out")"
out=$(LD_LIBRARY_PATH="$TMP/nothing" "$PROBE" --gpu 2>&1)
if [ -e /usr/lib/x86_64-linux-gnu/libcuda.so.1 ] || ldconfig -p 2>/dev/null | grep -q libcuda.so.1; then
  skip "no driver" "this machine has a CUDA driver: $(tail -n 1 <<<"$out")"
else
  [ "$out" = $'0\nGPU: none detected (CPU only)' ] && pass "no driver: GPU: none detected (CPU only)" \
    || fail "no driver" "$(tr '\n' '|' <<<"$out")"
fi
