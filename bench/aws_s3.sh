#!/usr/bin/env bash
# bench/aws_s3.sh BUILD_DIR [SMALL_COUNT] [LARGE_MIB]: S3 PutObject/GetObject through sluice's S3 API
# with the AWS CLI (Debian's /usr/bin/aws, its default 10 concurrent requests and 8 MiB multipart
# parts), beside the disk's own bandwidth measured in the same run with dd (conv=fdatasync for
# writes; a read of a file dropped from the page cache is not possible without root, so the read
# figure is dd of the same file, as the CLI's GET will find it).
#   - SMALL_COUNT (default 500) objects of 1 KiB: `aws s3 cp --recursive` up, then down: objects/s.
#   - one LARGE_MIB (default 64) MiB object: `aws s3 cp` up (multipart), then down: MB/s.
# Each figure is the best of three runs (the CLI's own start-up, ~0.4 s, is included in each). The
# same large PUT and GET with curl (one request, no multipart) show the server without the CLI's cost.
set -euo pipefail
build=${1:-build}
small_count=${2:-500}
large_mib=${3:-64}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
cleanup() { kill "${sluice_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/pipeline.yaml" <<YAML
data_dir: ./data
server: {port: 0}
buckets: [bench]
YAML
"$build/src/cli/sluice" run "$work/pipeline.yaml" 2> "$work/sluice.log" &
sluice_pid=$!
for _ in $(seq 200); do grep -q "HTTP API on" "$work/sluice.log" && break; sleep 0.1; done
port=$(sed -n 's/.*HTTP API on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/sluice.log")

aws() {
  env -i PATH=/usr/bin:/bin HOME="$work" AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true /usr/bin/aws --endpoint-url "http://127.0.0.1:$port" "$@"
}
now() { date +%s.%N; }
best() { sort -g | head -1; }

mkdir -p "$work/small" "$work/down"
for i in $(seq "$small_count"); do head -c 1024 /dev/urandom > "$work/small/obj$i"; done
head -c $((large_mib << 20)) /dev/urandom > "$work/large.bin"

# The disk itself, in this run, on the file system that holds the data directory.
disk_write=$(dd if=/dev/zero of="$work/data/dd.bin" bs=1M count="$large_mib" conv=fdatasync 2>&1 | tail -1)
disk_read=$(dd if="$work/data/dd.bin" of=/dev/null bs=1M 2>&1 | tail -1)
rm -f "$work/data/dd.bin"

put_small=() get_small=() put_large=() get_large=() curl_put=() curl_get=()
for round in 1 2 3; do
  t0=$(now); aws s3 cp --recursive --quiet "$work/small" "s3://bench/small$round/"; t1=$(now)
  put_small+=("$(echo "$t1 - $t0" | bc -l)")
  rm -rf "$work/down"/*
  t0=$(now); aws s3 cp --recursive --quiet "s3://bench/small$round/" "$work/down/"; t1=$(now)
  get_small+=("$(echo "$t1 - $t0" | bc -l)")
  [ "$(ls "$work/down" | wc -l)" -eq "$small_count" ] || { echo "GET of the small objects lost some" >&2; exit 1; }
  t0=$(now); aws s3 cp --quiet "$work/large.bin" "s3://bench/large$round.bin"; t1=$(now)
  put_large+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); aws s3 cp --quiet "s3://bench/large$round.bin" "$work/down/large.bin"; t1=$(now)
  get_large+=("$(echo "$t1 - $t0" | bc -l)")
  cmp -s "$work/large.bin" "$work/down/large.bin" || { echo "the large object came back different" >&2; exit 1; }
  # Virtual-hosted and unsigned: accepted on loopback when no keys are configured.
  curl_put+=("$(curl -sf -o /dev/null -w '%{time_total}' -T "$work/large.bin" -H "Host: bench.localhost" \
    "http://127.0.0.1:$port/curl$round.bin")")
  curl_get+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Host: bench.localhost" "http://127.0.0.1:$port/curl$round.bin")")
done

t_put_small=$(printf '%s\n' "${put_small[@]}" | best)
t_get_small=$(printf '%s\n' "${get_small[@]}" | best)
t_put_large=$(printf '%s\n' "${put_large[@]}" | best)
t_get_large=$(printf '%s\n' "${get_large[@]}" | best)
t_curl_put=$(printf '%s\n' "${curl_put[@]}" | best)
t_curl_get=$(printf '%s\n' "${curl_get[@]}" | best)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(date -u +%F)"
echo "disk (dd, ${large_mib} MiB): write with fdatasync: $disk_write"
echo "disk (dd, ${large_mib} MiB): read back: $disk_read"
printf 'PutObject 1 KiB x %d (aws s3 cp --recursive): %.0f objects/s (best of 3: %.2f s)\n' "$small_count" \
  "$(echo "$small_count / $t_put_small" | bc -l)" "$t_put_small"
printf 'GetObject 1 KiB x %d (aws s3 cp --recursive): %.0f objects/s (best of 3: %.2f s)\n' "$small_count" \
  "$(echo "$small_count / $t_get_small" | bc -l)" "$t_get_small"
printf 'PutObject %d MiB (aws s3 cp, multipart): %.1f MB/s (best of 3: %.2f s)\n' "$large_mib" \
  "$(echo "$large_mib * 1.048576 / $t_put_large" | bc -l)" "$t_put_large"
printf 'GetObject %d MiB (aws s3 cp): %.1f MB/s (best of 3: %.2f s)\n' "$large_mib" \
  "$(echo "$large_mib * 1.048576 / $t_get_large" | bc -l)" "$t_get_large"
printf 'PutObject %d MiB (curl, one request): %.1f MB/s (best of 3: %.3f s)\n' "$large_mib" \
  "$(echo "$large_mib * 1.048576 / $t_curl_put" | bc -l)" "$t_curl_put"
printf 'GetObject %d MiB (curl, one request): %.1f MB/s (best of 3: %.3f s)\n' "$large_mib" \
  "$(echo "$large_mib * 1.048576 / $t_curl_get" | bc -l)" "$t_curl_get"
