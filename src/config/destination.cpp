#include "config/destination.h"

namespace sluice::config {
namespace {

constexpr std::string_view kS3Scheme = "s3://";
constexpr std::string_view kStreamScheme = "stream://";

// The one place that takes "s3://BUCKET[/REST]" apart: (bucket, rest, whether a '/' followed the
// bucket); nullopt when the scheme is not s3://.
struct S3Parts {
  std::string bucket;
  std::string rest;
  bool slash = false;
};
std::optional<S3Parts> split_s3(std::string_view text) {
  if (text.substr(0, kS3Scheme.size()) != kS3Scheme) return std::nullopt;
  text.remove_prefix(kS3Scheme.size());
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return S3Parts{std::string(text), "", false};
  return S3Parts{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1)), true};
}

}  // namespace

std::string to_string(const Destination& destination) {
  return std::visit([](const auto& d) { return d.url(); }, destination);
}

std::optional<Destination> parse_destination(std::string_view text, std::string* why) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.substr(0, kStreamScheme.size()) == kStreamScheme) {
    const std::string name(text.substr(kStreamScheme.size()));
    if (name.empty() || name.find('/') != std::string::npos) {
      *why = "expected stream://STREAM-NAME, got " + quoted;
      return std::nullopt;
    }
    return StreamName{name};
  }
  const auto parts = split_s3(text);
  if (!parts) {
    *why = "expected s3://BUCKET/KEY-TEMPLATE or stream://STREAM, got " + quoted;
    return std::nullopt;
  }
  if (parts->bucket.empty() || parts->rest.empty()) {
    *why = "expected s3://BUCKET/KEY-TEMPLATE with a bucket and a key, got " + quoted;
    return std::nullopt;
  }
  return S3Location{parts->bucket, parts->rest};
}

std::optional<S3Location> parse_s3_folder(std::string_view text, std::string* why) {
  const auto parts = split_s3(text);
  if (!parts) {
    *why = "expected s3://BUCKET/PREFIX/, got \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  if (parts->bucket.empty()) {
    *why = "expected s3://BUCKET/PREFIX/ with a bucket, got \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  return S3Location{parts->bucket, parts->rest};
}

std::optional<S3Location> parse_s3_folder_slash(std::string_view text, std::string* why) {
  auto folder = parse_s3_folder(text, why);
  if (folder && !folder->key.empty() && folder->key.back() != '/') folder->key += '/';
  return folder;
}

std::optional<S3Location> parse_s3_object(std::string_view text) {
  const auto parts = split_s3(text);
  if (!parts || parts->bucket.empty() || parts->rest.empty()) return std::nullopt;
  return S3Location{parts->bucket, parts->rest};
}

}  // namespace sluice::config
