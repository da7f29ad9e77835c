#include "metastore/event_queue.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace sluice::metastore {
namespace {

storage::ObjectEvent read_event(const Statement& s, int first) {
  storage::ObjectEvent e;
  e.event_name = s.column_text(first);
  e.bucket = s.column_text(first + 1);
  e.key = s.column_text(first + 2);
  e.size = static_cast<uint64_t>(s.column_int64(first + 3));
  e.etag = s.column_text(first + 4);
  e.time = from_epoch_ms(s.column_int64(first + 5));
  return e;
}

}  // namespace

std::string s3_url_encode_key(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == '!' || c == '*' ||
        c == '\'' || c == '(' || c == ')') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof(buffer), "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string notification_json(const storage::ObjectEvent& event, int64_t sequence) {
  char sequencer[17];
  std::snprintf(sequencer, sizeof(sequencer), "%016llX", static_cast<unsigned long long>(sequence));
  nlohmann::json record = {{"eventVersion", "2.1"},
                           {"eventSource", "aws:s3"},
                           {"awsRegion", "local"},
                           {"eventTime", format_iso8601_utc(event.time)},
                           {"eventName", event.event_name},
                           {"userIdentity", {{"principalId", "sluice"}}},
                           {"requestParameters", {{"sourceIPAddress", "127.0.0.1"}}},
                           {"responseElements", {{"x-amz-request-id", sequencer}, {"x-amz-id-2", sequencer}}},
                           {"s3",
                            {{"s3SchemaVersion", "1.0"},
                             {"configurationId", "sluice"},
                             {"bucket",
                              {{"name", event.bucket},
                               {"ownerIdentity", {{"principalId", "sluice"}}},
                               {"arn", "arn:aws:s3:::" + event.bucket}}},
                             {"object",
                              {{"key", s3_url_encode_key(event.key)},
                               {"size", event.size},
                               {"eTag", event.etag},
                               {"sequencer", sequencer}}}}}};
  return nlohmann::json{{"Records", nlohmann::json::array({record})}}.dump();
}

uint64_t EventQueue::prepare(const storage::ObjectEvent& event) {
  return static_cast<uint64_t>(db_.transaction([&] {
    Statement insert(db_,
                     "INSERT INTO object_events (state, event_name, bucket, key, size, etag, event_ms) "
                     "VALUES ('pending', ?, ?, ?, ?, ?, ?)");
    insert.bind(1, event.event_name).bind(2, event.bucket).bind(3, event.key);
    insert.bind(4, static_cast<int64_t>(event.size))
        .bind(5, event.etag)
        .bind(6, to_epoch_ms(event.time))
        .run();
    return db_.last_insert_id();
  }));
}

void EventQueue::commit(uint64_t id) {
  db_.transaction([&] {
    Statement(db_, "UPDATE object_events SET state = 'ready' WHERE id = ?")
        .bind(1, static_cast<int64_t>(id))
        .run();
  });
}

void EventQueue::abort(uint64_t id) {
  db_.transaction([&] {
    Statement(db_, "DELETE FROM object_events WHERE id = ? AND state = 'pending'")
        .bind(1, static_cast<int64_t>(id))
        .run();
  });
}

void EventQueue::recover(const std::function<bool(const storage::ObjectEvent&)>& object_exists) {
  std::vector<std::pair<int64_t, storage::ObjectEvent>> pending;
  {
    std::lock_guard lock(db_.mutex());
    Statement select(db_,
                     "SELECT id, event_name, bucket, key, size, etag, event_ms FROM object_events "
                     "WHERE state = 'pending' ORDER BY id");
    while (select.step()) pending.emplace_back(select.column_int64(0), read_event(select, 1));
  }
  for (const auto& [id, event] : pending) {
    if (object_exists(event))
      commit(static_cast<uint64_t>(id));
    else
      abort(static_cast<uint64_t>(id));
  }
}

std::vector<QueuedEvent> EventQueue::claim(const std::string& consumer, int max,
                                           std::chrono::milliseconds lease, TimePoint now) {
  return db_.transaction([&] {
    Statement select(
        db_,
        "SELECT e.id, e.event_name, e.bucket, e.key, e.size, e.etag, e.event_ms, coalesce(d.attempts, 0) "
        "FROM object_events e LEFT JOIN event_deliveries d ON d.event_id = e.id AND d.consumer = ?1 "
        "WHERE e.state = 'ready' AND (d.state IS NULL OR (d.state = 'leased' AND d.lease_until_ms <= ?2)) "
        "ORDER BY e.id LIMIT ?3");
    select.bind(1, consumer).bind(2, to_epoch_ms(now)).bind(3, static_cast<int64_t>(max));
    std::vector<QueuedEvent> out;
    while (select.step()) {
      QueuedEvent q;
      q.id = select.column_int64(0);
      q.state = "ready";
      q.event = read_event(select, 1);
      q.attempts = static_cast<int>(select.column_int64(7)) + 1;
      out.push_back(std::move(q));
    }
    for (const auto& q : out) {
      Statement row(db_,
                    "INSERT INTO event_deliveries (consumer, event_id, state, lease_until_ms, attempts) "
                    "VALUES (?1, ?2, 'leased', ?3, 1) ON CONFLICT(consumer, event_id) DO UPDATE SET "
                    "state = 'leased', lease_until_ms = ?3, attempts = attempts + 1");
      row.bind(1, consumer).bind(2, q.id).bind(3, to_epoch_ms(now + lease)).run();
    }
    return out;
  });
}

void EventQueue::ack(const std::string& consumer, int64_t id) {
  db_.transaction([&] {
    Statement(db_,
              "INSERT INTO event_deliveries (consumer, event_id, state) VALUES (?1, ?2, 'acked') "
              "ON CONFLICT(consumer, event_id) DO UPDATE SET state = 'acked'")
        .bind(1, consumer)
        .bind(2, id)
        .run();
  });
}

void EventQueue::fail(const std::string& consumer, int64_t id, const std::string& reason) {
  db_.transaction([&] {
    Statement(
        db_,
        "INSERT INTO event_deliveries (consumer, event_id, state, reason) VALUES (?1, ?2, 'failed', ?3) "
        "ON CONFLICT(consumer, event_id) DO UPDATE SET state = 'failed', reason = ?3")
        .bind(1, consumer)
        .bind(2, id)
        .bind(3, reason)
        .run();
  });
}

void EventQueue::retry_later(const std::string& consumer, int64_t id, TimePoint not_before,
                             const std::string& reason) {
  db_.transaction([&] {
    Statement(db_,
              "INSERT INTO event_deliveries (consumer, event_id, state, lease_until_ms, reason) "
              "VALUES (?1, ?2, 'leased', ?3, ?4) ON CONFLICT(consumer, event_id) DO UPDATE SET "
              "state = 'leased', lease_until_ms = ?3, reason = ?4")
        .bind(1, consumer)
        .bind(2, id)
        .bind(3, to_epoch_ms(not_before))
        .bind(4, reason)
        .run();
  });
}

std::vector<FailedEvent> EventQueue::failed(const std::string& consumer) {
  std::lock_guard lock(db_.mutex());
  Statement select(
      db_,
      "SELECT e.id, e.event_name, e.bucket, e.key, e.size, e.etag, e.event_ms, d.reason, d.attempts "
      "FROM event_deliveries d JOIN object_events e ON e.id = d.event_id "
      "WHERE d.consumer = ? AND d.state = 'failed' ORDER BY e.id");
  select.bind(1, consumer);
  std::vector<FailedEvent> out;
  while (select.step()) {
    FailedEvent f;
    f.id = select.column_int64(0);
    f.event = read_event(select, 1);
    f.reason = select.column_text(7);
    f.attempts = static_cast<int>(select.column_int64(8));
    out.push_back(std::move(f));
  }
  return out;
}

int64_t EventQueue::backlog(const std::string& consumer) {
  std::lock_guard lock(db_.mutex());
  Statement count(
      db_,
      "SELECT count(*) FROM object_events e LEFT JOIN event_deliveries d ON d.event_id = e.id AND "
      "d.consumer = ? WHERE e.state = 'ready' AND (d.state IS NULL OR d.state = 'leased')");
  count.bind(1, consumer);
  return count.step() ? count.column_int64(0) : 0;
}

bool EventQueue::reopen(const std::string& consumer, int64_t id) {
  return db_.transaction([&] {
    Statement(db_, "DELETE FROM event_deliveries WHERE consumer = ? AND event_id = ? AND state = 'failed'")
        .bind(1, consumer)
        .bind(2, id)
        .run();
    return db_.changes() > 0;
  });
}

void EventQueue::release_leases(const std::string& consumer) {
  db_.transaction([&] {
    Statement(db_, "UPDATE event_deliveries SET lease_until_ms = 0 WHERE consumer = ? AND state = 'leased'")
        .bind(1, consumer)
        .run();
  });
}

std::vector<QueuedEvent> EventQueue::list() {
  std::lock_guard lock(db_.mutex());
  Statement select(
      db_, "SELECT id, state, event_name, bucket, key, size, etag, event_ms FROM object_events ORDER BY id");
  std::vector<QueuedEvent> out;
  while (select.step()) {
    QueuedEvent q;
    q.id = select.column_int64(0);
    q.state = select.column_text(1);
    q.event = read_event(select, 2);
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace sluice::metastore
