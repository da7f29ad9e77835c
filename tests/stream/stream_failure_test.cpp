// Stream: disk full and I/O errors. A failed group leaves no trace — not in what readers see, not in
// describe(), not in the files, not after a reopen — and the same Stream takes the next put as soon
// as the cause has gone; a rollback that fails refuses writes until a retry succeeds; the low-disk
// threshold refuses a batch before anything is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "stream/local_stream.h"
#include "tests/common/small_filesystem.h"
#include "tests/common/temp_dir.h"

namespace sluice::stream {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Records have an 8-byte key and 100 bytes of data ("record <id> ..."): 134 bytes on disk.
constexpr uint64_t kFrame = 134;

std::vector<PutRecord> make_records(uint64_t first, uint64_t n) {
  std::vector<PutRecord> out;
  for (uint64_t id = first; id < first + n; ++id) {
    char key[16];
    std::snprintf(key, sizeof key, "key-%04llu", static_cast<unsigned long long>(id % 10000));
    std::string data = "record " + std::to_string(id) + " ";
    data.resize(100, '.');
    out.push_back({key, data, std::nullopt});
  }
  return out;
}

uint64_t id_of(const std::string& data) { return std::stoull(data.substr(7)); }
uint64_t offset_of(const std::string& sequence_number) {
  return parse_sequence_number(sequence_number)->offset;
}

// Per shard, the ids of the records a reader sees from TRIM_HORIZON, checking that their offsets are
// dense from 0.
std::vector<std::vector<uint64_t>> visible_ids(const Stream& s) {
  std::vector<std::vector<uint64_t>> out;
  for (int shard = 0; shard < s.config().shards; ++shard) {
    std::vector<uint64_t> ids;
    auto position = s.position(shard_id(shard), StartingPosition::trim_horizon());
    for (;;) {
      auto read = s.read(position, 1000);
      if (read.records.empty()) break;
      for (const auto& r : read.records) {
        EXPECT_EQ(offset_of(r.sequence_number), ids.size()) << shard_id(shard);
        ids.push_back(id_of(r.data));
      }
      position = read.next;
    }
    out.push_back(std::move(ids));
  }
  return out;
}

// What describe() says that a failed put must leave alone.
std::string summary(const StreamDescription& d) {
  std::string out;
  for (const auto& s : d.shards) {
    out += s.shard_id + " last=" + s.last_sequence_number.value_or("none") +
           " bytes=" + std::to_string(s.bytes) + " records=" + std::to_string(s.records_approx) +
           " segments=" + std::to_string(s.segments) + "\n";
  }
  return out;
}

// What the acknowledged puts promise: per shard, the ids in sequence-number order.
class Acknowledged {
 public:
  explicit Acknowledged(int shards) : by_shard_(static_cast<size_t>(shards)) {}
  void add(const std::vector<PutRecord>& batch, const std::vector<PutResult>& results) {
    ASSERT_EQ(batch.size(), results.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto seq = parse_sequence_number(results[i].sequence_number).value();
      by_shard_[static_cast<size_t>(seq.shard)][seq.offset] = id_of(batch[i].data);
    }
  }
  std::vector<std::vector<uint64_t>> ids() const {
    std::vector<std::vector<uint64_t>> out;
    for (const auto& shard : by_shard_) {
      std::vector<uint64_t> ids;
      for (const auto& [offset, id] : shard) ids.push_back(id);
      out.push_back(std::move(ids));
    }
    return out;
  }
  uint64_t next_offset(int shard) const {
    const auto& m = by_shard_[static_cast<size_t>(shard)];
    return m.empty() ? 0 : m.rbegin()->first + 1;
  }

 private:
  std::vector<std::map<uint64_t, uint64_t>> by_shard_;  // offset -> id
};

// A StreamHooks::fail_io the test arms: the next `count` operations of one kind on files whose path
// contains `needle` fail with `error`. Counts every operation it is asked about.
class Injector {
 public:
  void arm(FileOperation operation, std::string needle, int error, int count = 1) {
    std::lock_guard lock(state_->mutex);
    state_->operation = operation;
    state_->needle = std::move(needle);
    state_->error = error;
    state_->remaining = count;
  }
  int calls(FileOperation operation) const {
    std::lock_guard lock(state_->mutex);
    return state_->calls[static_cast<size_t>(operation)];
  }
  int remaining() const {
    std::lock_guard lock(state_->mutex);
    return state_->remaining;
  }
  StreamHooks hooks() const {
    StreamHooks hooks;
    hooks.fail_io = [state = state_](FileOperation operation, const std::filesystem::path& file) {
      std::lock_guard lock(state->mutex);
      ++state->calls[static_cast<size_t>(operation)];
      if (state->remaining > 0 && operation == state->operation &&
          file.string().find(state->needle) != std::string::npos) {
        --state->remaining;
        return state->error;
      }
      return 0;
    };
    return hooks;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    FileOperation operation = FileOperation::kWrite;
    std::string needle;
    int error = 0;
    int remaining = 0;
    int calls[4] = {};
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// The message of the SystemError `f` throws ("" and a test failure when it throws nothing or
// something else).
template <typename F>
std::string system_error_of(F&& f) {
  try {
    f();
  } catch (const SystemError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a SystemError: " << e.what();
    return {};
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

class StreamFailureTest : public ::testing::Test {
 protected:
  static StreamConfig config(int shards = 1) {
    StreamConfig c;
    c.name = "orders";
    c.shards = shards;
    c.min_free_bytes = 0;
    return c;
  }
  static std::filesystem::path segment(const std::filesystem::path& dir, int shard, uint64_t first) {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.log", static_cast<unsigned long long>(first));
    return dir / shard_id(shard) / name;
  }

  testing_util::TempDir tmp_;
};

TEST_F(StreamFailureTest, DiskFullLeavesNoTraceAndTheSameStreamWritesOnceSpaceIsBack) {
  testing_util::SmallFilesystem small(1 << 20);
  if (!small.available()) GTEST_SKIP() << small.reason();
  const auto dir = small.path() / "orders";
  Acknowledged acked(2);
  {
    LocalStream s(dir, config(2));
    auto batch = make_records(0, 20);
    acked.add(batch, s.put(batch));
    const std::string before = summary(s.describe());
    const auto sizes = std::make_pair(std::filesystem::file_size(segment(dir, 0, 0)),
                                      std::filesystem::file_size(segment(dir, 1, 0)));

    ASSERT_LE(small.fill(8 * 1024), 8u * 1024);
    const auto failed = make_records(1000, 500);  // 67 KB: the first shard's write runs out of space
    const std::string error = system_error_of([&] { s.put(failed); });
    EXPECT_THAT(error, HasSubstr("stream 'orders'"));
    EXPECT_THAT(error, HasSubstr("shardId-00000000000"));
    EXPECT_THAT(error, HasSubstr(std::strerror(ENOSPC)));
    EXPECT_EQ(summary(s.describe()), before);
    EXPECT_EQ(visible_ids(s), acked.ids());
    // The frames that reached a segment before the disk filled are gone from the file too.
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), sizes.first);
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 1, 0)), sizes.second);

    small.release();
    batch = make_records(20, 30);
    const auto results = s.put(batch);  // no reopen, no restart
    std::map<int, uint64_t> next{{0, acked.next_offset(0)}, {1, acked.next_offset(1)}};
    for (const auto& r : results) {
      const auto seq = parse_sequence_number(r.sequence_number).value();
      EXPECT_EQ(seq.offset, next[seq.shard]++)
          << "the sequence numbers continue where the acknowledged ones end";
    }
    acked.add(batch, results);
    EXPECT_EQ(visible_ids(s), acked.ids());
  }
  LocalStream reopened(dir, config(2));  // a restart
  EXPECT_EQ(visible_ids(reopened), acked.ids());
  EXPECT_TRUE(reopened.corruption_reports().empty());
}

// The first shard's records are written (and, under kAlways, synced); then the second shard's sync
// (kAlways) or write (kNever) fails. Neither shard keeps any record of the batch.
TEST_F(StreamFailureTest, AGroupThatFailsHalfWayLeavesNoShardWithAnyOfItsRecords) {
  const std::pair<StreamConfig::FsyncPolicy, FileOperation> cases[] = {
      {StreamConfig::FsyncPolicy::kAlways, FileOperation::kSync},
      {StreamConfig::FsyncPolicy::kNever, FileOperation::kWrite},
  };
  for (const auto& [policy, operation] : cases) {
    SCOPED_TRACE(operation == FileOperation::kSync ? "sync fails" : "write fails");
    testing_util::TempDir tmp;
    const auto dir = tmp.path() / "orders";
    auto c = config(2);
    c.fsync = policy;
    Injector injector;
    Acknowledged acked(2);
    {
      LocalStream s(dir, c, injector.hooks());
      auto batch = make_records(0, 20);
      acked.add(batch, s.put(batch));
      const std::string before = summary(s.describe());
      const auto size0 = std::filesystem::file_size(segment(dir, 0, 0));
      const auto size1 = std::filesystem::file_size(segment(dir, 1, 0));

      // Shard 0's records first, so that its write is done when shard 1 fails.
      auto failed = make_records(100, 40);
      std::stable_partition(failed.begin(), failed.end(), [](const PutRecord& r) {
        return shard_for_partition_key(r.partition_key, 2) == 0;
      });
      ASSERT_EQ(shard_for_partition_key(failed.front().partition_key, 2), 0);
      ASSERT_EQ(shard_for_partition_key(failed.back().partition_key, 2), 1);
      injector.arm(operation, shard_id(1), EIO);
      const std::string error = system_error_of([&] { s.put(failed); });
      EXPECT_THAT(error, HasSubstr("stream 'orders'"));
      EXPECT_THAT(error, HasSubstr(shard_id(1)));
      EXPECT_THAT(error, HasSubstr(std::strerror(EIO)));
      EXPECT_EQ(injector.remaining(), 0);
      EXPECT_EQ(summary(s.describe()), before);
      EXPECT_EQ(visible_ids(s), acked.ids());
      EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), size0);
      EXPECT_EQ(std::filesystem::file_size(segment(dir, 1, 0)), size1);

      batch = make_records(200, 10);
      acked.add(batch, s.put(batch));
      EXPECT_EQ(visible_ids(s), acked.ids());
    }
    LocalStream reopened(dir, c);
    EXPECT_EQ(visible_ids(reopened), acked.ids());
    EXPECT_TRUE(reopened.corruption_reports().empty());
  }
}

// 1024-byte segments hold 7 records. With 5 acknowledged, a batch of 10 puts 2 more in the first
// segment, seals it (fdatasync) and rolls to 00000000000000000007.log — where the failure strikes:
// its creation, the first write into it, or the seal of the first segment.
TEST_F(StreamFailureTest, FailureWhileRollingRemovesTheNewSegmentAndRestoresTheState) {
  const std::pair<FileOperation, std::string> cases[] = {
      {FileOperation::kCreateSegment, "00000000000000000007.log"},
      {FileOperation::kWrite, "00000000000000000007.log"},
      {FileOperation::kSync, "00000000000000000000.log"},
  };
  for (const auto& [operation, file] : cases) {
    SCOPED_TRACE("failing operation " + std::to_string(static_cast<int>(operation)) + " on " + file);
    testing_util::TempDir tmp;
    const auto dir = tmp.path() / "orders";
    auto c = config();
    c.segment_bytes = 1024;
    Injector injector;
    Acknowledged acked(1);
    {
      LocalStream s(dir, c, injector.hooks());
      auto batch = make_records(0, 5);
      acked.add(batch, s.put(batch));
      const std::string before = summary(s.describe());

      injector.arm(operation, file, ENOSPC);
      const std::string error = system_error_of([&] { s.put(make_records(100, 10)); });
      EXPECT_THAT(error, HasSubstr(std::strerror(ENOSPC)));
      EXPECT_EQ(injector.remaining(), 0);
      EXPECT_FALSE(std::filesystem::exists(segment(dir, 0, 7)));
      EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 5 * kFrame);
      EXPECT_EQ(summary(s.describe()), before);
      EXPECT_EQ(visible_ids(s), acked.ids());

      // The state is what it was: the same roll happens again, at the same offset, and succeeds.
      batch = make_records(200, 10);
      const auto results = s.put(batch);
      EXPECT_EQ(offset_of(results.front().sequence_number), 5u);
      acked.add(batch, results);
      EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 7 * kFrame);
      EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 7)), 7 * kFrame);
      EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 14)), 1 * kFrame);
      EXPECT_EQ(s.describe().shards[0].segments, 3u);
      EXPECT_EQ(visible_ids(s), acked.ids());
    }
    LocalStream reopened(dir, c);
    EXPECT_EQ(visible_ids(reopened), acked.ids());
    EXPECT_TRUE(reopened.corruption_reports().empty());
  }
}

TEST_F(StreamFailureTest, AFailedRollbackRefusesWritesUntilARetrySucceeds) {
  const auto dir = tmp_.path() / "orders";
  Injector sync_failure, truncate_failure;
  StreamHooks hooks;
  hooks.fail_io = [sync = sync_failure.hooks().fail_io, truncate = truncate_failure.hooks().fail_io](
                      FileOperation operation, const std::filesystem::path& file) {
    const int error = sync(operation, file);
    return error != 0 ? error : truncate(operation, file);
  };
  Acknowledged acked(1);
  {
    LocalStream s(dir, config(), hooks);
    auto batch = make_records(0, 5);
    acked.add(batch, s.put(batch));

    sync_failure.arm(FileOperation::kSync, "", EIO);
    truncate_failure.arm(FileOperation::kTruncate, "", EIO, 2);
    std::string error = system_error_of([&] { s.put(make_records(100, 10)); });
    EXPECT_THAT(error, HasSubstr("removing the batch's bytes failed too"));
    EXPECT_THAT(error, HasSubstr("cannot truncate"));
    // The unacknowledged records are still in the file, and nothing is written behind them.
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 15 * kFrame);
    EXPECT_EQ(visible_ids(s), acked.ids());
    error = system_error_of([&] { s.put(make_records(200, 3)); });
    EXPECT_THAT(error, HasSubstr("refuses writes"));
    EXPECT_EQ(truncate_failure.calls(FileOperation::kTruncate), 2);  // retried before this put
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 15 * kFrame);

    // The third try of the rollback succeeds, and the put behind it is written where the
    // acknowledged records end.
    batch = make_records(300, 3);
    const auto results = s.put(batch);
    EXPECT_EQ(truncate_failure.calls(FileOperation::kTruncate), 3);
    EXPECT_EQ(offset_of(results.front().sequence_number), 5u);
    acked.add(batch, results);
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 8 * kFrame);
    EXPECT_EQ(visible_ids(s), acked.ids());
  }
  LocalStream reopened(dir, config());
  EXPECT_EQ(visible_ids(reopened), acked.ids());
  EXPECT_TRUE(reopened.corruption_reports().empty());
}

// Under kInterval, a failed background fdatasync of acknowledged records is retried at the next
// interval; puts go on meanwhile (nothing is latched).
TEST_F(StreamFailureTest, AFailedBackgroundSyncIsRetriedAndDoesNotStopWrites) {
  const auto dir = tmp_.path() / "orders";
  auto c = config();
  c.fsync = StreamConfig::FsyncPolicy::kInterval;
  c.fsync_interval = 5ms;
  Injector injector;
  Acknowledged acked(1);
  {
    LocalStream s(dir, c, injector.hooks());
    injector.arm(FileOperation::kSync, "", EIO, 3);
    for (uint64_t i = 0; i < 10; ++i) {
      auto batch = make_records(i * 10, 10);
      acked.add(batch, s.put(batch));
      std::this_thread::sleep_for(2ms);
    }
    // The background sync runs at least three times (failing) within a few seconds.
    for (int i = 0; i < 500 && injector.remaining() > 0; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(injector.remaining(), 0);
    auto batch = make_records(100, 10);
    acked.add(batch, s.put(batch));
    EXPECT_EQ(visible_ids(s), acked.ids());
  }
  LocalStream reopened(dir, c);
  EXPECT_EQ(visible_ids(reopened), acked.ids());
}

TEST_F(StreamFailureTest, LowDiskThresholdRefusesBeforeWritingAnything) {
  {
    // More than any disk has: refused on the first put, before a single write.
    const auto dir = tmp_.path() / "orders";
    auto c = config();
    c.min_free_bytes = UINT64_MAX / 2;
    Injector injector;
    LocalStream s(dir, c, injector.hooks());
    const std::string error = system_error_of([&] { s.put(make_records(0, 5)); });
    EXPECT_THAT(error, HasSubstr("the disk holding " + dir.string() + " has "));
    EXPECT_THAT(error, HasSubstr("below the low-disk threshold of " + std::to_string(UINT64_MAX / 2) +
                                 " (streams.orders.min_free_disk); retry later"));
    EXPECT_EQ(injector.calls(FileOperation::kWrite), 0);
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 0u);
    EXPECT_FALSE(s.describe().shards[0].last_sequence_number.has_value());
  }

  testing_util::SmallFilesystem small(4 << 20);
  if (!small.available()) GTEST_SKIP() << small.reason();
  const auto dir = small.path() / "orders";
  auto c = config();
  c.min_free_bytes = 8 << 20;  // more than the tmpfs holds
  {
    LocalStream s(dir, c);
    EXPECT_THAT(system_error_of([&] { s.put(make_records(0, 5)); }),
                HasSubstr("below the low-disk threshold of 8388608"));
    EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 0u);
  }
  // A threshold the tmpfs can meet: refused while it is filled, accepted again once it is not,
  // without reopening (the free space is asked again after at most ~100 ms).
  c.min_free_bytes = 1 << 20;
  LocalStream s(dir, c);
  small.fill(512 << 10);
  EXPECT_THAT(system_error_of([&] { s.put(make_records(0, 5)); }), HasSubstr("below the low-disk threshold"));
  EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 0u);
  small.release();
  std::optional<std::vector<PutResult>> results;
  for (int attempt = 0; attempt < 100 && !results; ++attempt) {
    try {
      results = s.put(make_records(0, 5));
    } catch (const SystemError&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(results.has_value()) << "still refused 5 s after the space came back";
  EXPECT_EQ(offset_of(results->front().sequence_number), 0u);
  EXPECT_EQ(std::filesystem::file_size(segment(dir, 0, 0)), 5 * kFrame);
}

}  // namespace
}  // namespace sluice::stream
