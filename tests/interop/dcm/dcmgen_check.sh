#!/bin/sh
# dcmgen's output is valid DICOM (DCMTK reads it), deterministic, and has
# what was asked: geometry, syntax, Chinese names in GB18030 and UTF-8.
# Usage: dcmgen_check.sh DCMGEN FERRY
set -eu
DCMGEN=$1
FERRY=$2
command -v dcmdump >/dev/null 2>&1 || { echo "SKIP: dcmdump (dcmtk) is not installed"; exit 77; }
export DCMDICTPATH=/usr/share/libdcmtk17/dicom.dic
tmp=$(mktemp -d /tmp/ferry-dcmgen-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

# A small CT series in each uncompressed syntax; DCMTK reads every file.
for ts in explicit implicit big deflated; do
    "$DCMGEN" ct --slices 3 --rows 64 --cols 64 --seed 7 --ts "$ts" --out "$tmp/ct-$ts"
    for f in "$tmp/ct-$ts"/*.dcm; do
        dcmdump -q "$f" > "$tmp/dump" || fail "dcmdump cannot read $f"
        "$FERRY" dump "$f" > /dev/null || fail "ferry cannot read $f"
    done
    grep -q "(0028,0010) US 64 " "$tmp/dump" || fail "$ts: Rows is not 64"
done
dcmdump -q "$tmp/ct-implicit/CT000001.dcm" | grep -q "TransferSyntaxUID.*\(LittleEndianImplicit\|1.2.840.10008.1.2\]\)" ||
    dcmdump -q "$tmp/ct-implicit/CT000001.dcm" | grep -q "=LittleEndianImplicit" ||
    fail "implicit: wrong transfer syntax"

# Deterministic: the same arguments give the same bytes.
"$DCMGEN" ct --slices 3 --rows 64 --cols 64 --seed 7 --out "$tmp/again"
cmp -s "$tmp/ct-explicit/CT000002.dcm" "$tmp/again/CT000002.dcm" || fail "ct is not deterministic"
"$DCMGEN" ct --slices 3 --rows 64 --cols 64 --seed 8 --out "$tmp/other"
cmp -s "$tmp/ct-explicit/CT000002.dcm" "$tmp/other/CT000002.dcm" && fail "the seed changes nothing"

# One study, one series, distinct instances.
n_study=$(for f in "$tmp"/ct-explicit/*.dcm; do dcmdump -q +P StudyInstanceUID "$f"; done | sort -u | wc -l)
n_inst=$(for f in "$tmp"/ct-explicit/*.dcm; do dcmdump -q +P SOPInstanceUID "$f"; done | sort -u | wc -l)
[ "$n_study" -eq 1 ] || fail "$n_study studies"
[ "$n_inst" -eq 3 ] || fail "$n_inst distinct instances of 3"

# Images of chosen geometry.
"$DCMGEN" image --rows 33 --cols 17 --bits-allocated 8 --bits-stored 8 --spp 3 --photometric RGB \
    --planar 1 --frames 3 --out "$tmp/rgb.dcm"
d=$(dcmdump -q "$tmp/rgb.dcm")
echo "$d" | grep -q "(0028,0006) US 1 " || fail "planar configuration"
echo "$d" | grep -q "(0028,0008) IS \[3\]" || fail "number of frames"
echo "$d" | grep -q "(7fe0,0010) OB .*# 5050," || fail "8-bit RGB pixel data length (33*17*3*3 + pad)"
"$DCMGEN" image --rows 16 --cols 16 --bits-allocated 16 --bits-stored 12 --signed --out "$tmp/s.dcm"
dcmdump -q "$tmp/s.dcm" | grep -q "(0028,0103) US 1 " || fail "signed"

# Names: GB18030 and UTF-8, both decode to the same UTF-8 text.
"$DCMGEN" image --rows 4 --cols 4 --charset GB18030 --patient-name "张三" --out "$tmp/gb.dcm"
"$DCMGEN" image --rows 4 --cols 4 --charset "ISO_IR 192" --patient-name "张三" --out "$tmp/u8.dcm"
dcmdump -q +P PatientName "$tmp/gb.dcm" | grep -q "# *4, 1 PatientName" || fail "GB18030 bytes"
"$FERRY" dump "$tmp/gb.dcm" | grep -q "PN \[张三\]" || fail "GB18030 name does not decode"
"$FERRY" dump "$tmp/u8.dcm" | grep -q "PN \[张三\]" || fail "UTF-8 name does not decode"
if "$DCMGEN" image --rows 4 --cols 4 --patient-name "张三" --out "$tmp/bad.dcm" 2> "$tmp/err"; then
    fail "a Chinese name without a charset was accepted"
fi
grep -q "cannot be written in the default character set" "$tmp/err" || fail "error text: $(cat "$tmp/err")"
# The CT series and the images are valid for dicom3tools' dciodvfy: no
# errors (the SC images keep an empty Laterality, which it warns about; the
# multi-frame SC IODs take planar configuration 0 and MONOCHROME2 only).
if command -v dciodvfy >/dev/null 2>&1; then
    "$DCMGEN" image --rows 5 --cols 7 --bits-allocated 8 --spp 3 --frames 2 --out "$tmp/rgb0.dcm"
    for f in "$tmp/ct-explicit/CT000001.dcm" "$tmp/rgb0.dcm"; do
        dciodvfy "$f" > "$tmp/vfy" 2>&1 || true
        if grep -q "^Error" "$tmp/vfy"; then
            cat "$tmp/vfy"
            fail "dciodvfy finds errors in $f"
        fi
    done
    "$DCMGEN" image --rows 16 --cols 16 --frames 2 --out "$tmp/mf.dcm"
    dciodvfy "$tmp/mf.dcm" > "$tmp/vfy" 2>&1 || true
    grep -q "^Error" "$tmp/vfy" && { cat "$tmp/vfy"; fail "dciodvfy finds errors in a multi-frame image"; }
else
    echo "note: dciodvfy (dicom3tools) is not installed; the IOD checks were skipped"
fi
echo "dcmgen: all checks passed"
