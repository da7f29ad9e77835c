#include "aws/s3/s3.h"

#include <memory>
#include <stdexcept>

#include "aws/s3/handlers.h"
#include "server/error_shapes.h"

namespace sluice::aws {
namespace {

using s3::Service;
using server::HttpResponse;
using server::RouteRequest;

constexpr uint64_t kMaxObjectBytes = 5ull << 30;  // S3's largest single PUT (and part)

// Object subresources S3 has and sluice does not serve: answered 501 rather than as the object.
constexpr const char* kUnsupportedObjectSubresources[] = {"acl",     "tagging", "retention", "legal-hold",
                                                          "torrent", "restore", "select",    "attributes"};

HttpResponse object_operation(Service& service, const RouteRequest& request, const std::string& bucket,
                              const std::string& key) {
  const std::string& method = request.http.method;
  for (const char* name : kUnsupportedObjectSubresources) {
    if (s3::has_query(request, name)) {
      throw s3::s3_error(501, "NotImplemented",
                         "sluice does not implement the ?" + std::string(name) + " subresource of objects");
    }
  }
  const bool upload = s3::has_query(request, "uploadId");
  if (method == "GET") {
    return upload ? s3::list_parts(service, request, bucket, key)
                  : s3::get_object(service, request, bucket, key, false);
  }
  if (method == "HEAD") return s3::get_object(service, request, bucket, key, true);
  if (method == "PUT") {
    if (upload || s3::has_query(request, "partNumber")) return s3::upload_part(service, request, bucket, key);
    if (s3::header(request, "x-amz-copy-source")) return s3::copy_object(service, request, bucket, key);
    return s3::put_object(service, request, bucket, key);
  }
  if (method == "DELETE") {
    return upload ? s3::abort_multipart_upload(service, request, bucket, key)
                  : s3::delete_object(service, bucket, key);
  }
  if (method == "POST" && s3::has_query(request, "uploads")) {
    return s3::create_multipart_upload(service, request, bucket, key);
  }
  if (method == "POST" && upload) return s3::complete_multipart_upload(service, request, bucket, key);
  throw s3::s3_error(
      405, "MethodNotAllowed",
      "the specified method is not allowed against this resource: " + method + " on an object");
}

// One request on BUCKET (key empty) or BUCKET/KEY.
HttpResponse dispatch(Service& service, const RouteRequest& request, const std::string& bucket,
                      const std::string& key) {
  if (key.empty()) return s3::bucket_operation(service, request, bucket);
  return object_operation(service, request, bucket, key);
}

}  // namespace

void add_s3_routes(server::RouteGroup& group, S3Backend backend) {
  if (!backend.objects) throw std::invalid_argument("add_s3_routes: no object store");
  auto service =
      std::make_shared<Service>(Service{backend, s3::MultipartUploads(backend.multipart_directory)});
  const server::RouteOptions streamed{.stream_body = true, .max_body_bytes = kMaxObjectBytes};
  const bool virtual_hosted = !group.options().host_param.empty();
  if (virtual_hosted) {
    const std::string host_param = group.options().host_param;
    auto handler = [service, host_param](const RouteRequest& request) {
      return dispatch(*service, request, request.param(host_param), request.param("key"));
    };
    for (const char* method : {"GET", "HEAD", "DELETE", "POST"}) group.route(method, "/{key...}", handler);
    group.route("PUT", "/{key...}", handler, streamed);
    return;
  }
  group.route("GET", "/",
              [service](const RouteRequest& request) { return s3::list_buckets(*service, request); });
  auto bucket_handler = [service](const RouteRequest& request) {
    return s3::bucket_operation(*service, request, request.param("bucket"));
  };
  auto object_handler = [service](const RouteRequest& request) {
    return dispatch(*service, request, request.param("bucket"), request.param("key"));
  };
  for (const char* method : {"GET", "HEAD", "DELETE", "POST", "PUT"})
    group.route(method, "/{bucket}", bucket_handler);
  for (const char* method : {"GET", "HEAD", "DELETE", "POST"})
    group.route(method, "/{bucket}/{key...}", object_handler);
  group.route("PUT", "/{bucket}/{key...}", object_handler, streamed);
}

server::ErrorShaper s3_errors() {
  return
      [shape = server::s3_xml_errors()](const server::HttpError& error, const server::HttpRequest& request) {
        HttpResponse response = shape(error, request);
        const std::string id = s3::new_request_id();
        response.headers["x-amz-request-id"] = id;
        const std::string end = "</Error>";
        if (response.body.size() >= end.size() &&
            response.body.compare(response.body.size() - end.size(), end.size(), end) == 0) {
          response.body.insert(response.body.size() - end.size(), "<RequestId>" + id + "</RequestId>");
        }
        if (request.method == "HEAD")
          response.body.clear();  // a HEAD answer has no body; the client reads none
        return response;
      };
}

}  // namespace sluice::aws
