// DeliveryStreams: every delivery stream of a data directory (Firehose's delivery streams) — the ones
// the pipeline file declares and the ones created at run time (Firehose CreateDeliveryStream) — and
// what is done with them: create, remove, describe, list, put (DirectPut), and poll (deliver).
//
// Two kinds of source. A delivery fed by a stream reads a stream of the data directory's StreamStore
// (Firehose's KinesisStreamAsSource). A DirectPut delivery is fed by producers (PutRecord,
// PutRecordBatch): its records are appended to a private buffer stream, one per delivery, in a
// StreamStore of its own under ROOT/buffers (never visible to the Kinesis API), and a Delivery reads
// that stream like any other. A put is acknowledged once its records are durable in the buffer
// (fsync: always), so DirectPut deliveries follow exactly the buffering and exactly-once rules of
// delivery/delivery.h: after a crash a begun batch is rewritten with the same names and bytes.
//
// On disk (ROOT = DATA_DIR/firehose): a delivery created at run time is ROOT/NAME.json (its whole
// configuration, written temp-fsync-rename) and, for DirectPut, ROOT/buffers/NAME (a stream created
// at run time, see stream/stream_store.h). Create makes the buffer first, then the file; remove
// deletes the file first, then the buffer; whatever a crash leaves between the two (a buffer without
// a file) is removed at the next open. A delivery's progress is forgotten when it is removed and
// again when one of the same name is created, so a new one never resumes an old one's sequence
// numbers.
//
// Threads: every method is thread-safe. poll() runs on one thread (the daemon's delivery loop) while
// request handlers create, remove and put; a remove waits for a poll of that delivery to finish.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"
#include "delivery/delivery.h"
#include "stream/stream.h"

namespace sluice::storage {
class ObjectStore;
}
namespace sluice::stream {
class StreamStore;
}

namespace sluice::delivery {

// No delivery stream of that name (Firehose: ResourceNotFoundException).
class DeliveryStreamNotFound : public Error {
 public:
  using Error::Error;
};
// A delivery stream of that name exists, or the pipeline file declares it and it cannot be removed
// through the API (Firehose: ResourceInUseException).
class DeliveryStreamInUse : public Error {
 public:
  using Error::Error;
};
// As many delivery streams exist as the registry allows (Firehose: LimitExceededException).
class DeliveryStreamLimit : public Error {
 public:
  using Error::Error;
};
// A direct put to a delivery stream fed by a stream (Firehose: InvalidArgumentException).
class NotDirectPut : public Error {
 public:
  using Error::Error;
};

// One delivery stream as describe() tells it.
struct DeliveryStreamInfo {
  DeliveryConfig config;
  bool declared = false;  // by the pipeline file (not removable through the API)
  TimePoint created{};    // when created through the API; when the registry opened, if declared
  std::string metadata;   // a JSON object kept verbatim for the API ("{}" when none)
  std::string problem;    // why it does not deliver (its source stream was deleted); empty if fine
};

struct DeliveryStreamsOptions {
  // At most this many delivery streams, declared ones included (Firehose's default quota).
  size_t max_delivery_streams = 5000;
  // The configuration of DirectPut buffer streams (name and shards are set by the registry).
  stream::StreamConfig buffer;
};

class DeliveryStreams {
 public:
  // Opens the registry in `root` (created when absent): the declared deliveries, then every one
  // created at run time (ROOT/*.json). Declared deliveries read `streams` (their stream must exist
  // there) or their private buffer. Throws Error naming the delivery or file when a declared
  // delivery's stream is missing, its configuration is refused by Delivery, or a file is unreadable
  // or malformed; SystemError when the disk failed. A created delivery whose source stream no longer
  // exists is kept, with a problem, and delivers nothing.
  DeliveryStreams(std::filesystem::path root, const std::vector<DeliveryConfig>& declared,
                  stream::StreamStore& streams, storage::ObjectStore& objects, DeliveryProgress& progress,
                  DeliveryStreamsOptions options = {});
  ~DeliveryStreams();
  DeliveryStreams(const DeliveryStreams&) = delete;
  DeliveryStreams& operator=(const DeliveryStreams&) = delete;

  // CreateDeliveryStream: makes `config` a delivery stream durably (see the header) with `metadata`
  // (a JSON object text, kept for describe()). Throws DeliveryStreamInUse when one of that name
  // exists, DeliveryStreamLimit at the quota, Error when the name is not 1..64 of [a-zA-Z0-9_.-], the
  // source stream does not exist, the bucket does not exist, a prefix or buffer is invalid, or
  // metadata is not a JSON object; SystemError when the disk failed. Nothing is left on failure.
  DeliveryStreamInfo create(DeliveryConfig config, std::string metadata = "{}");

  // DeleteDeliveryStream: stops the delivery (waiting for a poll of it to end), deletes its file
  // and its buffer, and forgets its progress; records buffered and not yet delivered are dropped, as
  // Firehose does. Throws DeliveryStreamNotFound, DeliveryStreamInUse for a declared one, SystemError
  // or Error when the disk failed.
  void remove(std::string_view name);

  // DescribeDeliveryStream. Throws DeliveryStreamNotFound.
  DeliveryStreamInfo describe(std::string_view name) const;
  // Every delivery stream's name, sorted. Never throws (but for std::bad_alloc).
  std::vector<std::string> names() const;

  // PutRecordBatch on a DirectPut delivery stream: appends `records` (each 0..1 MiB) to its buffer,
  // all or nothing, and returns each record's id (its sequence number in the buffer), once durable.
  // Throws DeliveryStreamNotFound, NotDirectPut for a delivery fed by a stream, stream::Throttled
  // under back-pressure, SystemError when the disk failed or is nearly full, Error for a record
  // over 1 MiB.
  std::vector<std::string> put(std::string_view name, std::vector<std::string> records);

  // What one delivery's poll did.
  struct PollResult {
    std::string name;
    FlushReport report;
    std::string error;  // what it threw (it will retry at the next poll); empty when fine
  };
  // Polls every delivery once (Delivery::poll with `now` and `force`), then enforces the buffers'
  // retention. Never throws for one delivery's failure: it is in its PollResult.
  std::vector<PollResult> poll(TimePoint now = now_ms(), bool force = false);

 private:
  struct Entry;
  std::shared_ptr<Entry> find(std::string_view name) const;
  std::shared_ptr<Entry> open_entry(DeliveryStreamInfo info);
  void load_created();
  void check_new(const DeliveryConfig& config, const std::string& metadata) const;

  const std::filesystem::path root_;
  stream::StreamStore& streams_;
  storage::ObjectStore& objects_;
  DeliveryProgress& progress_;
  const DeliveryStreamsOptions options_;
  std::unique_ptr<stream::StreamStore> buffers_;  // the DirectPut buffers
  std::mutex changes_mutex_;                      // serializes create and remove
  mutable std::mutex mutex_;                      // guards entries_
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries_;
};

// The JSON text of a created delivery's file, and its parse (throws Error naming `file`).
std::string format_delivery_file(const DeliveryStreamInfo& info);
DeliveryStreamInfo parse_delivery_file(std::string_view text, const std::filesystem::path& file);

}  // namespace sluice::delivery
