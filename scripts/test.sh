#!/bin/sh
# Build and run every test: the release build's suite, then the whole suite
# again built with ASan+UBSan. FERRY_SKIP_SANITIZE=1 skips the second pass
# (for a quick local run; CI always runs both).
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 1200

if [ "${FERRY_SKIP_SANITIZE:-0}" = 1 ]; then
  echo "== sanitizer suite skipped (FERRY_SKIP_SANITIZE=1) =="
  exit 0
fi
echo "== build (ASan+UBSan) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under ASan+UBSan =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 2400 -LE no-sanitize
