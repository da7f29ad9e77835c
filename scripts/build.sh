#!/usr/bin/env bash
# scripts/build.sh BUILD_DIR [cmake -D options...]: configure (once) and build with Ninja.
set -euo pipefail
build=$1; shift
root=$(scripts/setup.sh | tail -n1)
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DDUCKDB_ROOT="$root" "$@" > /dev/null
fi
ninja -C "$build"
