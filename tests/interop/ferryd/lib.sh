# Shared by the ferryd interop tests (sourced). POSIX sh.
#   $1 FERRYD   build/bin/ferryd
#   $2 TOOLS    the folder of the test tools (build/tests: dcmgen,
#               spool_verify, dul_bad_client)
#   WORK        a fresh folder, removed on exit (KEEP_WORK=1 keeps it)
set -u

FERRYD=$1
TOOLS=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-ferryd-interop.XXXXXX")
PY=/usr/bin/python3
FD_PID=
PIDS=
export TCP_NODELAY=1

cleanup() {
    for p in $PIDS $FD_PID; do
        kill -9 "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "work folder kept: $WORK" >&2
    else
        umount "$WORK/data" 2>/dev/null || true
    rm -rf "$WORK"
    fi
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$WORK/ferryd.err" ]; then
        echo "--- ferryd log (last 30 lines) ---" >&2
        tail -n 30 "$WORK/ferryd.err" >&2
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

need_pydicom() {
    $PY -c 'import pydicom' 2>/dev/null || skip "python3-pydicom is not installed"
}

# A TCP port nobody listens on now (the kernel's choice).
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# write_config FILE [YAML lines for the accept/storage/limits sections...]:
# a config for a test instance: loopback only, data folder and port from
# the command line.
write_config() {
    f=$1
    shift
    cat >"$f" <<EOF
server:
  ae_title: FERRY
  bind: ['127.0.0.1']
  log_level: ${FERRYD_LOG_LEVEL:-info}
  worker_threads: 1
  plugins: []
limits:
  shutdown_deadline: ${FERRY_SHUTDOWN_DEADLINE:-10s}
EOF
    for line in "$@"; do
        printf '%s\n' "$line" >>"$f"
    done
}

# start_ferryd [DATA_DIR [CONFIG]]: ferryd in the foreground on a free
# port; sets PORT, FD_PID, DATA. Its log goes to $WORK/ferryd.err.
start_ferryd() {
    DATA=${1:-$WORK/data}
    CONF=${2:-$WORK/ferry.yaml}
    [ -f "$CONF" ] || write_config "$CONF"
    tries=0
    while [ $tries -lt 5 ]; do
        tries=$((tries + 1))
        PORT=$(free_port)
        : >"$WORK/ferryd.out"
        "$FERRYD" --foreground --config "$CONF" --data-dir "$DATA" --port "$PORT" \
            >"$WORK/ferryd.out" 2>>"$WORK/ferryd.err" &
        FD_PID=$!
        i=0
        while [ $i -lt 200 ]; do
            if grep -q "listening on" "$WORK/ferryd.out" 2>/dev/null; then
                return 0
            fi
            kill -0 "$FD_PID" 2>/dev/null || break
            sleep 0.05
            i=$((i + 1))
        done
        wait "$FD_PID" 2>/dev/null
        FD_PID=
        grep -q "Address already in use" "$WORK/ferryd.err" || break
    done
    fail "ferryd did not start: $(tail -n 5 "$WORK/ferryd.err")"
}

# stop_ferryd [SECONDS]: SIGTERM; ferryd must exit 0 within SECONDS (15).
stop_ferryd() {
    kill -TERM "$FD_PID"
    n=$(( ${1:-15} * 20 ))
    i=0
    while kill -0 "$FD_PID" 2>/dev/null && [ $i -lt $n ]; do
        # a zombie has exited: wait collects it
        grep -q '^State:.*Z' "/proc/$FD_PID/status" 2>/dev/null && break
        sleep 0.05
        i=$((i + 1))
    done
    [ $i -lt $n ] || fail "ferryd still running ${1:-15} s after SIGTERM"
    wait "$FD_PID"
    rc=$?
    FD_PID=
    [ $rc -eq 0 ] || fail "ferryd exited with $rc after SIGTERM"
}

# A DCMTK storescp that keeps the bytes it receives (+B), as the reference
# for "the stored data set equals the one sent". Sets REF_PORT, REF_DIR.
start_reference() {
    REF_DIR=$WORK/ref
    mkdir -p "$REF_DIR"
    REF_PORT=$(free_port)
    storescp +B +xa --max-pdu 131072 -od "$REF_DIR" -aet REF "$REF_PORT" \
        >"$WORK/ref.log" 2>&1 &
    REF_PID=$!
    PIDS="$PIDS $REF_PID"
    i=0
    while ! echoscu -aec REF 127.0.0.1 "$REF_PORT" >/dev/null 2>&1; do
        [ $i -lt 100 ] || fail "storescp did not start: $(cat "$WORK/ref.log")"
        sleep 0.05
        i=$((i + 1))
    done
}

# verify [ARGS of check_store.py]: the index against the spool (sizes,
# checksums) and the stored data sets against the reference receiver.
verify() {
    "$TOOLS/spool_verify" "$DATA" >"$WORK/verify.out" 2>&1 ||
        fail "spool_verify: $(grep -v '^ok' "$WORK/verify.out" | head -n 5)"
    $PY "$HERE/check_store.py" "$WORK/verify.out" "$DATA" "$@" ||
        fail "check_store.py $*"
}

# wait_for FILE PATTERN [SECONDS]
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
    grep -q -- "$2" "$1" || fail "expected '$2' in $1: $(tail -n 5 "$1")"
}

# Peak resident size of a process in KiB.
vm_hwm() {
    awk '/^VmHWM/{print $2}' "/proc/$1/status"
}
