#!/bin/bash
# zipalign: appends aligned stored members to a copy of a binary; Info-ZIP
# agrees with the result; the binary still runs; every failure leaves the
# archive byte-identical; ZIP64 with a sparse file over 4 GiB.
source "$(dirname "$0")/../lib.sh"
BIN=$(cd "$BIN" && pwd) || exit 1
[ -d "$SHARED" ] && SHARED=$(cd "$SHARED" && pwd)
ZA=$BIN/zipalign
cd "$TMP" || exit 1

# Data offset of each member (read from its local header with od), one
# "NAME OFFSET" per line.
data_offsets() {
  local archive=$1 name off nlen xlen
  zipinfo -v "$archive" | awk '
    /^Central directory entry #/ { getline; getline; getline; name = $0; sub(/^  /, "", name) }
    /offset of local header from start of archive:/ { print name "\t" $NF }' |
  while IFS=$'\t' read -r name off; do
    nlen=$(od -An -tu2 -j $((off + 26)) -N2 "$archive" | tr -d ' ')
    xlen=$(od -An -tu2 -j $((off + 28)) -N2 "$archive" | tr -d ' ')
    echo "$name $((off + 30 + nlen + xlen))"
  done
}

# check_aligned ARCHIVE ALIGN: every member's data starts at a multiple.
check_aligned() {
  local lines bad
  lines=$(data_offsets "$1")
  [ -n "$lines" ] || { echo "no members found"; return 1; }
  bad=$(awk -v a="$2" '$2 % a != 0' <<<"$lines")
  [ -z "$bad" ] || { echo "misaligned: $bad"; return 1; }
}

# unzip -t and -l succeed without warnings.
check_unzip() {
  local out
  out=$(unzip -t "$1" 2>&1) || { echo "unzip -t: $(tail -n 2 <<<"$out")"; return 1; }
  grep -q "No errors detected" <<<"$out" || { echo "unzip -t: $out"; return 1; }
  ! grep -qi "warning" <<<"$out" || { echo "unzip -t warned: $out"; return 1; }
  unzip -l "$1" >/dev/null 2>&1 || { echo "unzip -l failed"; return 1; }
}

# A model and an .args file to pack.
if [ -f "$SHARED/models/stories260K.gguf" ]; then
  cp "$SHARED/models/stories260K.gguf" model.gguf
else
  { printf 'GGUF'; head -c 300000 /dev/urandom; } >model.gguf
fi
printf -- '-n\n64\n--temp 0\n-p "Once upon a time"\n...\n' >.args
cp "$BIN/gguf-dump" test.llamafile

"$ZA" --help | grep -q '^usage: zipalign \[-j\] \[-0\] \[-a ALIGN\] \[-N\]' \
  && pass "--help prints the usage" || fail "--help" "no usage line"
"$ZA" --help | grep -q -- '--version' && "$ZA" --help | grep -qi 'symbolic link' \
  && pass "--help documents --version and symbolic links" || fail "--help" "no --version or link line"
out=$("$ZA" --version 2>&1); rc=$?
[ $rc = 0 ] && [ "$out" = "zipalign 0.1.0" ] && pass "--version" || fail "--version" "rc=$rc '$out'"
# stdout on a full disk: an error, not a silent exit 0
for a in --help --version; do
  out=$("$ZA" $a 2>&1 >/dev/full); rc=$?
  [ $rc = 1 ] && [ "$out" = "zipalign: cannot write output: No space left on device" ] \
    && pass "$a >/dev/full fails" || fail "$a >/dev/full" "rc=$rc '$out'"
done

# The issue's command: basename, stored.
check "zipalign -j0 test.llamafile model.gguf .args" "$ZA" -j0 test.llamafile model.gguf .args
check "unzip -t and -l pass" check_unzip test.llamafile
check "data of each member is 65536-aligned" check_aligned test.llamafile 65536
names=$(unzip -Z1 test.llamafile | tr '\n' ' ')
[ "$names" = "model.gguf .args " ] && pass "-j stores base names" || fail "-j names" "got '$names'"
unzip -p test.llamafile model.gguf | cmp -s - model.gguf && unzip -p test.llamafile .args | cmp -s - .args \
  && pass "members hold the files' bytes" || fail "member bytes" "differ"
check "the executable still runs" ./test.llamafile --help
date=$(unzip -l test.llamafile | awk '$4 == "model.gguf" { print $2 }')
[ "$date" = "2023-11-14" ] && pass "default date is fixed" || fail "fixed date" "got '$date'"

# Replacing a member; the others stay listed and intact.
printf -- '-n\n10\n' >.args
cp test.llamafile before-replace
check "replace .args" "$ZA" -j test.llamafile .args
n=$(unzip -Z1 test.llamafile | grep -c '^\.args$')
[ "$n" = 1 ] && unzip -p test.llamafile .args | cmp -s - .args \
  && pass "replaced member listed once with the new bytes" || fail "replace" "$n listings"
check "after replacing: unzip -t and -l pass" check_unzip test.llamafile
cmp -s -n "$(stat -c %s before-replace)" before-replace test.llamafile \
  && pass "earlier bytes untouched by appending" || fail "append only" "earlier bytes changed"

# Paths, other alignments, -N.
mkdir -p dir/sub && echo "nested" >dir/sub/f.txt && touch -d '2020-02-03 04:05:06' dir/sub/f.txt
cp "$BIN/gguf-dump" paths.zip
check "paths kept without -j (leading ./ dropped)" "$ZA" -a 4096 -N paths.zip ./dir/sub/f.txt .//model.gguf
names=$(unzip -Z1 paths.zip | tr '\n' ' ')
want="dir/sub/f.txt model.gguf "
[ "$names" = "$want" ] && pass "stored names" || fail "stored names" "got '$names', want '$want'"
check "-a 4096 aligns to 4096" check_aligned paths.zip 4096
unzip -l paths.zip | grep -q '2020-02-03 04:05 *dir/sub/f.txt' \
  && pass "-N keeps modification times" || fail "-N" "$(unzip -l paths.zip | grep f.txt)"
cp "$BIN/gguf-dump" a1.zip
check "-a 1 (no padding)" "$ZA" -j -a1 a1.zip model.gguf dir/sub/f.txt
check "-a 1: unzip -t passes" check_unzip a1.zip
check "a new archive is created" "$ZA" -j new.zip dir/sub/f.txt
check "new archive: unzip -t passes" check_unzip new.zip

# Failures: the archive keeps its exact bytes.
cp test.llamafile saved
expect_unchanged() {
  local name=$1 want_rc=$2 want_msg=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want_rc" ]; then fail "$name" "exit status $rc, want $want_rc: $out"
  elif ! grep -q -- "$want_msg" <<<"$out"; then fail "$name" "message '$out' lacks '$want_msg'"
  elif [ "$(wc -l <<<"$out")" != 1 ]; then fail "$name" "message is not one line: $out"
  elif ! cmp -s saved test.llamafile; then fail "$name" "archive changed"
  else pass "$name: archive unchanged"; fi
}
expect_unchanged "bad option" 2 "unknown option '-x'" "$ZA" -x test.llamafile model.gguf
expect_unchanged "bad long option" 2 "unknown option '--frob'" "$ZA" --frob test.llamafile model.gguf
expect_unchanged "-a 3000" 2 "ALIGN must be a power of two" "$ZA" -a 3000 test.llamafile model.gguf
expect_unchanged "-a 0" 2 "ALIGN must be a power of two" "$ZA" -a0 test.llamafile model.gguf
expect_unchanged "-a 2^31" 2 "ALIGN must be a power of two" "$ZA" -a 2147483648 test.llamafile model.gguf
expect_unchanged "-a abc" 2 "ALIGN must be a power of two" "$ZA" -a abc test.llamafile model.gguf
expect_unchanged "-a missing" 2 "missing ALIGN" "$ZA" -j -a
expect_unchanged "-9 compression" 2 "compression is not supported" "$ZA" -9 test.llamafile model.gguf
expect_unchanged "no FILE" 2 "missing FILE" "$ZA" test.llamafile
expect_unchanged "missing input" 1 "nope.bin: cannot open: No such file" "$ZA" test.llamafile model.gguf nope.bin
expect_unchanged "directory input" 1 "dir: not a regular file" "$ZA" test.llamafile dir
expect_unchanged "same name twice" 1 "member name 'f.txt' given twice" "$ZA" -j test.llamafile dir/sub/f.txt dir/sub/../sub/f.txt
expect_unchanged "archive as input" 1 "is the archive itself" "$ZA" test.llamafile test.llamafile
# An input this user may not read (as root: run zipalign as nobody).
cp model.gguf unreadable.bin && chmod 000 unreadable.bin
if [ "$(id -u)" != 0 ]; then
  expect_unchanged "unreadable input" 1 "unreadable.bin: cannot open: Permission denied" "$ZA" test.llamafile unreadable.bin
elif command -v setpriv >/dev/null && chmod 755 "$TMP" && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
  chown 65534 test.llamafile saved
  expect_unchanged "unreadable input" 1 "unreadable.bin: cannot open: Permission denied" \
    setpriv --reuid=65534 --regid=65534 --clear-groups "$ZA" test.llamafile unreadable.bin
  chown 0 test.llamafile saved
else
  skip "unreadable input" "running as root without setpriv"
fi
head -c 2000000 /dev/urandom >big.bin
limit=$(( ($(stat -c %s test.llamafile) + 300000) / 1024 ))
expect_unchanged "file size limit reached (ulimit -f)" 1 "File too large.*left unchanged" \
  bash -c "ulimit -f $limit; exec \"$ZA\" test.llamafile big.bin"
cp saved damaged && printf 'PK\005\006\000\000\000\000\002\000\002\000\377\377\000\000\000\000\000\000\000\000' >>damaged
cp damaged saved2
out=$("$ZA" damaged model.gguf 2>&1); rc=$?
[ $rc = 1 ] && cmp -s damaged saved2 && grep -q "central directory" <<<"$out" \
  && pass "damaged archive refused, unchanged" || fail "damaged archive" "rc=$rc $out"
rm -f damaged saved2 new2.zip

# Damaged end records: refused, unchanged (not taken for a plain file, which
# would write a directory of only the new member). One-member archives too,
# and a truncated copy.
cp "$BIN/gguf-dump" one.zip && "$ZA" -j one.zip dir/sub/f.txt 2>/dev/null
damage_refused() {
  local name=$1 file=$2 out rc
  cp "$file" damaged.bak
  out=$(timeout 20 "$ZA" -j "$file" big.bin 2>&1); rc=$?
  if [ $rc != 1 ]; then fail "$name" "exit status $rc: $out"
  elif ! cmp -s "$file" damaged.bak; then fail "$name" "archive changed"
  elif ! grep -q "damaged zip archive" <<<"$out" || [ "$(wc -l <<<"$out")" != 1 ]; then
    fail "$name" "message: $out"
  else pass "$name: refused, unchanged"; fi
  rm -f "$file" damaged.bak
}
for src in saved one.zip; do
  size=$(stat -c %s $src)
  cp $src d && echo junk >>d && damage_refused "$src: bytes after the end record" d
  cp $src d && printf '\007' | dd of=d bs=1 seek=$((size - 2)) conv=notrunc status=none \
    && damage_refused "$src: wrong comment length" d
  cp $src d && truncate -s $((size - 5)) d && damage_refused "$src: end record cut short" d
  cp $src d && truncate -s $((size - 22)) d && damage_refused "$src: end record cut off" d
  cp $src d && printf 'XX' | dd of=d bs=1 seek=$((size - 22)) conv=notrunc status=none \
    && damage_refused "$src: end record signature damaged" d
done
# A ZIP64 locator and end record with the end record after them gone.
le() { local i; for ((i = 0; i < $2; i++)); do printf "\\$(printf %03o $(($1 >> 8 * i & 255)))"; done; }
u() { od -An -tu$1 -j "$2" -N$1 d | tr -d ' '; }
cp saved d && e=$(LC_ALL=C grep -boa $'PK\x05\x06' d | tail -n 1 | cut -d: -f1) \
  && n=$(u 2 $((e + 10))) && cds=$(u 4 $((e + 12))) && cdo=$(u 4 $((e + 16))) \
  && { le $((0x06064b50)) 4; le 44 8; le 45 2; le 45 2; le 0 4; le 0 4; le "$n" 8; le "$n" 8
       le "$cds" 8; le "$cdo" 8; le $((0x07064b50)) 4; le 0 4; le "$e" 8; le 1 4; } >z64 \
  && dd if=z64 of=d bs=1 seek="$e" conv=notrunc status=none && truncate -s $((e + 76)) d \
  && damage_refused "ZIP64 records without an end record" d
rm -f z64
# Not a zip at all: every program of ours, copied, is a fresh archive.
for prog in "$BIN"/*; do
  cp "$prog" fresh.bin
  out=$("$ZA" -j fresh.bin dir/sub/f.txt 2>&1) && [ "$(unzip -Z1 fresh.bin 2>/dev/null)" = f.txt ] \
    || { fail "a copy of $(basename "$prog") is a fresh archive" "$out"; continue; }
  pass "a copy of $(basename "$prog") is a fresh archive"
done
rm -f fresh.bin one.zip

# Names that would extract outside the folder: refused without -j.
cp saved test.llamafile
mkdir -p up/in && echo up >up/x
expect_unchanged "absolute path" 1 "$TMP/model.gguf: absolute path" "$ZA" test.llamafile "$TMP/model.gguf"
expect_unchanged "'..' component" 1 "up/in/../x: a '..' in the member name" "$ZA" test.llamafile up/in/../x
expect_unchanged "leading '..'" 1 "../$(basename "$TMP")/up/x: a '..'" "$ZA" test.llamafile "../$(basename "$TMP")/up/x"
check "-j stores the base name of such paths" "$ZA" -j test.llamafile up/in/../x
[ "$(unzip -Z1 test.llamafile | tail -n 1)" = x ] && pass "-j: stored as 'x'" || fail "-j ..: name" "$(unzip -Z1 test.llamafile)"
cp saved test.llamafile

# FIFOs, directories and devices: refused at once, never opened for I/O.
mkfifo fifo && mkdir -p adir
expect_unchanged "FIFO input" 1 "fifo: not a regular file (a FIFO)" timeout 20 "$ZA" test.llamafile fifo
expect_unchanged "device input" 1 "/dev/null: not a regular file (a character device)" timeout 20 "$ZA" -j test.llamafile /dev/null
for a in fifo adir; do
  out=$(timeout 20 "$ZA" -j $a dir/sub/f.txt 2>&1); rc=$?
  [ $rc = 1 ] && grep -q "^zipalign: $a: not a regular file" <<<"$out" && [ -p fifo ] && [ -d adir ] \
    && pass "ARCHIVE $a refused" || fail "ARCHIVE $a" "rc=$rc $out"
done
# An ARCHIVE that is a symbolic link: the file it leads to is appended to.
ln -s test.llamafile link.llamafile
check "ARCHIVE a symbolic link" "$ZA" -j link.llamafile up/x
[ -L link.llamafile ] && unzip -Z1 test.llamafile | grep -qx x \
  && pass "symbolic link kept, its target appended to" || fail "ARCHIVE link" "$(ls -l link.llamafile)"
rm -f link.llamafile fifo && cp saved test.llamafile
# -v writes to stderr; stdout (empty) on a full disk is no error.
cp saved v.zip
out=$("$ZA" -v -j v.zip up/x 2>&1 >/dev/full); rc=$?
[ $rc = 0 ] && [ "$out" = "up/x -> x" ] && pass "-v >/dev/full: names on stderr, exit 0" || fail "-v >/dev/full" "rc=$rc $out"
rm -f v.zip
out=$("$ZA" new2.zip dir/sub/f.txt nope 2>&1)
[ ! -e new2.zip ] && pass "failed run leaves no new archive" || fail "new archive on failure" "$out"

# A full disk: a small tmpfs in a private mount namespace (needs root).
if unshare -m true 2>/dev/null && command -v mount >/dev/null; then
  mkdir -p full
  out=$(unshare -m bash -c '
    mount -t tmpfs -o size=3m none full || exit 99
    head -c 1500000 /dev/urandom >full/exe && cp full/exe full/saved-outside 2>/dev/null
    cp full/exe saved-exe
    rm -f full/saved-outside
    "$1" full/exe big.bin; rc=$?
    cmp -s saved-exe full/exe && echo "rc=$rc same" || echo "rc=$rc changed"' _ "$ZA" 2>&1)
  case "$out" in
    *"No space left on device"*"rc=1 same") pass "disk full (tmpfs): archive unchanged" ;;
    *"exit 99"*|"") skip "disk full (tmpfs)" "cannot mount a tmpfs here" ;;
    *) if grep -q "rc=99" <<<"$out"; then skip "disk full (tmpfs)" "cannot mount a tmpfs here"
       else fail "disk full (tmpfs)" "$(tr '\n' ' ' <<<"$out")"; fi ;;
  esac
else
  skip "disk full (tmpfs)" "no mount namespaces here"
fi

# ZIP64: a sparse 4 GiB + 100 byte file, then a small file past 4 GiB.
big=$((4 * 1024 * 1024 * 1024 + 100))
if truncate -s $big sparse.bin 2>/dev/null && [ "$(du -k sparse.bin | cut -f1)" -lt 1024 ]; then
  printf 'head' | dd of=sparse.bin conv=notrunc status=none
  printf 'tail' | dd of=sparse.bin bs=1 seek=$((big - 4)) conv=notrunc status=none
  cp "$BIN/gguf-dump" z64.llamafile
  if "$ZA" -j z64.llamafile sparse.bin dir/sub/f.txt 2>err.txt; then
    pass "zipalign a 4 GiB sparse file"
    [ "$(du -k z64.llamafile | cut -f1)" -lt 102400 ] && pass "holes stay holes in the archive" \
      || fail "sparse archive" "$(du -k z64.llamafile | cut -f1) KiB allocated"
    size=$(unzip -l z64.llamafile | awk '$4 == "sparse.bin" { print $1 }')
    [ "$size" = $big ] && pass "ZIP64 size listed by unzip -l" || fail "ZIP64 size" "got '$size'"
    check "ZIP64: unzip -t passes (CRC of 4 GiB)" check_unzip z64.llamafile
    check "ZIP64: data aligned" check_aligned z64.llamafile 65536
    off=$(data_offsets z64.llamafile | awk '$1 == "sparse.bin" { print $2 }')
    t=$(dd if=z64.llamafile bs=1M iflag=skip_bytes,count_bytes skip=$((off + big - 4)) count=4 status=none)
    h=$(dd if=z64.llamafile bs=1M iflag=skip_bytes,count_bytes skip=$off count=4 status=none)
    [ "$h$t" = "headtail" ] && pass "ZIP64: first and last bytes in place" || fail "ZIP64 bytes" "got '$h$t'"
    unzip -p z64.llamafile f.txt | cmp -s - dir/sub/f.txt \
      && pass "ZIP64: member past 4 GiB reads back" || fail "ZIP64 member past 4 GiB" "differs"
    check "ZIP64: the executable still runs" ./z64.llamafile --help
  else
    fail "zipalign a 4 GiB sparse file" "$(cat err.txt)"
  fi
  rm -f z64.llamafile
else
  skip "ZIP64 with a sparse 4 GiB file" "this filesystem does not make sparse files"
fi
rm -f sparse.bin
check "the executable still runs after everything" ./test.llamafile --help
