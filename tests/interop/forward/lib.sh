# Shared by the forward interop tests (sourced). POSIX sh.
#   FERRYD, FERRY, DCMGEN   the binaries (first three arguments of every test)
#   WORK                    a fresh folder, removed on exit with everything started
# Each test starts its own ferryd, storescp and Orthanc on free loopback
# ports, in folders under WORK, and stops them.
set -u

FERRYD=$1
FERRY=$2
DCMGEN=$3
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fwd-interop.XXXXXX")
PIDS=
FERRYD_PID=
PY=/usr/bin/python3
export TCP_NODELAY=1

cleanup() {
    for p in $FERRYD_PID $PIDS; do
        kill -9 "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "work folder kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    for f in "$WORK"/ferryd*.err; do
        [ -f "$f" ] || continue
        echo "--- $f (last 40 lines) ---" >&2
        tail -n 40 "$f" >&2
    done
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

# A TCP port nobody listens on now (127.0.0.1).
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds.
wait_until() {
    n=$(($1 * 10))
    shift
    i=0
    while ! "$@" >/dev/null 2>&1; do
        [ $i -lt $n ] || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 0
}

count_files() {
    find "$1" -maxdepth 1 -type f ! -name '*.log' 2>/dev/null | wc -l
}

has_files() {
    [ "$(count_files "$1")" -ge "$2" ]
}

# wait_files DIR N SECONDS: at least N files in DIR, and none of them still
# growing (storescp creates a file before it has written it; a comparison
# right after the count could read half of the last one).
wait_files() {
    wait_until "$3" has_files "$1" "$2" || fail "$(count_files "$1") of $2 files in $1 after $3 s"
    before=$(sizes "$1")
    n=0
    while [ $n -lt 50 ]; do
        sleep 0.2
        now=$(sizes "$1")
        [ "$now" = "$before" ] && return 0
        before=$now
        n=$((n + 1))
    done
    fail "the files in $1 were still changing after 10 s"
}

sizes() {
    find "$1" -maxdepth 1 -type f ! -name '*.log' -printf '%s %f\n' 2>/dev/null | sort
}

# start_storescp NAME [storescp options...]: a DCMTK storescp standing in for
# a destination, AE title NAME, files in WORK/NAME, log WORK/NAME.log; sets
# SCP_PORT and SCP_PID_<NAME>.
start_storescp() {
    name=$1
    shift
    mkdir -p "$WORK/$name"
    SCP_PORT=${SCP_PORT_WANTED:-$(free_port)}
    storescp -v -aet "$name" -od "$WORK/$name" "$@" "$SCP_PORT" >>"$WORK/$name.log" 2>&1 &
    pid=$!
    PIDS="$PIDS $pid"
    eval "SCP_PID_$name=$pid"
    wait_until 10 echoscu -aec "$name" 127.0.0.1 "$SCP_PORT" ||
        fail "storescp $name did not answer on port $SCP_PORT: $(cat "$WORK/$name.log")"
}

stop_pid() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# write_config FILE: a ferryd config from standard input, with @PORT@,
# @DATA@ and @WORK@ replaced.
FERRY_PORT=$(free_port)
write_config() {
    sed -e "s|@PORT@|$FERRY_PORT|g" -e "s|@DATA@|$WORK/data|g" -e "s|@WORK@|$WORK|g" >"$1"
}

# start_ferryd CONFIG [name]: ferryd in the foreground, log WORK/ferryd[-name].err.
start_ferryd() {
    cfg=$1
    tag=${2:-}
    out="$WORK/ferryd$tag.out"
    err="$WORK/ferryd$tag.err"
    : >"$out"
    "$FERRYD" --config "$cfg" --foreground >"$out" 2>>"$err" &
    FERRYD_PID=$!
    wait_until 20 grep -q "listening on" "$out" ||
        fail "ferryd did not start: $(tail -n 20 "$err")"
}

stop_ferryd() {
    [ -n "$FERRYD_PID" ] || return 0
    kill -TERM "$FERRYD_PID"
    i=0
    while kill -0 "$FERRYD_PID" 2>/dev/null; do
        [ $i -lt 300 ] || fail "ferryd still running 30 s after SIGTERM"
        sleep 0.1
        i=$((i + 1))
    done
    wait "$FERRYD_PID"
    rc=$?
    FERRYD_PID=
    [ $rc -eq 0 ] || fail "ferryd exited with $rc after SIGTERM"
}

# send [storescu options...] -- FILES...: to ferryd (as calling AE
# SEND_AE, default STORESCU).
send() {
    opts=
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        opts="$opts $1"
        shift
    done
    [ $# -gt 0 ] && shift
    # shellcheck disable=SC2086
    storescu -aet "${SEND_AE:-STORESCU}" -aec FERRY $opts 127.0.0.1 "$FERRY_PORT" "$@" \
        >>"$WORK/storescu.log" 2>&1 || fail "storescu$opts ($# files): $(tail -n 5 "$WORK/storescu.log")"
}

# queue [args]: ferry queue against the config CFG (set by the test).
queue() {
    "$FERRY" queue --config "$CFG" "$@"
}

# queue_field DEST FIELD: a count from `ferry queue` ("done", "dead", ...).
queue_field() {
    queue | awk -v d="$1" -v f="$2" '
        /^[^ ]/ { cur = $1 }
        cur == d && /^  pending / {
            gsub(",", "")
            for (i = 1; i < NF; i++) {
                k = $i
                if (k == "in") { k = "inflight"; i++ }
                if (k == f) { print $(i + 1); exit }
            }
        }'
}

queue_done_is() {
    [ "$(queue_field "$1" done)" = "$2" ]
}

# expect_in FILE PATTERN
expect_in() {
    grep -q -- "$2" "$1" || fail "expected '$2' in $1: $(tail -n 20 "$1")"
}

expect_not_in() {
    if grep -q -- "$2" "$1"; then
        fail "did not expect '$2' in $1"
    fi
}

# A study: dcmgen ct into WORK/NAME (N slices, seed S, extra dcmgen options).
make_study() {
    name=$1
    n=$2
    seed=$3
    shift 3
    mkdir -p "$WORK/$name"
    "$DCMGEN" ct --slices "$n" --seed "$seed" --rows 64 --cols 64 --out "$WORK/$name" "$@" \
        >/dev/null || fail "dcmgen ct --slices $n"
}

# same_datasets SRC DST [N]: every file under DST holds the data set of a
# file under SRC, byte for byte after the meta group, and (with N) DST has N.
same_datasets() {
    "$PY" "$HERE/datasets.py" same "$@" || fail "data sets differ: $1 vs $2"
}

# start_orthanc [extra JSON members]: an Orthanc (Debian package) with its
# own storage and index under WORK/orthanc, DICOM AE ORTHANC, no HTTP
# authentication; sets ORTHANC_DICOM, ORTHANC_HTTP, ORTHANC_PID.
start_orthanc() {
    need Orthanc curl
    extra=${1:-}
    mkdir -p "$WORK/orthanc/db"
    ORTHANC_DICOM=$(free_port)
    ORTHANC_HTTP=$(free_port)
    cat >"$WORK/orthanc/orthanc.json" <<JSON
{
  "Name": "ferry-test",
  "StorageDirectory": "$WORK/orthanc/db",
  "IndexDirectory": "$WORK/orthanc/db",
  "StorageCompression": false,
  "Plugins": [],
  "HttpServerEnabled": true,
  "HttpPort": $ORTHANC_HTTP,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomServerEnabled": true,
  "DicomAet": "ORTHANC",
  "DicomPort": $ORTHANC_DICOM,
  "DicomCheckCalledAet": false,
  "DicomAlwaysAllowStore": true,
  "DicomAlwaysAllowEcho": true,
  "DicomCheckModalityHost": false,
  "UnknownSopClassAccepted": true,
  "DicomScpTimeout": 30,
  "StableAge": 60,
  "SaveJobs": false$extra
}
JSON
    Orthanc "$WORK/orthanc/orthanc.json" >"$WORK/orthanc.log" 2>&1 &
    ORTHANC_PID=$!
    PIDS="$PIDS $ORTHANC_PID"
    wait_until 30 curl -sf "http://127.0.0.1:$ORTHANC_HTTP/system" ||
        fail "Orthanc did not start: $(tail -n 20 "$WORK/orthanc.log")"
}

orthanc_count() {
    curl -sf "http://127.0.0.1:$ORTHANC_HTTP/statistics" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'
}

orthanc_has() {
    [ "$(orthanc_count)" -ge "$1" ]
}

# orthanc_download DIR: every instance Orthanc has, as files in DIR.
orthanc_download() {
    mkdir -p "$1"
    "$PY" - "http://127.0.0.1:$ORTHANC_HTTP" "$1" <<'PYEOF' || fail "downloading from Orthanc"
import json, sys, urllib.request
base, out = sys.argv[1], sys.argv[2]
ids = json.load(urllib.request.urlopen(base + '/instances'))
for i in ids:
    with open(f'{out}/{i}.dcm', 'wb') as f:
        f.write(urllib.request.urlopen(f'{base}/instances/{i}/file').read())
PYEOF
}
