#!/usr/bin/env bash
# Installs the Debian 12 packages otaserver needs to build and test, if any are missing.
# Idempotent; runs `apt-get update` only when something must be installed.
set -euo pipefail

BUILD_PKGS=(cmake g++ make pkg-config libcpp-httplib-dev libsqlite3-dev librocksdb-dev libssl-dev
            nlohmann-json3-dev libspdlog-dev libgtest-dev libbz2-dev libdivsufsort-dev)
# chromium + playwright-core (npm) drive the admin page in tests/browser; nodejs/npm run them.
# bsdiff: Debian's bsdiff/bspatch, an independent implementation the delta tests check ours against.
TEST_PKGS=(curl openssl chromium chromium-driver nodejs npm bsdiff)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi

# Node may come from elsewhere (NodeSource, nvm): only ask apt for it when there is none at all.
installed() {
  case "$1" in
    nodejs) command -v node >/dev/null ;;
    npm) command -v npm >/dev/null ;;
    *) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" ;;
  esac
}

# The browser tests' npm packages, pinned by tests/browser/package-lock.json.
browser_modules() {
  [ "${1:-}" = "--test" ] || return 0
  local dir tests_dir
  tests_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  dir="$tests_dir/node_modules/playwright-core"
  if [ ! -f "$dir/package.json" ] || ! cmp -s "$tests_dir/package-lock.json" "$tests_dir/node_modules/.package-lock.json.copy"; then
    echo "dev/deps.sh: installing the browser tests' npm packages (npm ci in tests/browser)" >&2
    (cd "$tests_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$tests_dir/package-lock.json" "$tests_dir/node_modules/.package-lock.json.copy"
  fi
}

missing=()
for p in "${want[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  browser_modules "${1:-}"
  exit 0
fi

echo "dev/deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
browser_modules "${1:-}"
