#include "storage/object_events.h"

#include "common/error.h"
#include "storage/object_store.h"

namespace sluice::storage {

PendingEvent PutEvents::prepare(const ObjectEvent& event) {
  if (!log_) return PendingEvent(nullptr, 0);
  return PendingEvent(log_, log_->prepare(event));
}

void PutEvents::recover(const std::function<bool(const ObjectEvent&)>& object_exists) {
  if (log_) log_->recover(object_exists);
}

PendingEvent::~PendingEvent() {
  if (!log_) return;
  try {
    log_->abort(id_);
  } catch (const std::exception&) {
    // The event stays prepared; the store's recovery discards it (its object is not in place).
  }
}

void PendingEvent::commit() {
  // Forgotten first: a commit that throws must not turn into an abort of an object now in place.
  if (ObjectEventLog* log = std::exchange(log_, nullptr)) log->commit(id_);
}

ListingEventSource::ListingEventSource(const ObjectStore& store, std::vector<Watch> watches,
                                       ObjectEventLog& log, bool publish_existing)
    : store_(store), watches_(std::move(watches)), log_(log), publish_existing_(publish_existing) {}

std::string ListingEventSource::describe() const {
  std::string out = "listing of";
  for (size_t i = 0; i < watches_.size(); ++i)
    out += (i ? ", s3://" : " s3://") + watches_[i].bucket + "/" + watches_[i].prefix;
  return out;
}

size_t ListingEventSource::poll() {
  std::map<std::pair<std::string, std::string>, std::string> now;
  size_t published = 0;
  for (const auto& watch : watches_) {
    ListRequest request;
    request.prefix = watch.prefix;
    while (true) {
      auto page = store_.list(watch.bucket, request);
      for (const auto& info : page.objects) {
        auto where = std::make_pair(info.bucket.empty() ? watch.bucket : info.bucket, info.key);
        now[where] = info.etag;
        auto seen = seen_.find(where);
        if (seen != seen_.end() && seen->second == info.etag) continue;
        if (stock_taken_ || publish_existing_) {
          ObjectEvent event;
          event.bucket = where.first;
          event.key = info.key;
          event.size = info.size;
          event.etag = info.etag;
          event.time = info.last_modified;
          log_.publish(event);
          ++published;
        }
        seen_[where] = info.etag;  // published: a failure further on does not publish it again
      }
      if (!page.is_truncated) break;
      request.continuation_token = page.next_continuation_token;
    }
  }
  seen_ = std::move(now);  // objects gone are forgotten: created again, they are new
  stock_taken_ = true;
  return published;
}

}  // namespace sluice::storage
