#!/bin/sh
# Backpressure and shutdown with a real sender: the server pauses receiving
# after every data PDV (as a spool writer waiting for the disk would) and
# resumes from a timer; on SIGTERM it stops accepting, lets associations
# finish within 3 s, aborts those left, and exits 0.
. "$(dirname "$0")/lib.sh"
need storescu echoscu
make_files
cd "$WORK" || exit 1
want=$(dataset_bytes big_ele.dcm)

# 16 KiB PDUs: the 512 KiB instance takes 32 of them
# 1. paused and resumed 32 times, every byte arrives
start_server --ae FERRY --max-pdu 16384 --pause-ms 20
storescu -aec FERRY 127.0.0.1 "$PORT" big_ele.dcm >s1.log 2>&1 || fail "storescu with pauses: $(cat s1.log)"
wait_for srv.out "^CLOSED 1$"
expect_in srv.out "^STORED 1 $want "
stop_server

# 2. SIGTERM during a transfer that ends in time: it completes
start_server --ae FERRY --max-pdu 16384 --pause-ms 50
storescu -aec FERRY 127.0.0.1 "$PORT" big_ele.dcm >s2.log 2>&1 &
SCU=$!
PIDS="$PIDS $SCU"
wait_for srv.out "^ESTABLISHED 1 "
sleep 0.3
kill -TERM "$SRV_PID"
wait_for srv.err "signal 15, shutting down"
# no new association once shutting down
if echoscu -aec FERRY 127.0.0.1 "$PORT" >e2.log 2>&1; then fail "echoscu accepted during shutdown"; fi
wait "$SCU" || fail "storescu during a graceful shutdown: $(cat s2.log)"
expect_in srv.out "^STORED 1 $want "
stop_server
expect_not_in srv.err "aborting"

# 3. SIGTERM during a transfer that would take 16 s: aborted at the deadline
start_server --ae FERRY --max-pdu 16384 --pause-ms 500
storescu -aec FERRY 127.0.0.1 "$PORT" big_ele.dcm >s3.log 2>&1 &
SCU=$!
PIDS="$PIDS $SCU"
wait_for srv.out "^ESTABLISHED 1 "
sleep 0.3
t0=$(date +%s)
kill -TERM "$SRV_PID"
if wait "$SCU"; then fail "storescu succeeded although the server shut down"; fi
PIDS=
stop_server
t1=$(date +%s)
[ $((t1 - t0)) -le 7 ] || fail "shutdown took $((t1 - t0)) s"
expect_in srv.err "shutdown deadline reached, aborting 1 association"
expect_in srv.err "STORESCU->FERRY\] ferry is shutting down, association aborted"
expect_in s3.log "Peer aborted Association"
expect_not_in srv.out "^STORED 1 "
echo "PASS"
