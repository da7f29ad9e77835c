// Stream throughput: put() of ~200-byte JSON records in batches of 500 with fsync kAlways (group
// commit), from 1 and 2 threads into 1 and 2 shards — records/s, MB/s and put() latency — then
// sequential reads of everything written. Also the cost of the MD5 routing and of one fdatasync.
// Usage: stream_bench [SECONDS_PER_CASE (default 3)] [DIRECTORY (default: the temp directory)]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "stream/local_stream.h"
#include "stream/stream.h"

using namespace sluice;
using namespace sluice::stream;
using Steady = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 500;

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

// randomuser.me-shaped records of about 200 bytes.
std::vector<PutRecord> make_batch(size_t thread, size_t batch) {
  std::vector<PutRecord> out;
  for (size_t i = 0; i < kBatch; ++i) {
    const size_t id = (thread * 1'000'003 + batch * kBatch + i) % 100'000;
    char data[256];
    std::snprintf(data, sizeof data,
                  "{\"id\":%zu,\"gender\":\"female\",\"name\":{\"first\":\"Louane\",\"last\":\"Vidal\"},"
                  "\"email\":\"louane.vidal%zu@example.com\",\"city\":\"Perpignan\",\"country\":\"France\","
                  "\"registered\":\"2017-02-13T09:46:11.337Z\",\"age\":%zu}",
                  id, id, 18 + id % 60);
    out.push_back({"user-" + std::to_string(id), data, std::nullopt});
  }
  return out;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void fdatasync_cost(const std::filesystem::path& dir) {
  const auto path = dir / "fdatasync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string block(4096, 'x');
  const int n = 200;
  const auto start = Steady::now();
  for (int i = 0; i < n; ++i) {
    if (::write(fd, block.data(), block.size()) < 0 || ::fdatasync(fd) != 0) break;
  }
  std::printf("append 4 KiB + fdatasync: %.3f ms each\n", seconds_since(start) * 1000 / n);
  ::close(fd);
  std::filesystem::remove(path);
}

void md5_cost() {
  const int n = 1'000'000;
  uint64_t sink = 0;
  const auto start = Steady::now();
  for (int i = 0; i < n; ++i) sink += static_cast<uint64_t>(hash_key_for("user-" + std::to_string(i)) >> 120);
  std::printf("MD5 routing (hash_key_for): %.0f ns a key (checksum %llu)\n", seconds_since(start) * 1e9 / n,
              static_cast<unsigned long long>(sink));
}

void run_case(const std::filesystem::path& root, int shards, int threads, double seconds) {
  const auto dir = root / ("s" + std::to_string(shards) + "-t" + std::to_string(threads));
  std::filesystem::remove_all(dir);
  StreamConfig config;
  config.name = "bench";
  config.shards = shards;
  config.fsync = StreamConfig::FsyncPolicy::kAlways;
  size_t records = 0, bytes = 0;
  std::vector<double> latencies_ms;
  double elapsed = 0;
  {
    LocalStream stream(dir, config);
    std::vector<std::vector<std::vector<PutRecord>>> batches(static_cast<size_t>(threads));
    for (size_t t = 0; t < batches.size(); ++t) {
      for (size_t b = 0; b < 20; ++b) batches[t].push_back(make_batch(t, b));
    }
    std::vector<std::vector<double>> per_thread(static_cast<size_t>(threads));
    std::vector<size_t> per_thread_bytes(static_cast<size_t>(threads));
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    const auto start = Steady::now();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const auto tt = static_cast<size_t>(t);
        for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          const auto& batch = batches[tt][i % batches[tt].size()];
          const auto before = Steady::now();
          stream.put(batch);
          per_thread[tt].push_back(std::chrono::duration<double, std::milli>(Steady::now() - before).count());
          for (const auto& r : batch) per_thread_bytes[tt] += r.data.size() + r.partition_key.size();
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& w : workers) w.join();
    elapsed = seconds_since(start);
    for (size_t t = 0; t < per_thread.size(); ++t) {
      records += per_thread[t].size() * kBatch;
      bytes += per_thread_bytes[t];
      latencies_ms.insert(latencies_ms.end(), per_thread[t].begin(), per_thread[t].end());
    }
  }
  std::printf(
      "put   shards=%d threads=%d: %9.0f records/s %7.1f MB/s  put() p50 %.2f ms p99 %.2f ms  (%zu records, "
      "%.0f bytes each)\n",
      shards, threads, records / elapsed, bytes / elapsed / 1e6, percentile(latencies_ms, 0.50),
      percentile(latencies_ms, 0.99), records, static_cast<double>(bytes) / static_cast<double>(records));

  // Sequential read of everything just written, after a reopen (recovery scan of the last segment
  // included in the open time).
  const auto open_start = Steady::now();
  LocalStream stream(dir, config);
  const double open_s = seconds_since(open_start);
  size_t read_records = 0, read_bytes = 0;
  const auto start = Steady::now();
  for (int s = 0; s < shards; ++s) {
    auto position = stream.position(shard_id(s), StartingPosition::trim_horizon());
    for (;;) {
      auto r = stream.read(position, 10000);
      if (r.records.empty()) break;
      read_records += r.records.size();
      for (const auto& rec : r.records) read_bytes += rec.data.size() + rec.partition_key.size();
      position = r.next;
    }
  }
  const double read_s = seconds_since(start);
  std::printf("read  shards=%d threads=%d: %9.0f records/s %7.1f MB/s  (%zu records; open took %.0f ms)\n",
              shards, threads, read_records / read_s, read_bytes / read_s / 1e6, read_records, open_s * 1000);
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const std::filesystem::path root = argc > 2 ? std::filesystem::path(argv[2])
                                              : std::filesystem::temp_directory_path() /
                                                    ("sluice-stream-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root);
  fdatasync_cost(root);
  md5_cost();
  for (int shards : {1, 2}) {
    for (int threads : {1, 2}) run_case(root, shards, threads, seconds);
  }
  std::filesystem::remove_all(root);
}
