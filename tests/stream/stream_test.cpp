// Stream: writing, reading, iterators, recovery from torn and corrupted segments, crash safety,
// segment roll, retention, back-pressure, validation, the store and checkpoints.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/fs.h"
#include "stream/local_stream.h"
#include "stream/stream_store.h"
#include "tests/common/expect_error.h"
#include "tests/common/temp_dir.h"

namespace sluice::stream {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Test records have an 8-byte key and 100 bytes of data: 26 + 8 + 100 bytes on disk.
constexpr uint64_t kFrame = 134;

std::string key_of(uint64_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key-%04llu", static_cast<unsigned long long>(i % 10000));
  return buf;
}

std::string data_of(uint64_t i) {
  std::string d = "record " + std::to_string(i) + " ";
  d.resize(100, '.');
  return d;
}

std::vector<PutRecord> make_records(uint64_t first, uint64_t n) {
  std::vector<PutRecord> out;
  for (uint64_t i = first; i < first + n; ++i) out.push_back({key_of(i), data_of(i), std::nullopt});
  return out;
}

uint64_t offset_of(const std::string& sequence_number) {
  return parse_sequence_number(sequence_number)->offset;
}

// Every record of a shard from TRIM_HORIZON, continuing with each read's next position.
std::vector<Record> read_all(const Stream& s, const std::string& shard, size_t batch = 1000) {
  std::vector<Record> out;
  auto position = s.position(shard, StartingPosition::trim_horizon());
  for (;;) {
    auto r = s.read(position, batch);
    if (r.records.empty()) break;
    for (auto& rec : r.records) out.push_back(std::move(rec));
    position = r.next;
  }
  return out;
}

std::vector<uint64_t> offsets(const std::vector<Record>& records) {
  std::vector<uint64_t> out;
  for (const auto& r : records) out.push_back(offset_of(r.sequence_number));
  return out;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {  // [from, to)
  std::vector<uint64_t> out;
  for (uint64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

void flip_byte(const std::filesystem::path& path, uint64_t byte) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(byte));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(byte));
  f.put(static_cast<char>(c ^ 0x5a));
}

void append_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::app | std::ios::binary);
  f << bytes;
}

// A clock the test moves; read by the writer thread.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(1'000'000);
  void set(int64_t v) const { ms->store(v); }
  StreamHooks hooks() const {
    auto p = ms;
    return StreamHooks{.clock = [p] { return TimePoint(std::chrono::milliseconds(p->load())); }};
  }
};

class StreamTest : public ::testing::Test {
 protected:
  std::filesystem::path dir() const { return tmp_.path() / "streams" / "orders"; }
  std::filesystem::path segment(int shard, uint64_t first) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.log", static_cast<unsigned long long>(first));
    return dir() / shard_id(shard) / name;
  }
  static StreamConfig config(int shards = 1) {
    StreamConfig c;
    c.name = "orders";
    c.shards = shards;
    return c;
  }
  // 20 records in one shard, stream closed afterwards.
  void write_twenty() {
    LocalStream s(dir(), config());
    auto results = s.put(make_records(0, 20));
    ASSERT_EQ(offset_of(results.back().sequence_number), 19u);
    ASSERT_EQ(std::filesystem::file_size(segment(0, 0)), 20 * kFrame);
  }

  testing_util::TempDir tmp_;
};

// ---- Writing and reading -------------------------------------------------------------------

TEST_F(StreamTest, PutRoutesByMd5OrExplicitHashKeyAndReadsBack) {
  LocalStream s(dir(), config(4));
  std::vector<PutRecord> batch{{"a", "to shard 0", std::nullopt},
                               {"hello", "to shard 1", std::nullopt},
                               {"partitionKey", "to shard 2", std::nullopt},
                               {"a", "explicit: shard 3", "340282366920938463463374607431768211455"},
                               {"a", "again shard 0", std::nullopt}};
  auto results = s.put(batch);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].shard_id, "shardId-000000000000");
  EXPECT_EQ(results[1].shard_id, "shardId-000000000001");
  EXPECT_EQ(results[2].shard_id, "shardId-000000000002");
  EXPECT_EQ(results[3].shard_id, "shardId-000000000003");
  EXPECT_EQ(results[4].shard_id, "shardId-000000000000");
  EXPECT_EQ(results[0].sequence_number, "1000000000000000000000000");
  EXPECT_EQ(results[4].sequence_number, "1000000000000000000000001");
  EXPECT_EQ(results[3].sequence_number, "1000300000000000000000000");

  auto shard0 = read_all(s, "shardId-000000000000");
  ASSERT_EQ(shard0.size(), 2u);
  EXPECT_EQ(shard0[0].data, "to shard 0");
  EXPECT_EQ(shard0[0].partition_key, "a");
  EXPECT_EQ(shard0[0].sequence_number, results[0].sequence_number);
  EXPECT_EQ(shard0[1].data, "again shard 0");
  EXPECT_LE(std::chrono::abs(shard0[0].arrival - now_ms()), std::chrono::minutes(1));
  auto shard3 = read_all(s, "shardId-000000000003");
  ASSERT_EQ(shard3.size(), 1u);
  EXPECT_EQ(shard3[0].data, "explicit: shard 3");
  EXPECT_TRUE(s.put(std::vector<PutRecord>{}).empty());
}

TEST_F(StreamTest, ConcurrentWritersEveryAcknowledgedRecordIsReadBackOnceInOrder) {
  auto c = config(4);
  c.segment_bytes = 8 * 1024;  // many rolls while writers race
  LocalStream s(dir(), c);
  constexpr int kThreads = 4, kBatches = 30, kPerBatch = 25;
  std::vector<std::map<std::string, std::string>> acked(kThreads);  // sequence -> data, per thread
  std::atomic<bool> writers_done{false};

  // A reader tails every shard while the writers append.
  std::map<std::string, std::string> tailed;
  std::thread reader([&] {
    std::vector<Position> positions;
    for (int i = 0; i < 4; ++i)
      positions.push_back(s.position(shard_id(i), StartingPosition::trim_horizon()));
    for (;;) {
      const bool last_round = writers_done.load();
      bool any = false;
      for (auto& p : positions) {
        auto r = s.read(p, 7);  // small reads: many continuations
        for (auto& rec : r.records) {
          EXPECT_TRUE(tailed.emplace(rec.sequence_number, rec.data).second)
              << "twice: " << rec.sequence_number;
        }
        any = any || !r.records.empty();
        p = r.next;
      }
      if (last_round && !any) break;
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const uint64_t first = (static_cast<uint64_t>(t) * kBatches + b) * kPerBatch;
        auto batch = make_records(first, kPerBatch);
        auto results = s.put(batch);
        ASSERT_EQ(results.size(), batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
          EXPECT_EQ(results[i].shard_id, shard_id(shard_for_partition_key(batch[i].partition_key, 4)));
          acked[t][results[i].sequence_number] = batch[i].data;
          // Within a batch, records of one shard get increasing sequence numbers.
          for (size_t j = 0; j < i; ++j) {
            if (results[j].shard_id == results[i].shard_id) {
              EXPECT_LT(results[j].sequence_number, results[i].sequence_number);
            }
          }
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  writers_done = true;
  reader.join();

  std::map<std::string, std::string> all;
  for (const auto& m : acked) {
    for (const auto& [seq, data] : m)
      EXPECT_TRUE(all.emplace(seq, data).second) << "sequence reused: " << seq;
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  EXPECT_EQ(tailed, all);

  std::map<std::string, std::string> reread;
  for (int i = 0; i < 4; ++i) {
    auto records = read_all(s, shard_id(i), 100);
    for (size_t j = 1; j < records.size(); ++j) {
      EXPECT_LT(records[j - 1].sequence_number, records[j].sequence_number);
    }
    for (auto& r : records) EXPECT_TRUE(reread.emplace(r.sequence_number, r.data).second);
  }
  EXPECT_EQ(reread, all);
  EXPECT_GT(s.describe().shards[0].segments, 1u);
}

TEST_F(StreamTest, ReadersSeeNothingThatIsWrittenButNotYetAcknowledged) {
  std::promise<void> written, release;
  auto release_future = release.get_future().share();
  auto first = std::make_shared<std::atomic<bool>>(true);
  StreamHooks hooks;
  hooks.after_write = [&written, release_future, first] {
    if (first->exchange(false)) {
      written.set_value();
      release_future.wait();  // the group is in the file, not yet synced or acknowledged
    }
  };
  LocalStream s(dir(), config(), hooks);
  std::atomic<bool> returned{false};
  std::thread writer([&] {
    s.put(make_records(0, 5));
    returned = true;
  });
  written.get_future().wait();
  EXPECT_EQ(std::filesystem::file_size(segment(0, 0)), 5 * kFrame);
  EXPECT_FALSE(returned.load());
  const auto latest = s.position(shard_id(0), StartingPosition::latest());
  EXPECT_EQ(s.shard_position(latest).offset, 0u);
  EXPECT_TRUE(s.read(s.position(shard_id(0), StartingPosition::trim_horizon()), 100).records.empty());
  EXPECT_EQ(s.describe().shards[0].records_approx, 0u);
  EXPECT_TRUE(testing_util::fails_with<Error>(
      [&] { s.position(shard_id(0), StartingPosition::at_sequence_number(format_sequence_number(0, 0))); },
      "has not been written"));
  release.set_value();
  writer.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(s.read(latest, 100).records.size(), 5u);
}

TEST_F(StreamTest, ReopenContinuesSequencesAndKeepsRecords) {
  {
    LocalStream s(dir(), config(2));
    s.put(make_records(0, 10));
  }
  LocalStream s(dir(), config(2));
  auto before = s.describe();
  auto results = s.put(make_records(10, 10));
  size_t total = 0;
  for (int i = 0; i < 2; ++i) {
    auto records = read_all(s, shard_id(i));
    total += records.size();
    // Offsets stay dense per shard across the restart.
    EXPECT_EQ(offsets(records), range(0, records.size()));
  }
  EXPECT_EQ(total, 20u);
  for (const auto& r : results) {
    const auto& shard = before.shards[static_cast<size_t>(shard_index_of(r.shard_id).value())];
    if (shard.last_sequence_number) {
      EXPECT_GT(r.sequence_number, *shard.last_sequence_number);
    }
  }
  EXPECT_TRUE(s.corruption_reports().empty());
}

TEST_F(StreamTest, ReadHonoursLimitsAndContinues) {
  LocalStream s(dir(), config());
  s.put(make_records(0, 10));
  auto p = s.position(shard_id(0), StartingPosition::trim_horizon());
  auto r = s.read(p, 3);
  EXPECT_EQ(offsets(r.records), range(0, 3));
  EXPECT_EQ(r.behind_latest, 7u);
  r = s.read(r.next, 100, 250);  // 108 bytes a record: two fit in 250
  EXPECT_EQ(offsets(r.records), range(3, 5));
  r = s.read(r.next, 100, 10);  // one record even when it alone is over the limit
  EXPECT_EQ(offsets(r.records), range(5, 6));
  // A wrong hint is ignored rather than trusted.
  ShardPosition forged = s.shard_position(r.next);
  forged.hint_byte = 3;
  r = s.read(s.position_token(forged), 100);
  EXPECT_EQ(offsets(r.records), range(6, 10));
  EXPECT_EQ(r.behind_latest, 0u);
  EXPECT_TRUE(s.read(r.next, 100).records.empty());
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(r.next, 0); }, "max_records must be at least 1"));
  ShardPosition past{0, 11};
  EXPECT_TRUE(testing_util::fails_with<Error>([&] { s.read(s.position_token(past), 10); },
                                              "is past the newest record"));
  ShardPosition bad_shard{5, 0};
  EXPECT_TRUE(
      testing_util::fails_with<Error>([&] { s.read(s.position_token(bad_shard), 10); }, "has no shard 5"));
}

// ---- Recovery ------------------------------------------------------------------------------

TEST_F(StreamTest, TornTailIsTruncatedAndAppendsContinue) {
  write_twenty();
  std::filesystem::resize_file(segment(0, 0), 20 * kFrame - 50);  // the last record loses its end
  LocalStream s(dir(), config());
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(0, 19));
  auto reports = s.corruption_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].truncated);
  EXPECT_EQ(reports[0].byte, 19 * kFrame);
  EXPECT_EQ(reports[0].length, kFrame - 50);
  EXPECT_EQ(std::filesystem::file_size(segment(0, 0)), 19 * kFrame);
  auto results = s.put(make_records(100, 2));
  EXPECT_EQ(offset_of(results[0].sequence_number), 19u);
  auto all = read_all(s, shard_id(0));
  EXPECT_EQ(offsets(all), range(0, 21));
  EXPECT_EQ(all[19].data, data_of(100));
}

TEST_F(StreamTest, FlippedByteInTheTailRecordIsTruncated) {
  write_twenty();
  flip_byte(segment(0, 0), 19 * kFrame + 60);  // in the data of the last record
  LocalStream s(dir(), config());
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(0, 19));
  EXPECT_EQ(std::filesystem::file_size(segment(0, 0)), 19 * kFrame);
  auto reports = s.corruption_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].truncated);
  EXPECT_EQ(reports[0].byte, 19 * kFrame);
  EXPECT_EQ(offset_of(s.put(make_records(0, 1))[0].sequence_number), 19u);
}

TEST_F(StreamTest, ZeroFilledRegionAfterTheLastRecordIsTruncated) {
  write_twenty();
  append_bytes(segment(0, 0), std::string(4096, '\0'));
  LocalStream s(dir(), config());
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(0, 20));
  auto reports = s.corruption_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].truncated);
  EXPECT_EQ(reports[0].byte, 20 * kFrame);
  EXPECT_EQ(reports[0].length, 4096u);
  EXPECT_EQ(std::filesystem::file_size(segment(0, 0)), 20 * kFrame);
  EXPECT_EQ(offset_of(s.put(make_records(0, 1))[0].sequence_number), 20u);
  EXPECT_EQ(read_all(s, shard_id(0)).size(), 21u);
}

TEST_F(StreamTest, GarbageAfterAPartialRecordIsTruncated) {
  write_twenty();
  std::filesystem::resize_file(segment(0, 0), 20 * kFrame - 100);
  std::string garbage(3000, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  append_bytes(segment(0, 0), garbage);
  LocalStream s(dir(), config());
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(0, 19));
  ASSERT_EQ(s.corruption_reports().size(), 1u);
  EXPECT_EQ(std::filesystem::file_size(segment(0, 0)), 19 * kFrame);
}

TEST_F(StreamTest, CorruptMiddleRecordIsSkippedAndReportedLaterRecordsSurvive) {
  write_twenty();
  flip_byte(segment(0, 0), 5 * kFrame + 60);
  {
    LocalStream s(dir(), config());
    auto expected = range(0, 20);
    expected.erase(expected.begin() + 5);
    EXPECT_EQ(offsets(read_all(s, shard_id(0))), expected);
    auto reports = s.corruption_reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_FALSE(reports[0].truncated);
    EXPECT_EQ(reports[0].byte, 5 * kFrame);
    EXPECT_EQ(reports[0].length, kFrame);
    EXPECT_EQ(std::filesystem::file_size(segment(0, 0)), 20 * kFrame);  // nothing cut
    EXPECT_EQ(offset_of(s.put(make_records(0, 1))[0].sequence_number), 20u);
    // The lost record's sequence number starts at the next one.
    auto p = s.position(shard_id(0), StartingPosition::at_sequence_number(format_sequence_number(0, 5)));
    EXPECT_EQ(offset_of(s.read(p, 1).records.at(0).sequence_number), 6u);
  }
  // A length field that frames garbage is the same: later records are found again.
  std::fstream f(segment(0, 0), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(10 * kFrame));
  f.write("\xff\xff\x00\x00", 4);
  f.close();
  LocalStream s(dir(), config());
  auto records = read_all(s, shard_id(0));
  ASSERT_EQ(records.size(), 19u);  // 0..20 without 5 and 10
  EXPECT_EQ(offset_of(records[9].sequence_number), 11u);
  EXPECT_EQ(records.back().data, data_of(0));
}

TEST_F(StreamTest, CorruptRecordInAnOlderSegmentIsSkippedWhenRead) {
  auto c = config();
  c.segment_bytes = 1024;  // 7 records a segment
  {
    LocalStream s(dir(), c);
    s.put(make_records(0, 30));
  }
  flip_byte(segment(0, 0), 1 * kFrame + 60);
  LocalStream s(dir(), c);
  EXPECT_TRUE(s.corruption_reports().empty());  // only the last segment is read at open
  auto expected = range(0, 30);
  expected.erase(expected.begin() + 1);
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), expected);
  auto reports = s.corruption_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].truncated);
  EXPECT_EQ(reports[0].file, segment(0, 0));
}

// A real crash: a child process appends with kAlways and reports each acknowledged sequence number
// through a pipe until it is killed; every one it reported must be on disk.
TEST_F(StreamTest, AcknowledgedRecordsSurviveSigkill) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      LocalStream s(dir(), config(2));
      for (uint64_t i = 0;;) {
        auto batch = make_records(i, 10);
        i += 10;
        auto results = s.put(batch);
        std::string lines;
        for (size_t j = 0; j < results.size(); ++j)
          lines += results[j].sequence_number + " " + batch[j].data + "\n";
        for (size_t done = 0; done < lines.size();) {
          ssize_t n = ::write(fds[1], lines.data() + done, lines.size() - done);
          if (n <= 0) ::_exit(2);
          done += static_cast<size_t>(n);
        }
      }
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(fds[1]);
  std::string got;
  char buf[65536];
  auto read_available = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    return n > 0;
  };
  // The 200 ms of appends start at the first acknowledgement: creating the stream (a dozen fsyncs)
  // can take a while on a busy disk. The 60 s only bounds a child that never gets going.
  const bool started = read_available(60'000);
  const auto deadline = std::chrono::steady_clock::now() + 200ms;
  for (auto now = std::chrono::steady_clock::now(); started && now < deadline;
       now = std::chrono::steady_clock::now()) {
    if (!read_available(std::max(1, static_cast<int>((deadline - now) / 1ms)))) break;
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself with status " << status;
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);

  std::map<std::string, std::string> acknowledged;
  std::istringstream lines(got.substr(0, got.rfind('\n') + 1));  // a killed write may leave half a line
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.find(' ');
    acknowledged[line.substr(0, space)] = line.substr(space + 1);
  }
  ASSERT_GT(acknowledged.size(), 0u);

  LocalStream s(dir(), config(2));
  std::map<std::string, std::string> on_disk;
  for (int i = 0; i < 2; ++i) {
    for (auto& r : read_all(s, shard_id(i))) on_disk[r.sequence_number] = r.data;
  }
  size_t missing = 0;
  for (const auto& [seq, data] : acknowledged) {
    auto it = on_disk.find(seq);
    if (it == on_disk.end() || it->second != data) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged";
  // And the stream goes on after the crash.
  auto more = s.put(make_records(0, 4));
  for (const auto& r : more) EXPECT_FALSE(on_disk.contains(r.sequence_number));
}

// ---- Iterators -----------------------------------------------------------------------------

TEST_F(StreamTest, AllFiveIteratorTypes) {
  FakeClock clock;
  auto c = config();
  c.segment_bytes = 1024;  // several segments, so positioning crosses them
  const std::string shard = shard_id(0);
  std::vector<std::string> seq;
  {
    LocalStream s(dir(), c, clock.hooks());
    for (int i = 0; i < 20; ++i) {
      clock.set(1000 * (i + 1));
      seq.push_back(s.put(make_records(static_cast<uint64_t>(i), 1))[0].sequence_number);
    }
  }
  for (int reopened = 0; reopened < 2; ++reopened) {
    SCOPED_TRACE(reopened ? "after reopen (sealed segments indexed lazily)" : "fresh");
    LocalStream s(dir(), c, clock.hooks());
    auto first_offset = [&](const StartingPosition& start) -> std::optional<uint64_t> {
      auto r = s.read(s.position(shard, start), 1);
      if (r.records.empty()) return std::nullopt;
      return offset_of(r.records[0].sequence_number);
    };
    EXPECT_EQ(first_offset(StartingPosition::trim_horizon()), 0u);
    EXPECT_EQ(first_offset(StartingPosition::at_sequence_number(seq[7])), 7u);
    EXPECT_EQ(first_offset(StartingPosition::at_sequence_number(seq[15])), 15u);
    EXPECT_EQ(first_offset(StartingPosition::after_sequence_number(seq[7])), 8u);
    EXPECT_EQ(first_offset(StartingPosition::after_sequence_number(seq[13])), 14u);  // across a segment
    // In the second round the record added below (at 100 s) is there too.
    const std::optional<uint64_t> after_last = reopened ? std::optional<uint64_t>(20) : std::nullopt;
    EXPECT_EQ(first_offset(StartingPosition::after_sequence_number(seq[19])), after_last);
    auto at = [](int64_t ms) {
      return StartingPosition::at_timestamp(TimePoint(std::chrono::milliseconds(ms)));
    };
    EXPECT_EQ(first_offset(at(5000)), 4u);  // arrival exactly t
    EXPECT_EQ(first_offset(at(5500)), 5u);  // first arrival after t
    EXPECT_EQ(first_offset(at(7999)), 7u);
    EXPECT_EQ(first_offset(at(8000)), 7u);
    EXPECT_EQ(first_offset(at(0)), 0u);
    EXPECT_EQ(first_offset(at(20000)), 19u);
    EXPECT_EQ(first_offset(at(20001)), after_last);

    const auto latest = s.position(shard, StartingPosition::latest());
    EXPECT_TRUE(s.read(latest, 10).records.empty());
    clock.set(100000 + reopened);
    auto added = s.put(make_records(500, 1));
    auto r = s.read(latest, 10);
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].sequence_number, added[0].sequence_number);
    EXPECT_EQ(r.records[0].arrival, TimePoint(std::chrono::milliseconds(100000 + reopened)));
    seq.push_back(added[0].sequence_number);

    EXPECT_THAT([&] { s.position(shard, StartingPosition::at_sequence_number("12345")); },
                ::testing::ThrowsMessage<Error>(HasSubstr("not a sluice sequence number")));
    EXPECT_THAT(
        [&] { s.position(shard, StartingPosition::at_sequence_number(format_sequence_number(1, 0))); },
        ::testing::ThrowsMessage<Error>(HasSubstr("belongs to shardId-000000000001")));
    EXPECT_THAT(
        [&] { s.position(shard, StartingPosition::at_sequence_number(format_sequence_number(0, 999))); },
        ::testing::ThrowsMessage<Error>(HasSubstr("has not been written")));
    EXPECT_THAT([&] { s.position("shardId-000000000001", StartingPosition::trim_horizon()); },
                ::testing::ThrowsMessage<Error>(HasSubstr("has no shard 'shardId-000000000001'")));
  }
}

TEST_F(StreamTest, ArrivalTimesNeverGoBackwardsWithinAShard) {
  FakeClock clock;
  LocalStream s(dir(), config(), clock.hooks());
  clock.set(50000);
  s.put(make_records(0, 1));
  clock.set(40000);  // the clock steps back
  s.put(make_records(1, 1));
  auto records = read_all(s, shard_id(0));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].arrival, TimePoint(50000ms));
  auto p = s.position(shard_id(0), StartingPosition::at_timestamp(TimePoint(45000ms)));
  EXPECT_EQ(offset_of(s.read(p, 1).records.at(0).sequence_number), 0u);
}

// ---- Segments and retention ----------------------------------------------------------------

TEST_F(StreamTest, SegmentsRollAtSegmentBytesAndRetentionDeletesWholeOldSegments) {
  FakeClock clock;
  auto c = config();
  c.segment_bytes = 1024;  // 7 records of 134 bytes a segment
  c.retention = 10s;
  {
    LocalStream s(dir(), c, clock.hooks());
    for (int i = 0; i < 30; ++i) {
      clock.set(1000 * (i + 1));  // record i arrives at (i + 1) s
      s.put(make_records(static_cast<uint64_t>(i), 1));
    }
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir() / shard_id(0))) {
      files.push_back(e.path().filename().string());
      EXPECT_LE(std::filesystem::file_size(e.path()), 1024u);
    }
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<std::string>{"00000000000000000000.log", "00000000000000000007.log",
                                               "00000000000000000014.log", "00000000000000000021.log",
                                               "00000000000000000028.log"}));
    EXPECT_EQ(s.describe().shards[0].segments, 5u);
    EXPECT_EQ(s.describe().shards[0].records_approx, 30u);

    // Cutoff 15 s: segments holding records 0..6 (newest 7 s) and 7..13 (newest 14 s) go.
    const auto old_position =
        s.position(shard_id(0), StartingPosition::at_sequence_number(format_sequence_number(0, 3)));
    EXPECT_EQ(s.enforce_retention(TimePoint(25000ms)), 2u);
    EXPECT_FALSE(std::filesystem::exists(segment(0, 0)));
    EXPECT_FALSE(std::filesystem::exists(segment(0, 7)));
    EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(14, 30));
    EXPECT_THAT([&] { s.read(old_position, 10); }, ::testing::ThrowsMessage<Trimmed>(HasSubstr("trimmed")));
    EXPECT_TRUE(testing_util::fails_with<Trimmed>(
        [&] { s.position(shard_id(0), StartingPosition::at_sequence_number(format_sequence_number(0, 13))); },
        "was trimmed by retention"));
    auto p = s.position(shard_id(0), StartingPosition::after_sequence_number(format_sequence_number(0, 13)));
    EXPECT_EQ(offset_of(s.read(p, 1).records.at(0).sequence_number), 14u);
    EXPECT_EQ(s.describe().shards[0].first_sequence_number, format_sequence_number(0, 14));
    EXPECT_EQ(s.enforce_retention(TimePoint(25000ms)), 0u);
  }
  // After a restart the sealed segments are judged again (from their contents); the active one is
  // kept however old.
  LocalStream s(dir(), c, clock.hooks());
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(14, 30));
  EXPECT_EQ(s.enforce_retention(TimePoint(std::chrono::hours(1000))), 2u);
  EXPECT_EQ(offsets(read_all(s, shard_id(0))), range(28, 30));
  EXPECT_EQ(s.describe().shards[0].segments, 1u);
  EXPECT_EQ(offset_of(s.put(make_records(0, 1))[0].sequence_number), 30u);
}

// ---- Back-pressure and validation ----------------------------------------------------------

TEST_F(StreamTest, ThrottledWhenPendingBytesExceedTheLimitWhileTheWriterIsSlow) {
  std::promise<void> reached, release;
  auto release_future = release.get_future().share();
  auto first = std::make_shared<std::atomic<bool>>(true);
  StreamHooks hooks;
  hooks.before_write = [&reached, release_future, first] {
    if (first->exchange(false)) {
      reached.set_value();
      release_future.wait();  // holds the writer with the first group's bytes still pending
    }
  };
  auto c = config();
  c.max_pending_bytes = 1000;
  LocalStream s(dir(), c, hooks);
  std::vector<PutResult> held_results;
  std::thread held([&] { held_results = s.put(make_records(0, 4)); });  // 4 * 108 bytes
  reached.get_future().wait();
  // Run where a missing throttle shows as a failure, not as a put() that waits for ever on the held
  // writer (the wait below is only that guard; a throttled put returns at once).
  auto attempt = std::async(std::launch::async, [&]() -> std::string {
    try {
      s.put(make_records(10, 6));
      return "not throttled";
    } catch (const Throttled& e) {
      const Error& as_error = e;  // Throttled is an Error, for callers that only know Error
      return as_error.what();
    } catch (const Error& e) {
      return std::string("a plain Error: ") + e.what();
    }
  });
  if (attempt.wait_for(60s) != std::future_status::ready) {
    ADD_FAILURE() << "put() blocked instead of throwing Throttled";
    release.set_value();
    held.join();
    return;
  }
  EXPECT_THAT(attempt.get(), HasSubstr("bytes are waiting to be written (limit 1000)"));
  release.set_value();
  held.join();
  ASSERT_EQ(held_results.size(), 4u);
  // Nothing pending: the same batch is accepted, and the throttled ones left no trace.
  auto results = s.put(make_records(10, 6));
  EXPECT_EQ(offset_of(results.back().sequence_number), 9u);
  EXPECT_EQ(read_all(s, shard_id(0)).size(), 10u);
  // A batch larger than the limit alone is admitted when nothing else is pending.
  EXPECT_EQ(s.put(make_records(20, 12)).size(), 12u);
}

TEST_F(StreamTest, InvalidRecordsAreRefusedNamingTheRecordAndNothingIsWritten) {
  LocalStream s(dir(), config(2));
  auto expect_error = [&](std::vector<PutRecord> batch, const std::string& what) {
    EXPECT_THAT([&] { s.put(batch); }, ::testing::ThrowsMessage<Error>(HasSubstr(what)));
  };
  expect_error({{"ok", "x"}, {"", "x"}}, "stream 'orders': record 1: partition key is 0 bytes");
  expect_error({{"ok", "x"}, {"ok", "x"}, {std::string(257, 'k'), "x"}},
               "record 2: partition key is 257 bytes");
  expect_error({{"ok", std::string((1 << 20) + 1, 'd')}}, "record 0: data is 1048577 bytes");
  expect_error({{"ok", "x", "12a"}}, "record 0: explicit hash key '12a' is not a decimal integer");
  expect_error({{"ok", "x", "340282366920938463463374607431768211456"}}, "record 0: explicit hash key");
  for (const auto& shard : s.describe().shards) EXPECT_EQ(shard.records_approx, 0u);
  // The limits themselves are fine.
  auto results = s.put(std::vector<PutRecord>{{std::string(256, 'k'), std::string(1 << 20, 'd')}, {"k", ""}});
  ASSERT_EQ(results.size(), 2u);
  auto records = read_all(s, results[0].shard_id);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].data.size(), 1u << 20);
}

TEST_F(StreamTest, InvalidConfigurationsAreRefused) {
  auto bad = [&](auto change, const std::string& what) {
    auto c = config();
    change(c);
    EXPECT_THAT([&] { LocalStream s(dir(), c); }, ::testing::ThrowsMessage<Error>(HasSubstr(what)));
  };
  bad([](StreamConfig& c) { c.shards = 0; }, "shards is 0; it must be 1..64");
  bad([](StreamConfig& c) { c.shards = 65; }, "shards is 65");
  bad([](StreamConfig& c) { c.segment_bytes = 10; }, "segment_bytes");
  bad([](StreamConfig& c) { c.name = "../up"; }, "not valid");
  bad([](StreamConfig& c) { c.retention = 0ms; }, "retention");
}

TEST_F(StreamTest, OtherFsyncPoliciesKeepRecordsAcrossACleanClose) {
  for (auto policy : {StreamConfig::FsyncPolicy::kInterval, StreamConfig::FsyncPolicy::kNever}) {
    testing_util::TempDir tmp;
    auto c = config(2);
    c.fsync = policy;
    c.fsync_interval = 5ms;
    {
      LocalStream s(tmp.path() / "s", c);
      for (int i = 0; i < 20; ++i) s.put(make_records(static_cast<uint64_t>(i) * 10, 10));
    }
    LocalStream s(tmp.path() / "s", c);
    EXPECT_EQ(read_all(s, shard_id(0)).size() + read_all(s, shard_id(1)).size(), 200u);
  }
}

// ---- Store and checkpoints -----------------------------------------------------------------

TEST_F(StreamTest, StoreOpensStreamsPersistsShardCountAndDescribes) {
  const auto root = tmp_.path() / "streams";
  StreamConfig a{.name = "alpha", .shards = 2};
  StreamConfig b{.name = "beta", .shards = 1};
  {
    StreamStore store(root, {a, b});
    EXPECT_EQ(store.names(), (std::vector<std::string>{"alpha", "beta"}));
    store.get("alpha").put(make_records(0, 10));
    EXPECT_TRUE(
        testing_util::fails_with<StreamNotFound>([&] { store.get("gamma"); }, "no stream named 'gamma'"));
    auto d = store.describe();
    ASSERT_EQ(d.size(), 2u);
    ASSERT_EQ(d[0].shards.size(), 2u);
    EXPECT_EQ(d[0].shards[0].starting_hash_key, "0");
    EXPECT_EQ(d[0].shards[0].ending_hash_key, "170141183460469231731687303715884105727");
    EXPECT_EQ(d[0].shards[1].starting_hash_key, "170141183460469231731687303715884105728");
    EXPECT_EQ(d[0].shards[1].ending_hash_key, "340282366920938463463374607431768211455");
    uint64_t records = 0;
    for (const auto& sh : d[0].shards) {
      records += sh.records_approx;
      if (sh.records_approx > 0) {
        EXPECT_EQ(sh.first_sequence_number, format_sequence_number(shard_index_of(sh.shard_id).value(), 0));
        EXPECT_GT(sh.bytes, 0u);
      }
    }
    EXPECT_EQ(records, 10u);
    EXPECT_FALSE(d[1].shards[0].last_sequence_number.has_value());
  }
  EXPECT_EQ(fs::read_file(root / "alpha" / "stream.meta"), "shards=2\n");
  a.shards = 4;
  EXPECT_THAT(
      [&] {
        StreamStore store(root, {a, b});
      },
      ::testing::ThrowsMessage<Error>(::testing::AllOf(
          HasSubstr("has 2 shards but the configuration asks for 4"), HasSubstr("resharding"))));
  a.shards = 2;
  EXPECT_THAT(
      [&] {
        StreamStore store(root, {a, a});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("two streams are named 'alpha'")));
  StreamStore store(root, {a});
  EXPECT_EQ(store.describe()[0].shards[0].records_approx + store.describe()[0].shards[1].records_approx, 10u);
}

TEST_F(StreamTest, CheckpointsLetAConsumerResumeAfterItsLastRecord) {
  InMemoryCheckpointStore checkpoints;
  CheckpointStore& store = checkpoints;
  EXPECT_FALSE(store.load("orders", "firehose", shard_id(0)).has_value());
  LocalStream s(dir(), config());
  s.put(make_records(0, 10));
  auto first = s.read(s.position(shard_id(0), StartingPosition::trim_horizon()), 4);
  store.save("orders", "firehose", shard_id(0), first.records.back().sequence_number);
  store.save("orders", "other", shard_id(0), "1000000000000000000000009");
  auto saved = store.load("orders", "firehose", shard_id(0));
  ASSERT_TRUE(saved.has_value());
  auto rest = s.read(s.position(shard_id(0), StartingPosition::after_sequence_number(*saved)), 100);
  EXPECT_EQ(offsets(rest.records), range(4, 10));
  EXPECT_EQ(store.load("orders", "other", shard_id(0)), "1000000000000000000000009");
  EXPECT_FALSE(store.load("orders", "firehose", shard_id(1)).has_value());
}

}  // namespace
}  // namespace sluice::stream
