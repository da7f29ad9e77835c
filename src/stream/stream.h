// sluice::stream — the replacement for Kinesis Data Streams, as an interface: `Stream` is what the
// rest of sluice (the ingest API, delivery, `sluice put`/`tail`, later the Kinesis wire API) sees of
// a stream, and every back-end implements it. Today there is one, `LocalStream` (stream/local_stream.h:
// a durable, sharded, append-only log on local disk); a Kinesis-backed stream is meant to be another.
// The interface therefore holds only what Kinesis itself can provide: PutRecords, GetShardIterator,
// GetRecords, the shards of DescribeStream; nothing of segments, files or fsync.
//
// Positions are opaque. `position()` returns a `Position` — a token, as a Kinesis shard iterator is —
// which only `read()` of the same stream understands and which `read()` returns again as `next`. A
// caller never looks inside it and never builds one, except from a token that it handed out earlier
// and that came back from a client (Position::from_token); every implementation checks such a token
// and refuses one that is malformed, altered or another stream's with Error. Durable places (consumer
// checkpoints, delivery progress) are sequence numbers, never positions: a position may stop being
// valid when the process restarts (a Kinesis iterator expires after five minutes).
//
// Sequence numbers are decimal strings without leading zeros (Kinesis's pattern 0|([1-9]\d{0,128})):
// within a shard they increase with each record, and sequence_number_less() orders them. What their
// digits mean belongs to the back-end (the local format is in stream/local_stream.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace sluice::stream {

// ---- Configuration and limits ---------------------------------------------------------------

// Kinesis's limits of one record, which every back-end enforces on put().
inline constexpr size_t kMaxPartitionKeyBytes = 256;
inline constexpr size_t kMaxRecordDataBytes = 1u << 20;  // 1 MiB
// Limits of a stream's configuration (validate()).
inline constexpr size_t kMaxStreamNameBytes = 128;
inline constexpr int kMaxShards = 64;
inline constexpr uint64_t kMinSegmentBytes = 1024;

// The documented contract of a stream. Only `shards` is fixed for the life of a stream; the other
// fields may change between runs, and `retention` also at run time (StreamStore::set_retention, the
// Kinesis API's Increase/DecreaseStreamRetentionPeriod: describe() then reports the one in force). The local
// back-end uses every field; a Kinesis-backed one would use name, shards and retention.
struct StreamConfig {
  enum class FsyncPolicy {
    kAlways,    // put() returns after an fdatasync that covers its records (one per group of callers)
    kInterval,  // put() returns after write(2); files are fdatasync'd at most every fsync_interval
                // (and when idle with unsynced data, after fsync_interval) — a crash can lose that much
    kNever,     // put() returns after write(2); the OS decides (segments are still synced when sealed
                // and when the stream is closed)
    // Under kInterval and kNever a machine crash can lose acknowledged records, and their sequence
    // numbers are then given again to later records: a consumer's checkpoint may point past them.
  };

  std::string name;  // 1..128 characters of [A-Za-z0-9_.-], not "." or ".." (as Kinesis)
  int shards = 1;    // 1..64, fixed for the life of the stream (no resharding)
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds fsync_interval{1000};  // > 0; used by kInterval
  uint64_t segment_bytes = 64ull << 20;            // >= 1024: size at which a new segment starts
  std::chrono::milliseconds retention = std::chrono::hours(24);  // > 0; see Stream::enforce_retention
  // Back-pressure: bytes (keys + data) accepted but not yet written. A put() that would go over it
  // while anything is pending throws Throttled instead of queueing more. A batch is always admitted
  // when nothing is pending, so one batch larger than the limit is not refused forever.
  size_t max_pending_bytes = 64ull << 20;
  // Low-disk threshold: put() refuses a batch (SystemError, nothing written) while the file system
  // holding the stream has fewer bytes available to unprivileged users (statvfs f_bavail * f_frsize)
  // than this; 0 disables the check. The answer of statvfs is reused for up to 100 ms.
  uint64_t min_free_bytes = 256ull << 20;
};

// Checks a stream name (before it becomes a path): throws Error naming it unless it is 1..128
// characters of A-Z a-z 0-9 _ . - and not "." or "..".
void validate_name(const std::string& name);

// Checks every field of a configuration against the limits above; throws Error naming the stream
// and the field.
void validate(const StreamConfig& config);

// ---- Errors ---------------------------------------------------------------------------------

// put() was refused because too much is waiting to be written; retry later (Kinesis:
// ProvisionedThroughputExceededException, HTTP 503/400). Nothing of the batch was written.
class Throttled : public Error {
 public:
  using Error::Error;
};

// A position or sequence number refers to records that retention has deleted (Kinesis:
// ExpiredIteratorException / "trimmed"). Start again from TRIM_HORIZON or a checkpoint.
class Trimmed : public Error {
 public:
  using Error::Error;
};

// No stream of that name, or it was deleted (Kinesis: ResourceNotFoundException).
class StreamNotFound : public Error {
 public:
  using Error::Error;
};

// A stream of that name exists already (Kinesis: ResourceInUseException).
class StreamExists : public Error {
 public:
  using Error::Error;
};

// ---- Hash keys and shards -------------------------------------------------------------------

// A point of Kinesis's 128-bit hash-key space.
using HashKey = unsigned __int128;

// MD5 of the partition key read as a big-endian 128-bit integer (what Kinesis routes by).
HashKey hash_key_for(std::string_view partition_key);

// Decimal rendering (Kinesis's StartingHashKey / ExplicitHashKey form) and its parse; parse returns
// nullopt unless the text is 1..39 decimal digits with a value below 2^128.
std::string hash_key_to_string(HashKey key);
std::optional<HashKey> parse_hash_key(std::string_view text);

// Shard i of n owns [floor(i * 2^128 / n), floor((i + 1) * 2^128 / n) - 1] — Kinesis's even split.
struct HashKeyRange {
  HashKey starting;
  HashKey ending;  // inclusive
};
HashKeyRange shard_hash_range(int shard_index, int shard_count);
int shard_for_hash_key(HashKey key, int shard_count);
inline int shard_for_partition_key(std::string_view partition_key, int shard_count) {
  return shard_for_hash_key(hash_key_for(partition_key), shard_count);
}

// "shardId-000000000003" for 3; shard_index_of parses it (nullopt when malformed).
std::string shard_id(int shard_index);
std::optional<int> shard_index_of(std::string_view shard_id);

// True when decimal sequence number `a` comes before `b` (numerically: a shorter one is smaller,
// equal lengths compare as text). Both must be sequence numbers of one shard; never throws.
bool sequence_number_less(std::string_view a, std::string_view b);

// ---- Records, positions, results ------------------------------------------------------------

struct PutRecord {
  std::string partition_key;                     // 1..256 bytes
  std::string data;                              // 0..1 MiB
  std::optional<std::string> explicit_hash_key;  // decimal 0..2^128-1; routes instead of the key's MD5
};

struct PutResult {
  std::string shard_id;
  std::string sequence_number;
};

struct Record {
  std::string sequence_number;
  TimePoint arrival;  // ApproximateArrivalTimestamp
  std::string partition_key;
  std::string data;
};

enum class IteratorType { kTrimHorizon, kLatest, kAtSequenceNumber, kAfterSequenceNumber, kAtTimestamp };

// GetShardIterator's arguments.
struct StartingPosition {
  IteratorType type = IteratorType::kTrimHorizon;
  std::string sequence_number;  // for kAtSequenceNumber / kAfterSequenceNumber
  TimePoint timestamp{};        // for kAtTimestamp: the first record with arrival >= timestamp

  static StartingPosition trim_horizon() { return {}; }
  static StartingPosition latest() { return {.type = IteratorType::kLatest}; }
  static StartingPosition at_sequence_number(std::string s) {
    return {.type = IteratorType::kAtSequenceNumber, .sequence_number = std::move(s)};
  }
  static StartingPosition after_sequence_number(std::string s) {
    return {.type = IteratorType::kAfterSequenceNumber, .sequence_number = std::move(s)};
  }
  static StartingPosition at_timestamp(TimePoint t) {
    return {.type = IteratorType::kAtTimestamp, .timestamp = t};
  }
};

// Where a reader is in one shard of one stream: an opaque token (Kinesis: ShardIterator) that only
// the stream that made it can read. A default-constructed Position is empty and every read refuses it.
class Position {
 public:
  Position() = default;

  // A token as the stream handed it out (through token()) and as a client sent it back. Nothing is
  // checked here: read() checks it and throws Error when it is not one of its stream's.
  static Position from_token(std::string token) { return Position(std::move(token)); }

  // The token to hand to a client (printable ASCII, at most 512 characters as a Kinesis iterator).
  const std::string& token() const { return token_; }
  bool empty() const { return token_.empty(); }
  bool operator==(const Position&) const = default;

 private:
  explicit Position(std::string token) : token_(std::move(token)) {}
  std::string token_;
};

struct ReadResult {
  std::vector<Record> records;
  Position next;               // read from here to continue
  uint64_t behind_latest = 0;  // acknowledged records after the last one returned (0 when unknown)
};

// What DescribeStream tells of a shard. Fields a back-end does not know are empty or 0.
struct ShardDescription {
  std::string shard_id;
  std::string starting_hash_key;  // decimal
  std::string ending_hash_key;
  std::optional<std::string> first_sequence_number;  // oldest retained record (none when empty)
  std::optional<std::string> last_sequence_number;   // newest acknowledged record (none when unknown)
  uint64_t bytes = 0;                                // bytes held (local: its segment files' sizes)
  uint64_t records_approx = 0;                       // records held, approximately
  size_t segments = 0;                               // local back-end only: its segment files
};

struct StreamDescription {
  std::string name;
  StreamConfig config;
  std::vector<ShardDescription> shards;
};

// ---- Stream ----------------------------------------------------------------------------------

// A stream of any back-end. Every method is thread-safe.
class Stream {
 public:
  // Limits of one read() when the caller gives none.
  static constexpr size_t kDefaultReadRecords = 10000;
  static constexpr size_t kDefaultReadBytes = 10ull << 20;

  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // The configuration the stream was opened or created with. Never throws.
  virtual const StreamConfig& config() const = 0;
  // Its name (config().name). Never throws.
  const std::string& name() const { return config().name; }

  // PutRecords, all or nothing: appends a batch and returns each record's shard and sequence number,
  // in order, once durable as the back-end promises. Records of one shard get increasing sequence
  // numbers in batch order. Throws Error naming the record index when a record is invalid (key of
  // 1..256 bytes, data up to 1 MiB, explicit hash key), Throttled under back-pressure, SystemError
  // when the system failed (disk full, I/O error; retry later), StreamNotFound when the stream was
  // deleted. Whatever it throws, nothing of the batch is visible or kept.
  virtual std::vector<PutResult> put(std::span<const PutRecord> records) = 0;

  // GetShardIterator: the position in `shard_id` that `start` names. Throws Error for an unknown
  // shard or a sequence number of another shard or not yet written, Trimmed when the sequence number
  // is older than the oldest retained record, StreamNotFound when the stream was deleted.
  virtual Position position(std::string_view shard_id, const StartingPosition& start) const = 0;

  // GetRecords: up to max_records (>= 1) acknowledged records from `position` on, with at most
  // max_bytes of keys + data — except that a record larger than max_bytes comes alone, so that every
  // record can be read — and the position to continue from. Never waits for new records. Throws
  // Error when the position is empty, malformed, altered, another stream's or past the newest record,
  // Trimmed when retention has removed it, StreamNotFound when the stream was deleted.
  ReadResult read(const Position& position, size_t max_records = kDefaultReadRecords,
                  size_t max_bytes = kDefaultReadBytes) const {
    return read_records(position, max_records, max_bytes);
  }

  // Removes what retention no longer keeps (records older than now - config().retention; a back-end
  // may keep more, never less). Returns how many units (local: segment files) were removed; a
  // back-end whose service trims by itself returns 0. Throws Error when a removal failed.
  virtual size_t enforce_retention(TimePoint now) = 0;

  // DescribeStream: the name, configuration and shards. Throws only what the back-end's service does.
  virtual StreamDescription describe() const = 0;

 protected:
  Stream() = default;
  // read() without its default arguments (one place for them).
  virtual ReadResult read_records(const Position& position, size_t max_records, size_t max_bytes) const = 0;
};

// ---- Consumer checkpoints --------------------------------------------------------------------

// Where a consumer (a delivery stream, an application) got to in each shard: the sequence number of
// the last record it has fully processed. Resume with AFTER_SEQUENCE_NUMBER.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // The consumer's checkpoint in that shard, nullopt when it has none. Throws what the store throws
  // (SystemError for a full disk or an I/O error).
  virtual std::optional<std::string> load(std::string_view stream, std::string_view consumer,
                                          std::string_view shard_id) = 0;
  // Replaces the consumer's checkpoint in that shard; durable when it returns. Throws as load().
  virtual void save(std::string_view stream, std::string_view consumer, std::string_view shard_id,
                    std::string_view sequence_number) = 0;
};

// For tests and single-process use: forgets everything when destroyed.
class InMemoryCheckpointStore : public CheckpointStore {
 public:
  std::optional<std::string> load(std::string_view stream, std::string_view consumer,
                                  std::string_view shard_id) override;
  void save(std::string_view stream, std::string_view consumer, std::string_view shard_id,
            std::string_view sequence_number) override;

 private:
  std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> checkpoints_;  // stream \0 consumer \0 shard -> seq
};

}  // namespace sluice::stream
