#!/bin/sh
# Install the dependencies, build, and start ferryd on the shipped default
# config (config/ferry.yaml: port 11112, AE title FERRY, data in ./ferry-data).
# ferryd detaches; its log is ferry-data/ferryd.log. Stop it with
#   kill "$(cat ferry-data/ferryd.pid)"
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/bin/ferryd --config config/ferry.yaml
