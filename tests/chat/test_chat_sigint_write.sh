#!/bin/bash
# Ctrl-C while the chat is blocked writing an answer (stdout a full pipe):
# the write is restarted, not failed with EINTR ("cannot write output:
# Interrupted system call" and exit 1 before the fix); the answer stops with
# "(interrupted)" and the chat ends normally at the end of input.
source "$(dirname "$0")/../lib.sh"
V=$SHARED/vocab/ggml-vocab-llama-spm.gguf
[ -f "$V" ] || { skip "chat: Ctrl-C during a blocked write" "shared data missing"; exit 0; }
command -v python3 >/dev/null || { skip "chat: Ctrl-C during a blocked write" "needs python3"; exit 0; }
"$BIN/llamafile-mkmodel" --arch llama --preset tiny --vocab "$V" --n-vocab 32000 --n-embd 64 \
  "$TMP/m.gguf" >/dev/null 2>&1 || { fail "chat: Ctrl-C during a blocked write" "mkmodel failed"; exit 0; }
out=$(timeout 60 python3 - "$BIN/llamafile" "$TMP/m.gguf" <<'PY'
import fcntl, os, signal, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: a small pipe fills at once
p = subprocess.Popen([sys.argv[1], '-m', sys.argv[2], '--chat', '--temp', '0', '-n', '-1',
                      '-c', '2048'], stdin=subprocess.PIPE, stdout=w, stderr=subprocess.PIPE)
os.close(w)
p.stdin.write(b'hello\n')
p.stdin.flush()
import array, termios
avail = array.array('i', [0])
for _ in range(400):  # nobody reads: wait (20 s at most) until the pipe is full
    fcntl.ioctl(r, termios.FIONREAD, avail)
    if avail[0] >= 4096:
        break
    time.sleep(0.05)
time.sleep(0.2)  # the answer is now blocked in write()
p.send_signal(signal.SIGINT)
time.sleep(0.3)
p.stdin.close()
n = 0
while True:
    b = os.read(r, 65536)
    if not b:
        break
    n += len(b)
err = p.stderr.read().decode(errors='replace')
print(p.wait(timeout=20), n, err.replace('\n', ' | '))
PY
)
read -r rc n err <<<"$out"
if [ "$rc" = 0 ] && [ "${n:-0}" -ge 4096 ] && [[ "$err" == *"(interrupted)"* ]] && [[ "$err" != *"cannot write"* ]]; then
  pass "chat: Ctrl-C during a blocked write stops the answer, loses nothing, exits 0"
else
  fail "chat: Ctrl-C during a blocked write" "status ${rc:-?}, $n bytes: ${err:0:200}"
fi
