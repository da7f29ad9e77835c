#!/usr/bin/env bash
# Peak memory of one large extract: `sluice trigger` of a source whose single response is a 200 MB
# JSON array (stored byte for byte), and of one whose records_path is read and re-written as an array,
# served on loopback by python3's http.server; maximum resident set size from /usr/bin/time. Peer in
# the same run: curl -o of the same URL.
# Usage: bench/extract_memory.sh BUILD_DIR [MEGABYTES]   (OLD_SLUICE=path: also measure another binary)
set -euo pipefail
build=${1:-build}
megabytes=${2:-200}
sluice="$build/src/cli/sluice"
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work/big.json" "$megabytes" <<'PY'
import json, sys
path, megabytes = sys.argv[1], int(sys.argv[2])
user = {"name": "Leanne Graham", "email": "Sincere@april.biz",
        "address": {"street": "Kulas Light", "city": "Gwenborough", "geo": {"lat": "-37.3159", "lng": "81.1496"}},
        "company": {"name": "Romaguera-Crona", "catchPhrase": "Multi-layered client-server neural-net"}}
with open(path, "w") as f:
    f.write('{"results": [')
    i, size = 0, 0
    while size < megabytes << 20:
        user["id"] = i
        line = ("," if i else "") + json.dumps(user)
        f.write(line)
        size += len(line)
        i += 1
    f.write("]}")
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && exec python3 -m http.server "$port" --bind 127.0.0.1 > /dev/null 2>&1) &
server_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done

cat > "$work/pipeline.yaml" <<YAML
data_dir: $work/data
buckets: [bench]
sources:
  whole:
    url: http://127.0.0.1:$port/big.json
    max_response_bytes: 1073741824
    to: s3://bench/raw/whole.json
  records:
    url: http://127.0.0.1:$port/big.json
    records_path: results
    max_response_bytes: 1073741824
    to: s3://bench/raw/records.json
YAML
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -n1; }
size=$(stat -c %s "$work/big.json")
echo "response: $size bytes"
for source in whole records; do
  kb=$(peak "$sluice" trigger "$source" -p "$work/pipeline.yaml")
  test -s "$work/data/objects/bench/raw/$source.json" || { echo "the $source extract wrote nothing" >&2; exit 1; }
  echo "sluice trigger $source: peak RSS $((kb / 1024)) MB"
done
if [ -n "${OLD_SLUICE:-}" ]; then
  for source in whole records; do
    rm -rf "$work/data"
    kb=$(peak "$OLD_SLUICE" trigger "$source" -p "$work/pipeline.yaml")
    echo "$OLD_SLUICE trigger $source: peak RSS $((kb / 1024)) MB"
  done
fi
kb=$(peak curl -s -o "$work/curl.json" "http://127.0.0.1:$port/big.json")
echo "curl -o (peer): peak RSS $((kb / 1024)) MB"
