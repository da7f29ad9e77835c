#!/usr/bin/env bash
# Installs everything sluice needs to build and test on Debian 12, idempotently.
#   - Debian packages (skipped when all are already installed), Chromium for the console's browser tests
#   - npm packages (npm ci) of web/ (the console; playwright-core drives /usr/bin/chromium and never
#     downloads a browser) and tests/storage/ (s3rver), when a package-lock.json is newer than its
#     node_modules
#   - DuckDB 1.4.4: libduckdb.so from npm @duckdb/node-bindings-linux-x64, duckdb.h from npm duckdb,
#     cached under ${SLUICE_CACHE:-~/.cache/sluice}; DUCKDB_ROOT=<dir with include/duckdb.h and lib/libduckdb.so>
#     skips the download.
# Prints the DuckDB root on its last line.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  libboost1.81-dev libcurl4-openssl-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev
  libsqlite3-dev libssl-dev libdeflate-dev libzstd-dev libhowardhinnant-date-dev tzdata
  libspdlog-dev libcli11-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  libpugixml-dev clang-14 libclang-rt-14-dev python3-boto3 awscli python3-prometheus-client
  chromium fonts-liberation
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from another packaging (nodesource ships npm inside nodejs): ask for the commands.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm packages, each folder from its lock file: web/ — the console's build (esbuild, its libraries)
# and browser tests (playwright-core, axe-core); tests/storage/ — s3rver, a peer of the S3 back-end.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for npm_dir in "$repo/web" "$repo/tests/storage"; do
  if [ -f "$npm_dir/package-lock.json" ] &&
     { [ ! -d "$npm_dir/node_modules" ] || [ "$npm_dir/package-lock.json" -nt "$npm_dir/node_modules" ]; }; then
    echo "setup: installing npm packages (npm ci --prefix ${npm_dir#"$repo"/})" >&2
    npm ci --prefix "$npm_dir" --no-audit --no-fund >&2
    touch "$npm_dir/node_modules"
  fi
done

DUCKDB_VERSION=1.4.4
DUCKDB_BINDINGS="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
if [ -n "${DUCKDB_ROOT:-}" ]; then
  root="$DUCKDB_ROOT"
else
  root="${SLUICE_CACHE:-$HOME/.cache/sluice}/duckdb-$DUCKDB_VERSION"
fi
if [ ! -f "$root/include/duckdb.h" ] || [ ! -f "$root/lib/libduckdb.so" ]; then
  if [ -n "${DUCKDB_ROOT:-}" ]; then
    echo "setup: DUCKDB_ROOT=$DUCKDB_ROOT has no include/duckdb.h and lib/libduckdb.so" >&2
    exit 1
  fi
  echo "setup: fetching DuckDB $DUCKDB_VERSION through npm into $root" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$DUCKDB_BINDINGS" "duckdb@$DUCKDB_VERSION" >/dev/null)
  mkdir -p "$work/bindings" "$work/duckdb"
  tar -xzf "$work"/duckdb-node-bindings-linux-x64-*.tgz -C "$work/bindings"
  tar -xzf "$work"/duckdb-$DUCKDB_VERSION.tgz -C "$work/duckdb" package/src/duckdb/src/include/duckdb.h
  mkdir -p "$root.tmp/include" "$root.tmp/lib"
  cp "$work/duckdb/package/src/duckdb/src/include/duckdb.h" "$root.tmp/include/"
  cp "$(find "$work/bindings" -name 'libduckdb.so' | head -n1)" "$root.tmp/lib/libduckdb.so"
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi
echo "$root"
