#include "storage/object_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "common/error.h"
#include "storage/md5.h"

namespace sluice::storage {
namespace {

// Copies are named "copy-<serial>-<tail of the key>"; nothing else in the directory is ever removed.
constexpr std::string_view kCopyPrefix = "copy-";
constexpr const char* kLockName = ".lock";
// The most of a key's last segment kept in a copy's name (its extension tells DuckDB the format).
constexpr size_t kNameTailBytes = 80;

std::string where(std::string_view bucket, std::string_view key) {
  return "s3://" + std::string(bucket) + "/" + std::string(key);
}

// The end of the key's last segment, with anything but [A-Za-z0-9._-] replaced: "x.csv.gz" stays.
std::string name_tail(std::string_view key) {
  std::string_view base = key.substr(key.rfind('/') + 1);
  if (base.size() > kNameTailBytes) base = base.substr(base.size() - kNameTailBytes);
  std::string out(base);
  for (char& c : out) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '-' || c == '_';
    if (!plain) c = '_';
  }
  return out;
}

// A new file written in pieces, closed by the destructor; no fsync (nothing in a cache is durable).
class CopyFile {
 public:
  explicit CopyFile(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) throw_errno("cannot create the cached copy " + path.string(), errno);
  }
  ~CopyFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  CopyFile(const CopyFile&) = delete;
  CopyFile& operator=(const CopyFile&) = delete;

  void write(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("cannot write the cached copy " + path_.string(), errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  void close() {
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) throw_errno("cannot write the cached copy " + path_.string(), errno);
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

void remove_file(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);  // a copy that cannot be removed is only wasted space
}

}  // namespace

namespace detail {

// One cached copy.
struct CacheEntry {
  std::string bucket;
  std::string key;
  ObjectInfo info;
  std::filesystem::path path;
  size_t pins = 0;      // handles holding it
  bool cached = false;  // in the index and the LRU list; false once replaced or evicted
  std::list<std::shared_ptr<CacheEntry>>::iterator lru_position;
};

struct ObjectCacheState {
  using Entry = CacheEntry;
  using Stats = ObjectCache::Stats;

  ObjectCacheState(std::filesystem::path dir, uint64_t max, uint64_t piece)
      : directory(std::move(dir)),
        max_bytes(max),
        piece_bytes(piece == 0 ? ObjectCache::kDefaultPieceBytes : piece) {}

  ~ObjectCacheState() {
    for (const auto& [where, entry] : index) remove_file(entry->path);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  // Takes the directory: creates it, locks it, removes the copies a previous process left.
  void take_directory() {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) {
      throw_errno("cannot create the object cache directory " + directory.string(), ec.value());
    }
    const auto lock_path = directory / kLockName;
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) throw_errno("cannot open " + lock_path.string(), errno);
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        throw Error("the object cache directory " + directory.string() + " is in use by another cache");
      throw_errno("cannot lock " + lock_path.string(), errno);
    }
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().starts_with(kCopyPrefix)) remove_file(it->path());
    }
  }

  // A path for a new copy of `key`.
  std::filesystem::path new_copy_path(std::string_view key) {
    std::lock_guard lock(mutex);
    return directory / (std::string(kCopyPrefix) + std::to_string(++serial) + "-" + name_tail(key));
  }

  // The cached copy of the object as `info` describes it, pinned; null when there is none.
  std::shared_ptr<Entry> find(const ObjectInfo& info) {
    std::lock_guard lock(mutex);
    auto it = index.find({info.bucket, info.key});
    if (it == index.end()) return nullptr;
    std::shared_ptr<Entry> entry = it->second;
    struct stat st {};
    if (entry->info.etag != info.etag || entry->info.size != info.size ||
        ::stat(entry->path.c_str(), &st) != 0)
      return nullptr;  // stale (or removed behind the cache's back): the caller fetches a new copy
    lru.splice(lru.begin(), lru, entry->lru_position);
    ++entry->pins;
    ++stats.hits;
    return entry;
  }

  // Adds a verified copy, pinned, in place of any older copy of the object; evicts beyond the budget.
  std::shared_ptr<Entry> install(const ObjectInfo& info, const std::filesystem::path& path) {
    std::lock_guard lock(mutex);
    auto it = index.find({info.bucket, info.key});
    if (it != index.end() && it->second->info.etag == info.etag && it->second->info.size == info.size) {
      remove_file(path);  // another thread fetched the same object meanwhile: keep one copy
      std::shared_ptr<Entry> entry = it->second;
      lru.splice(lru.begin(), lru, entry->lru_position);
      ++entry->pins;
      return entry;
    }
    if (it != index.end()) drop(it->second);
    auto entry = std::make_shared<Entry>();
    entry->bucket = info.bucket;
    entry->key = info.key;
    entry->info = info;
    entry->path = path;
    entry->pins = 1;
    entry->cached = true;
    lru.push_front(entry);
    entry->lru_position = lru.begin();
    index[{info.bucket, info.key}] = entry;
    stats.bytes += info.size;
    ++stats.fetches;
    shrink();
    return entry;
  }

  // A handle let go of `entry`.
  void unpin(const std::shared_ptr<Entry>& entry) {
    std::lock_guard lock(mutex);
    if (--entry->pins > 0) return;
    if (entry->cached) {
      shrink();
    } else {
      remove_file(entry->path);
      stats.bytes -= entry->info.size;
    }
  }

  // Evicts unpinned copies, least recently used first, until the cache is within its budget. Needs
  // the mutex.
  void shrink() {
    for (auto it = lru.end(); stats.bytes > max_bytes && it != lru.begin();) {
      --it;
      if ((*it)->pins > 0) continue;
      std::shared_ptr<Entry> victim = *it;
      it = lru.erase(it);  // the next candidate is before it
      victim->cached = false;
      index.erase({victim->bucket, victim->key});
      remove_file(victim->path);
      stats.bytes -= victim->info.size;
      ++stats.evictions;
    }
  }

  // Takes `entry` out of the cache; its file goes now, or when its last handle goes. Needs the mutex.
  // By value: the index's pointer, which the caller may pass, is erased here.
  void drop(std::shared_ptr<Entry> entry) {
    entry->cached = false;
    lru.erase(entry->lru_position);
    index.erase({entry->bucket, entry->key});
    if (entry->pins == 0) {
      remove_file(entry->path);
      stats.bytes -= entry->info.size;
    }
  }

  const std::filesystem::path directory;
  const uint64_t max_bytes;
  const uint64_t piece_bytes;
  int lock_fd = -1;
  std::mutex mutex;
  std::list<std::shared_ptr<Entry>> lru;  // cached copies, most recently used first
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> index;  // by (bucket, key)
  uint64_t serial = 0;
  Stats stats;
};

}  // namespace detail

namespace {

using detail::CacheEntry;
using detail::ObjectCacheState;

// A handle on a cached copy: the copy stays while it lives.
class CachedCopy : public ReadableObject {
 public:
  CachedCopy(std::shared_ptr<ObjectCacheState> state, std::shared_ptr<CacheEntry> entry)
      : state_(std::move(state)), entry_(std::move(entry)) {}
  ~CachedCopy() override { state_->unpin(entry_); }
  CachedCopy(const CachedCopy&) = delete;
  CachedCopy& operator=(const CachedCopy&) = delete;

  const std::filesystem::path& path() const override { return entry_->path; }
  const ObjectInfo& info() const override { return entry_->info; }

 private:
  std::shared_ptr<ObjectCacheState> state_;
  std::shared_ptr<CacheEntry> entry_;
};

// Copies the object `info` describes into `path` through ranged reads; false (and no file) when the
// bytes are not those of `info` (the object was replaced meanwhile). Throws what the store throws,
// SystemError when the copy cannot be written.
bool fetch_copy(const ObjectStore& store, const ObjectInfo& info, const std::filesystem::path& path,
                uint64_t piece_bytes) {
  bool kept = false;
  struct RemoveUnlessKept {
    const std::filesystem::path& path;
    const bool& kept;
    ~RemoveUnlessKept() {
      if (!kept) remove_file(path);
    }
  } cleanup{path, kept};
  CopyFile file(path);
  Md5 md5;
  uint64_t offset = 0;
  while (offset < info.size) {
    const std::string piece =
        store.get_range(info.bucket, info.key, offset, std::min(piece_bytes, info.size - offset));
    if (piece.empty()) return false;  // shorter than its head said
    md5.update(piece);
    file.write(piece);
    offset += piece.size();
  }
  file.close();
  // A single-part ETag is the MD5 of the bytes; for a multipart one, the size is all there is to check.
  const bool same = is_md5_etag(info.etag) ? md5.hex_digest() == info.etag
                                           : store.get_range(info.bucket, info.key, info.size, 1).empty();
  kept = same;
  return same;
}

}  // namespace

ObjectCache::ObjectCache(std::filesystem::path directory, uint64_t max_bytes, uint64_t piece_bytes)
    : state_(std::make_shared<ObjectCacheState>(std::move(directory), max_bytes, piece_bytes)) {
  state_->take_directory();
}

ObjectCache::~ObjectCache() = default;

std::unique_ptr<ReadableObject> ObjectCache::open(const ObjectStore& store, std::string_view bucket,
                                                  std::string_view key) {
  auto head = [&] {
    auto info = store.head(bucket, key);
    if (!info) throw NotFound("no object " + where(bucket, key));
    if (info->bucket.empty()) info->bucket = std::string(bucket);
    if (info->key.empty()) info->key = std::string(key);
    return std::move(*info);
  };
  ObjectInfo info = head();
  for (int attempt = 0;; ++attempt) {
    if (auto hit = state_->find(info)) return std::make_unique<CachedCopy>(state_, std::move(hit));
    const auto path = state_->new_copy_path(key);
    if (fetch_copy(store, info, path, state_->piece_bytes))
      return std::make_unique<CachedCopy>(state_, state_->install(info, path));
    if (attempt == 1) {
      throw SystemError(where(bucket, key) +
                        " changed while it was being copied for reading, twice in a row");
    }
    {
      std::lock_guard lock(state_->mutex);
      ++state_->stats.refetches;
    }
    info = head();
  }
}

const std::filesystem::path& ObjectCache::directory() const { return state_->directory; }

uint64_t ObjectCache::max_bytes() const { return state_->max_bytes; }

ObjectCache::Stats ObjectCache::stats() const {
  std::lock_guard lock(state_->mutex);
  Stats out = state_->stats;
  out.entries = state_->index.size();
  return out;
}

}  // namespace sluice::storage
