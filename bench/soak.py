#!/usr/bin/env python3
"""Soak: mixed ingest, queries and hostile idle/slow clients against `sluice run`, with kill -9 every
KILL_EVERY seconds, for MINUTES minutes (a plain script; figures go to bench/RESULTS.md).

Usage: bench/soak.py BUILD_DIR [MINUTES=10] [KILL_EVERY=60]

The daemon runs the near-real-time path: a 2-shard stream (fsync always) -> a delivery with a 1 s
buffer -> a flatten processor -> an on_change crawler -> queries. Beside it, at the same time:
  - 2 producers POST batches of 200 records (~200 bytes, unique ids), 20 batches a second each (8,000
    records/s in all: a soak, not a throughput test), and remember which batches were acknowledged (200); a failed batch is never retried with the same ids, so a duplicate can only
    come from sluice;
  - a query client runs `SELECT count(*)` twice a second and, every ~30 s, a 500,000-row `SELECT *`
    (streamed to its CSV result, capped inline);
  - a hostile client keeps 300 idle connections open and 5 slow-header ones (1 byte per second);
  - a probe GETs /v1/health every second (it must be served throughout);
  - the daemon's RSS is sampled every 2 s.
At the end the daemon is restarted cleanly, left to deliver and process what it holds, stopped, and
every delivered raw object is read: each acknowledged id must appear exactly once (lost and duplicated
are counted), and the processed table is counted with `sluice query`."""
import collections, glob, http.client, json, os, random, re, signal, socket, subprocess, sys, tempfile
import threading, time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
minutes = float(sys.argv[2]) if len(sys.argv) > 2 else 10
kill_every = float(sys.argv[3]) if len(sys.argv) > 3 else 60
sluice = os.path.join(build, "src/cli/sluice")
work = tempfile.mkdtemp(prefix="sluice-soak-")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
pipeline = os.path.join(work, "pipeline.yaml")
with open(pipeline, "w") as f:
    f.write(f"""data_dir: ./data
server: {{port: {port}}}
buckets: [lake]
streams:
  events: {{shards: 2, min_free_disk: 0}}
deliveries:
  to-raw:
    stream: events
    to: s3://lake/raw/events/
    buffer: {{size: 4MiB, interval: 1s}}
processors:
  events:
    input: {{bucket: lake, prefix: raw/events/}}
    steps: [flatten]
    output: {{key: "processed/events/{{name}}.jsonl"}}
crawlers:
  lake:
    database: lake
    targets: [s3://lake/processed/]
query:
  timeout: 60s
""")

stop = threading.Event()
lock = threading.Lock()
daemon = {"proc": None, "kills": 0, "ready_s": []}
acked, unacked = set(), set()
lat = collections.defaultdict(list)  # name -> seconds
errors = collections.Counter()
first_error = {}  # kind -> the first answer of that kind
rss = []  # (t, kB)
t0 = time.monotonic()


def start_daemon():
    log = open(os.path.join(work, "daemon.log"), "a")
    started = time.monotonic()
    proc = subprocess.Popen([sluice, "run", pipeline], stderr=log, stdout=log)
    while time.monotonic() - started < 60:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    daemon["ready_s"].append(time.monotonic() - started)
    daemon["proc"] = proc


def killer():
    while not stop.wait(kill_every):
        with lock:
            daemon["proc"].send_signal(signal.SIGKILL)
            daemon["proc"].wait()
            daemon["kills"] += 1
            start_daemon()


def request(method, path, body=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Retry-After")
    finally:
        conn.close()


def producer(n):
    seq = 0
    while not stop.is_set():
        ids = [f"p{n}-{seq + i}" for i in range(200)]
        seq += 200
        body = "\n".join(json.dumps({"id": i, "v": random.random(), "user": {"name": "x" * 120}}) for i in ids)
        began = time.monotonic()
        try:
            status, _, retry = request("POST", "/v1/streams/events/records", body.encode(), timeout=30)
        except OSError:
            status, retry = 0, None
        with lock:
            if status == 200:
                acked.update(ids)
                lat["ingest ack"].append(time.monotonic() - began)
            else:
                unacked.update(ids)
                errors[f"ingest {status}"] += 1
        if status != 200:
            time.sleep(float(retry) if retry else 0.2)
        else:
            time.sleep(max(0.0, 0.05 - (time.monotonic() - began)))


def querier():
    i = 0
    while not stop.is_set():
        big = i % 60 == 59  # about every 30 s: a large result, streamed to its CSV, capped inline
        sql = "SELECT * FROM events LIMIT 500000" if big else "SELECT count(*) FROM events"
        name = "query select * limit 500000" if big else "query count(*)"
        began = time.monotonic()
        try:
            status, body, _ = request("POST", "/v1/query", json.dumps({"sql": sql}).encode())
        except OSError as e:
            status, body = 0, str(e).encode()
        if status == 200:
            lat[name].append(time.monotonic() - began)
        else:
            errors[f"{name} {status}"] += 1
            first_error.setdefault(f"{name} {status}", body[:200])
        i += 1
        time.sleep(0.5)


def hostile():
    idle, slow = [], []
    while not stop.is_set():
        idle = [s for s in idle if s.fileno() >= 0]
        try:
            while len(idle) < 300:
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=1))
            while len(slow) < 5:
                slow.append(socket.create_connection(("127.0.0.1", port), timeout=1))
            for s in list(slow):
                try:
                    s.send(b"G")
                except OSError:
                    s.close()
                    slow.remove(s)
                    errors["slow client closed by the server"] += 1
        except OSError:
            for s in idle + slow:
                s.close()
            idle, slow = [], []
        time.sleep(1)
    for s in idle + slow:
        s.close()


def probe():
    while not stop.is_set():
        began = time.monotonic()
        try:
            status, _, _ = request("GET", "/v1/health", timeout=5)
        except OSError:
            status = 0
        if status == 200:
            lat["health (beside 300 idle sockets)"].append(time.monotonic() - began)
        else:
            errors[f"health {status}"] += 1
        time.sleep(1)


def sampler():
    while not stop.wait(2):
        try:
            with open(f"/proc/{daemon['proc'].pid}/status") as f:
                kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            rss.append((time.monotonic() - t0, kb))
        except (OSError, AttributeError):
            pass


start_daemon()
threads = [threading.Thread(target=fn, args=args) for fn, args in
           [(killer, ()), (producer, (0,)), (producer, (1,)), (querier, ()), (hostile, ()), (probe, ()),
            (sampler, ())]]
for t in threads:
    t.start()
time.sleep(minutes * 60)
stop.set()
for t in threads:
    t.join()
# A clean finish: let the delivery and the processor drain what the stream holds, then stop.
daemon["proc"].send_signal(signal.SIGKILL)
daemon["proc"].wait()
start_daemon()
time.sleep(15)
daemon["proc"].send_signal(signal.SIGTERM)
daemon["proc"].wait()

seen = collections.Counter()
for path in glob.glob(os.path.join(work, "data/objects/lake/raw/events/**/*"), recursive=True):
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    seen[json.loads(line)["id"]] += 1
lost = [i for i in acked if seen[i] == 0]
dups = [i for i, c in seen.items() if c > 1]
unacked_delivered = sum(1 for i in unacked if seen[i] > 0)
table = subprocess.run([sluice, "query", "SELECT count(*), count(DISTINCT id) FROM events", "-p", pipeline,
                        "--format", "csv"], capture_output=True, text=True).stdout.strip().splitlines()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


print(f"soak: {minutes:g} min, kill -9 every {kill_every:g} s ({daemon['kills']} kills), "
      f"restart to listening p50 {pct(daemon['ready_s'], 0.5):.2f} s")
print(f"records acknowledged {len(acked):,}, lost {len(lost)}, duplicated {len(dups)}; "
      f"not acknowledged {len(unacked):,} (of which delivered anyway: {unacked_delivered:,})")
print(f"processed table (count, distinct ids): {table[-1] if table else 'n/a'}")
for name, xs in sorted(lat.items()):
    print(f"{name}: n={len(xs)} p50 {pct(xs, 0.5) * 1000:.1f} ms, p99 {pct(xs, 0.99) * 1000:.1f} ms, "
          f"max {max(xs) * 1000:.1f} ms")
for name, n in sorted(errors.items()):
    print(f"{name}: {n}" + (f" (first: {first_error[name]!r})" if name in first_error else ""))
per_minute = collections.defaultdict(list)
for t, kb in rss:
    per_minute[int(t // 60)].append(kb)
print("daemon RSS per minute (max MB): " +
      ", ".join(f"{m}: {max(v) / 1024:.0f}" for m, v in sorted(per_minute.items())))
print(f"work directory: {work}")
sys.exit(1 if lost or dups else 0)
