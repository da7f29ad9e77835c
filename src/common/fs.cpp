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

std::string errno_text() { return std::strerror(errno); }

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
  // Closes now and reports a failure (close can report deferred write errors).
  bool close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

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
  if (fd.get() < 0) throw Error("cannot open directory " + dir.string() + ": " + errno_text());
  if (::fsync(fd.get()) != 0) throw Error("cannot fsync directory " + dir.string() + ": " + errno_text());
}

void create_directories_durable(const std::filesystem::path& dir) {
  std::filesystem::path existing = dir;
  while (!existing.empty() && !std::filesystem::exists(existing)) existing = existing.parent_path();
  std::error_code ec;
  if (!std::filesystem::create_directories(dir, ec) && ec) {
    throw Error("cannot create directory " + dir.string() + ": " + ec.message());
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
  if (!std::filesystem::is_directory(dir)) create_directories_durable(dir);
  const auto tmp = dir / (std::string(kTempPrefix) + unique_suffix());
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw Error("cannot create " + tmp.string() + ": " + errno_text());
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = errno_text();
      ::unlink(tmp.c_str());
      throw Error("cannot write " + tmp.string() + ": " + why);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fdatasync(fd.get()) != 0 || !fd.close()) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw Error("cannot sync " + tmp.string() + ": " + why);
  }
  return tmp;
}

void rename_durable(const std::filesystem::path& temp, const std::filesystem::path& path) {
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(temp.c_str());
    throw Error("cannot rename " + temp.string() + " to " + path.string() + ": " + why);
  }
  fsync_dir(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  rename_durable(write_temp_file(dir, data), path);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path.string() + ": " + errno_text());
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + path.string());
  return out.str();
}

}  // namespace sluice::fs
