#!/bin/sh
# ferryd against DCMTK's echoscu, storescu and dcmsend: a generated
# 400-slice CT series proposed as explicit and implicit little endian (the
# latter converted by storescu on the way), big endian, JPEG-LS, JPEG
# lossless, RLE and deflated, JPEG-LS near-lossless, JPEG 2000 lossless and
# lossy, JPEG baseline and extended (each with its storescu -x option);
# PDUs of 4 KiB and 128 KiB; eight storescu at once. A DCMTK storescp in bit-preserving mode receives the same sends: the
# data set ferryd stored must be byte for byte the one storescp received,
# the index must hold each instance with its attributes, size and checksum.
. "$(dirname "$0")/lib.sh"
need echoscu storescu storescp dcmsend dcmconv dcmcjpls dcmcjpeg dcmcrle
need_pydicom
cd "$WORK" || exit 1

DCMGEN=$TOOLS/dcmgen
start_ferryd
start_reference

echoscu -aec FERRY 127.0.0.1 "$PORT" || fail "echoscu -aec FERRY"
echoscu 127.0.0.1 "$PORT" || fail "echoscu calling the default ANY-SCP"

# send DIR STORESCU_OPTIONS...: to ferryd and to the reference
send() {
    dir=$1
    shift
    storescu -aet SENDER -aec FERRY +sd "$@" 127.0.0.1 "$PORT" "$dir" >"$WORK/send.log" 2>&1 ||
        fail "storescu $* $dir to ferryd: $(tail -n 5 "$WORK/send.log")"
    storescu -aet SENDER -aec REF +sd "$@" 127.0.0.1 "$REF_PORT" "$dir" >"$WORK/ref-send.log" 2>&1 ||
        fail "storescu $* $dir to the reference: $(tail -n 5 "$WORK/ref-send.log")"
}

gen() { # gen SEED SLICES DIR
    "$DCMGEN" ct --slices "$2" --seed "$1" --out "$3" >/dev/null || fail "dcmgen ct --seed $1"
}

total=0
gen 1 400 ct1
send ct1 -xe --max-pdu 131072
total=$((total + 400))
echo "400 slices, explicit VR little endian, 128 KiB PDUs: sent"

gen 2 400 ct2
send ct2 -xi --max-pdu 4096
total=$((total + 400))
echo "400 slices, implicit VR little endian (converted by storescu), 4 KiB PDUs: sent"

gen 3 40 ct3
mkdir -p be
for f in ct3/*.dcm; do dcmconv +tb "$f" "be/$(basename "$f")" || fail "dcmconv +tb"; done
send be -xb
total=$((total + 40))
echo "40 slices, explicit VR big endian: sent"

compress() { # compress SEED TOOL_AND_OPTIONS... -> dir c<SEED>
    seed=$1
    shift
    gen "$seed" 40 "src$seed"
    mkdir -p "c$seed"
    for f in "src$seed"/*.dcm; do
        "$@" "$f" "c$seed/$(basename "$f")" || fail "$* $f"
    done
}
compress 4 dcmcjpls
send c4 -xt
compress 5 dcmcjpeg
send c5 -xs
compress 6 dcmcrle
send c6 -xr
compress 7 dcmconv +td
send c7 -xd
total=$((total + 160))
echo "40 slices each: JPEG-LS lossless, JPEG lossless, RLE, deflated: sent"

# the lossy ones and JPEG 2000 (-xu, -xv, -xw: made by ferry transcode with
# the j2k plugin of this build; -xy, -xx: 8- and 12-bit images)
compress 10 dcmcjpls +en
send c10 -xu
FERRY=$(dirname "$FERRYD")/ferry
export FERRY_PLUGIN_DIR="$(dirname "$FERRYD")/../plugins"
compress 11 "$FERRY" transcode --to jpeg2000-lossless
send c11 -xv
compress 12 "$FERRY" transcode --to jpeg2000
send c12 -xw
mkdir -p sc8 sc12
for k in 1 2 3 4 5; do
    "$DCMGEN" image --out "sc8/u$k.dcm" --bits-allocated 8 --rows 128 --cols 128 --seed "$k" ||
        fail "dcmgen image 8-bit"
    dcmcjpeg +eb "sc8/u$k.dcm" "sc8/$k.dcm" || fail "dcmcjpeg +eb"
    "$DCMGEN" image --out "sc12/u$k.dcm" --bits-allocated 16 --bits-stored 12 --rows 128 \
        --cols 128 --seed "2$k" || fail "dcmgen image 12-bit"
    dcmcjpeg +ee "sc12/u$k.dcm" "sc12/$k.dcm" || fail "dcmcjpeg +ee"
    rm "sc8/u$k.dcm" "sc12/u$k.dcm"
done
send sc8 -xy
send sc12 -xx
total=$((total + 130))
echo "JPEG-LS near-lossless, JPEG 2000 lossless and lossy (40 slices each), JPEG baseline 8-bit and extended 12-bit (5 images each): sent"

# eight senders at once, 50 slices each
gen 8 400 ct8
i=0
for f in ct8/*.dcm; do
    d=part$((i % 8))
    mkdir -p "$d"
    ln -s "$WORK/$f" "$d/"
    i=$((i + 1))
done
pids=
for k in 0 1 2 3 4 5 6 7; do
    storescu -aet SENDER -aec FERRY +sd --max-pdu 131072 127.0.0.1 "$PORT" "part$k" \
        >"$WORK/par$k.log" 2>&1 &
    pids="$pids $!"
done
for p in $pids; do
    wait "$p" || fail "one of the eight storescu failed: $(cat "$WORK"/par*.log | tail -n 5)"
done
storescu -aet SENDER -aec REF +sd 127.0.0.1 "$REF_PORT" ct8 >/dev/null 2>&1 ||
    fail "storescu ct8 to the reference"
total=$((total + 400))
echo "eight storescu at once, 50 slices each: sent"

gen 9 20 ct9
dcmsend -aet SENDER -aec FERRY +sd 127.0.0.1 "$PORT" ct9 >"$WORK/dcmsend.log" 2>&1 ||
    fail "dcmsend: $(tail -n 5 "$WORK/dcmsend.log")"
dcmsend -aet SENDER -aec REF +sd 127.0.0.1 "$REF_PORT" ct9 >/dev/null 2>&1 ||
    fail "dcmsend to the reference"
total=$((total + 20))
echo "dcmsend, 20 slices: sent"

echoscu -aec FERRY 127.0.0.1 "$PORT" || fail "echoscu at the end"
verify --ref "$REF_DIR" --count "$total" --calling SENDER
stop_ferryd
# after a clean stop, nothing is half-written and the marker is gone
[ -z "$(ls "$DATA/spool/incoming")" ] || fail "files left in spool/incoming"
[ ! -e "$DATA/spool/.running" ] || fail "spool/.running left after a clean stop"
[ ! -e "$DATA/ferryd.pid" ] || fail "the pid file was left"
echo "PASS"
