#!/bin/sh
# The destination is down for a while, then back: everything arrives,
# nothing is lost, and `ferry queue` shows the retries and the last error
# meanwhile.
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu
make_study ct 30 11
SCP_PORT_WANTED=$(free_port)
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - name: reading-center
    host: 127.0.0.1
    port: $SCP_PORT_WANTED
    called_ae: READING
    retry: { initial: 500ms, max: 2s, jitter: 10% }
routes:
  - { name: all, forward: reading-center }
YAML
start_ferryd "$CFG"
send -- "$WORK"/ct/*.dcm
# down: attempts fail and are counted
sleep 4
queue >"$WORK/queue-down.txt"
expect_in "$WORK/queue-down.txt" "done 0, dead 0"
expect_in "$WORK/queue-down.txt" "last error: .*cannot connect to 127.0.0.1:$SCP_PORT_WANTED: Connection refused"
retries=$(queue_field reading-center retries)
[ "$retries" -ge 1 ] || fail "no retries counted while down: $(cat "$WORK/queue-down.txt")"
expect_in "$WORK/queue-down.txt" "state: waiting: backoff after"
# back
start_storescp READING
wait_files "$WORK/READING" 30 60
wait_until 20 queue_done_is reading-center 30 || fail "$(queue)"
same_datasets "$WORK/ct" "$WORK/READING" 30
queue >"$WORK/queue-up.txt"
expect_in "$WORK/queue-up.txt" "pending 0, held 0, in flight 0, done 30, dead 0"
retries=$(queue_field reading-center retries)
[ "$retries" -ge 1 ] || fail "retries not shown after recovery: $(cat "$WORK/queue-up.txt")"
stop_ferryd
echo "ok: 30 of 30 arrived after the destination came back ($retries retries)"
