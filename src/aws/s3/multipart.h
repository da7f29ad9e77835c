// S3 multipart uploads staged in the data directory: one directory per upload holding upload.json
// (bucket, key, Content-Type, metadata, when it began) and one file per part, its ETag in an extended
// attribute. Nothing is held in memory, so uploads survive a restart; the completed object is written
// once through the object store's writer (so it raises one ObjectCreated event).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time.h"
#include "server/http_server.h"
#include "storage/object_store.h"

namespace sluice::aws::s3 {

inline constexpr int kMaxPartNumber = 10000;
inline constexpr uint64_t kMinPartBytes = 5ull << 20;  // every part but the last, as S3

struct Upload {
  std::string id;  // 32 lower-case hex digits
  std::string bucket;
  std::string key;
  storage::WriteOptions options;  // Content-Type and metadata for the completed object
  TimePoint initiated;
};

struct Part {
  int number = 0;
  std::string etag;  // MD5 hex, without quotes
  uint64_t size = 0;
  TimePoint last_modified;
  std::filesystem::path path;
};

// `digits` random lower-case hex digits (upload and request ids), from the system's random source.
// Throws std::runtime_error when it is unavailable.
std::string random_hex(size_t digits);

class MultipartUploads {
 public:
  // Uploads under `directory` (created when missing); temporary files a crash left are removed.
  // Throws SystemError / Error when the directory cannot be made or read.
  explicit MultipartUploads(std::filesystem::path directory);

  // Begins an upload of bucket/key. Throws SystemError when it cannot be recorded.
  Upload create(std::string_view bucket, std::string_view key, storage::WriteOptions options);
  // The upload `id` of `bucket`/`key`. Throws HttpError 404 NoSuchUpload when there is none (an id
  // that is not one of ours, aborted or completed, or of another key).
  Upload find(std::string_view id, std::string_view bucket, std::string_view key) const;
  // Stores part `number` of `upload` from `body`, replacing an earlier one of that number once the
  // whole body has been read and verified (a failed body leaves no trace). Throws HttpError 400
  // InvalidArgument for a number outside 1..10000, what the body throws, SystemError.
  Part put_part(const Upload& upload, int number, server::BodyReader& body);
  // The parts of `upload` in ascending order of number.
  std::vector<Part> parts(const Upload& upload) const;
  // Every upload in progress in `bucket`, by key then by start time.
  std::vector<Upload> uploads(std::string_view bucket) const;
  // Writes the object from the `requested` parts (number, ETag as the client sent it) and ends the
  // upload. Throws HttpError 400 InvalidPartOrder (numbers not ascending), InvalidPart (unknown
  // number or ETag mismatch), EntityTooSmall (a part but the last under 5 MiB), MalformedXML (no
  // parts); storage errors as the store throws them.
  storage::ObjectInfo complete(const Upload& upload,
                               const std::vector<std::pair<int, std::string>>& requested,
                               storage::ObjectStore& objects);
  // Ends `upload`, removing its parts. Throws SystemError when they cannot be removed.
  void abort(const Upload& upload);

 private:
  std::filesystem::path directory_;
};

}  // namespace sluice::aws::s3
