// Object events: what the object store tells the rest of sluice when an object is created (S3's
// ObjectCreated notifications), and where those events come from.
//
// The design has two sides, so that a store that is not a local directory can feed the same queue:
//
//   where events come from (ObjectEventSource)          where they go (ObjectEventLog)
//   ------------------------------------------          -------------------------------
//   PutEvents: a store's own puts, recorded    --two-phase-->  EventQueue (metastore): durable,
//     as they happen (LocalObjectStore, the                    consumers claim / ack / fail
//     in-memory test store)                                    events (the processing loop,
//   a notification source of a remote store   --publish---->   on_change crawlers)
//     (an S3 event queue, ListingEventSource:
//     a listing scanner), polled by the daemon
//
// The sink, ObjectEventLog, takes an event in one of two ways:
//   - two-phase, for a writer that holds the event across its own write, so that an event is neither
//     lost nor left dangling when the process dies between writing the object and recording it:
//       prepare (before the object becomes visible) -> commit (after) | abort (the put failed),
//     and at start-up recover() settles what a crash left prepared (commits the events whose object
//     is in place with that ETag, discards the others);
//   - publish(), for a source that learns of an object after it exists (a notification, a listing):
//     the object is already in place, so the event is recorded ready in one step. A source publishes
//     before it acknowledges the notification at its origin, so a crash between the two gives a
//     duplicate event (at-least-once, as S3's own notifications), never a lost one.
//
// PutEvents is the two-phase side packaged for stores: prepare() hands out a PendingEvent that
// commits explicitly and aborts when destroyed without commit, so a put that throws leaves no event.
// A store with files (LocalObjectStore) calls recover() when it opens; a store that keeps nothing
// across restarts has nothing to recover.
//
// The metastore's EventQueue implements ObjectEventLog; storage does not depend on the metastore.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"

namespace sluice::storage {

class ObjectStore;

struct ObjectEvent {
  std::string event_name = "ObjectCreated:Put";
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;
  TimePoint time;
};

// Where object events go (the EventQueue). Implementations are thread-safe.
class ObjectEventLog {
 public:
  virtual ~ObjectEventLog() = default;
  // Records `event` as pending (not visible to consumers); returns its id. Throws when it cannot be
  // recorded (the put must then fail).
  virtual uint64_t prepare(const ObjectEvent& event) = 0;
  // Makes a prepared event visible to consumers.
  virtual void commit(uint64_t id) = 0;
  // Discards a prepared event (the put failed).
  virtual void abort(uint64_t id) = 0;
  // Commits each prepared event for which `object_exists(event)` holds (the object with that ETag is
  // in place) and discards the others. Called once when the store opens.
  virtual void recover(const std::function<bool(const ObjectEvent&)>& object_exists) = 0;
  // Records an event about an object that is already in place, visible to consumers at once (a
  // remote store's notification). Returns its id. The default prepares and commits; a log that can
  // do it in one step may override it. Throws when it cannot be recorded.
  virtual uint64_t publish(const ObjectEvent& event) {
    const uint64_t id = prepare(event);
    commit(id);
    return id;
  }
};

// Where object events come from; see the top of this file. The daemon polls every source it was
// given on each tick of its processing loop.
class ObjectEventSource {
 public:
  virtual ~ObjectEventSource() = default;
  // What the source is, for logs and status ("puts to the store", "listing of s3://lake/raw/").
  virtual std::string describe() const = 0;
  // Publishes to its log the events that arrived since the last call and returns how many. A source
  // that records events as they happen (PutEvents) has nothing to poll and returns 0. Throws
  // SystemError when the source cannot be reached (the caller tries again on its next tick).
  virtual size_t poll() = 0;
};

class PendingEvent;

// The events of a store's own writes, recorded two-phase in `log` as each write happens. A store
// holds one and calls prepare() before making an object visible and PendingEvent::commit() after.
// With a null log, nothing is recorded (a store nobody listens to). Thread-safe as its log is.
class PutEvents : public ObjectEventSource {
 public:
  explicit PutEvents(ObjectEventLog* log) : log_(log) {}

  std::string describe() const override { return "puts to the store"; }
  // Nothing to poll: each put records its own event.
  size_t poll() override { return 0; }

  // Prepares the event of one write (see ObjectEventLog::prepare). Throws what the log throws.
  PendingEvent prepare(const ObjectEvent& event);
  // Settles the events a crash left prepared (see ObjectEventLog::recover); nothing without a log.
  void recover(const std::function<bool(const ObjectEvent&)>& object_exists);
  // Whether events are recorded at all.
  bool enabled() const { return log_ != nullptr; }

 private:
  ObjectEventLog* log_;
};

// One prepared event of a write: commit() once the object is in place; destroyed without commit(),
// the event is aborted (the write failed). Move-only.
class PendingEvent {
 public:
  PendingEvent(ObjectEventLog* log, uint64_t id) : log_(log), id_(id) {}
  PendingEvent(PendingEvent&& other) noexcept : log_(std::exchange(other.log_, nullptr)), id_(other.id_) {}
  PendingEvent& operator=(PendingEvent&&) = delete;
  PendingEvent(const PendingEvent&) = delete;
  PendingEvent& operator=(const PendingEvent&) = delete;
  ~PendingEvent();

  // Makes the event visible to consumers. Throws what the log throws (the event then stays prepared
  // and recovery settles it). At most once; nothing happens without a log.
  void commit();

 private:
  ObjectEventLog* log_;  // null once committed or moved from, or when nobody listens
  uint64_t id_;
};

// A notification source for stores that cannot send notifications: each poll() lists the watched
// prefixes of `store` and publishes an ObjectCreated:Put event for every object that appeared or
// whose ETag changed since the previous poll. The first poll takes stock: it publishes the objects
// already there only when `publish_existing` is set. What it has seen is kept in memory, so a
// restarted scanner takes stock again (a durable one would keep it in the metastore). Not
// thread-safe: one poller.
class ListingEventSource : public ObjectEventSource {
 public:
  struct Watch {
    std::string bucket;
    std::string prefix;  // "" for the whole bucket
  };
  ListingEventSource(const ObjectStore& store, std::vector<Watch> watches, ObjectEventLog& log,
                     bool publish_existing = false);

  std::string describe() const override;
  // Lists every watched prefix and publishes what is new or changed. Throws what the store's list()
  // or the log throws; the objects not yet published are published by the next poll.
  size_t poll() override;

 private:
  const ObjectStore& store_;
  std::vector<Watch> watches_;
  ObjectEventLog& log_;
  bool publish_existing_;
  bool stock_taken_ = false;
  std::map<std::pair<std::string, std::string>, std::string> seen_;  // (bucket, key) -> ETag
};

}  // namespace sluice::storage
