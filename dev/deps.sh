#!/usr/bin/env bash
# Installs the Debian 12 packages otaserver needs to build and test, if any are missing.
# Idempotent; runs `apt-get update` only when something must be installed.
set -euo pipefail

BUILD_PKGS=(cmake g++ make pkg-config libcpp-httplib-dev libsqlite3-dev librocksdb-dev libssl-dev
            nlohmann-json3-dev libspdlog-dev libgtest-dev)
TEST_PKGS=(curl openssl)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

echo "dev/deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
