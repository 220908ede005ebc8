#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (README.md there explains the targets and figures).
#
#   tests/fuzz/run.sh smoke [SECONDS]   every target on its seed corpus for SECONDS (default 10)
#                                       each; non-zero exit on any finding. What CI calls.
#   tests/fuzz/run.sh long MINUTES      every target for MINUTES each, new corpus entries kept in
#                                       the work dir, then a line-coverage report per parser
#   tests/fuzz/run.sh coverage          only the coverage report, from the seeds and the work dir
#   tests/fuzz/run.sh build             only (re)build the fuzz targets
#
# Environment:
#   FUZZ_TARGETS   space-separated subset of targets (default: all)
#   FUZZ_WORK      work dir for corpora, findings and logs (default: build/fuzz/work); never the repo
#   FUZZ_BUILD     sanitizer build dir (default build/fuzz); FUZZ_COV_BUILD (default build/fuzz-cov)
#   FUZZ_JOBS      build parallelism (default 2)
#
# Targets run one at a time under `nice -n 10`: each uses one core.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="${FUZZ_BUILD:-$ROOT/build/fuzz}"
COV_BUILD="${FUZZ_COV_BUILD:-$ROOT/build/fuzz-cov}"
WORK="${FUZZ_WORK:-$BUILD/work}"
JOBS="${FUZZ_JOBS:-2}"
CLANG_VERSION=14

die() { echo "run.sh: $*" >&2; exit 2; }
need() { command -v "$1" >/dev/null || die "$1 not found (apt-get install clang-$CLANG_VERSION llvm-$CLANG_VERSION libclang-rt-$CLANG_VERSION-dev)"; }

configure_and_build() {  # DIR [extra cmake args...]
  local dir="$1"; shift
  need clang++
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    local gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    # Assertions stay on (no -DNDEBUG): Result::value() and nlohmann/json check their contracts.
    CC=clang CXX=clang++ nice -n 10 cmake "${gen[@]}" -S "$ROOT" -B "$dir" -DOTA_FUZZ=ON -DOTA_BUILD_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g" -DOTA_WERROR=ON "$@" >/dev/null
  fi
  nice -n 10 cmake --build "$dir" --target fuzzers tar_seed -j "$JOBS" >"$dir/build.log" 2>&1 ||
    { tail -40 "$dir/build.log" >&2; die "build of $dir failed (log: $dir/build.log)"; }
}

targets() {
  if [[ -n "${FUZZ_TARGETS:-}" ]]; then echo "$FUZZ_TARGETS"; else cut -d' ' -f1 "$BUILD/fuzz/targets.txt"; fi
}

parsers_of() { awk -v t="$1" '$1 == t { for (i = 2; i <= NF; i++) print $i }' "$BUILD/fuzz/targets.txt"; }

dict_of() {
  case "$1" in
    export_metadata | app_config | commit_request | rollback_request | patch_request) echo "$HERE/json.dict" ;;
    *) [[ -f "$HERE/$1.dict" ]] && echo "$HERE/$1.dict" || true ;;
  esac
}

# Children's CPU seconds so far (user + system), from the shell's own `times` (a $(...) subshell
# would report its own, empty, children).
child_cpu_seconds() {  # VAR
  times >"$WORK/.times"
  printf -v "$1" '%s' "$(tail -1 "$WORK/.times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.1f", n }')"
}

# run_target NAME SECONDS: fuzzes NAME for SECONDS; new inputs go to $WORK/corpus/NAME, findings
# to $WORK/findings. Prints one line; returns non-zero on a finding.
run_target() {
  local t="$1" secs="$2"
  local bin="$BUILD/fuzz/${t}_fuzz" seeds="$HERE/corpus/$t" corpus="$WORK/corpus/$t" log="$WORK/logs/$t.log"
  [[ -x "$bin" ]] || die "no fuzz target $t (known: $(targets | tr '\n' ' '))"
  mkdir -p "$corpus" "$WORK/findings" "$WORK/logs"
  local args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1
              -artifact_prefix="$WORK/findings/$t-")
  local dict; dict="$(dict_of "$t")"
  [[ -n "$dict" ]] && args+=(-dict="$dict")
  local before after rc=0
  child_cpu_seconds before
  # The first corpus dir receives new inputs: the work dir, never the seeds in the repository.
  ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    timeout --kill-after=30 $((secs + 120)) nice -n 10 "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  child_cpu_seconds after
  local execs cov ft corp
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  read -r cov ft <<<"$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')"
  corp="$(find "$corpus" "$seeds" -type f | wc -l)"
  local verdict="ok"
  if [[ $rc -ne 0 ]] || compgen -G "$WORK/findings/$t-*" >/dev/null; then verdict="FINDING (log: $log)"; rc=1; fi
  printf '%-18s cpu %6.1f s  execs %10s  cov %5s  ft %6s  corpus %5s  %s\n' "$t" \
    "$(awk -v a="$before" -v b="$after" 'BEGIN { print b - a }')" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$verdict"
  return $rc
}

# Line coverage of each parser file from the seeds plus the work corpus: per target (its own
# files), then per file over every target that compiles it.
coverage_report() {
  need llvm-profdata-$CLANG_VERSION
  need llvm-cov-$CLANG_VERSION
  configure_and_build "$COV_BUILD" -DOTA_FUZZ_COVERAGE=ON
  local prof="$WORK/coverage"
  rm -rf "$prof" && mkdir -p "$prof"
  local t
  for t in $(targets); do
    mkdir -p "$WORK/corpus/$t"
    LLVM_PROFILE_FILE="$prof/$t.profraw" timeout 1800 nice -n 10 "$COV_BUILD/fuzz/${t}_fuzz" -runs=0 \
      "$WORK/corpus/$t" "$HERE/corpus/$t" >"$prof/$t.log" 2>&1 || { tail -5 "$prof/$t.log" >&2; die "coverage run of $t failed"; }
    llvm-profdata-$CLANG_VERSION merge -sparse "$prof/$t.profraw" -o "$prof/$t.profdata"
  done
  echo "line coverage per target (its parser files; seeds + $WORK/corpus):"
  for t in $(targets); do
    local files=()
    mapfile -t files < <(parsers_of "$t" | sed "s|^|$ROOT/|")
    llvm-cov-$CLANG_VERSION export -summary-only -instr-profile="$prof/$t.profdata" "$COV_BUILD/fuzz/${t}_fuzz" \
      "${files[@]}" >"$prof/$t.json"
    python3 - "$t" "$prof/$t.json" "$ROOT" <<'PY'
import json, sys
name, path, root = sys.argv[1], sys.argv[2], sys.argv[3] + "/"
data = json.load(open(path))["data"][0]
parts = ["%s %.1f%% (%d/%d)" % (f["filename"].replace(root, ""), f["summary"]["lines"]["percent"],
         f["summary"]["lines"]["covered"], f["summary"]["lines"]["count"]) for f in data["files"]]
t = data["totals"]["lines"]
print("  %-18s lines %5.1f%% (%d/%d): %s" % (name, t["percent"], t["covered"], t["count"], "; ".join(parts)))
PY
  done
  echo "line coverage per parser file (every target that compiles it):"
  local file
  for file in $(for t in $(targets); do parsers_of "$t"; done | sort -u); do
    local users=() objects=() profs=()
    for t in $(targets); do parsers_of "$t" | grep -qxF "$file" && users+=("$t"); done
    for t in "${users[@]}"; do profs+=("$prof/$t.profraw"); objects+=(-object "$COV_BUILD/fuzz/${t}_fuzz"); done
    local merged="$prof/$(echo "$file" | tr '/' '_').profdata"
    llvm-profdata-$CLANG_VERSION merge -sparse "${profs[@]}" -o "$merged"
    llvm-cov-$CLANG_VERSION export -summary-only -instr-profile="$merged" "${objects[@]:1}" "$ROOT/$file" \
      >"$merged.json" 2>/dev/null
    python3 - "$file" "$merged.json" "${users[*]}" <<'PY'
import json, sys
name, path, users = sys.argv[1], sys.argv[2], sys.argv[3]
t = json.load(open(path))["data"][0]["totals"]["lines"]
print("  %-44s lines %5.1f%% (%d/%d)  [%s]" % (name, t["percent"], t["covered"], t["count"], users))
PY
  done
  echo "html: llvm-cov-$CLANG_VERSION show -format=html -instr-profile=$prof/<target>.profdata $COV_BUILD/fuzz/<target>_fuzz <files>"
}

cmd="${1:-smoke}"
case "$cmd" in
  build)
    configure_and_build "$BUILD"
    ;;
  smoke)
    secs="${2:-10}"
    configure_and_build "$BUILD"
    # A fresh work dir per smoke run: only the committed seeds count.
    WORK="${FUZZ_WORK:-$BUILD/smoke}"
    rm -rf "$WORK"
    failed=0
    for t in $(targets); do run_target "$t" "$secs" || failed=1; done
    [[ $failed -eq 0 ]] && echo "fuzz smoke: no findings" || echo "fuzz smoke: FINDINGS (reproduce: <target>_fuzz <file in $WORK/findings>)"
    exit $failed
    ;;
  long)
    minutes="${2:?usage: run.sh long MINUTES}"
    configure_and_build "$BUILD"
    failed=0
    for t in $(targets); do run_target "$t" $((minutes * 60)) || failed=1; done
    for t in $(targets); do
      # Keep the work corpus small: merge (minimize) it against the seeds.
      mkdir -p "$WORK/corpus/$t.min"
      nice -n 10 "$BUILD/fuzz/${t}_fuzz" -merge=1 -max_len=8192 -timeout=10 "$WORK/corpus/$t.min" "$WORK/corpus/$t" \
        >"$WORK/logs/$t.merge.log" 2>&1 && { rm -rf "$WORK/corpus/$t"; mv "$WORK/corpus/$t.min" "$WORK/corpus/$t"; } ||
        rm -rf "$WORK/corpus/$t.min"
    done
    coverage_report
    [[ $failed -eq 0 ]] && echo "fuzz long: no findings" || echo "fuzz long: FINDINGS in $WORK/findings"
    exit $failed
    ;;
  coverage)
    [[ -f "$BUILD/fuzz/targets.txt" ]] || configure_and_build "$BUILD"
    coverage_report
    ;;
  *)
    sed -n '2,18p' "$0" >&2
    exit 2
    ;;
esac
