#!/bin/sh
# storescu against dul_test_server: uncompressed and compressed proposals,
# transfer syntax preference, maximum PDU sizes both ways, several senders.
. "$(dirname "$0")/lib.sh"
need storescu
make_files
cd "$WORK" || exit 1

start_server --ae FERRY
assoc=0
# send OPTION FILE TS: storescu proposes with OPTION and sends FILE unchanged;
# the context must be accepted with TS and every data set byte must arrive.
send() {
    assoc=$((assoc + 1))
    storescu -v -aec FERRY "$1" 127.0.0.1 "$PORT" "$2" >"store$assoc.log" 2>&1 ||
        fail "storescu $1 $2: $(cat "store$assoc.log")"
    expect_in "store$assoc.log" "Received Store Response (Success)"
    wait_for srv.out "^CLOSED $assoc$"
    expect_in srv.out "^CONTEXT $assoc [0-9]* 0 [0-9.]* $3$"
    want=$(dataset_bytes "$2")
    expect_in srv.out "^STORED $assoc $want "
}
send -xi ct_ile.dcm 1.2.840.10008.1.2
send -xe ct_ele.dcm 1.2.840.10008.1.2.1
send -xb ct_ebe.dcm 1.2.840.10008.1.2.2
send -xs ct_jll.dcm 1.2.840.10008.1.2.4.70
send -xr ct_rle.dcm 1.2.840.10008.1.2.5
send -xt ct_jls.dcm 1.2.840.10008.1.2.4.80
send -xy sc8_jpb.dcm 1.2.840.10008.1.2.4.50
# ferry's order, not the requestor's: with -xe storescu proposes [explicit]
# and [big endian, implicit]: implicit wins; with -xb [big endian] and
# [explicit, implicit]: explicit wins
expect_in srv.out "^CONTEXT 2 [0-9]* 0 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.1.2$"
expect_not_in srv.out "^CONTEXT 2 [0-9]* 0 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.1.2.2$"
expect_not_in srv.out "^CONTEXT 3 [0-9]* 0 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.1.2$"

# the sender's maximum length is what ferry sends with
storescu -aec FERRY --max-pdu 4096 127.0.0.1 "$PORT" ct_ele.dcm >store_pdu.log 2>&1 || fail "storescu --max-pdu 4096: $(cat store_pdu.log)"
assoc=$((assoc + 1))
wait_for srv.out "^ESTABLISHED $assoc STORESCU FERRY 4096 "

# eight senders at once, a 512 KiB instance each
i=0
while [ $i -lt 8 ]; do
    storescu -aec FERRY 127.0.0.1 "$PORT" big_ele.dcm >"par$i.log" 2>&1 &
    PIDS="$PIDS $!"
    i=$((i + 1))
done
for p in $PIDS; do
    wait "$p" || fail "a parallel storescu failed: $(cat par*.log)"
done
PIDS=
want=$(dataset_bytes big_ele.dcm)
n=$(grep -c "^STORED [0-9]* $want " srv.out)
[ "$n" -eq 8 ] || fail "$n of 8 parallel instances stored"
stop_server

# ferry's maximum length is what the sender sends with; its preference
# order is config (implicit first here)
start_server --ae FERRY --max-pdu 4096 --ts 1.2.840.10008.1.2 --ts 1.2.840.10008.1.2.1
storescu -v -aec FERRY -xe 127.0.0.1 "$PORT" big_ele.dcm ct_ele.dcm >small.log 2>&1 || fail "storescu to a 4096-byte ferry: $(cat small.log)"
expect_in small.log "Association Accepted (Max Send PDV: 4084)"
wait_for srv.out "^CLOSED 1$"
pdv=$(awk '/^MAXPDV 1 /{print $3}' srv.out)
[ "$pdv" -le 4090 ] || fail "a PDV of $pdv bytes in 4096-byte PDUs"
expect_in srv.out "^CONTEXT 1 [0-9]* 0 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.1.2$"
expect_in srv.out "^STORED 1 "
stop_server
expect_not_in srv.err "association aborted"
echo "PASS"
