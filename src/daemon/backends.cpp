#include "daemon/backends.h"

#include "storage/local_object_store.h"

namespace sluice::daemon {

Backends backends_for(const config::Pipeline&) {
  Backends b;
  b.object_store = [](const config::Pipeline& pipeline, storage::ObjectEventLog* events, bool owner) {
    return std::make_unique<storage::LocalObjectStore>(pipeline.data_dir / "objects", pipeline.buckets,
                                                       events, owner);
  };
  b.streams = [](const config::Pipeline& pipeline) {
    return std::make_unique<stream::StreamStore>(pipeline.data_dir / "streams", pipeline.streams);
  };
  return b;
}

}  // namespace sluice::daemon
