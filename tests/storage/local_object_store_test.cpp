#include "storage/local_object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::storage {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> all_files(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::recursive_directory_iterator(root))
    if (!e.is_directory()) out.push_back(std::filesystem::relative(e.path(), root).string());
  std::sort(out.begin(), out.end());
  return out;
}

class StorageLocal : public ::testing::Test {
 protected:
  std::filesystem::path root() const { return dir_.path() / "objects"; }
  testing_util::TempDir dir_;
};

TEST_F(StorageLocal, PutGetHeadRoundTripWithMd5Etag) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  auto info = store.put("raw", "greeting/hello.txt", "hello");
  EXPECT_EQ(info.etag, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(info.size, 5u);
  EXPECT_EQ(store.get("raw", "greeting/hello.txt"), "hello");
  auto head = store.head("raw", "greeting/hello.txt");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->etag, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(head->size, 5u);
  EXPECT_LE(std::chrono::abs(head->last_modified - now_ms()), std::chrono::minutes(1));
  EXPECT_FALSE(store.head("raw", "greeting/absent").has_value());
  EXPECT_TRUE(testing_util::fails_with<NotFound>([&] { store.get("raw", "greeting/absent"); },
                                                 "no object s3://raw/greeting/absent"));
  // Overwrite replaces the whole object.
  store.put("raw", "greeting/hello.txt", "");
  EXPECT_EQ(store.get("raw", "greeting/hello.txt"), "");
  EXPECT_EQ(store.head("raw", "greeting/hello.txt")->etag, "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_F(StorageLocal, UnknownBucketAndInvalidBucketNames) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  EXPECT_TRUE(
      testing_util::fails_with<NotFound>([&] { store.put("other", "k", "v"); }, "no bucket named \"other\""));
  EXPECT_TRUE(
      testing_util::fails_with<NotFound>([&] { store.list("other", {}); }, "no bucket named \"other\""));
  EXPECT_THAT(validate_bucket_name("ab"), HasSubstr("3 to 63"));
  EXPECT_THAT(validate_bucket_name("Upper"), HasSubstr("lower-case"));
  EXPECT_THAT(validate_bucket_name("-dash"), HasSubstr("start and end"));
  EXPECT_THAT(validate_bucket_name("a..b"), HasSubstr(".."));
  EXPECT_EQ(validate_bucket_name("my-bucket.2"), "");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { LocalObjectStore(root(), {"../escape"}, nullptr); },
                                              "bucket name \"../escape\""));
}

TEST_F(StorageLocal, HostileKeysAreRefusedAndNothingLandsOutside) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  store.put("raw", "dir/object", "x");  // for the object-vs-directory conflicts below
  struct Case {
    std::string key;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"../escape", "\"..\" segment"},
      {"a/../../escape", "\"..\" segment"},
      {"a/./b", "\".\" segment"},
      {"/etc/passwd", "starts with '/'"},
      {"a//b", "empty segment"},
      {"a/", "ends with '/'"},
      {"", "empty"},
      {std::string("nul\0byte", 8), "NUL"},
      {"line\nbreak", "control character"},
      {std::string(1025, 'k'), "1025 bytes"},
      {"dir/object/child", "an object named \"dir/object\" exists"},
      {"dir", "other keys exist below it"},
      {".sluice-tmp-x", "reserved"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key.substr(0, 40));
    try {
      store.put("raw", c.key, "evil");
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.reason));
      EXPECT_THAT(std::string(e.what()), HasSubstr("raw"));
    }
  }
  // Everything written is the one legitimate object, inside the bucket.
  EXPECT_EQ(all_files(dir_.path()), (std::vector<std::string>{"objects/raw/dir/object"}));
}

TEST_F(StorageLocal, SymlinkInsideTheBucketIsNotFollowed) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  testing_util::TempDir outside;
  std::filesystem::create_directory_symlink(outside.path(), root() / "raw" / "link");
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { store.put("raw", "link/file", "x"); }, "is a symbolic link"));
  EXPECT_TRUE(std::filesystem::is_empty(outside.path()));
}

TEST_F(StorageLocal, ListSemantics) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  for (const char* k : {"a-b", "a/b", "a0", "a/c/d", "a/c/e", "b", "raw/users/u1.json", "raw/users/u2.json",
                        "raw/posts/p1.json"}) {
    store.put("raw", k, k);
  }
  auto keys = [](const ListResult& r) {
    std::vector<std::string> out;
    for (const auto& o : r.objects) out.push_back(o.key);
    return out;
  };
  using V = std::vector<std::string>;
  // Byte order: '-' (0x2d) < '/' (0x2f) < '0' (0x30).
  EXPECT_EQ(keys(store.list("raw", {})), (V{"a-b", "a/b", "a/c/d", "a/c/e", "a0", "b", "raw/posts/p1.json",
                                            "raw/users/u1.json", "raw/users/u2.json"}));
  EXPECT_EQ(keys(store.list("raw", {.prefix = "raw/us"})), (V{"raw/users/u1.json", "raw/users/u2.json"}));
  auto grouped = store.list("raw", {.prefix = "", .delimiter = "/"});
  EXPECT_EQ(keys(grouped), (V{"a-b", "a0", "b"}));
  EXPECT_EQ(grouped.common_prefixes, (V{"a/", "raw/"}));
  auto nested = store.list("raw", {.prefix = "a/", .delimiter = "/"});
  EXPECT_EQ(keys(nested), (V{"a/b"}));
  EXPECT_EQ(nested.common_prefixes, (V{"a/c/"}));
  EXPECT_EQ(keys(store.list("raw", {.prefix = "", .delimiter = "", .start_after = "a0"})),
            (V{"b", "raw/posts/p1.json", "raw/users/u1.json", "raw/users/u2.json"}));
  EXPECT_TRUE(store.list("raw", {.prefix = "nothing/"}).objects.empty());

  // Paging with max-keys and continuation tokens reconstructs the whole listing, prefixes counted.
  for (int page_size = 1; page_size <= 4; ++page_size) {
    ListRequest request{.prefix = "", .delimiter = "/", .max_keys = page_size};
    V seen_keys, seen_prefixes;
    int pages = 0;
    while (true) {
      auto page = store.list("raw", request);
      EXPECT_LE(static_cast<int>(page.objects.size() + page.common_prefixes.size()), page_size);
      for (const auto& o : page.objects) seen_keys.push_back(o.key);
      for (const auto& p : page.common_prefixes) seen_prefixes.push_back(p);
      ++pages;
      if (!page.is_truncated) break;
      request.continuation_token = page.next_continuation_token;
      ASSERT_LT(pages, 20);
    }
    EXPECT_EQ(seen_keys, (V{"a-b", "a0", "b"})) << page_size;
    EXPECT_EQ(seen_prefixes, (V{"a/", "raw/"})) << page_size;
  }
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.list("raw", {.continuation_token = "garbage"}); },
                                              "invalid continuation token"));
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.list("raw", {.max_keys = 1001}); },
                                              "max-keys must be from 0 to 1000, got 1001"));
}

TEST_F(StorageLocal, RemoveDeletesAndPrunesEmptyDirectories) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  store.put("raw", "x/y/z", "1");
  EXPECT_TRUE(store.remove("raw", "x/y/z"));
  EXPECT_FALSE(store.remove("raw", "x/y/z"));
  EXPECT_FALSE(std::filesystem::exists(root() / "raw" / "x"));
  store.put("raw", "x", "now a plain object");  // the old directory no longer blocks it
  EXPECT_EQ(store.get("raw", "x"), "now a plain object");
}

TEST_F(StorageLocal, AttributesAndAGivenEtagAreKeptBesideTheObjectNotAsObjects) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  WriteOptions options;
  options.content_type = "application/json";
  options.metadata = {{"owner", "ann"}};
  options.etag = "0123456789abcdef0123456789abcdef-3";
  auto writer = store.open_writer_with("raw", "dir/obj", options);
  writer->write("body");
  const auto info = writer->commit();
  EXPECT_EQ(info.etag, options.etag);
  const auto head = store.head("raw", "dir/obj");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->etag, options.etag);
  EXPECT_EQ(head->content_type, "application/json");
  EXPECT_EQ(head->metadata, options.metadata);
  EXPECT_EQ(all_files(root()), std::vector<std::string>{"raw/dir/obj"});
  const auto listed = store.list("raw", {});
  ASSERT_EQ(listed.objects.size(), 1u);
  EXPECT_EQ(listed.objects[0].key, "dir/obj");
  store.put("raw", "dir/obj", "plain");  // a put without attributes drops the old ones
  EXPECT_EQ(store.head("raw", "dir/obj")->content_type, "");
  EXPECT_TRUE(store.head("raw", "dir/obj")->metadata.empty());
}

TEST_F(StorageLocal, CreatedBucketsLastAcrossReopeningAndEmptyOnesCanBeRemoved) {
  {
    LocalObjectStore store(root(), {"raw"}, nullptr);
    EXPECT_TRUE(store.create_bucket("made"));
    EXPECT_FALSE(store.create_bucket("made"));
    EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.create_bucket("Bad_Name"); }, "Bad_Name"));
    store.put("made", "k", "v");
  }
  LocalObjectStore store(root(), {"raw"}, nullptr);
  EXPECT_TRUE(store.has_bucket("made"));
  EXPECT_EQ(store.get("made", "k"), "v");
  EXPECT_TRUE(testing_util::fails_with<BucketNotEmpty>([&] { store.remove_bucket("made"); }, "not empty"));
  store.remove("made", "k");
  store.remove_bucket("made");
  EXPECT_FALSE(store.has_bucket("made"));
  EXPECT_TRUE(testing_util::fails_with<NotFound>([&] { store.remove_bucket("made"); }, "made"));
  LocalObjectStore reopened(root(), {"raw"}, nullptr);
  EXPECT_FALSE(reopened.has_bucket("made"));
}

TEST_F(StorageLocal, ConcurrentDeletesAndPutsInOneDirectoryNeverFail) {
  LocalObjectStore store(root(), {"raw"}, nullptr);
  // Deleting a directory's last objects from two threads at once, and putting into a directory that
  // a delete is emptying, once failed on the directory going away under the other thread.
  std::atomic<int> failures{0};
  auto worker = [&](const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      const std::string key = "d" + std::to_string(i % 3) + "/" + name;
      try {
        store.put("raw", key, "x");
        store.remove("raw", key);
      } catch (const std::exception& e) {
        ADD_FAILURE() << key << ": " << e.what();
        ++failures;
      }
    }
  };
  std::thread a(worker, "a"), b(worker, "b");
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
}

class StorageEvents : public StorageLocal {
 protected:
  std::filesystem::path db_path() const { return dir_.path() / "metastore.db"; }
};

TEST_F(StorageEvents, EveryPutRecordsAnObjectCreatedEvent) {
  metastore::Metastore db(db_path());
  metastore::EventQueue events(db);
  LocalObjectStore store(root(), {"raw"}, &events);
  store.put("raw", "raw/users/a b.json", "[1]");
  store.put("raw", "raw/users/b.json", "[2]");
  auto list = events.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].state, "ready");
  EXPECT_EQ(list[0].event.key, "raw/users/a b.json");
  EXPECT_EQ(list[0].event.size, 3u);
  EXPECT_EQ(list[0].event.etag, md5_hex("[1]"));
  auto json = nlohmann::json::parse(metastore::notification_json(list[0].event, list[0].id));
  const auto& record = json["Records"][0];
  EXPECT_EQ(record["eventSource"], "aws:s3");
  EXPECT_EQ(record["eventName"], "ObjectCreated:Put");
  EXPECT_EQ(record["s3"]["bucket"]["name"], "raw");
  EXPECT_EQ(record["s3"]["object"]["key"], "raw/users/a+b.json");  // URL-encoded as S3 does
  EXPECT_EQ(record["s3"]["object"]["size"], 3);
  EXPECT_EQ(record["s3"]["object"]["eTag"], md5_hex("[1]"));
}

TEST_F(StorageEvents, AWriterStreamsPiecesAndPublishesOnlyAtCommit) {
  metastore::Metastore db(db_path());
  metastore::EventQueue events(db);
  LocalObjectStore store(root(), {"raw"}, &events);
  std::string expected;
  {
    auto writer = store.open_writer("raw", "big/streamed.jsonl");
    // Pieces smaller and larger than the writer's buffer, so both paths of write() run.
    for (int i = 0; i < 40; ++i) {
      const std::string piece(i % 2 ? 3u << 20 : 1000u, static_cast<char>('a' + i % 26));
      writer->write(piece);
      expected += piece;
    }
    EXPECT_EQ(writer->size(), expected.size());
    EXPECT_FALSE(store.head("raw", "big/streamed.jsonl").has_value());  // nothing visible yet
    EXPECT_TRUE(events.list().empty());
    auto info = writer->commit();
    EXPECT_EQ(info.etag, md5_hex(expected));
    EXPECT_EQ(info.size, expected.size());
  }
  EXPECT_EQ(store.get("raw", "big/streamed.jsonl"), expected);
  EXPECT_EQ(store.head("raw", "big/streamed.jsonl")->etag, md5_hex(expected));
  auto list = events.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, "ready");
  EXPECT_EQ(list[0].event.etag, md5_hex(expected));
  EXPECT_EQ(store.get_range("raw", "big/streamed.jsonl", 999, 5), expected.substr(999, 5));
  EXPECT_EQ(store.get_range("raw", "big/streamed.jsonl", expected.size() - 2, 100),
            expected.substr(expected.size() - 2));
  EXPECT_EQ(store.get_range("raw", "big/streamed.jsonl", expected.size() + 10, 100), "");
  EXPECT_TRUE(testing_util::fails_with<NotFound>([&] { store.get_range("raw", "big/absent", 0, 1); },
                                                 "no object s3://raw/big/absent"));
}

TEST_F(StorageEvents, AWriterDroppedWithoutCommitLeavesNoTrace) {
  metastore::Metastore db(db_path());
  metastore::EventQueue events(db);
  LocalObjectStore store(root(), {"raw"}, &events);
  {
    auto writer = store.open_writer("raw", "partial/never.json");
    writer->write(std::string(5u << 20, 'x'));
  }
  EXPECT_FALSE(store.head("raw", "partial/never.json").has_value());
  EXPECT_TRUE(events.list().empty());
  for (const auto& f : all_files(root())) ADD_FAILURE() << "left behind: " << f;
  // The key's rules are checked when the writer opens, before any byte is written.
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.open_writer("raw", "../escape"); },
                                              "has a \"..\" segment"));
  EXPECT_TRUE(testing_util::fails_with<NotFound>([&] { store.open_writer("nope", "k"); },
                                                 "no bucket named \"nope\""));
  store.put("raw", "a", "object");
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { store.open_writer("raw", "a/b"); },
                                              "an object named \"a\" exists"));
}

// Runs `fn` in a child process that dies (_exit) at the given stage of a put.
void crash_during_put(const std::filesystem::path& root, const std::filesystem::path& db_path,
                      const std::string& stage, const std::string& key, const std::string& data) {
  pid_t pid = ::fork();
  if (pid == 0) {
    metastore::Metastore db(db_path);
    metastore::EventQueue events(db);
    LocalObjectStore store(root, {"raw"}, &events);
    store.set_crash_hook([&](std::string_view s) {
      if (s == stage) ::_exit(42);
    });
    store.put("raw", key, data);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 42);
}

TEST_F(StorageEvents, CrashBeforeRenameLeavesNoPartialObjectAndNoEvent) {
  {
    metastore::Metastore db(db_path());
    metastore::EventQueue events(db);
    LocalObjectStore store(root(), {"raw"}, &events);
    store.put("raw", "k/old", "the old whole content");
  }
  const std::string big(4 << 20, 'x');
  crash_during_put(root(), db_path(), "before_rename", "k/old", big);
  crash_during_put(root(), db_path(), "before_rename", "k/new", big);
  // The last crash left its temporary file behind (opening the store in the second child swept the
  // first one's), and both left pending events.
  EXPECT_EQ(all_files(root() / "raw" / "k").size(), 2u);
  metastore::Metastore db(db_path());
  metastore::EventQueue events(db);
  LocalObjectStore store(root(), {"raw"}, &events);  // recovery on open
  EXPECT_EQ(store.get("raw", "k/old"), "the old whole content");
  EXPECT_FALSE(store.head("raw", "k/new").has_value());
  EXPECT_EQ(all_files(root() / "raw"), (std::vector<std::string>{"k/old"}));
  auto list = events.list();
  ASSERT_EQ(list.size(), 1u);  // only the first, completed put
  EXPECT_EQ(list[0].state, "ready");
}

TEST_F(StorageEvents, CrashAfterRenameKeepsTheObjectAndItsEvent) {
  {
    metastore::Metastore db(db_path());
    metastore::EventQueue events(db);
    LocalObjectStore store(root(), {"raw"}, &events);
  }
  crash_during_put(root(), db_path(), "after_rename", "k/landed", "complete");
  {
    metastore::Metastore db(db_path());
    metastore::EventQueue events(db);
    auto before = events.list();
    ASSERT_EQ(before.size(), 1u);
    EXPECT_EQ(before[0].state, "pending");
  }
  metastore::Metastore db(db_path());
  metastore::EventQueue events(db);
  LocalObjectStore store(root(), {"raw"}, &events);
  EXPECT_EQ(store.get("raw", "k/landed"), "complete");
  auto list = events.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, "ready");  // nothing lost
}

}  // namespace
}  // namespace sluice::storage
