#include "stream/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/crc32c.h"
#include "common/error.h"

namespace sluice::stream::internal {
namespace {

// Reads well beyond one frame so that scanning 200-byte records costs one pread per chunk.
constexpr size_t kReadChunk = 256 * 1024;

void put_u16(char* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint16_t get_u16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[1]) << 8);
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}

// The CRC covers the length field too, so that a corrupted length that happens to frame other bytes
// is caught by the same check.
uint32_t frame_crc(const char* frame, uint32_t length) {
  uint32_t crc = crc32c::extend(0, frame, 4);
  return crc32c::mask(crc32c::extend(crc, frame + kPrefixBytes, length));
}

}  // namespace

void encode_record(std::string& out, uint64_t offset, int64_t arrival_ms, std::string_view key,
                   std::string_view data) {
  const size_t start = out.size();
  const auto length = static_cast<uint32_t>(kFixedAfterCrc + key.size() + data.size());
  out.resize(start + kFixedBytes);
  char* h = out.data() + start;
  put_u32(h, length);
  put_u64(h + 8, offset);
  put_u64(h + 16, static_cast<uint64_t>(arrival_ms));
  put_u16(h + 24, static_cast<uint16_t>(key.size()));
  out.append(key);
  out.append(data);
  h = out.data() + start;  // append may have moved the buffer
  put_u32(h + 4, frame_crc(h, length));
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

void FileDescriptor::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int pwrite_all(int fd, std::string_view data, uint64_t byte) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(byte));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
    byte += static_cast<uint64_t>(n);
  }
  return 0;
}

int datasync(int fd) { return ::fdatasync(fd) == 0 ? 0 : errno; }

int fsync_directory(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  return ::fsync(fd.get()) == 0 ? 0 : errno;
}

size_t pread_some(int fd, char* out, size_t n, uint64_t byte, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(byte + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      const std::string message = "cannot read " + path.string() + " at byte " + std::to_string(byte + done) +
                                  ": " + std::strerror(error);
      if (is_system_errno(error)) throw SystemError(message);
      throw Error(message);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

SegmentScanner::SegmentScanner(int fd, std::filesystem::path path, uint64_t begin, uint64_t end,
                               uint64_t expected_offset, BadRangeCallback on_bad)
    : fd_(fd),
      path_(std::move(path)),
      pos_(begin),
      end_(end),
      expected_(expected_offset),
      on_bad_(std::move(on_bad)) {}

const char* SegmentScanner::bytes(uint64_t byte, size_t n) {
  if (byte > end_ || n > end_ - byte) return nullptr;
  if (byte >= buffer_start_ && byte + n <= buffer_start_ + buffer_.size()) {
    return buffer_.data() + (byte - buffer_start_);
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kReadChunk), end_ - byte));
  buffer_.resize(want);
  const size_t got = pread_some(fd_, buffer_.data(), want, byte, path_);
  buffer_.resize(got);
  buffer_start_ = byte;
  // The file is shorter than the caller said (it was truncated under us): treat as the end.
  if (got < n) return nullptr;
  return buffer_.data();
}

std::optional<DecodedRecord> SegmentScanner::try_decode(uint64_t byte, uint64_t max_offset) {
  const char* h = bytes(byte, kFixedBytes);
  if (h == nullptr) return std::nullopt;
  const uint32_t length = get_u32(h);
  if (length < kFixedAfterCrc + 1 || length > kMaxFrameBytes - kPrefixBytes) return std::nullopt;
  const uint16_t key_len = get_u16(h + 24);
  if (key_len < 1 || key_len > kMaxKeyBytes || kFixedAfterCrc + key_len > length) return std::nullopt;
  const uint64_t offset = get_u64(h + 8);
  if (offset < expected_ || offset > max_offset) return std::nullopt;
  const char* f = bytes(byte, kPrefixBytes + length);
  if (f == nullptr) return std::nullopt;
  if (get_u32(f + 4) != frame_crc(f, length)) return std::nullopt;
  DecodedRecord r;
  r.offset = offset;
  r.arrival_ms = static_cast<int64_t>(get_u64(f + 16));
  r.key = std::string_view(f + kFixedBytes, key_len);
  r.data = std::string_view(f + kFixedBytes + key_len, length - kFixedAfterCrc - key_len);
  r.byte = byte;
  r.frame_bytes = kPrefixBytes + length;
  return r;
}

std::optional<DecodedRecord> SegmentScanner::decode_at_begin() {
  auto r = try_decode(pos_, expected_);
  if (r) {
    pos_ += r->frame_bytes;
    expected_ = r->offset + 1;
  }
  return r;
}

std::optional<DecodedRecord> SegmentScanner::next() {
  if (pos_ >= end_) return std::nullopt;
  if (auto r = try_decode(pos_, expected_)) {
    pos_ += r->frame_bytes;
    expected_ = r->offset + 1;
    return r;
  }
  // Bad bytes at pos_: look for the next good record at every later byte. Records lost in between
  // took at least kMinFrameBytes each, which bounds the offset a genuine next record can have.
  const uint64_t bad = pos_;
  for (uint64_t candidate = bad + 1; candidate + kMinFrameBytes <= end_; ++candidate) {
    const uint64_t max_offset = expected_ + (candidate - bad) / kMinFrameBytes;
    if (auto r = try_decode(candidate, max_offset)) {
      if (on_bad_) on_bad_(bad, candidate - bad, false);
      pos_ = candidate + r->frame_bytes;
      expected_ = r->offset + 1;
      return r;
    }
  }
  if (on_bad_) on_bad_(bad, end_ - bad, true);
  pos_ = end_;
  return std::nullopt;
}

}  // namespace sluice::stream::internal
