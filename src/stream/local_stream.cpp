// LocalStream: recovery on open, the group-commit writer thread, readers, retention, positions. The
// format and the guarantees are described in stream/local_stream.h.
//
// Threads and locks. Impl::mutex_ guards the put queue and pending_bytes_. Each Shard::mutex
// guards the shard's published state: the list of segments readers may use, each segment's
// visible_bytes, index and arrival times, and visible_end. The writer thread alone owns the rest of a
// Shard (open file, next offset, buffer) and a Segment's written_* fields; it publishes a group under
// the shard mutex only after the group is durable as the policy requires, so readers never see an
// unacknowledged record, and hold that mutex only to copy a few fields.
//
// A failed group is undone by the writer (roll_back) from a snapshot of each shard it touched, taken
// before the shard's first record of the group; what cannot yet be undone on disk waits in repairs_,
// and no group is written until it is done.
#include "stream/local_stream.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <future>
#include <thread>

#include "common/crc32c.h"
#include "common/fs.h"
#include "stream/segment.h"

namespace sluice::stream {
namespace {

using internal::DecodedRecord;
using internal::FileDescriptor;
using internal::SegmentScanner;

// A sparse index entry every 64 KiB of a segment: a positioned read scans at most that much.
constexpr uint64_t kIndexEveryBytes = 64 * 1024;
constexpr int64_t kUnknownArrival = INT64_MIN;
constexpr size_t kSyncThreads = 8;
constexpr std::string_view kMetaFile = "stream.meta";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr size_t kSegmentNameDigits = 20;
constexpr auto kFreeSpaceCacheFor = std::chrono::milliseconds(100);

std::string errno_text() { return std::strerror(errno); }

std::string segment_file_name(uint64_t first_offset) {
  std::string digits = std::to_string(first_offset);
  return std::string(kSegmentNameDigits - digits.size(), '0') + digits + std::string(kSegmentSuffix);
}

std::optional<uint64_t> parse_segment_file_name(const std::string& name) {
  if (name.size() != kSegmentNameDigits + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < kSegmentNameDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(name[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

struct IndexEntry {
  uint64_t offset;     // the record expected at `byte`
  uint64_t byte;       // where a scan may start
  int64_t arrival_ms;  // that record's arrival (kUnknownArrival for the start-of-file entry of recovery)
};

struct Segment {
  Segment(uint64_t first, std::filesystem::path p) : first_offset(first), path(std::move(p)) {}

  const uint64_t first_offset;
  const std::filesystem::path path;

  // Guarded by Shard::mutex.
  uint64_t visible_bytes = 0;  // readers read [0, visible_bytes)
  bool indexed = false;        // `index` and the arrival times cover [0, visible_bytes)
  std::vector<IndexEntry> index;
  int64_t first_arrival_ms = kUnknownArrival;
  int64_t newest_arrival_ms = kUnknownArrival;  // exact once indexed

  // Writer thread only.
  bool published = false;
  uint64_t written_bytes = 0;
  uint64_t last_index_byte = 0;
  std::vector<IndexEntry> unpublished_index;
  int64_t written_first_arrival_ms = kUnknownArrival;
  int64_t written_newest_arrival_ms = kUnknownArrival;

  // Readers open the file on first use, with their own descriptor (pread only).
  std::mutex fd_mutex;
  FileDescriptor read_fd;
  // Serializes the one-time index build of a segment sealed by an earlier run.
  std::mutex index_mutex;
};

struct Shard {
  int index = 0;
  std::string id;
  std::filesystem::path dir;

  mutable std::mutex mutex;
  std::vector<std::shared_ptr<Segment>> segments;  // published, oldest first, never empty
  uint64_t visible_end = 0;                        // one past the newest acknowledged offset

  // Writer thread only (and the constructor, before the writer starts).
  std::shared_ptr<Segment> active;
  FileDescriptor active_fd;
  uint64_t next_offset = 0;
  int64_t last_arrival_ms = kUnknownArrival;
  std::string buffer;                                    // encoded, not yet written
  std::vector<std::shared_ptr<Segment>> group_segments;  // written or created by the current group
  bool dirty = false;                                    // written since the last fdatasync
  bool in_group = false;                                 // has records in the current group
  // The segment that was active when the group began, kept open after the group rolled past it so
  // that a failed group can still truncate it.
  FileDescriptor group_origin_fd;
};

// What a group may change in a shard, as it was before the shard's first record of the group.
struct ShardSnapshot {
  Shard* shard;
  std::shared_ptr<Segment> active;
  uint64_t written_bytes;
  uint64_t last_index_byte;
  int64_t written_first_arrival_ms;
  int64_t written_newest_arrival_ms;
  uint64_t next_offset;
  int64_t last_arrival_ms;
  bool dirty;
};

// The on-disk half of a rollback that has not succeeded yet.
struct Repair {
  Shard* shard;
  uint64_t truncate_to;                       // the active segment's acknowledged bytes
  std::vector<std::filesystem::path> remove;  // segments the failed group created
  bool directory_unsynced = false;            // a file was removed since the last directory fsync
};

struct Request {
  std::span<const PutRecord> records;
  std::vector<int> shard_of;
  std::vector<uint64_t> offsets;  // filled by the writer; the caller formats the results
  size_t bytes = 0;
  bool done = false;
  std::string error;          // set by the writer when the group failed
  bool system_error = false;  // the failure is the system's (disk full, I/O error): SystemError
  std::condition_variable cv;
};

// A segment a read goes through, with the bytes of it that were published when the read began.
struct ReadPart {
  std::shared_ptr<Segment> seg;
  uint64_t visible;
};

// What one read of a shard found: LocalStream::read_records turns `next` into a Position.
struct ShardRead {
  std::vector<Record> records;
  ShardPosition next;
  uint64_t behind_latest = 0;
};

// Why a group was not written; empty when it was.
struct GroupFailure {
  std::string message;
  bool system = false;
};

std::string describe_sequence(const Shard& s, uint64_t offset) {
  return format_sequence_number(s.index, offset);
}

}  // namespace

class LocalStream::Impl {
 public:
  Impl(std::filesystem::path dir, StreamConfig config, StreamHooks hooks);
  ~Impl();

  std::vector<PutResult> put(std::span<const PutRecord> records);
  ShardPosition position(std::string_view shard_id, const StartingPosition& start) const;
  ShardRead read(const ShardPosition& position, size_t max_records, size_t max_bytes) const;
  size_t enforce_retention(TimePoint now);
  void close();
  // Throws StreamNotFound once close() has begun: the stream is being deleted.
  void check_not_deleted() const {
    if (deleted_.load()) throw StreamNotFound(where() + " was deleted");
  }
  StreamDescription describe() const;
  std::vector<CorruptionReport> corruption_reports() const {
    std::lock_guard lock(reports_mutex_);
    return reports_;
  }

  const StreamConfig& config() const { return config_; }
  std::chrono::milliseconds retention() const { return std::chrono::milliseconds(retention_ms_.load()); }
  void set_retention(std::chrono::milliseconds retention) { retention_ms_.store(retention.count()); }

 private:
  std::string where() const { return "stream '" + config_.name + "'"; }
  void check_meta();
  std::unique_ptr<Shard> open_shard(int index);
  void recover_last_segment(Shard& s, const std::shared_ptr<Segment>& seg);
  void create_segment(Shard& s, uint64_t first_offset);
  void report(const Shard& s, const std::filesystem::path& file, uint64_t byte, uint64_t length,
              bool truncated) const;

  void check_free_space();

  // Writer thread.
  void writer_loop();
  GroupFailure run_group(const std::vector<Request*>& group, size_t group_bytes, bool& pending_released);
  void write_group(const std::vector<Request*>& group, size_t group_bytes, bool& pending_released);
  void append_group(const std::vector<Request*>& group, std::vector<ShardSnapshot>& touched);
  void sync_group(const std::vector<ShardSnapshot>& touched);
  std::string roll_back(const std::vector<ShardSnapshot>& touched);
  void run_repairs();
  void roll(Shard& s);
  void flush(Shard& s);
  void sync_dirty();
  void publish(Shard& s);
  int64_t clock_ms() const { return (hooks_.clock ? hooks_.clock() : now_ms()).time_since_epoch().count(); }

  // The writer's file operations, with the test's injected failures (StreamHooks::fail_io). Each
  // throws SystemError (or Error for an errno that is not the system's) naming the shard and file.
  int injected(FileOperation operation, const std::filesystem::path& file) const {
    return hooks_.fail_io ? hooks_.fail_io(operation, file) : 0;
  }
  [[noreturn]] void throw_io(const Shard& s, const std::string& what, int error) const;
  void write_at(const Shard& s, int fd, const std::filesystem::path& file, std::string_view data,
                uint64_t byte) const;
  void sync_file(const Shard& s, int fd, const std::filesystem::path& file) const;

  // Readers.
  const Shard& shard_at(int index) const;
  int reader_fd(Segment& seg) const;
  void ensure_indexed(const Shard& s, Segment& seg) const;
  std::vector<ReadPart> parts_from(const Shard& s, uint64_t target, uint64_t& end) const;
  ShardPosition at_timestamp(const Shard& s, TimePoint t) const;
  // Bad bytes that readers step over in published data (only older segments can have them; they
  // are never truncated there).
  SegmentScanner::BadRangeCallback bad_range_reporter(const Shard& s, const Segment& seg) const {
    return
        [this, &s, &seg](uint64_t byte, uint64_t length, bool) { report(s, seg.path, byte, length, false); };
  }

  const std::filesystem::path dir_;
  const StreamConfig config_;
  // The retention in force: config_.retention until set_retention changes it at run time.
  std::atomic<int64_t> retention_ms_;
  const StreamHooks hooks_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::vector<Request*> queue_;
  size_t pending_bytes_ = 0;
  bool stopping_ = false;
  std::atomic<bool> deleted_{false};  // close() was called: the store is deleting the stream

  // The last statvfs answer for the low-disk threshold (put() callers share it).
  std::mutex free_space_mutex_;
  std::optional<std::chrono::steady_clock::time_point> free_space_checked_;
  uint64_t free_space_bytes_ = 0;

  // Writer thread only.
  std::chrono::steady_clock::time_point last_sync_;
  bool any_dirty_ = false;
  std::vector<Repair> repairs_;  // rollbacks whose disk part failed; retried before each group

  mutable std::mutex reports_mutex_;
  mutable std::vector<CorruptionReport> reports_;
  std::mutex retention_mutex_;
  std::mutex close_mutex_;  // one joins the writer: close() or the destructor

  std::thread writer_;  // last: started when everything else is ready
};

// ---- Open and recovery -----------------------------------------------------------------------

LocalStream::Impl::Impl(std::filesystem::path dir, StreamConfig config, StreamHooks hooks)
    : dir_(std::move(dir)),
      config_(std::move(config)),
      retention_ms_(config_.retention.count()),
      hooks_(std::move(hooks)) {
  validate(config_);
  check_meta();
  for (int i = 0; i < config_.shards; ++i) shards_.push_back(open_shard(i));
  last_sync_ = std::chrono::steady_clock::now();
  writer_ = std::thread([this] { writer_loop(); });
}

LocalStream::Impl::~Impl() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  std::lock_guard join(close_mutex_);
  if (writer_.joinable()) writer_.join();
}

// The writer finishes what is queued (its loop only stops on an empty queue) and syncs, as when the
// stream is destroyed; puts that come later find stopping_ and deleted_ set.
void LocalStream::Impl::close() {
  {
    std::lock_guard lock(mutex_);
    deleted_.store(true);
    stopping_ = true;
  }
  work_cv_.notify_all();
  std::lock_guard join(close_mutex_);
  if (writer_.joinable()) writer_.join();
}

void LocalStream::Impl::check_meta() {
  const auto meta = dir_ / kMetaFile;
  std::error_code ec;
  if (std::filesystem::exists(meta, ec)) {
    const std::string text = fs::read_file(meta);
    int shards = 0;
    if (!text.starts_with("shards=") || std::sscanf(text.c_str() + 7, "%d", &shards) != 1) {
      throw Error(where() + ": " + meta.string() +
                  " is not 'shards=<n>'; it was damaged or not written by sluice");
    }
    if (shards != config_.shards) {
      throw Error(where() + " in " + dir_.string() + " has " + std::to_string(shards) +
                  " shards but the configuration asks for " + std::to_string(config_.shards) +
                  "; resharding is not supported: keep shards: " + std::to_string(shards) +
                  " or use a new stream name");
    }
    return;
  }
  if (std::filesystem::is_directory(dir_ / shard_id(0), ec)) {
    throw Error(where() + ": " + dir_.string() + " has shard directories but no " + std::string(kMetaFile) +
                "; restore it (\"shards=<n>\") or remove the directory");
  }
  fs::create_directories_durable(dir_);
  fs::write_file_atomic(meta, "shards=" + std::to_string(config_.shards) + "\n");
}

void LocalStream::Impl::report(const Shard& s, const std::filesystem::path& file, uint64_t byte,
                               uint64_t length, bool truncated) const {
  {
    // Readers meet the same bad bytes of an old segment on every pass; report them once.
    std::lock_guard lock(reports_mutex_);
    for (const auto& r : reports_) {
      if (r.file == file && r.byte == byte) return;
    }
    reports_.push_back({s.id, file, byte, length, truncated});
  }
  if (truncated) {
    spdlog::warn("{} {}: removed a torn or corrupted tail of {} bytes at byte {} of {} (never acknowledged)",
                 where(), s.id, length, byte, file.string());
  } else {
    spdlog::warn("{} {}: skipped {} corrupted bytes at byte {} of {}; the records after them are kept",
                 where(), s.id, length, byte, file.string());
  }
}

std::unique_ptr<Shard> LocalStream::Impl::open_shard(int index) {
  auto s = std::make_unique<Shard>();
  s->index = index;
  s->id = shard_id(index);
  s->dir = dir_ / s->id;
  std::error_code ec;
  if (!std::filesystem::is_directory(s->dir, ec)) fs::create_directories_durable(s->dir);

  std::vector<std::pair<uint64_t, std::filesystem::path>> files;
  for (const auto& entry : std::filesystem::directory_iterator(s->dir, ec)) {
    if (auto first = parse_segment_file_name(entry.path().filename().string())) {
      files.emplace_back(*first, entry.path());
    }
  }
  if (ec) throw Error(where() + ": cannot list " + s->dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    create_segment(*s, 0);
    publish(*s);
    return s;
  }
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    auto seg = std::make_shared<Segment>(files[i].first, files[i].second);
    seg->visible_bytes = seg->written_bytes = std::filesystem::file_size(seg->path);
    seg->published = true;
    // The first record's arrival bounds the previous segment's newest one, which often spares
    // retention from scanning that segment.
    FileDescriptor fd(::open(seg->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) throw Error(where() + ": cannot open " + seg->path.string() + ": " + errno_text());
    SegmentScanner scanner(fd.get(), seg->path, 0, seg->visible_bytes, seg->first_offset);
    if (auto first = scanner.next()) seg->first_arrival_ms = first->arrival_ms;
    s->segments.push_back(std::move(seg));
  }
  auto last = std::make_shared<Segment>(files.back().first, files.back().second);
  recover_last_segment(*s, last);
  s->segments.push_back(last);
  s->active = last;
  last->published = true;
  s->visible_end = s->next_offset;
  // Arrival times must not go below what an earlier segment holds, even if the clock stepped back
  // while the stream was closed and the last segment is empty.
  if (s->last_arrival_ms == kUnknownArrival && s->segments.size() > 1) {
    auto& prev = *s->segments[s->segments.size() - 2];
    ensure_indexed(*s, prev);
    s->last_arrival_ms = prev.newest_arrival_ms;
  }
  return s;
}

void LocalStream::Impl::recover_last_segment(Shard& s, const std::shared_ptr<Segment>& seg) {
  FileDescriptor fd(::open(seg->path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) throw Error(where() + ": cannot open " + seg->path.string() + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(where() + ": cannot stat " + seg->path.string());
  const auto size = static_cast<uint64_t>(st.st_size);

  struct Bad {
    uint64_t byte, length;
    bool at_end;
  };
  std::vector<Bad> bad;
  SegmentScanner scanner(fd.get(), seg->path, 0, size, seg->first_offset,
                         [&](uint64_t byte, uint64_t length, bool at_end) {
                           bad.push_back({byte, length, at_end});
                         });
  seg->index.push_back({seg->first_offset, 0, kUnknownArrival});
  uint64_t next_offset = seg->first_offset;
  while (auto r = scanner.next()) {
    if (r->byte - seg->index.back().byte >= kIndexEveryBytes)
      seg->index.push_back({r->offset, r->byte, r->arrival_ms});
    if (seg->first_arrival_ms == kUnknownArrival) seg->first_arrival_ms = r->arrival_ms;
    seg->newest_arrival_ms = r->arrival_ms;
    next_offset = r->offset + 1;
  }
  uint64_t good_end = size;
  for (const auto& b : bad) {
    report(s, seg->path, b.byte, b.length, b.at_end);
    if (b.at_end) good_end = b.byte;
  }
  if (good_end < size) {
    if (::ftruncate(fd.get(), static_cast<off_t>(good_end)) != 0) {
      throw_errno(
          where() + ": cannot truncate " + seg->path.string() + " to " + std::to_string(good_end) + " bytes",
          errno);
    }
    if (int error = internal::datasync(fd.get()); error != 0)
      throw_errno(where() + ": cannot fdatasync " + seg->path.string(), error);
  }
  seg->indexed = true;
  seg->visible_bytes = seg->written_bytes = good_end;
  seg->last_index_byte = seg->index.back().byte;
  seg->written_first_arrival_ms = seg->first_arrival_ms;
  seg->written_newest_arrival_ms = seg->newest_arrival_ms;
  s.active_fd = std::move(fd);
  s.next_offset = next_offset;
  s.last_arrival_ms = seg->newest_arrival_ms;
}

// New segments are created durably — the file and its directory entry — before any record of them
// is acknowledged, so recovery always finds the segment an acknowledged record is in. The new
// segment becomes the active one as soon as its file exists, so that a failed group finds it in
// group_segments and removes it.
void LocalStream::Impl::create_segment(Shard& s, uint64_t first_offset) {
  auto path = s.dir / segment_file_name(first_offset);
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) throw_io(s, "cannot create segment " + path.string(), errno);
  auto seg = std::make_shared<Segment>(first_offset, std::move(path));
  seg->indexed = true;  // the writer indexes what it writes
  if (s.active && s.active->published) s.group_origin_fd = std::move(s.active_fd);
  s.active = seg;
  s.active_fd = std::move(fd);
  s.next_offset = first_offset;
  s.group_segments.push_back(seg);
  int error = injected(FileOperation::kCreateSegment, seg->path);
  if (error == 0) error = internal::fsync_directory(s.dir);
  if (error != 0) throw_io(s, "cannot make the new segment " + seg->path.string() + " durable", error);
}

void LocalStream::Impl::throw_io(const Shard& s, const std::string& what, int error) const {
  throw_errno(s.id + ": " + what, error);
}

void LocalStream::Impl::write_at(const Shard& s, int fd, const std::filesystem::path& file,
                                 std::string_view data, uint64_t byte) const {
  int error = injected(FileOperation::kWrite, file);
  if (error != 0) {
    // What a disk that fills mid-write leaves: part of the bytes in the file.
    if (int partial = internal::pwrite_all(fd, data.substr(0, data.size() / 2), byte); partial != 0)
      error = partial;
  } else {
    error = internal::pwrite_all(fd, data, byte);
  }
  if (error != 0) {
    throw_io(s,
             "cannot write " + std::to_string(data.size()) + " bytes at byte " + std::to_string(byte) +
                 " of " + file.string(),
             error);
  }
}

void LocalStream::Impl::sync_file(const Shard& s, int fd, const std::filesystem::path& file) const {
  int error = injected(FileOperation::kSync, file);
  if (error == 0) error = internal::datasync(fd);
  if (error != 0) throw_io(s, "cannot fdatasync " + file.string(), error);
}

// ---- Writing ---------------------------------------------------------------------------------

// Refuses a batch while the disk is below the low-disk threshold. statvfs is asked at most every
// kFreeSpaceCacheFor; when it fails, the check lets the batch through (the write will tell).
void LocalStream::Impl::check_free_space() {
  if (config_.min_free_bytes == 0) return;
  uint64_t free_bytes;
  {
    std::lock_guard lock(free_space_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!free_space_checked_ || now - *free_space_checked_ >= kFreeSpaceCacheFor) {
      struct statvfs st {};
      free_space_bytes_ = ::statvfs(dir_.c_str(), &st) == 0
                              ? static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize)
                              : UINT64_MAX;
      free_space_checked_ = now;
    }
    free_bytes = free_space_bytes_;
  }
  if (free_bytes < config_.min_free_bytes) {
    throw SystemError(where() + ": the disk holding " + dir_.string() + " has " + std::to_string(free_bytes) +
                      " bytes free, below the low-disk threshold of " +
                      std::to_string(config_.min_free_bytes) + " (streams." + config_.name +
                      ".min_free_disk); retry later");
  }
}

std::vector<PutResult> LocalStream::Impl::put(std::span<const PutRecord> records) {
  check_not_deleted();
  if (records.empty()) return {};
  Request request;
  request.records = records;
  request.shard_of.resize(records.size());
  request.offsets.resize(records.size());
  // Validation and MD5 run on the caller's thread, in parallel with other callers.
  for (size_t i = 0; i < records.size(); ++i) {
    const PutRecord& r = records[i];
    auto at = [&] { return where() + ": record " + std::to_string(i) + ": "; };  // only on error
    if (r.partition_key.empty() || r.partition_key.size() > kMaxPartitionKeyBytes) {
      throw Error(at() + "partition key is " + std::to_string(r.partition_key.size()) +
                  " bytes; it must be 1.." + std::to_string(kMaxPartitionKeyBytes) + " bytes");
    }
    if (r.data.size() > kMaxRecordDataBytes) {
      throw Error(at() + "data is " + std::to_string(r.data.size()) + " bytes; the limit is " +
                  std::to_string(kMaxRecordDataBytes) + " (1 MiB)");
    }
    HashKey key;
    if (r.explicit_hash_key) {
      auto parsed = parse_hash_key(*r.explicit_hash_key);
      if (!parsed) {
        throw Error(at() + "explicit hash key '" + r.explicit_hash_key->substr(0, 50) +
                    "' is not a decimal integer in 0..2^128-1");
      }
      key = *parsed;
    } else {
      key = hash_key_for(r.partition_key);
    }
    request.shard_of[i] = shard_for_hash_key(key, config_.shards);
    request.bytes += r.partition_key.size() + r.data.size();
  }
  check_free_space();

  std::unique_lock lock(mutex_);
  if (stopping_) {
    if (deleted_.load()) throw StreamNotFound(where() + " was deleted");
    throw Error(where() + " is closing");
  }
  if (pending_bytes_ > 0 && pending_bytes_ + request.bytes > config_.max_pending_bytes) {
    throw Throttled(where() + ": " + std::to_string(pending_bytes_) +
                    " bytes are waiting to be written (limit " + std::to_string(config_.max_pending_bytes) +
                    "); retry the batch of " + std::to_string(records.size()) + " records later");
  }
  pending_bytes_ += request.bytes;
  queue_.push_back(&request);
  work_cv_.notify_one();
  request.cv.wait(lock, [&] { return request.done; });
  if (!request.error.empty()) {
    const std::string message = where() + ": the batch of " + std::to_string(records.size()) +
                                " records was not written (retry it later): " + request.error;
    if (request.system_error) throw SystemError(message);
    throw Error(message);
  }
  lock.unlock();
  // Formatted here rather than on the writer thread, which every caller waits for.
  std::vector<PutResult> results;
  results.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    results.push_back(
        {shard_id(request.shard_of[i]), format_sequence_number(request.shard_of[i], request.offsets[i])});
  }
  return results;
}

void LocalStream::Impl::writer_loop() {
  std::vector<Request*> group;
  std::unique_lock lock(mutex_);
  for (;;) {
    // kInterval: sync when the interval has passed, also under a steady load of puts.
    if (config_.fsync == StreamConfig::FsyncPolicy::kInterval && any_dirty_ &&
        std::chrono::steady_clock::now() >= last_sync_ + config_.fsync_interval) {
      lock.unlock();
      try {
        sync_dirty();
      } catch (const std::exception& e) {
        spdlog::error("{}: {}; retrying in {} ms", where(), e.what(), config_.fsync_interval.count());
      }
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      if (stopping_) break;
      auto ready = [&] { return !queue_.empty() || stopping_; };
      if (config_.fsync == StreamConfig::FsyncPolicy::kInterval && any_dirty_) {
        work_cv_.wait_until(lock, last_sync_ + config_.fsync_interval, ready);
      } else {
        work_cv_.wait(lock, ready);
      }
      continue;
    }
    group.swap(queue_);
    size_t group_bytes = 0;
    for (const Request* r : group) group_bytes += r->bytes;
    bool pending_released = false;
    lock.unlock();
    const GroupFailure failure = run_group(group, group_bytes, pending_released);
    lock.lock();
    if (!pending_released) pending_bytes_ -= group_bytes;
    for (Request* r : group) {
      r->error = failure.message;
      r->system_error = failure.system;
      r->done = true;
      r->cv.notify_one();  // under mutex_: the caller cannot return (and free r) before we let go
    }
    group.clear();
  }
  lock.unlock();
  // Closing: a last try of a failed rollback, then make everything written durable whatever the policy.
  try {
    run_repairs();
  } catch (const std::exception& e) {
    spdlog::error("{}: closing: {}", where(), e.what());
  }
  try {
    sync_dirty();
  } catch (const std::exception& e) {
    spdlog::error("{}: closing: {}", where(), e.what());
  }
}

// Writes one group unless an earlier rollback is still unfinished on disk; never throws.
GroupFailure LocalStream::Impl::run_group(const std::vector<Request*>& group, size_t group_bytes,
                                          bool& pending_released) {
  try {
    try {
      run_repairs();
    } catch (const std::exception& e) {
      throw SystemError(std::string("the stream refuses writes until the unacknowledged bytes of an earlier "
                                    "failed write are removed, and removing them failed again: ") +
                        e.what());
    }
    if (hooks_.before_write) hooks_.before_write();
    write_group(group, group_bytes, pending_released);
    return {};
  } catch (const SystemError& e) {
    return {e.what(), true};
  } catch (const std::bad_alloc&) {
    return {"out of memory while writing the group", true};
  } catch (const std::exception& e) {
    return {e.what(), false};
  }
}

// Appends, syncs (as the policy says) and publishes a group. On any failure the group is rolled back
// (roll_back) before the failure is rethrown, with what the rollback could not do appended.
void LocalStream::Impl::write_group(const std::vector<Request*>& group, size_t group_bytes,
                                    bool& pending_released) {
  std::vector<ShardSnapshot> touched;
  try {
    append_group(group, touched);
    for (const auto& t : touched) flush(*t.shard);
    if (hooks_.after_write) hooks_.after_write();
    {
      std::lock_guard lock(mutex_);
      pending_bytes_ -= group_bytes;
      pending_released = true;
    }
    if (config_.fsync == StreamConfig::FsyncPolicy::kAlways) sync_group(touched);
  } catch (const std::exception& e) {
    spdlog::error("{}: a write failed, rolling the group back: {}", where(), e.what());
    const std::string rollback_error = roll_back(touched);
    if (rollback_error.empty()) throw;
    spdlog::error("{}: the rollback failed; writes are refused until it succeeds: {}", where(),
                  rollback_error);
    throw SystemError(std::string(e.what()) + "; removing the batch's bytes failed too (" + rollback_error +
                      "), so the stream refuses writes until a retry succeeds, and a crash before that "
                      "may bring the batch back");
  }
  for (const auto& t : touched) {
    publish(*t.shard);
    t.shard->in_group = false;
    t.shard->group_origin_fd.reset();
  }
}

// Encodes the group into the shards' buffers, rolling segments as they fill. Each shard is snapshot
// into `touched` before its first record (and before any roll).
void LocalStream::Impl::append_group(const std::vector<Request*>& group,
                                     std::vector<ShardSnapshot>& touched) {
  const int64_t now = clock_ms();
  for (Request* r : group) {
    for (size_t i = 0; i < r->records.size(); ++i) {
      Shard& s = *shards_[static_cast<size_t>(r->shard_of[i])];
      if (!s.in_group) {
        const Segment& active = *s.active;
        touched.push_back({&s, s.active, active.written_bytes, active.last_index_byte,
                           active.written_first_arrival_ms, active.written_newest_arrival_ms, s.next_offset,
                           s.last_arrival_ms, s.dirty});
        s.in_group = true;
      }
      const PutRecord& rec = r->records[i];
      const uint64_t frame = internal::frame_bytes(rec.partition_key.size(), rec.data.size());
      uint64_t at = s.active->written_bytes + s.buffer.size();
      if (at > 0 && at + frame > config_.segment_bytes) {
        roll(s);
        at = 0;
      }
      Segment& seg = *s.active;
      if (s.group_segments.empty() || s.group_segments.back() != s.active)
        s.group_segments.push_back(s.active);
      const int64_t arrival = std::max(now, s.last_arrival_ms);
      s.last_arrival_ms = arrival;
      if ((seg.index.empty() && seg.unpublished_index.empty()) ||
          at - seg.last_index_byte >= kIndexEveryBytes) {
        seg.unpublished_index.push_back({s.next_offset, at, arrival});
        seg.last_index_byte = at;
      }
      if (seg.written_first_arrival_ms == kUnknownArrival) seg.written_first_arrival_ms = arrival;
      seg.written_newest_arrival_ms = arrival;
      internal::encode_record(s.buffer, s.next_offset, arrival, rec.partition_key, rec.data);
      r->offsets[i] = s.next_offset;
      ++s.next_offset;
    }
  }
}

// One fdatasync per shard covers every caller in the group. With several shards they run side by
// side (up to kSyncThreads at once): the file system commits them together, where one after the
// other would add up. Every lane finishes before the first failure is rethrown, so that nothing
// touches a file while the group is rolled back.
void LocalStream::Impl::sync_group(const std::vector<ShardSnapshot>& touched) {
  const size_t lanes = std::min(touched.size(), kSyncThreads);
  std::vector<std::exception_ptr> failures(lanes);
  auto sync_lane = [&](size_t lane) {
    try {
      for (size_t i = lane; i < touched.size(); i += lanes) {
        const Shard& s = *touched[i].shard;
        sync_file(s, s.active_fd.get(), s.active->path);
      }
    } catch (...) {
      failures[lane] = std::current_exception();
    }
  };
  {
    std::vector<std::future<void>> helpers;  // their destructors wait, also when async throws
    for (size_t lane = 1; lane < lanes; ++lane)
      helpers.push_back(std::async(std::launch::async, sync_lane, lane));
    sync_lane(0);
    for (auto& h : helpers) h.get();
  }
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  for (const auto& t : touched) t.shard->dirty = false;
  any_dirty_ = std::any_of(shards_.begin(), shards_.end(), [](const auto& s) { return s->dirty; });
}

// Puts every touched shard back as its snapshot says, in memory at once and on disk through
// repairs_. Returns why the disk part failed ("" when it is done); never throws.
std::string LocalStream::Impl::roll_back(const std::vector<ShardSnapshot>& touched) {
  for (const auto& t : touched) {
    Shard& s = *t.shard;
    Repair repair{&s, t.written_bytes, {}};
    for (const auto& seg : s.group_segments) {
      if (!seg->published) repair.remove.push_back(seg->path);  // oldest first
    }
    if (s.active != t.active) {
      s.active = t.active;
      s.active_fd = std::move(s.group_origin_fd);
    }
    s.group_origin_fd.reset();
    Segment& seg = *t.active;
    seg.written_bytes = t.written_bytes;
    seg.last_index_byte = t.last_index_byte;
    seg.unpublished_index.clear();
    seg.written_first_arrival_ms = t.written_first_arrival_ms;
    seg.written_newest_arrival_ms = t.written_newest_arrival_ms;
    s.next_offset = t.next_offset;
    s.last_arrival_ms = t.last_arrival_ms;
    s.buffer.clear();
    if (s.buffer.capacity() > 8u << 20) s.buffer.shrink_to_fit();
    s.group_segments.clear();
    s.dirty = t.dirty;
    s.in_group = false;
    repairs_.push_back(std::move(repair));
  }
  any_dirty_ = std::any_of(shards_.begin(), shards_.end(), [](const auto& s) { return s->dirty; });
  try {
    run_repairs();
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

// The disk part of rollbacks: remove the segments a failed group created (and fsync the directory),
// then truncate the active segment back to its acknowledged bytes and fdatasync it. In that order a
// crash at any point leaves contiguous offsets on disk. Throws at the first failure; what is left
// stays queued for the next try.
void LocalStream::Impl::run_repairs() {
  while (!repairs_.empty()) {
    Repair& r = repairs_.back();
    Shard& s = *r.shard;
    // Newest first: what is left on disk is always a prefix of the shard's offsets.
    while (!r.remove.empty()) {
      const auto& file = r.remove.back();
      if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
        throw_io(s, "cannot remove " + file.string() + ", a segment of a failed write", errno);
      }
      r.remove.pop_back();
      r.directory_unsynced = true;
    }
    if (r.directory_unsynced) {
      if (int error = internal::fsync_directory(s.dir); error != 0)
        throw_io(s, "cannot fsync " + s.dir.string() + " after removing a segment of a failed write", error);
      r.directory_unsynced = false;
    }
    int error = injected(FileOperation::kTruncate, s.active->path);
    if (error == 0 && ::ftruncate(s.active_fd.get(), static_cast<off_t>(r.truncate_to)) != 0) error = errno;
    if (error != 0) {
      throw_io(s,
               "cannot truncate " + s.active->path.string() + " back to its " +
                   std::to_string(r.truncate_to) + " acknowledged bytes",
               error);
    }
    sync_file(s, s.active_fd.get(), s.active->path);
    repairs_.pop_back();
  }
}

void LocalStream::Impl::flush(Shard& s) {
  if (s.buffer.empty()) return;
  write_at(s, s.active_fd.get(), s.active->path, s.buffer, s.active->written_bytes);
  s.active->written_bytes += s.buffer.size();
  s.buffer.clear();
  // Keep the buffer for the next group, but not the memory of one exceptionally large group.
  if (s.buffer.capacity() > 8u << 20) s.buffer.shrink_to_fit();
  s.dirty = true;
  any_dirty_ = true;
}

// Seals the active segment — synced under every policy, so that only a shard's last segment can
// ever end in a torn record — and starts the next one.
void LocalStream::Impl::roll(Shard& s) {
  flush(s);
  sync_file(s, s.active_fd.get(), s.active->path);
  s.dirty = false;
  create_segment(s, s.next_offset);
}

// Syncs every dirty shard. The next background sync is due one interval later even when this one
// fails, so that a failing disk is not retried in a busy loop; shards not synced stay dirty.
void LocalStream::Impl::sync_dirty() {
  last_sync_ = std::chrono::steady_clock::now();
  for (auto& s : shards_) {
    if (!s->dirty) continue;
    sync_file(*s, s->active_fd.get(), s->active->path);
    s->dirty = false;
  }
  any_dirty_ = false;
}

void LocalStream::Impl::publish(Shard& s) {
  std::lock_guard lock(s.mutex);
  for (auto& seg : s.group_segments) {
    seg->visible_bytes = seg->written_bytes;
    seg->index.insert(seg->index.end(), seg->unpublished_index.begin(), seg->unpublished_index.end());
    seg->unpublished_index.clear();
    seg->first_arrival_ms = seg->written_first_arrival_ms;
    seg->newest_arrival_ms = seg->written_newest_arrival_ms;
    if (!seg->published) {
      seg->published = true;
      s.segments.push_back(seg);
    }
  }
  s.group_segments.clear();
  s.visible_end = s.next_offset;
}

// ---- Reading ---------------------------------------------------------------------------------

const Shard& LocalStream::Impl::shard_at(int index) const {
  if (index < 0 || index >= config_.shards) {
    throw Error(where() + " has no shard " + std::to_string(index) + " (it has " +
                std::to_string(config_.shards) + ")");
  }
  return *shards_[static_cast<size_t>(index)];
}

int LocalStream::Impl::reader_fd(Segment& seg) const {
  std::lock_guard lock(seg.fd_mutex);
  if (!seg.read_fd.valid()) {
    FileDescriptor fd(::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        throw Trimmed(where() + ": segment " + seg.path.filename().string() +
                      " was deleted by retention while being read; the position was trimmed");
      }
      throw Error(where() + ": cannot open " + seg.path.string() + ": " + errno_text());
    }
    seg.read_fd = std::move(fd);
  }
  return seg.read_fd.get();
}

// Segments sealed by an earlier run are indexed on first use, by one scan.
void LocalStream::Impl::ensure_indexed(const Shard& s, Segment& seg) const {
  std::lock_guard build(seg.index_mutex);
  uint64_t visible;
  {
    std::lock_guard lock(s.mutex);
    if (seg.indexed) return;
    visible = seg.visible_bytes;
  }
  const int fd = reader_fd(seg);
  std::vector<IndexEntry> index{{seg.first_offset, 0, kUnknownArrival}};
  int64_t first = kUnknownArrival, newest = kUnknownArrival;
  SegmentScanner scanner(fd, seg.path, 0, visible, seg.first_offset, bad_range_reporter(s, seg));
  while (auto r = scanner.next()) {
    if (r->byte - index.back().byte >= kIndexEveryBytes) index.push_back({r->offset, r->byte, r->arrival_ms});
    if (first == kUnknownArrival) first = r->arrival_ms;
    newest = r->arrival_ms;
  }
  std::lock_guard lock(s.mutex);
  seg.index = std::move(index);
  seg.first_arrival_ms = first;
  seg.newest_arrival_ms = newest;
  seg.indexed = true;
}

ShardPosition LocalStream::Impl::position(std::string_view id, const StartingPosition& start) const {
  check_not_deleted();
  const auto index = shard_index_of(id);
  if (!index || *index >= config_.shards) {
    throw Error(where() + " has no shard '" + std::string(id.substr(0, 64)) + "' (its shards are " +
                shard_id(0) + ".." + shard_id(config_.shards - 1) + ")");
  }
  const Shard& s = *shards_[static_cast<size_t>(*index)];
  switch (start.type) {
    case IteratorType::kTrimHorizon: {
      std::lock_guard lock(s.mutex);
      const auto& first = *s.segments.front();
      return {s.index, first.first_offset, first.first_offset, 0};
    }
    case IteratorType::kLatest: {
      std::lock_guard lock(s.mutex);
      const auto& last = *s.segments.back();
      return {s.index, s.visible_end, last.first_offset, last.visible_bytes};
    }
    case IteratorType::kAtTimestamp:
      return at_timestamp(s, start.timestamp);
    case IteratorType::kAtSequenceNumber:
    case IteratorType::kAfterSequenceNumber:
      break;
  }
  const auto seq = parse_sequence_number(start.sequence_number);
  const std::string quoted = "sequence number '" + start.sequence_number.substr(0, 64) + "'";
  if (!seq) throw Error(where() + ": " + quoted + " is not a sluice sequence number (25 digits)");
  if (seq->shard != s.index) {
    throw Error(where() + ": " + quoted + " belongs to " + shard_id(seq->shard) + ", not " + s.id);
  }
  const bool after = start.type == IteratorType::kAfterSequenceNumber;
  std::lock_guard lock(s.mutex);
  const uint64_t horizon = s.segments.front()->first_offset;
  if (seq->offset >= s.visible_end) {
    throw Error(where() + " " + s.id + ": " + quoted + " has not been written (the newest is " +
                (s.visible_end > 0 ? describe_sequence(s, s.visible_end - 1) : std::string("none")) + ")");
  }
  const uint64_t offset = seq->offset + (after ? 1 : 0);
  if (offset < horizon) {
    throw Trimmed(where() + " " + s.id + ": " + quoted +
                  " was trimmed by retention; the oldest retained is " + describe_sequence(s, horizon));
  }
  return {s.index, offset};
}

ShardPosition LocalStream::Impl::at_timestamp(const Shard& s, TimePoint t) const {
  const int64_t t_ms = t.time_since_epoch().count();
  struct Part {
    std::shared_ptr<Segment> seg;
    uint64_t visible;
    int64_t first_arrival_ms;
  };
  std::vector<Part> parts;
  uint64_t end;
  {
    std::lock_guard lock(s.mutex);
    for (const auto& seg : s.segments) parts.push_back({seg, seg->visible_bytes, seg->first_arrival_ms});
    end = s.visible_end;
  }
  // Arrival times never decrease within a shard: the record is in the last segment that starts
  // before t, or it is the first record of the segment after it.
  size_t k = parts.size();
  while (k > 0 && parts[k - 1].first_arrival_ms >= t_ms) --k;
  if (k == 0) return {s.index, parts[0].seg->first_offset, parts[0].seg->first_offset, 0};
  Segment& seg = *parts[k - 1].seg;
  ensure_indexed(s, seg);
  IndexEntry from{seg.first_offset, 0, kUnknownArrival};
  {
    std::lock_guard lock(s.mutex);
    for (const auto& e : seg.index) {
      if (e.byte >= parts[k - 1].visible || e.arrival_ms >= t_ms) break;
      from = e;
    }
  }
  SegmentScanner scanner(reader_fd(seg), seg.path, from.byte, parts[k - 1].visible, from.offset,
                         bad_range_reporter(s, seg));
  while (auto r = scanner.next()) {
    if (r->arrival_ms >= t_ms) return {s.index, r->offset, seg.first_offset, r->byte};
  }
  if (k < parts.size()) return {s.index, parts[k].seg->first_offset, parts[k].seg->first_offset, 0};
  return {s.index, end, seg.first_offset, parts[k - 1].visible};
}

// The published segments from the one holding `target` on, with their visible bytes; none when
// `target` is the end. Throws Trimmed before the horizon, Error past the end.
std::vector<ReadPart> LocalStream::Impl::parts_from(const Shard& s, uint64_t target, uint64_t& end) const {
  std::vector<ReadPart> parts;
  std::lock_guard lock(s.mutex);
  const uint64_t horizon = s.segments.front()->first_offset;
  end = s.visible_end;
  if (target < horizon) {
    throw Trimmed(where() + " " + s.id + ": the position at " + describe_sequence(s, target) +
                  " was trimmed by retention; the oldest retained is " + describe_sequence(s, horizon));
  }
  if (target > end) {
    throw Error(where() + " " + s.id + ": the position at " + describe_sequence(s, target) +
                " is past the newest record; it does not come from this stream");
  }
  if (target == end) return parts;
  auto it = std::upper_bound(s.segments.begin(), s.segments.end(), target,
                             [](uint64_t off, const auto& seg) { return off < seg->first_offset; });
  for (--it; it != s.segments.end(); ++it) parts.push_back({*it, (*it)->visible_bytes});
  return parts;
}

ShardRead LocalStream::Impl::read(const ShardPosition& position, size_t max_records, size_t max_bytes) const {
  const Shard& s = shard_at(position.shard);
  if (max_records == 0) throw Error(where() + ": max_records must be at least 1");
  const uint64_t target = position.offset;
  uint64_t end = 0;
  const std::vector<ReadPart> parts = parts_from(s, target, end);
  if (parts.empty()) return {{}, position, 0};

  ShardRead out;
  out.next = position;
  size_t bytes = 0;
  bool full = false;
  // Returns false when the record does not fit (it is left for the next read).
  auto take = [&](const Segment& seg, const DecodedRecord& r) {
    if (r.offset < target) return true;
    const size_t size = r.key.size() + r.data.size();
    if (!out.records.empty() && bytes + size > max_bytes) return false;
    bytes += size;
    out.records.push_back({describe_sequence(s, r.offset), TimePoint(std::chrono::milliseconds(r.arrival_ms)),
                           std::string(r.key), std::string(r.data)});
    out.next = {s.index, r.offset + 1, seg.first_offset, r.byte + r.frame_bytes};
    return out.records.size() < max_records && bytes < max_bytes;
  };
  for (size_t k = 0; k < parts.size() && !full; ++k) {
    Segment& seg = *parts[k].seg;
    const uint64_t visible = parts[k].visible;
    const int fd = reader_fd(seg);
    std::optional<SegmentScanner> scanner;
    if (k == 0 && position.hint_segment == seg.first_offset && position.hint_byte < visible) {
      scanner.emplace(fd, seg.path, position.hint_byte, visible, target, bad_range_reporter(s, seg));
      if (auto r = scanner->decode_at_begin()) {
        full = !take(seg, *r);
      } else {
        scanner.reset();  // a stale or foreign hint: use the index
      }
    }
    if (!scanner) {
      uint64_t begin = 0, expected = seg.first_offset;
      if (k == 0) {
        ensure_indexed(s, seg);
        std::lock_guard lock(s.mutex);
        for (const auto& e : seg.index) {
          if (e.offset > target || e.byte >= visible) break;
          begin = e.byte;
          expected = e.offset;
        }
      }
      scanner.emplace(fd, seg.path, begin, visible, expected, bad_range_reporter(s, seg));
    }
    while (!full) {
      auto r = scanner->next();
      if (!r) break;
      full = !take(seg, *r);
    }
    if (!full && k + 1 == parts.size()) {
      // Everything acknowledged was scanned; only skipped corrupt records can lie in between.
      out.next = {s.index, end, seg.first_offset, visible};
    }
  }
  out.behind_latest = end - out.next.offset;
  return out;
}

// ---- Retention and description ---------------------------------------------------------------

size_t LocalStream::Impl::enforce_retention(TimePoint now) {
  std::lock_guard guard(retention_mutex_);
  if (deleted_.load()) return 0;  // its files are the store's to delete now
  const int64_t cutoff = (now - retention()).time_since_epoch().count();
  size_t total = 0;
  for (auto& shard : shards_) {
    Shard& s = *shard;
    size_t deleted = 0;
    for (;;) {
      std::shared_ptr<Segment> seg;
      int64_t newest, next_first;
      bool exact;
      {
        std::lock_guard lock(s.mutex);
        if (s.segments.size() < 2) break;  // the last segment is the active one
        seg = s.segments[0];
        exact = seg->indexed;
        newest = seg->newest_arrival_ms;
        next_first = s.segments[1]->first_arrival_ms;
      }
      if (!exact) {
        // The next segment's first arrival is an upper bound of this one's newest; scan only
        // when the bound is not old enough.
        if (next_first != kUnknownArrival && next_first < cutoff) {
          newest = next_first;
        } else {
          ensure_indexed(s, *seg);
          std::lock_guard lock(s.mutex);
          newest = seg->newest_arrival_ms;  // kUnknownArrival: no good record, nothing to keep
        }
      }
      if (newest >= cutoff) break;
      {
        std::lock_guard lock(s.mutex);
        s.segments.erase(s.segments.begin());
      }
      // Readers holding the segment keep reading through their open descriptor.
      std::error_code ec;
      std::filesystem::remove(seg->path, ec);
      if (ec)
        throw Error(where() + ": cannot delete expired segment " + seg->path.string() + ": " + ec.message());
      ++deleted;
    }
    if (deleted > 0) {
      fs::fsync_dir(s.dir);
      spdlog::info("{} {}: retention deleted {} segment(s)", where(), s.id, deleted);
    }
    total += deleted;
  }
  return total;
}

StreamDescription LocalStream::Impl::describe() const {
  StreamDescription d;
  d.name = config_.name;
  d.config = config_;
  d.config.retention = retention();
  for (const auto& shard : shards_) {
    const Shard& s = *shard;
    ShardDescription sd;
    sd.shard_id = s.id;
    const auto range = shard_hash_range(s.index, config_.shards);
    sd.starting_hash_key = hash_key_to_string(range.starting);
    sd.ending_hash_key = hash_key_to_string(range.ending);
    std::lock_guard lock(s.mutex);
    const uint64_t horizon = s.segments.front()->first_offset;
    if (s.visible_end > horizon) {
      sd.first_sequence_number = describe_sequence(s, horizon);
      sd.last_sequence_number = describe_sequence(s, s.visible_end - 1);
      sd.records_approx = s.visible_end - horizon;
    }
    for (const auto& seg : s.segments) sd.bytes += seg->visible_bytes;
    sd.segments = s.segments.size();
    d.shards.push_back(std::move(sd));
  }
  return d;
}

// ---- Positions -------------------------------------------------------------------------------

namespace {

constexpr char kPositionKind = 'L';
constexpr uint8_t kPositionVersion = 1;
constexpr size_t kPositionFixedBytes = 3 + 2 + 3 * 8 + 4;  // kind, version, name length; shard; u64s; crc
constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// The value of each base64url digit, -1 for every other byte.
constexpr std::array<int8_t, 256> kBase64UrlDigits = [] {
  std::array<int8_t, 256> digits{};
  digits.fill(-1);
  for (size_t i = 0; i < kBase64Url.size(); ++i)
    digits[static_cast<unsigned char>(kBase64Url[i])] = static_cast<int8_t>(i);
  return digits;
}();
// Longer than any token of a valid stream name; a longer text is refused before it is decoded.
constexpr size_t kMaxTokenChars = 512;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + static_cast<size_t>(i)])) << (8 * i);
  return value;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t j = 0; j < 3; ++j)
      group = group << 8 | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (size_t j = 0; j <= n; ++j) out.push_back(kBase64Url[(group >> (18 - 6 * j)) & 0x3f]);
  }
  return out;
}

// nullopt when `text` is not base64url without padding.
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    const int digit = kBase64UrlDigits[static_cast<unsigned char>(c)];
    if (digit < 0) return std::nullopt;
    group = (group << 6 | static_cast<uint32_t>(digit)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((group >> bits) & 0xff));
    }
  }
  if ((group & ((1u << bits) - 1)) != 0) return std::nullopt;  // one text for each token: no stray bits
  return out;
}

std::string encode_position(std::string_view stream, const ShardPosition& p) {
  std::string bytes;
  bytes.push_back(kPositionKind);
  bytes.push_back(static_cast<char>(kPositionVersion));
  bytes.push_back(static_cast<char>(stream.size()));
  bytes.append(stream);
  put_le(bytes, static_cast<uint64_t>(p.shard), 2);
  put_le(bytes, p.offset, 8);
  put_le(bytes, p.hint_segment, 8);
  put_le(bytes, p.hint_byte, 8);
  put_le(bytes, crc32c::mask(crc32c::value(bytes)), 4);
  return base64url_encode(bytes);
}

// The position a token holds; throws Error naming `stream` when it is not one of its tokens.
ShardPosition decode_position(std::string_view stream, const std::string& token) {
  // Messages are built only on failure: a continuing reader decodes a position on every read.
  const auto refuse = [&](const std::string& why) -> Error {
    const std::string shown = token.substr(0, 64) + (token.size() > 64 ? "..." : "");
    return Error("stream '" + std::string(stream) + "': the position '" + shown + "' " + why);
  };
  if (token.empty()) {
    throw Error("stream '" + std::string(stream) +
                "': the position is empty; get one from GetShardIterator (position())");
  }
  const auto bytes = token.size() <= kMaxTokenChars ? base64url_decode(token) : std::nullopt;
  if (!bytes || bytes->size() < kPositionFixedBytes || (*bytes)[0] != kPositionKind ||
      static_cast<uint8_t>((*bytes)[1]) != kPositionVersion ||
      bytes->size() != kPositionFixedBytes + static_cast<unsigned char>((*bytes)[2])) {
    throw refuse("is not a position sluice gave out (malformed token)");
  }
  const size_t name_end = 3 + static_cast<unsigned char>((*bytes)[2]);
  const size_t crc_at = bytes->size() - 4;
  if (get_le(*bytes, crc_at, 4) != crc32c::mask(crc32c::value(bytes->data(), crc_at))) {
    throw refuse("was altered or damaged (its checksum does not match)");
  }
  const std::string_view owner = std::string_view(*bytes).substr(3, name_end - 3);
  if (owner != stream) {
    throw Error("stream '" + std::string(stream) + "': the position belongs to stream '" +
                std::string(owner) + "'; a position is valid only for the stream that gave it");
  }
  ShardPosition p;
  p.shard = static_cast<int>(get_le(*bytes, name_end, 2));
  p.offset = get_le(*bytes, name_end + 2, 8);
  p.hint_segment = get_le(*bytes, name_end + 10, 8);
  p.hint_byte = get_le(*bytes, name_end + 18, 8);
  return p;
}

}  // namespace

// ---- LocalStream -----------------------------------------------------------------------------

LocalStream::LocalStream(std::filesystem::path dir, StreamConfig config, StreamHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(dir), std::move(config), std::move(hooks))) {}
LocalStream::~LocalStream() = default;
const StreamConfig& LocalStream::config() const { return impl_->config(); }
std::vector<PutResult> LocalStream::put(std::span<const PutRecord> records) { return impl_->put(records); }

Position LocalStream::position(std::string_view shard_id, const StartingPosition& start) const {
  return position_token(impl_->position(shard_id, start));
}

ReadResult LocalStream::read_records(const Position& position, size_t max_records, size_t max_bytes) const {
  impl_->check_not_deleted();
  ShardRead read = impl_->read(shard_position(position), max_records, max_bytes);
  return {std::move(read.records), position_token(read.next), read.behind_latest};
}

size_t LocalStream::enforce_retention(TimePoint now) { return impl_->enforce_retention(now); }
std::chrono::milliseconds LocalStream::retention() const { return impl_->retention(); }
void LocalStream::set_retention(std::chrono::milliseconds retention) {
  if (retention.count() <= 0)
    throw Error("stream '" + config().name + "': retention must be positive, got " +
                std::to_string(retention.count()) + " ms");
  impl_->set_retention(retention);
}
StreamDescription LocalStream::describe() const { return impl_->describe(); }
std::vector<CorruptionReport> LocalStream::corruption_reports() const { return impl_->corruption_reports(); }
void LocalStream::close() { impl_->close(); }

ShardPosition LocalStream::shard_position(const Position& position) const {
  return decode_position(config().name, position.token());
}

Position LocalStream::position_token(const ShardPosition& position) const {
  return Position::from_token(encode_position(config().name, position));
}

}  // namespace sluice::stream
