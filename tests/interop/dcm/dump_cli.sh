#!/bin/sh
# `ferry dump`: a bad file among good ones is reported with offset, tag and
# reason, the good ones are still dumped, the exit status is 1; usage errors
# exit 2; --header-only says where Pixel Data starts.
# Usage: dump_cli.sh DCMGEN FERRY
set -eu
DCMGEN=$1
FERRY=$2
tmp=$(mktemp -d /tmp/ferry-dump-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

"$DCMGEN" image --rows 8 --cols 8 --seed 1 --charset GB18030 --patient-name "李四" --out "$tmp/a.dcm"
"$DCMGEN" image --rows 8 --cols 8 --seed 2 --out "$tmp/b.dcm"
size=$(stat -c %s "$tmp/a.dcm")
head -c $((size - 100)) "$tmp/a.dcm" > "$tmp/cut.dcm"

status=0
"$FERRY" dump "$tmp/a.dcm" "$tmp/cut.dcm" "$tmp/b.dcm" > "$tmp/out" 2> "$tmp/err" || status=$?
[ "$status" -eq 1 ] || fail "exit status $status, want 1"
[ "$(grep -c '^# Dicom-Data-Set' "$tmp/out")" -eq 2 ] || fail "the two good files were not both dumped"
grep -q "^# File: $tmp/b.dcm" "$tmp/out" || fail "the file after the bad one is missing"
grep -q "PN \[李四\]" "$tmp/out" || fail "the GB18030 name is not shown in UTF-8"
want="ferry dump: $tmp/cut.dcm: offset $((size - 128 - 12)), (7FE0,0010) OW: value length 128 exceeds the 28 bytes that remain"
[ "$(cat "$tmp/err")" = "$want" ] || fail "error text: '$(cat "$tmp/err")', want '$want'"

"$FERRY" dump --header-only "$tmp/b.dcm" > "$tmp/h"
bsize=$(stat -c %s "$tmp/b.dcm")
grep -q "^# Pixel Data and what follows start at byte $((bsize - 128 - 12)) " "$tmp/h" ||
    fail "--header-only: $(tail -1 "$tmp/h")"
grep -q "(7fe0,0010)" "$tmp/h" && fail "--header-only printed Pixel Data"

status=0
"$FERRY" dump > /dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "no file: exit status $status, want 2"
status=0
"$FERRY" dump --bogus "$tmp/b.dcm" > /dev/null 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "bad option: exit status $status, want 2"
"$FERRY" dump --help | grep -q "usage: ferry dump" || fail "--help"
echo "ferry dump: all checks passed"
