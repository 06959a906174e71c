#!/bin/sh
# kill -9 of ferryd in the middle of a 400-slice ingest (four storescu at
# once, 100 slices each), then a restart on the same data folder:
#  - every instance whose success a storescu logged is in the index, and its
#    file is on disk with the recorded size and checksum;
#  - nothing else is indexed but, per sender, the one instance whose
#    response was on its way when ferryd died;
#  - nothing half-written is left (spool/incoming is empty) and every file
#    in the spool's hour folders is one the index references.
. "$(dirname "$0")/lib.sh"
need storescu
need_pydicom
cd "$WORK" || exit 1

"$TOOLS/dcmgen" ct --slices 400 --out ct >/dev/null || fail "dcmgen"
start_ferryd
for k in 0 1 2 3; do
    # 100 files each, in order: Message ID n is the n-th file
    ls ct/*.dcm | sed -n "$((k * 100 + 1)),$((k * 100 + 100))p" >"list$k"
    storescu -v -aet CRASH$k -aec FERRY 127.0.0.1 "$PORT" $(cat "list$k") >"send$k.log" 2>&1 &
    PIDS="$PIDS $!"
done
# kill it once about 150 instances are acknowledged
i=0
while :; do
    n=$(cat send*.log | grep -c "Received Store Response (Success)")
    [ "$n" -ge 150 ] && break
    [ $i -lt 600 ] || fail "only $n instances acknowledged after 60 s"
    sleep 0.1
    i=$((i + 1))
done
kill -9 "$FD_PID"
wait "$FD_PID" 2>/dev/null
FD_PID=
for p in $PIDS; do wait "$p" 2>/dev/null; done
PIDS=
echo "killed ferryd with $n instances acknowledged"

start_ferryd "$DATA"
expect_in "$WORK/ferryd.err" "the previous run did not stop cleanly"
"$TOOLS/spool_verify" "$DATA" >"$WORK/verify.out" ||
    fail "spool_verify after the crash: $(grep -v '^ok' "$WORK/verify.out" | head -n 5)"
$PY "$HERE/crash_check.py" "$WORK/verify.out" "$DATA" list0 send0.log list1 send1.log \
    list2 send2.log list3 send3.log || fail "crash_check.py"
[ -z "$(ls "$DATA/spool/incoming")" ] || fail "half-written files left in spool/incoming"

# and it goes on: the rest of the series arrives
storescu -aet AFTER -aec FERRY +sd 127.0.0.1 "$PORT" ct >after.log 2>&1 ||
    fail "storescu after the restart: $(tail -n 3 after.log)"
"$TOOLS/spool_verify" "$DATA" >"$WORK/verify.out" || fail "spool_verify at the end"
expect_in "$WORK/verify.out" "instances 400 bad 0"
stop_ferryd
echo "PASS"
