#!/bin/sh
# echoscu against dul_test_server: association, C-ECHO, max PDU both ways,
# rejections with the reasons echoscu reports.
. "$(dirname "$0")/lib.sh"
need echoscu
cd "$WORK" || exit 1

start_server --ae FERRY --ae FERRY2 --max-pdu 65536 \
    --peer 'ECHOSCU=127.0.0.0/8' --peer 'FAR_AWAY=10.0.0.0/8'

echoscu -v -aet ECHOSCU -aec FERRY 127.0.0.1 "$PORT" >echo1.log 2>&1 || fail "echoscu: $(cat echo1.log)"
# our maximum length reached the peer (DCMTK shows it less its 12-byte PDV overhead)
expect_in echo1.log "Association Accepted (Max Send PDV: 65524)"
expect_in echo1.log "Received Echo Response (Success)"
wait_for srv.out "^CLOSED 1$"
expect_in srv.out "^ESTABLISHED 1 ECHOSCU FERRY 16384 1$"
expect_in srv.out "^CONTEXT 1 1 0 1.2.840.10008.1.1 1.2.840.10008.1.2$"
expect_in srv.out "^ECHO 1 1$"
expect_in srv.out "^RELEASED 1$"

# the peer's maximum length is what we send with
echoscu -aet ECHOSCU -aec FERRY2 --max-pdu 4096 127.0.0.1 "$PORT" >echo2.log 2>&1 || fail "echoscu --max-pdu 4096: $(cat echo2.log)"
wait_for srv.out "^ESTABLISHED 2 ECHOSCU FERRY2 4096 1$"

# called AE title not ours
if echoscu -aet ECHOSCU -aec NOT_FERRY 127.0.0.1 "$PORT" >rj1.log 2>&1; then fail "echoscu to NOT_FERRY succeeded"; fi
expect_in rj1.log "Association Rejected"
expect_in rj1.log "Result: Rejected Permanent, Source: Service User"
expect_in rj1.log "Reason: Called AE Title Not Recognized"
wait_for srv.err "association rejected (permanent, service-user, called AE title not recognized): called AE title 'NOT_FERRY' is not ours"

# calling AE title unknown
if echoscu -aet STRANGER -aec FERRY 127.0.0.1 "$PORT" >rj2.log 2>&1; then fail "echoscu as STRANGER succeeded"; fi
expect_in rj2.log "Reason: Calling AE Title Not Recognized"
wait_for srv.err "calling AE title 'STRANGER' is not allowed"

# calling AE title known, but not from this address
if echoscu -aet FAR_AWAY -aec FERRY 127.0.0.1 "$PORT" >rj3.log 2>&1; then fail "echoscu as FAR_AWAY succeeded"; fi
expect_in rj3.log "Result: Rejected Permanent, Source: Service User"
expect_in rj3.log "Reason: No Reason"
wait_for srv.err "calling AE title 'FAR_AWAY' is not allowed from 127.0.0.1"

stop_server
expect_not_in srv.err "association aborted"

# a server that takes CT only: the association is accepted with its one
# context rejected (abstract syntax not supported), as PS3.8 has it, and
# echoscu says so
start_server --ae FERRY --abstract 1.2.840.10008.5.1.4.1.1.2
if echoscu -v -aec FERRY 127.0.0.1 "$PORT" >nopc.log 2>&1; then fail "echoscu succeeded without a context"; fi
expect_in nopc.log "No Acceptable Presentation Contexts"
wait_for srv.out "^CONTEXT 1 1 3 1.2.840.10008.1.1 -$"
wait_for srv.err "association accepted: 0 of 1 presentation contexts accepted"
stop_server
echo "PASS"
