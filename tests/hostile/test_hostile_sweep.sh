#!/bin/bash
# The hostile sweep: seeded mutants of a few shared GGUFs and of a llamafile
# built on the fly (truncations; bytes flipped or overwritten in the header,
# the metadata, the tensor infos, the tensor data and the zip records; chosen
# fields set to edge values; NaN/Inf/0xff written over tensor data), each
# given to every program. A program may reject a mutant (exit 1 and a line
# naming why); a signal, a sanitizer report or a run past the timeout is a
# failure, printed with the recipe that rebuilds the mutant.
#
#   bash tests/hostile/test_hostile_sweep.sh           (make check: 240 mutants)
#   MUTANTS=3000 bash tests/hostile/test_hostile_sweep.sh   (make fuzz)
#   MUTANT='stories260K set@145504=ff' bash tests/hostile/test_hostile_sweep.sh
#       rebuilds that one mutant (kept as $KEEP/mutant, default /tmp/hostile)
#       and runs every program on it, printing their output.
#   LIST=1 MUTANTS=20 bash tests/hostile/test_hostile_sweep.sh
#       prints the first 20 recipes without running anything.
#
# Environment: SANBIN (the programs under test; default $FUZZBIN/apps, the
# ASan/UBSan build of make check, else $BIN), BIN (plain programs, used only
# to read the clean inputs' layout), SHARED, MUTANTS, SEED (default 1),
# JOBS (mutants run at once, default the CPU count), HOSTILE_TIMEOUT
# (seconds per program run, default 60), HOSTILE_THREADS (-t given to the
# programs: default 1, as JOBS mutants already run at once; empty for
# their default).
#
# A recipe is INPUT OP, OP one of: trunc@N (keep the first N bytes),
# set@N=HEX (write those bytes at N), fill@N+LEN=PATTERN (write LEN bytes
# of nan32/inf32/nan16/inf16/ff from N). Offsets are absolute in the file.
source "$(dirname "$0")/../lib.sh"
: "${FUZZBIN:=o/fuzz}"
SANBIN=${SANBIN:-$FUZZBIN/apps}
[ -x "$SANBIN/llamafile" ] || SANBIN=$BIN
MUTANTS=${MUTANTS:-240} SEED=${SEED:-1}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
HOSTILE_TIMEOUT=${HOSTILE_TIMEOUT:-60}
HOSTILE_THREADS=${HOSTILE_THREADS-1}
KEEP=${KEEP:-/tmp/hostile}
PROGRAMS=(llamafile gguf-dump llamafile-tokenize llamafile-logits llamafile-quantize
          llamafile-bench zipalign)
for p in "${PROGRAMS[@]}"; do
  [ -x "$SANBIN/$p" ] || { skip "hostile sweep" "no $SANBIN/$p (build first)"; exit 0; }
  [ -x "$BIN/$p" ] || { skip "hostile sweep" "no $BIN/$p (build first)"; exit 0; }
done
command -v jq >/dev/null || { skip "hostile sweep" "no jq"; exit 0; }
SANBIN=$(cd "$SANBIN" && pwd) BIN=$(cd "$BIN" && pwd)
# Sanitizer reports exit 99; an allocation that fails returns NULL, as
# malloc does, for the program to report; leaks are not this sweep's concern.
export ASAN_OPTIONS=exitcode=99:detect_leaks=0:allocator_may_return_null=1:hard_rss_limit_mb=4096:handle_abort=1
export UBSAN_OPTIONS=exitcode=99:halt_on_error=1:print_stacktrace=1

# The inputs: name and file. Small files of several architectures, tensor
# types and tokenizers; "llamafile" is made below.
INPUTS=(stories260K=models/stories260K.gguf vocab-spm=vocab/ggml-vocab-llama-spm.gguf
        vocab-gpt2=vocab/ggml-vocab-gpt-2.gguf llama-F16=vectors/llama-F16.gguf
        gemma3-Q4_K_M=vectors/gemma3-Q4_K_M.gguf qwen3-Q4_K_M=vectors/qwen3-Q4_K_M.gguf
        granitehybrid-Q4_K_M=vectors/granitehybrid-Q4_K_M.gguf
        gpt-oss-MXFP4_MOE=vectors/gpt-oss-MXFP4_MOE.gguf)
declare -A FILE
NAMES=()
for e in "${INPUTS[@]}"; do
  f=$SHARED/${e#*=}
  [ -f "$f" ] && { FILE[${e%%=*}]=$f; NAMES+=("${e%%=*}"); }
done
[ -n "${FILE[stories260K]}" ] || { skip "hostile sweep" "no $SHARED/models/stories260K.gguf"; exit 0; }

# The llamafile: the programs' own llamafile (without its debug sections, to
# keep copies small) with stories260K and .args appended.
mkdir -p "$TMP/lf" "$TMP/layout"
printf -- '-n\n16\n--temp\n0\n-p\n"Once upon a time"\n...\n' >"$TMP/lf/.args"
cp "${FILE[stories260K]}" "$TMP/lf/stories260K.gguf"
objcopy --strip-debug "$SANBIN/llamafile" "$TMP/lf/m.llamafile" 2>/dev/null ||
  cp "$SANBIN/llamafile" "$TMP/lf/m.llamafile"
EXE_SIZE=$(stat -c %s "$TMP/lf/m.llamafile")
if "$BIN/zipalign" -j0 "$TMP/lf/m.llamafile" "$TMP/lf/stories260K.gguf" "$TMP/lf/.args" >/dev/null 2>&1; then
  FILE[llamafile]=$TMP/lf/m.llamafile
  NAMES+=(llamafile)
else
  fail "hostile sweep" "zipalign could not make the llamafile"
fi

u64_at() { local v; read -r v < <(od -An -tu8 -j "$2" -N8 "$1"); echo "$v"; }
le_hex() {  # VALUE WIDTH -> little-endian hex
  local v=$1 w=$2 k out=
  for ((k = 0; k < w; k++)); do out+=$(printf '%02x' $(((v >> (8 * k)) & 255))); done
  echo "$out"
}

# gguf_layout FILE BASE SIZE: the regions, fields and tensors of the GGUF at
# BASE in FILE, as lines "region NAME START END", "field NAME OFFSET WIDTH"
# and "tensor NAME OFFSET BYTES TYPE" (absolute offsets), from gguf-dump
# --json of the clean file and the key and name strings found in it.
gguf_layout() {
  local file=$1 base=$2 size=$3 what align=32 data_start= info_bytes=0 name nd off bytes type
  local -a names=() ndims=()
  local -A ktype etype
  echo "region header $base $((base + 24))"
  echo "field magic $base 4"; echo "field version $((base + 4)) 4"
  echo "field tensor_count $((base + 8)) 8"; echo "field kv_count $((base + 16)) 8"
  while IFS=$'\t' read -r what name nd off bytes type; do
    case $what in
      align) align=$name ;;
      key) ktype[$name]=$nd etype[$name]=$off ;;
      tensor)
        info_bytes=$((info_bytes + 8 + ${#name} + 4 + 8 * nd + 4 + 8))
        names+=("$name") ndims+=("$nd")
        [ -z "$data_start" ] || [ "$off" -lt "$data_start" ] && data_start=$off
        echo "tensor $name $((base + off)) $bytes $type" ;;
    esac
  done < <("$BIN/gguf-dump" --json "$file" | jq -r '(["align", .alignment] | @tsv),
      (.metadata[] | ["key", .key, .type, (.element_type // "-")] | @tsv),
      (.tensors[] | ["tensor", .name, (.shape | length), .offset, .bytes, .type] | @tsv)')
  local meta_end=$((base + size))
  if [ -n "$data_start" ]; then
    # The tensor infos end less than one alignment before the data; read
    # that stretch once and find where the first name's length is.
    local lo=$((data_start - info_bytes - align + 1)) p start= t d U
    [ $lo -lt 24 ] && lo=24
    local -a by
    read -r -d '' -a by < <(od -An -tu1 -v -j $((base + lo)) -N $((data_start - lo)) "$file")
    u64() { local q; U=0; for ((q = 7; q >= 0; q--)); do U=$((U << 8 | ${by[$1 - lo + q]:-0})); done; }
    for ((p = data_start - info_bytes; p >= lo; p--)); do
      u64 $p; [ "$U" = "${#names[0]}" ] && { start=$p; break; }
    done
    if [ -n "$start" ]; then
      meta_end=$((base + start))
      echo "region tinfo $((base + start)) $((base + data_start))"
      p=$start
      for ((t = 0; t < ${#names[@]}; t++)); do
        name=${names[$t]}
        u64 $p; [ "$U" = "${#name}" ] || break
        echo "field $name.name_len $((base + p)) 8"; p=$((p + 8 + ${#name}))
        echo "field $name.n_dims $((base + p)) 4"; p=$((p + 4))
        for ((d = 0; d < ndims[t]; d++)); do echo "field $name.ne$d $((base + p)) 8"; p=$((p + 8)); done
        echo "field $name.type $((base + p)) 4"; echo "field $name.offset $((base + p + 4)) 8"; p=$((p + 12))
      done
    else
      meta_end=$((base + data_start - info_bytes))
    fi
    echo "region data $((base + data_start)) $((base + size))"
  fi
  echo "region meta $((base + 24)) $meta_end"
  # Each key, found with its length in front (first place only): its length,
  # type, and value (or array element type and count).
  local key h w re=
  local -A seen
  for key in "${!ktype[@]}"; do
    [ ${#key} -lt 256 ] || continue
    re+="${re:+|}(?<=\\x$(printf %02x ${#key})\\x00{7})${key//./\\.}"
  done
  [ -n "$re" ] || return 0
  while IFS=: read -r h key; do
    [ -n "${ktype[$key]}" ] && [ -z "${seen[$key]}" ] || continue
    seen[$key]=1 h=$((base + 24 + h))
    echo "field $key.key_len $((h - 8)) 8"
    h=$((h + ${#key})); echo "field $key.type $h 4"; h=$((h + 4))
    case ${ktype[$key]} in
      array) echo "field $key.elem_type $h 4"; echo "field $key.count $((h + 4)) 8"
             [ "${etype[$key]}" = string ] && echo "field $key[0].len $((h + 12)) 8" ;;
      string) echo "field $key.len $h 8" ;;
      *) case ${ktype[$key]} in *8|bool) w=1 ;; *16) w=2 ;; *32) w=4 ;; *) w=8 ;; esac
         echo "field $key.value $h $w" ;;
    esac
  done < <(head -c "$((meta_end - base))" "$file" | tail -c +25 | LC_ALL=C grep -obaP "$re")
}

# The llamafile's zip records around the GGUF: local headers, central
# directory entries and the end records, by their signatures.
zip_layout() {
  local file=$1 exe=$2 size=$3 gguf_start=$4 gguf_end=$5 off sig
  echo "region zip-head $exe $gguf_start"; echo "region zip-tail $gguf_end $size"
  while IFS=: read -r off sig; do
    off=$((exe + off))
    case $sig in
      PK$'\x03\x04') echo "field local.csize $((off + 18)) 4"; echo "field local.size $((off + 22)) 4"
                     echo "field local.name_len $((off + 26)) 2"; echo "field local.extra_len $((off + 28)) 2"
                     echo "region localhdr $off $((off + 30))" ;;
      PK$'\x01\x02') echo "field cd.csize $((off + 20)) 4"; echo "field cd.size $((off + 24)) 4"
                     echo "field cd.name_len $((off + 28)) 2"; echo "field cd.extra_len $((off + 30)) 2"
                     echo "field cd.local_offset $((off + 42)) 4"; echo "region cdir $off $((off + 46))" ;;
      PK$'\x05\x06') echo "field eocd.entries $((off + 10)) 2"; echo "field eocd.cd_size $((off + 12)) 4"
                     echo "field eocd.cd_offset $((off + 16)) 4"; echo "region eocd $off $size" ;;
      PK$'\x06\x06') echo "field zip64.cd_offset $((off + 48)) 8"; echo "region zip64 $off $((off + 56))" ;;
    esac
  done < <(tail -c +$((exe + 1)) "$file" | LC_ALL=C grep -obaP 'PK(\x03\x04|\x01\x02|\x05\x06|\x06\x06)')
}

declare -A SIZE
for name in "${NAMES[@]}"; do
  f=${FILE[$name]} lay=$TMP/layout/$name
  SIZE[$name]=$(stat -c %s "$f")
  if [ "$name" = llamafile ]; then
    g=$(tail -c +$((EXE_SIZE + 1)) "$f" | LC_ALL=C grep -obaF GGUF | head -n 1 | cut -d: -f1)
    g=$((EXE_SIZE + g)) gsize=$(stat -c %s "$TMP/lf/stories260K.gguf")
    { zip_layout "$f" "$EXE_SIZE" "${SIZE[$name]}" "$g" $((g + gsize))
      gguf_layout "$TMP/lf/stories260K.gguf" 0 "$gsize" |
        awk -v b="$g" '$1 == "region" { $3 += b; $4 += b } $1 == "field" || $1 == "tensor" { $3 += b } 1'
    } >"$lay"
  else
    gguf_layout "$f" 0 "${SIZE[$name]}" >"$lay" || fail "hostile sweep" "gguf-dump cannot read the clean $f"
  fi
done

# Fill patterns, 64 KiB each.
for pat in nan32:0000c07f inf32:0000807f ninf32:000080ff nan16:007e inf16:007c ff:ff; do
  hex=${pat#*:}
  printf "$(sed 's/../\\x&/g' <<<"$hex")%.0s" $(seq $((65536 * 2 / ${#hex}))) >"$TMP/pat.${pat%%:*}"
done

# apply SRC RECIPE-OP DST: builds a mutant.
apply() {
  local src=$1 op=$2 dst=$3 n hex
  cp "$src" "$dst" || return 1
  case $op in
    trunc@*) truncate -s "${op#trunc@}" "$dst" ;;
    set@*=*) n=${op#set@}; hex=${n#*=}; n=${n%%=*}
             printf "$(sed 's/../\\x&/g' <<<"$hex")" | dd of="$dst" bs=64K oflag=seek_bytes seek="$n" conv=notrunc status=none ;;
    fill@*) n=${op#fill@}; local pat=${n#*=} len; n=${n%%=*}; len=${n#*+}; n=${n%+*}
            head -c "$len" "$TMP/pat.$pat" | dd of="$dst" bs=64K oflag=seek_bytes seek="$n" conv=notrunc status=none ;;
    *) return 1 ;;
  esac
}

# A 64-bit LCG of our own, so that a seed means the same mutants under any
# bash: rnd N sets R to 0 <= R < N; pick sets P to one of its arguments.
rnd() { S=$((S * 6364136223846793005 + 1442695040888963407)); R=$((((S >> 33) & 0x7fffffff) % $1)); }
pick() { rnd $#; shift "$R"; P=$1; }

# recipe I: the I-th mutant's "INPUT OP # what".
recipe() {
  local i=$1 name size line regions=() fields=() tensors=()
  S=$((SEED * 1000003 + i)); rnd 2; rnd 2
  name=${NAMES[$((i % ${#NAMES[@]}))]} size=${SIZE[$name]}
  while read -r line; do
    case $line in
      region*) set -- $line; [ "$4" -gt "$3" ] && regions+=("$line") ;;
      field*) fields+=("$line") ;;
      tensor*) tensors+=("$line") ;;
    esac
  done <"$TMP/layout/$name"
  local r start end at
  rnd ${#regions[@]}; read -r _ r start end <<<"${regions[$R]}"
  rnd $((end - start)); at=$((start + R))
  pick trunc trunc flip flip rand rand field field field field field fill fill; local kind=$P
  [ "$kind" = fill ] && [ ${#tensors[@]} -eq 0 ] && kind=field
  case $kind in
    trunc)
      pick 0 region region region region last
      case $P in
        0) echo "$name trunc@0 # empty file" ;;
        last) echo "$name trunc@$((size - 1)) # last byte cut" ;;
        *) echo "$name trunc@$at # cut in $r" ;;
      esac ;;
    flip)
      local b; read -r b < <(od -An -tu1 -j "$at" -N1 "${FILE[$name]}")
      rnd 8; printf '%s set@%d=%02x # bit flip in %s\n' "$name" "$at" $((b ^ (1 << R))) "$r" ;;
    rand)
      local k hex; rnd 8
      for ((k = R; k >= 0; k--)); do rnd 256; hex+=$(printf '%02x' "$R"); done
      echo "$name set@$at=$hex # random bytes in $r" ;;
    field)
      local f off w v orig
      rnd ${#fields[@]}; read -r _ f off w <<<"${fields[$R]}"
      read -r orig < <(od -An -tu$w -j "$off" -N"$w" "${FILE[$name]}")
      rnd 1073741824
      pick 0 1 2 3 -1 -2 $((orig + 1)) $((orig - 1)) $((orig * 2)) $((orig + 4096)) \
           $((1 << (8 * w - 1))) $(((1 << (8 * w - 1)) - 1)) 255 65535 4294967295 4294967296 "$R"
      v=$P
      echo "$name set@$off=$(le_hex "$v" "$w") # $f = $v (was $orig)" ;;
    fill)
      local t toff tbytes ttype len o
      rnd ${#tensors[@]}; read -r _ t toff tbytes ttype <<<"${tensors[$R]}"
      case $ttype in
        F32) pick nan32 inf32 ninf32 ff ;;
        F16) pick nan16 inf16 ff ;;
        *) pick nan16 ff ;;
      esac
      rnd 65532; len=$((4 + R)); [ "$len" -gt "$tbytes" ] && len=$tbytes
      rnd $((tbytes - len + 1)); o=$((R & ~3))
      echo "$name fill@$((toff + o))+$len=$P # $P over $t ($ttype)" ;;
  esac
}

# run_all MUTANT WORKDIR RECIPE: every program on the mutant; prints a FAIL
# line for each run that ends in a signal, a sanitizer report or a timeout,
# and "RUNS n".
run_all() {
  local m=$1 w=$2 desc=$3 runs=0 rc log=$w/log t=${HOSTILE_THREADS:+-t $HOSTILE_THREADS}
  local -a cmds=(
    "llamafile|$SANBIN/llamafile -m $m -p Once\ upon -n 8 --temp 0 $t"
    "llamafile --temp 0.8|$SANBIN/llamafile -m $m -p Once\ upon -n 8 --temp 0.8 -s 1 $t"
    "gguf-dump|$SANBIN/gguf-dump $m"
    "gguf-dump --json|$SANBIN/gguf-dump --json $m"
    "llamafile-tokenize|$SANBIN/llamafile-tokenize -m $m -p Hello\ world,\ once\ upon\ a\ time"
    "llamafile-logits|$SANBIN/llamafile-logits -m $m --tokens 1,2,3 -o $w/x.f32 $t"
    "llamafile-quantize|$SANBIN/llamafile-quantize -q --allow-requantize $t $m $w/out.gguf Q8_0"
    "llamafile-bench|$SANBIN/llamafile-bench -m $m -p 8 -n 4 -r 1 $t"
  )
  if [[ $desc == llamafile\ * ]]; then
    cp "$m" "$w/copy.llamafile" && printf 'x' >"$w/somefile"
    cmds+=("zipalign|$SANBIN/zipalign -j0 $w/copy.llamafile $w/somefile"
           "the llamafile itself|$m -n 4 $t")
  fi
  local c prog argv why
  for c in "${cmds[@]}"; do
    prog=${c%%|*}
    eval "argv=(${c#*|})"
    local t0=$EPOCHREALTIME
    (cd "$w" && timeout -k 5 "$HOSTILE_TIMEOUT" "${argv[@]}" </dev/null >"$log.out" 2>"$log") 2>/dev/null
    rc=$? runs=$((runs + 1)) why=
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="timed out after ${HOSTILE_TIMEOUT}s"
    elif [ $rc -eq 99 ] || grep -qaE '^(==[0-9]+==ERROR: [A-Za-z]*Sanitizer|.*runtime error: )' "$log"; then
      why="sanitizer report: $(grep -aE 'SUMMARY|runtime error' "$log" | head -n 1)"
    elif [ $rc -gt 128 ]; then why="got SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    fi
    [ -n "$VERBOSE" ] && { echo "== $prog: exit $rc ($(bc <<<"$EPOCHREALTIME - $t0")s)"; cat "$log.out" "$log" | head -c 2000; echo; }
    [ -n "$why" ] && echo "FAIL hostile $desc: $prog $why"
    rm -f "$w/x.f32" "$w/out.gguf"
  done
  rm -f "$w/copy.llamafile"
  echo "RUNS $runs"
}

if [ -n "$MUTANT" ]; then
  name=${MUTANT%% *} op=${MUTANT#* }; op=${op%% *}
  [ -n "${FILE[$name]}" ] || { fail "hostile mutant" "no input named $name (${NAMES[*]})"; exit 0; }
  mkdir -p "$KEEP" && apply "${FILE[$name]}" "$op" "$KEEP/mutant" && chmod +x "$KEEP/mutant" || { fail "hostile mutant" "bad recipe $op"; exit 0; }
  cp -r "$TMP/layout" "$KEEP/"
  echo "# mutant: $KEEP/mutant (the inputs' layouts: $KEEP/layout)"
  VERBOSE=1 run_all "$KEEP/mutant" "$KEEP" "$MUTANT" | grep -v '^RUNS'
  exit 0
fi

if [ -n "$LIST" ]; then  # LIST=1: the recipes only
  for ((i = 0; i < MUTANTS; i++)); do recipe "$i"; done
  exit 0
fi

worker() {
  local j=$1 i desc w=$TMP/w$1
  mkdir -p "$w"
  for ((i = j; i < MUTANTS; i += JOBS)); do
    desc=$(recipe "$i")
    apply "${FILE[${desc%% *}]}" "$(cut -d' ' -f2 <<<"$desc")" "$w/mutant" || { echo "FAIL hostile #$i: cannot build $desc"; continue; }
    chmod +x "$w/mutant"
    run_all "$w/mutant" "$w" "${desc%% # *} (#$i: ${desc#* # })"
  done >"$TMP/out.$j"
}
kind="not sanitized: signals and timeouts only"
LC_ALL=C grep -qaF __asan_init "$SANBIN/llamafile" && kind="ASan/UBSan"
echo "# programs from $SANBIN ($kind), $MUTANTS mutants, seed $SEED, $JOBS at a time"
for ((j = 0; j < JOBS; j++)); do worker "$j" & done
wait
cat "$TMP"/out.* >"$TMP/all"
grep '^FAIL' "$TMP/all"
runs=$(awk '$1 == "RUNS" { n += $2 } END { print n + 0 }' "$TMP/all")
bad=$(grep -c '^FAIL' "$TMP/all")
if [ "$bad" -eq 0 ]; then
  pass "hostile sweep: $MUTANTS mutants of ${#NAMES[@]} inputs x ${#PROGRAMS[@]} programs ($runs runs, seed $SEED), 0 signals"
else
  fail "hostile sweep" "$bad of $runs runs on $MUTANTS mutants ended in a signal, a sanitizer report or a timeout (repro: MUTANT='INPUT OP' bash $0)"
  exit 1
fi
