#!/usr/bin/env bash
# Builds the Debian package of otaserver and checks it:
#
#     bash packaging/build-deb.sh
#
# -> build/deb/otaserver_<version>_amd64.deb (path printed last), and next to it
#    otaserver-dbgsym_<version>_amd64.ddeb with the separated debug info (not shipped).
#
# Steps: install missing build dependencies (apt, idempotent, like dev/deps.sh); configure a
# hardened Release build without tests in build/deb (PIE, full RELRO + BIND_NOW,
# _FORTIFY_SOURCE=2, -fstack-protector-strong; see cmake/Packaging.cmake); build; package with
# CPack (stripped binary, Depends from dpkg-shlibdeps); check the hardening of the binary, that
# the shipped otaserver.conf is accepted by the binary and names every setting, and run lintian
# (no error, no warning allowed).
#
# Environment: OTA_DEB_BUILD_DIR (default build/deb), OTA_DEB_JOBS (default: nproc),
# OTA_DEB_SKIP_LINTIAN=1 to skip the lintian gate (not for releases).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${OTA_DEB_BUILD_DIR:-$ROOT/build/deb}"
JOBS="${OTA_DEB_JOBS:-$(nproc)}"

say() { echo "build-deb: $*" >&2; }
die() { echo "build-deb: error: $*" >&2; exit 1; }

# --- 1. Dependencies: the project's build packages, then packaging tools.
bash "$ROOT/dev/deps.sh"
PKG_TOOLS=(dpkg-dev file gzip binutils lintian man-db)
missing=()
for p in "${PKG_TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. Configure and build: Release, no tests (so no test hooks), hardened, -g for the dbgsym.
# Reproducible: timestamps from the changelog, no build path in the debug info.
SOURCE_DATE_EPOCH="$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -STimestamp)"
export SOURCE_DATE_EPOCH
cmake -S "$ROOT" -B "$BUILD" \
  -DCMAKE_BUILD_TYPE=Release \
  -DOTA_BUILD_TESTS=OFF \
  -DOTA_HARDENING=ON \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_CXX_FLAGS="-g -ffile-prefix-map=$ROOT=." >/dev/null
cmake --build "$BUILD" -j "$JOBS"

BIN="$BUILD/otaserver"
VERSION="$("$BIN" --version | awk '{print $2}')"
CHANGELOG_VERSION="$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -SVersion)"
[ "${CHANGELOG_VERSION%%-*}" = "$VERSION" ] ||
  die "packaging/debian/changelog's newest entry is $CHANGELOG_VERSION, the binary is $VERSION: add an entry (dch -v $VERSION)"

# --- 3. Checks on the built binary, before packaging.
# Hardening, from the ELF headers (what hardening-check/lintian look at).
# (Outputs are captured first: `grep -q` on a pipe would kill readelf, and pipefail with it.)
elf_header="$(readelf -hW "$BIN")"; elf_segments="$(readelf -lW "$BIN")"
elf_dynamic="$(readelf -dW "$BIN")"; elf_dynsyms="$(readelf --dyn-syms -W "$BIN")"
grep -q 'Type: *DYN' <<<"$elf_header" || die "$BIN is not a PIE"
grep -q GNU_RELRO <<<"$elf_segments" || die "$BIN has no RELRO segment"
grep -Eq 'BIND_NOW|FLAGS_1.*NOW' <<<"$elf_dynamic" || die "$BIN is not linked with -z now"
grep -q '__stack_chk_fail' <<<"$elf_dynsyms" || die "$BIN has no stack protector"
grep -Eq '__[a-z]+_chk@' <<<"$elf_dynsyms" || die "$BIN has no fortified calls"
say "hardening ok: PIE, full RELRO, BIND_NOW, stack protector, _FORTIFY_SOURCE"

# The shipped config is accepted by this binary, and documents every setting it has.
CONF="$ROOT/packaging/otaserver.conf"
printed="$(env -u OTA_DATA -u OTA_LISTEN -u OTA_CONFIG "$BIN" serve --config "$CONF" --print-config)" \
  || die "the binary refuses packaging/otaserver.conf"
for key in $(printf '%s\n' "$printed" | awk '{print $1}' | grep -v '^config$'); do
  grep -Eq "^#?${key} =" "$CONF" || die "packaging/otaserver.conf does not mention the setting '$key'"
done
printf '%s\n' "$printed" | grep -Eq '^data = /var/lib/otaserver ' || die "otaserver.conf: data is not /var/lib/otaserver"
say "otaserver.conf ok: accepted, every setting mentioned"

# --- 4. Package.
rm -f "$BUILD"/otaserver_*.deb "$BUILD"/otaserver-dbgsym_*.ddeb
(cd "$BUILD" && cpack -G DEB >/dev/null) || die "cpack failed (rerun: cd $BUILD && cpack -G DEB --verbose)"
DEB="$BUILD/otaserver_${CHANGELOG_VERSION}_amd64.deb"
[ -f "$DEB" ] || die "cpack did not produce $DEB"

# --- 5. lintian: no error, no warning (overrides: packaging/debian/otaserver.lintian-overrides).
if [ "${OTA_DEB_SKIP_LINTIAN:-0}" != 1 ]; then
  lintian --fail-on error,warning --display-info "$DEB" || die "lintian found errors or warnings"
  say "lintian ok"
fi

echo "$DEB"
