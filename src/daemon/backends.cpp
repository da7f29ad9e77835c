#include "daemon/backends.h"

#include <unistd.h>

#include "storage/local_object_store.h"
#include "storage/s3_object_store.h"

namespace sluice::daemon {
namespace {

// The S3 store the storage: section describes. Its cache is DATA_DIR/s3-cache/daemon for the owner of
// the data directory; a client beside it (sluice query) gets its own, as a cache directory belongs to
// one process at a time.
storage::S3StoreConfig s3_config(const config::Pipeline& pipeline, bool owner) {
  const storage::StorageConfig& storage = pipeline.storage;
  storage::S3StoreConfig s3;
  s3.connection.endpoint = storage.endpoint;
  s3.connection.region = storage.region;
  s3.connection.path_style = storage.uses_path_style();
  storage::load_default_credentials(s3.connection);
  s3.multipart_threshold = storage.multipart_threshold;
  s3.part_size = storage.multipart_threshold;
  s3.cache_bytes = storage.cache_size;
  const auto cache_root = pipeline.data_dir / "s3-cache";
  s3.cache_directory = owner ? cache_root / "daemon" : cache_root / ("client-" + std::to_string(::getpid()));
  s3.spool_directory = pipeline.data_dir / "s3-spool";
  return s3;
}

}  // namespace

Backends backends_for(const config::Pipeline& pipeline) {
  Backends b;
  if (pipeline.storage.backend == storage::StorageConfig::Backend::kS3) {
    b.object_store = [](const config::Pipeline& pipeline, storage::ObjectEventLog* events, bool owner) {
      return std::make_unique<storage::S3ObjectStore>(s3_config(pipeline, owner), pipeline.buckets, events,
                                                      owner);
    };
  } else {
    b.object_store = [](const config::Pipeline& pipeline, storage::ObjectEventLog* events, bool owner) {
      return std::make_unique<storage::LocalObjectStore>(pipeline.data_dir / "objects", pipeline.buckets,
                                                         events, owner);
    };
  }
  b.streams = [](const config::Pipeline& pipeline) {
    return std::make_unique<stream::StreamStore>(pipeline.data_dir / "streams", pipeline.streams);
  };
  return b;
}

}  // namespace sluice::daemon
