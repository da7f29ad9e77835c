// Delivery throughput (a plain program; figures go to bench/RESULTS.md, never into tests).
//   delivery_bench [RECORDS] [SHARDS]   (default 1,000,000 records of ~200 bytes, 2 shards)
// Fills a stream (fsync: never, so that filling is not what is measured), then times one Delivery
// draining it into objects — 64 MiB buffers, newline-delimited — uncompressed, gzip and zstd. Each
// object is written durably (temporary file, fdatasync, rename, directory fsync); the progress store
// is in memory here, so the figure is the delivery path itself, not the metastore.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "delivery/delivery.h"
#include "storage/local_object_store.h"
#include "stream/local_stream.h"
#include "stream/stream.h"

int main(int argc, char** argv) {
  using namespace sluice;
  const int records = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  const int shards = argc > 2 ? std::atoi(argv[2]) : 2;
  const auto dir =
      std::filesystem::temp_directory_path() / ("sluice-delivery-bench-" + std::to_string(::getpid()));
  {
    stream::LocalStream s(
        dir / "streams" / "s",
        stream::StreamConfig{
            .name = "s", .shards = shards, .fsync = stream::StreamConfig::FsyncPolicy::kNever});
    uint64_t bytes = 0;
    std::vector<stream::PutRecord> batch;
    for (int i = 0; i < records; ++i) {
      std::string data =
          "{\"id\":" + std::to_string(i) + ",\"name\":\"user-" + std::to_string(i) +
          "\",\"email\":\"someone@example.com\",\"city\":\"Gwenborough\",\"lat\":-37.3159,\"lng\":81.1496,"
          "\"company\":\"Romaguera-Crona\",\"phrase\":\"Multi-layered client-server neural-net\"}";
      data.resize(std::max<size_t>(data.size(), 200), ' ');
      bytes += data.size();
      batch.push_back({"key-" + std::to_string(i), std::move(data), std::nullopt});
      if (batch.size() == 500) {
        s.put(batch);
        batch.clear();
      }
    }
    if (!batch.empty()) s.put(batch);
    {
      ::sync();
      const auto start = std::chrono::steady_clock::now();
      uint64_t n = 0;
      for (const auto& shard : s.describe().shards) {
        auto position = s.position(shard.shard_id, stream::StartingPosition::trim_horizon());
        while (true) {
          auto r = s.read(position, 10000, 64ull << 20);
          if (r.records.empty()) break;
          n += r.records.size();
          position = r.next;
        }
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("stream read alone: %llu records in %.2f s = %.0f records/s\n",
                  static_cast<unsigned long long>(n), seconds, n / seconds);
    }
    for (auto compression : {delivery::Compression::kZstd, delivery::Compression::kNone,
                             delivery::Compression::kGzip, delivery::Compression::kNone}) {
      const char* name = compression == delivery::Compression::kNone   ? "none"
                         : compression == delivery::Compression::kGzip ? "gzip"
                                                                       : "zstd";
      storage::LocalObjectStore store(dir / ("objects-" + std::string(name)), {"lake"}, nullptr);
      delivery::InMemoryDeliveryProgress progress;
      delivery::Delivery d({.name = "bench",
                            .stream = "s",
                            .bucket = "lake",
                            .buffer_bytes = 64ull << 20,
                            .buffer_interval = std::chrono::milliseconds(0),
                            .compression = compression},
                           s, store, progress);
      ::sync();  // the stream's own write-back is not what is measured
      const auto start = std::chrono::steady_clock::now();
      auto report = d.poll(now_ms(), true);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("delivery, %s: %llu records, %.1f MB in %.2f s = %.0f MB/s, %.0f records/s, %zu objects\n",
                  name, static_cast<unsigned long long>(report.records), report.bytes / 1e6, seconds,
                  report.bytes / 1e6 / seconds, report.records / seconds, report.objects.size());
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
