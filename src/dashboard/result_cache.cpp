#include "dashboard/result_cache.h"

namespace sluice::dashboard {
namespace {

size_t size_of(const query::QueryResult& r) {
  size_t n = 256;
  for (const auto& c : r.columns) n += c.size() + 32;
  for (const auto& row : r.rows) {
    n += 24;
    for (const auto& v : row) n += 40 + (v ? v->size() : 0);
  }
  return n;
}

}  // namespace

std::optional<query::QueryResult> ResultCache::find(const std::string& key, const Versions& versions) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.versions != versions) {
    drop(it);
    return std::nullopt;
  }
  recent_.splice(recent_.begin(), recent_, it->second.recent);
  return it->second.result;
}

void ResultCache::put(const std::string& key, Versions versions, const query::QueryResult& result) {
  const size_t bytes = size_of(result) + key.size();
  if (bytes > max_bytes_ / 4) return;
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) drop(it);
  while (bytes_ + bytes > max_bytes_ && !recent_.empty()) drop(entries_.find(recent_.back()));
  recent_.push_front(key);
  entries_.emplace(key, Entry{std::move(versions), result, bytes, recent_.begin()});
  bytes_ += bytes;
}

size_t ResultCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void ResultCache::drop(std::map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  recent_.erase(it->second.recent);
  entries_.erase(it);
}

}  // namespace sluice::dashboard
