// sluice::stream — the replacement for Kinesis Data Streams: a durable, sharded, append-only log on
// local disk, with Kinesis's hash-key routing, sequence numbers, iterators and retention.
//
// Layout on disk (root is <data dir>/streams):
//
//   <root>/<stream>/stream.meta                        "shards=<n>\n", written atomically at creation
//   <root>/<stream>/shardId-000000000000/<offset>.log  one shard's segments, <offset> = 20-digit
//                                                      zero-padded offset of the segment's first record
//
// A segment is a sequence of records, nothing else (no file header, no padding). Each record:
//
//   +---------+---------+----------+-------------+---------+-----------------+------+
//   | length  | crc     | offset   | arrival_ms  | key_len | partition key   | data |
//   | u32     | u32     | u64      | i64         | u16     | key_len bytes   |      |
//   +---------+---------+----------+-------------+---------+-----------------+------+
//    all integers little-endian; the fixed part is 26 bytes.
//
//   length     bytes after the crc field: 18 + key_len + data size (so at most 18 + 256 + 1 MiB)
//   crc        crc32c::mask(CRC-32C of the length field followed by every byte after the crc field)
//   offset     the record's position in its shard: 0, 1, 2, ... with no gaps in what was written
//   arrival_ms milliseconds since the Unix epoch when the writer took the record; never decreases
//              within a shard (a clock that steps back repeats the last value), which is what lets
//              AT_TIMESTAMP and retention work per segment
//   key_len    1..256
//
// Offsets are consecutive within a shard and within a segment, and a segment's records start at the
// offset in its name. The offsets of a truncated tail are given again to the next records (they were
// never acknowledged). A new segment is started when the next record would take the current one past
// segment_bytes (a record larger than that gets a segment of its own); the old segment is fdatasync'd
// before the new file is created and its directory fsync'd, so only a shard's last segment can end in
// a torn record. Recovery (on open) reads each shard's last segment: it keeps every record whose CRC
// is good, skips (and reports) bad bytes that are followed by a good record, and truncates the file
// at the first bad byte that nothing good follows (a torn tail or a zero-filled region) — such bytes
// were never acknowledged. After bad bytes, the next good record is found by trying every byte
// position; a candidate must pass the length and key checks, the CRC, and have an offset above the
// last good one but not further above it than the skipped bytes could have held.
//
// Sequence numbers (what put returns and iterators take) are 25-digit decimal strings
//   "1" + 4-digit zero-padded shard index + 20-digit zero-padded offset,
// e.g. "1000200000000000000000017" is offset 17 of shardId-000000000002. They are unique within a
// stream, increase with each record of a shard, compare correctly as strings (equal length), and never
// start with 0 (Kinesis's pattern is 0|([1-9]\d{0,128})).
//
// Writing: put() hands a batch to the stream's writer thread, which takes everything queued (from all
// callers), writes it with one write per shard, then makes it durable as the FsyncPolicy says, and
// only then returns to the callers and lets readers see it (group commit). Reading uses pread on
// separate descriptors and never blocks the writer for more than a few instructions.
//
// Failures (disk full, quota, I/O errors). When any write, fdatasync or segment creation of a group
// fails, the group is rolled back before any of its callers is answered: segment files the group
// created are unlinked (newest first, then their directory is fsync'd), every shard it touched is
// truncated back to its last acknowledged byte and fdatasync'd, and the writer's state (active
// segment, next offset, index, arrival times) is what it was before the group. Every caller of the
// group gets SystemError naming the shard and the OS's reason; the stream is not latched: the next put
// tries again and succeeds as soon as the cause has gone. If the rollback itself fails (EIO on
// ftruncate), every later put first tries the rollback again and is refused with SystemError while
// it still fails, so that nothing is ever acknowledged behind bytes that were not removed (their
// offsets would be given again, and recovery would then cut the acknowledged records off as a bad
// tail). put() also refuses a batch before writing anything when the file system holding the stream
// has less than min_free_bytes available.
//
// What a crash does to this. A crash after a group's bytes reached a segment and before its rollback
// completed can bring the group's records back at the next open: they are whole frames with good
// CRCs and contiguous offsets, so recovery keeps them. Usually no caller had been answered yet (the
// rollback runs before the answer), so for their clients the outcome was unknown, as for any put
// whose answer is lost. But when the rollback failed, its callers were answered with SystemError while
// the bytes stayed on disk (the error says so), and a crash before a later retry of the rollback
// succeeds brings back records that were answered as not written; a client that retried them then
// has them twice. Once a rollback has completed (the truncation's fdatasync returned), they cannot
// come back. The order of the rollback (unlink the new segments and fsync their directory, then
// truncate) keeps the offsets on disk contiguous at every point, so a crash in the middle of it never
// loses acknowledged records. Under kInterval, a failed background fdatasync is logged and retried at
// the next interval; as Linux may forget the failed pages' error, acknowledged-but-unsynced records
// can then be lost by a crash, within what that policy already allows.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/time.h"

namespace sluice::stream {

// The documented contract of a stream. Only `shards` is persisted (stream.meta); the other fields
// may change between runs.
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

// No stream of that name (Kinesis: ResourceNotFoundException).
class StreamNotFound : public Error {
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

// Sequence numbers (format in the header comment).
struct SequenceNumber {
  int shard = 0;
  uint64_t offset = 0;
};
std::string format_sequence_number(int shard_index, uint64_t offset);
std::optional<SequenceNumber> parse_sequence_number(std::string_view text);

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

// Where a reader is in a shard: the next offset it wants. The segment/byte fields are a hint that
// lets a continuing read skip the index lookup; any values are safe (a wrong hint is ignored), so a
// position may be serialized into an iterator token and come back from a client.
struct ShardPosition {
  int shard = 0;
  uint64_t offset = 0;
  uint64_t hint_segment = UINT64_MAX;  // first offset of the segment the hint is in
  uint64_t hint_byte = 0;              // byte in that segment where record `offset` should start
};

struct ReadResult {
  std::vector<Record> records;
  ShardPosition next;          // read from here to continue
  uint64_t behind_latest = 0;  // acknowledged records after the last one returned
};

// What recovery (or a later read of an old segment) found wrong in a segment file.
struct CorruptionReport {
  std::string shard_id;
  std::filesystem::path file;
  uint64_t byte = 0;       // where the bad bytes start
  uint64_t length = 0;     // how many bytes were skipped or truncated
  bool truncated = false;  // true: a torn tail, cut off; false: skipped, later records kept
};

struct ShardDescription {
  std::string shard_id;
  std::string starting_hash_key;  // decimal
  std::string ending_hash_key;
  std::optional<std::string> first_sequence_number;  // oldest retained record (none when empty)
  std::optional<std::string> last_sequence_number;   // newest acknowledged record
  uint64_t bytes = 0;                                // segment files' sizes
  uint64_t records_approx = 0;                       // from offsets; counts skipped corrupt records
  size_t segments = 0;
};

struct StreamDescription {
  std::string name;
  StreamConfig config;
  std::vector<ShardDescription> shards;
};

// The writer's file operations that StreamHooks::fail_io can make fail.
enum class FileOperation {
  kWrite,          // pwrite of a group's records into a segment
  kSync,           // fdatasync of a segment: a group's commit, the seal of a roll, a rollback
  kCreateSegment,  // a new segment: the file is created, then making it durable (its directory's
                   // fsync) fails, so the file exists and must be removed by the rollback
  kTruncate,       // ftruncate of a rollback
};

// Test hooks. Each may be empty (the default).
struct StreamHooks {
  std::function<TimePoint()> clock;  // arrival times; default now_ms()
  // Called on the writer thread after it took a group from the queue (its bytes still count as
  // pending) and before writing it — lets a test hold the writer to provoke Throttled.
  std::function<void()> before_write;
  // Called on the writer thread after a group was written (write(2)) and before it is synced and
  // acknowledged — lets a test check that readers do not see it yet.
  std::function<void()> after_write;
  // Fault injection without a full disk: called before each FileOperation of the writer on `file`;
  // a non-zero return is an errno the operation then fails with, as if the OS had returned it. A
  // failed kWrite first writes the first half of its bytes, as a disk that fills mid-write does.
  // Called from the writer thread and, for the kSync of a group with several shards, from up to 8
  // threads at once.
  std::function<int(FileOperation operation, const std::filesystem::path& file)> fail_io;
};

// ---- Stream ----------------------------------------------------------------------------------

class Stream {
 public:
  // Opens the stream in `dir` (creating it durably when absent), checks the persisted shard count,
  // recovers each shard's last segment and starts the writer thread. Throws Error on a bad config,
  // a shard-count mismatch, or an unreadable directory.
  Stream(std::filesystem::path dir, StreamConfig config, StreamHooks hooks = {});
  // Drains what is queued, syncs, stops the writer.
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const StreamConfig& config() const;
  const std::string& name() const;

  // Appends a batch; returns each record's shard and sequence number, in order, once durable under
  // the policy. Records of one shard get increasing sequence numbers in batch order. Throws Error
  // naming the record index when a record is invalid, Throttled under back-pressure, SystemError
  // when the disk is below min_free_bytes or a write, sync or segment creation failed (the batch was
  // rolled back: see "Failures" above; retry later), Error when the stream is closing. Whatever it
  // throws, nothing of the batch is visible or kept. Thread-safe.
  std::vector<PutResult> put(std::span<const PutRecord> records);

  // GetShardIterator. Throws Error for an unknown shard or a sequence number of another shard or not
  // yet written, Trimmed when the sequence number is older than the oldest retained record.
  ShardPosition position(std::string_view shard_id, const StartingPosition& start) const;

  // GetRecords: up to max_records (>= 1) acknowledged records from `position` on, with at most
  // max_bytes of keys + data — except that a record larger than max_bytes comes alone, so that every
  // record can be read. Never waits for the writer. Throws Trimmed when retention has removed
  // `position`, Error when the position is past the newest record or names no shard.
  ReadResult read(const ShardPosition& position, size_t max_records = 10000,
                  size_t max_bytes = 10ull << 20) const;

  // Deletes, oldest first, each shard's segments whose newest record arrived before now - retention;
  // never a shard's active (last) segment. Returns how many segment files were deleted.
  size_t enforce_retention(TimePoint now);

  StreamDescription describe() const;
  std::vector<CorruptionReport> corruption_reports() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- StreamStore -----------------------------------------------------------------------------

// All streams of a data directory: <root>/<name> for each config. Streams on disk without a config
// are left alone.
class StreamStore {
 public:
  // Throws Error on a duplicate name or any stream's open error (naming the stream).
  StreamStore(std::filesystem::path root, const std::vector<StreamConfig>& configs, StreamHooks hooks = {});

  Stream& get(std::string_view name);  // throws StreamNotFound
  const Stream& get(std::string_view name) const;
  std::vector<std::string> names() const;
  std::vector<StreamDescription> describe() const;
  size_t enforce_retention(TimePoint now);

 private:
  std::filesystem::path root_;
  std::map<std::string, std::unique_ptr<Stream>, std::less<>> streams_;
};

// ---- Consumer checkpoints --------------------------------------------------------------------

// Where a consumer (a delivery stream, an application) got to in each shard: the sequence number of
// the last record it has fully processed. Resume with AFTER_SEQUENCE_NUMBER.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual std::optional<std::string> load(std::string_view stream, std::string_view consumer,
                                          std::string_view shard_id) = 0;
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
