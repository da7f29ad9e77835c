// S3ObjectStore against s3rver (npm), an S3 implementation sluice did not write: the same contract
// as against sluice's own S3 API (store_contract.h). Skipped when s3rver is not installed
// (`npm install` in tests/storage).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "storage/s3_object_store.h"
#include "tests/common/process.h"
#include "tests/common/temp_dir.h"
#include "tests/storage/store_contract.h"

namespace sluice::storage {
namespace {

using namespace std::chrono_literals;

// s3rver on a free loopback port, with bucket "raw", its files in `dir`.
class S3rver {
 public:
  // Its continuation tokens are DES-encrypted, which Node's OpenSSL 3 offers only in its legacy provider
  // (without it every truncated listing is a 500 InternalError).
  explicit S3rver(const std::filesystem::path& dir)
      : process_(command(dir), dir, {"NODE_OPTIONS=--openssl-legacy-provider"}) {
    const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 300 && port_.empty(); ++i) {
      const std::string text = process_.out();
      if (std::smatch m; std::regex_search(text, m, listening))
        port_ = m[1];
      else
        std::this_thread::sleep_for(50ms);
    }
  }
  bool started() const { return !port_.empty(); }
  std::string endpoint() const { return "http://127.0.0.1:" + port_; }

 private:
  static std::vector<std::string> command(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir / "s3rver");
    return {SLUICE_S3RVER, "-d", (dir / "s3rver").string(), "-a", "127.0.0.1",
            "-p",          "0",  "--configure-bucket",      "raw"};
  }
  testing_util::Process process_;
  std::string port_;
};

class S3StoreOnS3rver : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(SLUICE_S3RVER))
      GTEST_SKIP() << "s3rver is not installed (npm install in tests/storage)";
    peer_ = std::make_unique<S3rver>(dir_.path());
    ASSERT_TRUE(peer_->started()) << "s3rver did not start";
    S3StoreConfig config;
    config.connection.endpoint = peer_->endpoint();
    config.connection.access_key_id = "S3RVER";  // s3rver's own key, whose signatures it verifies
    config.connection.secret_access_key = "S3RVER";
    config.connection.max_attempts = 2;
    config.connection.retry_base_delay = 5ms;
    config.cache_directory = dir_.path() / "cache";
    config.multipart_threshold = 6 << 20;
    config.part_size = 5 << 20;
    store_ = std::make_unique<S3ObjectStore>(config, std::vector<std::string>{"raw"}, &events_);
  }

  testing_util::TempDir dir_;
  metastore::Metastore db_{dir_.path() / "client.db"};
  metastore::EventQueue events_{db_};
  std::unique_ptr<S3rver> peer_;
  std::unique_ptr<S3ObjectStore> store_;
};

TEST_F(S3StoreOnS3rver, PutGetHeadRangeAndRemove) { store_contract::put_get_head_range_and_remove(*store_); }

// s3rver walks its directories instead of sorting keys, so "a/b" comes before "a-b" (S3: byte order,
// '-' < '/'), and its top-level delimiter listing loses a prefix: the contract is checked on what
// s3rver gets right, and the ordering deviation is pinned so that a fix shows.
TEST_F(S3StoreOnS3rver, ListingIsS3sWhereS3rverIs) {
  using store_contract::keys_of;
  using V = std::vector<std::string>;
  for (const char* k : {"a/b", "a0", "a/c/d", "a/c/e", "b", "raw/users/u1.json", "raw/posts/p1.json"})
    store_->put("raw", k, k);
  const auto all = store_->list("raw", {});
  EXPECT_EQ(keys_of(all), (V{"a/b", "a/c/d", "a/c/e", "a0", "b", "raw/posts/p1.json", "raw/users/u1.json"}));
  ASSERT_FALSE(all.objects.empty());
  EXPECT_EQ(all.objects[0].etag, md5_hex("a/b"));
  EXPECT_EQ(all.objects[0].size, 3u);
  EXPECT_EQ(keys_of(store_->list("raw", {.prefix = "raw/us"})), V{"raw/users/u1.json"});
  auto grouped = store_->list("raw", {.delimiter = "/"});
  EXPECT_EQ(keys_of(grouped), (V{"a0", "b"}));
  // S3 (and sluice) answer {"a/", "raw/"}; s3rver 3.7.1 drops "raw/" (its directory walk skips it).
  EXPECT_THAT(grouped.common_prefixes, ::testing::Contains("a/"));
  auto nested = store_->list("raw", {.prefix = "a/", .delimiter = "/"});
  EXPECT_EQ(keys_of(nested), V{"a/b"});
  EXPECT_EQ(nested.common_prefixes, V{"a/c/"});
  EXPECT_EQ(keys_of(store_->list("raw", {.start_after = "a0"})),
            (V{"b", "raw/posts/p1.json", "raw/users/u1.json"}));
  V seen;
  ListRequest paged{.max_keys = 3};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->list("raw", paged);
    for (const auto& o : page.objects) seen.push_back(o.key);
    if (!page.is_truncated) break;
    paged.continuation_token = page.next_continuation_token;
  }
  EXPECT_EQ(seen, keys_of(all));
  EXPECT_THROW(store_->list("raw", {.max_keys = 1001}), Error);
  EXPECT_THROW(store_->list("other", {}), NotFound);

  store_->put("raw", "a-b", "a-b");
  EXPECT_EQ(keys_of(store_->list("raw", {.prefix = "a"})), (V{"a/b", "a/c/d", "a/c/e", "a-b", "a0"}))
      << "s3rver now lists in byte order: use store_contract::listing_is_s3s";
}

TEST_F(S3StoreOnS3rver, EveryPutAndCommittedWriterRecordsOneReadyEvent) {
  store_contract::every_put_and_committed_writer_records_one_ready_event(*store_, events_);
}

TEST_F(S3StoreOnS3rver, ReadableObjectsAreLocalFilesUnderTheReadableDirectory) {
  store_contract::readable_objects_are_local_files_under_the_readable_directory(*store_);
}

TEST_F(S3StoreOnS3rver, A20MiBObjectGoesUpInFiveMiBParts) {
  // s3rver gives a completed multipart upload the MD5 of the whole content as its ETag, not S3's
  // "<MD5 of the parts' MD5s>-<parts>".
  store_contract::a_large_object_goes_up_in_parts(*store_, events_, 20 << 20, 5 << 20,
                                                  /*peer_etag_is_md5=*/true);
}

// s3rver checks SigV4 access key ids but not signatures ("V4 signatures have incomplete support"): an
// unknown key is refused, a wrong secret is not.
TEST_F(S3StoreOnS3rver, AnUnknownAccessKeyIsAClearError) {
  S3StoreConfig config;
  config.connection.endpoint = peer_->endpoint();
  config.connection.access_key_id = "AKIDUNKNOWN";
  config.connection.secret_access_key = "S3RVER";
  config.cache_directory = dir_.path() / "other-cache";
  S3ObjectStore unknown(config, {"raw"}, nullptr);
  try {
    unknown.put("raw", "k", "v");
    ADD_FAILURE() << "accepted";
  } catch (const SystemError& e) {
    ADD_FAILURE() << "retryable: " << e.what();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                ::testing::HasSubstr("cannot put s3://raw/k: S3 answered 403 InvalidAccessKeyId"));
  }
}

}  // namespace
}  // namespace sluice::storage
