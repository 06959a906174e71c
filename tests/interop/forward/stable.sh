#!/bin/sh
# Study-stable routing: a study sent in two bursts 3 s apart goes out as one
# batch when the route waits 5 s for the study to be stable, and as two when
# it waits 1 s. The batches show in ferryd's log ("N held jobs of stable
# studies released") and at storescp, which receives nothing of a study
# until it is stable.
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu
# two studies of 20 slices, each split into two bursts of 10
for s in five one; do
    make_study "$s" 20 $([ $s = five ] && echo 51 || echo 52)
    mkdir -p "$WORK/$s-1" "$WORK/$s-2"
    for f in "$WORK/$s"/*.dcm; do
        n=$(basename "$f" .dcm | sed 's/^CT0*//')
        if [ "$n" -le 10 ]; then cp "$f" "$WORK/$s-1/"; else cp "$f" "$WORK/$s-2/"; fi
    done
done
start_storescp READING
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $SCP_PORT, called_ae: READING }
routes:
  - name: five-seconds
    match: { calling_ae: FIVE }
    trigger: { study-stable: 5s }
    forward: reading-center
  - name: one-second
    match: { calling_ae: ONE }
    trigger: { study-stable: 1s }
    forward: reading-center
YAML
start_ferryd "$CFG"
released() {
    grep -c "held jobs\? of stable studies released" "$WORK/ferryd.err"
}

# 5 s: the second burst comes before the study is stable: one batch of 20
SEND_AE=FIVE send -- "$WORK"/five-1/*.dcm
sleep 3
queue >"$WORK/queue-held.txt"
expect_in "$WORK/queue-held.txt" "pending 0, held 10, in flight 0, done 0"
expect_in "$WORK/queue-held.txt" "state: waiting: studies not yet stable"
[ "$(count_files "$WORK/READING")" -eq 0 ] || fail "sent before the study was stable"
SEND_AE=FIVE send -- "$WORK"/five-2/*.dcm
t0=$(date +%s)
wait_files "$WORK/READING" 20 30
t1=$(date +%s)
[ $((t1 - t0)) -ge 4 ] || fail "the study went out $((t1 - t0)) s after its last instance (stable time 5 s)"
[ "$(released)" -eq 1 ] || fail "$(released) releases for one study with 5 s stable time"
expect_in "$WORK/ferryd.err" "20 held jobs of stable studies released"
wait_until 20 queue_done_is reading-center 20 || fail "$(queue)"
same_datasets "$WORK/five" "$WORK/READING" 20

# 1 s: the first burst is stable before the second comes: two batches of 10
mv "$WORK/READING" "$WORK/READING-five"
mkdir "$WORK/READING"
SEND_AE=ONE send -- "$WORK"/one-1/*.dcm
wait_files "$WORK/READING" 10 10
sleep 3
[ "$(count_files "$WORK/READING")" -eq 10 ] || fail "$(count_files "$WORK/READING") files after burst 1"
SEND_AE=ONE send -- "$WORK"/one-2/*.dcm
wait_files "$WORK/READING" 20 10
[ "$(released)" -eq 3 ] || fail "$(released) releases in all, expected 1 + 2"
[ "$(grep -c "10 held jobs of stable studies released" "$WORK/ferryd.err")" -eq 2 ] ||
    fail "not two batches of 10 with 1 s stable time: $(grep "stable studies released" "$WORK/ferryd.err")"
wait_until 20 queue_done_is reading-center 40 || fail "$(queue)"
same_datasets "$WORK/one" "$WORK/READING" 20
stop_ferryd
echo "ok: 5 s stable time: one batch of 20; 1 s: two batches of 10"
