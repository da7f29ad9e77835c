// Small durable-file helpers shared by every component that writes to the data directory.
#pragma once

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

// fsync a directory so that entries created, renamed or removed in it survive a crash.
void fsync_dir(const std::filesystem::path& dir);

// create_directories + fsync of every directory it created and of the parent of the first.
void create_directories_durable(const std::filesystem::path& dir);

// Whole file as bytes. Throws sluice::Error naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Prefix used for temporary files written by write_file_atomic; readers and listings skip names
// that start with it.
inline constexpr std::string_view kTempPrefix = ".sluice-tmp-";

}  // namespace sluice::fs
