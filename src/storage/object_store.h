// ObjectStore: S3 semantics (buckets, keys, atomic puts, ETag, list with prefix/delimiter/pagination)
// behind one interface. The embedded default is LocalObjectStore (a directory); an S3 back-end comes
// later behind the same interface. Components reach objects only through this header; the SQL layer
// (query engine, crawler) reads objects through open_readable(), never through a store's own paths,
// so the same code runs over a store without local files (a cached copy, object_cache.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace sluice::storage {

struct ObjectInfo {
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;  // lower-case hex MD5 of the content, without quotes (S3 shows it quoted)
  TimePoint last_modified;
  // What S3 keeps beside the bytes (ObjectStore::open_writer_with): the Content-Type given at the put
  // ("" when none) and the user metadata (x-amz-meta-NAME, NAME lower-case, without the prefix).
  // Filled by head() and get-like calls of stores that keep them; listings may leave them empty.
  std::string content_type;
  std::map<std::string, std::string> metadata;
};

// What a writer records beside an object's bytes (ObjectStore::open_writer_with).
struct WriteOptions {
  std::string content_type;                     // "" : none
  std::map<std::string, std::string> metadata;  // user metadata, names lower-case
  // Non-empty: the ETag to record instead of the MD5 of the bytes (a completed multipart upload's
  // "<md5 of the parts' MD5s>-<parts>"), without quotes.
  std::string etag;
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;           // empty: no grouping
  std::string start_after;         // keys strictly greater than this
  std::string continuation_token;  // from a previous truncated ListResult
  int max_keys = 1000;             // 1..1000, as S3
};

struct ListResult {
  std::vector<ObjectInfo> objects;           // in ascending byte order of key
  std::vector<std::string> common_prefixes;  // with delimiter: prefix + up to and including delimiter
  bool is_truncated = false;
  std::string next_continuation_token;  // set when is_truncated
};

// Thrown for a bucket or key that does not exist.
class NotFound : public Error {
 public:
  using Error::Error;
};

// Thrown by ObjectStore::remove_bucket for a bucket that still holds objects.
class BucketNotEmpty : public Error {
 public:
  using Error::Error;
};

// One object written in pieces (a streamed response body, a query result): nothing is visible until
// commit(), which makes the whole object atomic and durable and records its ObjectCreated event as
// ObjectStore::put does. A writer destroyed without commit() leaves no trace: no object, no event,
// no temporary file.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // Appends `data`. Throws SystemError when the store cannot take it (disk full, I/O error); the
  // writer is then unusable and leaves no trace when destroyed.
  virtual void write(std::string_view data) = 0;
  // Bytes written so far.
  virtual uint64_t size() const = 0;
  // Publishes the object. Throws SystemError (or Error) when it cannot, leaving no trace. At most once.
  virtual ObjectInfo commit() = 0;
};

// An object's content as a local file, for DuckDB (ObjectStore::open_readable). The path stays valid
// while the handle lives: a cached copy is neither evicted nor replaced under it (a store with files
// hands its live file, which a put replaces whole and atomically, as before). Afterwards the path may
// go away. Nobody writes the file through this handle.
class ReadableObject {
 public:
  virtual ~ReadableObject() = default;
  // The local file holding the object's bytes.
  virtual const std::filesystem::path& path() const = 0;
  // The object as it was when opened: its size and ETag are those of the bytes at path().
  virtual const ObjectInfo& info() const = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  virtual std::vector<std::string> buckets() const = 0;
  virtual bool has_bucket(std::string_view bucket) const = 0;

  // Stores the whole object atomically (readers see the old object or the new one, never a part)
  // and durably, then records an ObjectCreated:Put event. Throws sluice::Error for an unknown bucket
  // or an invalid key (the message names the bucket and key and what is wrong).
  virtual ObjectInfo put(std::string_view bucket, std::string_view key, std::string_view data) = 0;

  // A writer for one object (see ObjectWriter), for data too large to hold in memory. Throws Error for
  // an unknown bucket or an invalid key at once, before anything is written. The default buffers in
  // memory and calls put() at commit; stores with files override it to stream to disk.
  virtual std::unique_ptr<ObjectWriter> open_writer(std::string_view bucket, std::string_view key);

  // open_writer() that also records `options` (Content-Type, user metadata, a given ETag) with the
  // object, returned by head() afterwards. Throws as open_writer(). The default calls open_writer()
  // and drops the options: such a store keeps no attributes.
  virtual std::unique_ptr<ObjectWriter> open_writer_with(std::string_view bucket, std::string_view key,
                                                         const WriteOptions& options);

  // Creates an empty bucket that lasts across restarts (S3's CreateBucket). Returns false when it
  // exists already. Throws Error for an invalid name (validate_bucket_name), SystemError when it
  // cannot be recorded. The default throws Error: this store has a fixed set of buckets.
  virtual bool create_bucket(std::string_view bucket);

  // Removes an empty bucket (S3's DeleteBucket). Throws NotFound for an unknown bucket, BucketNotEmpty
  // when it holds objects (or a write is in progress), SystemError when the system fails. The default
  // throws Error as create_bucket.
  virtual void remove_bucket(std::string_view bucket);

  // Whole object. Throws NotFound.
  virtual std::string get(std::string_view bucket, std::string_view key) const = 0;

  // Bytes [offset, offset + length) of the object, fewer at its end, none past it (S3's Range
  // GET). Throws NotFound. The default reads the whole object.
  virtual std::string get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                                uint64_t length) const;

  virtual std::optional<ObjectInfo> head(std::string_view bucket, std::string_view key) const = 0;

  virtual ListResult list(std::string_view bucket, const ListRequest& request) const = 0;

  // Returns false when there was nothing to delete (S3 answers 204 either way).
  virtual bool remove(std::string_view bucket, std::string_view key) = 0;

  // The object as a local file DuckDB can read (the query engine and the crawler hand DuckDB only
  // these paths), valid while the returned handle lives. A store with files hands its own file, no
  // copy; a store without files hands a copy fetched into an ObjectCache (object_cache.h). Throws
  // NotFound for a missing bucket or object, Error for an invalid key, SystemError when the copy
  // cannot be made (disk full, the store unreachable). The default throws Error: this store cannot
  // hand objects to DuckDB.
  virtual std::unique_ptr<ReadableObject> open_readable(std::string_view bucket, std::string_view key) const;

  // The directories under which open_readable() hands out paths: DuckDB is confined to them. Empty
  // for a store that cannot hand out files (the default).
  virtual std::vector<std::filesystem::path> readable_directories() const { return {}; }
};

// Checks a key against S3's rules and sluice's confinement rules; returns an empty string when the key
// is acceptable, or a sentence saying what is wrong. Keys with "." or ".." segments, a leading "/",
// an empty segment ("a//b"), NUL or other control characters, or over 1024 bytes are refused.
std::string validate_key(std::string_view key);

// S3 bucket naming rules (3-63 chars, lower-case letters, digits, '.', '-', starts and ends with a
// letter or digit). Empty string when valid, else the reason.
std::string validate_bucket_name(std::string_view bucket);

// S3's listing over a store's keys: `keys` are every key of the bucket that starts with
// request.prefix, in ascending byte order; `head` gives an object's info (nullopt when it went away
// meanwhile: it is skipped). Applies delimiter, start_after, continuation_token and max_keys as S3
// does. Throws Error for max_keys outside 0..1000 or an invalid continuation token.
ListResult list_sorted_keys(const std::vector<std::string>& keys, const ListRequest& request,
                            const std::function<std::optional<ObjectInfo>(const std::string& key)>& head);

}  // namespace sluice::storage
