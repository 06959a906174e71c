#!/bin/sh
# A full disk: ferryd's data folder on a small tmpfs (mounted in a private
# mount namespace: needs root; skipped otherwise), filled up to a few MiB.
# Instances that do not fit are refused with 0xA700 (out of resources), their
# partial files removed and nothing of them indexed; C-ECHO keeps working;
# once space is freed, the same instances are stored.
if [ -z "${FERRY_IN_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to mount a tmpfs" >&2; exit 77; }
    command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare is not installed" >&2; exit 77; }
    FERRY_IN_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need storescu echoscu
cd "$WORK" || exit 1

mkdir -p data
mount -t tmpfs -o size=48m tmpfs data || skip "cannot mount a tmpfs here"
"$TOOLS/dcmgen" ct --slices 24 --out ct >/dev/null || fail "dcmgen"
start_ferryd "$WORK/data"
echoscu -aec FERRY 127.0.0.1 "$PORT" || fail "echoscu"
# leave about 4 MiB: room for a few slices of 513 KiB and the index
free_kib=$(df -k --output=avail data | tail -n 1)
dd if=/dev/zero of=data/filler bs=1024 count=$((free_kib - 4096)) 2>/dev/null
sync

storescu -v -nh -aet FULL -aec FERRY 127.0.0.1 "$PORT" ct/*.dcm >full.log 2>&1
ok=$(grep -c "Received Store Response (Success)" full.log)
refused=$(grep -c "Received Store Response (Refused: OutOfResources" full.log)
echo "disk full: $ok stored, $refused refused with 0xA700"
[ "$refused" -ge 1 ] || fail "no instance was refused with 0xA700: $(grep 'Store Response' full.log | sort | uniq -c)"
[ $((ok + refused)) -eq 24 ] || fail "$ok + $refused responses for 24 instances: $(tail -n 5 full.log)"
expect_in "$WORK/ferryd.err" "out of disk space (No space left on device); nothing kept, answered 0xA700"
echoscu -aec FERRY 127.0.0.1 "$PORT" || fail "echoscu while the disk is full"
[ -z "$(ls data/spool/incoming)" ] || fail "partial files left in spool/incoming: $(ls data/spool/incoming)"
"$TOOLS/spool_verify" data >verify.out || fail "spool_verify: $(grep -v '^ok' verify.out | head -n 3)"
expect_in verify.out "instances $ok bad 0"
# every file in the spool is indexed (no partial file kept)
nfiles=$(find data/spool -name '*.dcm' -not -path '*/incoming/*' | wc -l)
[ "$nfiles" -eq "$ok" ] || fail "$nfiles files in the spool, $ok indexed"

rm -f data/filler
storescu -aet FULL -aec FERRY 127.0.0.1 "$PORT" ct/*.dcm >again.log 2>&1 ||
    fail "storescu after space was freed: $(tail -n 3 again.log)"
"$TOOLS/spool_verify" data >verify.out || fail "spool_verify at the end"
expect_in verify.out "instances 24 bad 0"
stop_ferryd
umount data
echo "PASS"
