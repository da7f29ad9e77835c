// Test helper: sluice's own S3 API as an S3 peer for the S3 back-end — a daemon Runtime and Api in the
// test's process on a free loopback port, verifying SigV4 against one access key.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "config/pipeline.h"
#include "daemon/api.h"
#include "daemon/runtime.h"
#include "storage/s3_object_store.h"

namespace sluice::storage::s3_peer {

inline constexpr const char* kAccessKey = "AKIDSLUICETEST";
inline constexpr const char* kSecret = "s3-store-test-secret";
inline constexpr const char* kSecretEnv = "SLUICE_S3_STORE_TEST_SECRET";

// A daemon whose S3 API serves buckets "raw" and "lake" from `dir`/peer-data.
class SluicePeer {
 public:
  explicit SluicePeer(const std::filesystem::path& dir) : runtime_(pipeline(dir)), api_(runtime_) {}
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(api_.port()); }
  // The peer's own store: what S3 clients see.
  ObjectStore& objects() { return runtime_.objects(); }

 private:
  static config::Pipeline pipeline(const std::filesystem::path& dir) {
    ::setenv(kSecretEnv, kSecret, 1);
    auto p = config::parse_pipeline(std::string("server:\n  port: 0\n  aws:\n    credentials:\n") +
                                        "      - {access_key_id: " + kAccessKey +
                                        ", secret_env: " + kSecretEnv + "}\nbuckets: [raw, lake]\n",
                                    dir / "peer.yaml");
    p.data_dir = dir / "peer-data";
    return p;
  }
  daemon::Runtime runtime_;
  daemon::Api api_;
};

// A store configuration for `endpoint` with the peer's key, its cache in `cache_directory`, quick
// retries, and parts of 5 MiB above 6 MiB.
inline S3StoreConfig store_config(const std::string& endpoint, const std::filesystem::path& cache_directory) {
  S3StoreConfig config;
  config.connection.endpoint = endpoint;
  config.connection.access_key_id = kAccessKey;
  config.connection.secret_access_key = kSecret;
  config.connection.max_attempts = 3;
  config.connection.retry_base_delay = std::chrono::milliseconds(5);
  config.connection.retry_max_delay = std::chrono::milliseconds(20);
  config.cache_directory = cache_directory;
  config.multipart_threshold = 6 << 20;
  config.part_size = 5 << 20;
  return config;
}

}  // namespace sluice::storage::s3_peer
