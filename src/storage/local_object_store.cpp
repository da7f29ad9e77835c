#include "storage/local_object_store.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/fs.h"

namespace sluice::storage {
namespace {

constexpr const char* kEtagAttribute = "user.sluice.etag";
// Content-Type and user metadata, as JSON {"content_type": "...", "metadata": {...}}.
constexpr const char* kAttributesAttribute = "user.sluice.attributes";
// The buckets created at run time (not declared), as a JSON array; no bucket can be named so.
constexpr const char* kCreatedBucketsFile = ".sluice-buckets";

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

TimePoint mtime_of(const struct stat& st) {
  return TimePoint(std::chrono::milliseconds(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 +
                                             st.st_mtim.tv_nsec / 1'000'000));
}

// The recorded ETag: an MD5 (32 hex digits) or a multipart ETag ("<32 hex>-<parts>"); "" when none.
std::string read_etag_attribute(const std::filesystem::path& path) {
  char buffer[64];
  ssize_t n = ::getxattr(path.c_str(), kEtagAttribute, buffer, sizeof(buffer));
  if (n < 32 || n >= static_cast<ssize_t>(sizeof(buffer))) return "";
  std::string etag(buffer, static_cast<size_t>(n));
  if (etag.find_first_not_of("0123456789abcdef-") != std::string::npos) return "";
  return etag;
}

// Content-Type and user metadata of the file, when recorded (a damaged attribute counts as none).
void read_attributes(const std::filesystem::path& path, ObjectInfo& info) {
  std::string buffer(4096, '\0');
  ssize_t n = ::getxattr(path.c_str(), kAttributesAttribute, buffer.data(), buffer.size());
  if (n < 0 && errno == ERANGE) {  // larger than most: ask its size
    n = ::getxattr(path.c_str(), kAttributesAttribute, nullptr, 0);
    if (n <= 0 || n > (1 << 20)) return;
    buffer.resize(static_cast<size_t>(n));
    n = ::getxattr(path.c_str(), kAttributesAttribute, buffer.data(), buffer.size());
  }
  if (n <= 0) return;
  buffer.resize(static_cast<size_t>(n));
  const auto json = nlohmann::json::parse(buffer, nullptr, false);
  if (!json.is_object()) return;
  if (auto it = json.find("content_type"); it != json.end() && it->is_string()) info.content_type = *it;
  if (auto it = json.find("metadata"); it != json.end() && it->is_object()) {
    for (const auto& [name, value] : it->items())
      if (value.is_string()) info.metadata[name] = value.get<std::string>();
  }
}

// Records `options`' Content-Type and metadata on the file at `path`. Throws Error when they cannot be
// kept (too large for the file system's extended attributes); nothing to record is not an error.
void write_attributes(const std::filesystem::path& path, const WriteOptions& options) {
  if (options.content_type.empty() && options.metadata.empty()) return;
  nlohmann::json json = {{"content_type", options.content_type}, {"metadata", options.metadata}};
  const std::string text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (::setxattr(path.c_str(), kAttributesAttribute, text.data(), text.size(), 0) != 0) {
    const int error = errno;
    if (error == ENOTSUP) return;  // a file system without user xattrs: the attributes are not kept
    throw_errno("cannot record the Content-Type and metadata of " + path.string(), error);
  }
}

std::vector<std::string> read_created_buckets(const std::filesystem::path& root) {
  const auto path = root / kCreatedBucketsFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const auto json = nlohmann::json::parse(fs::read_file(path), nullptr, false);
  if (!json.is_array())
    throw Error("cannot read the created buckets from " + path.string() + ": not a JSON array");
  std::vector<std::string> names;
  for (const auto& name : json)
    if (name.is_string()) names.push_back(name.get<std::string>());
  return names;
}

// Walks `dir` recursively, calling `fn(relative key)` for each regular file (temporary files skipped).
void walk(const std::filesystem::path& dir, const std::string& key_prefix,
          const std::function<void(const std::string&)>& fn) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(fs::kTempPrefix, 0) == 0) continue;
    const auto status = it->symlink_status(ec);
    if (ec) continue;
    if (std::filesystem::is_directory(status)) {
      walk(it->path(), key_prefix + name + "/", fn);
    } else if (std::filesystem::is_regular_file(status)) {
      fn(key_prefix + name);
    }
  }
}

}  // namespace

LocalObjectStore::LocalObjectStore(std::filesystem::path root, std::vector<std::string> buckets,
                                   ObjectEventLog* events, bool recover)
    : root_(std::move(root)), declared_(buckets), buckets_(std::move(buckets)), put_events_(events) {
  for (auto& created : read_created_buckets(root_))
    if (std::find(buckets_.begin(), buckets_.end(), created) == buckets_.end()) buckets_.push_back(created);
  for (const auto& bucket : buckets_) {
    if (std::string why = validate_bucket_name(bucket); !why.empty()) throw Error(why);
    const auto dir = root_ / bucket;
    if (!std::filesystem::is_directory(dir)) fs::create_directories_durable(dir);
    if (!recover) continue;
    // A crash mid-put leaves only a temporary file: remove them (this process owns the directory).
    std::vector<std::filesystem::path> leftovers;
    for (auto it = std::filesystem::recursive_directory_iterator(dir); it != decltype(it)(); ++it) {
      if (it->path().filename().string().rfind(fs::kTempPrefix, 0) == 0) leftovers.push_back(it->path());
    }
    for (const auto& p : leftovers) std::filesystem::remove(p);
  }
  if (recover) {
    put_events_.recover([this](const ObjectEvent& e) {
      try {
        auto info = head(e.bucket, e.key);
        return info && info->etag == e.etag;
      } catch (const Error&) {
        return false;
      }
    });
  }
}

std::vector<std::string> LocalObjectStore::buckets() const {
  std::shared_lock lock(buckets_mutex_);
  return buckets_;
}

bool LocalObjectStore::has_bucket(std::string_view bucket) const {
  std::shared_lock lock(buckets_mutex_);
  return std::find(buckets_.begin(), buckets_.end(), bucket) != buckets_.end();
}

std::filesystem::path LocalObjectStore::bucket_dir(std::string_view bucket) const {
  if (!has_bucket(bucket)) throw NotFound("no bucket named " + quote(bucket));
  return root_ / std::string(bucket);
}

std::filesystem::path LocalObjectStore::object_path(std::string_view bucket, std::string_view key) const {
  const auto dir = bucket_dir(bucket);
  if (std::string why = validate_key(key); !why.empty()) {
    throw Error("invalid key in bucket " + quote(bucket) + ": " + why + " (key " + quote(key.substr(0, 200)) +
                ")");
  }
  return dir / std::string(key);
}

std::filesystem::path LocalObjectStore::prepare_destination(std::string_view bucket, std::string_view key) {
  const auto path = object_path(bucket, key);
  const auto bucket_root = root_ / std::string(bucket);
  // Every directory on the way must be a real directory (not an object, not a symlink), so that the
  // file lands inside the bucket and "a" and "a/b" never both exist.
  std::filesystem::path walk_path = bucket_root;
  const std::filesystem::path key_path{std::string(key)};
  for (const auto& segment : key_path) {
    walk_path /= segment;
    const bool last = walk_path == path;
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(walk_path, ec);
    if (ec || status.type() == std::filesystem::file_type::not_found) break;
    if (status.type() == std::filesystem::file_type::symlink) {
      throw Error("cannot put s3://" + std::string(bucket) + "/" + std::string(key) + ": " +
                  walk_path.string() + " is a symbolic link");
    }
    if (!last && status.type() != std::filesystem::file_type::directory) {
      throw Error("cannot put s3://" + std::string(bucket) + "/" + std::string(key) + ": an object named " +
                  quote(std::filesystem::relative(walk_path, bucket_root).string()) +
                  " exists, and this store cannot hold both an object and keys below it");
    }
    if (last && status.type() == std::filesystem::file_type::directory) {
      throw Error("cannot put s3://" + std::string(bucket) + "/" + std::string(key) +
                  ": other keys exist below it (prefix " + quote(std::string(key) + "/") +
                  "), and this store cannot hold both");
    }
  }
  const auto dir = path.parent_path();
  if (!std::filesystem::is_directory(dir)) fs::create_directories_durable(dir);
  return path;
}

// Writes to a temporary file beside the object's place, hashing as it goes; commit() syncs it, records
// the event as prepared, renames it into place and confirms the event (see object_events.h).
class LocalObjectWriter : public ObjectWriter {
 public:
  LocalObjectWriter(LocalObjectStore& store, std::string_view bucket, std::string_view key,
                    WriteOptions options = {})
      : no_pruning_(store.prune_mutex_),
        store_(store),
        bucket_(bucket),
        key_(key),
        options_(std::move(options)),
        path_(store.prepare_destination(bucket, key)),
        file_(std::make_unique<fs::TempFileWriter>(path_.parent_path())) {}

  void write(std::string_view data) override {
    md5_.update(data);
    file_->write(data);
  }

  uint64_t size() const override { return file_->size(); }

  ObjectInfo commit() override {
    ObjectEvent event;
    event.bucket = bucket_;
    event.key = key_;
    event.size = file_->size();
    event.etag = options_.etag.empty() ? md5_.hex_digest() : options_.etag;
    event.time = now_ms();
    const auto temp = file_->release_synced();
    // The ETag travels with the file; a file system without user xattrs falls back to hashing on read.
    ::setxattr(temp.c_str(), kEtagAttribute, event.etag.data(), event.etag.size(), 0);
    std::optional<PendingEvent> pending;
    try {
      write_attributes(temp, options_);
      pending.emplace(store_.put_events_.prepare(event));
      if (store_.crash_hook_) store_.crash_hook_("before_rename");
      fs::rename_durable(temp, path_);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(temp, ec);
      throw;  // the pending event, if any, is aborted as it goes
    }
    if (store_.crash_hook_) store_.crash_hook_("after_rename");
    pending->commit();

    ObjectInfo info;
    info.bucket = event.bucket;
    info.key = event.key;
    info.size = event.size;
    info.etag = event.etag;
    info.content_type = options_.content_type;
    info.metadata = options_.metadata;
    struct stat st {};
    info.last_modified = ::stat(path_.c_str(), &st) == 0 ? mtime_of(st) : event.time;
    return info;
  }

 private:
  // Held from before the directory is made until the writer is gone: no delete removes the directories
  // of a put in flight (LocalObjectStore::remove prunes only when no writer holds it).
  std::shared_lock<std::shared_mutex> no_pruning_;
  LocalObjectStore& store_;
  std::string bucket_;
  std::string key_;
  WriteOptions options_;
  std::filesystem::path path_;
  std::unique_ptr<fs::TempFileWriter> file_;
  Md5 md5_;
};

std::unique_ptr<ObjectWriter> LocalObjectStore::open_writer(std::string_view bucket, std::string_view key) {
  return std::make_unique<LocalObjectWriter>(*this, bucket, key);
}

std::unique_ptr<ObjectWriter> LocalObjectStore::open_writer_with(std::string_view bucket,
                                                                 std::string_view key,
                                                                 const WriteOptions& options) {
  return std::make_unique<LocalObjectWriter>(*this, bucket, key, options);
}

void LocalObjectStore::save_created_buckets() const {
  nlohmann::json created = nlohmann::json::array();
  for (const auto& bucket : buckets_)
    if (std::find(declared_.begin(), declared_.end(), bucket) == declared_.end()) created.push_back(bucket);
  fs::write_file_atomic(root_ / kCreatedBucketsFile, created.dump() + "\n");
}

bool LocalObjectStore::create_bucket(std::string_view bucket) {
  if (std::string why = validate_bucket_name(bucket); !why.empty()) throw Error(why);
  std::unique_lock lock(buckets_mutex_);
  if (std::find(buckets_.begin(), buckets_.end(), bucket) != buckets_.end()) return false;
  const auto dir = root_ / std::string(bucket);
  if (!std::filesystem::is_directory(dir)) fs::create_directories_durable(dir);
  buckets_.emplace_back(bucket);
  try {
    save_created_buckets();
  } catch (...) {
    buckets_.pop_back();
    throw;
  }
  return true;
}

void LocalObjectStore::remove_bucket(std::string_view bucket) {
  std::unique_lock lock(buckets_mutex_);
  const auto it = std::find(buckets_.begin(), buckets_.end(), bucket);
  if (it == buckets_.end()) throw NotFound("no bucket named " + quote(bucket));
  const auto dir = root_ / std::string(bucket);
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    const int error = errno;
    if (error == ENOTEMPTY || error == EEXIST)
      throw BucketNotEmpty("bucket " + quote(bucket) + " is not empty: delete its objects first");
    throw_errno("cannot delete bucket " + quote(bucket) + " (" + dir.string() + ")", error);
  }
  fs::fsync_dir(root_);
  const std::string removed = *it;
  buckets_.erase(it);
  try {
    save_created_buckets();
  } catch (...) {
    buckets_.push_back(removed);
    throw;
  }
}

ObjectInfo LocalObjectStore::put(std::string_view bucket, std::string_view key, std::string_view data) {
  LocalObjectWriter writer(*this, bucket, key);
  writer.write(data);
  return writer.commit();
}

std::string LocalObjectStore::get(std::string_view bucket, std::string_view key) const {
  const auto path = object_path(bucket, key);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec))) {
    throw NotFound("no object s3://" + std::string(bucket) + "/" + std::string(key));
  }
  return fs::read_file(path);
}

std::string LocalObjectStore::get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                                        uint64_t length) const {
  const auto path = object_path(bucket, key);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec))) {
    throw NotFound("no object s3://" + std::string(bucket) + "/" + std::string(key));
  }
  return fs::read_file_range(path, offset, length);
}

namespace {

// The local store's readable object: the object's own file, nothing to release.
class LocalReadable : public ReadableObject {
 public:
  LocalReadable(std::filesystem::path path, ObjectInfo info)
      : path_(std::move(path)), info_(std::move(info)) {}
  const std::filesystem::path& path() const override { return path_; }
  const ObjectInfo& info() const override { return info_; }

 private:
  std::filesystem::path path_;
  ObjectInfo info_;
};

}  // namespace

std::unique_ptr<ReadableObject> LocalObjectStore::open_readable(std::string_view bucket,
                                                                std::string_view key) const {
  auto info = head(bucket, key);
  if (!info) throw NotFound("no object s3://" + std::string(bucket) + "/" + std::string(key));
  return std::make_unique<LocalReadable>(object_path(bucket, key), std::move(*info));
}

std::vector<std::filesystem::path> LocalObjectStore::readable_directories() const { return {root_}; }

std::optional<ObjectInfo> LocalObjectStore::head(std::string_view bucket, std::string_view key) const {
  const auto path = object_path(bucket, key);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  ObjectInfo info;
  info.bucket = std::string(bucket);
  info.key = std::string(key);
  info.size = static_cast<uint64_t>(st.st_size);
  info.last_modified = mtime_of(st);
  info.etag = read_etag_attribute(path);
  if (info.etag.empty()) info.etag = md5_hex(fs::read_file(path));
  read_attributes(path, info);
  return info;
}

ListResult LocalObjectStore::list(std::string_view bucket, const ListRequest& request) const {
  const auto dir = bucket_dir(bucket);
  // Only the directory named by the prefix's complete segments can hold matching keys.
  const std::string& prefix = request.prefix;
  const size_t cut = prefix.rfind('/');
  const std::string base = cut == std::string::npos ? "" : prefix.substr(0, cut + 1);
  std::vector<std::string> keys;
  if (base.empty() || validate_key(base.substr(0, base.size() - 1)).empty()) {
    const auto start = dir / base;
    struct stat st {};
    if (::lstat(start.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(start, base, [&](const std::string& key) {
        if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(key);
      });
    }
  }
  std::sort(keys.begin(), keys.end());  // byte order, as S3
  return list_sorted_keys(keys, request, [&](const std::string& key) { return head(bucket, key); });
}

bool LocalObjectStore::remove(std::string_view bucket, std::string_view key) {
  const auto path = object_path(bucket, key);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (::unlink(path.c_str()) != 0) {
    throw Error("cannot delete s3://" + std::string(bucket) + "/" + std::string(key) + ": " +
                std::strerror(errno));
  }
  // Directories emptied by the delete go too, so that later puts see no stale prefix — unless a put is
  // in flight, whose directory must stay (an empty directory left behind is invisible to listings; the
  // next delete in it removes it).
  const auto bucket_root = root_ / std::string(bucket);
  auto dir = path.parent_path();
  if (std::unique_lock pruning(prune_mutex_, std::try_to_lock); pruning.owns_lock())
    while (dir != bucket_root && ::rmdir(dir.c_str()) == 0) dir = dir.parent_path();
  try {
    fs::fsync_dir(dir);
  } catch (const Error&) {
    // A concurrent delete of the directory's last other object removed it (and synced its parent).
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) throw;
  }
  return true;
}

}  // namespace sluice::storage
