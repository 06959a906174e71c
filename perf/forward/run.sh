#!/bin/sh
# Forward benchmark (not a test): a 400-slice 512x512x16-bit CT series sent
# over loopback by DCMTK storescu (TCP_NODELAY=1, 128 KiB PDUs) to the
# reading center, a DCMTK storescp, by three paths:
#   direct   storescu straight to storescp (the baseline),
#   ferryd   storescu to ferryd, which stores each instance durably (file and
#            folder fsync'ed, index committed, before each response) and
#            forwards it to storescp as it arrives (one route, one
#            destination, pass-through),
#   Orthanc  storescu to Orthanc (the Debian package), whose Lua
#            OnStoredInstance sends every stored instance to storescp
#            (SendToModality).
# and, to tell ingest from forwarding, ferryd's ingest alone (no route; the
# time until storescu has its last response).
# Each time runs from the moment storescu starts to the moment storescp has
# received the 400th instance (its folder is watched every 2 ms). Prints the
# median of RUNS runs of each, and the ratios.
#
#   perf/forward/run.sh [BUILD_DIR] [RUNS]
#   VARIANTS=1 perf/forward/run.sh ...   also ferryd with storage.fsync false,
#                                        with parallel: 2 associations, and
#                                        forwarding alone (the series stored
#                                        while the destination is paused,
#                                        timed from `ferry queue resume`)
set -eu
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-forward-bench.XXXXXX")
export TCP_NODELAY=1
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for t in storescu storescp echoscu Orthanc; do
    command -v $t >/dev/null || { echo "missing: $t (scripts/install-deps.sh)" >&2; exit 1; }
done
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "generating the series ..."
"$BUILD/tests/dcmgen" ct --slices 400 --out "$WORK/ct" >/dev/null
BYTES=$(du -cb "$WORK"/ct/*.dcm | tail -n 1 | cut -f1)
# read them once, so that every run finds them in the page cache
cat "$WORK"/ct/*.dcm >/dev/null

wait_echo() { # AE PORT
    i=0
    while ! echoscu -aec "$1" 127.0.0.1 "$2" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 300 ] || { echo "$1 did not start on port $2" >&2; exit 1; }
        sleep 0.05
    done
}

# ------------------------------------------------------------ the servers
start_reading() {
    RP=$(port)
    rm -rf "$WORK/scp" && mkdir -p "$WORK/scp"
    storescp --max-pdu 131072 -aet READING -od "$WORK/scp" "$RP" >"$WORK/scp.log" 2>&1 &
    SCP=$!
    PIDS="$PIDS $SCP"
    wait_echo READING "$RP"
}

start_direct() {
    P=$RP
    AEC=READING
    SRV=
}

start_ferryd() {
    P=$(port)
    rm -rf "$WORK/fd" && mkdir -p "$WORK/fd"
    cat >"$WORK/ferry.yaml" <<YAML
server:
  bind: ['127.0.0.1']
  log_level: warn
  plugins: []
storage:
  fsync: ${FSYNC:-true}
YAML
    [ -n "${NOROUTE:-}" ] || cat >>"$WORK/ferry.yaml" <<YAML
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $RP, called_ae: READING, parallel: ${PARALLEL:-1} }
routes:
  - { name: all, forward: reading-center }
YAML
    "$BUILD/bin/ferryd" --foreground --config "$WORK/ferry.yaml" --data-dir "$WORK/fd" \
        --port "$P" >"$WORK/fd.out" 2>"$WORK/fd.err" &
    SRV=$!
    PIDS="$PIDS $SRV"
    AEC=FERRY
    wait_echo FERRY "$P"
}

start_ingest() {
    NOROUTE=1
    start_ferryd
    NOROUTE=
    WANT=0
}

start_orthanc() {
    P=$(port)
    HP=$(port)
    rm -rf "$WORK/orthanc" && mkdir -p "$WORK/orthanc"
    cat >"$WORK/orthanc/forward.lua" <<'LUA'
function OnStoredInstance(instanceId, tags, metadata, origin)
  SendToModality(instanceId, 'reading')
end
LUA
    cat >"$WORK/orthanc.json" <<JSON
{
  "Name": "ferry-bench",
  "StorageDirectory": "$WORK/orthanc/storage",
  "IndexDirectory": "$WORK/orthanc/index",
  "DicomAet": "ORTHANC",
  "DicomPort": $P,
  "HttpPort": $HP,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomCheckCalledAet": false,
  "MaximumPduLength": 131072,
  "Plugins": [],
  "LuaScripts": ["$WORK/orthanc/forward.lua"],
  "DicomModalities": { "reading": ["READING", "127.0.0.1", $RP] }
}
JSON
    Orthanc "$WORK/orthanc.json" >"$WORK/orthanc.log" 2>&1 &
    SRV=$!
    PIDS="$PIDS $SRV"
    AEC=ORTHANC
    wait_echo ORTHANC "$P"
}

stop_all() {
    for p in $SRV $SCP; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    SRV=
    SCP=
    PIDS=
}

# one_run PATH: seconds from storescu's start to storescp's 400th instance
one_run() {
    start_reading
    WANT=400
    "start_$1"
    sync
    # the watcher takes the start time itself, then starts storescu
    python3 - "$WORK/scp" "$WANT" 600 storescu --max-pdu 131072 -aec "$AEC" +sd 127.0.0.1 "$P" \
        "$WORK/ct" <<'PY' 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
import os, subprocess, sys, time
d, n, limit, cmd = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if n == 0:
    p.wait()
while len(os.listdir(d)) < n:
    if time.monotonic() - t0 > limit:
        sys.exit(f'only {len(os.listdir(d))} of {n} at the reading center after {limit} s')
    time.sleep(0.002)
t1 = time.monotonic()
if p.wait() != 0:
    sys.exit('storescu failed: ' + p.stderr.read().decode()[-300:])
print(f'{t1 - t0:.4f}')
PY
    stop_all
}

# fwdonly_run: forwarding alone: the series is stored first with the
# destination paused, then `ferry queue resume` releases it; seconds from
# the resume to storescp's 400th instance
fwdonly_run() {
    start_reading
    start_ferryd
    "$BUILD/bin/ferry" queue pause reading-center --socket "$WORK/fd/ferry.sock" >/dev/null
    storescu --max-pdu 131072 -aec FERRY +sd 127.0.0.1 "$P" "$WORK/ct" >/dev/null 2>&1 ||
        { echo "storescu into ferryd failed" >&2; exit 1; }
    sync
    python3 - "$WORK/scp" 400 "$BUILD/bin/ferry" queue resume reading-center \
        --socket "$WORK/fd/ferry.sock" <<'PY' 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; exit 1; }
import os, subprocess, sys, time
d, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
while len(os.listdir(d)) < n:
    if time.monotonic() - t0 > 600:
        sys.exit(f'only {len(os.listdir(d))} of {n} at the reading center after 600 s')
    time.sleep(0.002)
t1 = time.monotonic()
if p.wait() != 0:
    sys.exit('ferry queue resume failed: ' + p.stderr.read().decode()[-300:])
print(f'{t1 - t0:.4f}')
PY
    stop_all
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# measure NAME PATH: prints and stores the median seconds
measure() {
    name=$1
    shift
    : >"$WORK/times"
    r=0
    while [ $r -lt "$RUNS" ]; do
        if [ "$1" = fwdonly ]; then fwdonly_run; else one_run "$@"; fi >>"$WORK/times"
        r=$((r + 1))
    done
    s=$(median <"$WORK/times")
    echo "$s" >"$WORK/median.$name"
    printf '  %-24s %7.3f s %7.0f instances/s %7.1f MB/s   (runs: %s)\n' "$name" "$s" \
        "$(echo "$s" | awk '{print 400 / $1}')" \
        "$(echo "$s $BYTES" | awk '{print $2 / $1 / 1e6}')" \
        "$(tr '\n' ' ' <"$WORK/times")"
}

ratio() { awk -v a="$(cat "$WORK/median.$1")" -v b="$(cat "$WORK/median.$2")" 'BEGIN {printf "%.2f", a / b}'; }

echo "400 instances, $((BYTES / 1048576)) MiB, storescu --max-pdu 131072, TCP_NODELAY=1;"
echo "first instance sent to last instance at storescp, median of $RUNS:"
measure direct direct
measure ferryd ferryd
measure orthanc orthanc
measure ferryd-ingest-only ingest
echo "  ferryd / direct: $(ratio ferryd direct)x (aim <= 1.2)   Orthanc / ferryd: $(ratio orthanc ferryd)x (aim >= 5)"
echo "  ferryd ingest only / direct: $(ratio ferryd-ingest-only direct)x   forwarding's own share: $(awk -v a="$(cat "$WORK/median.ferryd")" -v b="$(cat "$WORK/median.ferryd-ingest-only")" 'BEGIN {printf "%.3f s", a - b}')"
if [ "${VARIANTS:-0}" = 1 ]; then
    FSYNC=false measure ferryd-no-fsync ferryd
    PARALLEL=2 measure ferryd-parallel-2 ferryd
    echo "  no fsync / direct: $(ratio ferryd-no-fsync direct)x   parallel 2 / direct: $(ratio ferryd-parallel-2 direct)x"
    measure ferryd-forward-only fwdonly
    echo "  forwarding alone (stored study released by ferry queue resume) / direct: $(ratio ferryd-forward-only direct)x"
fi
