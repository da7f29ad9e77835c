// The XML an S3 client reads and writes (the S3 back-end of the ObjectStore, s3_object_store.h):
// error documents, ListObjectsV2 pages, multipart upload answers and the CompleteMultipartUpload
// request. Parsed with pugixml, without DOCTYPE processing (no entity can be declared).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/object_store.h"

namespace sluice::storage::s3xml {

// What an S3 error document says: <Error><Code>..</Code><Message>..</Message></Error>.
struct ErrorInfo {
  std::string code;     // "" when the body is not an error document
  std::string message;  // "" when none
};

// The code and message of an error document; empty fields when `body` is not one (a HEAD answer has
// no body). Never throws (but bad_alloc).
ErrorInfo parse_error(std::string_view body);

// An ETag as S3 shows it ("\"abc\"", possibly W/ or upper-case) as ObjectInfo keeps it: lower-case,
// without quotes. Never throws (but bad_alloc).
std::string normalize_etag(std::string_view etag);

// One ListObjectsV2 page of `bucket` as a ListResult (objects with key, size, ETag and
// LastModified; common prefixes; truncation and the next continuation token). Throws Error naming
// the bucket when the document is not a ListBucketResult.
ListResult parse_list_objects_v2(std::string_view body, std::string_view bucket);

// The UploadId of an InitiateMultipartUploadResult. Throws Error when there is none.
std::string parse_upload_id(std::string_view body);

// The CompleteMultipartUpload request document for parts 1..N with these ETags (as S3 returned them).
std::string complete_multipart_document(const std::vector<std::string>& part_etags);

// The ETag of a CompleteMultipartUploadResult (normalized); "" when the document is not one (S3 may
// answer 200 with an Error document: parse_error then says what failed).
std::string parse_complete_etag(std::string_view body);

}  // namespace sluice::storage::s3xml
