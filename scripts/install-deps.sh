#!/bin/sh
# Install everything ferry needs to build, test and benchmark, from Debian 12
# packages only. Idempotent; run as root (or through sudo).
#   --build-only   just what building needs (docker/Dockerfile's build stage):
#                  no test peers (Orthanc, dicom3tools, pydicom), no clang
set -eu

BUILD_ONLY=0
case "${1:-}" in
  --build-only) BUILD_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

BUILD_PKGS="
  build-essential cmake pkg-config python3
  liburing-dev
  zlib1g-dev
  libsqlite3-dev sqlite3
  libxxhash-dev
  libyaml-dev
  libssl-dev
  libjpeg62-turbo-dev
  libopenjp2-7-dev libopenjp2-tools
  libcharls-dev
  libopenjph-dev openjph-tools
  dcmtk libdcmtk-dev
  check
"
TEST_PKGS="
  git ca-certificates
  clang libclang-rt-14-dev
  orthanc
  dicom3tools
  python3-pydicom python3-numpy
  procps psmisc iproute2
"
PKGS=$BUILD_PKGS
if [ "$BUILD_ONLY" = 0 ]; then PKGS="$BUILD_PKGS $TEST_PKGS"; fi

export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
  $SUDO apt-get update -qq
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null

# The Debian orthanc package starts a service on 4242/8042; ferry's tests and
# benchmarks start their own Orthanc on other ports, so the packaged one is
# stopped to keep the machine quiet (it may not be running: no init in CI).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet orthanc 2>/dev/null; then
  $SUDO systemctl stop orthanc || true
fi
if pgrep -x Orthanc >/dev/null 2>&1; then $SUDO pkill -x Orthanc || true; fi
