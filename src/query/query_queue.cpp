#include "query/query_queue.h"

#include <algorithm>

namespace sluice::query {

struct QueryQueue::Job {
  PendingQuery query;
  Submission submission;
  std::atomic<bool> cancel{false};
};

QueryQueue::QueryQueue(QueryEngine& engine, QueueConfig config) : engine_(engine), config_(config) {
  const size_t workers = config_.workers == 0 ? 1 : config_.workers;
  for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

QueryQueue::~QueryQueue() {
  std::deque<std::shared_ptr<Job>> unrun;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    unrun.swap(waiting_);
    for (auto& [id, job] : held_) job->cancel = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
  for (const auto& job : unrun) {
    try {
      engine_.record_unrun(job->query.id, job->submission.sql, job->submission.database, "CANCELLED",
                           "query cancelled by the daemon shutting down (it was queued)");
    } catch (const std::exception&) {
      // The history cannot be written while shutting down: the query is simply forgotten.
    }
  }
}

std::string QueryQueue::submit(Submission submission) {
  auto job = std::make_shared<Job>();
  job->query.id = new_query_id();
  job->query.state = "QUEUED";
  job->query.sql = submission.sql;
  job->query.database = submission.database.empty() ? engine_.config().database : submission.database;
  const std::string& bucket = submission.output_bucket.value_or(engine_.config().output_bucket);
  const std::string& prefix =
      submission.output_bucket ? submission.output_prefix : engine_.config().output_prefix;
  if (!bucket.empty()) job->query.output = "s3://" + bucket + "/" + prefix + job->query.id + ".csv";
  job->query.submitted = now_ms();
  job->submission = std::move(submission);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw Error("the query queue is shutting down; query not started");
    if (waiting_.size() >= config_.max_queued)
      throw QueueFull(std::to_string(waiting_.size()) + " queries are waiting to run (at most " +
                      std::to_string(config_.max_queued) + "); retry later");
    held_.emplace(job->query.id, job);
    waiting_.push_back(job);
  }
  wake_.notify_one();
  return job->query.id;
}

std::optional<PendingQuery> QueryQueue::pending(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = held_.find(id);
  if (it == held_.end()) return std::nullopt;
  return it->second->query;
}

bool QueryQueue::stop(const std::string& id, const std::string& by) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    const auto it = held_.find(id);
    if (it == held_.end()) return false;
    job = it->second;
    if (job->query.state == "RUNNING") {
      job->cancel = true;  // its run says "query cancelled by StopQueryExecution"
      return true;
    }
    if (job->query.state == "CANCELLED") return true;
    job->query.state = "CANCELLED";
    std::erase(waiting_, job);
  }
  // Recorded before the queue lets go of it, so that the query is never unknown meanwhile.
  struct Release {
    QueryQueue& queue;
    const std::string& id;
    ~Release() {
      std::lock_guard lock(queue.mutex_);
      queue.held_.erase(id);
    }
  } release{*this, id};
  engine_.record_unrun(id, job->submission.sql, job->submission.database, "CANCELLED",
                       "query cancelled by " + by + " (it was queued)");
  return true;
}

std::optional<std::vector<std::string>> QueryQueue::column_types(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = types_.find(id);
  if (it == types_.end()) return std::nullopt;
  return it->second;
}

std::vector<PendingQuery> QueryQueue::held() const {
  std::vector<PendingQuery> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, job] : held_) out.push_back(job->query);
  }
  std::sort(out.begin(), out.end(), [](const PendingQuery& a, const PendingQuery& b) {
    return a.submitted != b.submitted ? a.submitted > b.submitted : a.id > b.id;
  });
  return out;
}

size_t QueryQueue::queued() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

void QueryQueue::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;
      job = waiting_.front();
      waiting_.pop_front();
      job->query.state = "RUNNING";
    }
    run_job(*job);
    std::lock_guard lock(mutex_);
    held_.erase(job->query.id);
  }
}

void QueryQueue::run_job(Job& job) {
  RunOptions options;
  options.database = job.submission.database;
  options.query_id = job.query.id;
  options.cancel = &job.cancel;
  options.cancelled_by = "StopQueryExecution";
  options.output_bucket = job.submission.output_bucket;
  options.output_prefix = job.submission.output_prefix;
  options.max_inline_rows = 0;  // the result is read back from its CSV, page by page
  try {
    auto result = engine_.run(job.submission.sql, options);
    remember_types(job.query.id, std::move(result.types));
    if (config_.on_end) config_.on_end("SUCCEEDED");
  } catch (const QueryFailed& e) {
    // The history has the outcome; GetQueryExecution reports it.
    if (config_.on_end) config_.on_end(e.cause() == QueryFailed::Cause::kCancelled ? "CANCELLED" : "FAILED");
  } catch (const std::exception& e) {
    // Refused before it ran (the history could not be written): record it if at all possible.
    try {
      engine_.record_unrun(job.query.id, job.submission.sql, job.submission.database, "FAILED", e.what());
    } catch (const std::exception&) {
      // Nothing more to do: the query stays unknown.
    }
  }
}

void QueryQueue::remember_types(const std::string& id, std::vector<std::string> types) {
  std::lock_guard lock(mutex_);
  types_[id] = std::move(types);
  types_order_.push_back(id);
  while (types_order_.size() > config_.max_remembered) {
    types_.erase(types_order_.front());
    types_order_.pop_front();
  }
}

}  // namespace sluice::query
