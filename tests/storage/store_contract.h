// The ObjectStore contract, written once for every store: the local store and the in-memory one
// (object_store_contract_test.cpp) and S3ObjectStore against each S3 peer (sluice's own S3 API,
// s3rver). Each function takes a store whose bucket "raw" exists (and "other" is
// not one of its buckets) and the event queue its puts record to.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "metastore/event_queue.h"
#include "storage/md5.h"
#include "storage/object_store.h"

namespace sluice::storage::store_contract {

using ::testing::HasSubstr;
using V = std::vector<std::string>;

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline V keys_of(const ListResult& r) {
  V out;
  for (const auto& o : r.objects) out.push_back(o.key);
  return out;
}

// Bytes that do not repeat with any period a bug could hide behind.
inline std::string random_bytes(size_t size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(generator());
  return out;
}

inline void put_get_head_range_and_remove(ObjectStore& store) {
  auto info = store.put("raw", "greeting/hello.txt", "hello");
  EXPECT_EQ(info.etag, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(info.size, 5u);
  EXPECT_EQ(store.get("raw", "greeting/hello.txt"), "hello");
  EXPECT_EQ(store.get_range("raw", "greeting/hello.txt", 1, 3), "ell");
  EXPECT_EQ(store.get_range("raw", "greeting/hello.txt", 3, 100), "lo");
  EXPECT_EQ(store.get_range("raw", "greeting/hello.txt", 9, 1), "");
  EXPECT_EQ(store.head("raw", "greeting/hello.txt")->etag, md5_hex("hello"));
  EXPECT_EQ(store.head("raw", "greeting/hello.txt")->size, 5u);
  EXPECT_FALSE(store.head("raw", "greeting/absent").has_value());
  EXPECT_THROW(store.get("raw", "greeting/absent"), NotFound);
  EXPECT_THROW(store.get_range("raw", "greeting/absent", 0, 10), NotFound);
  EXPECT_THROW(store.put("other", "k", "v"), NotFound);
  try {
    store.put("raw", "../escape", "evil");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("\"..\" segment"));
  }
  // Characters a URL must encode, and that SigV4 canonicalises.
  store.put("raw", "odd keys/a+b=c&d%e?f#g~ü.txt", "odd");
  EXPECT_EQ(store.get("raw", "odd keys/a+b=c&d%e?f#g~ü.txt"), "odd");
  EXPECT_EQ(store.list("raw", {.prefix = "odd keys/"}).objects.at(0).key, "odd keys/a+b=c&d%e?f#g~ü.txt");
  EXPECT_TRUE(store.remove("raw", "greeting/hello.txt"));
  EXPECT_FALSE(store.remove("raw", "greeting/hello.txt"));
  EXPECT_FALSE(store.head("raw", "greeting/hello.txt").has_value());
}

inline void listing_is_s3s(ObjectStore& store) {
  for (const char* k : {"a-b", "a/b", "a0", "a/c/d", "a/c/e", "b", "raw/users/u1.json", "raw/posts/p1.json"})
    store.put("raw", k, k);
  const auto all = store.list("raw", {});
  EXPECT_EQ(keys_of(all),
            (V{"a-b", "a/b", "a/c/d", "a/c/e", "a0", "b", "raw/posts/p1.json", "raw/users/u1.json"}));
  ASSERT_EQ(all.objects.size(), 8u);
  EXPECT_EQ(all.objects[0].etag, md5_hex("a-b"));
  EXPECT_EQ(all.objects[0].size, 3u);
  EXPECT_EQ(all.objects[0].bucket, "raw");
  EXPECT_EQ(keys_of(store.list("raw", {.prefix = "raw/us"})), V{"raw/users/u1.json"});
  auto grouped = store.list("raw", {.prefix = "", .delimiter = "/"});
  EXPECT_EQ(keys_of(grouped), (V{"a-b", "a0", "b"}));
  EXPECT_EQ(grouped.common_prefixes, (V{"a/", "raw/"}));
  auto nested = store.list("raw", {.prefix = "a/", .delimiter = "/"});
  EXPECT_EQ(keys_of(nested), V{"a/b"});
  EXPECT_EQ(nested.common_prefixes, V{"a/c/"});
  EXPECT_EQ(keys_of(store.list("raw", {.prefix = "", .delimiter = "", .start_after = "a0"})),
            (V{"b", "raw/posts/p1.json", "raw/users/u1.json"}));
  ListRequest paged{.prefix = "", .delimiter = "/", .max_keys = 2};
  V seen;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto page = store.list("raw", paged);
    for (const auto& o : page.objects) seen.push_back(o.key);
    for (const auto& p : page.common_prefixes) seen.push_back(p);
    if (!page.is_truncated) break;
    ASSERT_FALSE(page.next_continuation_token.empty());
    paged.continuation_token = page.next_continuation_token;
  }
  std::sort(seen.begin(), seen.end());  // a page lists its keys, then its prefixes
  EXPECT_EQ(seen, (V{"a-b", "a/", "a0", "b", "raw/"}));
  EXPECT_EQ(pages, 2);  // 5 entries in pages of 2: three pages
  EXPECT_THROW(store.list("raw", {.max_keys = 1001}), Error);
  EXPECT_THROW(store.list("other", {}), NotFound);
}

inline void every_put_and_committed_writer_records_one_ready_event(ObjectStore& store,
                                                                   metastore::EventQueue& events) {
  store.put("raw", "raw/users/a b.json", "[1]");
  {
    auto dropped = store.open_writer("raw", "raw/users/never.json");
    dropped->write("lost");
  }
  auto writer = store.open_writer("raw", "raw/users/streamed.json");
  writer->write("[2,");
  writer->write("3]");
  EXPECT_EQ(writer->size(), 5u);
  writer->commit();
  auto list = events.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].state, "ready");
  EXPECT_EQ(list[0].event.event_name, "ObjectCreated:Put");
  EXPECT_EQ(list[0].event.bucket, "raw");
  EXPECT_EQ(list[0].event.key, "raw/users/a b.json");
  EXPECT_EQ(list[0].event.size, 3u);
  EXPECT_EQ(list[0].event.etag, md5_hex("[1]"));
  EXPECT_EQ(list[1].event.key, "raw/users/streamed.json");
  EXPECT_EQ(list[1].event.etag, md5_hex("[2,3]"));
  EXPECT_FALSE(store.head("raw", "raw/users/never.json").has_value());
  EXPECT_EQ(store.get("raw", "raw/users/streamed.json"), "[2,3]");
}

inline void readable_objects_are_local_files_under_the_readable_directory(ObjectStore& store) {
  store.put("raw", "data/x.json", "{\"a\": 1}\n");
  const auto dirs = store.readable_directories();
  ASSERT_EQ(dirs.size(), 1u);
  auto readable = store.open_readable("raw", "data/x.json");
  EXPECT_EQ(read_file(readable->path()), "{\"a\": 1}\n");
  EXPECT_EQ(readable->info().etag, md5_hex("{\"a\": 1}\n"));
  EXPECT_EQ(readable->info().size, 9u);
  const auto relative = std::filesystem::relative(readable->path(), dirs[0]).string();
  EXPECT_FALSE(relative.empty());
  EXPECT_NE(relative.rfind("..", 0), 0u) << readable->path() << " is outside " << dirs[0];
  EXPECT_THROW(store.open_readable("raw", "data/absent.json"), NotFound);
  EXPECT_THROW(store.open_readable("other", "data/x.json"), NotFound);
}

// A streamed object of `size` bytes uploaded in parts (the store's threshold below it): every byte
// comes back, by whole GET, by ranges across part boundaries and through a readable copy, and its one
// event carries S3's multipart ETag ("<MD5 of the parts' MD5s>-<parts>"). A peer that gives a
// completed upload the MD5 of its whole content instead (`peer_etag_is_md5`: s3rver) is told so.
inline void a_large_object_goes_up_in_parts(ObjectStore& store, metastore::EventQueue& events, size_t size,
                                            size_t part_size, bool peer_etag_is_md5 = false) {
  const std::string data = random_bytes(size, 7);
  auto writer = store.open_writer("raw", "big/object.bin");
  for (size_t at = 0; at < data.size(); at += 1'000'003)
    writer->write(std::string_view(data).substr(at, 1'000'003));
  const ObjectInfo info = writer->commit();
  const size_t parts = (size + part_size - 1) / part_size;
  if (peer_etag_is_md5) {
    EXPECT_EQ(info.etag, md5_hex(data));
  } else {
    EXPECT_THAT(info.etag, ::testing::EndsWith("-" + std::to_string(parts)));
  }
  const auto head = store.head("raw", "big/object.bin");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->size, size);
  EXPECT_EQ(head->etag, info.etag);
  EXPECT_TRUE(store.get("raw", "big/object.bin") == data) << "the whole object differs";
  EXPECT_TRUE(store.get_range("raw", "big/object.bin", part_size - 10, 20) ==
              data.substr(part_size - 10, 20));
  EXPECT_TRUE(store.get_range("raw", "big/object.bin", size - 5, 100) == data.substr(size - 5));
  auto readable = store.open_readable("raw", "big/object.bin");
  EXPECT_TRUE(read_file(readable->path()) == data) << "the readable copy differs";
  const auto list = events.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, "ready");
  EXPECT_THAT(list[0].event.etag, ::testing::EndsWith("-" + std::to_string(parts)));
  if (!peer_etag_is_md5) {
    EXPECT_EQ(list[0].event.etag, info.etag);
  }
  EXPECT_EQ(list[0].event.size, size);
}

// `wrong` signs with a secret the peer does not know: a put is refused at once with S3's code, as an
// Error (not retried, not a SystemError), and leaves nothing.
inline void a_wrong_secret_is_a_clear_error(ObjectStore& wrong) {
  try {
    wrong.put("raw", "k", "v");
    ADD_FAILURE() << "accepted";
  } catch (const SystemError& e) {
    ADD_FAILURE() << "retryable: " << e.what();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("cannot put s3://raw/k: S3 answered 403 SignatureDoesNotMatch"));
  }
}

}  // namespace sluice::storage::store_contract
