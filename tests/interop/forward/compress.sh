#!/bin/sh
# A route with a compress pipeline (jpeg-ls-lossless) to two destinations:
# the one that accepts JPEG-LS receives JPEG-LS that DCMTK's dcmdjpls decodes
# to the original pixels; the one that refuses it gets Explicit VR Little
# Endian (converted through the pipeline code), with the original pixels.
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu dcmdjpls
"$PY" -c 'import pydicom' 2>/dev/null || skip "pydicom is not installed for $PY"
make_study ct 12 5 --rows 128 --cols 128
start_storescp JLS +xt
JLS_PORT=$SCP_PORT
start_storescp PLAIN
PLAIN_PORT=$SCP_PORT
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - { name: takes-jls, host: 127.0.0.1, port: $JLS_PORT, called_ae: JLS }
  - { name: no-jls, host: 127.0.0.1, port: $PLAIN_PORT, called_ae: PLAIN }
pipelines:
  lossless:
    - compress: { syntax: jpeg-ls-lossless }
routes:
  - name: compressed
    forward:
      - { destination: takes-jls, pipeline: lossless }
      - { destination: no-jls, pipeline: lossless }
YAML
start_ferryd "$CFG"
send -- "$WORK"/ct/*.dcm
wait_files "$WORK/JLS" 12 60
wait_files "$WORK/PLAIN" 12 60
wait_until 20 queue_done_is no-jls 12 || fail "no-jls: $(queue)"
"$PY" "$HERE/datasets.py" syntax "$WORK/JLS" 1.2.840.10008.1.2.4.80 || fail "not JPEG-LS at JLS"
"$PY" "$HERE/datasets.py" syntax "$WORK/PLAIN" 1.2.840.10008.1.2.1 || fail "not explicit VR LE at PLAIN"
mkdir -p "$WORK/decoded"
for f in "$WORK"/JLS/*; do
    dcmdjpls "$f" "$WORK/decoded/$(basename "$f")" || fail "dcmdjpls $f"
done
"$PY" "$HERE/datasets.py" pixels "$WORK/ct" "$WORK/decoded" || fail "JPEG-LS pixels differ"
"$PY" "$HERE/datasets.py" pixels "$WORK/ct" "$WORK/PLAIN" || fail "fallback pixels differ"
expect_in "$WORK/ferryd.err" "CT Image Storage in jpeg-ls-lossless"
stop_ferryd
echo "ok: JPEG-LS where accepted (decodes to the original), explicit VR LE elsewhere"
