// PutObject, GetObject, HeadObject, CopyObject, DeleteObject and DeleteObjects.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <memory>

#include "aws/protocol/json_protocol.h"
#include "aws/s3/handlers.h"
#include "aws/sigv4/body.h"
#include "storage/md5.h"

namespace sluice::aws::s3 {
namespace {

constexpr size_t kPiece = 1 << 20;  // what one read from the store or the client moves
constexpr size_t kMaxDeleteKeys = 1000;

// A file descriptor closed when it goes.
struct Descriptor {
  explicit Descriptor(int fd) : fd(fd) {}
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int fd;
};

// One version of an object's bytes, pinned when opened: the store's own file (or its cached copy)
// read through one descriptor, so that a put replacing the object meanwhile does not mix versions;
// for a store that hands out no files, ranges read from the store.
class ObjectSource {
 public:
  // Throws storage::NotFound for a missing object, what the store throws otherwise.
  static std::shared_ptr<ObjectSource> open(const storage::ObjectStore& objects, const std::string& bucket,
                                            const std::string& key) {
    auto source = std::make_shared<ObjectSource>(objects, bucket, key);
    std::unique_ptr<storage::ReadableObject> readable;
    for (int attempt = 0; attempt < 3; ++attempt) {
      try {
        readable = objects.open_readable(bucket, key);
      } catch (const storage::NotFound&) {
        throw;
      } catch (const SystemError&) {
        throw;
      } catch (const Error&) {  // a store without files: read ranges from it
        auto info = objects.head(bucket, key);
        if (!info) throw storage::NotFound("no object s3://" + bucket + "/" + key);
        source->info_ = std::move(*info);
        return source;
      }
      auto descriptor = std::make_shared<Descriptor>(::open(readable->path().c_str(), O_RDONLY | O_CLOEXEC));
      struct stat st {};
      if (descriptor->fd >= 0 && ::fstat(descriptor->fd, &st) == 0 &&
          static_cast<uint64_t>(st.st_size) == readable->info().size) {
        source->info_ = readable->info();
        source->descriptor_ = std::move(descriptor);
        source->readable_ = std::move(readable);
        return source;
      }
      // replaced between the look-up and the open: look again
    }
    throw SystemError("s3://" + bucket + "/" + key + " kept changing while it was opened; try again");
  }

  ObjectSource(const storage::ObjectStore& objects, std::string bucket, std::string key)
      : objects_(objects), bucket_(std::move(bucket)), key_(std::move(key)) {}

  const storage::ObjectInfo& info() const { return info_; }

  // Bytes [offset, offset + length) of this version. Throws SystemError when they cannot be read.
  std::string read(uint64_t offset, uint64_t length) const {
    if (!descriptor_) return objects_.get_range(bucket_, key_, offset, length);
    std::string out(length, '\0');
    size_t done = 0;
    while (done < length) {
      const ssize_t n =
          ::pread(descriptor_->fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("cannot read s3://" + bucket_ + "/" + key_, errno);
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    out.resize(done);
    return out;
  }

 private:
  const storage::ObjectStore& objects_;
  std::string bucket_;
  std::string key_;
  storage::ObjectInfo info_;
  std::unique_ptr<storage::ReadableObject> readable_;  // keeps a cached copy in place
  std::shared_ptr<Descriptor> descriptor_;
};

// Whether `etag` is in the If-Match / If-None-Match list `condition` ("*" matches any).
bool etag_matches(std::string_view condition, const std::string& etag) {
  size_t start = 0;
  while (start < condition.size()) {
    size_t comma = condition.find(',', start);
    if (comma == std::string_view::npos) comma = condition.size();
    std::string_view item = condition.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
    if (item == "*" || item == etag) return true;
    start = comma + 1;
  }
  return false;
}

// RFC 7232's order: If-Match, else If-Unmodified-Since (412); If-None-Match, else If-Modified-Since
// (304). Returns 0 when the request goes ahead, else the status to answer. Dates compare in seconds.
int failed_condition(const RouteRequest& request, const storage::ObjectInfo& info) {
  const auto modified = std::chrono::floor<std::chrono::seconds>(info.last_modified);
  auto later_than = [&](const std::string* value) {
    const auto date = value ? parse_http_date(*value) : std::nullopt;
    return date ? std::optional<bool>(modified > std::chrono::floor<std::chrono::seconds>(*date))
                : std::nullopt;
  };
  if (const auto* if_match = header(request, "If-Match")) {
    if (!etag_matches(*if_match, info.etag)) return 412;
  } else if (auto modified_since = later_than(header(request, "If-Unmodified-Since"));
             modified_since && *modified_since) {
    return 412;
  }
  if (const auto* if_none_match = header(request, "If-None-Match")) {
    if (etag_matches(*if_none_match, info.etag)) return 304;
  } else if (auto modified_since = later_than(header(request, "If-Modified-Since"));
             modified_since && !*modified_since) {
    return 304;
  }
  return 0;
}

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

HttpError invalid_range(std::string_view range, uint64_t size) {
  auto error = s3_error(
      416, "InvalidRange",
      "the requested range \"" + std::string(range.substr(0, 100)) +
          "\" is not satisfiable for an object of " + std::to_string(size) + " bytes",
      {{"RangeRequested", std::string(range.substr(0, 100))}, {"ActualObjectSize", std::to_string(size)}});
  error.headers["Content-Range"] = "bytes */" + std::to_string(size);
  return error;
}

std::optional<uint64_t> parse_number(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The Range header's one byte range over an object of `size` bytes: "bytes=A-B", "bytes=A-" or the
// suffix "bytes=-N". nullopt when there is no Range or it is not one well-formed range (the whole
// object is then sent, as S3 does). Throws 416 InvalidRange when it is unsatisfiable.
std::optional<ByteRange> parse_range(const std::string* header, uint64_t size) {
  if (!header) return std::nullopt;
  std::string_view spec = *header;
  if (spec.substr(0, 6) != "bytes=" || spec.find(',') != std::string_view::npos) return std::nullopt;
  spec.remove_prefix(6);
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto first = parse_number(spec.substr(0, dash));
  const auto last = parse_number(spec.substr(dash + 1));
  if (!first && !last) return std::nullopt;
  if (!first) {  // suffix: the last N bytes
    if (*last == 0 || size == 0) throw invalid_range(*header, size);
    const uint64_t length = std::min(*last, size);
    return ByteRange{size - length, length};
  }
  if (last && *last < *first) return std::nullopt;
  if (*first >= size) throw invalid_range(*header, size);
  const uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return ByteRange{*first, end - *first + 1};
}

// Response header overrides a GET may ask for (response-content-type=...).
void apply_response_overrides(const RouteRequest& request, HttpResponse& response) {
  static constexpr std::pair<const char*, const char*> kOverrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"},
      {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"}};
  for (const auto& [parameter, name] : kOverrides)
    if (has_query(request, parameter)) response.headers[name] = query(request, parameter);
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Streams `source`'s bytes [first, first + length) to `out` in pieces.
void send_bytes(const ObjectSource& source, uint64_t first, uint64_t length, server::BodyWriter& out) {
  for (uint64_t done = 0; done < length;) {
    const std::string piece = source.read(first + done, std::min<uint64_t>(kPiece, length - done));
    if (piece.empty()) throw Error("the object ended early while it was sent");
    if (!out.write(piece)) return;  // the client is gone
    done += piece.size();
  }
}

}  // namespace

HttpResponse get_object(Service& service, const RouteRequest& request, const std::string& bucket,
                        const std::string& key, bool head_only) {
  require_bucket(service, bucket);
  if (!storage::validate_key(key).empty()) throw no_such_key(bucket, key);
  const auto source = with_store_errors([&] { return ObjectSource::open(service.objects(), bucket, key); },
                                        [&] { return no_such_key(bucket, key); });
  const auto& info = source->info();
  if (const int status = failed_condition(request, info); status == 412) {
    throw s3_error(412, "PreconditionFailed", "at least one of the preconditions you specified did not hold",
                   {{"Condition", header(request, "If-Match") ? "If-Match" : "If-Unmodified-Since"}});
  } else if (status == 304) {
    HttpResponse response = empty_response(304);
    response.headers["ETag"] = quote_etag(info.etag);
    response.headers["Last-Modified"] = http_date(info.last_modified);
    return response;
  }
  const auto range = parse_range(header(request, "Range"), info.size);
  HttpResponse response = empty_response(range ? 206 : 200);
  add_object_headers(response, info);
  if (range) {
    response.headers["Content-Range"] = "bytes " + std::to_string(range->first) + "-" +
                                        std::to_string(range->first + range->length - 1) + "/" +
                                        std::to_string(info.size);
  }
  apply_response_overrides(request, response);
  const uint64_t first = range ? range->first : 0;
  const uint64_t length = range ? range->length : info.size;
  response.stream_length = length;
  if (head_only) {
    response.stream = [](server::BodyWriter&) {};
  } else {
    response.stream = [source, first, length](server::BodyWriter& out) {
      send_bytes(*source, first, length, out);
    };
  }
  return response;
}

HttpResponse put_object(Service& service, const RouteRequest& request, const std::string& bucket,
                        const std::string& key) {
  require_bucket(service, bucket);
  require_valid_key(key);
  const auto options = write_options_from(request);
  auto writer = with_store_errors([&] { return service.objects().open_writer_with(bucket, key, options); },
                                  [&] { return no_such_bucket(bucket); });
  const auto body = verified_body(request, service.backend.authenticator);
  std::string buffer(kPiece, '\0');
  // Read to the end before committing: a body that fails its checksum or signature throws at its end.
  while (size_t n = body->read(buffer.data(), buffer.size()))
    writer->write(std::string_view(buffer.data(), n));
  const auto info =
      with_store_errors([&] { return writer->commit(); }, [&] { return no_such_bucket(bucket); });
  HttpResponse response = empty_response(200);
  response.headers["ETag"] = quote_etag(info.etag);
  return response;
}

HttpResponse copy_object(Service& service, const RouteRequest& request, const std::string& bucket,
                         const std::string& key) {
  std::string source_path = percent_decode(*header(request, "x-amz-copy-source"));
  if (const size_t query_at = source_path.find('?'); query_at != std::string::npos)
    source_path.resize(query_at);
  if (!source_path.empty() && source_path.front() == '/') source_path.erase(0, 1);
  const size_t slash = source_path.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == source_path.size()) {
    throw s3_error(400, "InvalidArgument",
                   "x-amz-copy-source must be BUCKET/KEY, got \"" + source_path.substr(0, 200) + "\"",
                   {{"ArgumentName", "x-amz-copy-source"}});
  }
  const std::string source_bucket = source_path.substr(0, slash);
  const std::string source_key = source_path.substr(slash + 1);
  require_bucket(service, source_bucket);
  require_bucket(service, bucket);
  require_valid_key(key);
  const std::string* directive = header(request, "x-amz-metadata-directive");
  const bool replace = directive && *directive == "REPLACE";
  if (directive && !replace && *directive != "COPY") {
    throw s3_error(
        400, "InvalidArgument",
        "x-amz-metadata-directive must be COPY or REPLACE, got \"" + directive->substr(0, 40) + "\"",
        {{"ArgumentName", "x-amz-metadata-directive"}});
  }
  if (source_bucket == bucket && source_key == key && !replace) {
    throw s3_error(
        400, "InvalidRequest",
        "this copy request is illegal because it is trying to copy an object to itself without changing "
        "the object's metadata, storage class, website redirect location or encryption attributes");
  }
  if (!storage::validate_key(source_key).empty()) throw no_such_key(source_bucket, source_key);
  const auto source =
      with_store_errors([&] { return ObjectSource::open(service.objects(), source_bucket, source_key); },
                        [&] { return no_such_key(source_bucket, source_key); });
  if (const auto* if_match = header(request, "x-amz-copy-source-if-match");
      if_match && !etag_matches(*if_match, source->info().etag)) {
    throw s3_error(412, "PreconditionFailed",
                   "the copy source's ETag does not match x-amz-copy-source-if-match",
                   {{"Condition", "x-amz-copy-source-If-Match"}});
  }
  if (const auto* if_none = header(request, "x-amz-copy-source-if-none-match");
      if_none && etag_matches(*if_none, source->info().etag)) {
    throw s3_error(412, "PreconditionFailed",
                   "the copy source's ETag matches x-amz-copy-source-if-none-match",
                   {{"Condition", "x-amz-copy-source-If-None-Match"}});
  }
  storage::WriteOptions options;
  if (replace) {
    options = write_options_from(request);
  } else {
    options.content_type = source->info().content_type;
    options.metadata = source->info().metadata;
  }
  auto writer = with_store_errors([&] { return service.objects().open_writer_with(bucket, key, options); },
                                  [&] { return no_such_bucket(bucket); });
  for (uint64_t done = 0; done < source->info().size;) {
    const std::string piece = source->read(done, std::min<uint64_t>(kPiece, source->info().size - done));
    if (piece.empty())
      throw SystemError("s3://" + source_bucket + "/" + source_key + " ended early while copied");
    writer->write(piece);
    done += piece.size();
  }
  const auto info =
      with_store_errors([&] { return writer->commit(); }, [&] { return no_such_bucket(bucket); });
  XmlDocument document("CopyObjectResult");
  add_text(document.root(), "LastModified", format_iso8601_utc(info.last_modified));
  add_text(document.root(), "ETag", quote_etag(info.etag));
  return xml_response(200, document);
}

HttpResponse delete_object(Service& service, const std::string& bucket, const std::string& key) {
  require_bucket(service, bucket);
  if (storage::validate_key(key).empty()) {
    with_store_errors([&] { return service.objects().remove(bucket, key); },
                      [&] { return no_such_bucket(bucket); });
  }
  return empty_response(204);  // deleting what is not there succeeds, as S3
}

HttpResponse delete_objects(Service& service, const RouteRequest& request, const std::string& bucket) {
  require_bucket(service, bucket);
  const std::string body = small_body(service, request, kMaxXmlBytes);
  if (const auto* content_md5 = header(request, "Content-MD5")) {
    std::string digest;
    const std::string hex = storage::md5_hex(body);
    for (size_t i = 0; i < hex.size(); i += 2)
      digest.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    if (base64_encode(digest) != *content_md5) {
      throw s3_error(400, "BadDigest", "the Content-MD5 you specified did not match what was received");
    }
  }
  pugi::xml_document document;
  const auto root = parse_request_xml(document, body, "Delete", "DeleteObjects");
  const bool quiet = child_text(root, "Quiet") == "true";
  std::vector<std::string> keys;
  for (auto object : root.children("Object")) {
    if (!object.child("Key"))
      throw s3_error(400, "MalformedXML", "an <Object> of DeleteObjects has no <Key>");
    keys.push_back(child_text(object, "Key"));
    if (keys.size() > kMaxDeleteKeys) {
      throw s3_error(400, "MalformedXML", "DeleteObjects takes at most 1000 keys per request");
    }
  }
  if (keys.empty()) throw s3_error(400, "MalformedXML", "DeleteObjects names no <Object>");
  XmlDocument result("DeleteResult");
  for (const auto& key : keys) {
    try {
      if (storage::validate_key(key).empty()) service.objects().remove(bucket, key);
      if (!quiet) add_text(result.root().append_child("Deleted"), "Key", key);
    } catch (const Error& e) {  // one key's failure (an I/O error) is reported for that key alone
      auto failed = result.root().append_child("Error");
      add_text(failed, "Key", key);
      add_text(failed, "Code", dynamic_cast<const SystemError*>(&e) ? "InternalError" : "InvalidArgument");
      add_text(failed, "Message", e.what());
    }
  }
  return xml_response(200, result);
}

}  // namespace sluice::aws::s3
