# Shared by the pipe interop tests (sourced; POSIX sh): plugin pipelines in
# routes of the running ferryd. On top of tests/interop/ferryd/lib.sh
# (start_ferryd, stop_ferryd, fail, skip, need, free_port, wait_for, ...).
#   $1 FERRYD  $2 TOOLS (build/tests)  $3 FERRY  $4 PLUGINS (build/plugins)
#   $5 TEST_PLUGINS (build/tests/plugins)
. "$(dirname "$0")/../ferryd/lib.sh"
FERRY=$1
PLUGINS=$2
TEST_PLUGINS=$3
DCMGEN=$TOOLS/dcmgen
FERRYD_LOG_LEVEL=${FERRYD_LOG_LEVEL:-info}

# plugin_dir NAME...: a folder with the named plugins (NAME.so from the
# build's plugins or test plugins), for server.plugin_dir. Sets PLUGIN_DIR.
plugin_dir() {
    PLUGIN_DIR=$WORK/plugins
    mkdir -p "$PLUGIN_DIR"
    for p in "$@"; do
        if [ -f "$PLUGINS/$p.so" ]; then
            ln -sf "$PLUGINS/$p.so" "$PLUGIN_DIR/$p.so"
        elif [ -f "$TEST_PLUGINS/$p.so" ]; then
            ln -sf "$TEST_PLUGINS/$p.so" "$PLUGIN_DIR/$p.so"
        else
            fail "no plugin $p.so in $PLUGINS or $TEST_PLUGINS"
        fi
    done
}

# pipe_config FILE PLUGIN... : the ferryd test config with those plugins
# (from $PLUGIN_DIR) and the control socket in $WORK; the caller appends
# destinations, pipelines and routes.
pipe_config() {
    f=$1
    shift
    write_config "$f"
    list=$(printf '%s, ' "$@" | sed 's/, $//')
    sed -i "s|  plugins: \[\]|  plugins: [$list]\n  plugin_dir: '$PLUGIN_DIR'\n  control_socket: '$WORK/ferry.sock'|" "$f"
}

# start_scp NAME [storescp options...]: a storescp (AE title NAME) keeping
# what it receives as received (+B) in $WORK/NAME; sets SCP_PORT.
start_scp() {
    name=$1
    shift
    mkdir -p "$WORK/$name"
    SCP_PORT=$(free_port)
    storescp +B "$@" -od "$WORK/$name" -aet "$name" "$SCP_PORT" >"$WORK/$name.log" 2>&1 &
    PIDS="$PIDS $!"
    i=0
    while ! echoscu -aec "$name" 127.0.0.1 "$SCP_PORT" >/dev/null 2>&1; do
        [ $i -lt 100 ] || fail "storescp $name did not start: $(cat "$WORK/$name.log")"
        sleep 0.05
        i=$((i + 1))
    done
}

# count_in DIR: files storescp wrote there
count_in() {
    find "$1" -type f ! -name '*.log' 2>/dev/null | wc -l
}

# wait_files DIR N [SECONDS]: until DIR holds N files (storescp renames a
# file into place once it is complete)
wait_files() {
    n=$(( ${3:-30} * 10 ))
    i=0
    while [ "$(count_in "$1")" -lt "$2" ]; do
        [ $i -lt $n ] || fail "$1 holds $(count_in "$1") files after ${3:-30} s, expected $2"
        sleep 0.1
        i=$((i + 1))
    done
}

# send DIR [CALLING_AE]: dcmsend every file of DIR to ferryd (in its own
# syntax), as MODALITY or CALLING_AE
send() {
    dcmsend -aet "${2:-MODALITY}" -aec FERRY -dn +sd +r 127.0.0.1 "$PORT" "$1" >"$WORK/send.log" 2>&1 ||
        fail "dcmsend $1: $(tail -n 5 "$WORK/send.log")"
}

# queue_show: `ferry queue` of the running ferryd into $WORK/queue.out
queue_show() {
    "$FERRY" queue --socket "$WORK/ferry.sock" >"$WORK/queue.out" 2>&1 ||
        fail "ferry queue: $(cat "$WORK/queue.out")"
}

# wait_queue PATTERN [SECONDS]: until `ferry queue` shows PATTERN
wait_queue() {
    n=$(( ${2:-30} * 10 ))
    i=0
    while :; do
        "$FERRY" queue --socket "$WORK/ferry.sock" >"$WORK/queue.out" 2>&1
        grep -q -- "$1" "$WORK/queue.out" && return 0
        [ $i -lt $n ] || fail "ferry queue never showed '$1': $(cat "$WORK/queue.out")"
        sleep 0.1
        i=$((i + 1))
    done
}

# check_pixels ORIG_DIR RECV_DIR SYNTAX_UID N: see check_pixels.py
check_pixels() {
    $PY "$HERE/check_pixels.py" "$@" >"$WORK/check.out" 2>&1 ||
        fail "check_pixels $*: $(tail -n 20 "$WORK/check.out")"
    cat "$WORK/check.out"
}
