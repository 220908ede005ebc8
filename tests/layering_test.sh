#!/bin/sh
# Checks that each module includes only the modules it may use (ARCHITECTURE.md) and that each
# third-party header appears only in the one module that owns it. The CMake link graph enforces
# the same at link time; this catches header-only back-edges the linker cannot see.
set -u
src=${1:?usage: layering_test.sh SRC_DIR}
cd "$src" || exit 2
fail=0

# module directory | project modules it may include
allowed() {
  case "$1" in
    common) echo "common" ;;
    crypto) echo "common crypto" ;;
    config) echo "common config" ;;
    storage/metadata) echo "common storage/metadata" ;;
    storage/blobs) echo "common crypto storage/blobs" ;;
    storage) echo "common crypto storage storage/metadata storage/blobs" ;;
    model) echo "model common crypto" ;;
    telemetry) echo "common storage/metadata telemetry" ;;
    protocol/patch) echo "common crypto model storage storage/metadata storage/blobs telemetry protocol/patch" ;;
    codec) echo "common codec" ;;
    delta) echo "common delta" ;;
    storage/repos) echo "common storage/metadata storage/repos" ;;
    auth) echo "common crypto storage/metadata auth" ;;
    admin) echo "common crypto model storage/metadata storage/repos auth telemetry admin" ;;
    publish) echo "common crypto model codec storage storage/metadata storage/blobs storage/repos auth publish" ;;
    protocol/expo) echo "common crypto model codec storage storage/metadata storage/blobs auth telemetry protocol/expo" ;;
    http) echo "common crypto model storage storage/metadata storage/blobs auth admin publish telemetry protocol/expo protocol/patch http" ;;
    app) echo "app common crypto config model codec storage storage/metadata storage/blobs storage/repos auth admin publish telemetry protocol/expo protocol/patch http" ;;
    *) echo "" ;;
  esac
}

for f in $(find . -name '*.h' -o -name '*.cpp' | sed 's|^\./||' | sort); do
  dir=$(dirname "$f")
  [ "$dir" = "." ] && continue  # main.cpp
  ok=$(allowed "$dir")
  for inc in $(grep -o '^#include "[^"]*"' "$f" | sed 's/#include "//; s/"$//'); do
    incdir=$(dirname "$inc")
    case " $ok " in
      *" $incdir "*) ;;
      *) echo "layering: $f includes $inc ($dir may use: $ok)"; fail=1 ;;
    esac
  done
done

# third-party header -> the only directory allowed to include it
check_owner() {
  pattern=$1 owner=$2
  for f in $(grep -rlE "#include <$pattern" . | sed 's|^\./||'); do
    case "$f" in
      "$owner"/*) ;;
      *) echo "layering: $f includes <$pattern...> which only $owner/ may use"; fail=1 ;;
    esac
  done
}
check_owner 'httplib\.h' http
check_owner 'sqlite3\.h' storage/metadata
check_owner 'rocksdb/' storage/blobs
check_owner 'openssl/' crypto
check_owner 'zlib\.h' codec
check_owner 'brotli/' codec
check_owner 'bzlib\.h' delta
check_owner 'divsufsort' delta

if [ $fail -eq 0 ]; then echo "layering: ok ($(find . -name '*.h' -o -name '*.cpp' | wc -l) files)"; fi
exit $fail
