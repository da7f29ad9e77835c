// What the object store tells the rest of sluice when an object is created: S3's ObjectCreated
// events. The store records them through ObjectEventLog, a two-phase interface, so that an event is
// neither lost nor left dangling when the process dies between writing the object and recording it:
//   prepare (before the object is renamed into place) -> commit (after) | abort (the put failed),
//   and at start-up recover() settles what a crash left prepared.
// The metastore's EventQueue implements it; storage does not depend on the metastore.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/time.h"

namespace sluice::storage {

struct ObjectEvent {
  std::string event_name = "ObjectCreated:Put";
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;
  TimePoint time;
};

class ObjectEventLog {
 public:
  virtual ~ObjectEventLog() = default;
  virtual uint64_t prepare(const ObjectEvent& event) = 0;
  virtual void commit(uint64_t id) = 0;
  virtual void abort(uint64_t id) = 0;
  // Commits each prepared event for which `object_exists(event)` holds (the object with that ETag is
  // in place) and discards the others. Called once when the store opens.
  virtual void recover(const std::function<bool(const ObjectEvent&)>& object_exists) = 0;
};

}  // namespace sluice::storage
