// S3ObjectStore against S3 implementations it did not write itself: sluice's own S3 API served by a
// daemon Api in the same process (SigV4 verified with a configured key), and tiny loopback servers
// that misbehave on purpose (throttling, failures) to show the retries and what they leave behind.
#include "storage/s3_object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <mutex>

#include "config/pipeline.h"
#include "daemon/backends.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "server/http_server.h"
#include "storage/md5.h"
#include "storage/storage_config_parser.h"
#include "tests/common/temp_dir.h"
#include "tests/storage/s3_peer.h"
#include "tests/storage/store_contract.h"

namespace sluice::storage {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using s3_peer::kAccessKey;
using s3_peer::kSecret;
using s3_peer::SluicePeer;

S3StoreConfig store_config(const std::string& endpoint, const std::filesystem::path& dir) {
  return s3_peer::store_config(endpoint, dir / "s3-cache");
}

class S3StoreOnSluice : public ::testing::Test {
 protected:
  S3StoreOnSluice()
      : peer_(dir_.path()),
        db_(dir_.path() / "client.db"),
        events_(db_),
        store_(std::make_unique<S3ObjectStore>(store_config(peer_.endpoint(), dir_.path()),
                                               std::vector<std::string>{"raw"}, &events_)) {}

  testing_util::TempDir dir_;
  SluicePeer peer_;
  metastore::Metastore db_;
  metastore::EventQueue events_;
  std::unique_ptr<S3ObjectStore> store_;
};

TEST_F(S3StoreOnSluice, PutGetHeadRangeAndRemove) {
  store_contract::put_get_head_range_and_remove(*store_);
  // What the client put is what the peer holds.
  EXPECT_EQ(peer_.objects().get("raw", "odd keys/a+b=c&d%e?f#g~ü.txt"), "odd");
}

TEST_F(S3StoreOnSluice, ListingIsS3s) {
  store_contract::listing_is_s3s(*store_);
  EXPECT_THROW(store_->list("raw", {.continuation_token = "garbage"}), Error);
}

TEST_F(S3StoreOnSluice, EveryPutAndCommittedWriterRecordsOneReadyEvent) {
  store_contract::every_put_and_committed_writer_records_one_ready_event(*store_, events_);
}

TEST_F(S3StoreOnSluice, ReadableObjectsAreLocalFilesUnderTheReadableDirectory) {
  store_contract::readable_objects_are_local_files_under_the_readable_directory(*store_);
  EXPECT_EQ(store_->cache_stats().fetches, 1u);
  store_->open_readable("raw", "data/x.json");
  EXPECT_EQ(store_->cache_stats().hits, 1u);  // same ETag: the copy is reused
}

TEST_F(S3StoreOnSluice, A20MiBObjectGoesUpInFiveMiBParts) {
  store_contract::a_large_object_goes_up_in_parts(*store_, events_, 20 << 20, 5 << 20);
  EXPECT_EQ(peer_.objects().head("raw", "big/object.bin")->size, 20u << 20);
}

TEST_F(S3StoreOnSluice, ContentTypeAndMetadataTravelWithTheObject) {
  auto writer = store_->open_writer_with("raw", "typed.csv",
                                         {.content_type = "text/csv", .metadata = {{"origin", "test run"}}});
  writer->write("a,b\n");
  writer->commit();
  const auto head = store_->head("raw", "typed.csv");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->content_type, "text/csv");
  EXPECT_EQ(head->metadata, (std::map<std::string, std::string>{{"origin", "test run"}}));
}

TEST_F(S3StoreOnSluice, BucketsAreCreatedAndRemovedOnlyWhenEmpty) {
  EXPECT_EQ(store_->buckets(), std::vector<std::string>{"raw"});
  EXPECT_TRUE(store_->create_bucket("made-here"));
  EXPECT_FALSE(store_->create_bucket("made-here"));
  EXPECT_TRUE(store_->has_bucket("made-here"));
  store_->put("made-here", "k", "v");
  EXPECT_THROW(store_->remove_bucket("made-here"), BucketNotEmpty);
  store_->remove("made-here", "k");
  store_->remove_bucket("made-here");
  EXPECT_FALSE(store_->has_bucket("made-here"));
  EXPECT_THROW(store_->remove_bucket("made-here"), NotFound);
  EXPECT_THROW(store_->create_bucket("Not_Valid"), Error);
}

TEST_F(S3StoreOnSluice, AWrongSecretIsAClearErrorAndNotRetried) {
  auto config = store_config(peer_.endpoint(), dir_.path());
  config.connection.secret_access_key = "not-the-secret";
  config.cache_directory = dir_.path() / "other-cache";
  S3ObjectStore wrong(config, {"raw"}, nullptr);
  store_contract::a_wrong_secret_is_a_clear_error(wrong);
  EXPECT_FALSE(peer_.objects().head("raw", "k").has_value());
}

TEST_F(S3StoreOnSluice, ABucketThePeerLacksIsNotFound) {
  auto config = store_config(peer_.endpoint(), dir_.path());
  config.cache_directory = dir_.path() / "other-cache";
  S3ObjectStore store(config, {"raw", "absent"}, nullptr);
  EXPECT_THROW(store.put("absent", "k", "v"), NotFound);
  EXPECT_THROW(store.list("absent", {}), NotFound);
}

TEST_F(S3StoreOnSluice, TheStorageSectionChoosesThisStoreThroughBackendsFor) {
  auto pipeline =
      config::parse_pipeline("buckets: [raw]\nstorage:\n  backend: s3\n  endpoint: " + peer_.endpoint() +
                                 "\n  multipart_threshold: 5MiB\n  cache_size: 64MiB\n",
                             dir_.path() / "client.yaml");
  pipeline.data_dir = dir_.path() / "client-data";
  EXPECT_EQ(pipeline.storage.backend, StorageConfig::Backend::kS3);
  EXPECT_TRUE(pipeline.storage.uses_path_style());  // an endpoint: path style unless told
  EXPECT_EQ(pipeline.storage.multipart_threshold, 5u << 20);
  EXPECT_EQ(pipeline.storage.cache_size, 64u << 20);
  EXPECT_TRUE(pipeline.written("storage.endpoint"));
  ::setenv("AWS_ACCESS_KEY_ID", kAccessKey, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
  auto store = daemon::backends_for(pipeline).object_store(pipeline, nullptr, true);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_NE(dynamic_cast<S3ObjectStore*>(store.get()), nullptr);
  store->put("raw", "through/backends.json", "{}");
  EXPECT_EQ(peer_.objects().get("raw", "through/backends.json"), "{}");
  EXPECT_EQ(store->readable_directories(),
            std::vector<std::filesystem::path>{pipeline.data_dir / "s3-cache" / "daemon"});
}

TEST(StorageSection, DefaultsToTheLocalStoreAndReportsBadValuesWithTheirPlace) {
  testing_util::TempDir dir;
  const auto local = config::parse_pipeline("buckets: [raw]\n", dir.path() / "p.yaml");
  EXPECT_EQ(local.storage.backend, StorageConfig::Backend::kLocal);
  EXPECT_FALSE(StorageConfig{}.uses_path_style());  // AWS: virtual-hosted
  try {
    config::parse_pipeline(
        "buckets: [raw]\nstorage:\n  backend: s4\n  endpoint: ftp://x\n  region: Bad Region\n"
        "  multipart_threshold: 1MiB\n  cache: 1GiB\n",
        dir.path() / "p.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("p.yaml:3:"));  // backend, at its line
    EXPECT_THAT(what, HasSubstr("storage.backend"));
    EXPECT_THAT(what, HasSubstr("storage.endpoint"));
    EXPECT_THAT(what, HasSubstr("storage.region"));
    EXPECT_THAT(what, HasSubstr("storage.multipart_threshold"));
    EXPECT_THAT(what, HasSubstr("cache_size"));  // the unknown key, with the nearest one suggested
  }
}

// A loopback server answering each request through `answer`, counting them.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(std::function<server::HttpResponse(const server::HttpRequest&, int n)> answer)
      : server_({}, [this, answer = std::move(answer)](const server::HttpRequest& request) {
          std::lock_guard lock(mutex_);
          requests_.push_back(request.method + " " + request.target);
          bodies_.push_back(request.body);
          return answer(request, static_cast<int>(requests_.size()));
        }) {
    server_.start();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<std::string> bodies_;
  server::HttpServer server_;
};

server::HttpResponse s3_error(int status, const std::string& code) {
  server::HttpResponse r;
  r.status = status;
  r.headers["Content-Type"] = "application/xml";
  r.body = "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>try later</Message></Error>";
  return r;
}

server::HttpResponse stored(const std::string& body) {
  server::HttpResponse r;
  r.headers["ETag"] = "\"" + md5_hex(body) + "\"";
  return r;
}

TEST(S3StoreRetries, SlowDownTwiceThenTheSamePutSucceeds) {
  testing_util::TempDir dir;
  ScriptedPeer peer([](const server::HttpRequest& request, int n) {
    return n <= 2 ? s3_error(503, "SlowDown") : stored(request.body);
  });
  metastore::Metastore db(dir.path() / "client.db");
  metastore::EventQueue events(db);
  S3ObjectStore store(store_config(peer.endpoint(), dir.path()), {"raw"}, &events);
  const auto info = store.put("raw", "a/b.json", "{\"x\": 1}");
  EXPECT_EQ(info.etag, md5_hex("{\"x\": 1}"));
  EXPECT_EQ(peer.requests(), std::vector<std::string>(3, "PUT /raw/a/b.json"));
  EXPECT_EQ(peer.bodies(), std::vector<std::string>(3, "{\"x\": 1}"));  // the body sent whole each time
  const auto list = events.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, "ready");
}

TEST(S3StoreRetries, AlwaysUnavailableIsASystemErrorAfterMaxAttemptsAndNoEvent) {
  testing_util::TempDir dir;
  ScriptedPeer peer([](const server::HttpRequest&, int) { return s3_error(503, "ServiceUnavailable"); });
  metastore::Metastore db(dir.path() / "client.db");
  metastore::EventQueue events(db);
  S3ObjectStore store(store_config(peer.endpoint(), dir.path()), {"raw"}, &events);
  try {
    store.put("raw", "a/b.json", "{}");
    ADD_FAILURE() << "accepted";
  } catch (const SystemError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("cannot put s3://raw/a/b.json: failed 3 times"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("503 ServiceUnavailable: try later"));
  }
  EXPECT_EQ(peer.requests().size(), 3u);
  EXPECT_TRUE(events.list().empty());
}

TEST(S3StoreRetries, AFailedMultipartUploadIsAbortedAndLeavesNoEvent) {
  testing_util::TempDir dir;
  ScriptedPeer peer([](const server::HttpRequest& request, int) {
    if (request.method == "POST" && request.target.find("uploads") != std::string::npos) {
      server::HttpResponse r;
      r.body = "<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>";
      return r;
    }
    if (request.method == "DELETE") {
      server::HttpResponse r;
      r.status = 204;
      return r;
    }
    return s3_error(500, "InternalError");  // every part
  });
  metastore::Metastore db(dir.path() / "client.db");
  metastore::EventQueue events(db);
  auto config = store_config(peer.endpoint(), dir.path());
  config.multipart_threshold = 1 << 20;
  config.part_size = 1 << 20;
  S3ObjectStore store(config, {"raw"}, &events);
  auto writer = store.open_writer("raw", "big.bin");
  writer->write(std::string(3 << 20, 'x'));
  EXPECT_THROW(writer->commit(), SystemError);
  const auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 5u);  // create, the first part three times, abort
  EXPECT_EQ(requests.front(), "POST /raw/big.bin?uploads");
  EXPECT_EQ(requests.back(), "DELETE /raw/big.bin?uploadId=up-1");
  EXPECT_TRUE(events.list().empty());
}

TEST(S3StoreRetries, AClientErrorIsAnsweredAtOnce) {
  testing_util::TempDir dir;
  ScriptedPeer peer([](const server::HttpRequest&, int) { return s3_error(403, "AccessDenied"); });
  S3ObjectStore store(store_config(peer.endpoint(), dir.path()), {"raw"}, nullptr);
  try {
    store.get("raw", "k");
    ADD_FAILURE() << "accepted";
  } catch (const SystemError& e) {
    ADD_FAILURE() << "retryable: " << e.what();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("cannot get s3://raw/k: S3 answered 403 AccessDenied: try later"));
  }
  EXPECT_EQ(peer.requests().size(), 1u);
}

TEST(S3StoreRetries, AnUnreachableEndpointIsASystemError) {
  testing_util::TempDir dir;
  std::string endpoint;
  {
    ScriptedPeer closed([](const server::HttpRequest&, int) { return server::HttpResponse{}; });
    endpoint = closed.endpoint();
  }  // nobody listens there any more
  S3ObjectStore store(store_config(endpoint, dir.path()), {"raw"}, nullptr);
  EXPECT_THROW(store.head("raw", "k"), SystemError);
}

TEST(S3StoreRequests, AreSignedAsSigV4WithThePayloadHash) {
  testing_util::TempDir dir;
  std::vector<server::Headers> seen;
  std::mutex mutex;
  ScriptedPeer peer([&](const server::HttpRequest& request, int) {
    std::lock_guard lock(mutex);
    seen.push_back(request.headers);
    return stored(request.body);
  });
  auto config = store_config(peer.endpoint(), dir.path());
  config.connection.session_token = "session-token";
  config.connection.region = "eu-west-3";
  S3ObjectStore store(config, {"raw"}, nullptr);
  store.put("raw", "k", "body");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["x-amz-content-sha256"],
            "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5");
  EXPECT_EQ(seen[0]["x-amz-security-token"], "session-token");
  EXPECT_THAT(seen[0]["Authorization"],
              ::testing::MatchesRegex(
                  "AWS4-HMAC-SHA256 Credential=AKIDSLUICETEST/[0-9]{8}/eu-west-3/s3/aws4_request, "
                  "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
                  "Signature=[0-9a-f]{64}"));
}

TEST(S3StoreCredentials, ComeFromTheEnvironmentElseTheDefaultProfile) {
  testing_util::TempDir dir;
  const auto file = dir.path() / "credentials";
  std::ofstream(file)
      << "[other]\naws_access_key_id = WRONG\n\n[default]\n# comment\naws_access_key_id = AKIDFILE\n"
         "aws_secret_access_key=secret-from-file\n";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_PROFILE");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  S3ClientConfig from_file;
  load_default_credentials(from_file);
  EXPECT_EQ(from_file.access_key_id, "AKIDFILE");
  EXPECT_EQ(from_file.secret_access_key, "secret-from-file");
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env", 1);
  S3ClientConfig from_env;
  load_default_credentials(from_env);
  EXPECT_EQ(from_env.access_key_id, "AKIDENV");
  EXPECT_EQ(from_env.secret_access_key, "secret-from-env");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

}  // namespace
}  // namespace sluice::storage
