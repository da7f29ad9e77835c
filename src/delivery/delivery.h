// Delivery: the Kinesis Data Firehose of sluice. A delivery stream reads a Stream shard by shard,
// buffers records by size and time, and writes them as objects: newline-delimited by default,
// compressed with gzip or zstd or not at all, under a prefix that may hold Firehose's expressions.
//
// It reads through the stream::Stream interface only, so any back-end (the local log, a
// Kinesis-backed stream) can feed it: positions stay opaque and live only in memory, and what it
// keeps durably (DeliveryProgress) are sequence numbers.
//
// Exactly once into the object store. A batch is a contiguous range of one shard's records; before
// any object of a batch is written, its range is recorded as pending (DeliveryProgress::begin); the
// object names derive only from the delivery, the shard and the range, and the content only from the
// records; once every object of the batch is durable, the range is committed. After a crash a pending
// batch is rebuilt from exactly its range and written again — the same names, the same bytes — so
// nothing is lost and nothing appears twice.
//
// Object names: PREFIX + NAME-1-YYYY-MM-DD-HH-MM-SS-SHARD-FIRSTSEQ-LASTSEQ[.gz|.zst], the time being
// the arrival of the batch's oldest record (UTC), as Firehose names objects by the oldest record.
// Prefix expressions:
//   !{timestamp:yyyy/MM/dd/HH}        the oldest record's arrival (UTC); Java-style yyyy MM dd HH mm ss
//   !{partitionKeyFromQuery:field}    dynamic partitioning: a (dotted) field of each JSON record; a
//                                     batch becomes one object per distinct value
// A prefix without expressions (or none) gets Firehose's default layout appended: YYYY/MM/DD/HH/. Records
// that cannot be partitioned (not JSON, the field missing or not a scalar) go to ERROR_PREFIX + the same name
// pattern, so nothing is dropped silently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace sluice::storage {
class ObjectStore;
}
namespace sluice::stream {
class Stream;
}

namespace sluice::delivery {

enum class Compression { kNone, kGzip, kZstd };

struct DeliveryConfig {
  std::string name;
  std::string stream;       // the stream it reads; empty for a DirectPut delivery
  bool direct_put = false;  // fed by producers directly (Firehose PutRecord/PutRecordBatch), no stream
  std::string bucket;
  std::string prefix;  // may hold !{...} expressions; without any, YYYY/MM/DD/HH/ is appended
  std::string error_prefix = "delivery-errors/";       // + the delivery's name
  uint64_t buffer_bytes = 5ull << 20;                  // 1 MiB .. 128 MiB
  std::chrono::milliseconds buffer_interval{300'000};  // 0 .. 900 s
  Compression compression = Compression::kNone;
  std::string delimiter = "\n";  // appended after each record ("" to concatenate as Firehose may)
};

// Checks a prefix expression; empty when fine, else what is wrong.
std::string validate_prefix(const std::string& prefix);

// Where each shard's delivery stands.
struct ShardProgress {
  std::optional<std::string> delivered;                        // last sequence number delivered
  std::optional<std::pair<std::string, std::string>> pending;  // a batch begun, not yet committed
};

class DeliveryProgress {
 public:
  virtual ~DeliveryProgress() = default;
  virtual ShardProgress load(const std::string& delivery, const std::string& shard) = 0;
  // Records that the batch first..last is about to be written.
  virtual void begin(const std::string& delivery, const std::string& shard, const std::string& first,
                     const std::string& last) = 0;
  // The pending batch is durable: `last` is delivered, nothing is pending.
  virtual void commit(const std::string& delivery, const std::string& shard, const std::string& last) = 0;
  // Forgets every shard's progress of `delivery` (it was deleted; one of the same name starts anew).
  // Throws what the store throws; this default, for stores that keep nothing, throws Error.
  virtual void forget(const std::string& delivery);
};

class InMemoryDeliveryProgress : public DeliveryProgress {
 public:
  ShardProgress load(const std::string& delivery, const std::string& shard) override;
  void begin(const std::string& delivery, const std::string& shard, const std::string& first,
             const std::string& last) override;
  void commit(const std::string& delivery, const std::string& shard, const std::string& last) override;
  void forget(const std::string& delivery) override;

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, ShardProgress> state_;
};

struct FlushReport {
  std::vector<std::string> objects;  // keys written
  uint64_t records = 0;
  uint64_t bytes = 0;  // uncompressed record bytes delivered
  uint64_t error_records = 0;
};

class Delivery {
 public:
  Delivery(DeliveryConfig config, stream::Stream& stream, storage::ObjectStore& objects,
           DeliveryProgress& progress);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  const DeliveryConfig& config() const { return config_; }

  // Reads what is new, and writes every shard's buffer that is full (buffer_bytes) or old enough
  // (its oldest record arrived buffer_interval before `now`). `force` writes every non-empty buffer.
  // Pending batches from a previous process are completed first. Throws what the object store or
  // the progress store throws — SystemError for a full disk or an I/O error — with the failed batch
  // left uncommitted: the next call (on this object or a new one) writes the same objects, under the
  // same names with the same bytes, before anything newer of that shard, so that nothing is lost or
  // delivered twice. A batch whose begin failed was not written at all and is simply read again.
  FlushReport poll(TimePoint now = now_ms(), bool force = false);

 private:
  struct Impl;
  DeliveryConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::delivery
