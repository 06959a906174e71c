#!/bin/sh
# A bad plugin parameter in a route's pipeline is a config error at its
# file:line:col: ferryd refuses to start (exit 2, the line on stderr), and a
# reload (SIGHUP, and `ferry reload`) refuses the new config, names the
# place, and keeps the running one (which still forwards).
. "$(dirname "$0")/lib.sh"
need dcmsend storescp echoscu
cd "$WORK" || exit 1

plugin_dir deid jpegls
start_scp DEST +xa
DEST_PORT=$SCP_PORT
printf 'ferry-pipe-interop-secret-0123456789-abcdefghijkl\n' >"$WORK/secret"
chmod 600 "$WORK/secret"
good() {
    pipe_config "$1" deid jpegls
    cat >>"$1" <<YAML
destinations:
  - { name: dest, host: 127.0.0.1, port: $DEST_PORT, called_ae: DEST }
routes:
  - name: research
    forward:
      - destination: dest
        pipeline:
          - step: deid
            params: { secret-file: '$WORK/secret', burned-in: warn }
YAML
}
# the same, with a parameter deid does not know, in the route's own list
bad() {
    good "$1"
    sed -i 's/burned-in: warn }/burned-in: warn, colour: blue }/' "$1"
}
# and a codec parameter out of range in a named pipeline
bad_codec() {
    good "$1"
    cat >>"$1" <<'YAML'
pipelines:
  ls:
    - compress: { syntax: jpeg-ls-near-lossless, near: 300 }
YAML
}

# at start
bad "$WORK/bad.yaml"
line=$(grep -n 'colour: blue' "$WORK/bad.yaml" | cut -d: -f1)
col=$(awk -v l="$line" 'NR == l { print index($0, "blue") }' "$WORK/bad.yaml")
"$FERRYD" --foreground --config "$WORK/bad.yaml" --data-dir "$WORK/d0" --port "$(free_port)" \
    >start.out 2>start.err
rc=$?
[ $rc -eq 2 ] || fail "ferryd with a bad step parameter exited $rc: $(cat start.err)"
grep -q "^$WORK/bad.yaml:$line:$col: step 'deid': step 1 (deid): unknown parameter \"colour\"; deid takes secret-file, " start.err ||
    fail "start: expected $WORK/bad.yaml:$line:$col: step 'deid': step 1 (deid): unknown parameter \"colour\"; deid takes secret-file, ..., got: $(cat start.err)"
bad_codec "$WORK/bad2.yaml"
line2=$(grep -n 'near: 300' "$WORK/bad2.yaml" | cut -d: -f1)
"$FERRYD" --foreground --config "$WORK/bad2.yaml" --data-dir "$WORK/d0" --port "$(free_port)" \
    >start2.out 2>start2.err
[ $? -eq 2 ] || fail "ferryd with near: 300 did not exit 2: $(cat start2.err)"
grep -q "^$WORK/bad2.yaml:$line2:[0-9]*: compress 'jpeg-ls-near-lossless': " start2.err ||
    fail "start: expected $WORK/bad2.yaml:$line2:...: compress 'jpeg-ls-near-lossless', got: $(cat start2.err)"

# on reload
good "$WORK/ferry.yaml"
start_ferryd
bad "$WORK/ferry.yaml"
kill -HUP "$FD_PID"
wait_for "$WORK/ferryd.err" "refused; the running config stays in force"
expect_in "$WORK/ferryd.err" "\[reload\] $WORK/ferry.yaml:$line:$col: step 'deid': step 1 (deid): unknown parameter \"colour\"; deid takes secret-file, "
"$FERRY" reload --socket "$WORK/ferry.sock" >reload.out 2>&1
[ $? -eq 1 ] || fail "ferry reload of a bad config did not fail: $(cat reload.out)"
grep -q "$WORK/ferry.yaml:$line:$col: step 'deid': step 1 (deid): unknown parameter \"colour\"; deid takes secret-file, " reload.out ||
    fail "ferry reload: $(cat reload.out)"
# the running config still works: an instance goes out de-identified
"$DCMGEN" ct --slices 1 --rows 32 --cols 32 --out "$WORK/in" >/dev/null || fail "dcmgen"
send "$WORK/in"
wait_files "$WORK/DEST" 1
dcmdump "$WORK"/DEST/* | grep -q "(0012,0062) CS \[YES\]" ||
    fail "the instance sent after the refused reload is not de-identified"
stop_ferryd
echo "PASS"
