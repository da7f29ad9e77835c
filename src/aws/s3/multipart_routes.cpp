// The multipart upload operations on MultipartUploads.
#include <charconv>

#include "aws/s3/handlers.h"
#include "aws/sigv4/body.h"

namespace sluice::aws::s3 {
namespace {

constexpr size_t kMaxCompleteBody = 4 << 20;  // 10000 parts of ~100 bytes each, and room

Upload find_upload(Service& service, const RouteRequest& request, const std::string& bucket,
                   const std::string& key) {
  require_bucket(service, bucket);
  return service.uploads.find(query(request, "uploadId"), bucket, key);
}

void add_owner(pugi::xml_node parent, const char* name) {
  auto owner = parent.append_child(name);
  add_text(owner, "ID", "sluice");
  add_text(owner, "DisplayName", "sluice");
}

}  // namespace

HttpResponse create_multipart_upload(Service& service, const RouteRequest& request, const std::string& bucket,
                                     const std::string& key) {
  require_bucket(service, bucket);
  require_valid_key(key);
  const auto upload = service.uploads.create(bucket, key, write_options_from(request));
  XmlDocument document("InitiateMultipartUploadResult");
  add_text(document.root(), "Bucket", bucket);
  add_text(document.root(), "Key", key);
  add_text(document.root(), "UploadId", upload.id);
  return xml_response(200, document);
}

HttpResponse upload_part(Service& service, const RouteRequest& request, const std::string& bucket,
                         const std::string& key) {
  if (header(request, "x-amz-copy-source")) {
    throw s3_error(501, "NotImplemented", "sluice does not implement UploadPartCopy");
  }
  const auto upload = find_upload(service, request, bucket, key);
  const int number = static_cast<int>(query_integer(request, "partNumber", 0, 1, 1 << 30));
  const auto body = verified_body(request, service.backend.authenticator);
  const auto part = service.uploads.put_part(upload, number, *body);
  HttpResponse response = empty_response(200);
  response.headers["ETag"] = quote_etag(part.etag);
  return response;
}

HttpResponse complete_multipart_upload(Service& service, const RouteRequest& request,
                                       const std::string& bucket, const std::string& key) {
  const auto upload = find_upload(service, request, bucket, key);
  const std::string body = small_body(service, request, kMaxCompleteBody);
  pugi::xml_document document;
  const auto root = parse_request_xml(document, body, "CompleteMultipartUpload", "CompleteMultipartUpload");
  std::vector<std::pair<int, std::string>> requested;
  for (auto part : root.children("Part")) {
    const std::string number = child_text(part, "PartNumber");
    int value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size() || value < 1 || value > kMaxPartNumber) {
      throw s3_error(400, "MalformedXML",
                     "a <Part> of CompleteMultipartUpload has PartNumber \"" + number.substr(0, 20) +
                         "\"; expected 1 to 10000");
    }
    requested.emplace_back(value, child_text(part, "ETag"));
  }
  const auto info =
      with_store_errors([&] { return service.uploads.complete(upload, requested, service.objects()); },
                        [&] { return no_such_bucket(bucket); });
  XmlDocument result("CompleteMultipartUploadResult");
  add_text(result.root(), "Location", "/" + bucket + "/" + key);
  add_text(result.root(), "Bucket", bucket);
  add_text(result.root(), "Key", key);
  add_text(result.root(), "ETag", quote_etag(info.etag));
  return xml_response(200, result);
}

HttpResponse abort_multipart_upload(Service& service, const RouteRequest& request, const std::string& bucket,
                                    const std::string& key) {
  service.uploads.abort(find_upload(service, request, bucket, key));
  return empty_response(204);
}

HttpResponse list_parts(Service& service, const RouteRequest& request, const std::string& bucket,
                        const std::string& key) {
  const auto upload = find_upload(service, request, bucket, key);
  const int64_t marker = query_integer(request, "part-number-marker", 0, 0, kMaxPartNumber);
  const int64_t max_parts = query_integer(request, "max-parts", 1000, 0, 1000);
  XmlDocument document("ListPartsResult");
  auto root = document.root();
  add_text(root, "Bucket", bucket);
  add_text(root, "Key", key);
  add_text(root, "UploadId", upload.id);
  add_text(root, "PartNumberMarker", std::to_string(marker));
  add_owner(root, "Initiator");
  add_owner(root, "Owner");
  add_text(root, "StorageClass", "STANDARD");
  add_text(root, "MaxParts", std::to_string(max_parts));
  int64_t listed = 0;
  int last = 0;
  bool truncated = false;
  std::vector<Part> shown;
  for (const auto& part : service.uploads.parts(upload)) {
    if (part.number <= marker) continue;
    if (listed == max_parts) {
      truncated = true;
      break;
    }
    shown.push_back(part);
    last = part.number;
    ++listed;
  }
  add_text(root, "NextPartNumberMarker", std::to_string(last));
  add_text(root, "IsTruncated", truncated ? "true" : "false");
  for (const auto& part : shown) {
    auto element = root.append_child("Part");
    add_text(element, "PartNumber", std::to_string(part.number));
    add_text(element, "LastModified", format_iso8601_utc(part.last_modified));
    add_text(element, "ETag", quote_etag(part.etag));
    add_text(element, "Size", std::to_string(part.size));
  }
  return xml_response(200, document);
}

HttpResponse list_multipart_uploads(Service& service, const RouteRequest& request,
                                    const std::string& bucket) {
  require_bucket(service, bucket);
  const std::string prefix = query(request, "prefix");
  const std::string key_marker = query(request, "key-marker");
  const int64_t max_uploads = query_integer(request, "max-uploads", 1000, 0, 1000);
  XmlDocument document("ListMultipartUploadsResult");
  auto root = document.root();
  add_text(root, "Bucket", bucket);
  add_text(root, "KeyMarker", key_marker);
  add_text(root, "UploadIdMarker", query(request, "upload-id-marker"));
  add_text(root, "Prefix", prefix);
  add_text(root, "MaxUploads", std::to_string(max_uploads));
  std::vector<Upload> shown;
  bool truncated = false;
  for (auto& upload : service.uploads.uploads(bucket)) {
    if (upload.key.compare(0, prefix.size(), prefix) != 0 ||
        (!key_marker.empty() && upload.key <= key_marker))
      continue;
    if (static_cast<int64_t>(shown.size()) == max_uploads) {
      truncated = true;
      break;
    }
    shown.push_back(std::move(upload));
  }
  add_text(root, "NextKeyMarker", shown.empty() ? "" : shown.back().key);
  add_text(root, "NextUploadIdMarker", shown.empty() ? "" : shown.back().id);
  add_text(root, "IsTruncated", truncated ? "true" : "false");
  for (const auto& upload : shown) {
    auto element = root.append_child("Upload");
    add_text(element, "Key", upload.key);
    add_text(element, "UploadId", upload.id);
    add_owner(element, "Initiator");
    add_owner(element, "Owner");
    add_text(element, "StorageClass", "STANDARD");
    add_text(element, "Initiated", format_iso8601_utc(upload.initiated));
  }
  return xml_response(200, document);
}

}  // namespace sluice::aws::s3
