#!/usr/bin/env bash
# bench/aws_kinesis.sh BUILD_DIR [SECONDS] [CONNECTIONS]: PutRecords through sluice's Kinesis API
# (X-Amz-Target Kinesis_20131202.PutRecords) beside sluice's native ingest endpoint (POST
# /v1/streams/NAME/records, NDJSON) on the same daemon and stream configuration, and kinesalite (npm)
# as the peer — all in one run, all driven by the same client (build/bench/ingest_bench) with the same
# records: 500 records of ~200 bytes per request, keep-alive connections, closed loop. Prints each
# one's acknowledged records/s and request latency percentiles (p50/p99/max).
# kinesalite is installed with npm into ${SLUICE_CACHE:-~/.cache/sluice}/kinesalite (outside the tree).
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
connections=${3:-2}
cd "$(dirname "$0")/.."
bench="$build/bench/ingest_bench"
work=$(mktemp -d)
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}/kinesalite"
cleanup() { kill "${sluice_pid:-}" "${kinesalite_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Two identical declared streams: one fed natively, one through the Kinesis API.
cat > "$work/pipeline.yaml" <<YAML
data_dir: ./data
server: {port: 0}
buckets: [raw]
streams:
  native: {shards: 1, fsync: always}
  kinesis: {shards: 1, fsync: always}
YAML
"$build/src/cli/sluice" run "$work/pipeline.yaml" 2> "$work/sluice.log" &
sluice_pid=$!
for _ in $(seq 200); do grep -q "HTTP API on" "$work/sluice.log" && break; sleep 0.1; done
port=$(sed -n 's/.*HTTP API on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/sluice.log")

if [ ! -x "$cache/node_modules/.bin/kinesalite" ]; then
  mkdir -p "$cache" && (cd "$cache" && npm install --silent --no-audit --no-fund kinesalite@3.3.3 >/dev/null)
fi
kport=$((port + 1))
"$cache/node_modules/.bin/kinesalite" --port "$kport" --createStreamMs 0 > "$work/kinesalite.log" 2>&1 &
kinesalite_pid=$!
for _ in $(seq 100); do grep -q "Listening" "$work/kinesalite.log" && break; sleep 0.1; done
"$bench" kinesis-create 127.0.0.1 "$kport" kinesis 1 > /dev/null

# The daemon's CPU time (user + system, in clock ticks) so far: what a run cost the server, which
# other processes on a shared machine disturb much less than throughput.
server_ticks() { awk '{print $14 + $15}' "/proc/$sluice_pid/stat"; }
# Runs the client once against sluice and adds the daemon's CPU nanoseconds per acknowledged record.
run_sluice() {
  local before after out records
  before=$(server_ticks)
  out=$("$bench" "$1" 127.0.0.1 "$port" "$2" "$seconds" "$connections")
  after=$(server_ticks)
  records=$(echo "$out" | sed -n 's/.*: \([0-9]*\) records in.*/\1/p')
  echo "$out; server CPU $(( (after - before) * 1000000000 / $(getconf CLK_TCK) / (records > 0 ? records : 1) )) ns/record"
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; $seconds s per run, $connections connections, 500 x ~200 B per request"
# Alternate the two sluice paths twice so that drift of the shared machine shows.
for round in 1 2; do
  echo -n "sluice native   (round $round): "; run_sluice native native
  echo -n "sluice kinesis  (round $round): "; run_sluice kinesis kinesis
done
echo -n "kinesalite kinesis:         "; "$bench" kinesis 127.0.0.1 "$kport" kinesis "$seconds" "$connections"
