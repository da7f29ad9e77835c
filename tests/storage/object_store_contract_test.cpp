// The ObjectStore contract, the same assertions over the local store and the in-memory store (the
// stand-in for a store without local files), and the object-event seam: puts, published events, a
// listing scanner.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "storage/md5.h"
#include "storage/object_events.h"
#include "tests/common/memory_object_store.h"
#include "tests/common/temp_dir.h"

namespace sluice::storage {
namespace {

using ::testing::HasSubstr;
using V = std::vector<std::string>;

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

V keys_of(const ListResult& r) {
  V out;
  for (const auto& o : r.objects) out.push_back(o.key);
  return out;
}

template <typename Kind>
class StoreContract : public ::testing::Test {
 protected:
  StoreContract()
      : db_(dir_.path() / "metastore.db"), events_(db_), store_(Kind::make(dir_.path(), {"raw"}, &events_)) {}

  testing_util::TempDir dir_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  std::unique_ptr<ObjectStore> store_;
};

using StoreKinds = ::testing::Types<testing_util::LocalStoreKind, testing_util::MemoryStoreKind>;
TYPED_TEST_SUITE(StoreContract, StoreKinds, testing_util::StoreKindNames);

TYPED_TEST(StoreContract, PutGetHeadRangeAndRemove) {
  ObjectStore& store = *this->store_;
  auto info = store.put("raw", "greeting/hello.txt", "hello");
  EXPECT_EQ(info.etag, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(info.size, 5u);
  EXPECT_EQ(store.get("raw", "greeting/hello.txt"), "hello");
  EXPECT_EQ(store.get_range("raw", "greeting/hello.txt", 1, 3), "ell");
  EXPECT_EQ(store.get_range("raw", "greeting/hello.txt", 3, 100), "lo");
  EXPECT_EQ(store.get_range("raw", "greeting/hello.txt", 9, 1), "");
  EXPECT_EQ(store.head("raw", "greeting/hello.txt")->etag, md5_hex("hello"));
  EXPECT_FALSE(store.head("raw", "greeting/absent").has_value());
  EXPECT_THROW(store.get("raw", "greeting/absent"), NotFound);
  EXPECT_THROW(store.put("other", "k", "v"), NotFound);
  try {
    store.put("raw", "../escape", "evil");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("\"..\" segment"));
  }
  EXPECT_TRUE(store.remove("raw", "greeting/hello.txt"));
  EXPECT_FALSE(store.remove("raw", "greeting/hello.txt"));
  EXPECT_FALSE(store.head("raw", "greeting/hello.txt").has_value());
}

TYPED_TEST(StoreContract, ListingIsS3s) {
  ObjectStore& store = *this->store_;
  for (const char* k : {"a-b", "a/b", "a0", "a/c/d", "a/c/e", "b", "raw/users/u1.json", "raw/posts/p1.json"})
    store.put("raw", k, k);
  EXPECT_EQ(keys_of(store.list("raw", {})),
            (V{"a-b", "a/b", "a/c/d", "a/c/e", "a0", "b", "raw/posts/p1.json", "raw/users/u1.json"}));
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
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store.list("raw", paged);
    for (const auto& o : page.objects) seen.push_back(o.key);
    for (const auto& p : page.common_prefixes) seen.push_back(p);
    if (!page.is_truncated) break;
    paged.continuation_token = page.next_continuation_token;
  }
  EXPECT_EQ(seen, (V{"a-b", "a/", "a0", "b", "raw/"}));
  EXPECT_THROW(store.list("raw", {.continuation_token = "garbage"}), Error);
  EXPECT_THROW(store.list("raw", {.max_keys = 1001}), Error);
  EXPECT_THROW(store.list("other", {}), NotFound);
}

TYPED_TEST(StoreContract, EveryPutAndCommittedWriterRecordsOneReadyEvent) {
  ObjectStore& store = *this->store_;
  store.put("raw", "raw/users/a b.json", "[1]");
  {
    auto dropped = store.open_writer("raw", "raw/users/never.json");
    dropped->write("lost");
  }
  auto writer = store.open_writer("raw", "raw/users/streamed.json");
  writer->write("[2,");
  writer->write("3]");
  writer->commit();
  auto list = this->events_.list();
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
}

TYPED_TEST(StoreContract, ReadableObjectsAreLocalFilesUnderTheReadableDirectory) {
  ObjectStore& store = *this->store_;
  store.put("raw", "data/x.json", "{\"a\": 1}\n");
  const auto dirs = store.readable_directories();
  ASSERT_EQ(dirs.size(), 1u);
  auto readable = store.open_readable("raw", "data/x.json");
  EXPECT_EQ(read(readable->path()), "{\"a\": 1}\n");
  EXPECT_EQ(readable->info().etag, md5_hex("{\"a\": 1}\n"));
  EXPECT_EQ(readable->info().size, 9u);
  const auto relative = std::filesystem::relative(readable->path(), dirs[0]).string();
  EXPECT_FALSE(relative.empty());
  EXPECT_NE(relative.rfind("..", 0), 0u) << readable->path() << " is outside " << dirs[0];
  EXPECT_THROW(store.open_readable("raw", "data/absent.json"), NotFound);
  EXPECT_THROW(store.open_readable("other", "data/x.json"), NotFound);
}

// An ObjectEventLog that records what it was asked to do.
class RecordingLog : public ObjectEventLog {
 public:
  uint64_t prepare(const ObjectEvent& event) override {
    calls.push_back("prepare " + event.key);
    return ++next_id;
  }
  void commit(uint64_t id) override {
    calls.push_back("commit " + std::to_string(id));
    if (fail_commit) throw Error("the log is down");
  }
  void abort(uint64_t id) override { calls.push_back("abort " + std::to_string(id)); }
  void recover(const std::function<bool(const ObjectEvent&)>&) override { calls.push_back("recover"); }
  V calls;
  uint64_t next_id = 0;
  bool fail_commit = false;
};

TEST(StorageEventSeam, APendingEventCommitsOrAbortsButNeverAbortsAfterACommitAttempt) {
  RecordingLog log;
  PutEvents puts(&log);
  ObjectEvent event;
  event.key = "a";
  { auto pending = puts.prepare(event); }  // the write failed
  {
    auto pending = puts.prepare(event);
    pending.commit();
  }
  log.fail_commit = true;
  {
    auto pending = puts.prepare(event);
    EXPECT_THROW(pending.commit(), Error);  // left prepared: recovery settles it by the object
  }
  EXPECT_EQ(log.calls, (V{"prepare a", "abort 1", "prepare a", "commit 2", "prepare a", "commit 3"}));
  PutEvents silent(nullptr);  // nobody listens: nothing to do, nothing fails
  silent.prepare(event).commit();
  EXPECT_FALSE(silent.enabled());
  EXPECT_EQ(puts.poll(), 0u);
}

TEST(StorageEventSeam, PublishedEventsAreReadyAtOnce) {
  testing_util::TempDir dir;
  metastore::Metastore db(dir.path() / "metastore.db");
  metastore::EventQueue queue(db);
  ObjectEvent event;
  event.bucket = "raw";
  event.key = "landed/elsewhere.json";
  event.size = 12;
  event.etag = md5_hex("from outside");
  ObjectEventLog& log = queue;
  log.publish(event);
  auto list = queue.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, "ready");
  EXPECT_EQ(list[0].event.key, "landed/elsewhere.json");
  auto claimed = queue.claim("processor", 10, std::chrono::seconds(30));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].event.etag, md5_hex("from outside"));
}

TEST(StorageEventSeam, AListingScannerPublishesWhatAppearedOrChangedSinceItsLastPoll) {
  testing_util::TempDir dir;
  metastore::Metastore db(dir.path() / "metastore.db");
  metastore::EventQueue queue(db);
  // A store that records no events itself, as a remote store without notifications.
  testing_util::MemoryObjectStore store({"raw"}, nullptr, dir.path() / "cache");
  store.put("raw", "in/old.json", "1");
  store.put("raw", "elsewhere/x.json", "1");
  ListingEventSource scanner(store, {{"raw", "in/"}}, queue);
  EXPECT_EQ(scanner.describe(), "listing of s3://raw/in/");
  EXPECT_EQ(scanner.poll(), 0u);  // takes stock
  store.put("raw", "in/new.json", "22");
  store.replace_behind_the_back("raw", "in/old.json", "changed");
  store.put("raw", "elsewhere/y.json", "not watched");
  EXPECT_EQ(scanner.poll(), 2u);
  EXPECT_EQ(scanner.poll(), 0u);  // nothing new
  store.remove("raw", "in/new.json");
  EXPECT_EQ(scanner.poll(), 0u);
  store.put("raw", "in/new.json", "22");  // created again: new again
  EXPECT_EQ(scanner.poll(), 1u);
  auto list = queue.list();
  V seen;
  for (const auto& e : list) {
    EXPECT_EQ(e.state, "ready");
    seen.push_back(e.event.key + " " + std::to_string(e.event.size) + " " + e.event.etag);
  }
  EXPECT_EQ(seen, (V{"in/new.json 2 " + md5_hex("22"), "in/old.json 7 " + md5_hex("changed"),
                     "in/new.json 2 " + md5_hex("22")}));

  ListingEventSource everything(store, {{"raw", ""}}, queue, /*publish_existing=*/true);
  EXPECT_EQ(everything.poll(), 4u);
}

}  // namespace
}  // namespace sluice::storage
