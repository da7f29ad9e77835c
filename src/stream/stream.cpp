// What every back-end of stream::Stream shares: configuration checks and in-memory checkpoints.
#include "stream/stream.h"

#include <algorithm>

namespace sluice::stream {

void validate_name(const std::string& name) {
  const bool ok_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
  if (name.empty() || name.size() > kMaxStreamNameBytes || !ok_chars || name == "." || name == "..") {
    throw Error("stream name '" + name.substr(0, 200) + "' is not valid: it must be 1.." +
                std::to_string(kMaxStreamNameBytes) + " characters of A-Z a-z 0-9 _ . -");
  }
}

void validate(const StreamConfig& c) {
  validate_name(c.name);
  const std::string where = "stream '" + c.name + "': ";
  if (c.shards < 1 || c.shards > kMaxShards) {
    throw Error(where + "shards is " + std::to_string(c.shards) + "; it must be 1.." +
                std::to_string(kMaxShards));
  }
  if (c.segment_bytes < kMinSegmentBytes) {
    throw Error(where + "segment_bytes is " + std::to_string(c.segment_bytes) + "; it must be at least " +
                std::to_string(kMinSegmentBytes));
  }
  if (c.fsync_interval.count() <= 0) throw Error(where + "fsync_interval must be positive");
  if (c.retention.count() <= 0) throw Error(where + "retention must be positive");
  if (c.max_pending_bytes == 0) throw Error(where + "max_pending_bytes must be positive");
}

// ---- Checkpoints -----------------------------------------------------------------------------

namespace {
std::string checkpoint_key(std::string_view stream, std::string_view consumer, std::string_view shard) {
  std::string key;
  key.append(stream).push_back('\0');
  key.append(consumer).push_back('\0');
  key.append(shard);
  return key;
}
}  // namespace

std::optional<std::string> InMemoryCheckpointStore::load(std::string_view stream, std::string_view consumer,
                                                         std::string_view shard_id) {
  std::lock_guard lock(mutex_);
  auto it = checkpoints_.find(checkpoint_key(stream, consumer, shard_id));
  if (it == checkpoints_.end()) return std::nullopt;
  return it->second;
}

void InMemoryCheckpointStore::save(std::string_view stream, std::string_view consumer,
                                   std::string_view shard_id, std::string_view sequence_number) {
  std::lock_guard lock(mutex_);
  checkpoints_[checkpoint_key(stream, consumer, shard_id)] = std::string(sequence_number);
}

}  // namespace sluice::stream
