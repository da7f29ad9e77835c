#include "daemon/crawl_runner.h"

#include <spdlog/spdlog.h>

namespace sluice::daemon {

CrawlRunner::~CrawlRunner() {
  std::map<std::string, Crawl> crawls;
  {
    std::lock_guard lock(mutex_);
    crawls.swap(crawls_);
  }
  for (auto& [name, crawl] : crawls)
    if (crawl.thread.joinable()) crawl.thread.join();
}

bool CrawlRunner::start(const std::string& name) {
  std::thread finished;  // the previous crawl's thread, joined outside the lock
  {
    std::lock_guard lock(mutex_);
    Crawl& crawl = crawls_[name];
    if (crawl.running) return false;
    finished = std::move(crawl.thread);
    crawl.running = true;
    crawl.started = now_ms();
    try {
      crawl.thread = std::thread([this, name] {
        try {
          const auto run = runtime_.run_crawler(name, "api");
          spdlog::info("crawler {} (StartCrawler): run {} ended {}", name, run.run_id,
                       metastore::to_string(run.status));
        } catch (const std::exception& e) {
          spdlog::warn("crawler {} (StartCrawler): {}", name, e.what());
        }
        std::lock_guard done(mutex_);
        crawls_[name].running = false;
      });
    } catch (...) {
      crawl.running = false;
      throw;
    }
  }
  if (finished.joinable()) finished.join();
  return true;
}

std::optional<TimePoint> CrawlRunner::started(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const auto it = crawls_.find(name);
  if (it == crawls_.end() || !it->second.running) return std::nullopt;
  return it->second.started;
}

}  // namespace sluice::daemon
