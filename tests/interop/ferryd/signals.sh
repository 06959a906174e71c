#!/bin/sh
# Signals.
# SIGTERM: ferryd stops accepting, lets the instance in flight finish (a
# slow sender whose data set takes 3 s still gets its success), releases
# its associations, aborts what is left at limits.shutdown_deadline (a
# sender that would take 30 s), and exits 0 with nothing half-written.
# SIGHUP: a good config is put to work (a new calling AE rule; a changed
# restart-only setting is kept and logged); a bad one (a YAML error, a
# pipeline parameter its plugin refuses) is refused with its file:line:col
# errors in the log and the running config stays: stores go on.
. "$(dirname "$0")/lib.sh"
need storescu echoscu
cd "$WORK" || exit 1
"$TOOLS/dcmgen" ct --slices 200 --out ct >/dev/null || fail "dcmgen"

# ------------------------------------------------------------- SIGTERM
FERRY_SHUTDOWN_DEADLINE=4s write_config ferry.yaml
start_ferryd
storescu -v -aet TERM1 -aec FERRY 127.0.0.1 "$PORT" ct/*.dcm >bulk.log 2>&1 &
BULK=$!
$PY "$HERE/dimse_client.py" "$PORT" slow 1.2.826.0.1.3680043.9.7433.77.1 3 >slow.out 2>&1 &
SLOW=$!
$PY "$HERE/dimse_client.py" "$PORT" slow 1.2.826.0.1.3680043.9.7433.77.2 30 >stuck.out 2>&1 &
STUCK=$!
PIDS="$PIDS $BULK $SLOW $STUCK"
wait_for bulk.log "Received Store Response (Success)" 20
sleep 0.5
t0=$(date +%s)
stop_ferryd 15
t1=$(date +%s)
echo "SIGTERM to exit: $((t1 - t0)) s"
[ $((t1 - t0)) -le 7 ] || fail "ferryd took $((t1 - t0)) s to stop with a 4 s deadline"
wait "$SLOW"
wait "$STUCK"
wait "$BULK"
cat slow.out stuck.out
expect_in slow.out "status 0x0000"
expect_in stuck.out "aborted"
L=$WORK/ferryd.err
expect_in "$L" "SIGTERM: no new associations; [0-9]* open, instances in flight get up to 4000 ms"
expect_in "$L" "C-STORE 1.2.826.0.1.3680043.9.7433.77.2: the association ended before the instance was answered"
expect_in "$L" "stopped: "
acked=$(grep -c "Received Store Response (Success)" bulk.log)
"$TOOLS/spool_verify" "$DATA" >verify.out || fail "spool_verify: $(grep -v '^ok' verify.out | head -n 3)"
indexed=$(tail -n 1 verify.out | awk '{print $2}')
echo "bulk sender: $acked acknowledged; $indexed indexed (with the slow sender's)"
[ "$indexed" -ge $((acked + 1)) ] && [ "$indexed" -le $((acked + 2)) ] ||
    fail "$indexed instances indexed, $acked + 1 acknowledged"
grep -q "1.2.826.0.1.3680043.9.7433.77.1" verify.out || fail "the slow sender's instance is not indexed"
if grep -q "1.2.826.0.1.3680043.9.7433.77.2" verify.out; then
    fail "the instance cut off at the deadline is indexed"
fi
[ -z "$(ls "$DATA/spool/incoming")" ] || fail "half-written files left after SIGTERM"

# -------------------------------------------------------------- SIGHUP
: >"$WORK/ferryd.err"
write_config hup.yaml "accept:" "  calling_ae_titles: ['GOOD*']"
sed -i 's/  plugins: \[\]/  plugins: [jpegls]/' hup.yaml
start_ferryd "$WORK/data2" "$WORK/hup.yaml"
storescu -aet GOOD1 -aec FERRY 127.0.0.1 "$PORT" ct/CT000001.dcm >s.log 2>&1 || fail "GOOD1 before the reload"
if storescu -aet OTHER -aec FERRY 127.0.0.1 "$PORT" ct/CT000002.dcm >s.log 2>&1; then
    fail "OTHER was accepted before the reload"
fi
# a good config: OTHER* allowed too, and a restart-only setting changed
sed -i "s/\['GOOD\*'\]/['GOOD*', 'OTHER*']/; s/worker_threads: 1/worker_threads: 2/" hup.yaml
kill -HUP "$FD_PID"
wait_for "$WORK/ferryd.err" "hup.yaml reloaded"
expect_in "$WORK/ferryd.err" "server.worker_threads changed from 1 to 2: this takes a restart; running on with 1"
storescu -aet OTHER -aec FERRY 127.0.0.1 "$PORT" ct/CT000003.dcm >s.log 2>&1 ||
    fail "OTHER after the good reload: $(tail -n 3 s.log)"
# a bad config: a YAML error
cp hup.yaml good.yaml
printf 'limits:\n  max_pdu: [oops\n' >>hup.yaml
kill -HUP "$FD_PID"
wait_for "$WORK/ferryd.err" "hup.yaml has 1 error: refused; the running config stays in force"
expect_in "$WORK/ferryd.err" "error \[reload\] .*hup.yaml:[0-9]*:[0-9]*: "
storescu -aet OTHER -aec FERRY 127.0.0.1 "$PORT" ct/CT000004.dcm >s.log 2>&1 ||
    fail "OTHER after the refused reload: $(tail -n 3 s.log)"
# a bad config: a pipeline parameter the plugin refuses, at its line and column
cp good.yaml hup.yaml
printf 'pipelines:\n  ls:\n    - compress: { syntax: jpeg-ls-near-lossless, near: 999 }\n' >>hup.yaml
line=$(grep -n "near: 999" hup.yaml | cut -d: -f1)
kill -HUP "$FD_PID"
wait_for "$WORK/ferryd.err" "hup.yaml has 1 error: refused" 10
expect_in "$WORK/ferryd.err" "hup.yaml:$line:[0-9]*: compress 'jpeg-ls-near-lossless': .*near"
storescu -aet GOOD2 -aec FERRY 127.0.0.1 "$PORT" ct/CT000005.dcm >s.log 2>&1 ||
    fail "GOOD2 after the second refused reload: $(tail -n 3 s.log)"
if storescu -aet NOBODY -aec FERRY 127.0.0.1 "$PORT" ct/CT000006.dcm >s.log 2>&1; then
    fail "NOBODY was accepted: the refused configs changed something"
fi
stop_ferryd
DATA=$WORK/data2
"$TOOLS/spool_verify" "$DATA" >verify.out || fail "spool_verify (SIGHUP part)"
expect_in verify.out "instances 4 bad 0"
echo "PASS"
