// Back-ends: which implementation stands behind each interface the Runtime uses — the ObjectStore
// (S3) and the streams (Kinesis) — chosen in this one place from the pipeline file: objects in
// DATA_DIR/objects or in S3 (storage: backend: s3), streams in DATA_DIR/streams; a later back-end
// (Kinesis) is a new case in backends_for(), and a test can hand the Runtime its own (a store without
// local files) without the rest of sluice knowing.
#pragma once

#include <functional>
#include <memory>

#include "config/pipeline.h"
#include "storage/object_events.h"
#include "storage/object_store.h"
#include "stream/stream_store.h"

namespace sluice::daemon {

struct Backends {
  // Makes the object store. Its own puts record ObjectCreated events in `events`; `owner` is true in
  // the process that owns the data directory (it alone recovers what a crash left behind).
  std::function<std::unique_ptr<storage::ObjectStore>(const config::Pipeline& pipeline,
                                                      storage::ObjectEventLog* events, bool owner)>
      object_store;
  // Makes the streams (only the owner of the data directory opens them).
  std::function<std::unique_ptr<stream::StreamStore>(const config::Pipeline& pipeline)> streams;
};

// The back-ends the pipeline file asks for: the object store of its storage: section (the local
// directory, or S3 with the credentials of the environment), and the local streams.
Backends backends_for(const config::Pipeline& pipeline);

}  // namespace sluice::daemon
