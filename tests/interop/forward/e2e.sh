#!/bin/sh
# A 400-slice CT study from storescu through ferryd to a DCMTK storescp (the
# reading center) and to an Orthanc (a second destination): everything
# arrives at both, each data set byte-identical to what was sent.
. "$(dirname "$0")/lib.sh"
need storescu storescp echoscu
mkdir -p "$WORK/ct"
"$DCMGEN" ct --slices 400 --out "$WORK/ct" >/dev/null || fail "dcmgen"
start_storescp READING
READING_PORT=$SCP_PORT
start_orthanc
CFG=$WORK/ferry.yaml
write_config "$CFG" <<YAML
server: { port: @PORT@, bind: ['127.0.0.1'], data_dir: '@DATA@' }
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $READING_PORT, called_ae: READING, parallel: 2 }
  - { name: archive, host: 127.0.0.1, port: $ORTHANC_DICOM, called_ae: ORTHANC }
routes:
  - name: everything
    forward: [reading-center, archive]
YAML
start_ferryd "$CFG"
send --max-pdu 131072 -- "$WORK"/ct/*.dcm
wait_files "$WORK/READING" 400 120
wait_until 120 orthanc_has 400 || fail "Orthanc has $(orthanc_count) of 400 instances"
wait_until 30 queue_done_is reading-center 400 || fail "reading-center: $(queue)"
wait_until 30 queue_done_is archive 400 || fail "archive: $(queue)"
same_datasets "$WORK/ct" "$WORK/READING" 400
orthanc_download "$WORK/from-orthanc"
same_datasets "$WORK/ct" "$WORK/from-orthanc" 400
queue >"$WORK/queue.txt"
expect_in "$WORK/queue.txt" "pending 0, held 0, in flight 0, done 400, dead 0, retries 0"
stop_ferryd
expect_in "$WORK/ferryd.err" "forwarded: 800 instances"
echo "ok: 400 instances at storescp and at Orthanc, data sets byte-identical"
