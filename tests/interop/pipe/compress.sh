#!/bin/sh
# Compression in a route, end to end: storescu -> ferryd -> two storescp.
# One destination's pipeline compresses to JPEG-LS lossless, the other's to
# JPEG 2000 lossless; each storescp receives that transfer syntax, and the
# pixels, decoded by DCMTK's dcmdjpls and OpenJPEG's opj_decompress (not
# ferry's plugins), equal the originals bit for bit. The SOP Instance UID
# stays (lossless).
. "$(dirname "$0")/lib.sh"
need dcmsend storescp echoscu dcmdjpls opj_decompress
need_pydicom
cd "$WORK" || exit 1

"$DCMGEN" ct --slices 4 --rows 96 --cols 80 --seed 5 --out "$WORK/in" >/dev/null ||
    fail "dcmgen ct"
plugin_dir jpegls j2k
start_scp JLS +xa
JLS_PORT=$SCP_PORT
start_scp J2K +xa
J2K_PORT=$SCP_PORT
pipe_config "$WORK/ferry.yaml" jpegls j2k
cat >>"$WORK/ferry.yaml" <<YAML
destinations:
  - { name: jls, host: 127.0.0.1, port: $JLS_PORT, called_ae: JLS }
  - { name: j2k, host: 127.0.0.1, port: $J2K_PORT, called_ae: J2K }
pipelines:
  lossless-ls:
    - compress: { syntax: jpeg-ls-lossless }
routes:
  - name: everything
    forward:
      - { destination: jls, pipeline: lossless-ls }
      - { destination: j2k, pipeline: [ { compress: jpeg2000-lossless } ] }
YAML
start_ferryd
send "$WORK/in"
wait_files "$WORK/JLS" 4
wait_files "$WORK/J2K" 4
stop_ferryd
check_pixels "$WORK/in" "$WORK/JLS" 1.2.840.10008.1.2.4.80 4
check_pixels "$WORK/in" "$WORK/J2K" 1.2.840.10008.1.2.4.90 4
# and what the data set said about itself stayed (no lossy attributes)
for f in "$WORK"/JLS/* "$WORK"/J2K/*; do
    dcmdump "$f" | grep -q "(0028,2110)" && fail "$f has Lossy Image Compression"
done
echo "PASS"
