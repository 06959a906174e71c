#!/bin/sh
# Ingest benchmark (not a test): a 400-slice 512x512x16-bit CT series sent
# over loopback by DCMTK storescu (TCP_NODELAY=1, 128 KiB PDUs) to
#   ferryd   durable (the default: file + folder fsync'ed, index committed,
#            before each response),
#   storescp DCMTK's, which writes each file and does not fsync,
#   Orthanc  the Debian package, default SQLite index, its own storage
#            folder and ports, no authentication,
# first with one storescu, then with eight at once (the series split eight
# ways). Each figure is the median of RUNS runs on a fresh store, the runs
# of the three servers interleaved. Prints
# instances/s, MB/s and ferryd's ratio to each; then ferryd's resident size
# with 500 associations open at once.
#
#   perf/ingest/run.sh [BUILD_DIR] [RUNS]
#   VARIANTS=1 perf/ingest/run.sh ...   also ferryd with storage.fsync false,
#                                       and with sync_file_range on
set -eu
BUILD=$(cd "${1:-build}" && pwd)
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-ingest-bench.XXXXXX")
export TCP_NODELAY=1
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ulimit -n 8192 2>/dev/null || true

for t in storescu storescp echoscu Orthanc; do
    command -v $t >/dev/null || { echo "missing: $t (scripts/install-deps.sh)" >&2; exit 1; }
done
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

echo "generating the series ..."
"$BUILD/tests/dcmgen" ct --slices 400 --out "$WORK/ct" >/dev/null
BYTES=$(du -cb "$WORK"/ct/*.dcm | tail -n 1 | cut -f1)
i=0
for f in "$WORK"/ct/*.dcm; do
    d="$WORK/part$((i % 8))"
    mkdir -p "$d"
    ln -s "$f" "$d/"
    i=$((i + 1))
done
# read them once, so that every run finds them in the page cache
cat "$WORK"/ct/*.dcm >/dev/null

# ---------------------------------------------------------------- servers
SRV=
start_ferryd() { # [extra config lines]
    P=$(port)
    rm -rf "$WORK/fd" && mkdir -p "$WORK/fd"
    cat >"$WORK/ferry.yaml" <<EOF
server:
  bind: ['127.0.0.1']
  log_level: warn
  plugins: []
limits:
  max_associations_per_peer: 1000
  max_associations: 2000
storage:
  fsync: ${FSYNC:-true}
EOF
    "$BUILD/bin/ferryd" --foreground --config "$WORK/ferry.yaml" --data-dir "$WORK/fd" \
        --port "$P" >"$WORK/fd.out" 2>"$WORK/fd.err" &
    SRV=$!
    AEC=FERRY
}
start_storescp() {
    P=$(port)
    rm -rf "$WORK/scp" && mkdir -p "$WORK/scp"
    storescp --max-pdu 131072 -od "$WORK/scp" "$P" >"$WORK/scp.log" 2>&1 &
    SRV=$!
    AEC=ANY-SCP
}
start_orthanc() {
    P=$(port)
    HP=$(port)
    rm -rf "$WORK/orthanc" && mkdir -p "$WORK/orthanc"
    cat >"$WORK/orthanc.json" <<EOF
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
  "ConcurrentJobs": 2
}
EOF
    Orthanc "$WORK/orthanc.json" >"$WORK/orthanc.log" 2>&1 &
    SRV=$!
    AEC=ORTHANC
}
stop_server() {
    kill "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
    SRV=
}
wait_ready() {
    i=0
    while ! echoscu -aec "$AEC" 127.0.0.1 "$P" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 200 ] || { echo "server did not start" >&2; exit 1; }
        sleep 0.05
    done
}

# one_run SERVER SENDERS: seconds for the whole series
one_run() {
    "start_$1"
    wait_ready
    sync
    t0=$(now)
    if [ "$2" -eq 1 ]; then
        storescu --max-pdu 131072 -aec "$AEC" +sd 127.0.0.1 "$P" "$WORK/ct" >"$WORK/send.log" 2>&1 ||
            { echo "storescu to $1 failed: $(tail -n 3 "$WORK/send.log")" >&2; exit 1; }
    else
        pids=
        for k in 0 1 2 3 4 5 6 7; do
            storescu --max-pdu 131072 -aec "$AEC" +sd 127.0.0.1 "$P" "$WORK/part$k" \
                >"$WORK/send$k.log" 2>&1 &
            pids="$pids $!"
        done
        for p in $pids; do
            wait "$p" || { echo "a storescu to $1 failed" >&2; exit 1; }
        done
    fi
    t1=$(now)
    stop_server
    echo "$t0 $t1" | awk '{printf "%.4f\n", $2 - $1}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# report NAME: prints the median of $WORK/times.NAME and stores it
report() {
    name=$1
    s=$(median <"$WORK/times.$name")
    echo "$s" >"$WORK/median.$name"
    printf '  %-28s %7.0f instances/s %7.1f MB/s   (median of %s: %s s)\n' "$name" \
        "$(echo "$s" | awk '{print 400 / $1}')" \
        "$(echo "$s $BYTES" | awk '{print $2 / $1 / 1e6}')" "$RUNS" \
        "$(tr '\n' ' ' <"$WORK/times.$name")"
}

ratio() { awk -v a="$(cat "$WORK/median.$2")" -v b="$(cat "$WORK/median.$1")" 'BEGIN {printf "%.2f", a / b}'; }

# The runs of the servers are interleaved (ferryd, storescp, Orthanc,
# ferryd, ...) so that a change in the load of the machine falls on all of
# them alike.
echo "400 instances, $((BYTES / 1048576)) MiB, storescu --max-pdu 131072, TCP_NODELAY=1"
for n in 1 8; do
    echo "$n sender(s):"
    names="ferryd-$n storescp-$n orthanc-$n"
    [ "${VARIANTS:-0}" = 1 ] && names="$names ferryd-$n-no-fsync ferryd-$n-sync-range"
    for name in $names; do : >"$WORK/times.$name"; done
    r=0
    while [ $r -lt "$RUNS" ]; do
        one_run ferryd $n >>"$WORK/times.ferryd-$n"
        one_run storescp $n >>"$WORK/times.storescp-$n"
        one_run orthanc $n >>"$WORK/times.orthanc-$n"
        if [ "${VARIANTS:-0}" = 1 ]; then
            FSYNC=false one_run ferryd $n >>"$WORK/times.ferryd-$n-no-fsync"
            FERRYD_SYNC_RANGE=1 one_run ferryd $n >>"$WORK/times.ferryd-$n-sync-range"
        fi
        r=$((r + 1))
    done
    for name in $names; do report "$name"; done
    echo "  ferryd / storescp: $(ratio ferryd-$n storescp-$n)x   ferryd / Orthanc: $(ratio ferryd-$n orthanc-$n)x"
done

# ------------------------------------------------- 500 associations open
echo "ferryd with 500 associations open:"
start_ferryd
wait_ready
base=$(awk '/^VmRSS/{print $2}' "/proc/$SRV/status")
for bytes in 0 524288; do
    mkfifo "$WORK/in$bytes"
    "$BUILD/perf/hold_stores" "$P" 500 "$bytes" <"$WORK/in$bytes" >"$WORK/hold.out" 2>&1 &
    HP=$!
    exec 3>"$WORK/in$bytes"
    i=0
    while ! grep -q HELD "$WORK/hold.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 1200 ] || { echo "hold_stores did not finish: $(cat "$WORK/hold.out")" >&2; exit 1; }
        sleep 0.1
    done
    sleep 1
    rss=$(awk '/^VmRSS/{print $2}' "/proc/$SRV/status")
    hwm=$(awk '/^VmHWM/{print $2}' "/proc/$SRV/status")
    what="idle"
    [ "$bytes" -gt 0 ] && what="each after a 512 KiB C-STORE"
    printf '  %s, %s: VmRSS %d KiB (at start %d KiB), peak VmHWM %d KiB\n' \
        "$(awk '/HELD/{print $2 " associations, " $4 " stored"}' "$WORK/hold.out")" "$what" \
        "$rss" "$base" "$hwm"
    exec 3>&-
    wait "$HP" || true
    rm -f "$WORK/in$bytes"
done
stop_server
