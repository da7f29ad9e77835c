#include "storage/s3_object_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <mutex>

#include "common/error.h"
#include "common/fs.h"
#include "storage/md5.h"
#include "storage/s3_xml.h"

namespace sluice::storage {
namespace {

constexpr uint64_t kMaxParts = 10'000;  // S3's limit per multipart upload

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }
std::string s3_url(std::string_view bucket, std::string_view key) {
  return "s3://" + std::string(bucket) + "/" + std::string(key);
}

// "Wed, 25 Nov 2026 18:08:49 GMT" (an HTTP date, as S3's Last-Modified); nullopt when malformed.
std::optional<TimePoint> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return from_epoch_ms(static_cast<int64_t>(::timegm(&tm)) * 1000);
}

// Throws for an answer that is not a success: NotFound for 404 / NoSuchKey / NoSuchBucket, Error
// with S3's code and message otherwise (the retryable ones were retried by S3Client already).
[[noreturn]] void throw_answer(const S3Response& answer, const std::string& what) {
  const auto error = s3xml::parse_error(answer.body);
  std::string detail = "S3 answered " + std::to_string(answer.status);
  if (!error.code.empty()) detail += " " + error.code;
  if (!error.message.empty()) detail += ": " + error.message;
  if (error.code.empty() && answer.status == 403)
    detail += " (access denied: check the credentials and region)";
  if (answer.status == 404 || error.code == "NoSuchKey" || error.code == "NoSuchBucket")
    throw NotFound(what + ": " + detail);
  throw Error(what + ": " + detail);
}

bool success(const S3Response& answer) { return answer.status >= 200 && answer.status < 300; }

ObjectInfo info_from_head(const S3Response& answer, std::string_view bucket, std::string_view key) {
  ObjectInfo info;
  info.bucket = std::string(bucket);
  info.key = std::string(key);
  info.size = std::strtoull(answer.header("Content-Length").c_str(), nullptr, 10);
  info.etag = s3xml::normalize_etag(answer.header("ETag"));
  if (auto t = parse_http_date(answer.header("Last-Modified"))) info.last_modified = *t;
  info.content_type = answer.header("Content-Type");
  for (const auto& [name, value] : answer.headers) {
    std::string lower_name(name);
    std::transform(lower_name.begin(), lower_name.end(), lower_name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower_name.rfind("x-amz-meta-", 0) == 0) info.metadata[lower_name.substr(11)] = value;
  }
  return info;
}

// The raw 16 bytes of a hex MD5.
std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// Reads bytes [offset, offset + length) of what is being uploaded.
using PartReader = std::function<std::string(uint64_t offset, uint64_t length)>;

// What one upload sends: the bytes (through `read`), their size and MD5, and the attributes.
struct Upload {
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string md5;  // hex, of all the bytes
  PartReader read;
  WriteOptions options;
};

std::vector<std::pair<std::string, std::string>> attribute_headers(const WriteOptions& options) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!options.content_type.empty()) headers.emplace_back("Content-Type", options.content_type);
  for (const auto& [name, value] : options.metadata) headers.emplace_back("x-amz-meta-" + name, value);
  return headers;
}

}  // namespace

// Uploads through `client` as the top of s3_object_store.h says, recording the event in `events`.
class S3Uploader {
 public:
  S3Uploader(const S3Client& client, PutEvents& events, const S3StoreConfig& config)
      : client_(client), events_(events), config_(config) {}

  ObjectInfo upload(const Upload& upload) {
    const bool multipart = upload.size > config_.multipart_threshold;
    ObjectInfo info = multipart ? upload_parts(upload) : upload_whole(upload);
    info.bucket = upload.bucket;
    info.key = upload.key;
    info.size = upload.size;
    info.content_type = upload.options.content_type;
    info.metadata = upload.options.metadata;
    if (info.last_modified == TimePoint{}) info.last_modified = now_ms();
    return info;
  }

 private:
  ObjectEvent event_of(const Upload& upload, const std::string& etag) const {
    ObjectEvent event;
    event.bucket = upload.bucket;
    event.key = upload.key;
    event.size = upload.size;
    event.etag = etag;
    event.time = now_ms();
    return event;
  }

  ObjectInfo upload_whole(const Upload& upload) {
    const std::string what = "cannot put " + s3_url(upload.bucket, upload.key);
    const std::string body = upload.read(0, upload.size);
    S3Request request{.method = "PUT",
                      .bucket = upload.bucket,
                      .key = upload.key,
                      .headers = attribute_headers(upload.options),
                      .body = body};
    PendingEvent pending = events_.prepare(event_of(upload, upload.md5));
    const S3Response answer = client_.send(request, what);
    if (!success(answer)) throw_answer(answer, what);
    pending.commit();
    ObjectInfo info;
    info.etag = s3xml::normalize_etag(answer.header("ETag"));
    if (info.etag.empty()) info.etag = upload.md5;
    return info;
  }

  ObjectInfo upload_parts(const Upload& upload) {
    const std::string what = "cannot put " + s3_url(upload.bucket, upload.key) + " (multipart upload)";
    S3Request create{.method = "POST",
                     .bucket = upload.bucket,
                     .key = upload.key,
                     .query = {{"uploads", ""}},
                     .headers = attribute_headers(upload.options)};
    const S3Response created = client_.send(create, what);
    if (!success(created)) throw_answer(created, what);
    const std::string upload_id = s3xml::parse_upload_id(created.body);
    try {
      return upload_and_complete(upload, upload_id, what);
    } catch (...) {
      abort(upload, upload_id);  // nothing half-written stays behind
      throw;
    }
  }

  ObjectInfo upload_and_complete(const Upload& upload, const std::string& upload_id,
                                 const std::string& what) {
    const uint64_t part_size =
        std::max<uint64_t>({config_.part_size, 1, (upload.size + kMaxParts - 1) / kMaxParts});
    std::vector<std::string> etags;
    std::string md5s;  // the parts' raw MD5s, for the multipart ETag
    for (uint64_t offset = 0; offset < upload.size; offset += part_size) {
      const std::string part = upload.read(offset, std::min(part_size, upload.size - offset));
      const std::string part_md5 = md5_hex(part);
      S3Request request{.method = "PUT",
                        .bucket = upload.bucket,
                        .key = upload.key,
                        .query = {{"partNumber", std::to_string(etags.size() + 1)}, {"uploadId", upload_id}},
                        .body = part};
      const S3Response answer = client_.send(request, what + ", part " + std::to_string(etags.size() + 1));
      if (!success(answer)) throw_answer(answer, what);
      std::string etag = s3xml::normalize_etag(answer.header("ETag"));
      etags.push_back(etag.empty() ? part_md5 : etag);
      md5s += unhex(part_md5);
    }
    const std::string expected = md5_hex(md5s) + "-" + std::to_string(etags.size());
    const std::string document = s3xml::complete_multipart_document(etags);
    S3Request complete{.method = "POST",
                       .bucket = upload.bucket,
                       .key = upload.key,
                       .query = {{"uploadId", upload_id}},
                       .body = document};
    PendingEvent pending = events_.prepare(event_of(upload, expected));
    const S3Response answer = client_.send(complete, what);
    std::string etag = s3xml::parse_complete_etag(answer.body);
    if (!success(answer) || etag.empty()) throw_answer(answer, what);
    pending.commit();
    ObjectInfo info;
    info.etag = etag;
    return info;
  }

  void abort(const Upload& upload, const std::string& upload_id) noexcept {
    try {
      S3Request request{
          .method = "DELETE", .bucket = upload.bucket, .key = upload.key, .query = {{"uploadId", upload_id}}};
      client_.send(request, "cannot abort the multipart upload of " + s3_url(upload.bucket, upload.key));
    } catch (...) {
      // The upload stays invisible (never completed); a bucket lifecycle rule removes its parts.
    }
  }

  const S3Client& client_;
  PutEvents& events_;
  const S3StoreConfig& config_;
};

// Buffers an object's bytes in memory up to the multipart threshold, then in an unlinked temporary
// file (nothing to clean up, even after a crash), hashing as it goes; commit() uploads.
class S3ObjectWriter : public ObjectWriter {
 public:
  S3ObjectWriter(S3ObjectStore& store, std::string_view bucket, std::string_view key, WriteOptions options)
      : store_(store), bucket_(bucket), key_(key), options_(std::move(options)) {}
  ~S3ObjectWriter() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(std::string_view data) override {
    if (committed_) throw Error("cannot write to " + s3_url(bucket_, key_) + ": already committed");
    md5_.update(data);
    memory_.append(data);
    size_ += data.size();
    if (memory_.size() > std::max<uint64_t>(store_.config_.multipart_threshold, 1 << 20)) spill();
  }

  uint64_t size() const override { return size_; }

  ObjectInfo commit() override {
    if (committed_) throw Error("cannot commit " + s3_url(bucket_, key_) + " twice");
    committed_ = true;
    if (fd_ >= 0) spill();
    Upload upload{
        .bucket = bucket_, .key = key_, .size = size_, .md5 = md5_.hex_digest(), .options = options_};
    upload.read = [this](uint64_t offset, uint64_t length) { return read(offset, length); };
    return S3Uploader(store_.client_, store_.put_events_, store_.config_).upload(upload);
  }

 private:
  // Moves the buffered bytes to the temporary file (made at the first call).
  void spill() {
    const std::string what = "cannot buffer " + s3_url(bucket_, key_) + " for its upload";
    if (fd_ < 0) {
      const auto dir = store_.config_.spool_directory.empty() ? store_.config_.cache_directory
                                                              : store_.config_.spool_directory;
      std::string name = (dir / "s3-upload-XXXXXX").string();
      fd_ = ::mkstemp(name.data());
      if (fd_ < 0) throw_errno(what + " in " + dir.string(), errno);
      ::unlink(name.c_str());  // the open descriptor keeps it; a crash leaves nothing
    }
    for (size_t done = 0; done < memory_.size();) {
      const ssize_t n = ::write(fd_, memory_.data() + done, memory_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno(what, errno);
      done += static_cast<size_t>(n);
    }
    memory_.clear();
  }

  std::string read(uint64_t offset, uint64_t length) const {
    if (fd_ < 0) return memory_.substr(offset, length);
    std::string out(length, '\0');
    for (size_t done = 0; done < length;) {
      const ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw_errno("cannot read back the buffered bytes of " + s3_url(bucket_, key_), n < 0 ? errno : EIO);
      done += static_cast<size_t>(n);
    }
    return out;
  }

  S3ObjectStore& store_;
  std::string bucket_;
  std::string key_;
  WriteOptions options_;
  std::string memory_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool committed_ = false;
  Md5 md5_;
};

S3ObjectStore::S3ObjectStore(S3StoreConfig config, std::vector<std::string> buckets, ObjectEventLog* events,
                             bool recover)
    : config_(std::move(config)),
      client_(config_.connection),
      buckets_(std::move(buckets)),
      put_events_(events) {
  for (const auto& bucket : buckets_)
    if (std::string why = validate_bucket_name(bucket); !why.empty()) throw Error(why);
  if (config_.cache_directory.empty()) throw Error("the S3 object store needs a cache directory");
  cache_ = std::make_unique<ObjectCache>(config_.cache_directory, config_.cache_bytes);
  if (!config_.spool_directory.empty() && !std::filesystem::is_directory(config_.spool_directory))
    fs::create_directories_durable(config_.spool_directory);
  if (recover) {
    put_events_.recover([this](const ObjectEvent& e) {
      if (!has_bucket(e.bucket) || !validate_key(e.key).empty()) return false;
      const auto info = head(e.bucket, e.key);  // unreachable: throws, and nothing is settled
      return info && info->etag == e.etag;
    });
  }
}

S3ObjectStore::~S3ObjectStore() = default;

std::vector<std::string> S3ObjectStore::buckets() const {
  std::shared_lock lock(buckets_mutex_);
  return buckets_;
}

bool S3ObjectStore::has_bucket(std::string_view bucket) const {
  std::shared_lock lock(buckets_mutex_);
  return std::find(buckets_.begin(), buckets_.end(), bucket) != buckets_.end();
}

void S3ObjectStore::require_bucket(std::string_view bucket) const {
  if (!has_bucket(bucket)) throw NotFound("no bucket named " + quote(bucket));
}

void S3ObjectStore::check_object_name(std::string_view bucket, std::string_view key) const {
  require_bucket(bucket);
  if (std::string why = validate_key(key); !why.empty())
    throw Error("invalid key in bucket " + quote(bucket) + ": " + why + " (key " + quote(key.substr(0, 200)) +
                ")");
}

ObjectInfo S3ObjectStore::put(std::string_view bucket, std::string_view key, std::string_view data) {
  check_object_name(bucket, key);
  Upload upload{
      .bucket = std::string(bucket), .key = std::string(key), .size = data.size(), .md5 = md5_hex(data)};
  upload.read = [data](uint64_t offset, uint64_t length) { return std::string(data.substr(offset, length)); };
  return S3Uploader(client_, put_events_, config_).upload(upload);
}

std::unique_ptr<ObjectWriter> S3ObjectStore::open_writer(std::string_view bucket, std::string_view key) {
  return open_writer_with(bucket, key, {});
}

std::unique_ptr<ObjectWriter> S3ObjectStore::open_writer_with(std::string_view bucket, std::string_view key,
                                                              const WriteOptions& options) {
  check_object_name(bucket, key);
  return std::make_unique<S3ObjectWriter>(*this, bucket, key, options);
}

bool S3ObjectStore::create_bucket(std::string_view bucket) {
  if (std::string why = validate_bucket_name(bucket); !why.empty()) throw Error(why);
  const std::string what = "cannot create bucket " + quote(bucket);
  std::string document;
  if (config_.connection.region != "us-east-1")
    document =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
        config_.connection.region + "</LocationConstraint></CreateBucketConfiguration>";
  const S3Response answer =
      client_.send({.method = "PUT", .bucket = std::string(bucket), .body = document}, what);
  bool created = success(answer);
  if (!created && s3xml::parse_error(answer.body).code != "BucketAlreadyOwnedByYou")
    throw_answer(answer, what);
  std::unique_lock lock(buckets_mutex_);
  if (std::find(buckets_.begin(), buckets_.end(), bucket) != buckets_.end()) return false;
  buckets_.emplace_back(bucket);
  return created;
}

void S3ObjectStore::remove_bucket(std::string_view bucket) {
  require_bucket(bucket);
  const std::string what = "cannot delete bucket " + quote(bucket);
  const S3Response answer = client_.send({.method = "DELETE", .bucket = std::string(bucket)}, what);
  if (!success(answer) && answer.status != 404) {
    if (s3xml::parse_error(answer.body).code == "BucketNotEmpty")
      throw BucketNotEmpty("bucket " + quote(bucket) + " is not empty: delete its objects first");
    throw_answer(answer, what);
  }
  std::unique_lock lock(buckets_mutex_);
  buckets_.erase(std::remove(buckets_.begin(), buckets_.end(), bucket), buckets_.end());
  if (answer.status == 404) throw NotFound("no bucket named " + quote(bucket));
}

std::string S3ObjectStore::get(std::string_view bucket, std::string_view key) const {
  check_object_name(bucket, key);
  const std::string what = "cannot get " + s3_url(bucket, key);
  S3Response answer = client_.send({.bucket = std::string(bucket), .key = std::string(key)}, what);
  if (!success(answer)) throw_answer(answer, what);
  return std::move(answer.body);
}

std::string S3ObjectStore::get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                                     uint64_t length) const {
  check_object_name(bucket, key);
  const std::string what = "cannot get " + s3_url(bucket, key);
  if (length == 0) {
    if (!head(bucket, key)) throw NotFound(what + ": no such object");
    return "";
  }
  const std::string range = "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  S3Response answer = client_.send(
      {.bucket = std::string(bucket), .key = std::string(key), .headers = {{"Range", range}}}, what);
  if (answer.status == 416) return "";  // the range starts past the end (or the object is empty)
  if (!success(answer)) throw_answer(answer, what);
  if (answer.status == 200)
    return answer.body.size() > offset ? answer.body.substr(offset, length) : "";  // Range ignored
  if (answer.body.size() > length) answer.body.resize(length);
  return std::move(answer.body);
}

std::optional<ObjectInfo> S3ObjectStore::head(std::string_view bucket, std::string_view key) const {
  check_object_name(bucket, key);
  const std::string what = "cannot head " + s3_url(bucket, key);
  const S3Response answer =
      client_.send({.method = "HEAD", .bucket = std::string(bucket), .key = std::string(key)}, what);
  if (answer.status == 404) return std::nullopt;
  if (!success(answer)) throw_answer(answer, what);
  return info_from_head(answer, bucket, key);
}

ListResult S3ObjectStore::list(std::string_view bucket, const ListRequest& request) const {
  require_bucket(bucket);
  if (request.max_keys < 0 || request.max_keys > 1000)
    throw Error("max_keys must be 0..1000, not " + std::to_string(request.max_keys));
  S3Request list{.bucket = std::string(bucket), .query = {{"list-type", "2"}}};
  if (!request.prefix.empty()) list.query.emplace_back("prefix", request.prefix);
  if (!request.delimiter.empty()) list.query.emplace_back("delimiter", request.delimiter);
  if (!request.start_after.empty()) list.query.emplace_back("start-after", request.start_after);
  if (!request.continuation_token.empty())
    list.query.emplace_back("continuation-token", request.continuation_token);
  list.query.emplace_back("max-keys", std::to_string(request.max_keys));
  const std::string what = "cannot list bucket " + quote(bucket) + " (prefix " + quote(request.prefix) + ")";
  const S3Response answer = client_.send(list, what);
  if (!success(answer)) throw_answer(answer, what);
  return s3xml::parse_list_objects_v2(answer.body, bucket);
}

bool S3ObjectStore::remove(std::string_view bucket, std::string_view key) {
  if (!head(bucket, key)) return false;
  const std::string what = "cannot delete " + s3_url(bucket, key);
  const S3Response answer =
      client_.send({.method = "DELETE", .bucket = std::string(bucket), .key = std::string(key)}, what);
  if (!success(answer) && answer.status != 404) throw_answer(answer, what);
  return true;
}

std::unique_ptr<ReadableObject> S3ObjectStore::open_readable(std::string_view bucket,
                                                             std::string_view key) const {
  check_object_name(bucket, key);
  return cache_->open(*this, bucket, key);
}

std::vector<std::filesystem::path> S3ObjectStore::readable_directories() const {
  return {cache_->directory()};
}

}  // namespace sluice::storage
