#include "delivery/delivery_streams.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "common/fs.h"
#include "storage/object_store.h"
#include "stream/stream_store.h"

namespace sluice::delivery {
namespace {

constexpr size_t kMaxNameBytes = 64;  // Firehose's DeliveryStreamName
constexpr std::string_view kFileSuffix = ".json";
// Every DirectPut record goes to the buffer's one shard; the key only satisfies the stream's rules.
constexpr std::string_view kBufferPartitionKey = "firehose";

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameBytes &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
             std::string_view::npos &&
         name != "." && name != "..";
}

std::string compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "none";
}

// The member `key` of the file's object, of the type `check` accepts; throws Error naming the file.
template <typename Check>
const nlohmann::json& member(const nlohmann::json& doc, const char* key, Check check, const char* expected,
                             const std::filesystem::path& file) {
  const auto it = doc.find(key);
  if (it == doc.end() || !check(*it))
    throw Error(file.string() + ": \"" + key + "\" is missing or not " + expected);
  return *it;
}

}  // namespace

std::string format_delivery_file(const DeliveryStreamInfo& info) {
  const DeliveryConfig& c = info.config;
  nlohmann::json doc = {
      {"name", c.name},
      {"direct_put", c.direct_put},
      {"stream", c.stream},
      {"bucket", c.bucket},
      {"prefix", c.prefix},
      {"error_prefix", c.error_prefix},
      {"buffer_bytes", c.buffer_bytes},
      {"buffer_interval_ms", c.buffer_interval.count()},
      {"compression", compression_name(c.compression)},
      {"delimiter", c.delimiter},
      {"created_ms", info.created.time_since_epoch().count()},
      {"metadata", nlohmann::json::parse(info.metadata.empty() ? "{}" : info.metadata)},
  };
  return doc.dump(2) + "\n";
}

DeliveryStreamInfo parse_delivery_file(std::string_view text, const std::filesystem::path& file) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) throw Error(file.string() + ": not a JSON object (a delivery stream's file)");
  const auto is_string = [](const nlohmann::json& v) { return v.is_string(); };
  const auto is_bool = [](const nlohmann::json& v) { return v.is_boolean(); };
  const auto is_count = [](const nlohmann::json& v) { return v.is_number_unsigned(); };
  const auto is_integer = [](const nlohmann::json& v) { return v.is_number_integer(); };
  const auto is_object = [](const nlohmann::json& v) { return v.is_object(); };
  DeliveryStreamInfo info;
  DeliveryConfig& c = info.config;
  c.name = member(doc, "name", is_string, "a string", file).get<std::string>();
  c.direct_put = member(doc, "direct_put", is_bool, "a boolean", file).get<bool>();
  c.stream = member(doc, "stream", is_string, "a string", file).get<std::string>();
  c.bucket = member(doc, "bucket", is_string, "a string", file).get<std::string>();
  c.prefix = member(doc, "prefix", is_string, "a string", file).get<std::string>();
  c.error_prefix = member(doc, "error_prefix", is_string, "a string", file).get<std::string>();
  c.buffer_bytes = member(doc, "buffer_bytes", is_count, "a count", file).get<uint64_t>();
  c.buffer_interval =
      std::chrono::milliseconds(member(doc, "buffer_interval_ms", is_count, "a count", file).get<int64_t>());
  const std::string compression = member(doc, "compression", is_string, "a string", file).get<std::string>();
  if (compression == "gzip") {
    c.compression = Compression::kGzip;
  } else if (compression == "zstd") {
    c.compression = Compression::kZstd;
  } else if (compression != "none") {
    throw Error(file.string() + ": unknown compression \"" + compression + "\" (none, gzip or zstd)");
  }
  c.delimiter = member(doc, "delimiter", is_string, "a string", file).get<std::string>();
  info.created = TimePoint(
      std::chrono::milliseconds(member(doc, "created_ms", is_integer, "an integer", file).get<int64_t>()));
  info.metadata = member(doc, "metadata", is_object, "an object", file).dump();
  return info;
}

struct DeliveryStreams::Entry {
  DeliveryStreamInfo info;                 // problem guarded by problem_mutex; the rest never changes
  std::shared_ptr<stream::Stream> source;  // what it reads (a buffer for DirectPut); before delivery
  std::unique_ptr<Delivery> delivery;      // null when it cannot deliver (problem)
  std::mutex poll_mutex;                   // held while polling and by remove; guards delivery, removed
  bool removed = false;
  mutable std::mutex problem_mutex;

  void set_problem(const std::string& why) {
    std::lock_guard lock(problem_mutex);
    info.problem = why;
  }
  DeliveryStreamInfo snapshot() const {
    std::lock_guard lock(problem_mutex);
    return info;
  }
};

namespace {
bool has_stream(const stream::StreamStore& store, const std::string& name) {
  const auto names = store.names();
  return std::binary_search(names.begin(), names.end(), name);
}

stream::StreamConfig buffer_config(const stream::StreamConfig& base, const std::string& name) {
  stream::StreamConfig config = base;
  config.name = name;
  config.shards = 1;
  return config;
}
}  // namespace

DeliveryStreams::DeliveryStreams(std::filesystem::path root, const std::vector<DeliveryConfig>& declared,
                                 stream::StreamStore& streams, storage::ObjectStore& objects,
                                 DeliveryProgress& progress, DeliveryStreamsOptions options)
    : root_(std::move(root)), streams_(streams), objects_(objects), progress_(progress), options_(options) {
  fs::create_directories_durable(root_);
  std::vector<stream::StreamConfig> declared_buffers;
  for (const auto& config : declared) {
    if (config.direct_put) declared_buffers.push_back(buffer_config(options_.buffer, config.name));
  }
  buffers_ = std::make_unique<stream::StreamStore>(root_ / "buffers", declared_buffers);
  const TimePoint opened = now_ms();
  for (const auto& config : declared) {
    if (entries_.count(config.name)) throw Error("delivery " + config.name + " is declared twice");
    DeliveryStreamInfo info{.config = config, .declared = true, .created = opened, .metadata = "{}"};
    entries_[config.name] = open_entry(std::move(info));
  }
  load_created();
  // A buffer without its delivery is what a crash between the two steps of create or remove left.
  for (const auto& name : buffers_->names()) {
    const auto it = entries_.find(name);
    if (buffers_->declared(name) || (it != entries_.end() && it->second->info.config.direct_put)) continue;
    spdlog::warn("firehose: removing the buffer of {}, which no delivery stream uses", name);
    buffers_->remove(name);
  }
}

DeliveryStreams::~DeliveryStreams() = default;

std::shared_ptr<DeliveryStreams::Entry> DeliveryStreams::open_entry(DeliveryStreamInfo info) {
  auto entry = std::make_shared<Entry>();
  entry->info = std::move(info);
  const DeliveryConfig& config = entry->info.config;
  try {
    entry->source = config.direct_put ? buffers_->share(config.name) : streams_.share(config.stream);
  } catch (const stream::StreamNotFound&) {
    if (entry->info.declared)
      throw Error("delivery " + config.name + ": no stream named \"" + config.stream + "\" to read");
    entry->info.problem = "its source stream " + config.stream + " no longer exists";
    spdlog::error("delivery {}: {}; it delivers nothing", config.name, entry->info.problem);
    return entry;
  }
  entry->delivery = std::make_unique<Delivery>(config, *entry->source, objects_, progress_);
  return entry;
}

void DeliveryStreams::load_created() {
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(root_)) {
    const std::string file_name = item.path().filename().string();
    if (!item.is_regular_file() || file_name.starts_with(fs::kTempPrefix) ||
        !file_name.ends_with(kFileSuffix))
      continue;
    files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    DeliveryStreamInfo info = parse_delivery_file(fs::read_file(file), file);
    if (info.config.name + std::string(kFileSuffix) != file.filename().string())
      throw Error(file.string() + ": names the delivery stream \"" + info.config.name + "\", not its file's");
    if (entries_.count(info.config.name)) {
      spdlog::warn("firehose: {} is declared in the pipeline file; the declaration wins over {}",
                   info.config.name, file.string());
      continue;
    }
    // The buffer is made before the file, so it exists; make it again if someone removed it.
    if (info.config.direct_put && !has_stream(*buffers_, info.config.name))
      buffers_->create(buffer_config(options_.buffer, info.config.name));
    const std::string name = info.config.name;
    try {
      entries_[name] = open_entry(std::move(info));
    } catch (const Error& e) {
      throw Error(file.string() + ": " + e.what());
    }
  }
}

void DeliveryStreams::check_new(const DeliveryConfig& config, const std::string& metadata) const {
  if (!valid_name(config.name)) {
    throw Error("delivery stream name \"" + config.name + "\" must be 1 to " + std::to_string(kMaxNameBytes) +
                " characters of a-z A-Z 0-9 _ . -");
  }
  {
    std::lock_guard lock(mutex_);
    if (entries_.count(config.name))
      throw DeliveryStreamInUse("delivery stream " + config.name + " already exists");
    if (entries_.size() >= options_.max_delivery_streams) {
      throw DeliveryStreamLimit("there are " + std::to_string(entries_.size()) +
                                " delivery streams already, the most this data directory allows");
    }
  }
  if (!objects_.has_bucket(config.bucket))
    throw Error("delivery stream " + config.name + ": no bucket named \"" + config.bucket + "\"");
  if (config.direct_put == !config.stream.empty())
    throw Error("delivery stream " + config.name + ": give either a source stream or DirectPut, not both");
  if (!config.direct_put) {
    try {
      streams_.share(config.stream);
    } catch (const stream::StreamNotFound&) {
      throw Error("delivery stream " + config.name + ": no stream named \"" + config.stream + "\" to read");
    }
  }
  if (config.buffer_bytes == 0 || config.buffer_interval.count() < 0)
    throw Error("delivery stream " + config.name + ": the buffer must hold at least one byte");
  const nlohmann::json parsed = nlohmann::json::parse(metadata, nullptr, false);
  if (!parsed.is_object()) throw Error("delivery stream " + config.name + ": metadata must be a JSON object");
}

DeliveryStreamInfo DeliveryStreams::create(DeliveryConfig config, std::string metadata) {
  std::lock_guard changes(changes_mutex_);
  if (metadata.empty()) metadata = "{}";
  check_new(config, metadata);
  const std::string name = config.name;
  // A delivery of the same name that was deleted (perhaps by a remove a crash cut short) left
  // progress against another buffer's sequence numbers: start anew.
  progress_.forget(name);
  DeliveryStreamInfo info{
      .config = std::move(config), .declared = false, .created = now_ms(), .metadata = std::move(metadata)};
  const bool direct_put = info.config.direct_put;
  if (direct_put) {
    if (has_stream(*buffers_, name)) buffers_->remove(name);  // an orphan a crash left
    buffers_->create(buffer_config(options_.buffer, name));
  }
  std::shared_ptr<Entry> entry;
  try {
    entry = open_entry(info);
    fs::write_file_atomic(root_ / (name + std::string(kFileSuffix)), format_delivery_file(info));
  } catch (...) {
    if (direct_put) {
      try {
        buffers_->remove(name);
      } catch (const std::exception& e) {
        spdlog::warn("firehose: the buffer of {} stays until the next start: {}", name, e.what());
      }
    }
    throw;
  }
  std::lock_guard lock(mutex_);
  entries_[name] = entry;
  return entry->snapshot();
}

void DeliveryStreams::remove(std::string_view name) {
  std::lock_guard changes(changes_mutex_);
  const auto entry = find(name);
  if (!entry) throw DeliveryStreamNotFound("delivery stream " + std::string(name) + " not found");
  if (entry->info.declared) {
    throw DeliveryStreamInUse("delivery stream " + std::string(name) +
                              " is declared in the pipeline file and cannot be deleted through the API; "
                              "remove it from the file instead");
  }
  std::lock_guard poll(entry->poll_mutex);
  const auto file = root_ / (std::string(name) + std::string(kFileSuffix));
  std::error_code error;
  if (!std::filesystem::remove(file, error) && error)
    throw_errno("cannot remove " + file.string(), error.value());
  fs::fsync_dir(root_);
  {
    std::lock_guard lock(mutex_);
    entries_.erase(entries_.find(name));
  }
  entry->removed = true;
  entry->delivery.reset();
  try {
    progress_.forget(entry->info.config.name);
    if (entry->info.config.direct_put) buffers_->remove(name);
  } catch (const std::exception& e) {
    // The delivery is gone; what is left is cleaned at the next create of that name or start.
    spdlog::warn("firehose: deleting {}: {} (cleaned up later)", name, e.what());
  }
}

std::shared_ptr<DeliveryStreams::Entry> DeliveryStreams::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

DeliveryStreamInfo DeliveryStreams::describe(std::string_view name) const {
  const auto entry = find(name);
  if (!entry) throw DeliveryStreamNotFound("delivery stream " + std::string(name) + " not found");
  return entry->snapshot();
}

std::vector<std::string> DeliveryStreams::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

std::vector<std::string> DeliveryStreams::put(std::string_view name, std::vector<std::string> records) {
  const auto entry = find(name);
  if (!entry) throw DeliveryStreamNotFound("delivery stream " + std::string(name) + " not found");
  const DeliveryConfig& config = entry->info.config;
  if (!config.direct_put) {
    throw NotDirectPut("delivery stream " + config.name + " reads the stream " + config.stream +
                       ": put records into that stream, not into the delivery stream");
  }
  std::vector<stream::PutRecord> batch(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    batch[i].partition_key = kBufferPartitionKey;
    batch[i].data = std::move(records[i]);
  }
  std::vector<stream::PutResult> results;
  try {
    results = entry->source->put(batch);
  } catch (const stream::StreamNotFound&) {
    throw DeliveryStreamNotFound("delivery stream " + config.name + " not found (it was deleted)");
  }
  std::vector<std::string> ids;
  ids.reserve(results.size());
  for (auto& r : results) ids.push_back(std::move(r.sequence_number));
  return ids;
}

std::vector<DeliveryStreams::PollResult> DeliveryStreams::poll(TimePoint now, bool force) {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, entry] : entries_) entries.push_back(entry);
  }
  std::vector<PollResult> results;
  for (const auto& entry : entries) {
    std::lock_guard poll(entry->poll_mutex);
    if (entry->removed || !entry->delivery) continue;
    PollResult result{.name = entry->info.config.name, .report = {}, .error = {}};
    try {
      result.report = entry->delivery->poll(now, force);
    } catch (const stream::StreamNotFound& e) {
      // The source stream was deleted: nothing more will come; say so once, and in describe().
      result.error = e.what();
      entry->set_problem("its source stream " + entry->info.config.stream + " was deleted");
      entry->delivery.reset();
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    results.push_back(std::move(result));
  }
  try {
    buffers_->enforce_retention(now);
  } catch (const std::exception& e) {
    results.push_back({.name = "firehose buffers", .report = {}, .error = e.what()});
  }
  return results;
}

}  // namespace sluice::delivery
