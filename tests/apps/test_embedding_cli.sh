#!/bin/bash
# llamafile --embedding on stories260K against llama.cpp's llama-embedding
# vectors ($SHARED/vectors/embeddings/embeddings.json): every pooling, the
# cosine of each printed vector with llama.cpp's >= 0.9999; bad flags.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
M=$SHARED/models/stories260K.gguf
J=$SHARED/vectors/embeddings/embeddings.json
[ -e "$M" ] || { skip "llamafile --embedding" "no $M"; exit 0; }
command -v jq >/dev/null || { skip "llamafile --embedding" "no jq"; exit 0; }
[ -e "$J" ] || { skip "llamafile --embedding" "no $J"; exit 0; }
P="Once upon a time"

for pool in mean cls last none; do
  name="--embedding --pooling $pool matches llama.cpp"
  jq -r --arg p "$P" --arg pool "$pool" '.cases[] | select(.model == "stories260K"
      and .pooling == $pool and .prompt == $p) | .embeddings[] | map(tostring) | join(" ")' \
    "$J" >"$TMP/want"
  if [ ! -s "$TMP/want" ]; then skip "$name" "no reference case"; continue; fi
  if ! "$LF" -m "$M" -p "$P" --embedding --pooling $pool -t 2 >"$TMP/out" 2>"$TMP/err"; then
    fail "$name" "exit $?: $(tail -n 1 "$TMP/err")"; continue
  fi
  # "embedding N: v..." lines against the reference rows, in order
  sed 's/^embedding [0-9]*://' "$TMP/out" | paste -d'|' - "$TMP/want" | awk -F'|' '
    { n1 = split($1, a, " "); n2 = split($2, b, " "); rows++
      if (n1 != n2 || n1 == 0) { bad = bad " row " NR ": " n1 " vs " n2 " values"; next }
      ab = aa = bb = 0
      for (i = 1; i <= n1; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i] }
      c = ab / sqrt(aa * bb); if (c < 0.9999) bad = bad sprintf(" row %d: cosine %.6f", NR, c) }
    END { if (bad != "" || rows == 0) { print (rows ? bad : "no output"); exit 1 } }' >"$TMP/why"
  nout=$(wc -l <"$TMP/out"); nwant=$(wc -l <"$TMP/want")
  if [ -s "$TMP/why" ] || [ "$nout" != "$nwant" ]; then
    fail "$name" "$nout vectors for $nwant;$(cat "$TMP/why")"
  else
    pass "$name"
  fi
done

out=$("$LF" -m "$M" -p "$P" --embedding --pooling mean --embd-normalize -1 2>/dev/null)
len=$(echo "$out" | sed 's/^embedding 0://' | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i * $i; printf "%.3f", sqrt(s) }')
[ -n "$len" ] && [ "$len" != "1.000" ] && pass "--embd-normalize -1 gives the raw vector" \
  || fail "--embd-normalize -1" "length $len"

"$LF" -m "$M" -p "$P" --embedding --pooling rank >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && grep -q "invalid value 'rank' for --pooling" "$TMP/err" \
  && pass "--pooling rank is refused" || fail "--pooling rank" "exit $rc: $(cat "$TMP/err")"
"$LF" -m "$M" -p "$P" --embedding --embd-normalize -2 >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && grep -q "embd-normalize" "$TMP/err" \
  && pass "--embd-normalize -2 is refused" || fail "--embd-normalize -2" "exit $rc: $(cat "$TMP/err")"
