// ListObjectsV2 and ListObjects (v1).
#include "aws/s3/handlers.h"

namespace sluice::aws::s3 {
namespace {

// S3's encoding-type=url: every byte but unreserved characters and '/' percent-encoded.
std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void add_contents(pugi::xml_node root, const storage::ObjectInfo& object, bool url) {
  auto contents = root.append_child("Contents");
  add_text(contents, "Key", url ? url_encode(object.key) : object.key);
  add_text(contents, "LastModified", format_iso8601_utc(object.last_modified));
  add_text(contents, "ETag", quote_etag(object.etag));
  add_text(contents, "Size", std::to_string(object.size));
  add_text(contents, "StorageClass", "STANDARD");
}

}  // namespace

HttpResponse list_objects(Service& service, const RouteRequest& request, const std::string& bucket, bool v2) {
  require_bucket(service, bucket);
  const std::string encoding = query(request, "encoding-type");
  if (!encoding.empty() && encoding != "url") {
    throw s3_error(400, "InvalidArgument",
                   "encoding-type must be url, got \"" + encoding.substr(0, 40) + "\"",
                   {{"ArgumentName", "encoding-type"}});
  }
  const bool url = encoding == "url";
  auto encode = [url](const std::string& text) { return url ? url_encode(text) : text; };
  storage::ListRequest list;
  list.prefix = query(request, "prefix");
  list.delimiter = query(request, "delimiter");
  list.max_keys = static_cast<int>(query_integer(request, "max-keys", 1000, 0, 1000));
  const std::string marker = v2 ? query(request, "start-after") : query(request, "marker");
  list.start_after = marker;
  // A v1 NextMarker may be a common prefix ("photos/"): the keys it rolls up were listed already. No
  // key of this store ends with '/', and 0xFF never occurs in UTF-8, so skipping past prefix + 0xFF
  // skips exactly them.
  if (!v2 && !list.delimiter.empty() && marker.size() >= list.delimiter.size() &&
      marker.compare(marker.size() - list.delimiter.size(), list.delimiter.size(), list.delimiter) == 0) {
    list.start_after = marker + "\xff";
  }
  if (v2) list.continuation_token = query(request, "continuation-token");
  if (v2 && has_query(request, "continuation-token") && list.continuation_token.empty()) {
    throw s3_error(400, "InvalidArgument", "the continuation token provided is incorrect",
                   {{"ArgumentName", "continuation-token"}});
  }
  const auto result = with_store_errors([&] { return service.objects().list(bucket, list); },
                                        [&] { return no_such_bucket(bucket); });

  XmlDocument document("ListBucketResult");
  auto root = document.root();
  add_text(root, "Name", bucket);
  add_text(root, "Prefix", encode(list.prefix));
  if (!v2) add_text(root, "Marker", encode(marker));
  if (!list.delimiter.empty()) add_text(root, "Delimiter", encode(list.delimiter));
  add_text(root, "MaxKeys", std::to_string(list.max_keys));
  if (url) add_text(root, "EncodingType", "url");
  add_text(root, "IsTruncated", result.is_truncated ? "true" : "false");
  if (v2) {
    add_text(root, "KeyCount", std::to_string(result.objects.size() + result.common_prefixes.size()));
    if (!list.continuation_token.empty()) add_text(root, "ContinuationToken", list.continuation_token);
    if (result.is_truncated) add_text(root, "NextContinuationToken", result.next_continuation_token);
    if (!marker.empty()) add_text(root, "StartAfter", encode(marker));
  } else if (result.is_truncated && !list.delimiter.empty()) {
    // The last key or common prefix of this page, whichever sorts last.
    std::string next = result.objects.empty() ? "" : result.objects.back().key;
    if (!result.common_prefixes.empty() && result.common_prefixes.back() > next)
      next = result.common_prefixes.back();
    add_text(root, "NextMarker", encode(next));
  }
  for (const auto& object : result.objects) add_contents(root, object, url);
  for (const auto& prefix : result.common_prefixes)
    add_text(root.append_child("CommonPrefixes"), "Prefix", encode(prefix));
  return xml_response(200, document);
}

}  // namespace sluice::aws::s3
