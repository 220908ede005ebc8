#!/usr/bin/env bash
# otaserver side by side with nginx and a minimal cpp-httplib server, in one run on this box.
#
#   bench/compare/run.sh [BIN]            prints one table; saves it plus every raw run line to
#                                         bench/compare/results/compare-<UTC time>.txt
# env:
#   BIN=build/release/otaserver   the otaserver binary under test (the default one is built if missing)
#   DUR=10  ROUNDS=3              seconds per wrk run (each after a 1 s warm-up); interleaved rounds, medians
#   QUICK=1                       smoke run: DUR=3 ROUNDS=1 (about 2.5 minutes; the default run takes about 16)
#   PIN=0|1                       0 (default): unpinned, servers and wrk -t2 (-t1 at c=1) share both cores;
#                                 1: servers on CPU1 (taskset -c 1, nginx 1 worker), wrk -t1/holder/probes on CPU0
#   CONNS="1 64 256"              keep-alive connections for the throughput matrix
#   HOLD_N=1000                   connections for the idle-holder and -c1000 test
#   FIX=../shared/fixtures/expo-export/57.0.0   the expo export fixture (update1, update2, expoConfig.json)
#   OTA_SERVE_ARGS="..."          extra flags for `otaserver serve` (e.g. "--workers 512"); default: none
#
# What it does (docs/perf-baseline.md has the method and this box's anchors):
#  1. otaserver on a temp data dir (access log off): apps "off" (asset tokens off) and "on" (asset
#     tokens on), each with a code-signing key, the fixture's update1 published and then update2 with
#     --rollout-percent 10; a synthetic export (4 MB bundle, 50 KB asset) published as runtime
#     version "synthetic-1" for the asset endpoint.
#  2. The manifest otaserver answers (app "off", iOS, protocol 1, signature requested) and the two
#     synthetic assets are written to a www dir; nginx-light serves those bytes statically (same
#     Content-Type and extra headers), and min_httplib_same_bytes serves the same manifest from memory.
#  3. wrk at each of CONNS, servers interleaved round-robin: manifest (nginx, min-httplib, otaserver
#     tokens off/on), asset 50 KB (nginx, otaserver; plus otaserver with an asset token at c=64),
#     asset 4 MB (nginx, otaserver). Medians of ROUNDS; ratios to nginx (and to min-httplib).
#  4. HOLD_N connections: idle holders (one manifest request each, then idle) with a fresh-client
#     probe, wrk -c64 with and without them, RSS; then wrk -c$HOLD_N with the probe. otaserver and nginx.
# Safety: loopback only; every load is time-bounded; only processes started here are stopped, by PID.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then DUR=${DUR:-3}; ROUNDS=${ROUNDS:-1}; else DUR=${DUR:-10}; ROUNDS=${ROUNDS:-3}; fi
PIN=${PIN:-0}
CONNS=${CONNS:-"1 64 256"}
HOLD_N=${HOLD_N:-1000}
FIX=${FIX:-$ROOT/../shared/fixtures/expo-export/57.0.0}
BIN=${1:-${BIN:-build/release/otaserver}}
OTA_SERVE_ARGS=${OTA_SERVE_ARGS:-}
PY=/usr/bin/python3; [ -x $PY ] || PY=$(command -v python3)
CLIENT_ID=5f7c3a52-0d8e-4f43-9d8a-1f0e9b6c2a11

die() { echo "run.sh: FAILED: $*" >&2; exit 1; }
say() { echo "[$(date -u +%T)] $*" >&2; }

# ---------------------------------------------------------------- prerequisites
for t in wrk nginx curl taskset g++ pkg-config ss nstat "$PY"; do
  command -v "$t" >/dev/null || die "missing $t (apt-get install -y wrk nginx-light curl g++ pkg-config iproute2)"
done
[ -d "$FIX/update1" ] && [ -d "$FIX/update2" ] && [ -f "$FIX/expoConfig.json" ] || die "fixture not found at $FIX"
if [ ! -x "$BIN" ]; then
  [ "$BIN" = build/release/otaserver ] || die "BIN=$BIN is not an executable"
  say "building $BIN"
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DOTA_BUILD_BENCH=ON -DOTA_BUILD_TESTS=OFF >/dev/null &&
    cmake --build build/release -j"$(nproc)" >/dev/null || die "build failed"
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
# 1,000 connections in one process (holder, wrk, the server) need more than the usual 1024 fds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((HOLD_N * 2 + 256)) ] ||
  die "ulimit -n is $(ulimit -n); need at least $((HOLD_N * 2 + 256)) for HOLD_N=$HOLD_N"

if [ "$PIN" = 1 ]; then
  SPRE=(taskset -c 1); CPRE=(taskset -c 0); PINTXT="pinned: servers on CPU1, wrk -t1/holder/probes on CPU0"; NGX_WORKERS=1
else
  SPRE=(); CPRE=(); PINTXT="unpinned: servers and wrk (-t2, -t1 at c=1) share all cores"; NGX_WORKERS=2
fi

WORK=$(mktemp -d /tmp/otaserver-compare-XXXXXX)
chmod 755 "$WORK"   # nginx workers (user nobody when started as root) read www/ under it
PIDS=()
cleanup() {
  local p i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    p=${PIDS[i]}
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$HERE/results"
RESULTS="$HERE/results/compare-$STAMP.txt"
RAW="$WORK/raw.txt"
: >"$RAW"
T_START=$(date +%s)

# ---------------------------------------------------------------- measurement helpers
tree_pids() { echo "$1"; local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done; }
tree_ticks() {  # user+system clock ticks of a process and its children (all threads)
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + ${v:-0}))
  done
  echo $t
}
tree_status_kb() {  # FIELD PID: VmRSS/VmHWM summed over the process tree, kB
  local t=0 p v
  for p in $(tree_pids "$2"); do
    v=$(awk -v f="$1:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null) && t=$((t + ${v:-0}))
  done
  echo $t
}
threads_of() { awk '$1 == "Threads:" {print $2}' "/proc/$1/status" 2>/dev/null; }
box_busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
listen_overflows() { nstat -saz TcpExtListenOverflows 2>/dev/null | awk '$1 == "TcpExtListenOverflows" {print $2}'; }
HZ=$(getconf CLK_TCK)

wait_http() {  # URL [TRIES]: until it answers 200
  local i
  for i in $(seq 1 "${2:-100}"); do
    [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

# wrk lua script: the headers of HEADERS_FILE on every request, and one RESULT line at the end.
make_lua() {  # HEADERS_FILE OUT.lua
  {
    while IFS= read -r line; do
      [ -z "$line" ] && continue
      printf 'wrk.headers[ [==[%s]==] ] = [==[%s]==]\n' "${line%%:*}" "$(echo "${line#*:}" | sed 's/^ *//')"
    done <"$1"
    cat <<'LUA'
done = function(summary, latency, requests)
  local d = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f mbps=%.2f p50=%.3f p90=%.3f p99=%.3f max=%.3f reqs=%d e_connect=%d e_read=%d e_write=%d e_timeout=%d e_status=%d\n",
    summary.requests / d, summary.bytes / d / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.connect, e.read, e.write, e.timeout, e.status))
end
LUA
  } >"$2"
}

# wrk_run CONNS SECONDS LUA URL OUTFILE: time-bounded wrk with the pinning and thread rules.
wrk_threads() { if [ "$PIN" = 1 ] || [ "$1" -lt 2 ]; then echo 1; else echo 2; fi; }
wrk_run() {
  local c=$1 d=$2 lua=$3 url=$4 out=$5
  timeout $((d + 30)) "${CPRE[@]}" /usr/bin/time -f 'WRKCPU %U %S' -o "$out.time" \
    wrk -t"$(wrk_threads "$c")" -c"$c" -d"${d}s" --timeout 2s --latency -s "$lua" "$url" >"$out" 2>&1
}

# measure ROUND CASE CONNS SERVER PID LUA URL: warm-up 1 s, then DUR s; appends one RUN line.
measure() {
  local round=$1 case=$2 c=$3 name=$4 pid=$5 lua=$6 url=$7
  local out="$WORK/wrk.out"
  wrk_run "$c" 1 "$lua" "$url" "$WORK/warm.out"
  local t0 b0 t1 b1 rss
  t0=$(tree_ticks "$pid"); b0=$(box_busy_ticks)
  wrk_run "$c" "$DUR" "$lua" "$url" "$out" &
  local wpid=$!
  sleep "$(echo "$DUR / 2" | bc -l)"
  rss=$(tree_status_kb VmRSS "$pid")
  wait $wpid
  t1=$(tree_ticks "$pid"); b1=$(box_busy_ticks)
  local res; res=$(grep '^RESULT' "$out" | sed 's/^RESULT //')
  [ -n "$res" ] || { say "wrk gave no result for $name $case c=$c: $(tail -3 "$out" | tr '\n' ' ')"; res="rps=0 reqs=0"; }
  local wrkcpu; wrkcpu=$(awk '/^WRKCPU/ {printf "%.0f", ($2 + $3) * 100}' "$out.time" 2>/dev/null)
  local reqs; reqs=$(echo "$res" | tr ' ' '\n' | awk -F= '$1 == "reqs" {print $2}')
  local srv=$(( (t1 - t0) * 100 / HZ ))   # server CPU in % of one core over the run (x DUR)
  local busy=$(( (b1 - b0) * 100 / HZ ))
  local line="RUN round=$round case=$case conns=$c server=$name $res"
  line+=" srv_cpu=$((srv / DUR)) us_req=$(awk -v s="$srv" -v r="${reqs:-0}" 'BEGIN {printf "%.0f", (r > 0) ? (s * 1e4 / r) : 0}')"
  line+=" wrk_cpu=$(( ${wrkcpu:-0} / DUR )) other_cpu=$(( (busy - srv - ${wrkcpu:-0}) / DUR )) rss_kb=$rss"
  echo "$line" >>"$RAW"
  printf '  r%s %-9s c=%-4s %-14s %s\n' "$round" "$case" "$c" "$name" \
    "$(echo "$res" | awk '{print $1, $2, $3, $5}') cpu=$((srv / DUR))% err=$(echo "$res" | grep -o 'e_timeout=[0-9]*') $(echo "$res" | grep -o 'e_status=[0-9]*')" >&2
}

# probe N SPACING_S URL HEADERS_FILE OUT: N fresh curl clients (a new connection each), started
# SPACING_S apart (0: one after another), each capped at 2 s; OUT gets "status ms" lines.
probe() {
  local n=$1 gap=$2 url=$3 hf=$4 out=$5 i pids=()
  : >"$out"
  for i in $(seq 1 "$n"); do
    if [ "$gap" = 0 ]; then
      probe_one "$url" "$hf" >>"$out"
    else
      probe_one "$url" "$hf" >>"$out" &
      pids+=($!)
      sleep "$gap"
    fi
  done
  [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}" 2>/dev/null
  return 0
}
probe_one() {
  local r
  r=$("${CPRE[@]}" curl -s -o /dev/null --max-time 2 -H @"$2" -w '%{http_code} %{time_total}' "$1" 2>/dev/null)
  echo "${r:-000 2.0}" | awk '{printf "%s %.1f\n", $1, $2 * 1000}'
}
probe_summary() {  # OUT PREFIX -> "PREFIXmin=.. PREFIXmed=.. PREFIXmax=.. PREFIXfail=.." in ms;
  # a probe that is not answered 200 within 2 s is a failure and counts as 2000 ms
  awk '{ print (($1 == "200") ? $2 : 2000) }' "$1" | sort -g |
    awk -v p="$2" -v f="$(awk '$1 != "200"' "$1" | wc -l)" '{ v[NR] = $1 }
      END { n = NR; if (n == 0) { printf "%sn=0", p; exit }
            printf "%smin=%.1f %smed=%.1f %smax=%.1f %sfail=%d %sn=%d", p, v[1], p,
                   (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), p, v[n], p, f, p, n }'
}
prefixed() {  # PREFIX: "k=v k=v" on stdin -> "PREFIXk=v PREFIXk=v"
  sed "s/\([A-Za-z0-9_]*\)=/$1\1=/g"
}
result_of() { grep '^RESULT' "$1" | cut -d' ' -f2-; }

# ---------------------------------------------------------------- 1. otaserver and its setup
say "work dir $WORK; otaserver $("$BIN" --version | cut -d' ' -f2); DUR=${DUR}s ROUNDS=$ROUNDS PIN=$PIN"
"${SPRE[@]}" "$BIN" serve --data "$WORK/data" --listen 127.0.0.1:0 --port-file "$WORK/ota.port" \
  --access-log false --log-level warn $OTA_SERVE_ARGS >"$WORK/ota.out" 2>"$WORK/ota.err" &
OTA_PID=$!; PIDS+=($OTA_PID)
for _ in $(seq 1 200); do [ -s "$WORK/ota.port" ] && break; kill -0 $OTA_PID 2>/dev/null || break; sleep 0.05; done
[ -s "$WORK/ota.port" ] || die "otaserver did not start: $(tail -5 "$WORK/ota.err")"
S=http://127.0.0.1:$(cat "$WORK/ota.port")
wait_http "$S/healthz" || die "otaserver $S/healthz does not answer 200"
export OTA_SERVER=$S
OTA_TOKEN=$("$BIN" token create --data "$WORK/data" --name compare --scope admin 2>"$WORK/token.err") ||
  die "token create: $(cat "$WORK/token.err")"
export OTA_TOKEN

step() {  # DESCRIPTION CMD...: run a setup command; stop the run loudly if it fails
  local what=$1; shift
  "$@" >"$WORK/step.out" 2>"$WORK/step.err" || die "$what (exit $?): $(tail -20 "$WORK/step.err" "$WORK/step.out")"
}
for app in off on; do
  step "app create $app" "$BIN" app create $app
  step "keys generate $app" "$BIN" keys generate --app $app --keyid main --out "$WORK/cert-$app.pem"
done
step "app set on --asset-tokens true" "$BIN" app set on --asset-tokens true
grep -q '"asset_tokens":true' "$WORK/step.out" || die "app set did not turn asset tokens on: $(cat "$WORK/step.out")"
for app in off on; do
  step "publish update1 to $app" "$BIN" publish --dist "$FIX/update1" --app $app --runtime-version 1.0.0 \
    --expo-config "$FIX/expoConfig.json" --message "compare update1" --json
  cp "$WORK/step.out" "$WORK/pub1-$app.json"
  step "publish update2 --rollout-percent 10 to $app" "$BIN" publish --dist "$FIX/update2" --app $app \
    --runtime-version 1.0.0 --expo-config "$FIX/expoConfig.json" --message "compare update2" --rollout-percent 10 --json
  cp "$WORK/step.out" "$WORK/pub2-$app.json"
done

# A synthetic `expo export` dist: iOS only, a 4 MB (incompressible) bundle and a 50 KB png asset.
SY=$WORK/synthetic
mkdir -p "$SY/_expo/static/js/ios" "$SY/assets"
head -c 4194304 /dev/urandom >"$WORK/b4m.src"
head -c 51200 /dev/urandom >"$WORK/a50k.src"
BH=$(md5sum "$WORK/b4m.src" | cut -c1-32); AH=$(md5sum "$WORK/a50k.src" | cut -c1-32)
cp "$WORK/b4m.src" "$SY/_expo/static/js/ios/index-$BH.hbc"
cp "$WORK/a50k.src" "$SY/assets/$AH"
printf '{"version":0,"bundler":"metro","fileMetadata":{"ios":{"bundle":"_expo/static/js/ios/index-%s.hbc","assets":[{"path":"assets/%s","ext":"png"}]}}}\n' \
  "$BH" "$AH" >"$SY/metadata.json"
for app in off on; do
  step "publish synthetic to $app" "$BIN" publish --dist "$SY" --app $app --runtime-version synthetic-1 --platform ios \
    --expo-config "$FIX/expoConfig.json" --message "compare synthetic"
done

# Request headers, shared by curl (-H @file), the holder and the wrk lua scripts.
cat >"$WORK/manifest.hdrs" <<EOF
expo-platform: ios
expo-runtime-version: 1.0.0
expo-protocol-version: 1
accept: multipart/mixed,application/expo+json,application/json
expo-expect-signature: sig, keyid="main", alg="rsa-v1_5-sha256"
expo-channel-name: production
eas-client-id: $CLIENT_ID
EOF
printf 'eas-client-id: %s\n' "$CLIENT_ID" >"$WORK/asset.hdrs"
make_lua "$WORK/manifest.hdrs" "$WORK/manifest.lua"
make_lua "$WORK/asset.hdrs" "$WORK/asset.lua"

fetch() {  # NAME URL HEADERS_FILE: body -> $WORK/NAME.body, headers -> $WORK/NAME.head; dies unless 200
  local code
  code=$(curl -s --max-time 10 -D "$WORK/$1.head" -o "$WORK/$1.body" -H @"$3" -w '%{http_code}' "$2")
  [ "$code" = 200 ] || die "GET $2 answered $code: $(head -c 400 "$WORK/$1.body")"
}
header_of() { awk -v h="$(echo "$2" | tr A-Z a-z)" -F': ' 'tolower($1) == h {sub(/\r$/, "", $2); print $2}' "$WORK/$1.head" | tail -1; }

fetch m_off "$S/apps/off/manifest" "$WORK/manifest.hdrs"
fetch m_on "$S/apps/on/manifest" "$WORK/manifest.hdrs"
MCT=$(header_of m_off Content-Type)
case "$MCT" in multipart/mixed*) ;; *) die "manifest Content-Type is '$MCT', expected multipart/mixed" ;; esac
grep -q '^expo-signature: sig=' "$WORK/m_off.body" || die "manifest (tokens off) carries no signature"
grep -q '^expo-signature: sig=' "$WORK/m_on.body" || die "manifest (tokens on) carries no signature"
grep -q 'assetRequestHeaders' "$WORK/m_on.body" || die "manifest (tokens on) carries no asset tokens"
grep -q 'assetRequestHeaders' "$WORK/m_off.body" && die "manifest (tokens off) carries asset tokens"
# Which update the benchmark client gets (the fixed EAS-Client-ID is in or out of update2's 10 %).
SERVED=$("$PY" - "$WORK" <<'PY'
import json, re, sys
w = sys.argv[1]
body = open(w + "/m_off.body", "rb").read().decode()
m = json.loads(re.search(r'\r?\n\r?\n(\{.*?\})\r?\n--', body, re.S).group(1))
ids = {}
for n in ("pub1", "pub2"):
    for u in json.load(open("%s/%s-off.json" % (w, n)))["updates"]:
        if u["platform"] == "ios": ids[u["id"]] = n
print({"pub1": "update1 (client outside the 10% rollout of update2)",
       "pub2": "update2 (client inside the 10% rollout)"}.get(ids.get(m["id"]), "unknown update " + m["id"]))
PY
) || die "could not parse the manifest"

# The synthetic update's asset URLs, from its manifest (tokens off, and tokens on for the token).
printf 'expo-platform: ios\nexpo-runtime-version: synthetic-1\nexpo-protocol-version: 1\naccept: application/expo+json,application/json\n' \
  >"$WORK/synthetic.hdrs"
fetch syn_off "$S/apps/off/manifest" "$WORK/synthetic.hdrs"
printf 'expo-platform: ios\nexpo-runtime-version: synthetic-1\nexpo-protocol-version: 1\naccept: multipart/mixed\n' \
  >"$WORK/synthetic-mp.hdrs"
fetch syn_on "$S/apps/on/manifest" "$WORK/synthetic-mp.hdrs"
read -r URL4M URL50K < <("$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(m["launchAsset"]["url"], m["assets"][0]["url"])' "$WORK/syn_off.body") || die "no asset URLs in the synthetic manifest"
read -r URL50K_ON TOKEN50K < <("$PY" - "$WORK/syn_on.body" "$AH" <<'PY'
import json, re, sys
body = open(sys.argv[1], "rb").read().decode()
parts = re.findall(r'\r?\n\r?\n(\{.*?\})\r?\n--', body, re.S)
manifest, ext = json.loads(parts[0]), json.loads(parts[1])
asset = manifest["assets"][0]
print(asset["url"], ext["assetRequestHeaders"][sys.argv[2]]["ota-asset-token"])
PY
) || die "no asset token in the synthetic manifest of app on"
fetch a50k "$URL50K" "$WORK/asset.hdrs"
fetch b4m "$URL4M" "$WORK/asset.hdrs"
cmp -s "$WORK/a50k.body" "$WORK/a50k.src" || die "the 50 KB asset otaserver serves differs from what was published"
cmp -s "$WORK/b4m.body" "$WORK/b4m.src" || die "the 4 MB asset otaserver serves differs from what was published"
{ cat "$WORK/asset.hdrs"; echo "ota-asset-token: $TOKEN50K"; } >"$WORK/asset-tok.hdrs"
make_lua "$WORK/asset-tok.hdrs" "$WORK/asset-tok.lua"
fetch a50k_tok "$URL50K_ON" "$WORK/asset-tok.hdrs"
NOTOK=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$URL50K_ON")
[ "$NOTOK" = 401 ] || [ "$NOTOK" = 403 ] || die "app on serves its asset without a token (status $NOTOK)"
say "setup done: manifest ${#MCT} B type, $(wc -c <"$WORK/m_off.body") B body (tokens on: $(wc -c <"$WORK/m_on.body") B); client gets $SERVED"

# Idle means after the server's periodic malloc_trim (every 30 s) has run once since the setup's
# publishes; IDLE_WAIT=0 reads it at once (right after the publishes' peak).
sleep "${IDLE_WAIT:-35}"
IDLE_RSS=$(tree_status_kb VmRSS $OTA_PID); IDLE_HWM=$(tree_status_kb VmHWM $OTA_PID); IDLE_THR=$(threads_of $OTA_PID)

# ---------------------------------------------------------------- 2. nginx and min-httplib with the same bytes
WWW=$WORK/www
mkdir -p "$WWW" "$WORK/nginx/tmp"
cp "$WORK/m_off.body" "$WWW/manifest"
cp "$WORK/a50k.body" "$WWW/a50k"
cp "$WORK/b4m.body" "$WWW/b4m"
chmod 755 "$WWW"; chmod 644 "$WWW"/*
# The manifest's response headers other than framing ones, for nginx (add_header) and min-httplib.
grep -v '^HTTP/' "$WORK/m_off.head" | tr -d '\r' |
  grep -iv '^\(content-length\|keep-alive\|connection\|date\|transfer-encoding\|server\):' | grep . >"$WORK/m_off.resp_hdrs"
ADD_HDRS=$(grep -iv '^content-type:' "$WORK/m_off.resp_hdrs" |
  awk -F': ' '{v = substr($0, length($1) + 3); gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v); printf "add_header %s \"%s\" always; ", $1, v}')
A50K_CT=$(header_of a50k Content-Type); B4M_CT=$(header_of b4m Content-Type)
NGX_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off; master_process on; worker_processes $NGX_WORKERS; worker_rlimit_nofile 20000;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
  client_body_temp_path $WORK/nginx/tmp/b; proxy_temp_path $WORK/nginx/tmp/p; fastcgi_temp_path $WORK/nginx/tmp/f;
  uwsgi_temp_path $WORK/nginx/tmp/u; scgi_temp_path $WORK/nginx/tmp/s;
  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 65; keepalive_requests 1000;
  open_file_cache max=1000 inactive=60s; open_file_cache_valid 60s; open_file_cache_errors on;
  types { }
  server {
    listen 127.0.0.1:$NGX_PORT backlog=4096;
    root $WWW;
    location = /manifest { default_type "$MCT"; $ADD_HDRS }
    location = /a50k { default_type "$A50K_CT"; }
    location = /b4m { default_type "$B4M_CT"; }
  }
}
EOF
"${SPRE[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log" >"$WORK/nginx/out" 2>&1 &
NGX_PID=$!; PIDS+=($NGX_PID)
NGX=http://127.0.0.1:$NGX_PORT
wait_http "$NGX/manifest" 50 || die "nginx did not come up: $(tail -5 "$WORK/nginx/error.log" "$WORK/nginx/out" 2>/dev/null)"
fetch ngx_m "$NGX/manifest" "$WORK/manifest.hdrs"
cmp -s "$WORK/ngx_m.body" "$WORK/m_off.body" || die "nginx serves different manifest bytes"
[ "$(header_of ngx_m Content-Type)" = "$MCT" ] || die "nginx serves the manifest as '$(header_of ngx_m Content-Type)'"

HL_BIN=$ROOT/build/release/bench/min_httplib_same_bytes
if [ ! -x "$HL_BIN" ] || [ "$HERE/min_httplib_same_bytes.cpp" -nt "$HL_BIN" ]; then
  HL_BIN=$WORK/min_httplib_same_bytes
  g++ -O2 -std=c++17 -o "$HL_BIN" "$HERE/min_httplib_same_bytes.cpp" $(pkg-config --cflags --libs cpp-httplib) \
    -lssl -lcrypto -pthread 2>"$WORK/hl.build" || die "building min_httplib_same_bytes: $(cat "$WORK/hl.build")"
fi
"${SPRE[@]}" "$HL_BIN" "$WORK/m_off.body" "$WORK/m_off.resp_hdrs" "$WORK/hl.port" 1024 1024 >"$WORK/hl.out" 2>&1 &
HL_PID=$!; PIDS+=($HL_PID)
for _ in $(seq 1 100); do [ -s "$WORK/hl.port" ] && break; sleep 0.05; done
HL=http://127.0.0.1:$(cat "$WORK/hl.port" 2>/dev/null)/apps/off/manifest
wait_http "$HL" 50 || die "min_httplib_same_bytes did not come up: $(cat "$WORK/hl.out")"
fetch hl_m "$HL" "$WORK/manifest.hdrs"
cmp -s "$WORK/hl_m.body" "$WORK/m_off.body" || die "min-httplib serves different manifest bytes"
[ "$(header_of hl_m Content-Type)" = "$MCT" ] || die "min-httplib serves the manifest as '$(header_of hl_m Content-Type)'"

OTA_VERSION=$("$BIN" --version)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
  echo "# otaserver compare $STAMP  ($OTA_VERSION, $BIN)"
  echo "# machine: nproc=$(nproc) kernel=$(uname -r) cpu=\"$CPU_MODEL\" mem=$(awk '/MemTotal/ {printf "%.0fG", $2 / 1048576}' /proc/meminfo); $PINTXT"
  echo "# tools: $(nginx -v 2>&1 | sed 's/nginx version: //') (worker_processes $NGX_WORKERS, sendfile, open_file_cache), wrk 4.1 --timeout 2s --latency, 1 s warm-up, ${DUR} s runs, $ROUNDS round(s), medians"
  echo "# otaserver: defaults${OTA_SERVE_ARGS:+ + $OTA_SERVE_ARGS}, access log off; manifest = app 'off', iOS, protocol 1, signed, multipart, $(wc -c <"$WORK/m_off.body") B ($(wc -c <"$WORK/m_on.body") B with asset tokens); client gets $SERVED"
  echo "# min-httplib: bench/compare/min_httplib_same_bytes (same manifest bytes and headers, pool 1024, keep-alive 1000/5 s, TCP_NODELAY, backlog 1024)"
  echo "# box idle before start: $(vmstat 1 2 | tail -1 | awk '{print $15}')% (other jobs on this box add noise; compare ratios within this run)"
} >"$WORK/header.txt"
echo "IDLE rss_kb=$IDLE_RSS hwm_kb=$IDLE_HWM threads=$IDLE_THR wait_s=${IDLE_WAIT:-35}" >>"$RAW"

# ---------------------------------------------------------------- 3. throughput matrix
OTA_MAN=$S/apps/off/manifest
OTA_MAN_ON=$S/apps/on/manifest
# case conns server pid lua url — servers of one case/conns run back to back, rotated per round.
declare -a GROUPS_=()
for c in $CONNS; do
  GROUPS_+=("manifest|$c|nginx $NGX_PID manifest $NGX/manifest;min-httplib $HL_PID manifest $HL;ota-tok-off $OTA_PID manifest $OTA_MAN;ota-tok-on $OTA_PID manifest $OTA_MAN_ON")
  a50="nginx $NGX_PID asset $NGX/a50k;otaserver $OTA_PID asset $URL50K"
  [ "$c" = 64 ] && a50+=";ota-asset-token $OTA_PID asset-tok $URL50K_ON"
  GROUPS_+=("asset-50k|$c|$a50")
  GROUPS_+=("asset-4m|$c|nginx $NGX_PID asset $NGX/b4m;otaserver $OTA_PID asset $URL4M")
done
NRUNS=0; for g in "${GROUPS_[@]}"; do IFS=';' read -ra sv <<<"${g##*|}"; NRUNS=$((NRUNS + ${#sv[@]})); done
say "matrix: $NRUNS runs per round x $ROUNDS rounds, about $(( NRUNS * ROUNDS * (DUR + 2) / 60 + 1 )) min"
for r in $(seq 1 "$ROUNDS"); do
  say "round $r/$ROUNDS"
  for g in "${GROUPS_[@]}"; do
    IFS='|' read -r case c list <<<"$g"
    IFS=';' read -ra sv <<<"$list"
    n=${#sv[@]}
    for k in $(seq 0 $((n - 1))); do
      read -r name pid lua url <<<"${sv[$(( (k + r - 1) % n ))]}"
      kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) is no longer running"
      measure "$r" "$case" "$c" "$name" "$pid" "$WORK/$lua.lua" "$url"
    done
  done
done

# ---------------------------------------------------------------- 4. HOLD_N connections
hold_test() {  # NAME PID MANIFEST_URL: appends one C1K line
  local name=$1 pid=$2 url=$3
  local line="C1K server=$name"
  local hostport=${url#http://}; hostport=${hostport%%/*}
  local port=${hostport#*:} path=/${url#http://*/}
  local open_now="ss -Htn state established ( dport = :$port )"
  say "$HOLD_N connections: $name"
  line+=" rss_before_kb=$(tree_status_kb VmRSS "$pid") hwm_before_kb=$(tree_status_kb VmHWM "$pid") threads_before=$(threads_of "$pid")"
  # reference: wrk -c64 without holders, right before, and the fresh-client probe on a quiet server
  wrk_run 64 1 "$WORK/manifest.lua" "$url" "$WORK/warm.out"
  wrk_run 64 "$DUR" "$WORK/manifest.lua" "$url" "$WORK/base.out"
  line+=" $(result_of "$WORK/base.out" | prefixed base_)"
  probe 5 0 "$url" "$WORK/manifest.hdrs" "$WORK/probe0.out"
  line+=" $(probe_summary "$WORK/probe0.out" p0_)"
  # the holders: one manifest request per connection, then idle
  : >"$WORK/hold.status"
  "${CPRE[@]}" "$PY" "$HERE/hold_conns.py" "${hostport%:*}" "$port" "$path" "$WORK/manifest.hdrs" \
    "$HOLD_N" "$WORK/hold.status" --ready-timeout 30 --hold 600 >"$WORK/hold.out" 2>&1 &
  local hpid=$!; PIDS+=($hpid)
  # (a') fresh clients while the holders' burst is being answered (0.2-3 s after it starts)
  sleep 0.2
  probe 10 0.3 "$url" "$WORK/manifest.hdrs" "$WORK/probe_b.out" &
  local bpid=$!
  for _ in $(seq 1 400); do grep -q '^READY' "$WORK/hold.status" && break; kill -0 $hpid 2>/dev/null || break; sleep 0.1; done
  grep -q '^READY' "$WORK/hold.status" || die "holder did not get ready: $(cat "$WORK/hold.out")"
  line+=" $(grep '^READY' "$WORK/hold.status" | cut -d' ' -f2- | prefixed ready_)"
  wait $bpid
  line+=" $(probe_summary "$WORK/probe_b.out" pb_)"
  sleep 1
  line+=" rss_hold_kb=$(tree_status_kb VmRSS "$pid") hwm_hold_kb=$(tree_status_kb VmHWM "$pid") threads_hold=$(threads_of "$pid")"
  line+=" open_hold=$($open_now | wc -l)"
  # (a) fresh clients while the holders are open, one after another
  probe 10 0 "$url" "$WORK/manifest.hdrs" "$WORK/probe1.out"
  line+=" $(probe_summary "$WORK/probe1.out" p1_) open_after_probe=$($open_now | wc -l)"
  # (b) wrk -c64 while they are held, (c) RSS during it
  wrk_run 64 "$DUR" "$WORK/manifest.lua" "$url" "$WORK/held.out" &
  local wpid=$!
  sleep "$(echo "$DUR / 2" | bc -l)"
  line+=" rss_held_wrk_kb=$(tree_status_kb VmRSS "$pid")"
  wait $wpid
  line+=" $(result_of "$WORK/held.out" | prefixed held_)"
  kill -TERM $hpid 2>/dev/null; wait $hpid 2>/dev/null
  line+=" $(grep '^DONE' "$WORK/hold.status" | cut -d' ' -f2- | prefixed done_)"
  # wrk -c HOLD_N straight at the manifest, with fresh clients probed during it
  sleep 1
  local ov0; ov0=$(listen_overflows)
  wrk_run "$HOLD_N" 1 "$WORK/manifest.lua" "$url" "$WORK/warm.out"
  wrk_run "$HOLD_N" "$DUR" "$WORK/manifest.lua" "$url" "$WORK/c1k.out" &
  wpid=$!
  sleep 1.5
  local gap; gap=$(echo "g = ($DUR - 2.5) / 10; if (g < 0.1) g = 0.1; g" | bc -l)
  probe 10 "$gap" "$url" "$WORK/manifest.hdrs" "$WORK/probe2.out" &
  local ppid=$!
  sleep "$(echo "$DUR / 2 - 1.5" | bc -l | sed 's/^-.*/0/')"
  line+=" rss_c1k_kb=$(tree_status_kb VmRSS "$pid") threads_c1k=$(threads_of "$pid")"
  wait $wpid; wait $ppid
  line+=" $(result_of "$WORK/c1k.out" | prefixed c1k_) $(probe_summary "$WORK/probe2.out" p2_)"
  line+=" listen_overflows=$(( $(listen_overflows) - ov0 )) hwm_after_kb=$(tree_status_kb VmHWM "$pid")"
  echo "$line" >>"$RAW"
  say "  $line"
}
hold_test otaserver $OTA_PID "$OTA_MAN"
sleep 3   # let otaserver close what is left
hold_test nginx $NGX_PID "$NGX/manifest"

# ---------------------------------------------------------------- 5. report
T_END=$(date +%s)
echo "WALL seconds=$((T_END - T_START))" >>"$RAW"
{
  cat "$WORK/header.txt"
  "$PY" "$HERE/report.py" "$RAW" "$HOLD_N"
  echo "# wall time: $((T_END - T_START)) s"
} >"$WORK/table.txt" || die "report failed"
{ cat "$WORK/table.txt"; echo; echo "## raw lines"; cat "$RAW"; } >"$RESULTS"
cat "$WORK/table.txt"
echo "saved: $RESULTS"
