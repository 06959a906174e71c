#!/bin/sh
# Memory per association: the resident size of dul_test_server (net + dul,
# 256 KiB maximum PDU) with N associations held open, idle and after each
# received a 512 KiB instance in 16 KiB PDUs.
#   perf/dul/assoc_rss.sh [BUILD_DIR] [N]
set -eu
BUILD=${1:-build}
N=${2:-500}
SERVER=$BUILD/tests/dul_test_server
HOLD=$BUILD/perf/dul_hold_assoc
WORK=$(mktemp -d)
trap 'kill $SP 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n 4096 2>/dev/null || true

rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

"$SERVER" --ae FERRY --artim-ms 60000 --idle-ms 600000 >"$WORK/srv.out" 2>"$WORK/srv.err" &
SP=$!
sleep 0.3
PORT=$(awk '/^PORT/{print $2}' "$WORK/srv.out")
base=$(rss $SP)
printf 'server RSS, no association:             %6d KiB\n' "$base"

for bytes in 0 524288; do
    mkfifo "$WORK/in"
    "$HOLD" "$PORT" "$N" $bytes <"$WORK/in" >"$WORK/hold.out" &
    HP=$!
    exec 3>"$WORK/in"
    while ! grep -q HELD "$WORK/hold.out" 2>/dev/null; do sleep 0.1; done
    held=$(awk '/HELD/{print $2}' "$WORK/hold.out")
    for t in 0.5 3; do
        sleep $t
        r=$(rss $SP)
        hr=$(rss $HP)
        what="idle"
        [ "$bytes" -gt 0 ] && what="after a 512 KiB store each"
        printf 'server RSS, %d associations %s, %3s s later: %6d KiB (%d KiB each); requestor %d KiB\n' \
            "$held" "$what" "$t" "$r" $(((r - base) / held)) "$hr"
    done
    exec 3>&-
    wait $HP || true
    rm -f "$WORK/in"
    sleep 0.5
done
