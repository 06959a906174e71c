#!/bin/sh
# Benchmark (not a test): parse a generated 512x512x16-bit CT series with
# ferry and with DCMTK, full and header-only, in the same run; print the
# medians per file and the ratios.
#
#   perf/dcm-parse/run.sh [SLICES] [RUNS]      (defaults: 400 slices, 9 runs)
#
# Needs a build (cmake --build build) and DCMTK. The series is generated
# once under perf/out/ (ignored by git) with build/tests/dcmgen.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
slices=${1:-400}
runs=${2:-9}
series=$root/perf/out/ct-$slices
ferry=$build/perf/ferry_parse_bench
dcmtk=$build/perf/dcmtk_parse_bench
export DCMDICTPATH=${DCMDICTPATH:-/usr/share/libdcmtk17/dicom.dic}

[ -x "$ferry" ] || { echo "build first: cmake --build $build"; exit 1; }
[ -x "$dcmtk" ] || { echo "no DCMTK anchor ($dcmtk): is libdcmtk-dev installed?"; exit 1; }
if [ ! -f "$series/CT$(printf %06d "$slices").dcm" ]; then
    echo "generating $slices slices into $series ..."
    mkdir -p "$root/perf/out"
    "$build/tests/dcmgen" ct --slices "$slices" --out "$series"
fi
bytes=$(du -sb "$series" | cut -f1)

# Warm the page cache so that both read from memory.
cat "$series"/*.dcm > /dev/null

# Every mode runs once per round, ferry's and DCMTK's interleaved, so that
# whatever else the machine does falls on both; the median of the rounds is
# printed. One warm-up round is not counted. Times are the process's CPU time
# (user + system, so file reads and page faults count), which a busy shared
# machine disturbs less than wall-clock time.
modes="ferry:mem-header ferry:header ferry:mem-full ferry:mem-full-copy ferry:full ferry:full-copy
dcmtk:mem-header dcmtk:header dcmtk:mem-full dcmtk:full dcmtk:full-load"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in $(seq 0 "$runs"); do
    for m in $modes; do
        tool=${m%%:*}
        mode=${m#*:}
        # 3 passes per process, their median: the first pass of a fresh
        # process pays for growing its heap, whichever the library.
        if [ "$tool" = ferry ]; then t=$("$ferry" "$mode" "$series" 3); else t=$("$dcmtk" "$mode" "$series" 3); fi
        [ "$round" -eq 0 ] || echo "$t" >> "$tmp/$tool-$mode"
    done
done
med() { sort -g "$tmp/$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
f_mhead=$(med ferry-mem-header)
f_head=$(med ferry-header)
f_mfull=$(med ferry-mem-full)
f_mcopy=$(med ferry-mem-full-copy)
f_full=$(med ferry-full)
f_copy=$(med ferry-full-copy)
d_mhead=$(med dcmtk-mem-header)
d_head=$(med dcmtk-header)
d_mfull=$(med dcmtk-mem-full)
d_full=$(med dcmtk-full)
d_load=$(med dcmtk-full-load)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
row() { printf "%-36s %9s %12s %9sx   %s\n" "$1" "$2" "$3" "$(ratio "$3" "$2")" "$4"; }
echo "dcm-parse: $slices CT slices, 512x512x16 bits, $((bytes / 1048576)) MiB, median of $runs runs,"
echo "CPU microseconds per file (user + system; lower is better); $(nproc) cores, $(uname -r)"
echo
printf "%-36s %9s %12s %10s\n" "" "ferry" "DCMTK 3.6.7" "DCMTK/ferry"
row "header-only, parse from memory" "$f_mhead" "$d_mhead" "(readUntilTag(PixelData) on a DcmInputBufferStream)"
row "header-only, from the file" "$f_head" "$d_head" "(loadFileUntilTag(PixelData))"
row "full, parse from memory" "$f_mfull" "$d_mfull" "(ferry: values point into the buffer; DCMTK copies)"
row "full, parse from memory, copying" "$f_mcopy" "$d_mfull" "(ferry DCM_PARSE_COPY)"
row "full, from the file" "$f_full" "$d_full" "(loadFile: DCMTK leaves values > 4 KiB on disk)"
row "full, from the file, all in memory" "$f_copy" "$d_load" "(ferry DCM_PARSE_COPY; DCMTK loadAllDataIntoMemory)"
