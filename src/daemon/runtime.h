// Runtime: one pipeline opened on its data directory — the metastore, the object store and the
// sources — and the operations the CLI and the scheduler perform on it: run a source, fire a schedule
// slot, retry runs a previous process left unfinished. It is what `sluice run`, `sluice trigger` and
// `sluice demo` share; the daemon adds the scheduler loop and signal handling on top.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "config/pipeline.h"
#include "daemon/backends.h"
#include "metastore/event_queue.h"
#include "metastore/run_log.h"
#include "query/engine.h"
#include "query/query_log.h"
#include "stream/stream.h"
#include "stream/stream_store.h"

namespace sluice::storage {
class ObjectStore;
}
namespace sluice::metastore {
struct QueuedEvent;
struct FailedEvent;
}  // namespace sluice::metastore
namespace sluice::storage {
struct ObjectEvent;
}

namespace sluice::delivery {
class DeliveryStreams;
}
namespace sluice::metrics {
class Registry;
}

namespace sluice::daemon {

struct DeliveryLag;  // runtime_metrics.h

// What one run of a source did, as shown by `sluice runs` and the trigger/demo commands.
struct RunSummary {
  int64_t run_id = 0;
  std::string name;  // the source, processor or crawler
  metastore::RunStatus status = metastore::RunStatus::kRunning;
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::string object;  // s3://bucket/key when an object was written
  std::string error;
};

// Who owns a data directory: one process at a time (the daemon, or a `sluice trigger` when no daemon
// runs) recovers what a crash left behind and retries interrupted runs. The owner holds an exclusive
// lock on DATA_DIR/daemon.lock for its lifetime.
enum class Ownership {
  kDaemon,  // must own the directory: fails when another process does
  kIfFree,  // owns it when nobody else does (trigger, demo)
  kClient,  // never owns it: queries and catalog reads beside a running daemon
};

class Runtime {
 public:
  // Opens (creating when needed) the data directory of `pipeline`. The owner recovers the object
  // store and event queue, and marks runs that a killed process left 'running' as interrupted (they
  // are retried by retry_interrupted()).
  // `backends` replaces the ones the pipeline file asks for (backends_for) — for tests.
  explicit Runtime(config::Pipeline pipeline, Ownership ownership = Ownership::kIfFree,
                   std::optional<Backends> backends = std::nullopt);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const config::Pipeline& pipeline() const { return pipeline_; }
  storage::ObjectStore& objects();

  // Runs one source now. `slot` is the schedule slot that caused it (key templates are rendered at
  // that time; now when absent); `schedule` names that schedule, empty for a manual run.
  RunSummary run_source(std::string_view source, std::string_view trigger, std::optional<TimePoint> slot,
                        std::string_view schedule = {});

  // Fires one slot of a schedule: records the slot as fired together with one run per target, then
  // executes the runs in order. A slot is never fired twice, even across a crash between the two.
  std::vector<RunSummary> fire_schedule(const config::ScheduleConfig& schedule, TimePoint slot,
                                        std::string_view trigger);

  // Runs a schedule's targets, a source or a crawler now, as a manual trigger: not a slot, so nothing
  // is recorded as fired.
  std::vector<RunSummary> trigger(std::string_view name);

  // A full crawl of one crawler, as a run of kind "crawl" (records = files read; warnings in error).
  RunSummary run_crawler(std::string_view name, std::string_view trigger, std::string_view schedule = {});

  // Streams (Kinesis) and deliveries (Firehose). Only the owner of the data directory opens the
  // streams; put_records throws Error elsewhere. deliver() polls every delivery once (see
  // delivery::Delivery::poll) and returns how many records went into objects.
  std::vector<stream::PutResult> put_records(std::string_view stream,
                                             std::span<const stream::PutRecord> records);
  // Counts a put made straight on a stream (the HTTP ingest route, the Kinesis API) in the metrics, as
  // put_records() counts its own. Never throws but for std::bad_alloc.
  void count_put(std::string_view stream, std::span<const stream::PutRecord> records,
                 std::span<const stream::PutResult> results);
  stream::Stream& stream(std::string_view name);  // throws StreamNotFound
  // Every stream of the data directory: declared, and created at run time (create/remove/share).
  stream::StreamStore& streams();
  uint64_t deliver(TimePoint now = now_ms(), bool force = false);
  // Every delivery stream of the data directory: declared, and created through the Firehose API
  // (create/remove/describe/put). Throws Error, as streams(), when this process does not own it.
  delivery::DeliveryStreams& delivery_streams();
  // Named consumers' checkpoints (the last sequence number a consumer has processed, per shard).
  stream::CheckpointStore& checkpoints();

  // The Data Catalog and queries over it (Athena). query() throws query::QueryFailed.
  catalog::Catalog& catalog();
  query::QueryResult query(std::string_view sql, const std::string& database = {});
  query::QueryResult query(std::string_view sql, const query::RunOptions& options);
  // The engine itself: cancel(id), running(), read_results() for the API.
  query::QueryEngine& queries();
  std::vector<query::QueryRecord> query_history(int limit);
  std::optional<query::QueryRecord> query_record(const std::string& id);
  bool owner() const { return owner_; }
  // The figures of GET /metrics: what this Runtime did (puts, runs, processing, queries, delivery
  // latency) and, read at each scrape, the deliveries' lag. Lives as long as the Runtime.
  metrics::Registry& metrics();
  // Each stream-fed delivery's lag behind its source shards (runtime_metrics.h).
  std::vector<DeliveryLag> delivery_lag();
  // Counts a query that ended in `state` that did not go through query() (the Athena API's pool).
  void count_query(const std::string& state);

  // Retries, once each, the runs found interrupted when this Runtime opened (killed or stopped
  // mid-run), with the same slot, so they write the same object keys.
  // Also the runs that failed for the system's reasons (disk full, I/O error): those end
  // 'interrupted' and the daemon calls this every SchedulerLoop::kRetryPeriod while any wait.
  std::vector<RunSummary> retry_interrupted();
  bool has_pending_retries();

  // Processes every queued ObjectCreated event that a processor takes (S3 notification filters), each
  // as a run of kind "process": the output is written under its derived key; input that cannot be
  // processed is copied to the processor's error prefix with a .error.json beside it. Events a
  // processor does not take are acknowledged for it. Then every on_change crawler catalogues the
  // objects under its targets (one "crawl" run per batch), so processed output is queryable at once.
  // Returns the runs.
  std::vector<RunSummary> process_pending();

  // The inputs a processor quarantined (failed for good), oldest first. Throws Error for an unknown
  // processor.
  std::vector<metastore::FailedEvent> quarantined(std::string_view processor);
  // Makes a processor's quarantined inputs (all, or those with these keys) its to process again; the
  // next process_pending() takes them, and a success removes their copies from the error prefix.
  // Returns the inputs reopened (s3://bucket/key). Throws Error for an unknown processor or a key
  // that it has not failed.
  std::vector<std::string> reprocess(std::string_view processor, const std::vector<std::string>& keys);

  // Each processor's and on_change crawler's backlog of ObjectCreated events: (consumer, count).
  std::vector<std::pair<std::string, int64_t>> backlogs();

  // Makes events that a killed process had claimed available again (the daemon calls it at start:
  // it alone owns the data directory's processing).
  void release_claims();

  // Asks runs in flight to stop as soon as possible (used on SIGINT/SIGTERM); they end 'interrupted'.
  // Running queries are interrupted (CANCELLED).
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  // The flag cancel() sets, for work that polls it (a query's RunOptions::cancel).
  const std::atomic<bool>& cancel_flag() const { return cancelled_; }

  // Run history, newest first.
  std::vector<metastore::RunRecord> recent_runs(int limit);
  // Adds a finished run of `kind` (an alert's change of state: kind "alert") to the run history.
  int64_t record_run(const metastore::RunStart& run, const metastore::RunOutcome& outcome);
  metastore::RunLog& run_log();

  // Persistent scheduling state, for the scheduler loop.
  std::optional<TimePoint> last_fired(std::string_view schedule);
  TimePoint anchor(std::string_view schedule, TimePoint now);
  // Records that the schedule's slots up to `t` are dealt with (fired or skipped by catch-up).
  void mark_handled(std::string_view schedule, TimePoint t);

  struct Parts;  // metastore, stores, logs: defined in runtime.cpp

 private:
  // Runs a source (the extract) as run `run_id`, rendering key templates at `at`.
  RunSummary extract_source(int64_t run_id, const extract::SourceConfig& source, TimePoint at);
  RunSummary execute_crawl(int64_t run_id, const catalog::CrawlerConfig& crawler);
  // A schedule target or a retried run: a source or a crawler.
  RunSummary execute_target(int64_t run_id, const std::string& name, TimePoint at);
  std::vector<RunSummary> crawl_changes();
  void put_json(const std::string& stream, const std::string& body);
  RunSummary process_event(const process::ProcessorConfig& processor, const metastore::QueuedEvent& queued);
  // Events a consumer could not finish for the system's reasons: taken again after `delay`.
  void postpone(const std::string& consumer, std::span<const metastore::QueuedEvent> events,
                std::chrono::milliseconds delay, const std::string& reason);
  void quarantine(const process::ProcessorConfig& processor, const storage::ObjectEvent& event,
                  const std::string& body, const std::string& reason);

  config::Pipeline pipeline_;
  std::unique_ptr<Parts> parts_;
  std::atomic<bool> cancelled_{false};
  bool owner_ = false;
};

}  // namespace sluice::daemon
