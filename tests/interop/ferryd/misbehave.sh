#!/bin/sh
# The misbehaving client (tests/interop/dul/bad_client.c: truncated PDUs,
# lying lengths, unknown items, oversize PDUs, slow drip, a reset in the
# middle of a PDU, ...) and the DIMSE-level one (dimse_client.py: a reset in
# the middle of an instance, a malformed data set, UIDs that disagree (instance, class), a
# data set without a command, unsupported commands) against ferryd, while a
# well-behaved storescu beside them stores a series again and again: every
# storescu run succeeds, every bad association ends with its log line, the
# bad data sets are quarantined with their reason, and ferryd stops cleanly.
. "$(dirname "$0")/lib.sh"
need storescu echoscu
BAD=$TOOLS/dul_bad_client
[ -x "$BAD" ] || skip "dul_bad_client is not built"
cd "$WORK" || exit 1

# (write_config ends in the limits section: these two lines join it)
write_config "$WORK/ferry.yaml" "  pdu_timeout: 1500ms" "  artim_timeout: 3s"
start_ferryd
"$TOOLS/dcmgen" ct --slices 10 --out good >/dev/null || fail "dcmgen"

(
    while [ ! -f stop ]; do
        if storescu -aet GOOD -aec FERRY +sd 127.0.0.1 "$PORT" good >>good.log 2>&1; then
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
$PY "$HERE/dimse_client.py" "$PORT" >dimse.out 2>&1
rc2=$?
touch stop
wait "$LOOP"
cat bad.out dimse.out
[ $rc -eq 0 ] || fail "bad_client: $(grep FAIL bad.out)"
[ $rc2 -eq 0 ] || fail "dimse_client.py: $(grep FAIL dimse.out)"
[ "$(grep -c '^ok' bad.out)" -eq 17 ] || fail "not every bad_client case ran"
if grep -q failed good.out; then
    fail "a well-behaved storescu failed beside the bad clients: $(tail -n 5 good.log)"
fi
good=$(grep -c '^ok' good.out)
[ "$good" -ge 2 ] || fail "only $good storescu runs while the bad clients ran"
echo "$good storescu runs of 10 instances beside the bad associations"

L=$WORK/ferryd.err
ctx='\[assoc [0-9]* 127.0.0.1:[0-9]* BADCLIENT->FERRY\]'
noae='\[assoc [0-9]* 127.0.0.1:[0-9]* ?->?\]'
expect_in "$L" "$ctx A-ASSOCIATE-RQ: item 0x20 at offset 99: length 200 exceeds the [0-9]* bytes left in the PDU, association aborted"
expect_in "$L" "$ctx A-ASSOCIATE-RQ: PDU-length [0-9]* exceeds the limit of 262144 bytes, association aborted"
expect_in "$L" "$noae P-DATA-TF before A-ASSOCIATE-RQ, association aborted"
expect_in "$L" "$ctx unknown PDU type 0x09, association aborted"
expect_in "$L" "$ctx P-DATA-TF: PDU-length 10485760 exceeds the maximum length 262144, association aborted"
expect_in "$L" "$ctx PDU header not complete after 1500 ms ([1-5] of 6 bytes received), association aborted"
expect_in "$L" "$ctx connection error: Connection reset by peer, association aborted"
expect_in "$L" "$ctx PDV for presentation context 99, which was not accepted, association aborted"
expect_in "$L" "$noae no A-ASSOCIATE-RQ within 3000 ms (ARTIM), association aborted"
# the DIMSE-level ones
dctx='\[assoc [0-9]* 127.0.0.1:[0-9]* DIMSEBAD->FERRY\]'
expect_in "$L" "$dctx data set fragment on context 1 without a command before it, association aborted"
expect_in "$L" "$dctx command fragment on context 1 before the data set on context 1 ended, association aborted"
expect_in "$L" "$dctx unreadable command set: "
expect_in "$L" "$dctx command set longer than 65536 bytes, association aborted"
expect_in "$L" "$dctx C-STORE 1.2.826.0.1.3680043.9.7433.99.1: the association ended before the instance was answered"
expect_in "$L" "$dctx C-STORE 1.2.826.0.1.3680043.9.7433.99.2: malformed data set: offset [0-9]*, (0010,0010) PN: .*; kept in quarantine as .*, answered 0xC000"
expect_in "$L" "$dctx C-STORE 1.2.826.0.1.3680043.9.7433.99.3: data set does not match the command: the data set's SOP Instance UID (0008,0018) 1.2.826.0.1.3680043.9.7433.99.4 is not the command's 1.2.826.0.1.3680043.9.7433.99.3; kept in quarantine as .*, answered 0xA900"
expect_in "$L" "$dctx C-STORE 1.2.826.0.1.3680043.9.7433.99.10: data set does not match the command: the data set's SOP Class UID (0008,0016) 1.2.840.10008.5.1.4.1.1.4 is not the command's 1.2.840.10008.5.1.4.1.1.2; kept in quarantine as .*, answered 0xA900"
expect_in "$L" "$dctx C-FIND-RQ (message 7) refused: 0x0211"
expect_in "$L" "$dctx C-STORE 1.2.826.0.1.3680043.9.7433.99.5 of SOP class 1.2.840.10008.5.1.4.1.1.4 on presentation context 1 (1.2.840.10008.5.1.4.1.1.2): refused, 0x0122"
if grep -q 'GOOD->FERRY.*aborted' "$L"; then
    fail "a GOOD association was aborted"
fi
# quarantine: three files with their reasons
n=$(find "$DATA/quarantine" -name '*.reason' | wc -l)
[ "$n" -eq 3 ] || fail "$n reason files in the quarantine, expected 3"
grep -l "tag: (0010,0010)" "$DATA"/quarantine/*/*.reason >/dev/null ||
    fail "the reason file of the malformed data set does not name its tag"
grep -l "calling AE title: DIMSEBAD" "$DATA"/quarantine/*/*.reason >/dev/null ||
    fail "the reason file does not name the calling AE title"
# nothing half-written stays, everything indexed is whole
[ -z "$(ls "$DATA/spool/incoming")" ] || fail "files left in spool/incoming: $(ls "$DATA/spool/incoming")"
verify --calling GOOD
stop_ferryd
echo "PASS"
