#!/bin/sh
# A bad config reloaded, by SIGHUP and by `ferry reload`: refused with
# file:line:col in the log and in ferry reload's output, and the old routes
# keep working (a send after each refused reload arrives where the old config
# says). A good config then reloads and its new route is used.
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu
make_study s1 3 41
make_study s2 3 42
make_study s3 3 43
make_study s4 3 44
start_storescp A
A_PORT=$SCP_PORT
start_storescp B
B_PORT=$SCP_PORT
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $A_PORT, called_ae: A }
routes:
  - { name: all, forward: reading-center }
YAML
start_ferryd "$CFG"
send -- "$WORK"/s1/*.dcm
wait_files "$WORK/A" 3 30

# the bad one points the route at B, with two errors
cp "$CFG" "$WORK/good-a.yaml"
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $B_PORT, called_ae: B }
  - name: spare
    host: 127.0.0.1
    port: $B_PORT
    called_ae: B
    parallel: 100
routes:
  - { name: all, forward: reading-centre }
YAML
E1="$CFG:9:15: destinations\[1\].parallel: expected an integer from 1 to 64, found '100'"
E2="$CFG:11:27: routes\[0\].forward.destination: no destination named 'reading-centre'; did you mean 'reading-center'?"
kill -HUP "$FERRYD_PID"
wait_until 10 grep -q "refused; the running config stays in force" "$WORK/ferryd.err" ||
    fail "SIGHUP with a bad config: no refusal in the log"
expect_in "$WORK/ferryd.err" "$E1"
expect_in "$WORK/ferryd.err" "$E2"
expect_in "$WORK/ferryd.err" "$CFG has 2 errors: refused; the running config stays in force"
send -- "$WORK"/s2/*.dcm
wait_files "$WORK/A" 6 30
sleep 0.5
[ "$(count_files "$WORK/B")" -eq 0 ] || fail "the refused config was used (B has files)"

# ferry reload --config: the tool reads the config to find the daemon's
# socket, so it refuses the bad file itself, with the same errors
"$FERRY" reload --config "$CFG" >"$WORK/reload1.out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "ferry reload --config of a bad config exited $rc: $(cat "$WORK/reload1.out")"
expect_in "$WORK/reload1.out" "cannot read the config $CFG to find ferryd's control socket"
expect_in "$WORK/reload1.out" "$E1"
expect_in "$WORK/reload1.out" "$E2"
# ferry reload --socket: the daemon reads it, refuses it and answers why
"$FERRY" reload --socket "$WORK/data/ferry.sock" >"$WORK/reload2.out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "ferry reload --socket of a bad config exited $rc: $(cat "$WORK/reload2.out")"
expect_in "$WORK/reload2.out" "$E1"
expect_in "$WORK/reload2.out" "$E2"
refusals() {
    [ "$(grep -c "refused; the running config stays in force" "$WORK/ferryd.err")" -eq "$1" ]
}
# the answer on the socket may come before the log line is written
wait_until 10 refusals 2 || fail "ferry reload did not log a second refusal"
send -- "$WORK"/s3/*.dcm
wait_files "$WORK/A" 9 30
sleep 0.5
[ "$(count_files "$WORK/B")" -eq 0 ] || fail "the refused config was used (B has files)"
mkdir -p "$WORK/sent-a"
for s in s1 s2 s3; do
    for f in "$WORK/$s"/*.dcm; do cp "$f" "$WORK/sent-a/$s-$(basename "$f")"; done
done
same_datasets "$WORK/sent-a" "$WORK/A" 9

# a good config now: the route goes to B
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $B_PORT, called_ae: B }
routes:
  - { name: all, forward: reading-center }
YAML
"$FERRY" reload --config "$CFG" >"$WORK/reload3.out" 2>&1 ||
    fail "ferry reload of a good config: $(cat "$WORK/reload3.out")"
expect_in "$WORK/reload3.out" "reloaded: 1 destinations, 1 routes, 0 pipelines"
send -- "$WORK"/s4/*.dcm
wait_files "$WORK/B" 3 30
same_datasets "$WORK/s4" "$WORK/B" 3
[ "$(count_files "$WORK/A")" -eq 9 ] || fail "A has $(count_files "$WORK/A") files, expected 9"
stop_ferryd
echo "ok: two bad reloads refused with file:line:col, old route kept; a good one took effect"
