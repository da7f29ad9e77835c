#!/usr/bin/env bash
# Whole-path benchmark of the batch extract: `sluice trigger` of a schedule whose targets are all six
# JSONPlaceholder resources (users, posts, comments, albums, photos, todos), served by the loopback
# fixture, into raw objects (fsynced, with their ObjectCreated events). Each sample is one process
# start to exit. Peer in the same run: curl fetching the same six URLs into files, then sync.
# Usage: bench/extract_batch.sh BUILD_DIR [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-20}
sluice="$build/src/cli/sluice"
work=$(mktemp -d)
trap 'kill "$fixture_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$sluice" fixture --port 0 > "$work/fixture.url" &
fixture_pid=$!
for _ in $(seq 100); do [ -s "$work/fixture.url" ] && break; sleep 0.05; done
base=$(head -n1 "$work/fixture.url")

resources=(users posts comments albums photos todos)
{
  echo "data_dir: $work/data"
  echo "buckets: [bench]"
  echo "schedules:"
  echo "  all:"
  echo "    expression: cron(00 10 * * ? *)"
  echo "    targets: [$(IFS=,; echo "${resources[*]}")]"
  echo "sources:"
  for r in "${resources[@]}"; do
    echo "  $r:"
    echo "    url: $base/$r"
    echo "    to: s3://bench/raw/$r/jsonplaceholder_${r}_{date}.json"
  done
} > "$work/pipeline.yaml"

ms() { echo $(( ($2 - $1) / 1000000 )).$(( (($2 - $1) / 10000) % 100 )); }
stats() {  # prints min median p90 max of the numbers on stdin
  sort -n | awk '{a[NR]=$1} END {printf "min %.1f ms, median %.1f ms, p90 %.1f ms, max %.1f ms (n=%d)\n", a[1], a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[NR], NR}'
}

SLUICE_LOG=warn "$sluice" trigger all -p "$work/pipeline.yaml" > /dev/null  # warm-up (creates the data directory)
: > "$work/sluice.times"
for _ in $(seq "$runs"); do
  t0=$(date +%s%N)
  SLUICE_LOG=warn "$sluice" trigger all -p "$work/pipeline.yaml" > /dev/null
  t1=$(date +%s%N)
  ms "$t0" "$t1" >> "$work/sluice.times"
done
bytes=$(find "$work/data/objects" -type f -name '*.json' -printf '%s\n' | awk '{s+=$1} END {print s}')

: > "$work/curl.times"
mkdir -p "$work/curl"
for _ in $(seq "$runs"); do
  t0=$(date +%s%N)
  for r in "${resources[@]}"; do curl -sf -o "$work/curl/$r.json" "$base/$r"; done
  sync -f "$work/curl"
  t1=$(date +%s%N)
  ms "$t0" "$t1" >> "$work/curl.times"
done

echo "extract all six resources ($bytes bytes, 5,910 records) — $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "  sluice trigger (process start to exit): $(stats < "$work/sluice.times")"
echo "  peer: 6 x curl + sync:                  $(stats < "$work/curl.times")"
