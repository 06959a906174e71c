#!/bin/sh
# A destination that does not take a SOP class (a storescp whose association
# profile accepts CT Image Storage only): the MR instances go dead-letter
# with the reason in `ferry queue`, the CT instances flow, and `ferry queue
# retry` sends the dead ones again (and they die again, counted).
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu dcmodify
make_study ct 20 31
make_study mr 5 32
for f in "$WORK"/mr/*.dcm; do
    # MR Image Storage (the meta group follows: dcmodify updates its UIDs)
    dcmodify -q -nb -m "(0008,0016)=1.2.840.10008.5.1.4.1.1.4" -m "(0008,0060)=MR" "$f" ||
        fail "dcmodify $f"
done
cat >"$WORK/ct-only.cfg" <<'CFG'
[[TransferSyntaxes]]
[Uncompressed]
TransferSyntax1 = LocalEndianExplicit
TransferSyntax2 = OppositeEndianExplicit
TransferSyntax3 = LittleEndianImplicit

[[PresentationContexts]]
[CTOnly]
PresentationContext1 = CTImageStorage\Uncompressed
PresentationContext2 = VerificationSOPClass\Uncompressed

[[Profiles]]
[CT]
PresentationContexts = CTOnly
CFG
start_storescp READING -xf "$WORK/ct-only.cfg" CT
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
storage: { fsync: false }
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $SCP_PORT, called_ae: READING }
routes:
  - { name: all, forward: reading-center }
YAML
start_ferryd "$CFG"
# interleaved: MR instances between the CT ones on the same association
send -- "$WORK"/ct/*.dcm "$WORK"/mr/*.dcm
wait_files "$WORK/READING" 20 60
wait_until 30 queue_done_is reading-center 20 || fail "$(queue)"
wait_until 30 sh -c "'$FERRY' queue --config '$CFG' | grep -q 'dead 5,'" || fail "$(queue)"
queue >"$WORK/queue.txt"
cat "$WORK/queue.txt"
expect_in "$WORK/queue.txt" "pending 0, held 0, in flight 0, done 20, dead 5, retries 0"
expect_in "$WORK/queue.txt" "last error: .*MR Image Storage.*abstract syntax not supported"
expect_in "$WORK/ferryd.err" "MR Image Storage"
same_datasets "$WORK/ct" "$WORK/READING" 20
# storescp got nothing but CT
grep -q "MRImageStorage" "$WORK/READING.log" && fail "storescp received an MR instance"
# retry: tried again, refused again, dead again
"$FERRY" queue --config "$CFG" retry reading-center >"$WORK/retry.txt" 2>&1 ||
    fail "ferry queue retry: $(cat "$WORK/retry.txt")"
wait_until 30 sh -c "'$FERRY' queue --config '$CFG' | grep -q 'dead 5, retries 5'" ||
    fail "after retry: $(queue)"
[ "$(count_files "$WORK/READING")" -eq 20 ] || fail "storescp has $(count_files "$WORK/READING") files"
stop_ferryd
echo "ok: 20 CT delivered, 5 MR dead with the reason, retried and dead again"
