// ObjectCache: copies of a store's objects for DuckDB, checked by ETag, reused, evicted LRU.
#include "storage/object_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "storage/md5.h"
#include "tests/common/memory_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::storage {
namespace {

using ::testing::HasSubstr;
using testing_util::MemoryObjectStore;

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The names of the files in `dir`, the cache's lock file left out.
std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename() != ".lock") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class StorageCache : public ::testing::Test {
 protected:
  std::filesystem::path cache_dir() const { return dir_.path() / "cache"; }
  testing_util::TempDir dir_;
};

TEST_F(StorageCache, ACopyIsReusedWhileItsEtagHoldsAndFetchedAgainWhenItChanges) {
  MemoryObjectStore store({"lake"}, nullptr, cache_dir());
  store.put("lake", "data/users.csv.gz", "first version");
  std::filesystem::path first_path;
  {
    auto first = store.open_readable("lake", "data/users.csv.gz");
    first_path = first->path();
    EXPECT_EQ(read(first->path()), "first version");
    EXPECT_EQ(first->info().etag, md5_hex("first version"));
    EXPECT_EQ(first->path().parent_path(), cache_dir());
    EXPECT_THAT(first->path().filename().string(),
                ::testing::EndsWith("users.csv.gz"));  // the extension stays
  }
  const uint64_t fetched_ranges = store.get_range_calls();
  EXPECT_GT(fetched_ranges, 0u);
  {
    auto again = store.open_readable("lake", "data/users.csv.gz");
    EXPECT_EQ(again->path(), first_path);
    EXPECT_EQ(store.get_range_calls(), fetched_ranges);  // nothing read from the store
  }
  EXPECT_EQ(store.cache().stats().hits, 1u);
  EXPECT_EQ(store.cache().stats().fetches, 1u);

  // Another writer replaces the object: the next open sees the new ETag and fetches the new bytes,
  // while a handle on the old copy still reads the old bytes until it goes.
  auto held = store.open_readable("lake", "data/users.csv.gz");
  store.replace_behind_the_back("lake", "data/users.csv.gz", "second, longer version");
  {
    auto fresh = store.open_readable("lake", "data/users.csv.gz");
    EXPECT_EQ(read(fresh->path()), "second, longer version");
    EXPECT_EQ(fresh->info().etag, md5_hex("second, longer version"));
    EXPECT_NE(fresh->path(), held->path());
    EXPECT_EQ(read(held->path()), "first version");
  }
  EXPECT_GT(store.get_range_calls(), fetched_ranges);
  EXPECT_EQ(store.cache().stats().fetches, 2u);
  const auto old_path = held->path();
  held.reset();
  EXPECT_FALSE(std::filesystem::exists(old_path));  // the replaced copy went with its last handle
  EXPECT_EQ(files_in(cache_dir()).size(), 1u);
  EXPECT_EQ(store.cache().stats().bytes, std::string("second, longer version").size());
}

TEST_F(StorageCache, CopiesBeyondTheBudgetAreEvictedLeastRecentlyUsedFirst) {
  MemoryObjectStore store({"lake"}, nullptr, cache_dir(), /*cache_max_bytes=*/3000);
  for (const char* key : {"a", "b", "c", "d"}) store.put("lake", key, std::string(1000, key[0]));
  for (const char* key : {"a", "b", "c"}) store.open_readable("lake", key);
  EXPECT_EQ(store.cache().stats().entries, 3u);
  EXPECT_EQ(store.cache().stats().bytes, 3000u);
  store.open_readable("lake", "a");  // a is now used more recently than b
  store.open_readable("lake", "d");  // 4000 bytes: the least recently used goes
  const auto stats = store.cache().stats();
  EXPECT_EQ(stats.evictions, 1u);
  EXPECT_EQ(stats.entries, 3u);
  EXPECT_EQ(stats.bytes, 3000u);
  EXPECT_EQ(files_in(cache_dir()).size(), 3u);

  const uint64_t before = store.get_range_calls();
  store.open_readable("lake", "a");  // still there
  EXPECT_EQ(store.get_range_calls(), before);
  auto b = store.open_readable("lake", "b");  // evicted: fetched again
  EXPECT_GT(store.get_range_calls(), before);
  EXPECT_EQ(read(b->path()), std::string(1000, 'b'));
}

TEST_F(StorageCache, CopiesInUseAreNeverEvictedAndTheCacheShrinksWhenTheyGo) {
  MemoryObjectStore store({"lake"}, nullptr, cache_dir(), /*cache_max_bytes=*/1000);
  store.put("lake", "x", std::string(1000, 'x'));
  store.put("lake", "y", std::string(1000, 'y'));
  auto x = store.open_readable("lake", "x");
  auto y = store.open_readable("lake", "y");  // 2000 bytes in use, over the budget: both stay
  EXPECT_EQ(read(x->path()), std::string(1000, 'x'));
  EXPECT_EQ(read(y->path()), std::string(1000, 'y'));
  EXPECT_EQ(store.cache().stats().bytes, 2000u);
  const auto x_path = x->path();
  x.reset();  // the least recently used, now free, goes
  EXPECT_FALSE(std::filesystem::exists(x_path));
  EXPECT_EQ(store.cache().stats().bytes, 1000u);
  y.reset();  // within the budget: kept for reuse
  EXPECT_EQ(store.cache().stats().entries, 1u);
}

// A store that another writer changes while the cache reads it: after `changes_left` more ranged
// reads of the object, each read replaces the object with a new version.
class ChangingStore : public MemoryObjectStore {
 public:
  using MemoryObjectStore::MemoryObjectStore;
  std::string get_range(std::string_view bucket, std::string_view key, uint64_t offset,
                        uint64_t length) const override {
    std::string piece = MemoryObjectStore::get_range(bucket, key, offset, length);
    if (changes_left > 0) {
      --changes_left;
      const_cast<ChangingStore*>(this)->replace_behind_the_back(bucket, key,
                                                                "version " + std::to_string(++version));
    }
    return piece;
  }
  mutable int changes_left = 0;
  mutable int version = 1;
};

TEST_F(StorageCache, AnObjectReplacedDuringTheFetchIsFetchedAgainOnceThenRefused) {
  ChangingStore store({"lake"}, nullptr, dir_.path() / "unused");
  store.put("lake", "k", "version 1 with some length");
  ObjectCache cache(cache_dir(), 1 << 20, /*piece_bytes=*/4);
  store.changes_left = 1;  // the first piece comes from version 1, the rest from version 2
  {
    auto copy = cache.open(store, "lake", "k");
    EXPECT_EQ(read(copy->path()), "version 2");
    EXPECT_EQ(copy->info().etag, md5_hex("version 2"));
  }
  EXPECT_EQ(cache.stats().refetches, 1u);
  EXPECT_EQ(cache.stats().fetches, 1u);

  store.replace_behind_the_back("lake", "k", "version 0, replaced once more");
  store.changes_left = 1000;  // and now changed under every fetch
  try {
    cache.open(store, "lake", "k");
    ADD_FAILURE() << "a copy of bytes that are not the object's was handed out";
  } catch (const SystemError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("s3://lake/k changed while it was being copied"));
  }
  // Nothing half-fetched is left: the one copy is the good one from before.
  EXPECT_EQ(files_in(cache_dir()).size(), 1u);
}

// A store whose ETags are multipart ("<hex>-2"), which are not the MD5 of the bytes: the cache checks
// the size instead.
class MultipartStore : public MemoryObjectStore {
 public:
  using MemoryObjectStore::MemoryObjectStore;
  std::optional<ObjectInfo> head(std::string_view bucket, std::string_view key) const override {
    auto info = MemoryObjectStore::head(bucket, key);
    if (info) info->etag = info->etag + "-2";
    if (info && claim_shorter) info->size -= 1;
    return info;
  }
  bool claim_shorter = false;
};

TEST_F(StorageCache, MultipartEtagsAreCheckedBySize) {
  MultipartStore store({"lake"}, nullptr, dir_.path() / "unused");
  store.put("lake", "k", "0123456789");
  ObjectCache cache(cache_dir(), 1 << 20, /*piece_bytes=*/3);
  EXPECT_EQ(read(cache.open(store, "lake", "k")->path()), "0123456789");
  store.put("lake", "k2", "abc");
  store.claim_shorter = true;  // the object has more bytes than its head says: not the same object
  EXPECT_THROW(cache.open(store, "lake", "k2"), SystemError);
}

TEST_F(StorageCache, TheDirectoryIsLockedSweptAtStartAndClearedAtTheEnd) {
  std::filesystem::create_directories(cache_dir());
  std::ofstream(cache_dir() / "copy-7-left-by-a-crash.json") << "stale";
  std::ofstream(cache_dir() / "not-ours.txt") << "kept";
  {
    MemoryObjectStore store({"lake"}, nullptr, cache_dir());
    EXPECT_EQ(files_in(cache_dir()), std::vector<std::string>{"not-ours.txt"});
    try {
      ObjectCache second(cache_dir(), 1000);
      ADD_FAILURE() << "two caches on one directory";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr("is in use by another cache"));
      EXPECT_THAT(std::string(e.what()), HasSubstr(cache_dir().string()));
    }
    EXPECT_THROW(store.open_readable("lake", "absent"), NotFound);
    EXPECT_THROW(store.open_readable("nope", "k"), NotFound);
    EXPECT_THROW(store.open_readable("lake", "../escape"), Error);
    store.put("lake", "k", "v");
    store.open_readable("lake", "k");
    EXPECT_EQ(files_in(cache_dir()).size(), 2u);
  }
  EXPECT_EQ(files_in(cache_dir()), std::vector<std::string>{"not-ours.txt"});  // copies go with the cache
  ObjectCache reopened(cache_dir(), 1000);                                     // the lock went too
}

}  // namespace
}  // namespace sluice::storage
