// Test double: an ObjectStore that keeps every object in memory and has no local files at all, the
// stand-in for a remote back-end (S3) behind the same interface.
//   - buckets, keys, ETags (MD5), ranged reads and S3 listing as the local store has them (keys are
//     checked by the same rules; S3's listing through storage::list_sorted_keys);
//   - open_readable() hands out copies fetched through get_range() into a storage::ObjectCache, and
//     readable_directories() is the cache's directory, so DuckDB never sees anything else;
//   - ObjectCreated events go through the same seam as the local store's (storage::PutEvents): each
//     put prepares its event before the object becomes visible and commits it after.
// Counters of get() and get_range() calls let tests see when the cache fetched. Thread-safe.
//
// For typed tests over both stores, LocalStoreKind and MemoryStoreKind (at the end) make one of each.
#pragma once

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "storage/local_object_store.h"
#include "storage/md5.h"
#include "storage/object_cache.h"
#include "storage/object_events.h"
#include "storage/object_store.h"

namespace sluice::testing_util {

class MemoryObjectStore : public storage::ObjectStore {
 public:
  // Cache budget tests use when they do not care.
  static constexpr uint64_t kDefaultCacheBytes = 256ull << 20;

  // `buckets` exist from the start (names checked as S3's); `events` receives the ObjectCreated events
  // of puts (may be null); copies for DuckDB go to `cache_directory`, up to `cache_max_bytes` of
  // copies no reader holds. Throws Error for an invalid bucket name or a cache directory in use.
  MemoryObjectStore(std::vector<std::string> buckets, storage::ObjectEventLog* events,
                    std::filesystem::path cache_directory, uint64_t cache_max_bytes = kDefaultCacheBytes)
      : buckets_(std::move(buckets)),
        put_events_(events),
        cache_(std::move(cache_directory), cache_max_bytes) {
    for (const auto& bucket : buckets_) {
      if (std::string why = storage::validate_bucket_name(bucket); !why.empty()) throw Error(why);
      objects_[bucket];
    }
  }

  // The buckets given at construction.
  std::vector<std::string> buckets() const override { return buckets_; }

  // Whether `bucket` is one of them.
  bool has_bucket(std::string_view bucket) const override {
    return std::find(buckets_.begin(), buckets_.end(), bucket) != buckets_.end();
  }

  // Stores the object and records its event two-phase. Throws NotFound for an unknown bucket, Error
  // for an invalid key, what the event log throws (nothing stored then).
  storage::ObjectInfo put(std::string_view bucket, std::string_view key, std::string_view data) override {
    check(bucket, key);
    Stored stored;
    stored.info.bucket = std::string(bucket);
    stored.info.key = std::string(key);
    stored.info.size = data.size();
    stored.info.etag = storage::md5_hex(data);
    stored.info.last_modified = now_ms();
    stored.data = std::string(data);
    storage::ObjectEvent event;
    event.bucket = stored.info.bucket;
    event.key = stored.info.key;
    event.size = stored.info.size;
    event.etag = stored.info.etag;
    event.time = stored.info.last_modified;
    auto pending = put_events_.prepare(event);
    const storage::ObjectInfo info = stored.info;
    {
      std::lock_guard lock(mutex_);
      objects_[std::string(bucket)][std::string(key)] = std::move(stored);
    }
    pending.commit();
    return info;
  }

  // The whole object. Throws NotFound.
  std::string get(std::string_view bucket, std::string_view key) const override {
    ++gets_;
    std::lock_guard lock(mutex_);
    return find(bucket, key).data;
  }

  // Bytes [offset, offset + length) (fewer at the end, none past it). Throws NotFound.
  std::string get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                        uint64_t length) const override {
    ++range_gets_;
    std::lock_guard lock(mutex_);
    const std::string& data = find(bucket, key).data;
    if (offset >= data.size()) return {};
    return data.substr(offset, std::min<uint64_t>(length, data.size() - offset));
  }

  // The object's info; nullopt when absent. Throws NotFound for an unknown bucket, Error for a bad key.
  std::optional<storage::ObjectInfo> head(std::string_view bucket, std::string_view key) const override {
    check(bucket, key);
    std::lock_guard lock(mutex_);
    const auto& objects = objects_.at(std::string(bucket));
    auto it = objects.find(std::string(key));
    if (it == objects.end()) return std::nullopt;
    return it->second.info;
  }

  // S3's listing (storage::list_sorted_keys). Throws NotFound for an unknown bucket.
  storage::ListResult list(std::string_view bucket, const storage::ListRequest& request) const override {
    if (!has_bucket(bucket)) throw storage::NotFound("no bucket named \"" + std::string(bucket) + "\"");
    std::map<std::string, storage::ObjectInfo> matching;  // a snapshot: list_sorted_keys heads from it
    {
      std::lock_guard lock(mutex_);
      const auto& objects = objects_.at(std::string(bucket));
      for (auto it = objects.lower_bound(request.prefix);
           it != objects.end() && it->first.compare(0, request.prefix.size(), request.prefix) == 0; ++it)
        matching.emplace(it->first, it->second.info);
    }
    std::vector<std::string> keys;
    for (const auto& [key, info] : matching) keys.push_back(key);
    return storage::list_sorted_keys(keys, request, [&](const std::string& key) {
      return std::optional<storage::ObjectInfo>(matching.at(key));
    });
  }

  // Removes the object; false when there was none. Throws NotFound for an unknown bucket.
  bool remove(std::string_view bucket, std::string_view key) override {
    check(bucket, key);
    std::lock_guard lock(mutex_);
    return objects_.at(std::string(bucket)).erase(std::string(key)) > 0;
  }

  // A copy in the cache (see storage::ObjectCache::open).
  std::unique_ptr<storage::ReadableObject> open_readable(std::string_view bucket,
                                                         std::string_view key) const override {
    return cache_.open(*this, bucket, key);
  }

  // The cache's directory, the only one DuckDB may read.
  std::vector<std::filesystem::path> readable_directories() const override { return {cache_.directory()}; }

  // Replaces an object's bytes without an event, as a remote writer the process does not see would.
  void replace_behind_the_back(std::string_view bucket, std::string_view key, std::string_view data) {
    std::lock_guard lock(mutex_);
    Stored& stored = objects_.at(std::string(bucket)).at(std::string(key));
    stored.data = std::string(data);
    stored.info.size = data.size();
    stored.info.etag = storage::md5_hex(data);
  }

  // The cache behind open_readable (its statistics).
  const storage::ObjectCache& cache() const { return cache_; }
  // How many get() and get_range() calls the store has answered (the cache fetches by get_range).
  uint64_t get_calls() const { return gets_; }
  uint64_t get_range_calls() const { return range_gets_; }

 private:
  struct Stored {
    storage::ObjectInfo info;
    std::string data;
  };

  // Throws NotFound for an unknown bucket, Error for an invalid key (as the local store words them).
  void check(std::string_view bucket, std::string_view key) const {
    if (!has_bucket(bucket)) throw storage::NotFound("no bucket named \"" + std::string(bucket) + "\"");
    if (std::string why = storage::validate_key(key); !why.empty())
      throw Error("invalid key in bucket \"" + std::string(bucket) + "\": " + why + " (key \"" +
                  std::string(key.substr(0, 200)) + "\")");
  }

  // The stored object; the mutex must be held. Throws NotFound.
  const Stored& find(std::string_view bucket, std::string_view key) const {
    check(bucket, key);
    const auto& objects = objects_.at(std::string(bucket));
    auto it = objects.find(std::string(key));
    if (it == objects.end())
      throw storage::NotFound("no object s3://" + std::string(bucket) + "/" + std::string(key));
    return it->second;
  }

  std::vector<std::string> buckets_;
  storage::PutEvents put_events_;
  mutable storage::ObjectCache cache_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, Stored>> objects_;  // bucket -> key -> object
  mutable std::atomic<uint64_t> gets_{0};
  mutable std::atomic<uint64_t> range_gets_{0};
};

// The local store, for typed tests: objects under <dir>/objects.
struct LocalStoreKind {
  static constexpr const char* kName = "Local";
  static std::unique_ptr<storage::ObjectStore> make(const std::filesystem::path& dir,
                                                    std::vector<std::string> buckets,
                                                    storage::ObjectEventLog* events) {
    return std::make_unique<storage::LocalObjectStore>(dir / "objects", std::move(buckets), events);
  }
};

// The memory store, for typed tests: copies for DuckDB under <dir>/cache.
struct MemoryStoreKind {
  static constexpr const char* kName = "Memory";
  static std::unique_ptr<storage::ObjectStore> make(const std::filesystem::path& dir,
                                                    std::vector<std::string> buckets,
                                                    storage::ObjectEventLog* events) {
    return std::make_unique<MemoryObjectStore>(std::move(buckets), events, dir / "cache");
  }
};

// Names typed tests "Local" and "Memory" instead of 0 and 1.
struct StoreKindNames {
  template <typename Kind>
  static std::string GetName(int) {
    return Kind::kName;
  }
};

}  // namespace sluice::testing_util
