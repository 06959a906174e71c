#!/bin/sh
# ferryd's association and storage policy, end to end:
# - user identity: accepted when sent (storescu --user, and a raw request
#   asking for a positive response gets one), not required by default;
#   with accept.require_user_identity an association without one is
#   rejected (permanent, service-user, no reason given) and one with it
#   stores;
# - limits: max_associations_per_peer and max_associations reject with
#   transient, service-provider (presentation), local limit exceeded, each
#   with its log line; released associations no longer count;
# - called AE title checked when configured (called AE not recognized);
#   a peer address outside accept.peers (service-user, no reason given);
# - the idle timer: an association that says nothing for idle_timeout is
#   aborted, with its log line;
# - an instance that arrives again (the default policy, keep-newest): both
#   arrivals recorded, the instance is the newest one, the older file gone.
. "$(dirname "$0")/lib.sh"
need storescu echoscu dcmodify
cd "$WORK" || exit 1
"$TOOLS/dcmgen" ct --slices 5 --out ct >/dev/null || fail "dcmgen"
"$TOOLS/dcmgen" ct --slices 2 --seed 2 --out id >/dev/null || fail "dcmgen"
L=$WORK/ferryd.err
ctx='\[assoc [0-9]* 127.0.0.1:[0-9]* PROBE->FERRY\]'

# ------------------------------------- default config: identity, duplicates
write_config ferry.yaml
start_ferryd
storescu -aet IDENT -aec FERRY --user alice --password secret 127.0.0.1 "$PORT" id/CT000001.dcm \
    >s.log 2>&1 || fail "storescu with a user identity: $(tail -n 3 s.log)"
$PY "$HERE/assoc_probe.py" "$PORT" identity >probe.out 2>&1 ||
    fail "assoc_probe.py identity: $(grep FAIL probe.out)"
cat probe.out

storescu -aet DUP -aec FERRY 127.0.0.1 "$PORT" ct/*.dcm >s.log 2>&1 ||
    fail "storescu, first arrival: $(tail -n 3 s.log)"
mkdir again
for f in ct/*.dcm; do
    cp "$f" again/
    dcmodify -nb -m "(0008,103E)=second arrival" "again/$(basename "$f")" >/dev/null ||
        fail "dcmodify"
done
storescu -aet DUP -aec FERRY 127.0.0.1 "$PORT" again/*.dcm >s.log 2>&1 ||
    fail "storescu, second arrival: $(tail -n 3 s.log)"
stop_ferryd
"$TOOLS/spool_verify" "$DATA" >verify.out || fail "spool_verify: $(grep -v '^ok' verify.out | head -n 3)"
expect_in verify.out "instances 6 bad 0"
$PY - "$DATA" <<'EOF' || fail "duplicate arrivals"
import os, sqlite3, sys
data = sys.argv[1]
db = sqlite3.connect(f"file:{data}/index.sqlite?mode=ro", uri=True)
bad = 0
for uid, arrival in db.execute("SELECT i.sop_instance_uid, i.arrival FROM instance i JOIN arrival a"
                               " ON a.id = i.arrival WHERE a.calling_ae = 'DUP'"):
    rows = db.execute("SELECT id, calling_ae, path FROM arrival WHERE sop_instance_uid = ?"
                      " ORDER BY id", (uid,)).fetchall()
    if len(rows) != 2 or any(r[1] != "DUP" for r in rows):
        print(f"{uid}: {len(rows)} arrivals recorded, expected 2"); bad += 1; continue
    if arrival != rows[1][0]:
        print(f"{uid}: the instance is arrival {arrival}, not the newest {rows[1][0]}"); bad += 1
    if os.path.exists(os.path.join(data, rows[0][2])):
        print(f"{uid}: the replaced file {rows[0][2]} is still there"); bad += 1
    with open(os.path.join(data, rows[1][2]), "rb") as f:
        if b"second arrival" not in f.read():
            print(f"{uid}: the kept file is not the second arrival's"); bad += 1
n = db.execute("SELECT count(*) FROM arrival WHERE calling_ae = 'DUP'").fetchone()[0]
m = db.execute("SELECT count(*) FROM instance i JOIN arrival a ON a.id = i.arrival"
               " WHERE a.calling_ae = 'DUP'").fetchone()[0]
print(f"{n} arrivals of DUP for {m} instances, the newest kept")
sys.exit(1 if bad or n != 10 or m != 5 else 0)
EOF

# ------------------------------------------------------------------ limits
: >"$L"
write_config limits.yaml "  max_associations: 3" "  max_associations_per_peer: 2"
start_ferryd "$WORK/data2" "$WORK/limits.yaml"
$PY "$HERE/assoc_probe.py" "$PORT" limits >probe.out 2>&1
rc=$?
cat probe.out
[ $rc -eq 0 ] || fail "assoc_probe.py limits: $(grep FAIL probe.out)"
rj='association rejected (transient, service-provider (presentation), local limit exceeded)'
expect_in "$L" "$ctx $rj: 2 associations open from 127.0.0.1, the limit per peer is 2"
expect_in "$L" "\[assoc [0-9]* 127.0.0.3:[0-9]* PROBE->FERRY\] $rj: 3 associations open, the limit is 3"
echoscu -aec FERRY 127.0.0.1 "$PORT" || fail "echoscu after the limits"
stop_ferryd

# ------------------------------------------ identity required, idle timer
: >"$L"
write_config strict.yaml "  idle_timeout: 1s" "accept:" "  require_user_identity: true" \
    "  check_called_ae_title: true" "  peers: ['127.0.0.1/32']"
start_ferryd "$WORK/data3" "$WORK/strict.yaml"
if storescu -aet NOUSER -aec FERRY 127.0.0.1 "$PORT" ct/CT000001.dcm >s.log 2>&1; then
    fail "storescu without a user identity was accepted"
fi
expect_in s.log "Association Rejected"
expect_in "$L" "NOUSER->FERRY\] association rejected (permanent, service-user, no reason given): a user identity is required and none was sent"
storescu -aet WITHUSER -aec FERRY --user alice --password secret 127.0.0.1 "$PORT" \
    ct/CT000002.dcm >s.log 2>&1 || fail "storescu with a user identity: $(tail -n 3 s.log)"
if echoscu -aec OTHER 127.0.0.1 "$PORT" >s.log 2>&1; then
    fail "echoscu calling OTHER was accepted with check_called_ae_title"
fi
expect_in "$L" "association rejected (permanent, service-user, called AE title not recognized): called AE title 'OTHER' is not ours"
$PY "$HERE/assoc_probe.py" "$PORT" other-peer >probe.out 2>&1 ||
    fail "assoc_probe.py other-peer: $(grep FAIL probe.out)"
cat probe.out
expect_in "$L" "\[assoc [0-9]* 127.0.0.2:[0-9]* PROBE->FERRY\] association rejected (permanent, service-user, no reason given): calling AE title 'PROBE' is not allowed from 127.0.0.2"
$PY "$HERE/assoc_probe.py" "$PORT" idle >probe.out 2>&1
rc=$?
cat probe.out
[ $rc -eq 0 ] || fail "assoc_probe.py idle: $(grep FAIL probe.out)"
wait_for "$L" "idle for 1000 ms"
stop_ferryd
"$TOOLS/spool_verify" "$DATA" >verify.out || fail "spool_verify (strict)"
expect_in verify.out "instances 1 bad 0"
echo "PASS"
