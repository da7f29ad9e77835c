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
#include "tests/storage/store_contract.h"

namespace sluice::storage {
namespace {

using ::testing::HasSubstr;
using V = std::vector<std::string>;

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
  store_contract::put_get_head_range_and_remove(*this->store_);
}

TYPED_TEST(StoreContract, ListingIsS3s) { store_contract::listing_is_s3s(*this->store_); }

TYPED_TEST(StoreContract, EveryPutAndCommittedWriterRecordsOneReadyEvent) {
  store_contract::every_put_and_committed_writer_records_one_ready_event(*this->store_, this->events_);
}

TYPED_TEST(StoreContract, ReadableObjectsAreLocalFilesUnderTheReadableDirectory) {
  store_contract::readable_objects_are_local_files_under_the_readable_directory(*this->store_);
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
