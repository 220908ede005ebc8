#!/usr/bin/env bash
# Keep-alive throughput of the smallest endpoint (/healthz): the HTTP layer's own ceiling.
# usage: bench/healthz.sh [BINARY]   (default: build/release/otaserver, built if missing)
# env:   DUR=5 (seconds per run), CONNS="1 64 256", ACCESS_LOG=true|false
# Loopback only; every run is time-bounded; stops only the server it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/release/otaserver}
DUR=${DUR:-5}; CONNS=${CONNS:-"1 64 256"}; ACCESS_LOG=${ACCESS_LOG:-true}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
if [ ! -x "$BIN" ]; then
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DOTA_BUILD_TESTS=OFF >/dev/null
  cmake --build build/release -j"$(nproc)" >/dev/null
fi
WORK=$(mktemp -d /tmp/otaserver-bench-XXXXXX)
"$BIN" serve --data "$WORK/data" --listen 127.0.0.1:0 --port-file "$WORK/port" --access-log "$ACCESS_LOG" \
  >"$WORK/out" 2>"$WORK/err" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
PORT=$(cat "$WORK/port")
URL=http://127.0.0.1:$PORT/healthz
echo "otaserver $("$BIN" --version | head -1 | cut -d' ' -f2) /healthz, access_log=$ACCESS_LOG, ${DUR}s per run, $(nproc) cores, wrk unpinned"
printf "%-6s %12s %10s %10s %10s %8s\n" conns "req/s" "p50 ms" "p99 ms" "max ms" "rss MB"
for c in $CONNS; do
  t=2; [ "$c" -lt 2 ] && t=1
  wrk -t$t -c"$c" -d1s --timeout 2s "$URL" >/dev/null 2>&1 || true  # warm-up
  out=$(wrk -t$t -c"$c" -d"${DUR}s" --timeout 2s --latency "$URL")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  max=$(echo "$out" | awk '$1=="Latency" {print $4}')
  rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$PID/status)
  ms() { case "$1" in *us) echo "${1%us}" | awk '{printf "%.3f", $1/1000}';; *ms) echo "${1%ms}";; *s) echo "${1%s}" | awk '{printf "%.1f", $1*1000}';; *) echo "$1";; esac; }
  printf "%-6s %12s %10s %10s %10s %8s\n" "$c" "$rps" "$(ms "$p50")" "$(ms "$p99")" "$(ms "$max")" "$rss"
done
