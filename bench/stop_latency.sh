#!/usr/bin/env bash
# How long `sluice run` takes to stop on SIGTERM while a run is in flight (the issue asks for < 2 s):
# a loopback server that never answers in time holds an extraction open; the daemon is signalled
# 300 ms into it; the figure is signal to process exit. The interrupted run is retried at the next
# start (tests/cli: SigtermInterruptsRunAndRestartRetriesIt checks that part).
# Usage: bench/stop_latency.sh BUILD_DIR [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-5}
sluice="$build/src/cli/sluice"
work=$(mktemp -d)
cleanup() { kill "$slow_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A server that accepts and then sleeps for a minute before answering.
python3 - "$work/slow.port" <<'PY' &
import http.server, socketserver, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(60)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
server = Server(("127.0.0.1", 0), Slow)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
slow_pid=$!
for _ in $(seq 100); do [ -s "$work/slow.port" ] && break; sleep 0.05; done
slow_port=$(cat "$work/slow.port")

cat > "$work/pipeline.yaml" <<YAML
data_dir: $work/data
server: {port: 0}
buckets: [bench]
sources:
  slow:
    url: http://127.0.0.1:$slow_port/slow
    timeout: {total: 120s}
    to: s3://bench/raw/slow/{datetime}.json
YAML

: > "$work/stop.times"
for _ in $(seq "$runs"); do
  SLUICE_LOG=info "$sluice" run "$work/pipeline.yaml" 2> "$work/daemon.log" &
  daemon=$!
  port=""
  for _ in $(seq 200); do
    port=$(grep -o 'HTTP API on http://127.0.0.1:[0-9]*' "$work/daemon.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.02
  done
  curl -s -X POST "http://127.0.0.1:$port/v1/trigger/slow" > /dev/null &
  curl_pid=$!
  sleep 0.3
  t0=$(date +%s%N)
  kill -TERM "$daemon"
  wait "$daemon"
  t1=$(date +%s%N)
  wait "$curl_pid" || true
  echo $(( (t1 - t0) / 1000000 )) >> "$work/stop.times"
done
echo "SIGTERM with a run in flight -> exit ($(nproc) cores, $(date -u +%Y-%m-%d)): $(sort -n "$work/stop.times" | tr '\n' ' ')ms"
SLUICE_LOG=warn "$sluice" runs -p "$work/pipeline.yaml" --limit 3
