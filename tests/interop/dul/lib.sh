# Shared by the dul interop tests (sourced). POSIX sh.
#   SERVER  path of dul_test_server (first argument of every test)
#   WORK    a fresh directory, removed on exit with everything started
set -u

SERVER=$1
shift
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-dul-interop.XXXXXX")
SRV_PID=
PIDS=
export TCP_NODELAY=1

cleanup() {
    for p in $PIDS $SRV_PID; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$WORK/srv.err" ]; then
        echo "--- server log (last 40 lines) ---" >&2
        tail -n 40 "$WORK/srv.err" >&2
    fi
    exit 1
}

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
    done
}

# start_server [server options...]: sets PORT and SRV_PID.
start_server() {
    : >"$WORK/srv.out"
    "$SERVER" "$@" >"$WORK/srv.out" 2>"$WORK/srv.err" &
    SRV_PID=$!
    i=0
    PORT=
    while [ $i -lt 100 ]; do
        PORT=$(awk '/^PORT /{print $2; exit}' "$WORK/srv.out")
        [ -n "$PORT" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || fail "dul_test_server exited: $(cat "$WORK/srv.err")"
        sleep 0.05
        i=$((i + 1))
    done
    fail "dul_test_server did not report its port"
}

# stop_server: SIGTERM, and the server must exit 0 within 10 s.
stop_server() {
    kill -TERM "$SRV_PID"
    i=0
    while kill -0 "$SRV_PID" 2>/dev/null; do
        [ $i -lt 200 ] || fail "server still running 10 s after SIGTERM"
        sleep 0.05
        i=$((i + 1))
    done
    wait "$SRV_PID"
    rc=$?
    SRV_PID=
    [ $rc -eq 0 ] || fail "server exited with $rc after SIGTERM"
}

# wait_for FILE PATTERN [seconds]: until grep finds PATTERN in FILE.
wait_for() {
    n=$(( ${3:-10} * 20 ))
    i=0
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        [ $i -lt $n ] || fail "'$2' did not appear in $1"
        sleep 0.05
        i=$((i + 1))
    done
}

expect_in() {
    grep -q -- "$2" "$1" || fail "expected '$2' in $1: $(tail -n 20 "$1")"
}

expect_not_in() {
    if grep -q -- "$2" "$1"; then
        fail "did not expect '$2' in $1"
    fi
}

# Tiny DICOM files made with DCMTK's own tools (dump2dcm, dcmconv,
# dcmcjpeg, dcmcrle, dcmcjpls), so the tests need no fixtures.
make_files() {
    need dump2dcm dcmconv dcmcjpeg dcmcrle dcmcjpls python3
    (
        cd "$WORK" || exit 1
        python3 -c "
import struct
open('px16.raw','wb').write(b''.join(struct.pack('<H',(x*37+y*11)%4096) for y in range(64) for x in range(64)))
open('px8.raw','wb').write(bytes(((x*3+y*5)%256) for y in range(64) for x in range(64)))
open('px16big.raw','wb').write(b''.join(struct.pack('<H',(x*7+y*13)%4096) for y in range(512) for x in range(512)))
"
        for v in ct:CTImageStorage:16:12:11:OW:px16.raw:64:1 \
                 sc8:SecondaryCaptureImageStorage:8:8:7:OB:px8.raw:64:2 \
                 big:CTImageStorage:16:12:11:OW:px16big.raw:512:3; do
            IFS=: read -r name class ba bs hb vr px dim n <<EOF
$v
EOF
            cat >"$name.dump" <<EOF
(0008,0016) UI =$class
(0008,0018) UI 1.2.826.0.1.3680043.9.7433.$n.1
(0008,0060) CS OT
(0010,0010) PN Test^Patient
(0010,0020) LO FERRY-TEST-$n
(0020,000d) UI 1.2.826.0.1.3680043.9.7433.$n.2
(0020,000e) UI 1.2.826.0.1.3680043.9.7433.$n.3
(0028,0002) US 1
(0028,0004) CS MONOCHROME2
(0028,0010) US $dim
(0028,0011) US $dim
(0028,0100) US $ba
(0028,0101) US $bs
(0028,0102) US $hb
(0028,0103) US 0
(7fe0,0010) $vr =$px
EOF
            dump2dcm +te "$name.dump" "${name}_ele.dcm" || exit 1
        done
        dcmconv +ti ct_ele.dcm ct_ile.dcm &&
            dcmconv +tb ct_ele.dcm ct_ebe.dcm &&
            dcmcjpeg ct_ele.dcm ct_jll.dcm &&
            dcmcrle ct_ele.dcm ct_rle.dcm &&
            dcmcjpls ct_ele.dcm ct_jls.dcm &&
            dcmcjpeg +eb sc8_ele.dcm sc8_jpb.dcm
    ) >"$WORK/make_files.log" 2>&1 || fail "making test files: $(cat "$WORK/make_files.log")"
}

# The number of data set bytes of a Part 10 file: its size minus the
# preamble, "DICM" and the meta information group.
dataset_bytes() {
    python3 - "$1" <<'EOF'
import os, struct, sys
p = sys.argv[1]
with open(p, 'rb') as f:
    head = f.read(144)
assert head[128:132] == b'DICM'
group_len = struct.unpack('<I', head[140:144])[0]
print(os.path.getsize(p) - 144 - group_len)
EOF
}
