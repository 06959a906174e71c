#!/bin/sh
# Configure and build ferry into build/ (binaries in build/bin, plugins in
# build/plugins). Extra arguments go to cmake's configure step.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"$(nproc)"
