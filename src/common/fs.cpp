#include "common/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/error.h"

namespace sluice::fs {
namespace {

// Closes a file descriptor on every path out of a scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream out;
  out << ::getpid() << '-' << counter.fetch_add(1) << '-' << std::hex << rng();
  return out.str();
}

}  // namespace

void fsync_dir(const std::filesystem::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno("cannot open directory " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) throw_errno("cannot fsync directory " + dir.string(), errno);
}

void create_directories_durable(const std::filesystem::path& dir) {
  std::filesystem::path existing = dir;
  while (!existing.empty() && !std::filesystem::exists(existing)) existing = existing.parent_path();
  std::error_code ec;
  if (!std::filesystem::create_directories(dir, ec) && ec) {
    throw_errno("cannot create directory " + dir.string(), ec.value());
  }
  // fsync every directory from the first created one's parent down to `dir`.
  std::filesystem::path walk = existing.empty() ? std::filesystem::path(".") : existing;
  fsync_dir(walk);
  auto rel = std::filesystem::relative(dir, walk);
  for (const auto& part : rel) {
    if (part == ".") continue;
    walk /= part;
    fsync_dir(walk);
  }
}

std::filesystem::path write_temp_file(const std::filesystem::path& dir, std::string_view data) {
  TempFileWriter file(dir, 0);  // no buffer: the data is written as it is
  file.write(data);
  return file.release_synced();
}

void rename_durable(const std::filesystem::path& temp, const std::filesystem::path& path) {
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw_errno("cannot rename " + temp.string() + " to " + path.string(), error);
  }
  fsync_dir(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  rename_durable(write_temp_file(dir, data), path);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno("cannot open " + path.string(), errno);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw SystemError("cannot read " + path.string());
  return out.str();
}

std::string read_file_range(const std::filesystem::path& path, uint64_t offset, uint64_t length) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno("cannot open " + path.string(), errno);
  std::string out;
  constexpr uint64_t kStep = 1 << 20;
  while (out.size() < length) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kStep, length - out.size()));
    const size_t at = out.size();
    out.resize(at + want);
    const ssize_t n = ::pread(fd.get(), out.data() + at, want, static_cast<off_t>(offset + at));
    if (n < 0) {
      if (errno == EINTR) {
        out.resize(at);
        continue;
      }
      throw_errno("cannot read " + path.string(), errno);
    }
    out.resize(at + static_cast<size_t>(n));
    if (n == 0) break;
  }
  return out;
}

TempFileWriter::TempFileWriter(const std::filesystem::path& dir, size_t buffer_bytes)
    : buffer_bytes_(buffer_bytes) {
  if (!std::filesystem::is_directory(dir)) create_directories_durable(dir);
  path_ = dir / (std::string(kTempPrefix) + unique_suffix());
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno("cannot create " + path_.string(), errno);
}

TempFileWriter::~TempFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

void TempFileWriter::write(std::string_view data) {
  if (fd_ < 0) throw Error("cannot write " + path_.string() + ": it was already released");
  size_ += data.size();
  if (buffer_.size() + data.size() <= buffer_bytes_) {
    buffer_.append(data);
    return;
  }
  flush();
  if (data.size() >= buffer_bytes_) {
    write_all(data);  // large pieces go straight to the file, without a copy
  } else {
    buffer_.append(data);
  }
}

void TempFileWriter::write_all(std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + path_.string(), errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void TempFileWriter::flush() {
  write_all(buffer_);
  buffer_.clear();
}

std::filesystem::path TempFileWriter::release_synced() {
  flush();
  const int fd = fd_;
  fd_ = -1;
  int error = ::fdatasync(fd) == 0 ? 0 : errno;
  if (::close(fd) != 0 && error == 0) error = errno;  // close can report a deferred write error
  if (error != 0) {
    ::unlink(path_.c_str());
    throw_errno("cannot sync " + path_.string(), error);
  }
  return path_;
}

}  // namespace sluice::fs
