// Whose fault a failure is: the input's (ProcessError: quarantine) or the system's (SystemError:
// retry later), with real causes — a scratch folder on a full file system, bad JSON, a failed cast.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>

#include "tests/process/helpers.h"

namespace sluice::process {
namespace {

using ::testing::HasSubstr;
using namespace test_support;

// A 1 MiB tmpfs mounted for the test (root only), unmounted after it.
class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_point_ = dir_.path() / "small";
    std::filesystem::create_directories(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=1m") != 0) {
      GTEST_SKIP() << "cannot mount a 1 MiB tmpfs (needs root and CAP_SYS_ADMIN): " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  // Records whose Parquet output is a few MiB: random-looking text does not compress.
  static std::string incompressible_records(size_t count) {
    std::string out;
    uint64_t state = 88172645463325252ull;
    for (size_t i = 0; i < count; ++i) {
      std::string text;
      for (int k = 0; k < 4; ++k) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(state));
        text += hex;
      }
      out += "{\"id\":" + std::to_string(i) + ",\"text\":\"" + text + "\"}\n";
    }
    return out;
  }
  testing_util::TempDir dir_;
  std::filesystem::path mount_point_;
  bool mounted_ = false;
};

TEST_F(FullDisk, AScratchCopyThatDoesNotFitIsTheSystemsFault) {
  // CSV input is copied to scratch for DuckDB's read_csv: 2 MiB do not fit in 1 MiB.
  std::string csv = "id,text\n";
  while (csv.size() < (size_t{2} << 20))
    csv += std::to_string(csv.size()) + ",some text that fills the disk\n";
  try {
    transform(config_with({}), csv, "in/x.csv", mount_point_);
    FAIL() << "expected a SystemError";
  } catch (const ProcessError& e) {
    FAIL() << "a full scratch disk was taken for bad input: " << e.what();
  } catch (const SystemError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("process p: s3://raw/in/x.csv: "));
    EXPECT_THAT(std::string(e.what()), HasSubstr(std::strerror(ENOSPC)));
  }
  // The scratch folder is gone: the next attempt finds the space again.
  EXPECT_TRUE(std::filesystem::is_empty(mount_point_));
}

TEST_F(FullDisk, DuckDbFailingToWriteTheOutputIsTheSystemsFault) {
  const std::string input = incompressible_records(40000);  // ~2.5 MiB of Parquet
  try {
    transform(config_with({}, OutputFormat::kParquet), input, "in/x.json", mount_point_);
    FAIL() << "expected a SystemError";
  } catch (const ProcessError& e) {
    FAIL() << "a full scratch disk was taken for bad input: " << e.what();
  } catch (const SystemError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("IO Error"));
  }
  // With room, the same input is processed.
  const auto out = transform(config_with({}, OutputFormat::kParquet), input, "in/x.json", dir_.path());
  EXPECT_EQ(out.records, 40000u);
}

class ProcessFaults : public ::testing::Test {
 protected:
  // Runs transform and returns what it threw: "process" for a ProcessError, "system" for a SystemError.
  std::string fault_of(const ProcessorConfig& c, std::string_view input, std::string* message = nullptr) {
    try {
      transform(c, input, "in/x.json", dir_.path());
    } catch (const ProcessError& e) {
      if (message) *message = e.what();
      return "process";
    } catch (const SystemError& e) {
      if (message) *message = e.what();
      return "system";
    }
    return "none";
  }
  testing_util::TempDir dir_;
};

TEST_F(ProcessFaults, BadInputIsTheInputsFault) {
  std::string why;
  EXPECT_EQ(fault_of(config_with({}), "{\"a\":1}\n{\"a\":2\n{\"a\":3}\n", &why), "process");
  EXPECT_THAT(why, HasSubstr("line 2"));
  EXPECT_EQ(fault_of(config_with({}), "[{\"a\":1}, {\"a\": tru}]", &why), "process");
  EXPECT_THAT(why, HasSubstr("record 2"));
  EXPECT_EQ(fault_of(config_with({}), "[{\"a\":01}]"), "process");
  EXPECT_EQ(fault_of(config_with({}), "[1, 2]", &why), "process");
  EXPECT_THAT(why, HasSubstr("not a JSON object"));
  EXPECT_EQ(fault_of(config_with({}), "[{\"a\":1}] trailing"), "process");
  EXPECT_EQ(fault_of(config_with({}), "  [{\"a\":1}]\r\n\n  "), "none");  // whitespace is fine
  EXPECT_EQ(fault_of(config_with({}), std::string("\x1f\x8b not really gzip", 19)), "process");
  // Deep nesting is refused with a reason, not a crash; 100 levels are fine.
  const auto nested = [](int levels) {
    return "[{\"a\":" + std::string(levels, '[') + "1" + std::string(levels, ']') + "}]";
  };
  EXPECT_EQ(fault_of(config_with({}), nested(100000), &why), "process");
  EXPECT_THAT(why, HasSubstr("nest deeper than 128 levels"));
  EXPECT_EQ(fault_of(config_with({}), nested(100)), "none");
}

TEST_F(ProcessFaults, FailedCastsAndUnknownColumnsAreTheInputsFault) {
  std::string why;
  const auto cast = config_with({Step{.kind = Step::Kind::kCast, .mapping = {{"a", "INTEGER"}}}});
  EXPECT_EQ(fault_of(cast, R"([{"a":"1"},{"a":"one"}])", &why), "process");
  EXPECT_THAT(why, HasSubstr("Conversion Error"));
  EXPECT_EQ(fault_of(config_with({filter("nope > 1")}), R"([{"a":1}])", &why), "process");
  EXPECT_THAT(why, HasSubstr("step 1 (filter): Binder Error"));
  EXPECT_THAT(why, HasSubstr("nope"));
}

}  // namespace
}  // namespace sluice::process
