// The S3 operations' handlers and what they share (inside src/aws/s3 only).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "aws/s3/multipart.h"
#include "aws/s3/s3.h"
#include "aws/s3/xml.h"
#include "server/router.h"

namespace sluice::aws::s3 {

using server::HttpError;
using server::HttpResponse;
using server::RouteRequest;

// What every handler works on: the backend and the multipart staging area.
struct Service {
  S3Backend backend;
  MultipartUploads uploads;
  TimePoint started = now_ms();  // CreationDate of buckets (the store keeps none)

  storage::ObjectStore& objects() const { return *backend.objects; }
};

// ---- shared helpers (handlers.cpp) ----

// A fresh request id (16 upper-case hex digits, as S3's).
std::string new_request_id();
// An answer with no body and S3's request id header.
HttpResponse empty_response(int status);
// An answer carrying `document`, as application/xml.
HttpResponse xml_response(int status, const XmlDocument& document);
// An HttpError with S3 `code` and details (element name, value), in order.
HttpError s3_error(int status, std::string code, const std::string& message,
                   std::initializer_list<std::pair<std::string, std::string>> details = {});
HttpError no_such_bucket(std::string_view bucket);
HttpError no_such_key(std::string_view bucket, std::string_view key);
// Throws NoSuchBucket unless the store has `bucket`.
void require_bucket(const Service& service, std::string_view bucket);
// Throws 400 InvalidArgument (KeyTooLongError beyond 1024 bytes) unless the store takes `key`.
void require_valid_key(std::string_view key);
// Runs `work`, turning the store's refusals into S3's: NotFound as `not_found`, BucketNotEmpty as 409,
// any other sluice::Error (not SystemError, not HttpError) as 400 InvalidArgument with its message.
template <typename Work>
auto with_store_errors(Work&& work, const std::function<HttpError()>& not_found) -> decltype(work());
// The header `name`'s value, or nullptr.
const std::string* header(const RouteRequest& request, std::string_view name);
// Whether the query has parameter `name` (with or without a value), and its value ("" when absent).
bool has_query(const RouteRequest& request, std::string_view name);
std::string query(const RouteRequest& request, std::string_view name);
// An integer query parameter within [min, max]; `fallback` when absent. Throws 400 InvalidArgument.
int64_t query_integer(const RouteRequest& request, std::string_view name, int64_t fallback, int64_t min,
                      int64_t max);
// "Wed, 25 Nov 2026 14:31:34 GMT" and back (nullopt when not an HTTP date).
std::string http_date(TimePoint time);
std::optional<TimePoint> parse_http_date(std::string_view text);
// The ETag as S3 sends it: in double quotes.
std::string quote_etag(std::string_view etag);
// The Content-Type and x-amz-meta-* headers of `request` as the store keeps them. Throws 400
// MetadataTooLarge beyond S3's 2 KB of user metadata.
storage::WriteOptions write_options_from(const RouteRequest& request);
// Adds Content-Type (S3's binary/octet-stream when none), ETag, Last-Modified and x-amz-meta-* of
// `info` to `response`.
void add_object_headers(HttpResponse& response, const storage::ObjectInfo& info);
// The request's body whole, streamed (through aws::verified_body) or not, at most `limit` bytes (400
// MaxMessageLengthExceeded).
std::string small_body(const Service& service, const RouteRequest& request, size_t limit);

// ---- operations ----
// Buckets (buckets.cpp).
HttpResponse list_buckets(Service& service, const RouteRequest& request);
HttpResponse bucket_operation(Service& service, const RouteRequest& request, const std::string& bucket);
// Objects (objects.cpp).
HttpResponse get_object(Service& service, const RouteRequest& request, const std::string& bucket,
                        const std::string& key, bool head_only);
HttpResponse put_object(Service& service, const RouteRequest& request, const std::string& bucket,
                        const std::string& key);
HttpResponse copy_object(Service& service, const RouteRequest& request, const std::string& bucket,
                         const std::string& key);
HttpResponse delete_object(Service& service, const std::string& bucket, const std::string& key);
HttpResponse delete_objects(Service& service, const RouteRequest& request, const std::string& bucket);
// Listings (listing.cpp).
HttpResponse list_objects(Service& service, const RouteRequest& request, const std::string& bucket, bool v2);
// Multipart (multipart_routes.cpp).
HttpResponse create_multipart_upload(Service& service, const RouteRequest& request, const std::string& bucket,
                                     const std::string& key);
HttpResponse upload_part(Service& service, const RouteRequest& request, const std::string& bucket,
                         const std::string& key);
HttpResponse complete_multipart_upload(Service& service, const RouteRequest& request,
                                       const std::string& bucket, const std::string& key);
HttpResponse abort_multipart_upload(Service& service, const RouteRequest& request, const std::string& bucket,
                                    const std::string& key);
HttpResponse list_parts(Service& service, const RouteRequest& request, const std::string& bucket,
                        const std::string& key);
HttpResponse list_multipart_uploads(Service& service, const RouteRequest& request, const std::string& bucket);

// ---- template definition ----
template <typename Work>
auto with_store_errors(Work&& work, const std::function<HttpError()>& not_found) -> decltype(work()) {
  try {
    return work();
  } catch (const HttpError&) {
    throw;
  } catch (const SystemError&) {
    throw;
  } catch (const storage::NotFound&) {
    throw not_found();
  } catch (const storage::BucketNotEmpty& e) {
    throw s3_error(409, "BucketNotEmpty", e.what());
  } catch (const Error& e) {
    throw s3_error(400, "InvalidArgument", e.what());
  }
}

}  // namespace sluice::aws::s3
