// The S3 REST API (XML) on the object store: buckets, objects (streamed both ways, ranges,
// conditional requests, metadata), listings v1 and v2, copies, batch deletes and multipart uploads.
// Served in two groups with the same handlers: path style (/BUCKET/KEY, claimed by a SigV4 scope
// naming s3) and virtual-hosted (Host BUCKET.localhost[:port], path /KEY).
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

#include "server/router.h"
#include "storage/object_store.h"

namespace sluice::aws {

class SigV4Authenticator;

// What the S3 API works on.
struct S3Backend {
  // The objects served; must outlive the routes.
  storage::ObjectStore* objects = nullptr;
  // Where multipart uploads are staged (created when missing): in the data directory, so that
  // uploads survive a restart.
  std::filesystem::path multipart_directory;
  // Whether the pipeline file declares `bucket` (such a bucket cannot be deleted through the API).
  std::function<bool(std::string_view bucket)> declared_bucket;
  // Verifies streamed bodies' chunk signatures (aws::verified_body); null: checksums only. Must
  // outlive the routes.
  const SigV4Authenticator* authenticator = nullptr;
};

// Registers the S3 operations on `group`: path style when the group has no host_param, else
// virtual-hosted (its host_param names the bucket). Throws std::invalid_argument when `objects` is
// null, SystemError when the multipart directory cannot be made.
void add_s3_routes(server::RouteGroup& group, S3Backend backend);

// S3's error shape (server::s3_xml_errors) with S3's request id added (x-amz-request-id header and
// <RequestId> element), and no body on an answer to HEAD (as S3: the client reads none).
server::ErrorShaper s3_errors();

}  // namespace sluice::aws
