// Internal to sluice_stream: the record framing of a segment file (described in stream/local_stream.h),
// file-descriptor helpers, and the scanner that reads records back and steps over bad bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "stream/stream.h"

namespace sluice::stream::internal {

inline constexpr size_t kPrefixBytes = 8;                             // length + crc
inline constexpr size_t kFixedBytes = 26;                             // prefix + offset + arrival + key_len
inline constexpr size_t kFixedAfterCrc = kFixedBytes - kPrefixBytes;  // 18, counted in `length`
inline constexpr size_t kMaxKeyBytes = kMaxPartitionKeyBytes;
inline constexpr size_t kMaxDataBytes = kMaxRecordDataBytes;
inline constexpr size_t kMinFrameBytes = kFixedBytes + 1;  // a key has at least one byte
inline constexpr size_t kMaxFrameBytes = kFixedBytes + kMaxKeyBytes + kMaxDataBytes;

inline size_t frame_bytes(size_t key_bytes, size_t data_bytes) {
  return kFixedBytes + key_bytes + data_bytes;
}

// Appends one framed record to `out`.
void encode_record(std::string& out, uint64_t offset, int64_t arrival_ms, std::string_view key,
                   std::string_view data);

// Owns a file descriptor; closes it on every path out of a scope.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// All of `data` at `byte`, retrying short writes and EINTR. Returns 0, or the errno of the call that
// failed — by then a prefix of `data` may be in the file (a disk that fills up mid-write).
int pwrite_all(int fd, std::string_view data, uint64_t byte);
// fdatasync of a file, or fsync of a directory opened read-only (fsync_directory). Return 0 or errno.
int datasync(int fd);
int fsync_directory(const std::filesystem::path& dir);
// Up to `n` bytes at `byte` (fewer only at end of file); throws Error naming the file.
size_t pread_some(int fd, char* out, size_t n, uint64_t byte, const std::filesystem::path& path);

struct DecodedRecord {
  uint64_t offset = 0;
  int64_t arrival_ms = 0;
  std::string_view key;   // valid until the scanner's next call
  std::string_view data;  // likewise
  uint64_t byte = 0;      // where the frame starts
  uint64_t frame_bytes = 0;
};

// Reads the records of [begin, end) of a segment file, in order. `expected_offset` is the offset the
// record at `begin` should have. A record is accepted only when its frame is well-formed, its CRC
// matches and its offset is the expected one — or, after bad bytes, above the last accepted one by
// no more than the bad bytes could have held (kMinFrameBytes each). Bad bytes are passed to
// `on_bad(byte, length, at_end)`: at_end is true when nothing good follows them before `end`.
class SegmentScanner {
 public:
  using BadRangeCallback = std::function<void(uint64_t byte, uint64_t length, bool at_end)>;

  SegmentScanner(int fd, std::filesystem::path path, uint64_t begin, uint64_t end, uint64_t expected_offset,
                 BadRangeCallback on_bad = {});

  // The next good record, or nullopt at `end`.
  std::optional<DecodedRecord> next();
  // Decodes exactly at `begin` without searching; nullopt when no good record with the expected offset
  // starts there. Used to check a position hint.
  std::optional<DecodedRecord> decode_at_begin();

  uint64_t position() const { return pos_; }  // after the last record returned (or `end`)

 private:
  const char* bytes(uint64_t byte, size_t n);  // nullptr when [byte, byte + n) passes `end`
  std::optional<DecodedRecord> try_decode(uint64_t byte, uint64_t max_offset);

  int fd_;
  std::filesystem::path path_;
  uint64_t pos_;
  uint64_t end_;
  uint64_t expected_;
  BadRangeCallback on_bad_;
  std::string buffer_;
  uint64_t buffer_start_ = 0;
};

}  // namespace sluice::stream::internal
