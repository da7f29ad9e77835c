#include "storage/storage_config_parser.h"

#include <regex>

namespace sluice::storage {

using config::Kind;
using config::Section;

const Section& storage_section() {
  static const Section section{{
      {.name = "backend",
       .kind = Kind::kEnum,
       .description = "where objects are kept: the data directory, or an S3 endpoint",
       .default_value = "local",
       .values = {"local", "s3"}},
      {.name = "endpoint",
       .kind = Kind::kString,
       .description = "for s3: the endpoint URL (MinIO, Ceph, R2, another sluice); none: AWS S3 in region",
       .pattern = "^https?://[^/?#]+(/.*)?$"},
      {.name = "region",
       .kind = Kind::kString,
       .description = "for s3: the region requests are signed for",
       .default_value = "us-east-1",
       .pattern = "^[a-z0-9-]{1,64}$"},
      {.name = "path_style",
       .kind = Kind::kBoolean,
       .description =
           "for s3: ENDPOINT/BUCKET/KEY instead of BUCKET.HOST/KEY (default: true with an endpoint)"},
      {.name = "multipart_threshold",
       .kind = Kind::kSize,
       .description = "for s3: larger objects are uploaded in parts of this size",
       .default_value = "8MiB",
       .min = static_cast<int64_t>(kMinMultipartThreshold),
       .max = static_cast<int64_t>(kMaxMultipartThreshold)},
      {.name = "cache_size",
       .kind = Kind::kSize,
       .description = "for s3: local copies of the objects queries read, evicted least recently used",
       .default_value = "1GiB",
       .min = static_cast<int64_t>(kMinCacheSize),
       .max = static_cast<int64_t>(kMaxCacheSize)},
  }};
  return section;
}

void parse_storage(config::Reader& r, const config::Node& node, StorageConfig& storage) {
  const Section& keys = storage_section();
  if (!r.expect_map(node, "storage")) return;
  r.check_keys(node, "storage", keys);
  if (auto b = r.choice(node, keys["backend"], "storage"))
    storage.backend = *b == 0 ? StorageConfig::Backend::kLocal : StorageConfig::Backend::kS3;
  if (auto e = r.string(node, keys["endpoint"], "storage")) {
    if (std::regex_match(*e, std::regex(std::string(keys["endpoint"].pattern))))
      storage.endpoint = *e;
    else
      r.error(node["endpoint"], "storage.endpoint",
              "expected an http:// or https:// URL, not \"" + e->substr(0, 200) + "\"");
  }
  if (auto region = r.string(node, keys["region"], "storage")) {
    if (std::regex_match(*region, std::regex(std::string(keys["region"].pattern))))
      storage.region = *region;
    else
      r.error(node["region"], "storage.region",
              "expected a region name such as us-east-1, not \"" + region->substr(0, 64) + "\"");
  }
  if (auto p = r.boolean(node, keys["path_style"], "storage")) storage.path_style = *p;
  if (auto t = r.size(node, keys["multipart_threshold"], "storage")) storage.multipart_threshold = *t;
  if (auto c = r.size(node, keys["cache_size"], "storage")) storage.cache_size = *c;
}

}  // namespace sluice::storage
