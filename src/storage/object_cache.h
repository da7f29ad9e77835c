// ObjectCache: local copies of objects for a store without local files, so that DuckDB can read them
// (ObjectStore::open_readable of a remote store is one call to ObjectCache::open).
//
// - A copy is fetched through the store's get_range() in pieces, never whole in memory, and checked
//   against the ETag its head() gave (the MD5 of the bytes for a single-part ETag, the size for a
//   multipart one). An object replaced while it was being fetched is fetched again once; replaced
//   again, open() fails with a retryable SystemError.
// - A copy is reused while the object's ETag stays the same (one head() per open); a new ETag fetches
//   a new copy, and the old one goes when no handle holds it any more.
// - Copies beyond the byte budget are evicted, least recently used first, but never while a handle
//   holds them: a query over more bytes than the budget still runs, and the cache shrinks back when
//   its handles go.
// - The directory belongs to one cache at a time: the cache holds a lock file in it (another process's
//   cache on the same directory is refused), removes the copies a previous process left, and removes
//   its own copies when it and its last handle are gone. Nothing in it is durable.
// Thread-safe: the query engine and the crawler open objects from several threads at once. Two
// threads that miss on the same object at the same moment may both fetch it; one copy is kept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "storage/object_store.h"

namespace sluice::storage {

namespace detail {
struct ObjectCacheState;  // the index, the LRU list and the lock (object_cache.cpp)
}

class ObjectCache {
 public:
  struct Stats {
    uint64_t bytes = 0;      // held on disk now, copies in use included
    uint64_t entries = 0;    // copies in the cache (reusable)
    uint64_t fetches = 0;    // copies fetched through the store
    uint64_t hits = 0;       // opens answered by a copy already there
    uint64_t evictions = 0;  // copies removed to stay within the budget
    uint64_t refetches = 0;  // fetches repeated because the object changed under them
  };

  // Pieces get_range() is asked for while fetching.
  static constexpr uint64_t kDefaultPieceBytes = 8 << 20;

  // A cache in `directory` (created if needed) holding up to `max_bytes` of copies no handle holds.
  // Throws Error when the directory is in use by another cache or cannot be prepared (SystemError for
  // the system's failures).
  ObjectCache(std::filesystem::path directory, uint64_t max_bytes, uint64_t piece_bytes = kDefaultPieceBytes);
  // Copies still held by handles stay until the handles go.
  ~ObjectCache();
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // The object `bucket`/`key` of `store` as a local file (see the top of this file). `store` must not
  // answer get_range() or head() through this cache. Throws NotFound when the object does not exist,
  // Error for an invalid key, SystemError when the copy cannot be made (disk full, the store
  // unreachable, the object replaced during two fetches in a row).
  std::unique_ptr<ReadableObject> open(const ObjectStore& store, std::string_view bucket,
                                       std::string_view key);

  // Where the copies are: the only directory DuckDB needs to read.
  const std::filesystem::path& directory() const;
  uint64_t max_bytes() const;
  Stats stats() const;

 private:
  std::shared_ptr<detail::ObjectCacheState> state_;  // shared with the handles, which may outlive the cache
};

}  // namespace sluice::storage
