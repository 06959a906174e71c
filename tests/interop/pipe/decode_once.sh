#!/bin/sh
# Decoding once per instance, however many destinations need it. JPEG-LS
# instances (compressed by DCMTK's dcmcjpls: twelve CT slices and one
# three-frame image, fifteen frames) go, with two workers, to three
# destinations: one whose
# pipeline re-encodes in JPEG 2000 lossless, one whose pipeline decompresses
# (Explicit VR Little Endian), one without a pipeline (the JPEG-LS bytes as
# they came). Each receives its own output, with the original pixels; and
# ferryd's last lines say the codecs decoded fifteen frames, once each, not
# thirty: the two pipelines share one decode (a run waits for a frame
# another is decoding; the forwarder keeps the parsed instance for the
# destination that comes later).
. "$(dirname "$0")/lib.sh"
need dcmsend storescp echoscu dcmcjpls dcmdjpls opj_decompress
need_pydicom
cd "$WORK" || exit 1

mkdir -p "$WORK/native" "$WORK/in"
"$DCMGEN" ct --slices 12 --rows 64 --cols 72 --seed 9 --out "$WORK/native" >/dev/null ||
    fail "dcmgen ct"
"$DCMGEN" image --out "$WORK/native/MF.dcm" --rows 40 --cols 48 --bits-allocated 16 \
    --bits-stored 12 --frames 3 --seed 4 >/dev/null || fail "dcmgen image"
for f in "$WORK"/native/*; do
    dcmcjpls "$f" "$WORK/in/$(basename "$f")" || fail "dcmcjpls $f"
done
plugin_dir jpegls j2k
start_scp J2K +xa
J2K_PORT=$SCP_PORT
start_scp PLAIN +xa
PLAIN_PORT=$SCP_PORT
start_scp ASIS +xa
ASIS_PORT=$SCP_PORT
pipe_config "$WORK/ferry.yaml" jpegls j2k
cat >>"$WORK/ferry.yaml" <<YAML
destinations:
  - { name: j2k, host: 127.0.0.1, port: $J2K_PORT, called_ae: J2K }
  - { name: plain, host: 127.0.0.1, port: $PLAIN_PORT, called_ae: PLAIN }
  - { name: asis, host: 127.0.0.1, port: $ASIS_PORT, called_ae: ASIS }
routes:
  - name: three-ways
    forward:
      - { destination: j2k, pipeline: [ { compress: jpeg2000-lossless } ] }
      - { destination: plain, pipeline: [ { compress: explicit-little } ] }
      - asis
YAML
sed -i 's/worker_threads: 1/worker_threads: 2/' "$WORK/ferry.yaml"
start_ferryd
send "$WORK/in"
wait_files "$WORK/J2K" 13
wait_files "$WORK/PLAIN" 13
wait_files "$WORK/ASIS" 13
stop_ferryd
check_pixels "$WORK/native" "$WORK/J2K" 1.2.840.10008.1.2.4.90 13
check_pixels "$WORK/native" "$WORK/PLAIN" 1.2.840.10008.1.2.1 13
check_pixels "$WORK/native" "$WORK/ASIS" 1.2.840.10008.1.2.4.80 13
# the pass-through destination got the JPEG-LS bytes exactly as sent
$PY - "$WORK/in" "$WORK/ASIS" <<'PYEOF' || fail "the pass-through destination's pixel data differs"
import os, sys, pydicom
sent = {}
for n in os.listdir(sys.argv[1]):
    ds = pydicom.dcmread(os.path.join(sys.argv[1], n))
    sent[str(ds.SOPInstanceUID)] = ds.PixelData
for n in os.listdir(sys.argv[2]):
    ds = pydicom.dcmread(os.path.join(sys.argv[2], n))
    assert sent[str(ds.SOPInstanceUID)] == ds.PixelData, n
PYEOF
expect_in "$WORK/ferryd.err" "pipelines: 15 frames decoded"
echo "PASS: 15 frames decoded for 3 destinations"
