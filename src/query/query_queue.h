// QueryQueue: queries run asynchronously on a bounded pool, as Athena runs them. submit() answers at
// once with the query's id; a fixed number of workers take queries in submission order and run each
// through QueryEngine::run, so the outcome lands in the history (QueryLog) like any other query's.
// Until a worker takes it a query is QUEUED and lives only here; a full queue refuses more
// (QueueFull: Athena's TooManyRequestsException). stop() cancels a queued query (recorded CANCELLED at
// once) or a running one (its run ends CANCELLED shortly after). The column types of the queries it
// ran are remembered (a bounded number, newest kept) for Athena's ResultSetMetadata.
// Destruction cancels what is queued and running and joins the workers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "query/engine.h"

namespace sluice::query {

struct QueueConfig {
  size_t workers = 2;            // queries running at once
  size_t max_queued = 100;       // waiting for a worker; more are refused with QueueFull
  size_t max_remembered = 1000;  // queries whose column types are kept after they ran
  // Told how each query that ran ended (SUCCEEDED, FAILED or CANCELLED), from the worker: the daemon
  // counts them with the rest of its queries. Optional; must not throw.
  std::function<void(const std::string& state)> on_end;
};

// One query to run: what StartQueryExecution carries.
struct Submission {
  std::string sql;
  std::string database;                      // empty: the engine's default database
  std::optional<std::string> output_bucket;  // nullopt: the engine's output location
  std::string output_prefix;                 // with output_bucket: "" or ending with '/'
};

// A query the queue holds: QUEUED (waiting for a worker), RUNNING (taken; the history may not have
// it for a moment yet) or CANCELLED (stopped while queued, being recorded).
struct PendingQuery {
  std::string id;
  std::string state;
  std::string sql;
  std::string database;
  std::string output;  // where the result will be saved: s3://bucket/prefix/<id>.csv, or ""
  TimePoint submitted{};
};

// The queue is full: Athena's TooManyRequestsException.
class QueueFull : public Error {
 public:
  using Error::Error;
};

class QueryQueue {
 public:
  // Starts config.workers threads that run queries through `engine`, which must outlive the queue.
  QueryQueue(QueryEngine& engine, QueueConfig config = {});
  // Cancels the queued queries (recorded CANCELLED) and the running ones, and joins the workers.
  ~QueryQueue();
  QueryQueue(const QueryQueue&) = delete;
  QueryQueue& operator=(const QueryQueue&) = delete;

  // Queues a query and returns its new id (a UUID). Throws QueueFull when max_queued queries wait
  // already, and sluice::Error when the queue is shutting down.
  std::string submit(Submission submission);
  // The query `id` while the queue holds it (see PendingQuery); nullopt otherwise (the history has
  // it, or it never existed).
  std::optional<PendingQuery> pending(const std::string& id) const;
  // Cancels the query `id`: a queued one is recorded CANCELLED ("query cancelled by <by> (it was
  // queued)") before this returns; a running one is interrupted and its run ends CANCELLED ("query
  // cancelled by StopQueryExecution") shortly after. Returns
  // false when the queue does not hold it (finished, or unknown). Throws sluice::Error when the
  // history cannot be written.
  bool stop(const std::string& id, const std::string& by);
  // The DuckDB type names of the columns of a query this queue ran to success; nullopt when it did
  // not, or has forgotten it (see QueueConfig::max_remembered).
  std::optional<std::vector<std::string>> column_types(const std::string& id) const;
  // The queries the queue holds now, the newest first.
  std::vector<PendingQuery> held() const;
  // How many queries wait for a worker.
  size_t queued() const;

 private:
  struct Job;
  void work();
  void run_job(Job& job);
  void remember_types(const std::string& id, std::vector<std::string> types);

  QueryEngine& engine_;
  const QueueConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Job>> waiting_;
  std::map<std::string, std::shared_ptr<Job>> held_;  // by id: waiting and running
  std::map<std::string, std::vector<std::string>> types_;
  std::deque<std::string> types_order_;  // oldest first, for forgetting
  std::vector<std::thread> workers_;
};

}  // namespace sluice::query
