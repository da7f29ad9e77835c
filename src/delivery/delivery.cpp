#include "delivery/delivery.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "common/compress.h"
#include "common/json_path.h"
#include "storage/object_store.h"
#include "stream/stream.h"

namespace sluice::delivery {
namespace {

// One piece of a prefix: literal text, or a !{namespace:argument} expression.
struct Part {
  enum class Kind { kText, kTimestamp, kPartitionKey } kind = Kind::kText;
  std::string text;  // literal, the timestamp pattern, or the field path
};

std::vector<Part> parse_prefix(const std::string& prefix, std::string* why) {
  std::vector<Part> parts;
  size_t i = 0;
  while (i < prefix.size()) {
    const auto open = prefix.find("!{", i);
    if (open == std::string::npos) {
      parts.push_back({Part::Kind::kText, prefix.substr(i)});
      break;
    }
    if (open > i) parts.push_back({Part::Kind::kText, prefix.substr(i, open - i)});
    const auto close = prefix.find('}', open);
    if (close == std::string::npos) {
      *why = "unclosed !{ in prefix \"" + prefix + "\"";
      return {};
    }
    const std::string expr = prefix.substr(open + 2, close - open - 2);
    const auto colon = expr.find(':');
    const std::string ns = expr.substr(0, colon);
    const std::string arg = colon == std::string::npos ? "" : expr.substr(colon + 1);
    if (ns == "timestamp" && !arg.empty()) {
      parts.push_back({Part::Kind::kTimestamp, arg});
    } else if (ns == "partitionKeyFromQuery" && !arg.empty()) {
      parts.push_back({Part::Kind::kPartitionKey, arg});
    } else {
      *why = "unknown expression !{" + expr +
             "} in prefix; expected !{timestamp:yyyy/MM/dd/HH} or !{partitionKeyFromQuery:field}";
      return {};
    }
    i = close + 1;
  }
  return parts;
}

// Java-style date pattern (yyyy MM dd HH mm ss) at `t`, UTC.
std::string format_timestamp(const std::string& pattern, TimePoint t) {
  const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  auto pad = [](int v, int width) {
    std::string s = std::to_string(v);
    return std::string(width > static_cast<int>(s.size()) ? width - s.size() : 0, '0') + s;
  };
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    auto starts = [&](std::string_view token) { return pattern.compare(i, token.size(), token) == 0; };
    if (starts("yyyy")) {
      out += pad(tm.tm_year + 1900, 4), i += 4;
    } else if (starts("MM")) {
      out += pad(tm.tm_mon + 1, 2), i += 2;
    } else if (starts("dd")) {
      out += pad(tm.tm_mday, 2), i += 2;
    } else if (starts("HH")) {
      out += pad(tm.tm_hour, 2), i += 2;
    } else if (starts("mm")) {
      out += pad(tm.tm_min, 2), i += 2;
    } else if (starts("ss")) {
      out += pad(tm.tm_sec, 2), i += 2;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

}  // namespace

std::string validate_prefix(const std::string& prefix) {
  std::string why;
  parse_prefix(prefix, &why);
  return why;
}

ShardProgress InMemoryDeliveryProgress::load(const std::string& delivery, const std::string& shard) {
  std::lock_guard lock(mutex_);
  return state_[{delivery, shard}];
}
void InMemoryDeliveryProgress::begin(const std::string& delivery, const std::string& shard,
                                     const std::string& first, const std::string& last) {
  std::lock_guard lock(mutex_);
  state_[{delivery, shard}].pending = std::make_pair(first, last);
}
void InMemoryDeliveryProgress::commit(const std::string& delivery, const std::string& shard,
                                      const std::string& last) {
  std::lock_guard lock(mutex_);
  auto& s = state_[{delivery, shard}];
  s.delivered = last;
  s.pending.reset();
}

void DeliveryProgress::forget(const std::string& delivery) {
  throw Error("delivery " + delivery + ": this progress store cannot forget a delivery's progress");
}

void InMemoryDeliveryProgress::forget(const std::string& delivery) {
  std::lock_guard lock(mutex_);
  std::erase_if(state_, [&](const auto& entry) { return entry.first.first == delivery; });
}

struct Delivery::Impl {
  struct ShardBuffer {
    bool positioned = false;
    stream::Position next;  // opaque: whatever the stream's back-end gave
    std::vector<stream::Record> records;
    uint64_t bytes = 0;
  };

  const DeliveryConfig& config;
  stream::Stream& stream;
  storage::ObjectStore& objects;
  DeliveryProgress& progress;
  std::vector<Part> prefix;
  std::vector<Part> error_prefix;
  std::map<std::string, ShardBuffer> shards;
  simdjson::dom::parser parser;

  std::string object_name(const std::string& shard, const std::vector<stream::Record>& batch) const {
    std::string name = config.name + "-1-" + format_timestamp("yyyy-MM-dd-HH-mm-ss", batch.front().arrival) +
                       "-" + shard + "-" + batch.front().sequence_number + "-" + batch.back().sequence_number;
    if (config.compression == Compression::kGzip) name += ".gz";
    if (config.compression == Compression::kZstd) name += ".zst";
    return name;
  }

  // The prefix for one record; nullopt when a partition key cannot be taken from it.
  std::optional<std::string> render(const std::vector<Part>& parts, const stream::Record& record,
                                    TimePoint oldest) {
    std::string out;
    for (const auto& part : parts) {
      switch (part.kind) {
        case Part::Kind::kText:
          out += part.text;
          break;
        case Part::Kind::kTimestamp:
          out += format_timestamp(part.text, oldest);
          break;
        case Part::Kind::kPartitionKey: {
          simdjson::dom::element root, field;
          std::optional<std::string> value;
          if (!parser.parse(record.data).get(root) && json::at_path(root, part.text, field))
            value = json::scalar_text(field);
          if (!value || value->empty() || value->find('/') != std::string::npos) return std::nullopt;
          out += *value;
          break;
        }
      }
    }
    return out;
  }

  std::string encode(const std::string& body) const {
    switch (config.compression) {
      case Compression::kGzip:
        return compress::gzip(body);
      case Compression::kZstd:
        return compress::zstd(body);
      case Compression::kNone:
        break;
    }
    return body;
  }

  // Writes one batch's objects: deterministic names and contents (see the header).
  void write_batch(const std::string& shard, const std::vector<stream::Record>& batch, FlushReport& report) {
    const TimePoint oldest = batch.front().arrival;
    std::map<std::string, std::string> bodies;  // key -> records
    uint64_t errors = 0;
    const bool dynamic = std::any_of(prefix.begin(), prefix.end(),
                                     [](const Part& p) { return p.kind == Part::Kind::kPartitionKey; });
    if (!dynamic) {
      // One prefix for the whole batch: no per-record work beyond copying the bytes.
      size_t size = 0;
      for (const auto& record : batch) size += record.data.size() + config.delimiter.size();
      std::string& body = bodies[*render(prefix, batch.front(), oldest)];
      body.reserve(size);
      for (const auto& record : batch) {
        body += record.data;
        body += config.delimiter;
        report.bytes += record.data.size();
      }
    }
    for (size_t i = 0; dynamic && i < batch.size(); ++i) {
      const auto& record = batch[i];
      auto where = render(prefix, record, oldest);
      if (!where) {
        where = render(error_prefix, record, oldest);
        ++errors;
      }
      std::string& body = bodies[*where];
      body += record.data;
      body += config.delimiter;
      report.bytes += record.data.size();
    }
    const std::string name = object_name(shard, batch);
    for (const auto& [where, body] : bodies) {
      const std::string key = where + name;
      objects.put(config.bucket, key, encode(body));
      report.objects.push_back(key);
    }
    report.records += batch.size() - errors;
    report.error_records += errors;
  }

  void flush(const std::string& shard, std::vector<stream::Record> batch, FlushReport& report) {
    progress.begin(config.name, shard, batch.front().sequence_number, batch.back().sequence_number);
    write_batch(shard, batch, report);
    progress.commit(config.name, shard, batch.back().sequence_number);
  }

  // Completes a batch a previous process began: exactly its range, written again.
  void redo(const std::string& shard, const std::string& first, const std::string& last,
            FlushReport& report) {
    std::vector<stream::Record> batch;
    try {
      auto position = stream.position(shard, stream::StartingPosition::at_sequence_number(first));
      bool done = false;
      while (!done) {
        auto read = stream.read(position, 10000, 16ull << 20);
        if (read.records.empty()) break;
        for (auto& r : read.records) {
          if (stream::sequence_number_less(last, r.sequence_number)) {
            done = true;
            break;
          }
          batch.push_back(std::move(r));
          if (batch.back().sequence_number == last) {
            done = true;
            break;
          }
        }
        position = read.next;
      }
    } catch (const stream::Trimmed& e) {
      spdlog::warn(
          "delivery {}: the pending batch {}..{} of {} is past retention and cannot be rewritten: {}",
          config.name, first, last, shard, e.what());
    }
    if (!batch.empty()) write_batch(shard, batch, report);
    progress.commit(config.name, shard, last);
  }
};

Delivery::Delivery(DeliveryConfig config, stream::Stream& stream, storage::ObjectStore& objects,
                   DeliveryProgress& progress)
    : config_(std::move(config)),
      impl_(std::make_unique<Impl>(
          Impl{config_, stream, objects, progress, {}, {}, {}, simdjson::dom::parser()})) {
  std::string why;
  impl_->prefix = parse_prefix(config_.prefix, &why);
  if (!why.empty()) throw Error("delivery " + config_.name + ": " + why);
  // As Firehose: a prefix without expressions gets the default UTC layout appended.
  if (std::none_of(impl_->prefix.begin(), impl_->prefix.end(),
                   [](const Part& p) { return p.kind != Part::Kind::kText; }))
    impl_->prefix.push_back({Part::Kind::kTimestamp, "yyyy/MM/dd/HH/"});
  impl_->error_prefix =
      parse_prefix(config_.error_prefix + config_.name + "/!{timestamp:yyyy/MM/dd/HH}/", &why);
  if (!why.empty()) throw Error("delivery " + config_.name + ": error prefix: " + why);
  for (const auto& part : impl_->error_prefix) {
    if (part.kind == Part::Kind::kPartitionKey)
      throw Error("delivery " + config_.name + ": the error prefix cannot use partitionKeyFromQuery");
  }
}

Delivery::~Delivery() = default;

FlushReport Delivery::poll(TimePoint now, bool force) {
  FlushReport report;
  auto& impl = *impl_;
  for (const auto& shard_description : impl.stream.describe().shards) {
    const std::string& shard = shard_description.shard_id;
    auto& buffer = impl.shards[shard];
    try {
      if (!buffer.positioned) {
        auto state = impl.progress.load(config_.name, shard);
        if (state.pending) {
          impl.redo(shard, state.pending->first, state.pending->second, report);
          state.delivered = state.pending->second;
        }
        try {
          buffer.next = impl.stream.position(
              shard, state.delivered ? stream::StartingPosition::after_sequence_number(*state.delivered)
                                     : stream::StartingPosition::trim_horizon());
        } catch (const stream::Trimmed& e) {
          // Retention removed records this delivery never took: say so, and go on from the oldest kept.
          spdlog::error("delivery {}: records of {} after {} were removed by retention before delivery: {}",
                        config_.name, shard, *state.delivered, e.what());
          buffer.next = impl.stream.position(shard, stream::StartingPosition::trim_horizon());
        }
        buffer.positioned = true;
      }
      // Take what is new, writing each buffer as it fills (each object at most buffer_bytes; a larger
      // single record goes alone), so memory stays within about one buffer per shard.
      while (true) {
        bool more = false;
        if (buffer.bytes < config_.buffer_bytes) {
          auto read = impl.stream.read(buffer.next, 10000, config_.buffer_bytes);
          buffer.next = read.next;
          more = !read.records.empty();
          for (auto& r : read.records) {
            buffer.bytes += r.data.size() + config_.delimiter.size();
            buffer.records.push_back(std::move(r));
          }
        }
        if (buffer.bytes >= config_.buffer_bytes && !buffer.records.empty()) {
          uint64_t bytes = 0;
          size_t n = 0;
          while (n < buffer.records.size()) {
            const uint64_t size = buffer.records[n].data.size() + config_.delimiter.size();
            if (n > 0 && bytes + size > config_.buffer_bytes) break;
            bytes += size;
            ++n;
          }
          std::vector<stream::Record> batch(
              std::make_move_iterator(buffer.records.begin()),
              std::make_move_iterator(buffer.records.begin() + static_cast<std::ptrdiff_t>(n)));
          buffer.records.erase(buffer.records.begin(),
                               buffer.records.begin() + static_cast<std::ptrdiff_t>(n));
          buffer.bytes -= bytes;
          impl.flush(shard, std::move(batch), report);
          continue;
        }
        if (!more) break;
      }
      if (!buffer.records.empty() &&
          (force || now - buffer.records.front().arrival >= config_.buffer_interval)) {
        std::vector<stream::Record> batch = std::move(buffer.records);
        buffer.records.clear();
        buffer.bytes = 0;
        impl.flush(shard, std::move(batch), report);
      }
    } catch (...) {
      // Nothing of an unfinished batch is committed: start this shard again from what the progress
      // store says (a begun batch is redone exactly).
      buffer = Impl::ShardBuffer{};
      throw;
    }
  }
  return report;
}

}  // namespace sluice::delivery
