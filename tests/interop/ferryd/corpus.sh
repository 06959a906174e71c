#!/bin/sh
# Every file of the pydicom test corpus that dcmsend can send, to ferryd
# and to a bit-preserving storescp: ferryd stores the data set storescp got,
# byte for byte (see corpus.py).
. "$(dirname "$0")/lib.sh"
need dcmsend storescp echoscu
need_pydicom
CORPUS=$($PY -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')
[ -d "$CORPUS" ] || skip "the pydicom test corpus is not installed"
cd "$WORK" || exit 1
start_ferryd
start_reference
$PY "$HERE/corpus.py" "$CORPUS" "$PORT" "$DATA" "$REF_PORT" "$REF_DIR" || fail "corpus.py"
"$TOOLS/spool_verify" "$DATA" >"$WORK/verify.out" || fail "spool_verify: $(grep -v '^ok' "$WORK/verify.out")"
tail -n 1 "$WORK/verify.out"
stop_ferryd
echo "PASS"
