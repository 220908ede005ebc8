#!/usr/bin/env bash
# Installs what is missing, builds a release binary and serves ./data on http://127.0.0.1:8080.
# Extra arguments go to `otaserver serve` (e.g. --listen 0.0.0.0:8080 --public-url https://...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DOTA_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)"
exec ./build/release/otaserver serve --data ./data "$@"
