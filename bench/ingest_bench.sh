#!/usr/bin/env bash
# bench/ingest_bench.sh BUILD_DIR [SECONDS]: durable ingest throughput and acknowledgement latency of
# sluice's POST /v1/streams/NAME/records (fsync: always, 1 and 2 shards), and of kinesalite (npm) as
# the peer, driven by the same client (build/bench/ingest_bench) with the same ~200-byte records, 500
# per request, over keep-alive connections; then each at about half of its closed-loop throughput.
# kinesalite is installed with npm into ${SLUICE_CACHE:-~/.cache/sluice}/kinesalite (outside the tree).
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
cd "$(dirname "$0")/.."
bench="$build/bench/ingest_bench"
work=$(mktemp -d)
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}/kinesalite"
cleanup() { kill "${sluice_pid:-}" "${kinesalite_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/pipeline.yaml" <<YAML
data_dir: ./data
server: {port: 0}
buckets: [raw]
streams:
  one: {shards: 1, fsync: always}
  two: {shards: 2, fsync: always}
YAML
"$build/src/cli/sluice" run "$work/pipeline.yaml" 2> "$work/sluice.log" &
sluice_pid=$!
for _ in $(seq 100); do grep -q "HTTP API on" "$work/sluice.log" && break; sleep 0.1; done
port=$(sed -n 's/.*HTTP API on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/sluice.log")
for stream in one two; do
  for connections in 2 4; do "$bench" native 127.0.0.1 "$port" "$stream" "$seconds" "$connections"; done
done
best=$("$bench" native 127.0.0.1 "$port" one "$seconds" 2 | tee /dev/stderr | sed 's/.*= \([0-9]*\) records\/s.*/\1/')
"$bench" native 127.0.0.1 "$port" one "$seconds" 2 $((best / 2))

if [ ! -x "$cache/node_modules/.bin/kinesalite" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm install --silent --no-audit --no-fund kinesalite@3.3.3 >/dev/null)
fi
kport=$((port + 1))
"$cache/node_modules/.bin/kinesalite" --port "$kport" --createStreamMs 0 > "$work/kinesalite.log" 2>&1 &
kinesalite_pid=$!
for _ in $(seq 100); do grep -q "Listening" "$work/kinesalite.log" && break; sleep 0.1; done
"$bench" kinesis-create 127.0.0.1 "$kport" one 1 > /dev/null
"$bench" kinesis-create 127.0.0.1 "$kport" two 2 > /dev/null
for stream in one two; do "$bench" kinesis 127.0.0.1 "$kport" "$stream" "$seconds" 2; done
kbest=$("$bench" kinesis 127.0.0.1 "$kport" one "$seconds" 2 | tee /dev/stderr | sed 's/.*= \([0-9]*\) records\/s.*/\1/')
"$bench" kinesis 127.0.0.1 "$kport" one "$seconds" 2 $((kbest / 2))
