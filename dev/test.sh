#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test (unit, end-to-end,
# layering). Ends with ctest's "N tests passed, N failed" summary; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/deps.sh --test
jobs=$(nproc)
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTA_BUILD_TESTS=ON -DOTA_WERROR=ON >/dev/null
cmake --build build/test -j"$jobs"
cd build/test
ctest --output-on-failure -j"$jobs" --timeout 300
