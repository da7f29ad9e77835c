// sluice::stream::LocalStream — the local back-end of stream::Stream (stream/stream.h): a durable,
// sharded, append-only log on local disk, with Kinesis's hash-key routing, sequence numbers,
// iterators and retention.
//
// Layout on disk (root is <data dir>/streams):
//
//   <root>/<stream>/stream.meta                        "shards=<n>\n", written atomically at creation
//   <root>/<stream>/stream.config                      only for a stream created at run time
//                                                      (StreamStore::create, stream/stream_store.h)
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
//
// Positions (stream::Position) are 33 + name-length bytes as base64url without padding (at most 215
// characters):
//   'L' 1 | name length u8 | name | shard u16 | offset u64 | hint segment u64 | hint byte u64 |
//   crc u32 (crc32c::mask of the CRC-32C of every byte before it), integers little-endian.
// The checksum and the name make read() refuse a token that was damaged, edited by hand or made by
// another stream with a clear Error. They are not a secret: a well-formed position can only name a
// place in this stream, which read() checks like any other (the hint is never trusted).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stream/stream.h"

namespace sluice::stream {

// Sequence numbers of the local back-end (format above).
struct SequenceNumber {
  int shard = 0;
  uint64_t offset = 0;
};
// Formats offset `offset` of shard `shard_index`; never throws.
std::string format_sequence_number(int shard_index, uint64_t offset);
// Parses a local sequence number; nullopt unless it is 25 digits of the format above.
std::optional<SequenceNumber> parse_sequence_number(std::string_view text);

// What a LocalStream's Position holds: the next offset a reader wants in a shard. The segment/byte
// fields are a hint that lets a continuing read skip the index lookup; any values are safe (a wrong
// hint is ignored), so a position may come back from a client.
struct ShardPosition {
  int shard = 0;
  uint64_t offset = 0;
  uint64_t hint_segment = UINT64_MAX;  // first offset of the segment the hint is in
  uint64_t hint_byte = 0;              // byte in that segment where record `offset` should start
};

// What recovery (or a later read of an old segment) found wrong in a segment file.
struct CorruptionReport {
  std::string shard_id;
  std::filesystem::path file;
  uint64_t byte = 0;       // where the bad bytes start
  uint64_t length = 0;     // how many bytes were skipped or truncated
  bool truncated = false;  // true: a torn tail, cut off; false: skipped, later records kept
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

// ---- LocalStream -----------------------------------------------------------------------------

class LocalStream final : public Stream {
 public:
  // Opens the stream in `dir` (creating it durably when absent), checks the persisted shard count,
  // recovers each shard's last segment and starts the writer thread. Throws Error on a bad config,
  // a shard-count mismatch, or an unreadable directory.
  LocalStream(std::filesystem::path dir, StreamConfig config, StreamHooks hooks = {});
  // Drains what is queued, syncs, stops the writer.
  ~LocalStream() override;

  const StreamConfig& config() const override;

  // Stream::put. Also throws SystemError when the disk is below min_free_bytes or a write, sync or
  // segment creation failed (the batch was rolled back: see "Failures" above), Error when the stream
  // is closing.
  std::vector<PutResult> put(std::span<const PutRecord> records) override;

  // Stream::position, as a token of this stream.
  Position position(std::string_view shard_id, const StartingPosition& start) const override;

  // Deletes, oldest first, each shard's segments whose newest record arrived before now - retention;
  // never a shard's active (last) segment. Returns how many segment files were deleted.
  size_t enforce_retention(TimePoint now) override;

  // The retention enforce_retention applies now: config().retention until set_retention changed it
  // (config() keeps what the stream was opened with; describe() reports this one). Never throws.
  std::chrono::milliseconds retention() const;
  // Changes the retention at run time (in memory only: StreamStore::set_retention persists it); the
  // next enforce_retention uses it. Throws Error unless `retention` is positive.
  void set_retention(std::chrono::milliseconds retention);

  // Stream::describe, with the segment files' bytes and count (config.retention is retention()).
  StreamDescription describe() const override;

  // Bad bytes found in segment files so far (recovery at open, later reads of older segments).
  std::vector<CorruptionReport> corruption_reports() const;

  // What a position of this stream holds. Throws Error (naming the stream) when the token is empty,
  // malformed, altered or another stream's; the shard and offset are checked by read(), not here.
  ShardPosition shard_position(const Position& position) const;
  // The token of a place in this stream (any values: read() checks them). Never throws.
  Position position_token(const ShardPosition& position) const;

  // Retires the stream before its files are deleted (StreamStore::remove): waits for the groups
  // already queued, stops the writer, and makes every later put, position and read throw
  // StreamNotFound ("was deleted"). Idempotent; never throws.
  void close();

 protected:
  ReadResult read_records(const Position& position, size_t max_records, size_t max_bytes) const override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::stream
