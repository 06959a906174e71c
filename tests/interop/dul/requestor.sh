#!/bin/sh
# The requestor side (dul_connect) against DCMTK's storescp with a 4096-byte
# maximum PDU: negotiation results as storescp gives them, C-ECHO, a 512 KiB
# data set cut into 4 KiB PDUs and streamed with on_writable, a compressed
# one, release; storescp's files must hold exactly the bytes sent.
. "$(dirname "$0")/lib.sh"
CLIENT=$1
need storescp python3
make_files
cd "$WORK" || exit 1
mkdir out

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
for attempt in 1 2 3; do
    SCP_PORT=$(free_port)
    storescp -aet STORESCP +xa --max-pdu 4096 -od out "$SCP_PORT" >scp.log 2>&1 &
    SCP=$!
    sleep 0.5
    kill -0 "$SCP" 2>/dev/null && break
done
PIDS="$PIDS $SCP"
kill -0 "$SCP" 2>/dev/null || fail "storescp did not start: $(cat scp.log)"

# same bytes after the meta group?
same_dataset() {
    python3 - "$1" "$2" <<'PYEOF'
import struct, sys
def ds(p):
    b = open(p, 'rb').read()
    assert b[128:132] == b'DICM'
    return b[144 + struct.unpack('<I', b[140:144])[0]:]
sys.exit(0 if ds(sys.argv[1]) == ds(sys.argv[2]) else 1)
PYEOF
}

n=0
for f in big_ele.dcm ct_jll.dcm; do
    n=$((n + 1))
    "$CLIENT" "$SCP_PORT" STORESCP "$f" >"cli$n.out" 2>"cli$n.err" || fail "dul_test_client $f: $(cat "cli$n.out" "cli$n.err")"
    expect_in "cli$n.out" "^MAXSEND 4096$"
    expect_in "cli$n.out" "^CONTEXT 1 0 1.2.840.10008.1.1 1.2.840.10008.1.2$"
    expect_in "cli$n.out" "^CONTEXT 7 3 1.2.826.0.1.3680043.9.7433.404 -$"
    expect_in "cli$n.out" "^ECHO-RSP 0$"
    expect_in "cli$n.out" "^STORE-RSP 0$"
    expect_in "cli$n.out" "^RELEASED$"
    expect_in "cli$n.err" "association established: 3 of 4 presentation contexts accepted, max PDU 262144 received / 4096 sent"
done
expect_in cli2.out "^CONTEXT 3 0 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.1.2.4.70$"
stored_big=$(ls out/*.1.2.826.0.1.3680043.9.7433.3.1 2>/dev/null | head -n 1)
stored_ct=$(ls out/*.1.2.826.0.1.3680043.9.7433.1.1 2>/dev/null | head -n 1)
[ -n "$stored_big" ] && [ -n "$stored_ct" ] || fail "storescp stored: $(ls out)"
same_dataset big_ele.dcm "$stored_big" || fail "the 512 KiB data set arrived changed"
same_dataset ct_jll.dcm "$stored_ct" || fail "the JPEG lossless data set arrived changed"
echo "PASS"
