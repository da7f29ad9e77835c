#include "aws/s3/handlers.h"

#include <date/date.h>
#include <strings.h>
#include <time.h>

#include <charconv>
#include <sstream>

#include "aws/sigv4/body.h"

namespace sluice::aws::s3 {
namespace {

constexpr size_t kMaxUserMetadataBytes = 2048;  // S3: the user metadata's names and values together
constexpr std::string_view kMetaPrefix = "x-amz-meta-";

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string new_request_id() {
  std::string id = random_hex(16);
  for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return id;
}

HttpResponse empty_response(int status) {
  HttpResponse response;
  response.status = status;
  response.headers["x-amz-request-id"] = new_request_id();
  response.headers["Content-Type"] = "application/xml";
  return response;
}

HttpResponse xml_response(int status, const XmlDocument& document) {
  HttpResponse response = empty_response(status);
  response.body = document.str();
  return response;
}

HttpError s3_error(int status, std::string code, const std::string& message,
                   std::initializer_list<std::pair<std::string, std::string>> details) {
  HttpError error(status, std::move(code), message);
  for (const auto& detail : details) error.details.push_back(detail);
  return error;
}

HttpError no_such_bucket(std::string_view bucket) {
  return s3_error(404, "NoSuchBucket", "the specified bucket does not exist: " + std::string(bucket),
                  {{"BucketName", std::string(bucket)}});
}

HttpError no_such_key(std::string_view bucket, std::string_view key) {
  return s3_error(404, "NoSuchKey",
                  "the specified key does not exist: s3://" + std::string(bucket) + "/" + std::string(key),
                  {{"Key", std::string(key)}});
}

void require_bucket(const Service& service, std::string_view bucket) {
  if (!service.objects().has_bucket(bucket)) throw no_such_bucket(bucket);
}

void require_valid_key(std::string_view key) {
  const std::string why = storage::validate_key(key);
  if (why.empty()) return;
  if (key.size() > 1024) throw s3_error(400, "KeyTooLongError", "your key is too long: " + why);
  throw s3_error(400, "InvalidArgument",
                 "this store cannot take the key \"" + std::string(key.substr(0, 200)) + "\": " + why);
}

const std::string* header(const RouteRequest& request, std::string_view name) {
  const auto it = request.http.headers.find(std::string(name));
  return it == request.http.headers.end() ? nullptr : &it->second;
}

bool has_query(const RouteRequest& request, std::string_view name) {
  return request.http.query.count(std::string(name)) > 0;
}

std::string query(const RouteRequest& request, std::string_view name) {
  const auto it = request.http.query.find(std::string(name));
  return it == request.http.query.end() ? std::string() : it->second;
}

int64_t query_integer(const RouteRequest& request, std::string_view name, int64_t fallback, int64_t min,
                      int64_t max) {
  if (!has_query(request, name)) return fallback;
  const std::string text = query(request, name);
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min) {
    throw s3_error(400, "InvalidArgument",
                   "query parameter " + std::string(name) + " must be an integer of at least " +
                       std::to_string(min) + ", got \"" + text.substr(0, 40) + "\"",
                   {{"ArgumentName", std::string(name)}, {"ArgumentValue", text.substr(0, 40)}});
  }
  return std::min(value, max);
}

std::string http_date(TimePoint time) {
  return date::format("%a, %d %b %Y %H:%M:%S GMT", std::chrono::floor<std::chrono::seconds>(time));
}

std::optional<TimePoint> parse_http_date(std::string_view text) {
  struct tm parts {};
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (!end || *end != '\0') return std::nullopt;
  return from_epoch_ms(static_cast<int64_t>(::timegm(&parts)) * 1000);
}

std::string quote_etag(std::string_view etag) { return "\"" + std::string(etag) + "\""; }

storage::WriteOptions write_options_from(const RouteRequest& request) {
  storage::WriteOptions options;
  if (const auto* type = header(request, "Content-Type")) options.content_type = *type;
  size_t metadata_bytes = 0;
  for (const auto& [name, value] : request.http.headers) {
    if (name.size() <= kMetaPrefix.size() ||
        ::strncasecmp(name.c_str(), kMetaPrefix.data(), kMetaPrefix.size()) != 0)
      continue;
    std::string short_name = lower(std::string_view(name).substr(kMetaPrefix.size()));
    metadata_bytes += short_name.size() + value.size();
    options.metadata[std::move(short_name)] = value;
  }
  if (metadata_bytes > kMaxUserMetadataBytes) {
    throw s3_error(400, "MetadataTooLarge",
                   "your metadata headers are " + std::to_string(metadata_bytes) +
                       " bytes; the limit is 2048 (names and values of x-amz-meta-*)",
                   {{"MaxSizeAllowed", std::to_string(kMaxUserMetadataBytes)}});
  }
  return options;
}

void add_object_headers(HttpResponse& response, const storage::ObjectInfo& info) {
  response.headers["Content-Type"] = info.content_type.empty() ? "binary/octet-stream" : info.content_type;
  response.headers["ETag"] = quote_etag(info.etag);
  response.headers["Last-Modified"] = http_date(info.last_modified);
  response.headers["Accept-Ranges"] = "bytes";
  for (const auto& [name, value] : info.metadata) response.headers[std::string(kMetaPrefix) + name] = value;
}

std::string small_body(const Service& service, const RouteRequest& request, size_t limit) {
  if (!request.body) {
    if (request.http.body.size() > limit) {
      throw s3_error(400, "MaxMessageLengthExceeded",
                     "your request was too big: " + std::to_string(request.http.body.size()) +
                         " bytes; the limit is " + std::to_string(limit));
    }
    return request.http.body;
  }
  const auto reader = verified_body(request, service.backend.authenticator);
  std::string body;
  char buffer[64 << 10];
  while (size_t n = reader->read(buffer, sizeof(buffer))) {
    body.append(buffer, n);
    if (body.size() > limit) {
      throw s3_error(400, "MaxMessageLengthExceeded",
                     "your request was too big: more than " + std::to_string(limit) + " bytes");
    }
  }
  return body;
}

}  // namespace sluice::aws::s3
