#!/bin/sh
# The misbehaving client against dul_test_server while a well-behaved
# echoscu keeps associating beside it: every bad association ends with the
# right A-ABORT (or close) and one log line naming the peer, the AE titles
# and the reason; every echoscu succeeds.
. "$(dirname "$0")/lib.sh"
BAD=$1
need echoscu
cd "$WORK" || exit 1

start_server --ae FERRY --pdu-ms 1500 --artim-ms 3000
(
    while [ ! -f stop ]; do
        if echoscu -aet GOOD -aec FERRY 127.0.0.1 "$PORT" >>good.log 2>&1; then
            echo ok >>good.out
        else
            echo failed >>good.out
        fi
    done
) &
LOOP=$!
PIDS="$PIDS $LOOP"

"$BAD" "$PORT" >bad.out 2>&1
rc=$?
touch stop
wait "$LOOP"
PIDS=
cat bad.out
[ $rc -eq 0 ] || fail "bad_client: $(grep FAIL bad.out)"
[ "$(grep -c '^ok' bad.out)" -eq 17 ] || fail "not every case ran: $(cat bad.out)"
expect_not_in good.out failed
good=$(grep -c '^ok' good.out)
[ "$good" -ge 3 ] || fail "only $good echoscu runs while the bad client ran"
echo "$good good associations beside the bad ones"

# one line per bad association, with peer, AE titles and reason
ctx='\[assoc [0-9]* 127.0.0.1:[0-9]* BADCLIENT->FERRY\]'
noae='\[assoc [0-9]* 127.0.0.1:[0-9]* ?->?\]'
expect_in srv.err "$ctx connection closed by the peer in the middle of a PDU (50 of 238 bytes), association aborted"
expect_in srv.err "$ctx A-ASSOCIATE-RQ of 238 bytes not complete after 1500 ms (50 bytes received), association aborted"
expect_in srv.err "$ctx A-ASSOCIATE-RQ: item 0x20 at offset 99: length 200 exceeds the [0-9]* bytes left in the PDU, association aborted"
expect_in srv.err "$ctx A-ASSOCIATE-RQ: item 0x77 at offset 99: length 16418 exceeds the [0-9]* bytes left in the PDU, association aborted"
expect_in srv.err "$ctx A-ASSOCIATE-RQ: item 0x30 at offset 99 belongs in a presentation context item, association aborted"
expect_in srv.err "$ctx A-ASSOCIATE-RQ: PDU-length [0-9]* exceeds the limit of 262144 bytes, association aborted"
expect_in srv.err "$noae P-DATA-TF before A-ASSOCIATE-RQ, association aborted"
expect_in srv.err "$ctx unknown PDU type 0x09, association aborted"
expect_in srv.err "$ctx P-DATA-TF: PDU-length 10485760 exceeds the maximum length 262144, association aborted"
expect_in srv.err "$ctx PDU header not complete after 1500 ms ([1-5] of 6 bytes received), association aborted"
expect_in srv.err "$ctx connection error: Connection reset by peer, association aborted"
expect_in srv.err "$ctx PDV for presentation context 99, which was not accepted, association aborted"
expect_in srv.err "$ctx P-DATA-TF: PDV item at offset 6: length 1 is shorter than the presentation context ID and message control header, association aborted"
expect_in srv.err "$ctx unexpected A-RELEASE-RP in an established association, association aborted"
expect_in srv.err "$ctx unexpected A-ASSOCIATE-RQ in an established association, association aborted"
expect_in srv.err "$noae no A-ASSOCIATE-RQ within 3000 ms (ARTIM), association aborted"
expect_not_in srv.err "GOOD->FERRY.*aborted"
stop_server
echo "PASS"
