// ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, and the dispatch of every
// request on a bucket (its subresources choose the operation).
#include "aws/s3/handlers.h"

namespace sluice::aws::s3 {
namespace {

constexpr size_t kMaxCreateBucketBody = 64 << 10;

// Bucket subresources S3 has and sluice does not serve: answered 501 rather than as a listing.
constexpr const char* kUnsupportedSubresources[] = {"acl",
                                                    "policy",
                                                    "cors",
                                                    "lifecycle",
                                                    "versioning",
                                                    "versions",
                                                    "tagging",
                                                    "website",
                                                    "logging",
                                                    "encryption",
                                                    "notification",
                                                    "replication",
                                                    "requestPayment",
                                                    "accelerate",
                                                    "analytics",
                                                    "metrics",
                                                    "inventory",
                                                    "intelligent-tiering",
                                                    "object-lock",
                                                    "ownershipControls",
                                                    "publicAccessBlock",
                                                    "policyStatus"};

void refuse_unsupported(const RouteRequest& request) {
  for (const char* name : kUnsupportedSubresources) {
    if (has_query(request, name)) {
      throw s3_error(501, "NotImplemented",
                     "sluice does not implement the ?" + std::string(name) + " subresource of buckets");
    }
  }
}

HttpResponse create_bucket(Service& service, const RouteRequest& request, const std::string& bucket) {
  if (const std::string why = storage::validate_bucket_name(bucket); !why.empty()) {
    throw s3_error(400, "InvalidBucketName", "the specified bucket is not valid: " + why,
                   {{"BucketName", bucket}});
  }
  const std::string body = small_body(service, request, kMaxCreateBucketBody);
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    pugi::xml_document document;
    parse_request_xml(document, body, "CreateBucketConfiguration", "CreateBucket");
  }
  const bool created = with_store_errors([&] { return service.objects().create_bucket(bucket); },
                                         [&] { return no_such_bucket(bucket); });
  if (!created) {
    throw s3_error(
        409, "BucketAlreadyOwnedByYou",
        "your previous request to create the named bucket succeeded and you already own it: " + bucket,
        {{"BucketName", bucket}});
  }
  HttpResponse response = empty_response(200);
  response.headers["Location"] = "/" + bucket;
  return response;
}

HttpResponse delete_bucket(Service& service, const std::string& bucket) {
  require_bucket(service, bucket);
  if (service.backend.declared_bucket && service.backend.declared_bucket(bucket)) {
    throw s3_error(
        409, "InvalidBucketState",
        "bucket " + bucket + " is declared in the pipeline file; remove it from buckets: there instead",
        {{"BucketName", bucket}});
  }
  storage::ListRequest one;
  one.max_keys = 1;
  if (!service.objects().list(bucket, one).objects.empty() || !service.uploads.uploads(bucket).empty()) {
    throw s3_error(409, "BucketNotEmpty", "the bucket you tried to delete is not empty: " + bucket,
                   {{"BucketName", bucket}});
  }
  with_store_errors(
      [&] {
        service.objects().remove_bucket(bucket);
        return 0;
      },
      [&] { return no_such_bucket(bucket); });
  return empty_response(204);
}

HttpResponse head_bucket(Service& service, const std::string& bucket) {
  require_bucket(service, bucket);
  HttpResponse response = empty_response(200);
  response.headers["x-amz-bucket-region"] = "us-east-1";
  return response;
}

HttpResponse get_bucket(Service& service, const RouteRequest& request, const std::string& bucket) {
  if (has_query(request, "uploads")) return list_multipart_uploads(service, request, bucket);
  if (has_query(request, "location")) {
    require_bucket(service, bucket);
    XmlDocument document("LocationConstraint");  // empty: us-east-1
    return xml_response(200, document);
  }
  refuse_unsupported(request);
  return list_objects(service, request, bucket, query(request, "list-type") == "2");
}

}  // namespace

HttpResponse list_buckets(Service& service, const RouteRequest&) {
  XmlDocument document("ListAllMyBucketsResult");
  auto owner = document.root().append_child("Owner");
  add_text(owner, "ID", "sluice");
  add_text(owner, "DisplayName", "sluice");
  auto list = document.root().append_child("Buckets");
  auto names = service.objects().buckets();
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    auto bucket = list.append_child("Bucket");
    add_text(bucket, "Name", name);
    add_text(bucket, "CreationDate", format_iso8601_utc(service.started));
  }
  return xml_response(200, document);
}

HttpResponse bucket_operation(Service& service, const RouteRequest& request, const std::string& bucket) {
  const std::string& method = request.http.method;
  if (method == "GET") return get_bucket(service, request, bucket);
  if (method == "HEAD") return head_bucket(service, bucket);
  if (method == "PUT") {
    refuse_unsupported(request);
    return create_bucket(service, request, bucket);
  }
  if (method == "DELETE") {
    refuse_unsupported(request);
    return delete_bucket(service, bucket);
  }
  if (method == "POST" && has_query(request, "delete")) return delete_objects(service, request, bucket);
  throw s3_error(
      405, "MethodNotAllowed",
      "the specified method is not allowed against this resource: " + method + " on bucket " + bucket);
}

}  // namespace sluice::aws::s3
