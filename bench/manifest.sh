#!/usr/bin/env bash
# Manifest throughput with code signing on, next to /healthz in the same run (same server, same
# moment), with the fixture's update published for both platforms and a signing key.
# usage: bench/manifest.sh [BINARY]     env: DUR=5 CONNS="1 64"
# Loopback only; every run is time-bounded; stops only the server it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/otaserver}
DUR=${DUR:-5}; CONNS=${CONNS:-"1 64"}
FIX=${FIX:-../shared/fixtures/expo-export/57.0.0}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
if [ ! -x "$BIN" ]; then
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DOTA_BUILD_TESTS=OFF >/dev/null
  cmake --build build/release -j"$(nproc)" >/dev/null
fi
WORK=$(mktemp -d /tmp/otaserver-bench-XXXXXX)
"$BIN" serve --data "$WORK/data" --listen 127.0.0.1:0 --port-file "$WORK/port" --access-log false \
  >"$WORK/out" 2>"$WORK/err" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
S=http://127.0.0.1:$(cat "$WORK/port")
export OTA_TOKEN=$("$BIN" token create --data "$WORK/data" --name bench --scope admin 2>/dev/null)
"$BIN" app create bench --server "$S" >/dev/null
"$BIN" keys generate --app bench --keyid main --out "$WORK/cert.pem" --server "$S" >/dev/null
t0=$(date +%s.%N)
"$BIN" publish --dist "$FIX/update1" --app bench --runtime-version 1.0.0 --expo-config "$FIX/expoConfig.json" \
  --server "$S" >/dev/null
t1=$(date +%s.%N)
echo "publish of the fixture (2 platforms, 4 files, 3.1 MiB): $(echo "$t1 - $t0" | bc) s"

cat > "$WORK/manifest.lua" <<'LUA'
wrk.headers["expo-platform"] = "ios"
wrk.headers["expo-runtime-version"] = "1.0.0"
wrk.headers["expo-protocol-version"] = "1"
wrk.headers["accept"] = "multipart/mixed,application/expo+json,application/json"
wrk.headers["expo-expect-signature"] = 'sig, keyid="main", alg="rsa-v1_5-sha256"'
wrk.headers["expo-channel-name"] = "production"
wrk.headers["eas-client-id"] = "5f7c3a52-0d8e-4f43-9d8a-1f0e9b6c2a11"
LUA
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'expo-platform: ios' -H 'expo-runtime-version: 1.0.0' \
  -H 'expo-protocol-version: 1' -H 'expo-expect-signature: sig, keyid="main"' "$S/apps/bench/manifest")
[ "$status" = 200 ] || { echo "manifest probe answered $status" >&2; exit 1; }

echo "otaserver $("$BIN" --version | cut -d' ' -f2), ${DUR}s per run, $(nproc) cores, wrk unpinned, access log off"
printf "%-10s %-6s %12s %10s %10s %8s\n" path conns "req/s" "p50 ms" "p99 ms" "rss MB"
ms() { case "$1" in *us) echo "${1%us}" | awk '{printf "%.3f", $1/1000}';; *ms) echo "${1%ms}";; *s) echo "${1%s}" | awk '{printf "%.1f", $1*1000}';; *) echo "$1";; esac; }
run() {  # NAME URL CONNS [SCRIPT]
  local t=2; [ "$3" -lt 2 ] && t=1
  local script=(); [ -n "${4:-}" ] && script=(-s "$4")
  wrk -t$t -c"$3" -d1s --timeout 2s "${script[@]}" "$2" >/dev/null 2>&1 || true
  local out; out=$(wrk -t$t -c"$3" -d"${DUR}s" --timeout 2s --latency "${script[@]}" "$2")
  printf "%-10s %-6s %12s %10s %10s %8s\n" "$1" "$3" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
    "$(ms "$(echo "$out" | awk '$1=="50%" {print $2}')")" "$(ms "$(echo "$out" | awk '$1=="99%" {print $2}')")" \
    "$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$PID/status)"
}
for c in $CONNS; do
  run manifest "$S/apps/bench/manifest" "$c" "$WORK/manifest.lua"
  run healthz "$S/healthz" "$c"
done
