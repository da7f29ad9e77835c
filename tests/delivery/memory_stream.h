// Test double: a stream::Stream kept in memory, standing for a back-end that is not the local log (a
// Kinesis-backed stream). Its positions are tokens that mean nothing outside it ("iterator-7"), and
// its sequence numbers are Kinesis-like decimals of growing length, so a consumer that relied on the
// local formats would fail against it.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "stream/stream.h"

namespace sluice::testing_util {

class MemoryStream : public stream::Stream {
 public:
  MemoryStream(std::string name, int shards, std::function<TimePoint()> clock)
      : config_{.name = std::move(name), .shards = shards}, clock_(std::move(clock)), shards_(shards) {}

  const stream::StreamConfig& config() const override { return config_; }

  std::vector<stream::PutResult> put(std::span<const stream::PutRecord> records) override {
    std::lock_guard lock(mutex_);
    std::vector<stream::PutResult> out;
    for (const auto& r : records) {
      const int shard = stream::shard_for_partition_key(r.partition_key, config_.shards);
      auto& log = shards_[static_cast<size_t>(shard)];
      // 7, 1014, 2021, ...: increasing, of growing length, never the local 25-digit form.
      const std::string sequence = std::to_string(7 + log.size() * 1007);
      log.push_back({sequence, clock_(), r.partition_key, r.data});
      out.push_back({stream::shard_id(shard), sequence});
    }
    return out;
  }

  stream::Position position(std::string_view shard_id, const stream::StartingPosition& start) const override {
    std::lock_guard lock(mutex_);
    const auto shard = stream::shard_index_of(shard_id);
    if (!shard || *shard >= config_.shards) throw Error("memory stream: no shard " + std::string(shard_id));
    const auto& log = shards_[static_cast<size_t>(*shard)];
    size_t index = 0;
    switch (start.type) {
      case stream::IteratorType::kTrimHorizon:
        break;
      case stream::IteratorType::kLatest:
        index = log.size();
        break;
      case stream::IteratorType::kAtTimestamp:
        while (index < log.size() && log[index].arrival < start.timestamp) ++index;
        break;
      case stream::IteratorType::kAtSequenceNumber:
      case stream::IteratorType::kAfterSequenceNumber:
        while (index < log.size() && log[index].sequence_number != start.sequence_number) ++index;
        if (index == log.size()) throw Error("memory stream: no record " + start.sequence_number);
        if (start.type == stream::IteratorType::kAfterSequenceNumber) ++index;
        break;
    }
    return issue(*shard, index);
  }

  size_t enforce_retention(TimePoint) override { return 0; }

  stream::StreamDescription describe() const override {
    std::lock_guard lock(mutex_);
    stream::StreamDescription d{config_.name, config_, {}};
    for (int i = 0; i < config_.shards; ++i) {
      const auto range = stream::shard_hash_range(i, config_.shards);
      d.shards.push_back({.shard_id = stream::shard_id(i),
                          .starting_hash_key = stream::hash_key_to_string(range.starting),
                          .ending_hash_key = stream::hash_key_to_string(range.ending)});
    }
    return d;
  }

  // Reads served, and reads refused for a token this stream never issued.
  int reads() const { return reads_; }
  int foreign_tokens() const { return foreign_; }

 protected:
  stream::ReadResult read_records(const stream::Position& position, size_t max_records,
                                  size_t max_bytes) const override {
    std::lock_guard lock(mutex_);
    auto it = issued_.find(position.token());
    if (it == issued_.end()) {
      ++foreign_;
      throw Error("memory stream: '" + position.token() + "' is not one of its iterators");
    }
    ++reads_;
    const auto [shard, from] = it->second;
    const auto& log = shards_[static_cast<size_t>(shard)];
    stream::ReadResult out;
    size_t index = from, bytes = 0;
    while (index < log.size() && out.records.size() < max_records &&
           (out.records.empty() || bytes + log[index].data.size() <= max_bytes)) {
      bytes += log[index].data.size();
      out.records.push_back(log[index++]);
    }
    out.next = issue(shard, index);
    out.behind_latest = log.size() - index;
    return out;
  }

 private:
  stream::Position issue(int shard, size_t index) const {
    const std::string token = "iterator-" + std::to_string(issued_.size());
    issued_.emplace(token, std::make_pair(shard, index));
    return stream::Position::from_token(token);
  }

  const stream::StreamConfig config_;
  const std::function<TimePoint()> clock_;
  mutable std::mutex mutex_;
  std::vector<std::vector<stream::Record>> shards_;
  mutable std::map<std::string, std::pair<int, size_t>> issued_;
  mutable int reads_ = 0;
  mutable int foreign_ = 0;
};

}  // namespace sluice::testing_util
