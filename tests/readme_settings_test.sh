#!/bin/sh
# README.md's settings table must be exactly what `otaserver help settings` generates from the
# settings table in the code, so the docs can never drift from the binary.
set -u
bin=${1:?usage: readme_settings_test.sh OTASERVER README}
readme=${2:?}
expected=$("$bin" help settings) || { echo "otaserver help settings failed"; exit 1; }
actual=$(sed -n '/<!-- settings:begin -->/,/<!-- settings:end -->/p' "$readme" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
  echo "README.md settings table is out of date; replace it with the output of \`otaserver help settings\`:"
  echo "$expected"
  exit 1
fi
echo "README settings table matches ($(echo "$expected" | wc -l) lines)"
