// ResultCache: the last results of the dashboards' queries, so that a page opened again, a second
// viewer, or a visual that did not change since its last run answers without running its query
// again (QuickSight keeps SPICE for the same reason). An entry is valid only while every table its SQL
// reads has the data version it had when the query ran (DashboardService::versions_of): new data
// makes it stale at once. Bounded by total size (rows' bytes), least recently used evicted first.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "query/engine.h"

namespace sluice::dashboard {

class ResultCache {
 public:
  using Versions = std::map<std::string, int64_t>;

  explicit ResultCache(size_t max_bytes = 64 << 20) : max_bytes_(max_bytes) {}

  // The result cached for `key` when it was made at exactly `versions`; nullopt otherwise (a stale
  // entry is dropped).
  std::optional<query::QueryResult> find(const std::string& key, const Versions& versions);
  // Keeps `result` for `key`, made at `versions` (read before the query ran, so that data arriving
  // during it makes the entry stale rather than wrongly fresh). A result larger than a quarter of the
  // cache is not kept.
  void put(const std::string& key, Versions versions, const query::QueryResult& result);
  size_t bytes() const;

 private:
  struct Entry {
    Versions versions;
    query::QueryResult result;
    size_t bytes = 0;
    std::list<std::string>::iterator recent;
  };
  void drop(std::map<std::string, Entry>::iterator it);

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> recent_;  // most recently used first
  size_t bytes_ = 0;
};

}  // namespace sluice::dashboard
