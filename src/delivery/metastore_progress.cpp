#include "delivery/metastore_progress.h"

namespace sluice::delivery {
namespace {
int64_t now_millis() { return now_ms().time_since_epoch().count(); }
}  // namespace

using metastore::Statement;

ShardProgress MetastoreDeliveryProgress::load(const std::string& delivery, const std::string& shard) {
  std::lock_guard lock(db_.mutex());
  Statement s(db_,
              "SELECT delivered, pending_first, pending_last FROM delivery_progress WHERE delivery = ? AND "
              "shard = ?");
  s.bind(1, delivery).bind(2, shard);
  ShardProgress out;
  if (!s.step()) return out;
  if (!s.column_text(0).empty()) out.delivered = s.column_text(0);
  if (!s.column_text(1).empty()) out.pending = std::make_pair(s.column_text(1), s.column_text(2));
  return out;
}

void MetastoreDeliveryProgress::begin(const std::string& delivery, const std::string& shard,
                                      const std::string& first, const std::string& last) {
  db_.transaction([&] {
    Statement(db_,
              "INSERT INTO delivery_progress (delivery, shard, pending_first, pending_last, updated_ms) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery, shard) DO UPDATE SET pending_first = "
              "excluded.pending_first, "
              "pending_last = excluded.pending_last, updated_ms = excluded.updated_ms")
        .bind(1, delivery)
        .bind(2, shard)
        .bind(3, first)
        .bind(4, last)
        .bind(5, now_millis())
        .run();
  });
}

void MetastoreDeliveryProgress::commit(const std::string& delivery, const std::string& shard,
                                       const std::string& last) {
  db_.transaction([&] {
    Statement(
        db_,
        "INSERT INTO delivery_progress (delivery, shard, delivered, updated_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (delivery, shard) DO UPDATE SET delivered = excluded.delivered, pending_first = NULL, "
        "pending_last = NULL, updated_ms = excluded.updated_ms")
        .bind(1, delivery)
        .bind(2, shard)
        .bind(3, last)
        .bind(4, now_millis())
        .run();
  });
}

void MetastoreDeliveryProgress::forget(const std::string& delivery) {
  db_.transaction(
      [&] { Statement(db_, "DELETE FROM delivery_progress WHERE delivery = ?").bind(1, delivery).run(); });
}

std::optional<std::string> MetastoreCheckpoints::load(std::string_view stream, std::string_view consumer,
                                                      std::string_view shard_id) {
  std::lock_guard lock(db_.mutex());
  Statement s(
      db_, "SELECT sequence_number FROM stream_checkpoints WHERE stream = ? AND consumer = ? AND shard = ?");
  s.bind(1, stream).bind(2, consumer).bind(3, shard_id);
  if (!s.step()) return std::nullopt;
  return s.column_text(0);
}

void MetastoreCheckpoints::save(std::string_view stream, std::string_view consumer, std::string_view shard_id,
                                std::string_view sequence_number) {
  db_.transaction([&] {
    Statement(db_,
              "INSERT INTO stream_checkpoints (stream, consumer, shard, sequence_number, updated_ms) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream, consumer, shard) DO UPDATE SET "
              "sequence_number = excluded.sequence_number, updated_ms = excluded.updated_ms")
        .bind(1, stream)
        .bind(2, consumer)
        .bind(3, shard_id)
        .bind(4, sequence_number)
        .bind(5, now_millis())
        .run();
  });
}

}  // namespace sluice::delivery
