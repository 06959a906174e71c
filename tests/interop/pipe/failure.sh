#!/bin/sh
# A codec failure fails that job with the reason, and the original stays in
# the spool; with the compress step's fallback (on-failure: uncompressed) the
# instance arrives uncompressed instead.
#  - a JPEG-LS instance whose code stream is damaged (its SOI marker
#    overwritten), routed through a JPEG 2000 pipeline: the decode fails, the
#    job is dead with CharLS's reason in `ferry queue`, the spool file still
#    holds the instance as it came;
#  - a clean CT slice through the test plugin's codec that fails on purpose
#    (tests/plugins/good.c, test-lossy with fail: yes): dead with "failing on
#    purpose" for the destination without fallback; Explicit VR Little Endian
#    with the original pixels for the one with on-failure: uncompressed.
. "$(dirname "$0")/lib.sh"
need dcmsend storescp echoscu dcmcjpls dcmdjpls
need_pydicom
cd "$WORK" || exit 1

mkdir -p "$WORK/native" "$WORK/bad" "$WORK/good"
"$DCMGEN" ct --slices 2 --rows 64 --cols 64 --seed 3 --out "$WORK/native" >/dev/null ||
    fail "dcmgen ct"
dcmcjpls "$WORK/native/CT000001.dcm" "$WORK/bad/jls.dcm" || fail "dcmcjpls"
cp "$WORK/native/CT000002.dcm" "$WORK/good/"
# damage the JPEG-LS code stream: its SOI marker (FF D8) becomes 00 00
$PY - "$WORK/bad/jls.dcm" <<'PYEOF' || fail "cannot damage the JPEG-LS file"
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"\xff\xd8\xff")
assert i > 0
b[i:i + 2] = b"\x00\x00"
open(sys.argv[1], "wb").write(b)
PYEOF
BAD_UID=$($PY -c 'import pydicom,sys; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)' \
    "$WORK/bad/jls.dcm")

plugin_dir jpegls j2k test_good
start_scp J2K +xa
J2K_PORT=$SCP_PORT
start_scp STRICT +xa
STRICT_PORT=$SCP_PORT
start_scp LENIENT +xa
LENIENT_PORT=$SCP_PORT
pipe_config "$WORK/ferry.yaml" jpegls j2k test_good
cat >>"$WORK/ferry.yaml" <<YAML
destinations:
  - { name: j2k, host: 127.0.0.1, port: $J2K_PORT, called_ae: J2K }
  - { name: strict, host: 127.0.0.1, port: $STRICT_PORT, called_ae: STRICT }
  - { name: lenient, host: 127.0.0.1, port: $LENIENT_PORT, called_ae: LENIENT }
pipelines:
  breaks:
    - compress: { syntax: test-lossy, fail: 'yes' }
  breaks-softly:
    - compress: { syntax: test-lossy, fail: 'yes', on-failure: uncompressed }
routes:
  - name: damaged
    match: { calling_ae: DAMAGED }
    forward:
      - { destination: j2k, pipeline: [ { compress: jpeg2000-lossless } ] }
  - name: clean
    forward:
      - { destination: strict, pipeline: breaks }
      - { destination: lenient, pipeline: breaks-softly }
YAML
start_ferryd
send "$WORK/bad" DAMAGED
send "$WORK/good"
wait_files "$WORK/LENIENT" 1
wait_queue "dead 1" 30
queue_show
cat "$WORK/queue.out"
# the damaged one: dead, CharLS's reason (through the pipeline) in the queue
awk '/^j2k /,/last error/' "$WORK/queue.out" >j2k.out
grep -q "dead 1" j2k.out || fail "j2k: no dead job: $(cat j2k.out)"
grep -q "last error: .*pixel data: frame 0: " j2k.out ||
    fail "j2k: the decode failure is not the last error: $(cat j2k.out)"
# the test codec without fallback: dead, its reason
wait_queue "failing on purpose" 30
awk '/^strict /,/last error/' "$WORK/queue.out" >strict.out
grep -q "dead 1" strict.out || fail "strict: no dead job: $(cat strict.out)"
grep -q "last error: .*step 1 (compress test-lossy): .*failing on purpose" strict.out ||
    fail "strict: not the codec's reason: $(cat strict.out)"
[ "$(count_in "$WORK/J2K")" -eq 0 ] || fail "the damaged instance reached J2K"
[ "$(count_in "$WORK/STRICT")" -eq 0 ] || fail "the failed instance reached STRICT"
expect_in "$WORK/ferryd.err" "sending it uncompressed (on-failure: uncompressed)"
stop_ferryd
# the fallback: uncompressed, the original pixels
check_pixels "$WORK/native" "$WORK/LENIENT" 1.2.840.10008.1.2.1 1
# the spool keeps the damaged instance as it came (pixel data byte for byte)
$PY - "$DATA" "$BAD_UID" "$WORK/bad/jls.dcm" <<'PYEOF' || fail "the original is not in the spool"
import os, sys, pydicom
data, uid, sent = sys.argv[1], sys.argv[2], pydicom.dcmread(sys.argv[3])
for root, _, names in os.walk(data):
    for n in names:
        if not n.endswith(".dcm"):
            continue
        p = os.path.join(root, n)
        try:
            ds = pydicom.dcmread(p)
        except Exception:
            continue
        if str(ds.SOPInstanceUID) == uid:
            assert ds.PixelData == sent.PixelData, "pixel data differs"
            assert str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.4.80"
            print("spool: %s holds the damaged instance as sent" % os.path.relpath(p, data))
            sys.exit(0)
sys.exit("no spool file has %s" % uid)
PYEOF
echo "PASS"
