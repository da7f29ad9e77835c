#!/usr/bin/env python3
"""End-to-end latency: a record accepted by the ingest API -> visible in a query (a plain script;
figures go to bench/RESULTS.md). Usage: bench/e2e_latency.py BUILD_DIR [SAMPLES]

Starts `sluice run` on a temporary data directory with a stream, a delivery with a 1 s buffer
interval, a processor (flatten) and an on_change crawler, then, SAMPLES times: POSTs one record with a
fresh id, and polls POST /v1/query for it every 20 ms; the latency is from the 200 of the POST to the
first query that returns the row. Prints p50/p90/p99/max."""
import json, os, re, signal, subprocess, sys, tempfile, time, urllib.request

build = sys.argv[1] if len(sys.argv) > 1 else "build"
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 30
work = tempfile.mkdtemp(prefix="sluice-e2e-")
with open(os.path.join(work, "pipeline.yaml"), "w") as f:
    f.write("""data_dir: ./data
server: {port: 0}
buckets: [lake]
streams:
  events: {shards: 1}
deliveries:
  to-raw:
    stream: events
    to: s3://lake/raw/events/
    buffer: {size: 1MiB, interval: 1s}
processors:
  events:
    input: {bucket: lake, prefix: raw/events/}
    steps: [flatten]
    output: {key: "processed/events/{name}.jsonl"}
crawlers:
  lake:
    database: lake
    targets: [s3://lake/processed/]
""")
daemon = subprocess.Popen([os.path.join(build, "src/cli/sluice"), "run", os.path.join(work, "pipeline.yaml")],
                          stderr=subprocess.PIPE, text=True)
port = None
for line in daemon.stderr:
    m = re.search(r"HTTP API on http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
base = f"http://127.0.0.1:{port}"


def post(path, body):
    req = urllib.request.Request(base + path, data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


latencies = []
try:
    for i in range(samples):
        status, _ = post("/v1/streams/events/records", json.dumps({"id": i, "user": {"name": "n%d" % i}}))
        assert status == 200
        accepted = time.monotonic()
        while True:
            status, body = post("/v1/query", json.dumps({"sql": "SELECT count(*) FROM events WHERE id = %d" % i}))
            if status == 200 and json.loads(body)["rows"][0][0] == "1":
                latencies.append(time.monotonic() - accepted)
                break
            if time.monotonic() - accepted > 30:
                raise SystemExit("record %d not visible after 30 s: %s" % (i, body))
            time.sleep(0.02)
        time.sleep(0.3 * (i % 4))  # arrivals at different points of the buffer interval
finally:
    daemon.send_signal(signal.SIGTERM)
    daemon.wait()
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
print("end to end, accepted -> visible in a query (1 s buffer interval), %d samples: p50 %.2f s, p90 %.2f s, "
      "p99 %.2f s, max %.2f s" % (len(latencies), pct(0.5), pct(0.9), pct(0.99), latencies[-1]))
