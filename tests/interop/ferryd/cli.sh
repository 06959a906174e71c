#!/bin/sh
# ferryd's command line and life cycle: --help; a bad flag, an unreadable or
# wrong config: one line (or one line per config error, FILE:LINE:COL) and
# exit 2; a port in use or a data folder already served: exit 1 and why.
# Without --foreground, ferryd detaches and returns only once it listens
# (echoscu works right after), writes its pid file and logs to
# DATA/ferryd.log; SIGTERM through the pid file stops it.
. "$(dirname "$0")/lib.sh"
need echoscu
cd "$WORK" || exit 1

"$FERRYD" --help >help.out 2>&1 || fail "--help exited $?"
expect_in help.out "usage: ferryd \[--config FILE\] \[--data-dir DIR\] \[--port N\] \[--foreground\]"

run2() { # run2 EXPECTED_TEXT ARGS...: exit 2, one line on stderr
    want=$1
    shift
    "$FERRYD" "$@" >out 2>err
    rc=$?
    [ $rc -eq 2 ] || fail "ferryd $*: exit $rc, expected 2"
    [ "$(wc -l <err)" -eq 1 ] || fail "ferryd $*: expected one line, got: $(cat err)"
    grep -q -- "$want" err || fail "ferryd $*: expected '$want', got: $(cat err)"
}
run2 "ferryd: unknown option '--bogus' (ferryd --help says more)" --bogus
run2 "ferryd: --port: expected a port from 1 to 65535, found '70000'" --port 70000
run2 "ferryd: --config needs a value" --config
run2 "$WORK/missing.yaml: cannot read: No such file or directory" --config "$WORK/missing.yaml"
printf 'server:\n  port: 11112\n  colour: blue\n' >wrong.yaml
run2 "wrong.yaml:3:3: " --config "$WORK/wrong.yaml" --foreground
write_config plug.yaml
sed -i 's/  plugins: \[\]/  plugins: [jpegls]/' plug.yaml
printf 'pipelines:\n  ls:\n    - compress: { syntax: jpeg-ls-near-lossless, near: 999 }\n' >>plug.yaml
run2 "plug.yaml:$(grep -n 'near: 999' plug.yaml | cut -d: -f1):[0-9]*: compress 'jpeg-ls-near-lossless': " \
    --config "$WORK/plug.yaml" --foreground

# detached
write_config ferry.yaml
PORT=$(free_port)
"$FERRYD" --config "$WORK/ferry.yaml" --data-dir "$WORK/d" --port "$PORT" >start.out 2>&1 ||
    fail "ferryd (detached) exited $?: $(cat start.out)"
expect_in start.out "listening on 127.0.0.1:$PORT"
echoscu -aec FERRY 127.0.0.1 "$PORT" || fail "echoscu right after the detached ferryd returned"
pid=$(cat "$WORK/d/ferryd.pid")
FD_PID=$pid
kill -0 "$pid" || fail "no process $pid from the pid file"
expect_in "$WORK/d/ferryd.log" "listening on 127.0.0.1:$PORT"
# the same data folder twice: refused
"$FERRYD" --config "$WORK/ferry.yaml" --data-dir "$WORK/d" --port "$(free_port)" >second.out 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a second ferryd on the same data folder exited $rc"
expect_in second.out "ferryd: another ferryd (pid $pid) is running with $WORK/d/ferryd.pid"
# the same port twice: refused, with the reason, through the detaching parent
"$FERRYD" --config "$WORK/ferry.yaml" --data-dir "$WORK/e" --port "$PORT" >third.out 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a second ferryd on the same port exited $rc"
expect_in third.out "Address already in use"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && fail "the detached ferryd did not stop on SIGTERM"
FD_PID=
expect_in "$WORK/d/ferryd.log" "stopped: "
[ ! -e "$WORK/d/ferryd.pid" ] || fail "the pid file was left"
echo "PASS"
