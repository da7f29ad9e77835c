// The `storage:` section of the pipeline file: where the object store keeps its objects — the data
// directory (`backend: local`, the default) or any S3 endpoint (`backend: s3`, s3_object_store.h),
// buckets mapping one to one. Credentials are never in the file: they come from the standard AWS
// environment variables or the default profile (load_default_credentials in s3_client.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/keys.h"
#include "config/reader.h"

namespace sluice::storage {

inline constexpr uint64_t kMinMultipartThreshold = uint64_t{5} << 20;  // S3's smallest part
inline constexpr uint64_t kMaxMultipartThreshold = uint64_t{5} << 30;  // S3's largest single PUT
inline constexpr uint64_t kMinCacheSize = uint64_t{1} << 20;
inline constexpr uint64_t kMaxCacheSize = uint64_t{1} << 50;

struct StorageConfig {
  enum class Backend { kLocal, kS3 };
  Backend backend = Backend::kLocal;
  std::string endpoint;              // "": AWS S3 in `region` (https://s3.REGION.amazonaws.com)
  std::string region = "us-east-1";  // the SigV4 scope's region
  // unset: path style with an endpoint (MinIO, Ceph, sluice), virtual-hosted on AWS
  std::optional<bool> path_style;
  uint64_t multipart_threshold = uint64_t{8} << 20;  // larger objects go up in parts of this size
  uint64_t cache_size = uint64_t{1} << 30;           // local copies of objects read by DuckDB

  // path_style as set, else its default.
  bool uses_path_style() const { return path_style.value_or(!endpoint.empty()); }
};

// The keys of the storage: section.
const config::Section& storage_section();

// Fills `storage` from the storage: section `node`, recording every problem in `reader`. Throws only
// ConfigError past the reader's limit of problems.
void parse_storage(config::Reader& reader, const config::Node& node, StorageConfig& storage);

}  // namespace sluice::storage
