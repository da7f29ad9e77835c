// The metastore-backed progress stores of the streaming path: stream consumer checkpoints
// (stream::CheckpointStore) and each delivery's per-shard progress (DeliveryProgress). Each save is
// one SQLite transaction with synchronous=FULL: a checkpoint the store returned from is durable.
#pragma once

#include "delivery/delivery.h"
#include "metastore/metastore.h"
#include "stream/stream.h"

namespace sluice::delivery {

class MetastoreDeliveryProgress : public DeliveryProgress {
 public:
  explicit MetastoreDeliveryProgress(metastore::Metastore& db) : db_(db) {}
  ShardProgress load(const std::string& delivery, const std::string& shard) override;
  void begin(const std::string& delivery, const std::string& shard, const std::string& first,
             const std::string& last) override;
  void commit(const std::string& delivery, const std::string& shard, const std::string& last) override;
  void forget(const std::string& delivery) override;

 private:
  metastore::Metastore& db_;
};

class MetastoreCheckpoints : public stream::CheckpointStore {
 public:
  explicit MetastoreCheckpoints(metastore::Metastore& db) : db_(db) {}
  std::optional<std::string> load(std::string_view stream, std::string_view consumer,
                                  std::string_view shard_id) override;
  void save(std::string_view stream, std::string_view consumer, std::string_view shard_id,
            std::string_view sequence_number) override;

 private:
  metastore::Metastore& db_;
};

}  // namespace sluice::delivery
