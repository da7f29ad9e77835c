// EventQueue: the durable queue of S3 ObjectCreated events (S3 event notifications), the trigger of
// the processing component. The object store records events through the two-phase ObjectEventLog
// interface; consumers claim ready events with a lease, then ack or fail them. Each consumer sees
// each event independently; an event a consumer claimed but never acked comes back after the lease.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/time.h"
#include "metastore/metastore.h"
#include "storage/object_events.h"

namespace sluice::metastore {

struct QueuedEvent {
  int64_t id = 0;
  std::string state;  // pending | ready
  storage::ObjectEvent event;
  int attempts = 0;  // for claimed events: how many times this consumer has claimed it
};

struct FailedEvent {
  int64_t id = 0;
  storage::ObjectEvent event;
  std::string reason;
  int attempts = 0;
};

class EventQueue : public storage::ObjectEventLog {
 public:
  explicit EventQueue(Metastore& db) : db_(db) {}

  uint64_t prepare(const storage::ObjectEvent& event) override;
  void commit(uint64_t id) override;
  void abort(uint64_t id) override;
  void recover(const std::function<bool(const storage::ObjectEvent&)>& object_exists) override;

  // Up to `max` ready events this consumer has not acked or failed and does not hold a live lease on,
  // oldest first, leased until now + lease.
  std::vector<QueuedEvent> claim(const std::string& consumer, int max, std::chrono::milliseconds lease,
                                 TimePoint now = now_ms());
  void ack(const std::string& consumer, int64_t id);
  // The consumer gave up on the event for good (the input's fault: quarantined).
  void fail(const std::string& consumer, int64_t id, const std::string& reason);
  // The consumer could not finish for a reason of the system's own (disk full, I/O error): the event
  // stays its own to take again, not before `not_before`; `reason` is kept for status displays.
  void retry_later(const std::string& consumer, int64_t id, TimePoint not_before, const std::string& reason);
  // Events the consumer failed, oldest first, with the reasons.
  std::vector<FailedEvent> failed(const std::string& consumer);
  // How many ready events the consumer has neither acked nor failed (its backlog; leased ones count).
  int64_t backlog(const std::string& consumer);
  // Makes a failed event the consumer's to take again (sluice reprocess); false when it had not failed.
  bool reopen(const std::string& consumer, int64_t id);
  // Ends every live lease of `consumer`: its claimed events can be claimed again at once.
  void release_leases(const std::string& consumer);

  std::vector<QueuedEvent> list();  // every event, oldest first

 private:
  Metastore& db_;
};

// The event in S3's notification shape: {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",...}]}.
std::string notification_json(const storage::ObjectEvent& event, int64_t sequence);

// S3 URL-encodes keys in notifications (space as '+').
std::string s3_url_encode_key(std::string_view key);

}  // namespace sluice::metastore
