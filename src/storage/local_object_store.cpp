#include "storage/local_object_store.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "common/fs.h"

namespace sluice::storage {
namespace {

constexpr const char* kEtagAttribute = "user.sluice.etag";

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string to_hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  if (hex.size() % 2) return out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

TimePoint mtime_of(const struct stat& st) {
  return TimePoint(std::chrono::milliseconds(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 +
                                             st.st_mtim.tv_nsec / 1'000'000));
}

std::string read_etag_attribute(const std::filesystem::path& path) {
  char buffer[64];
  ssize_t n = ::getxattr(path.c_str(), kEtagAttribute, buffer, sizeof(buffer));
  if (n != 32) return "";
  return std::string(buffer, static_cast<size_t>(n));
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

std::string md5_hex(std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    throw Error("MD5 computation failed");
  }
  return to_hex(digest, length);
}

std::string validate_key(std::string_view key) {
  if (key.empty()) return "the key is empty";
  if (key.size() > 1024) return "the key is " + std::to_string(key.size()) + " bytes long; the limit is 1024";
  if (key.front() == '/') return "the key starts with '/'";
  for (unsigned char c : key) {
    if (c == 0) return "the key contains a NUL byte";
    if (c < 0x20 || c == 0x7f) return "the key contains a control character";
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) slash = key.size();
    const std::string_view segment = key.substr(start, slash - start);
    if (segment.empty() && slash != key.size()) return "the key has an empty segment (\"//\")";
    if (segment.empty() && slash == key.size()) return "the key ends with '/'";
    if (segment == "." || segment == "..") return "the key has a \"" + std::string(segment) + "\" segment";
    if (segment.rfind(fs::kTempPrefix, 0) == 0)
      return "the key has a segment starting with the reserved \"" + std::string(fs::kTempPrefix) + "\"";
    start = slash + 1;
  }
  return "";
}

std::string validate_bucket_name(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) {
    return "bucket name " + quote(bucket) + " must be 3 to 63 characters long";
  }
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return "bucket name " + quote(bucket) + " may contain only lower-case letters, digits, '.' and '-'";
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return "bucket name " + quote(bucket) + " must start and end with a letter or digit";
  }
  if (bucket.find("..") != std::string_view::npos)
    return "bucket name " + quote(bucket) + " must not contain \"..\"";
  return "";
}

LocalObjectStore::LocalObjectStore(std::filesystem::path root, std::vector<std::string> buckets,
                                   ObjectEventLog* events, bool recover)
    : root_(std::move(root)), buckets_(std::move(buckets)), events_(events) {
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
  if (events_ && recover) {
    events_->recover([this](const ObjectEvent& e) {
      try {
        auto info = head(e.bucket, e.key);
        return info && info->etag == e.etag;
      } catch (const Error&) {
        return false;
      }
    });
  }
}

bool LocalObjectStore::has_bucket(std::string_view bucket) const {
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
  LocalObjectWriter(LocalObjectStore& store, std::string_view bucket, std::string_view key)
      : store_(store),
        bucket_(bucket),
        key_(key),
        path_(store.prepare_destination(bucket, key)),
        file_(path_.parent_path()),
        md5_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!md5_ || EVP_DigestInit_ex(md5_.get(), EVP_md5(), nullptr) != 1) throw SystemError("MD5 unavailable");
  }

  void write(std::string_view data) override {
    if (EVP_DigestUpdate(md5_.get(), data.data(), data.size()) != 1) throw SystemError("MD5 failed");
    file_.write(data);
  }

  uint64_t size() const override { return file_.size(); }

  ObjectInfo commit() override {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(md5_.get(), digest, &length) != 1) throw SystemError("MD5 failed");
    ObjectEvent event;
    event.bucket = bucket_;
    event.key = key_;
    event.size = file_.size();
    event.etag = to_hex(digest, length);
    event.time = now_ms();
    const auto temp = file_.release_synced();
    // The ETag travels with the file; a file system without user xattrs falls back to hashing on read.
    ::setxattr(temp.c_str(), kEtagAttribute, event.etag.data(), event.etag.size(), 0);
    uint64_t event_id = 0;
    try {
      if (store_.events_) event_id = store_.events_->prepare(event);
      if (store_.crash_hook_) store_.crash_hook_("before_rename");
      fs::rename_durable(temp, path_);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(temp, ec);
      if (store_.events_ && event_id) store_.events_->abort(event_id);
      throw;
    }
    if (store_.crash_hook_) store_.crash_hook_("after_rename");
    if (store_.events_) store_.events_->commit(event_id);

    ObjectInfo info;
    info.bucket = event.bucket;
    info.key = event.key;
    info.size = event.size;
    info.etag = event.etag;
    struct stat st {};
    info.last_modified = ::stat(path_.c_str(), &st) == 0 ? mtime_of(st) : event.time;
    return info;
  }

 private:
  LocalObjectStore& store_;
  std::string bucket_;
  std::string key_;
  std::filesystem::path path_;
  fs::TempFileWriter file_;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md5_;
};

std::unique_ptr<ObjectWriter> LocalObjectStore::open_writer(std::string_view bucket, std::string_view key) {
  return std::make_unique<LocalObjectWriter>(*this, bucket, key);
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
  return info;
}

ListResult LocalObjectStore::list(std::string_view bucket, const ListRequest& request) const {
  const auto dir = bucket_dir(bucket);
  if (request.max_keys < 0 || request.max_keys > 1000) {
    throw Error("max-keys must be from 0 to 1000, got " + std::to_string(request.max_keys));
  }
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

  // The continuation token is the hex of the last key or common prefix returned, tagged K or P.
  std::string marker = request.start_after;
  bool marker_is_prefix = false;
  if (!request.continuation_token.empty()) {
    const std::string& token = request.continuation_token;
    const std::string decoded = token.size() > 1 ? from_hex(token.substr(1)) : "";
    if ((token[0] != 'K' && token[0] != 'P') || decoded.empty()) throw Error("invalid continuation token");
    if (decoded > marker) {
      marker = decoded;
      marker_is_prefix = token[0] == 'P';
    }
  }

  ListResult result;
  int count = 0;
  std::string last_emitted;
  bool last_is_prefix = false;
  for (const auto& key : keys) {
    if (key <= marker) continue;
    if (marker_is_prefix && key.compare(0, marker.size(), marker) == 0) continue;
    std::string common;
    if (!request.delimiter.empty()) {
      const size_t at = key.find(request.delimiter, prefix.size());
      if (at != std::string::npos) common = key.substr(0, at + request.delimiter.size());
    }
    if (!common.empty() && !result.common_prefixes.empty() && result.common_prefixes.back() == common)
      continue;
    if (count == request.max_keys) {
      result.is_truncated = true;
      break;
    }
    if (!common.empty()) {
      result.common_prefixes.push_back(common);
      last_emitted = common;
      last_is_prefix = true;
    } else {
      auto info = head(bucket, key);
      if (!info) continue;  // removed meanwhile
      result.objects.push_back(std::move(*info));
      last_emitted = key;
      last_is_prefix = false;
    }
    ++count;
  }
  if (result.is_truncated) {
    const auto& raw = last_emitted;
    result.next_continuation_token =
        (last_is_prefix ? "P" : "K") + to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  }
  return result;
}

bool LocalObjectStore::remove(std::string_view bucket, std::string_view key) {
  const auto path = object_path(bucket, key);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (::unlink(path.c_str()) != 0) {
    throw Error("cannot delete s3://" + std::string(bucket) + "/" + std::string(key) + ": " +
                std::strerror(errno));
  }
  // Directories emptied by the delete go too, so that listings and later puts see no stale prefix.
  const auto bucket_root = root_ / std::string(bucket);
  auto dir = path.parent_path();
  while (dir != bucket_root && ::rmdir(dir.c_str()) == 0) dir = dir.parent_path();
  fs::fsync_dir(dir);
  return true;
}

}  // namespace sluice::storage
