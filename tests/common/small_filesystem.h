// Test helper: a tmpfs of a given size mounted on a fresh directory, to run a component out of disk
// space for real (ENOSPC from write(2), a statvfs that says so) without touching the machine's disk.
//
//   testing_util::SmallFilesystem small(1 << 20);
//   if (!small.available()) GTEST_SKIP() << small.reason();
//   small.fill(8 * 1024);  // leave about 8 KiB free
//   ...                    // writes under small.path() now fail with ENOSPC
//   small.release();       // the space is back
//
// Mounting needs root (CAP_SYS_ADMIN); elsewhere available() is false and reason() says why. The
// file system is unmounted (lazily, if a file in it is still open) and its directory removed when
// the helper is destroyed.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace sluice::testing_util {

class SmallFilesystem {
 public:
  // Mounts a tmpfs of `size_bytes` (rounded up to pages by the kernel) on a new directory under
  // $TMPDIR. Never throws: a failure is reported by available() and reason().
  explicit SmallFilesystem(uint64_t size_bytes) {
    std::string dir = (std::filesystem::temp_directory_path() / "sluice-smallfs-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      reason_ = "cannot create a directory for the tmpfs: " + std::string(std::strerror(errno));
      return;
    }
    path_ = dir;
    if (::geteuid() != 0) {
      reason_ = "mounting a tmpfs of " + std::to_string(size_bytes) + " bytes needs root";
      return;
    }
    const std::string options = "size=" + std::to_string(size_bytes) + ",mode=0755";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      reason_ = "cannot mount a tmpfs on " + path_.string() + ": " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }

  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  ~SmallFilesystem() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);  // only the empty mount point once unmounted
    }
  }

  // True when the tmpfs is mounted; otherwise reason() says why (for GTEST_SKIP()).
  bool available() const { return mounted_; }
  const std::string& reason() const { return reason_; }

  // The mount point; tests create what they need under it.
  const std::filesystem::path& path() const { return path_; }

  // Bytes available in the file system (statvfs f_bavail * f_frsize), 0 when it cannot be asked.
  uint64_t free_bytes() const {
    struct statvfs st {};
    if (::statvfs(path_.c_str(), &st) != 0) return 0;
    return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }

  // Grows a filler file until at most `leave_free_bytes` are available (tmpfs counts whole pages, so
  // a little less may be left). Returns the bytes available afterwards. May be called again.
  uint64_t fill(uint64_t leave_free_bytes) {
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return free_bytes();
    const std::vector<char> zeros(64 * 1024, '\0');
    for (uint64_t free = free_bytes(); free > leave_free_bytes; free = free_bytes()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), free - leave_free_bytes));
      if (::write(fd, zeros.data(), n) <= 0) break;  // ENOSPC: it is full
    }
    ::close(fd);
    return free_bytes();
  }

  // Deletes the filler file: the space taken by fill() is available again.
  void release() {
    std::error_code ec;
    std::filesystem::remove(filler(), ec);
  }

 private:
  std::filesystem::path filler() const { return path_ / ".filler"; }

  std::filesystem::path path_;
  std::string reason_;
  bool mounted_ = false;
};

}  // namespace sluice::testing_util
