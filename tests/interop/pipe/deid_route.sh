#!/bin/sh
# De-identification in a route, and the pseudonym map in the index.
# The corpus of tests/interop/deid (made-up patients in GB18030, GBK, UTF-8
# and ASCII, nested sequences, private blocks, overlays, SR, burned-in
# cases) goes to ferryd in two bursts that split its studies. The reading
# center gets the originals; the research destination gets copies through
# a deid step (secret file, record-pseudonyms: on); a third destination gets
# copies through a deid step without record-pseudonyms (site R2). Then
# (deid_check.py): zero identifying strings in what research received, keyed
# UIDs consistent across the bursts, the map that `ferry deid-map` reads
# from the index has every patient's row and none of R2's; `--patient
# PSEUDONYM` gives the patient back; the index is the owner's alone (mode
# 0600, also its WAL files), and `ferry deid-map` refuses an index others
# may read.
. "$(dirname "$0")/lib.sh"
need dcmsend storescp echoscu
need_pydicom
cd "$WORK" || exit 1

$PY "$HERE/../deid/corpus.py" "$WORK/corpus" >/dev/null || fail "corpus.py"
mkdir -p "$WORK/b1" "$WORK/b2"
# burst 1: every other file in name order; burst 2: the rest (each study of
# several instances is split between them)
k=0
for f in "$WORK"/corpus/*.dcm; do
    if [ $((k % 2)) -eq 0 ]; then cp "$f" "$WORK/b1/"; else cp "$f" "$WORK/b2/"; fi
    k=$((k + 1))
done
N=$k
B1=$(ls "$WORK/b1" | paste -sd, -)
B2=$(ls "$WORK/b2" | paste -sd, -)
printf 'ferry-pipe-interop-secret-0123456789-abcdefghijkl\n' >"$WORK/secret"
chmod 600 "$WORK/secret"

plugin_dir deid
start_scp READING +xa
READING_PORT=$SCP_PORT
start_scp RESEARCH +xa
RESEARCH_PORT=$SCP_PORT
start_scp OTHER +xa
OTHER_PORT=$SCP_PORT
pipe_config "$WORK/ferry.yaml" deid
cat >>"$WORK/ferry.yaml" <<YAML
destinations:
  - { name: reading-center, host: 127.0.0.1, port: $READING_PORT, called_ae: READING }
  - { name: research, host: 127.0.0.1, port: $RESEARCH_PORT, called_ae: RESEARCH }
  - { name: other, host: 127.0.0.1, port: $OTHER_PORT, called_ae: OTHER }
pipelines:
  research:
    - step: deid
      params:
        secret-file: '$WORK/secret'
        burned-in: warn
        record-pseudonyms: 'on'
  unrecorded:
    - step: deid
      params: { secret-file: '$WORK/secret', burned-in: warn, site: R2 }
routes:
  - name: all
    forward:
      - reading-center
      - { destination: research, pipeline: research }
      - { destination: other, pipeline: unrecorded }
YAML
start_ferryd
send "$WORK/b1"
wait_files "$WORK/READING" "$(ls "$WORK/b1" | wc -l)"
wait_files "$WORK/RESEARCH" "$(ls "$WORK/b1" | wc -l)"
send "$WORK/b2"
wait_files "$WORK/READING" "$N"
wait_files "$WORK/RESEARCH" "$N"
wait_files "$WORK/OTHER" "$N"

# the map, read while ferryd runs (WAL), by the owner
"$FERRY" deid-map --data-dir "$DATA" >"$WORK/map.tsv" 2>"$WORK/map.err" ||
    fail "ferry deid-map: $(cat "$WORK/map.err")"
[ -s "$WORK/map.tsv" ] || fail "ferry deid-map printed nothing"
$PY "$HERE/deid_check.py" "$WORK/corpus" "$WORK/secret" "$WORK/RESEARCH" "$WORK/READING" \
    "$WORK/OTHER" "$WORK/map.tsv" "$B1" "$B2" || fail "deid_check.py"

# re-identification: a pseudonym gives the patient ID back
row=$(grep '^patient-id	' "$WORK/map.tsv" | head -n 1)
orig=$(printf '%s' "$row" | cut -f2)
pseudo=$(printf '%s' "$row" | cut -f3)
"$FERRY" deid-map --data-dir "$DATA" --patient "$pseudo" >"$WORK/one.tsv" ||
    fail "ferry deid-map --patient $pseudo"
grep -q "^patient-id	$orig	$pseudo\$" "$WORK/one.tsv" ||
    fail "--patient $pseudo: $(cat "$WORK/one.tsv")"
[ "$(cut -f3 "$WORK/one.tsv" | sort -u)" = "$pseudo" ] ||
    fail "--patient $pseudo gave rows of others: $(cat "$WORK/one.tsv")"
"$FERRY" deid-map --data-dir "$DATA" --patient NOBODY-123 >/dev/null 2>"$WORK/none.err"
[ $? -eq 1 ] || fail "--patient NOBODY-123 did not fail"
expect_in "$WORK/none.err" "ferry deid-map: no row of the map has 'NOBODY-123'"
echo "re-identified: $pseudo -> $orig"

stop_ferryd
# owner-only: the index and its WAL files
for f in "$DATA"/index.sqlite*; do
    m=$(stat -c %a "$f")
    [ "$m" = 600 ] || fail "$f has mode $m, expected 600"
done
m=$(stat -c %a "$DATA")
[ $((0$m & 07)) -eq 0 ] || fail "the data folder $DATA has mode $m: others may enter"
# the rows survive the restart-free read after stop, and others may not read
"$FERRY" deid-map --data-dir "$DATA" | cmp -s - "$WORK/map.tsv" ||
    fail "the map read after stopping differs"
chmod 640 "$DATA/index.sqlite"
"$FERRY" deid-map --data-dir "$DATA" >/dev/null 2>"$WORK/mode.err"
[ $? -eq 1 ] || fail "ferry deid-map read an index of mode 0640"
expect_in "$WORK/mode.err" "ferry deid-map: $DATA/index.sqlite: refused: the map is for the owner of the data folder, and the index must be theirs alone (owner $(id -u), mode 0640)"
chmod 600 "$DATA/index.sqlite"
echo "PASS"
