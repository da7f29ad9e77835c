// Small durable-file helpers shared by every component that writes to the data directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sluice::fs {

// Writes `data` to `path` so that a reader sees either the old file or the whole new one, never a
// part: write to a unique temporary file beside it, fsync it, rename over `path`, fsync the directory.
// Parent directories are created (and fsynced) as needed. Throws sluice::Error with the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

// The two halves of write_file_atomic, for callers that must act between them (record an event,
// inject a crash in a test): write `data` to a new temporary file in `dir` and fdatasync it; then
// rename it over `path` (in the same directory) and fsync the directory.
std::filesystem::path write_temp_file(const std::filesystem::path& dir, std::string_view data);
void rename_durable(const std::filesystem::path& temp, const std::filesystem::path& path);

// A new temporary file in `dir` (created with kTempPrefix), written in pieces through a buffer,
// then synced and handed over with release_synced(); destroyed before that, it is closed and
// removed. Errors throw SystemError for the system's failures (disk full, EIO), Error otherwise,
// naming the file.
class TempFileWriter {
 public:
  explicit TempFileWriter(const std::filesystem::path& dir, size_t buffer_bytes = 1 << 20);
  ~TempFileWriter();
  TempFileWriter(const TempFileWriter&) = delete;
  TempFileWriter& operator=(const TempFileWriter&) = delete;

  void write(std::string_view data);
  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }
  // Flushes, fdatasyncs and closes the file, and gives it up: the caller renames (rename_durable)
  // or removes it. Throws on failure, removing the file.
  std::filesystem::path release_synced();

 private:
  void flush();
  void write_all(std::string_view data);
  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;
  size_t buffer_bytes_;
  uint64_t size_ = 0;
};

// fsync a directory so that entries created, renamed or removed in it survive a crash.
void fsync_dir(const std::filesystem::path& dir);

// create_directories + fsync of every directory it created and of the parent of the first.
void create_directories_durable(const std::filesystem::path& dir);

// Whole file as bytes. Throws sluice::Error naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Bytes [offset, offset + length) of a file, fewer at its end, none past it. Throws like read_file.
std::string read_file_range(const std::filesystem::path& path, uint64_t offset, uint64_t length);

// Prefix used for temporary files written by write_file_atomic; readers and listings skip names
// that start with it.
inline constexpr std::string_view kTempPrefix = ".sluice-tmp-";

}  // namespace sluice::fs
