#!/bin/sh
# A 1 GiB multi-frame instance (2000 frames of 512 x 512 x 16 bits) from
# storescu: ferryd streams it to its spool PDV by PDV, so its peak resident
# size stays far below the instance's size (asserted: VmHWM under 128 MiB, a
# generous bound; the point is that nothing scales with the instance). The
# stored data set is the one sent, and the index has its checksum.
. "$(dirname "$0")/lib.sh"
need storescu
cd "$WORK" || exit 1

avail=$(df -k --output=avail "$WORK" | tail -n 1)
[ "$avail" -gt 3000000 ] || skip "needs 3 GiB free in $WORK"
"$TOOLS/dcmgen" image --rows 512 --cols 512 --bits-allocated 16 --bits-stored 12 \
    --frames 2000 --out big.dcm >/dev/null || fail "dcmgen image"
size=$(stat -c %s big.dcm)
echo "instance: $size bytes"
start_ferryd
before=$(vm_hwm "$FD_PID")
storescu -aet BIG -aec FERRY --max-pdu 131072 127.0.0.1 "$PORT" big.dcm >send.log 2>&1 ||
    fail "storescu: $(tail -n 3 send.log)"
hwm=$(vm_hwm "$FD_PID")
echo "ferryd VmHWM: $before KiB at start, $hwm KiB after receiving $((size / 1048576)) MiB"
[ "$hwm" -lt 131072 ] || fail "ferryd's peak resident size $hwm KiB is not bounded (>= 128 MiB)"

"$TOOLS/spool_verify" "$DATA" >verify.out || fail "spool_verify: $(cat verify.out)"
expect_in verify.out "instances 1 bad 0"
stored=$DATA/$(awk -F'\t' '$1 == "ok" {print $3}' verify.out)
$PY - big.dcm "$stored" <<'EOF' || fail "the stored data set differs from the one sent"
import hashlib, struct, sys
def body_hash(p):
    with open(p, 'rb') as f:
        head = f.read(144)
        assert head[128:132] == b'DICM'
        f.seek(144 + struct.unpack('<I', head[140:144])[0])
        h = hashlib.sha256()
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)
a, b = body_hash(sys.argv[1]), body_hash(sys.argv[2])
print("data set sha256", a, "sent", b, "stored")
sys.exit(0 if a == b else 1)
EOF
stop_ferryd
echo "PASS"
