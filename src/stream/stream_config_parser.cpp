#include "stream/stream_config_parser.h"

#include <array>

namespace sluice::stream {

using config::Kind;
using config::Section;

// Every name the pipeline file accepts for an entry must be a valid stream name.
static_assert(config::kMaxEntryNameBytes <= kMaxStreamNameBytes);

const Section& stream_section() {
  static const Section section{{
      {.name = "shards",
       .kind = Kind::kInteger,
       .description = "fixed for the stream's life",
       .default_value = "1",
       .min = 1,
       .max = kMaxShards},
      {.name = "fsync",
       .kind = Kind::kEnum,
       .description = "when an acknowledged record is on disk",
       .default_value = "always",
       .values = {"always", "interval", "never"}},
      {.name = "fsync_interval",
       .kind = Kind::kDuration,
       .description = "for fsync: interval",
       .default_value = "1s",
       .max = kMaxFsyncInterval.count()},
      {.name = "retention",
       .kind = Kind::kDuration,
       .description = "whole segments older than this are deleted",
       .default_value = "24h",
       .max = kMaxRetention.count()},
      {.name = "segment_bytes",
       .kind = Kind::kSize,
       .description = "size at which a new segment starts",
       .default_value = "64MiB",
       .min = static_cast<int64_t>(kMinSegmentBytes),
       .max = static_cast<int64_t>(kMaxSegmentBytes)},
      {.name = "max_pending_bytes",
       .kind = Kind::kSize,
       .description = "back-pressure: beyond it, ingest answers 503 with Retry-After",
       .default_value = "64MiB",
       .min = static_cast<int64_t>(kMinPendingBytesLimit),
       .max = static_cast<int64_t>(kMaxPendingBytesLimit)},
      {.name = "min_free_disk",
       .kind = Kind::kSize,
       .description = "low-disk threshold: below it, ingest answers 503 (0: off)",
       .default_value = "256MiB",
       .min = 0,
       .max = static_cast<int64_t>(kMaxMinFreeBytes)},
  }};
  return section;
}

void parse_stream(config::Reader& r, const config::Reader::Entry& entry, StreamConfig& s) {
  const Section& keys = stream_section();
  const config::Node& node = entry.value;
  const std::string& path = entry.path;
  s.name = entry.name;
  if (node.is_null()) return;  // all defaults
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, keys);
  if (auto v = r.integer(node, keys["shards"], path)) s.shards = static_cast<int>(*v);
  if (auto f = r.choice(node, keys["fsync"], path))
    s.fsync = std::array{StreamConfig::FsyncPolicy::kAlways, StreamConfig::FsyncPolicy::kInterval,
                         StreamConfig::FsyncPolicy::kNever}[*f];
  if (auto v = r.duration(node, keys["fsync_interval"], path)) s.fsync_interval = *v;
  if (auto v = r.duration(node, keys["retention"], path)) s.retention = *v;
  if (auto v = r.size(node, keys["segment_bytes"], path)) s.segment_bytes = *v;
  if (auto v = r.size(node, keys["max_pending_bytes"], path)) s.max_pending_bytes = static_cast<size_t>(*v);
  if (auto v = r.size(node, keys["min_free_disk"], path)) s.min_free_bytes = *v;
}

}  // namespace sluice::stream
