// S3ObjectStore: the ObjectStore over any S3 endpoint (AWS S3, MinIO, Ceph, R2, sluice's own S3 API).
// Buckets map one to one; keys follow the local store's rules (validate_key), checked before any
// request. Requests are signed and retried by S3Client (s3_client.h).
//
// - Writes are atomic as S3 makes them: a writer buffers in memory, then in an unlinked temporary
//   file (nothing left behind, even by a crash), and commit() uploads with one PUT up to
//   multipart_threshold, or as a multipart upload above it, aborted on any failure so that nothing
//   half-written is ever visible.
// - The ObjectCreated event of a write is prepared before the object becomes visible (the PUT, the
//   CompleteMultipartUpload) and committed after, as LocalObjectStore does (object_events.h); at start
//   the owner settles the events a crash left prepared by asking S3 whether the object is there.
// - Reads: get_range() is a Range GET; open_readable() hands DuckDB a copy fetched into an
//   ObjectCache (bounded, LRU, verified by ETag).
// - Errors: NotFound for NoSuchKey / NoSuchBucket / 404; SystemError when S3 stays unreachable or
//   keeps failing with retryable answers; Error with S3's code and message otherwise.
//
// Buckets are those the pipeline declares plus those created through create_bucket() in this
// process (not remembered across restarts: the pipeline file declares the ones sluice uses).
// buckets() makes no request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "storage/object_cache.h"
#include "storage/object_events.h"
#include "storage/object_store.h"
#include "storage/s3_client.h"

namespace sluice::storage {

struct S3StoreConfig {
  S3ClientConfig connection;  // endpoint, region, path style, credentials, retries, timeouts
  uint64_t multipart_threshold = uint64_t{8} << 20;  // larger objects are uploaded in parts
  uint64_t part_size = uint64_t{8} << 20;            // S3 wants 5 MiB at least (but the last part)
  std::filesystem::path cache_directory;             // the ObjectCache's (required)
  uint64_t cache_bytes = uint64_t{1} << 30;          // its budget
  std::filesystem::path spool_directory;             // writers' temporary files; "" : cache_directory
};

class S3ObjectStore : public ObjectStore {
 public:
  // A store over `buckets` at the endpoint of `config`. `events` receives the ObjectCreated events of
  // this store's writes, two-phase (may be null). When `recover` (the process that owns the data
  // directory), settles the events a crash left prepared, asking S3 for each object. Throws Error for
  // an invalid bucket name or endpoint, or a cache directory in use; SystemError when S3 cannot be
  // reached for the recovery, or the cache or spool directory cannot be made.
  S3ObjectStore(S3StoreConfig config, std::vector<std::string> buckets, ObjectEventLog* events,
                bool recover = true);
  ~S3ObjectStore() override;

  std::vector<std::string> buckets() const override;
  bool has_bucket(std::string_view bucket) const override;
  // One PUT (or a multipart upload above the threshold) from memory.
  ObjectInfo put(std::string_view bucket, std::string_view key, std::string_view data) override;
  // Buffers in memory, then in an unlinked temporary file; commit() uploads (see the top of this file).
  std::unique_ptr<ObjectWriter> open_writer(std::string_view bucket, std::string_view key) override;
  // As open_writer; Content-Type and user metadata go with the upload (x-amz-meta-*). A given ETag
  // cannot be imposed on S3: the object gets the ETag S3 computes.
  std::unique_ptr<ObjectWriter> open_writer_with(std::string_view bucket, std::string_view key,
                                                 const WriteOptions& options) override;
  // CreateBucket (with the region's LocationConstraint outside us-east-1). False when this account
  // owns it already (it is then used). Throws Error for an invalid name or a bucket owned by another
  // account.
  bool create_bucket(std::string_view bucket) override;
  // DeleteBucket. Throws NotFound, BucketNotEmpty, or Error / SystemError as S3 answers.
  void remove_bucket(std::string_view bucket) override;
  std::string get(std::string_view bucket, std::string_view key) const override;
  // A Range GET (a HEAD for an empty range, to answer NotFound as the other stores do).
  std::string get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                        uint64_t length) const override;
  std::optional<ObjectInfo> head(std::string_view bucket, std::string_view key) const override;
  // ListObjectsV2, one page per call. Throws Error for max_keys outside 0..1000 or a continuation
  // token S3 refuses.
  ListResult list(std::string_view bucket, const ListRequest& request) const override;
  // A HEAD (S3 answers 204 to any DELETE), then the DELETE.
  bool remove(std::string_view bucket, std::string_view key) override;
  // A copy fetched into the store's ObjectCache (object_cache.h).
  std::unique_ptr<ReadableObject> open_readable(std::string_view bucket, std::string_view key) const override;
  // The cache directory.
  std::vector<std::filesystem::path> readable_directories() const override;

  // The cache's counters (for tests and status).
  ObjectCache::Stats cache_stats() const { return cache_->stats(); }

 private:
  friend class S3ObjectWriter;
  // Throws NotFound for an unknown bucket, Error for an invalid key.
  void check_object_name(std::string_view bucket, std::string_view key) const;
  void require_bucket(std::string_view bucket) const;  // throws NotFound

  S3StoreConfig config_;
  S3Client client_;
  mutable std::shared_mutex buckets_mutex_;
  std::vector<std::string> buckets_;  // guarded by buckets_mutex_
  PutEvents put_events_;
  std::unique_ptr<ObjectCache> cache_;
};

}  // namespace sluice::storage
