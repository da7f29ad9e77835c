// RuntimeMetrics: the figures a Runtime keeps for GET /metrics (names prefixed sluice_, units in the
// names). Counters and histograms are updated where the work happens (runtime.cpp calls record_*());
// the deliveries' lag is read from the streams and the delivery progress at each scrape. The
// registry belongs to the Runtime; this only holds references into it.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/time.h"
#include "delivery/delivery.h"
#include "delivery/delivery_streams.h"
#include "metrics/registry.h"
#include "stream/stream.h"
#include "stream/stream_store.h"

namespace sluice::daemon {

// How far a stream-fed delivery is behind its source shard, in records.
struct DeliveryLag {
  std::string delivery, shard;
  uint64_t records = 0;
};
// Each stream-fed delivery's lag per shard of its source (DirectPut deliveries have none). A delivery
// deleted or trimmed while it is read is left out. Never throws but for std::bad_alloc.
std::vector<DeliveryLag> delivery_lag(delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                                      delivery::DeliveryProgress& progress);

class RuntimeMetrics {
 public:
  // Registers the families in `registry`. Throws Error only when one of the names is taken by
  // another family (a programming error).
  explicit RuntimeMetrics(metrics::Registry& registry);

  // Adds the lag collector, sluice_delivery_lag_records{delivery,shard}: records of a stream-fed
  // delivery's source shard not delivered yet. All three must outlive the registry's renders.
  void collect_lag(delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                   delivery::DeliveryProgress& progress);

  // Counts a put of `records` into `stream` that `results` acknowledged (one per record, in order):
  // records and data bytes per shard. Never throws but for std::bad_alloc.
  void record_put(const std::string& stream, std::span<const stream::PutRecord> records,
                  std::span<const stream::PutResult> results);
  // Counts a run that ended (kind: source, crawl, process; status as the run history writes it) and
  // observes its duration.
  void record_run(const std::string& kind, const std::string& status,
                  std::chrono::steady_clock::duration took);
  // An object a processor turned into output `created_to_durable` after the input was created.
  void record_processed(const std::string& processor, std::chrono::milliseconds created_to_durable);
  // An input a processor quarantined (copied to its error prefix).
  void record_quarantined(const std::string& processor);
  // An attempt that produced no output for another reason (the input was deleted, or the system
  // failed and the event will be retried).
  void record_failed(const std::string& processor);
  // A query that ended in `state` (SUCCEEDED, FAILED, CANCELLED).
  void record_query(const std::string& state);

  // Delivery latency (arrival of a record in its stream → its object durable): call before_poll()
  // and after_poll() around DeliveryStreams::poll; the records a poll delivered are read back from
  // the stream (at most kMaxLatencySamples per shard per poll) for their arrival times. Never throw:
  // a delivery that cannot be measured (deleted meanwhile, DirectPut) is skipped.
  void before_poll(delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                   delivery::DeliveryProgress& progress);
  void after_poll(const std::vector<delivery::DeliveryStreams::PollResult>& results, TimePoint durable,
                  delivery::DeliveryStreams& deliveries, stream::StreamStore& streams,
                  delivery::DeliveryProgress& progress);
  static constexpr size_t kMaxLatencySamples = 10000;

 private:
  metrics::Registry& registry_;
  metrics::CounterFamily& records_put_;
  metrics::CounterFamily& bytes_put_;
  metrics::CounterFamily& runs_;
  metrics::HistogramFamily& run_seconds_;
  metrics::HistogramFamily& delivery_latency_;
  metrics::HistogramFamily& processing_latency_;
  metrics::CounterFamily& processed_;
  metrics::CounterFamily& quarantined_;
  metrics::CounterFamily& failed_;
  metrics::CounterFamily& queries_;

  // The last delivered sequence number per (delivery, shard) seen, so that a poll's new records are
  // known without loading every shard's progress at every poll.
  std::mutex marks_mutex_;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> delivered_marks_;
  std::set<std::string, std::less<>> marked_deliveries_;  // whose shards have a mark
};

}  // namespace sluice::daemon
