#!/bin/sh
# kill -9 of ferryd while it forwards, then a restart: every instance the
# sender saw acknowledged reaches every destination. A resend is allowed
# (C-STORE is idempotent by SOP Instance UID) and shows in `ferry queue` as
# a retry.
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu
make_study ct 150 21 --rows 256 --cols 256
start_storescp A
A_PORT=$SCP_PORT
start_storescp B
B_PORT=$SCP_PORT
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
destinations:
  - { name: a, host: 127.0.0.1, port: $A_PORT, called_ae: A, parallel: 2 }
  - { name: b, host: 127.0.0.1, port: $B_PORT, called_ae: B, bandwidth: 4MB/s }
routes:
  - { name: all, forward: [a, b] }
YAML
start_ferryd "$CFG"
# b waits until everything is stored (however slow the ingest on a busy
# machine), then goes at its capped rate: ferryd is killed in the middle
queue pause b >/dev/null || fail "ferry queue pause b"
send -- "$WORK"/ct/*.dcm
queue resume b >/dev/null || fail "ferry queue resume b"
wait_until 30 has_files "$WORK/B" 20 || fail "nothing reached b"
kill -9 "$FERRYD_PID"
wait "$FERRYD_PID" 2>/dev/null
FERRYD_PID=
before=$(count_files "$WORK/B")
[ "$before" -lt 150 ] || fail "b had everything before the kill; the test proves nothing"
start_ferryd "$CFG" -2
expect_in "$WORK/ferryd-2.err" "jobs left in flight are pending again"
wait_files "$WORK/A" 150 60
wait_files "$WORK/B" 150 120
wait_until 30 queue_done_is a 150 || fail "a: $(queue)"
wait_until 30 queue_done_is b 150 || fail "b: $(queue)"
same_datasets "$WORK/ct" "$WORK/A" 150
same_datasets "$WORK/ct" "$WORK/B" 150
# storescp logs every C-STORE it stores: resends show there and as retries
stored_b=$(grep -c "storing DICOM file" "$WORK/B.log")
resent=$((stored_b - 150))
retries=$(queue_field b retries)
[ "$retries" -ge "$resent" ] || fail "b received $resent instances twice but ferry queue counts $retries retries"
stop_ferryd
echo "ok: killed with $before of 150 at b; all 150 at both after the restart ($resent resent, $retries retries counted)"
