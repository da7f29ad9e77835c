// StreamStore: declared and run-time streams of a data directory, their persisted configurations,
// and atomic creation and deletion (the layout is in stream/stream_store.h).
#include "stream/stream_store.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>

#include "common/fs.h"
#include "stream/local_stream.h"

namespace sluice::stream {
namespace {

constexpr std::string_view kCreatingPrefix = "~creating-";
constexpr std::string_view kDeletingPrefix = "~deleting-";

std::string_view fsync_name(StreamConfig::FsyncPolicy policy) {
  switch (policy) {
    case StreamConfig::FsyncPolicy::kAlways:
      return "always";
    case StreamConfig::FsyncPolicy::kInterval:
      return "interval";
    case StreamConfig::FsyncPolicy::kNever:
      return "never";
  }
  return "always";
}

std::optional<StreamConfig::FsyncPolicy> parse_fsync(std::string_view text) {
  for (auto policy : {StreamConfig::FsyncPolicy::kAlways, StreamConfig::FsyncPolicy::kInterval,
                      StreamConfig::FsyncPolicy::kNever}) {
    if (text == fsync_name(policy)) return policy;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Sets one field of `config` from a "key=value" line; false when the key is unknown or the value bad.
bool set_field(StreamConfig& config, std::string_view key, std::string_view value) {
  if (key == "name") {
    config.name = std::string(value);
    return true;
  }
  if (key == "fsync") {
    auto policy = parse_fsync(value);
    if (policy) config.fsync = *policy;
    return policy.has_value();
  }
  const auto number = parse_unsigned(value);
  if (!number) return false;
  if (key == "shards" && *number <= static_cast<uint64_t>(kMaxShards)) {
    config.shards = static_cast<int>(*number);
  } else if (key == "fsync_interval_ms" && *number <= INT32_MAX) {
    config.fsync_interval = std::chrono::milliseconds(*number);
  } else if (key == "segment_bytes") {
    config.segment_bytes = *number;
  } else if (key == "retention_ms" && *number <= INT64_MAX / 2) {
    config.retention = std::chrono::milliseconds(*number);
  } else if (key == "max_pending_bytes") {
    config.max_pending_bytes = static_cast<size_t>(*number);
  } else if (key == "min_free_bytes") {
    config.min_free_bytes = *number;
  } else {
    return false;
  }
  return true;
}

// Removes what an interrupted create or remove left under `root`.
void remove_leftovers(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> leftovers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kCreatingPrefix) || name.starts_with(kDeletingPrefix))
      leftovers.push_back(entry.path());
  }
  if (ec) throw Error("cannot list the streams in " + root.string() + ": " + ec.message());
  for (const auto& path : leftovers) {
    std::filesystem::remove_all(path, ec);
    if (ec)
      throw Error("cannot remove " + path.string() +
                  ", left by an interrupted create or delete: " + ec.message());
    spdlog::info("streams: removed {}, left by an interrupted create or delete", path.string());
  }
}

bool is_stream_name(const std::string& name) {
  try {
    validate_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Tag keys and values in stream.attributes: bytes outside A-Za-z0-9 -_. as %XX.
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

// What a stream.attributes holds (see stream/stream_store.h).
struct AttributesFile {
  std::optional<int64_t> retention_ms;
  std::optional<int64_t> base_retention_ms;
  StreamTags tags;
};

std::string format_attributes(const AttributesFile& a) {
  std::string text = "# Changed at run time (retention, tags); sluice applies this at every start.\n";
  if (a.retention_ms && a.base_retention_ms) {
    text += "retention_ms=" + std::to_string(*a.retention_ms) + "\n";
    text += "base_retention_ms=" + std::to_string(*a.base_retention_ms) + "\n";
  }
  for (const auto& [key, value] : a.tags)
    text += "tag=" + percent_encode(key) + "=" + percent_encode(value) + "\n";
  return text;
}

// Sets one line's field of `a`; false when the line is not one format_attributes writes.
bool parse_attribute_line(AttributesFile& a, std::string_view key, std::string_view value) {
  if (key == "tag") {
    const auto equals = value.find('=');
    if (equals == std::string_view::npos) return false;
    auto tag_key = percent_decode(value.substr(0, equals)),
         tag_value = percent_decode(value.substr(equals + 1));
    if (!tag_key || !tag_value || tag_key->empty()) return false;
    a.tags[*tag_key] = *tag_value;
    return true;
  }
  const auto number = parse_unsigned(value);
  if (!number || *number == 0 || *number > uint64_t(INT64_MAX / 2)) return false;
  if (key == "retention_ms") {
    a.retention_ms = static_cast<int64_t>(*number);
  } else if (key == "base_retention_ms") {
    a.base_retention_ms = static_cast<int64_t>(*number);
  } else {
    return false;
  }
  return true;
}

// Throws Error naming the file and line when the text is not one format_attributes writes.
AttributesFile parse_attributes(std::string_view text, const std::filesystem::path& file) {
  AttributesFile a;
  size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const auto equals = line.find('=');
    if (equals == std::string_view::npos ||
        !parse_attribute_line(a, line.substr(0, equals), line.substr(equals + 1)))
      throw Error(file.string() + ":" + std::to_string(line_number) + ": '" +
                  std::string(line.substr(0, 80)) +
                  "' is not a known key with a valid value; the file was damaged or not written by sluice");
  }
  return a;
}

// The modification time of <dir>/stream.meta (written once, when the stream's files were made).
TimePoint creation_time(const std::filesystem::path& dir) {
  struct stat info {};
  if (::stat((dir / "stream.meta").c_str(), &info) != 0) return TimePoint{};
  return from_epoch_ms(int64_t(info.st_mtim.tv_sec) * 1000 + info.st_mtim.tv_nsec / 1000000);
}

}  // namespace

// ---- stream.config ---------------------------------------------------------------------------

std::string format_stream_config(const StreamConfig& c) {
  return "# A stream created at run time; sluice opens it again from this file at every start.\n"
         "name=" +
         c.name + "\nshards=" + std::to_string(c.shards) + "\nfsync=" + std::string(fsync_name(c.fsync)) +
         "\nfsync_interval_ms=" + std::to_string(c.fsync_interval.count()) +
         "\nsegment_bytes=" + std::to_string(c.segment_bytes) +
         "\nretention_ms=" + std::to_string(c.retention.count()) +
         "\nmax_pending_bytes=" + std::to_string(c.max_pending_bytes) +
         "\nmin_free_bytes=" + std::to_string(c.min_free_bytes) + "\n";
}

StreamConfig parse_stream_config(std::string_view text, const std::filesystem::path& file) {
  StreamConfig config;
  bool has_name = false, has_shards = false;
  size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const auto where = [&] { return file.string() + ":" + std::to_string(line_number) + ": "; };
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      throw Error(where() + "expected key=value, got '" + std::string(line.substr(0, 80)) +
                  "'; the file was damaged or not written by sluice");
    }
    const std::string_view key = line.substr(0, equals), value = line.substr(equals + 1);
    if (!set_field(config, key, value)) {
      throw Error(where() + "'" + std::string(line.substr(0, 80)) +
                  "' is not a known key with a valid value; the file was damaged or not written by sluice");
    }
    has_name = has_name || key == "name";
    has_shards = has_shards || key == "shards";
  }
  if (!has_name || !has_shards) throw Error(file.string() + ": name= and shards= are required");
  try {
    validate(config);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
  return config;
}

// ---- StreamStore -----------------------------------------------------------------------------

StreamStore::StreamStore(std::filesystem::path root, const std::vector<StreamConfig>& declared)
    : StreamStore(std::move(root), declared, StreamHooks{}) {}

StreamStore::StreamStore(std::filesystem::path root, const std::vector<StreamConfig>& declared,
                         const StreamHooks& hooks)
    : root_(std::move(root)), hooks_(std::make_unique<const StreamHooks>(hooks)) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) fs::create_directories_durable(root_);
  remove_leftovers(root_);
  for (const auto& c : declared) {
    validate_name(c.name);  // before it becomes a path
    if (streams_.contains(c.name)) throw Error("two streams are named '" + c.name + "'");
    streams_.emplace(c.name, open_entry(root_ / c.name, c, true));
  }
  open_created();
}

StreamStore::~StreamStore() = default;

// Opens each stream that has a stream.config and is not declared.
void StreamStore::open_created() {
  std::vector<std::filesystem::path> created;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code entry_ec;  // an entry that cannot be examined is not a stream sluice created
    if (!is_stream_name(name) || streams_.contains(name) || !entry.is_directory(entry_ec)) continue;
    if (std::filesystem::exists(entry.path() / kStreamConfigFile, entry_ec)) created.push_back(entry.path());
  }
  if (ec) throw Error("cannot list the streams in " + root_.string() + ": " + ec.message());
  for (const auto& dir : created) {
    const auto file = dir / kStreamConfigFile;
    StreamConfig config = parse_stream_config(fs::read_file(file), file);
    if (config.name != dir.filename().string()) {
      throw Error(file.string() + ": names stream '" + config.name + "' but is in the directory of stream '" +
                  dir.filename().string() + "'; the file was moved or damaged");
    }
    streams_.emplace(config.name, open_entry(dir, config, false));
  }
}

std::shared_ptr<LocalStream> StreamStore::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second.stream;
}

std::vector<std::shared_ptr<LocalStream>> StreamStore::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<LocalStream>> out;
  for (const auto& [_, entry] : streams_) out.push_back(entry.stream);
  return out;
}

std::shared_ptr<Stream> StreamStore::share(std::string_view name) const {
  auto stream = find(name);
  if (!stream) throw StreamNotFound("no stream named '" + std::string(name.substr(0, 128)) + "'");
  return stream;
}

Stream& StreamStore::get(std::string_view name) { return *share(name); }
const Stream& StreamStore::get(std::string_view name) const { return *share(name); }

std::vector<std::string> StreamStore::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, _] : streams_) out.push_back(name);
  return out;
}

bool StreamStore::declared(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  return it != streams_.end() && it->second.declared;
}

Stream& StreamStore::create(const StreamConfig& config) {
  validate(config);
  std::lock_guard changes(changes_mutex_);
  const std::string& name = config.name;
  if (find(name)) throw StreamExists("a stream named '" + name + "' already exists");
  const auto dir = root_ / name;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    throw Error("stream '" + name + "': " + dir.string() +
                " already holds the files of a stream that is not open (one removed from the pipeline "
                "file?); declare it again to keep its records, or delete the directory");
  }
  // Built under a name no stream can have, then renamed: the stream exists whole or not at all.
  const auto staging = root_ / (std::string(kCreatingPrefix) + name);
  try {
    std::filesystem::remove_all(staging, ec);
    fs::create_directories_durable(staging);
    fs::write_file_atomic(staging / kStreamConfigFile, format_stream_config(config));
    if (::rename(staging.c_str(), dir.c_str()) != 0)
      throw_errno("stream '" + name + "': cannot rename " + staging.string() + " to " + dir.string(), errno);
    fs::fsync_dir(root_);
  } catch (const Error&) {
    std::filesystem::remove_all(staging, ec);
    throw;
  }
  Entry entry;
  try {
    entry = open_entry(dir, config, false);
  } catch (const Error&) {
    try {
      delete_directory(dir, name);
    } catch (const Error& e) {
      spdlog::error("{}", e.what());
    }
    throw;
  }
  std::lock_guard lock(mutex_);
  Stream& stream = *entry.stream;
  streams_.emplace(name, std::move(entry));
  return stream;
}

void StreamStore::remove(std::string_view name) {
  std::lock_guard changes(changes_mutex_);
  std::shared_ptr<LocalStream> stream;
  {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(name);
    if (it == streams_.end())
      throw StreamNotFound("no stream named '" + std::string(name.substr(0, 128)) + "'");
    if (it->second.declared) {
      throw Error("stream '" + std::string(name) +
                  "' is declared in the pipeline file and cannot be deleted at run time; remove it from the "
                  "file instead");
    }
    stream = it->second.stream;
    streams_.erase(it);
  }
  const std::string owned_name(name);
  stream->close();  // its holders learn that it is gone; no write races the deletion
  try {
    delete_directory(root_ / owned_name, owned_name);
  } catch (const Error&) {
    // The files are where they were: the stream stays, opened again from them.
    try {
      Entry reopened = open_entry(root_ / owned_name, stream->config(), false);
      std::lock_guard lock(mutex_);
      streams_.emplace(owned_name, std::move(reopened));
    } catch (const Error& e) {
      spdlog::error("stream '{}': cannot open it again after a failed delete: {}", owned_name, e.what());
    }
    throw;
  }
}

// The rename is the commit: after it, the stream is not opened again even if removing its files is
// interrupted (the next open removes what is left).
void StreamStore::delete_directory(const std::filesystem::path& dir, const std::string& name) {
  const auto doomed = root_ / (std::string(kDeletingPrefix) + name);
  std::error_code ec;
  std::filesystem::remove_all(doomed, ec);
  if (::rename(dir.c_str(), doomed.c_str()) != 0)
    throw_errno("stream '" + name + "': cannot rename " + dir.string() + " to " + doomed.string(), errno);
  fs::fsync_dir(root_);
  std::filesystem::remove_all(doomed, ec);
  if (ec)
    spdlog::warn("stream '{}': cannot remove {}: {}; it is removed at the next start", name, doomed.string(),
                 ec.message());
}

// Opens the stream in `dir` and applies its stream.attributes, when it has one.
StreamStore::Entry StreamStore::open_entry(const std::filesystem::path& dir, const StreamConfig& config,
                                           bool declared) const {
  Entry entry{
      std::make_shared<LocalStream>(dir, config, *hooks_), declared, {}, std::nullopt, creation_time(dir)};
  const auto file = dir / kStreamAttributesFile;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return entry;
  AttributesFile attributes = parse_attributes(fs::read_file(file), file);
  entry.tags = std::move(attributes.tags);
  if (attributes.retention_ms && attributes.base_retention_ms) {
    if (*attributes.base_retention_ms == config.retention.count()) {
      entry.retention_change = std::chrono::milliseconds(*attributes.retention_ms);
      entry.stream->set_retention(*entry.retention_change);
    } else {
      spdlog::info(
          "stream '{}': its configured retention changed from {} ms to {} ms; the retention of {} ms "
          "set at run time no longer applies",
          config.name, *attributes.base_retention_ms, config.retention.count(), *attributes.retention_ms);
    }
  }
  return entry;
}

// Persists what `entry` changed at run time; throws what fs::write_file_atomic throws.
void StreamStore::write_attributes(const std::string& name, const Entry& entry) const {
  AttributesFile attributes;
  attributes.tags = entry.tags;
  if (entry.retention_change) {
    attributes.retention_ms = entry.retention_change->count();
    attributes.base_retention_ms = entry.stream->config().retention.count();
  }
  fs::write_file_atomic(root_ / name / kStreamAttributesFile, format_attributes(attributes));
}

StreamAttributes StreamStore::attributes(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  if (it == streams_.end())
    throw StreamNotFound("no stream named '" + std::string(name.substr(0, 128)) + "'");
  return {it->second.stream->retention(), it->second.tags, it->second.created};
}

StreamStore::Entry StreamStore::entry_copy(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  if (it == streams_.end())
    throw StreamNotFound("no stream named '" + std::string(name.substr(0, 128)) + "'");
  return it->second;
}

void StreamStore::set_retention(std::string_view name, std::chrono::milliseconds retention) {
  if (retention.count() <= 0)
    throw Error("stream '" + std::string(name.substr(0, 128)) + "': retention must be positive");
  std::lock_guard changes(changes_mutex_);
  Entry changed = entry_copy(name);
  changed.retention_change = retention;
  write_attributes(std::string(name), changed);  // first: a failed write changes nothing
  changed.stream->set_retention(retention);
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  if (it != streams_.end()) it->second.retention_change = retention;
}

void StreamStore::update_tags(std::string_view name, const std::function<void(StreamTags& tags)>& edit) {
  std::lock_guard changes(changes_mutex_);
  Entry changed = entry_copy(name);
  edit(changed.tags);
  write_attributes(std::string(name), changed);
  std::lock_guard lock(mutex_);
  auto it = streams_.find(name);
  if (it != streams_.end()) it->second.tags = std::move(changed.tags);
}

std::vector<StreamDescription> StreamStore::describe() const {
  std::vector<StreamDescription> out;
  for (const auto& stream : all()) out.push_back(stream->describe());
  return out;
}

size_t StreamStore::enforce_retention(TimePoint now) {
  size_t total = 0;
  for (const auto& stream : all()) total += stream->enforce_retention(now);
  return total;
}

}  // namespace sluice::stream
