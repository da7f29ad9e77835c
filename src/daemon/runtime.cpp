#include "daemon/runtime.h"

#include <fcntl.h>
#include <simdjson.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "catalog/crawler.h"
#include "catalog/metastore_catalog.h"
#include "common/error.h"
#include "common/fs.h"
#include "daemon/runtime_metrics.h"
#include "delivery/delivery_streams.h"
#include "delivery/metastore_progress.h"
#include "extract/extractor.h"
#include "ingest/ingest.h"
#include "metastore/event_queue.h"
#include "metastore/metastore.h"
#include "metastore/run_log.h"
#include "metastore/schedule_state.h"
#include "metrics/registry.h"
#include "process/processor.h"

namespace sluice::daemon {

namespace {
// An exclusive flock on DATA_DIR/daemon.lock, held while it lives: the kernel drops it when the
// process dies, so a killed owner never leaves the directory locked.
class OwnerLock {
 public:
  OwnerLock(const std::filesystem::path& file, Ownership ownership) {
    if (ownership == Ownership::kClient) return;
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error("cannot open " + file.string() + ": " + std::strerror(errno));
    // A daemon waits a little for a trigger that is finishing; the others take it only when free.
    const int attempts = ownership == Ownership::kDaemon ? 50 : 1;
    for (int i = 0; i < attempts && !owned_; ++i) {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        owned_ = true;
      } else if (i + 1 < attempts) {
        ::usleep(100'000);
      }
    }
    if (!owned_ && ownership == Ownership::kDaemon) {
      ::close(fd_);
      fd_ = -1;
      throw Error("another sluice process owns the data directory " + file.parent_path().string() +
                  " (it holds " + file.filename().string() + "): stop it first");
    }
  }
  ~OwnerLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;
  bool owned() const { return owned_; }

 private:
  int fd_ = -1;
  bool owned_ = false;
};
}  // namespace

struct Runtime::Parts {
  Parts(const config::Pipeline& pipeline, Ownership ownership, const Backends& backends)
      : lock(pipeline.data_dir / "daemon.lock", ownership),
        db(pipeline.data_dir / "metastore.db"),
        runs(db),
        schedules(db),
        events(db),
        objects(backends.object_store(pipeline, &events, lock.owned())),
        catalog(db),
        queries(db),
        engine(pipeline.query, catalog, *objects, queries),
        delivery_progress(db),
        checkpoints(db) {
    if (!lock.owned()) return;
    streams = backends.streams(pipeline);
    deliveries = std::make_unique<delivery::DeliveryStreams>(
        pipeline.data_dir / "firehose", pipeline.deliveries, *streams, *objects, delivery_progress);
    measures.collect_lag(*deliveries, *streams, delivery_progress);
  }

  // First, so that it goes last: the lag collector reads the stores below.
  metrics::Registry registry;
  RuntimeMetrics measures{registry};
  OwnerLock lock;
  metastore::Metastore db;
  metastore::RunLog runs;
  metastore::ScheduleState schedules;
  metastore::EventQueue events;
  std::unique_ptr<storage::ObjectStore> objects;  // the back-end chosen by backends_for()
  catalog::MetastoreCatalog catalog;
  query::QueryLog queries;
  query::QueryEngine engine;
  delivery::MetastoreDeliveryProgress delivery_progress;
  delivery::MetastoreCheckpoints checkpoints;
  std::unique_ptr<stream::StreamStore> streams;           // the owner's only
  std::unique_ptr<delivery::DeliveryStreams> deliveries;  // before streams in destruction
  std::vector<metastore::RunRecord> interrupted;          // found at open, to retry
};

namespace {
using RunClock = std::chrono::steady_clock;

// Records how a run (of `kind`, begun at `began`) ended, counts it, and returns what the CLI and
// API show of it.
RunSummary finish_run(Runtime::Parts& parts, int64_t run_id, const std::string& kind, const std::string& name,
                      const metastore::RunOutcome& outcome, RunClock::time_point began) {
  parts.runs.finish(run_id, outcome);
  parts.measures.record_run(kind, std::string(metastore::to_string(outcome.status)), RunClock::now() - began);
  RunSummary summary;
  summary.run_id = run_id;
  summary.name = name;
  summary.status = outcome.status;
  summary.records = outcome.records;
  summary.bytes = outcome.bytes;
  summary.object = outcome.object;
  summary.error = outcome.error;
  return summary;
}

// A crawl's report as a run outcome: files read as records, the database as the object, warnings
// (which do not fail the crawl) in the error field and the log.
metastore::RunOutcome crawl_outcome(const catalog::CrawlerConfig& config,
                                    const catalog::CrawlReport& report) {
  metastore::RunOutcome outcome;
  outcome.records = report.files_scanned;
  outcome.object = "glue://" + config.database;
  for (const auto& w : report.warnings) {
    outcome.error += (outcome.error.empty() ? "" : "; ") + w;
    spdlog::warn("crawler {}: {}", config.name, w);
  }
  return outcome;
}

}  // namespace

Runtime::Runtime(config::Pipeline pipeline, Ownership ownership, std::optional<Backends> backends)
    : pipeline_(std::move(pipeline)) {
  fs::create_directories_durable(pipeline_.data_dir);
  // Large sorts and joins of queries spill here, each query into its own folder.
  if (pipeline_.query.temp_directory.empty())
    pipeline_.query.temp_directory = (pipeline_.data_dir / "tmp" / "query").string();
  parts_ = std::make_unique<Parts>(pipeline_, ownership, backends ? *backends : backends_for(pipeline_));
  owner_ = parts_->lock.owned();
  if (owner_) parts_->interrupted = parts_->runs.mark_unfinished_interrupted();
}

Runtime::~Runtime() = default;

storage::ObjectStore& Runtime::objects() { return *parts_->objects; }
metrics::Registry& Runtime::metrics() { return parts_->registry; }
std::vector<DeliveryLag> Runtime::delivery_lag() {
  return daemon::delivery_lag(*parts_->deliveries, *parts_->streams, parts_->delivery_progress);
}
void Runtime::count_query(const std::string& state) { parts_->measures.record_query(state); }
catalog::Catalog& Runtime::catalog() { return parts_->catalog; }

namespace {
// Runs a query and counts how it ended.
template <typename Run>
query::QueryResult counted_query(RuntimeMetrics& measures, Run run) {
  try {
    auto result = run();
    measures.record_query("SUCCEEDED");
    return result;
  } catch (const query::QueryFailed& e) {
    measures.record_query(e.cause() == query::QueryFailed::Cause::kCancelled ? "CANCELLED" : "FAILED");
    throw;
  }
}
}  // namespace

query::QueryResult Runtime::query(std::string_view sql, const std::string& database) {
  return counted_query(parts_->measures, [&] { return parts_->engine.run(sql, database); });
}

query::QueryResult Runtime::query(std::string_view sql, const query::RunOptions& options) {
  return counted_query(parts_->measures, [&] { return parts_->engine.run(sql, options); });
}

query::QueryEngine& Runtime::queries() { return parts_->engine; }

void Runtime::cancel() {
  cancelled_.store(true);
  parts_->engine.cancel_all();
}

std::vector<query::QueryRecord> Runtime::query_history(int limit) { return parts_->queries.list(limit); }

std::optional<query::QueryRecord> Runtime::query_record(const std::string& id) {
  return parts_->queries.get(id);
}

stream::StreamStore& Runtime::streams() {
  if (!parts_->streams) {
    throw Error("the streams of " + pipeline_.data_dir.string() +
                " are served by the process that owns it (the daemon)");
  }
  return *parts_->streams;
}

stream::Stream& Runtime::stream(std::string_view name) { return streams().get(name); }

std::vector<stream::PutResult> Runtime::put_records(std::string_view name,
                                                    std::span<const stream::PutRecord> records) {
  auto results = stream(name).put(records);
  count_put(name, records, results);
  return results;
}

void Runtime::count_put(std::string_view stream, std::span<const stream::PutRecord> records,
                        std::span<const stream::PutResult> results) {
  parts_->measures.record_put(std::string(stream), records, results);
}

void Runtime::put_json(const std::string& name, const std::string& body) {
  // A source's records into a stream: each element of an array (or the one document) is a record,
  // keyed by its MD5 so that records spread over the shards, in PutRecords-sized batches.
  ingest::put_json_values(body, {},
                          [&](std::span<const stream::PutRecord> batch) { put_records(name, batch); });
}

stream::CheckpointStore& Runtime::checkpoints() { return parts_->checkpoints; }

uint64_t Runtime::deliver(TimePoint now, bool force) {
  uint64_t delivered = 0;
  if (!parts_->deliveries) return 0;
  parts_->measures.before_poll(*parts_->deliveries, *parts_->streams, parts_->delivery_progress);
  const auto results = parts_->deliveries->poll(now, force);
  parts_->measures.after_poll(results, now_ms(), *parts_->deliveries, *parts_->streams,
                              parts_->delivery_progress);
  for (const auto& result : results) {
    const auto& report = result.report;
    delivered += report.records;
    if (!report.objects.empty()) {
      spdlog::info(
          "delivery {}: {} records ({} bytes) in {} objects{}", result.name, report.records, report.bytes,
          report.objects.size(),
          report.error_records ? ", " + std::to_string(report.error_records) + " to the error prefix" : "");
    }
    if (!result.error.empty()) spdlog::error("delivery {}: {} (will retry)", result.name, result.error);
  }
  if (parts_->streams) parts_->streams->enforce_retention(now);
  return delivered;
}

delivery::DeliveryStreams& Runtime::delivery_streams() {
  if (!parts_->deliveries) {
    throw Error("the delivery streams of " + pipeline_.data_dir.string() +
                " are served by the process that owns it (the daemon)");
  }
  return *parts_->deliveries;
}

std::vector<metastore::RunRecord> Runtime::recent_runs(int limit) { return parts_->runs.list(limit); }

metastore::RunLog& Runtime::run_log() { return parts_->runs; }

int64_t Runtime::record_run(const metastore::RunStart& run, const metastore::RunOutcome& outcome) {
  return parts_->runs.record(run, outcome);
}

std::optional<TimePoint> Runtime::last_fired(std::string_view schedule) {
  return parts_->schedules.load(std::string(schedule)).last_fired;
}

void Runtime::mark_handled(std::string_view schedule, TimePoint t) {
  parts_->schedules.record_fired(std::string(schedule), t);
}

TimePoint Runtime::anchor(std::string_view schedule, TimePoint now) {
  return parts_->schedules.set_anchor_if_absent(std::string(schedule), now);
}

RunSummary Runtime::extract_source(int64_t run_id, const extract::SourceConfig& source, TimePoint at) {
  const auto began = RunClock::now();
  metastore::RunOutcome outcome;
  try {
    extract::ExtractContext ctx;
    ctx.run_id = run_id;
    ctx.time = at;
    ctx.timezone = pipeline_.timezone_for_source(source.name);
    ctx.cancel = &cancelled_;
    ctx.scratch_dir = pipeline_.data_dir / "tmp";
    ctx.env = [](const std::string& name) -> std::optional<std::string> {
      const char* value = std::getenv(name.c_str());
      if (!value) return std::nullopt;
      return std::string(value);
    };
    ctx.to_stream = [this](const std::string& name, const std::string& body) { put_json(name, body); };
    extract::ExtractResult result = extract::run_extract(source, ctx, *parts_->objects);
    outcome.status = metastore::RunStatus::kSucceeded;
    outcome.records = result.records;
    outcome.bytes = result.bytes;
    outcome.object =
        result.stream.empty() ? "s3://" + result.bucket + "/" + result.key : "stream://" + result.stream;
  } catch (const SystemError& e) {
    // The system's failure (disk full, I/O error), not the source's: the run is retried (the daemon
    // tries every SchedulerLoop::kRetryPeriod) with the same slot, so it writes the same key.
    outcome.status = metastore::RunStatus::kInterrupted;
    outcome.error = cancelled_.load() ? e.what() : std::string("will be retried: ") + e.what();
  } catch (const std::exception& e) {
    outcome.status = cancelled_.load() ? metastore::RunStatus::kInterrupted : metastore::RunStatus::kFailed;
    outcome.error = e.what();
  }
  RunSummary summary = finish_run(*parts_, run_id, "source", source.name, outcome, began);
  if (summary.status == metastore::RunStatus::kSucceeded) {
    spdlog::info("run {} source {}: {} records, {} bytes -> {}", run_id, source.name, summary.records,
                 summary.bytes, summary.object);
  } else {
    spdlog::warn("run {} source {}: {}: {}", run_id, source.name, metastore::to_string(summary.status),
                 summary.error);
  }
  return summary;
}

RunSummary Runtime::run_source(std::string_view name, std::string_view trigger, std::optional<TimePoint> slot,
                               std::string_view schedule) {
  const extract::SourceConfig* source = pipeline_.find_source(name);
  if (!source) throw Error("no source named \"" + std::string(name) + "\" in " + pipeline_.file.string());
  const int64_t run_id =
      parts_->runs.start({"source", source->name, std::string(trigger), std::string(schedule), slot});
  return extract_source(run_id, *source, slot.value_or(now_ms()));
}

std::vector<RunSummary> Runtime::fire_schedule(const config::ScheduleConfig& schedule, TimePoint slot,
                                               std::string_view trigger) {
  // The runs and the fired slot are recorded in one transaction: after a crash either the slot is
  // still due (nothing recorded) or its runs exist as 'running' and are retried as interrupted.
  std::vector<metastore::RunStart> starts;
  for (const auto& target : schedule.targets) {
    starts.push_back({pipeline_.find_crawler(target) ? "crawl" : "source", target, std::string(trigger),
                      schedule.name, slot});
  }
  const std::vector<int64_t> run_ids =
      parts_->runs.start_slot(schedule.name, slot, starts, parts_->schedules);
  std::vector<RunSummary> out;
  for (size_t i = 0; i < run_ids.size(); ++i) {
    if (cancelled_.load()) {
      metastore::RunOutcome outcome;
      outcome.status = metastore::RunStatus::kInterrupted;
      outcome.error = "the daemon stopped before this run began";
      parts_->runs.finish(run_ids[i], outcome);
      continue;
    }
    out.push_back(execute_target(run_ids[i], schedule.targets[i], slot));
  }
  return out;
}

RunSummary Runtime::execute_target(int64_t run_id, const std::string& name, TimePoint at) {
  if (const auto* crawler = pipeline_.find_crawler(name)) return execute_crawl(run_id, *crawler);
  return extract_source(run_id, *pipeline_.find_source(name), at);
}

RunSummary Runtime::execute_crawl(int64_t run_id, const catalog::CrawlerConfig& config) {
  const auto began = RunClock::now();
  metastore::RunOutcome outcome;
  try {
    catalog::Crawler crawler(config, *parts_->objects, parts_->catalog);
    auto report = crawler.crawl();
    outcome = crawl_outcome(config, report);
    spdlog::info(
        "run {} crawler {}: {} files read, {} unchanged, {} removed; tables created [{}], updated [{}]; "
        "{} partitions added",
        run_id, config.name, report.files_scanned, report.files_unchanged, report.files_removed,
        fmt::join(report.tables_created, ", "), fmt::join(report.tables_updated, ", "),
        report.partitions_added);
  } catch (const SystemError& e) {
    outcome.status = metastore::RunStatus::kInterrupted;  // retried, as a source run is
    outcome.error = std::string("will be retried: ") + e.what();
    spdlog::warn("run {} crawler {}: {}", run_id, config.name, outcome.error);
  } catch (const std::exception& e) {
    outcome.status = metastore::RunStatus::kFailed;
    outcome.error = e.what();
    spdlog::warn("run {} crawler {}: failed: {}", run_id, config.name, e.what());
  }
  return finish_run(*parts_, run_id, "crawl", config.name, outcome, began);
}

RunSummary Runtime::run_crawler(std::string_view name, std::string_view trigger, std::string_view schedule) {
  const auto* crawler = pipeline_.find_crawler(name);
  if (!crawler) throw Error("no crawler named \"" + std::string(name) + "\" in " + pipeline_.file.string());
  return execute_crawl(
      parts_->runs.start({"crawl", crawler->name, std::string(trigger), std::string(schedule)}), *crawler);
}

std::vector<RunSummary> Runtime::trigger(std::string_view name) {
  if (const config::ScheduleConfig* schedule = pipeline_.find_schedule(name)) {
    std::vector<RunSummary> out;
    const TimePoint now = now_ms();
    for (const auto& target : schedule->targets) {
      out.push_back(pipeline_.find_crawler(target) ? run_crawler(target, "manual", schedule->name)
                                                   : run_source(target, "manual", now, schedule->name));
    }
    return out;
  }
  if (pipeline_.find_source(name)) return {run_source(name, "manual", std::nullopt)};
  if (pipeline_.find_crawler(name)) return {run_crawler(name, "manual")};
  throw Error("no schedule, source or crawler named \"" + std::string(name) + "\" in " +
              pipeline_.file.string());
}

namespace {
std::string consumer_of(const process::ProcessorConfig& processor) { return "process:" + processor.name; }
std::string consumer_of(const catalog::CrawlerConfig& crawler) { return "crawl:" + crawler.name; }
// A claim's lease only matters when a claimed event is neither acked, failed nor postponed (an
// exception the loop did not foresee): it then comes back after this.
constexpr auto kProcessLease = std::chrono::minutes(1);
}  // namespace

std::vector<std::pair<std::string, int64_t>> Runtime::backlogs() {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& processor : pipeline_.processors)
    out.emplace_back(consumer_of(processor), parts_->events.backlog(consumer_of(processor)));
  for (const auto& crawler : pipeline_.crawlers)
    if (crawler.on_change)
      out.emplace_back(consumer_of(crawler), parts_->events.backlog(consumer_of(crawler)));
  return out;
}

void Runtime::release_claims() {
  for (const auto& processor : pipeline_.processors) parts_->events.release_leases(consumer_of(processor));
  for (const auto& crawler : pipeline_.crawlers) parts_->events.release_leases(consumer_of(crawler));
}

namespace {
// How long an event waits before a processor tries it again after a failure of the system's own:
// 1 s, doubling per attempt, at most 5 minutes.
std::chrono::milliseconds retry_delay(int attempts) {
  const int doublings = std::clamp(attempts - 1, 0, 9);
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(1) * (1 << doublings),
                                             std::chrono::minutes(5));
}
}  // namespace

void Runtime::postpone(const std::string& consumer, std::span<const metastore::QueuedEvent> events,
                       std::chrono::milliseconds delay, const std::string& reason) {
  try {
    for (const auto& queued : events)
      parts_->events.retry_later(consumer, queued.id, now_ms() + delay, reason);
  } catch (const std::exception&) {
    // The metastore cannot be written either: the leases lapse and the events come back anyway.
  }
}

void Runtime::quarantine(const process::ProcessorConfig& processor, const storage::ObjectEvent& event,
                         const std::string& body, const std::string& reason) {
  // The input and the reason, side by side under the error prefix; other objects flow on.
  const std::string quarantined = processor.error_prefix + event.key;
  parts_->objects->put(processor.output_bucket, quarantined, body);
  nlohmann::json why = {{"processor", processor.name},
                        {"input", "s3://" + event.bucket + "/" + event.key},
                        {"error", reason},
                        {"time", format_iso8601_utc(now_ms())},
                        {"etag", event.etag}};
  parts_->objects->put(processor.output_bucket, quarantined + ".error.json", why.dump(2) + "\n");
}

RunSummary Runtime::process_event(const process::ProcessorConfig& processor,
                                  const metastore::QueuedEvent& queued) {
  const storage::ObjectEvent& event = queued.event;
  const std::string consumer = consumer_of(processor);
  const int64_t run_id = parts_->runs.start({"process", processor.name, "event"});
  const auto began = RunClock::now();
  metastore::RunOutcome outcome;
  const std::string input = "s3://" + event.bucket + "/" + event.key;
  try {
    const std::string body = parts_->objects->get(event.bucket, event.key);
    try {
      auto out = process::transform(processor, body, event.key, pipeline_.data_dir / "tmp");
      const std::string key = process::output_key(processor, event.key, event.time);
      parts_->objects->put(processor.output_bucket, key, out.bytes);
      const auto created_to_durable = now_ms() - event.time;
      outcome.status = metastore::RunStatus::kSucceeded;
      outcome.records = out.records;
      outcome.bytes = out.bytes.size();
      outcome.object = "s3://" + processor.output_bucket + "/" + key;
      // A reprocessed input leaves quarantine: its copy and reason go once its output is in place.
      const std::string quarantined = processor.error_prefix + event.key;
      if (parts_->objects->head(processor.output_bucket, quarantined)) {
        parts_->objects->remove(processor.output_bucket, quarantined + ".error.json");
        parts_->objects->remove(processor.output_bucket, quarantined);
      }
      parts_->events.ack(consumer, queued.id);
      parts_->measures.record_processed(processor.name, created_to_durable);
    } catch (const process::ProcessError& e) {
      quarantine(processor, event, body, e.what());
      parts_->events.fail(consumer, queued.id, e.what());
      parts_->measures.record_quarantined(processor.name);
      outcome.status = metastore::RunStatus::kFailed;
      outcome.object = "s3://" + processor.output_bucket + "/" + processor.error_prefix + event.key;
      outcome.error = e.what();
    }
  } catch (const storage::NotFound&) {
    // Deleted since: nothing to process, and nothing will appear later.
    parts_->events.fail(consumer, queued.id, input + " no longer exists");
    parts_->measures.record_failed(processor.name);
    outcome.status = metastore::RunStatus::kFailed;
    outcome.error = input + " no longer exists";
  } catch (const std::exception& e) {
    // Not the input's fault (disk full, I/O error, metastore): the event stays pending and is tried
    // again after a back-off that grows with each attempt; the input is never quarantined for it.
    const auto delay = retry_delay(queued.attempts);
    outcome.status = metastore::RunStatus::kFailed;
    outcome.error = "will be retried in " + std::to_string(delay.count() / 1000) + " s: " + e.what();
    postpone(consumer, std::span(&queued, 1), delay, e.what());
    parts_->measures.record_failed(processor.name);
  }
  RunSummary summary = finish_run(*parts_, run_id, "process", processor.name, outcome, began);
  if (summary.status == metastore::RunStatus::kSucceeded) {
    spdlog::info("run {} processor {}: {} -> {} ({} records)", run_id, processor.name, input, summary.object,
                 summary.records);
  } else {
    spdlog::warn("run {} processor {}: {}: {}", run_id, processor.name, input, summary.error);
  }
  return summary;
}

std::vector<metastore::FailedEvent> Runtime::quarantined(std::string_view processor) {
  const auto* config = pipeline_.find_processor(processor);
  if (!config)
    throw Error("no processor named \"" + std::string(processor) + "\" in " + pipeline_.file.string());
  return parts_->events.failed(consumer_of(*config));
}

std::vector<std::string> Runtime::reprocess(std::string_view processor,
                                            const std::vector<std::string>& keys) {
  const auto* config = pipeline_.find_processor(processor);
  if (!config)
    throw Error("no processor named \"" + std::string(processor) + "\" in " + pipeline_.file.string());
  std::vector<std::string> reopened;
  const auto failed = parts_->events.failed(consumer_of(*config));
  for (const auto& key : keys) {
    const bool known =
        std::any_of(failed.begin(), failed.end(), [&](const auto& f) { return f.event.key == key; });
    if (!known) {
      throw Error("processor " + config->name + " has no failed input with key \"" + key +
                  "\" (sluice reprocess NAME without keys lists them)");
    }
  }
  for (const auto& f : failed) {
    if (!keys.empty() && std::find(keys.begin(), keys.end(), f.event.key) == keys.end()) continue;
    // Only the newest event of a key is worth another try: an older one was overwritten since.
    if (std::any_of(failed.begin(), failed.end(),
                    [&](const auto& g) { return g.event.key == f.event.key && g.id > f.id; }))
      continue;
    if (parts_->events.reopen(consumer_of(*config), f.id))
      reopened.push_back("s3://" + f.event.bucket + "/" + f.event.key);
  }
  return reopened;
}

std::vector<RunSummary> Runtime::process_pending() {
  std::vector<RunSummary> out;
  for (const auto& processor : pipeline_.processors) {
    const std::string consumer = consumer_of(processor);
    while (!cancelled_.load()) {
      auto claimed = parts_->events.claim(consumer, 64, kProcessLease);
      if (claimed.empty()) break;
      for (size_t i = 0; i < claimed.size(); ++i) {
        const auto& queued = claimed[i];
        if (cancelled_.load()) break;
        try {
          if (!process::matches(processor, queued.event.bucket, queued.event.key)) {
            parts_->events.ack(consumer, queued.id);
            continue;
          }
          out.push_back(process_event(processor, queued));
        } catch (const std::exception& e) {
          // The run history or the queue itself could not be written (disk full): this event and the
          // rest of the batch are tried again after a back-off rather than when their leases lapse.
          postpone(consumer, std::span(claimed).subspan(i), retry_delay(queued.attempts), e.what());
          throw;
        }
      }
    }
  }
  auto crawls = crawl_changes();
  out.insert(out.end(), crawls.begin(), crawls.end());
  return out;
}

std::vector<RunSummary> Runtime::crawl_changes() {
  std::vector<RunSummary> out;
  for (const auto& config : pipeline_.crawlers) {
    if (!config.on_change) continue;
    const std::string consumer = consumer_of(config);
    catalog::Crawler crawler(config, *parts_->objects, parts_->catalog);
    while (!cancelled_.load()) {
      auto claimed = parts_->events.claim(consumer, 256, kProcessLease);
      if (claimed.empty()) break;
      std::vector<std::pair<std::string, std::string>> objects;
      for (const auto& queued : claimed)
        if (crawler.covers(queued.event.bucket, queued.event.key))
          objects.emplace_back(queued.event.bucket, queued.event.key);
      if (!objects.empty()) {
        const int64_t run_id = parts_->runs.start({"crawl", config.name, "event"});
        const auto began = RunClock::now();
        metastore::RunOutcome outcome;
        try {
          outcome = crawl_outcome(config, crawler.crawl_objects(objects));
        } catch (const std::exception& e) {
          // The catalog could not be written (disk, metastore): the events are tried again after a
          // back-off.
          const auto delay = retry_delay(claimed.front().attempts);
          outcome.status = metastore::RunStatus::kFailed;
          outcome.error = "will be retried in " + std::to_string(delay.count() / 1000) + " s: " + e.what();
          postpone(consumer, claimed, delay, e.what());
          out.push_back(finish_run(*parts_, run_id, "crawl", config.name, outcome, began));
          break;
        }
        out.push_back(finish_run(*parts_, run_id, "crawl", config.name, outcome, began));
      }
      for (const auto& queued : claimed) parts_->events.ack(consumer, queued.id);
    }
  }
  return out;
}

bool Runtime::has_pending_retries() { return !parts_->runs.pending_retries().empty(); }

std::vector<RunSummary> Runtime::retry_interrupted() {
  std::vector<RunSummary> out;
  for (const auto& run : parts_->runs.pending_retries()) {
    if (cancelled_.load()) break;
    if (run.kind == "process") {
      // A processing run is redone from its ObjectCreated event (its claim is released), not here.
      parts_->runs.mark_retried(run.id, 0);
      continue;
    }
    const bool known = run.kind == "crawl" ? pipeline_.find_crawler(run.name) != nullptr
                                           : pipeline_.find_source(run.name) != nullptr;
    if (!known) {
      spdlog::warn("run {} was interrupted, but {} {} is no longer in the pipeline: not retried", run.id,
                   run.kind, run.name);
      parts_->runs.mark_retried(run.id, 0);
      continue;
    }
    const int64_t run_id = parts_->runs.start({run.kind, run.name, "retry", run.schedule, run.slot});
    parts_->runs.mark_retried(run.id, run_id);
    spdlog::info("retrying interrupted run {} of {} {} as run {}", run.id, run.kind, run.name, run_id);
    out.push_back(execute_target(run_id, run.name, run.slot.value_or(run.started)));
  }
  return out;
}

}  // namespace sluice::daemon
