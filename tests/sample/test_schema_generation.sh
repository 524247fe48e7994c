#!/bin/bash
# Issue 17's acceptance check: 50 JSON Schemas from tests/sample/gen_schemas.py
# (seeded; every supported keyword, nested five deep), each converted by
# llamafile --json-schema-file and sampled at temperature 1 from the
# random-weight stories260K (512 tokens with byte fallback, so it can spell
# any JSON); an independent validator (python3-jsonschema, Draft 2020-12)
# must accept all 50 outputs. A document left unfinished after N tokens
# counts as a failure.
source "$(dirname "$0")/../lib.sh"
LF=$BIN/llamafile
M=$SHARED/models/stories260K.gguf
N=${SCHEMA_GEN_TOKENS:-3000}
[ -e "$M" ] || { skip "schema generation" "no $M"; exit 0; }
PY=
for p in python3 /usr/bin/python3; do
  "$p" -c 'import jsonschema' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { fail "schema generation" "no python3 with jsonschema (build/setup-tests.sh)"; exit 0; }

"$PY" "$(dirname "$0")/gen_schemas.py" "$TMP/s" 1234 50 || { fail "gen_schemas.py" "exit $?"; exit 0; }
for i in $(seq -w 0 49); do
  timeout 120 "$LF" -m "$M" -p x --json-schema-file "$TMP/s/schema-$i.json" --temp 1 \
    -s $((10#$i + 1)) -n "$N" --no-display-prompt >"$TMP/s/out-$i.json" 2>"$TMP/s/err-$i"
  echo $? >"$TMP/s/rc-$i"
done

"$PY" - "$TMP/s" <<'PY'
import json, sys
from jsonschema import Draft202012Validator
d = sys.argv[1]
ok = 0
for i in range(50):
    name = "schema-%02d" % i
    schema = json.load(open("%s/%s.json" % (d, name)))
    out = open("%s/out-%02d.json" % (d, i), encoding="utf-8", errors="replace").read()
    rc = open("%s/rc-%02d" % (d, i)).read().strip()
    why = None
    if rc != "0":
        why = "llamafile exit %s: %s" % (rc, open("%s/err-%02d" % (d, i)).read().strip()[-200:])
    else:
        try:
            doc = json.loads(out)
            errs = sorted(Draft202012Validator(schema).iter_errors(doc), key=str)
            if errs:
                why = "invalid: %s" % errs[0].message[:200]
        except ValueError as e:
            why = "not JSON (%s; %d bytes, unfinished after the token limit?)" % (e, len(out))
    if why:
        print("FAIL generated %s validates: %s\n# %s" % (name, why, out[:300].replace("\n", " ")))
    else:
        ok += 1
line = "%d of 50 generated documents validate against their schemas" % ok
print(("PASS " if ok == 50 else "FAIL ") + line + ("" if ok == 50 else ": see above"))
PY
