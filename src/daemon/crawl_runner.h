// CrawlRunner: full crawls started by a client (Glue's StartCrawler) run in the background, one at a
// time per crawler, each as Runtime::run_crawler does it (a run of kind "crawl", trigger "api").
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/time.h"
#include "daemon/runtime.h"

namespace sluice::daemon {

class CrawlRunner {
 public:
  // `runtime` must outlive the runner.
  explicit CrawlRunner(Runtime& runtime) : runtime_(runtime) {}
  // Waits for the crawls it started to end (Runtime::cancel() makes them end sooner, when it can).
  ~CrawlRunner();
  CrawlRunner(const CrawlRunner&) = delete;
  CrawlRunner& operator=(const CrawlRunner&) = delete;

  // Starts a full crawl of the crawler `name` on a thread of its own and returns true; returns false
  // (nothing started) while a crawl of it started here is running. The crawler must exist in the
  // pipeline (its run fails, recorded in the run history, otherwise). Throws std::system_error when
  // no thread can be started.
  bool start(const std::string& name);
  // When the crawl of `name` started here began, while it runs; nullopt otherwise.
  std::optional<TimePoint> started(const std::string& name) const;

 private:
  struct Crawl {
    TimePoint started{};
    bool running = false;
    std::thread thread;
  };
  Runtime& runtime_;
  mutable std::mutex mutex_;
  std::map<std::string, Crawl> crawls_;  // by crawler name
};

}  // namespace sluice::daemon
